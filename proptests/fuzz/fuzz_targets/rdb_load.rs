//! The RDB reader on arbitrary bytes.
//!
//! Loading never panics (every malformed byte is an `RdbError`) and never
//! allocates by a length field alone; a file that loads, written again
//! and loaded again, gives the same keys, values and deadlines (what SAVE
//! writes, the next start reads). The seeds in `corpus/rdb_load` are
//! files written by redis-server 7.0 holding every type and encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_core::keyspace::{Limits, Value};
use myongoredis_core::rdb::{self, Aux, Writer};

type Key = (u32, Vec<u8>, Value, Option<u64>);

fn load(bytes: &[u8], limits: &Limits) -> Result<Vec<Key>, rdb::RdbError> {
    let mut keys = Vec::new();
    rdb::load(bytes, limits, |l| {
        keys.push((l.db, l.key.to_vec(), l.value, l.deadline_ms));
        Ok(())
    })?;
    Ok(keys)
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(keys) = load(data, &limits) else {
        return;
    };
    // Write back, one SELECTDB per run of keys in the same database (a
    // file may name a database twice; that is fine for the writer).
    let mut w = Writer::new(Vec::new(), &Aux::redis_7_0(0, 0, false), limits.list_node)
        .expect("writing to memory");
    let mut db = None;
    for (d, key, value, deadline) in &keys {
        if db != Some(*d) {
            w.select_db(*d, 0, 0).expect("writing to memory");
            db = Some(*d);
        }
        w.entry(key, value, *deadline).expect("writing to memory");
    }
    let file = w.finish().expect("writing to memory");
    let again = load(&file, &limits).expect("what we write loads");
    assert_eq!(again, keys);
});
