//! The store's own guarantees, below the commands.

use std::sync::Arc;

use super::{lock_of, new_store, Mode, NoObserver};
use crate::keyspace::Value;

fn string(s: &str) -> Value {
    Value::String(s.as_bytes().into())
}

/// A key's lock depends on the key alone: database 3's `k` lives behind
/// the same shard as database 0's, so MOVE needs one lock, and a view
/// reaches every database of the keys it locked.
#[test]
fn every_database_of_a_key_is_behind_the_keys_lock() {
    for mode in [Mode::Mutex, Mode::Rw, Mode::Shard] {
        let store = new_store(mode, 8, 16, Arc::new(NoObserver));
        assert_eq!(store.databases(), 16);
        let lock = lock_of(b"k", store.lock_count());
        let mut view = store.write(&[lock], "test").in_db(3);
        view.ks_mut(b"k")
            .unwrap()
            .set(&bytes::Bytes::from_static(b"k"), string("three"), None);
        view.ks_mut_in(0, b"k").unwrap().set(
            &bytes::Bytes::from_static(b"k"),
            string("zero"),
            None,
        );
        assert_eq!(
            view.ks(b"k").unwrap().get(b"k", 0).unwrap().value,
            string("three")
        );
        assert_eq!(
            view.ks_in(0, b"k").unwrap().get(b"k", 0).unwrap().value,
            string("zero")
        );
        assert_eq!(view.keyspaces().map(|ks| ks.len()).sum::<usize>(), 1);
        drop(view);
        // SWAPDB under every lock exchanges them.
        let all: Vec<u32> = (0..store.lock_count()).collect();
        let mut view = store.write(&all, "test");
        view.swap_databases(0, 3, 0);
        assert_eq!(
            view.ks(b"k").unwrap().get(b"k", 0).unwrap().value,
            string("three")
        );
        drop(view);
        let view = store.read(&[lock], "test").in_db(3);
        assert_eq!(
            view.ks(b"k").unwrap().get(b"k", 0).unwrap().value,
            string("zero")
        );
    }
}

/// Fewer than one database is one database (the config's minimum is 1;
/// the store does not trust it).
#[test]
fn a_store_has_at_least_one_database() {
    let store = new_store(Mode::Shard, 4, 0, Arc::new(NoObserver));
    assert_eq!(store.databases(), 1);
}
