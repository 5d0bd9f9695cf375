//! [`KeyspaceMut`]: a keyspace as a write command sees it.
//!
//! It reads like a [`Keyspace`] (it derefs to one) but changes it only
//! through the methods below, each of which notes the changed key in the
//! command's [`Journal`] when, and only when, something really changed:
//! that is what Redis's `signalModifiedKey` and `server.dirty++` calls do,
//! scattered through its handlers. A string edited in place goes through a
//! [`StringMut`], which notes the key the moment it is written through.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::Bytes;

use super::watch::{Watch, Watchers};
use super::{Entry, Hash, Keyspace, List, Set, Str, Value, ZSet, RECLAIM_KEYS_PER_WRITE};
use crate::signal::Journal;

/// A held keyspace plus the journal of the command holding it.
pub struct KeyspaceMut<'v> {
    ks: &'v mut Keyspace,
    /// The command's clock, for the access time of what it stores.
    now_ms: u64,
    /// The database `ks` belongs to (for the propagated `DEL` of a key it
    /// deletes by expiry).
    db: u32,
    journal: &'v mut Journal,
    /// Keys whose values were edited in place through a [`ValueMut`]:
    /// re-charged on drop.
    edited: Edited,
}

/// The keys a [`KeyspaceMut`] must re-charge. Nearly always one, kept
/// without allocating.
#[derive(Default)]
pub(crate) struct Edited {
    first: Option<Bytes>,
    more: Vec<Bytes>,
}

impl Edited {
    fn push(&mut self, key: &Bytes) {
        if self.first.is_none() {
            self.first = Some(key.clone());
        } else if self.first.as_ref() != Some(key) && !self.more.contains(key) {
            self.more.push(key.clone());
        }
    }

    fn take(&mut self) -> impl Iterator<Item = Bytes> {
        self.first
            .take()
            .into_iter()
            .chain(std::mem::take(&mut self.more))
    }
}

/// The keys the keyspace deleted by expiry while this handle was out move
/// to the journal when it is dropped: a handle lives for one step of a
/// command, so across shards the deletions keep the order of the command's
/// steps (MGET a b meeting two expired keys propagates `DEL a`, `DEL b`,
/// as Redis does, whatever shards they live in).
impl Drop for KeyspaceMut<'_> {
    fn drop(&mut self) {
        for key in self.edited.take() {
            self.ks.recharge(&key);
        }
        if self.ks.has_expired_log() {
            self.journal.expired(self.db, self.ks.take_expired_log());
        }
    }
}

impl Deref for KeyspaceMut<'_> {
    type Target = Keyspace;
    fn deref(&self) -> &Keyspace {
        self.ks
    }
}

impl<'v> KeyspaceMut<'v> {
    pub(crate) fn new(ks: &'v mut Keyspace, db: u32, journal: &'v mut Journal) -> Self {
        KeyspaceMut {
            ks,
            now_ms: 0,
            db,
            journal,
            edited: Edited::default(),
        }
    }

    /// The command's clock reading (see [`crate::store::View::at`]).
    pub(crate) fn at(mut self, now_ms: u64) -> Self {
        self.now_ms = now_ms;
        self
    }

    /// The live entry of `key`, deleting it first if its deadline passed
    /// (Redis's `lookupKeyWrite`): a write command that looks at a key
    /// always removes it when expired, and the deletion is signalled.
    pub fn lookup(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.ks.get_mut(key, now_ms).map(|e| &*e)
    }

    /// Set the access clock of `key` as RESTORE's IDLETIME / FREQ ask
    /// (see [`super::access::ClockKind::restored`]); nothing without a
    /// hint the policy reads, or without the key.
    pub fn restore_access(&mut self, key: &[u8], idle_ms: Option<u64>, freq: Option<u8>) {
        let now_ms = self.now_ms;
        if let Some(word) = self.ks.clock.restored(idle_ms, freq, now_ms) {
            if let Some(entry) = self.ks.entries.get(key) {
                entry
                    .clock
                    .store(word, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Delete `key` if its deadline has passed (the deferred lazy expiry
    /// of a read-only command); true if it did.
    pub fn expire_due(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.ks.expire_if_due(key, now_ms)
    }

    /// Store `value` under `key` with deadline `expire_at`, replacing any
    /// previous value and deadline (Redis's `setKey`).
    /// A key stored with a TTL first reclaims a few dead ones (see
    /// [`Keyspace::reclaim_expired`]), so a flood of them cannot outrun
    /// expiry.
    pub fn set(&mut self, key: &Bytes, value: Value, expire_at: Option<u64>) {
        if expire_at.is_some() {
            self.ks.reclaim_expired(self.now_ms, RECLAIM_KEYS_PER_WRITE);
        }
        self.ks.set(key, value, expire_at, self.now_ms);
        self.journal.modified(key);
    }

    /// Change the deadline of a live key (`None`: make it persistent).
    /// False, and nothing signalled, if there is no such key or if it was
    /// already persistent and `expire_at` is `None` (PERSIST of a key
    /// without a TTL changes nothing).
    pub fn set_expire(&mut self, key: &Bytes, expire_at: Option<u64>, now_ms: u64) -> bool {
        let Some(entry) = self.ks.get_mut(key, now_ms) else {
            return false;
        };
        if expire_at.is_none() && entry.expire_at().is_none() {
            return false;
        }
        if expire_at.is_some() {
            // `key` is live, so this leaves it alone.
            self.ks.reclaim_expired(now_ms, RECLAIM_KEYS_PER_WRITE);
        }
        self.ks.set_expire(key, expire_at, now_ms);
        self.journal.modified(key);
        true
    }

    /// Delete `key`; the live entry it held, if any (an expired one is
    /// deleted as expired and reported as absent).
    pub fn remove(&mut self, key: &Bytes, now_ms: u64) -> Option<Entry> {
        let entry = self.ks.remove(key, now_ms)?;
        self.journal.modified(key);
        Some(entry)
    }

    /// Delete `key` to free memory (maxmemory): propagated as `DEL`, as a
    /// key deleted by expiry is; its watchers are marked by the removal.
    pub(crate) fn evict(&mut self, key: &Bytes) -> bool {
        if self.ks.remove(key, self.now_ms).is_none() {
            return false;
        }
        self.journal.touched(key);
        self.journal.expired(self.db, vec![key.clone()]);
        true
    }

    /// Take `key`'s entry out to store it under another name (RENAME):
    /// the key is signalled as modified, but Redis counts the whole move
    /// as one change, which [`KeyspaceMut::set`] of the new name makes.
    pub fn take_for_move(&mut self, key: &Bytes, now_ms: u64) -> Option<Entry> {
        let entry = self.ks.remove(key, now_ms)?;
        self.journal.touched(key);
        Some(entry)
    }

    /// Remove every key (FLUSHDB/FLUSHALL on this keyspace).
    pub fn clear(&mut self) {
        let removed = self.ks.clear();
        self.journal.flushed(removed);
    }

    /// The string at `key` for an edit in place (APPEND, SETRANGE, INCR):
    /// `Ok(None)` if there is no live key (an expired one is deleted),
    /// [`WrongType`] if the value is not a string.
    pub fn string_mut<'s>(
        &'s mut self,
        key: &'s Bytes,
        now_ms: u64,
    ) -> Result<Option<StringMut<'s>>, WrongType> {
        self.value_mut(key, now_ms, None::<fn() -> Value>, Value::as_string_mut)
    }

    /// The hash at `key` for an edit in place; with `create`, a missing
    /// key becomes an empty hash first (the caller then adds to it).
    pub fn hash_mut<'s>(
        &'s mut self,
        key: &'s Bytes,
        now_ms: u64,
        create: bool,
    ) -> Result<Option<ValueMut<'s, Hash>>, WrongType> {
        let empty = || Value::Hash(Box::default());
        self.value_mut(key, now_ms, create.then_some(empty), |v| match v {
            Value::Hash(h) => Some(&mut **h),
            _ => None,
        })
    }

    /// The set at `key` for an edit in place; with `create(first)`, a
    /// missing key becomes an empty set of the encoding Redis picks for
    /// `first`, its first member.
    pub fn set_mut<'s>(
        &'s mut self,
        key: &'s Bytes,
        now_ms: u64,
        create: Option<&[u8]>,
    ) -> Result<Option<ValueMut<'s, Set>>, WrongType> {
        let fresh = create.map(|first| Value::Set(Box::new(Set::for_member(first))));
        let make = fresh.map(|v| move || v);
        self.value_mut(key, now_ms, make, |v| match v {
            Value::Set(s) => Some(&mut **s),
            _ => None,
        })
    }

    /// The list at `key` for an edit in place; with `create`, a missing
    /// key becomes an empty list first (the caller then pushes to it).
    pub fn list_mut<'s>(
        &'s mut self,
        key: &'s Bytes,
        now_ms: u64,
        create: bool,
    ) -> Result<Option<ValueMut<'s, List>>, WrongType> {
        let empty = || Value::List(Box::default());
        self.value_mut(key, now_ms, create.then_some(empty), |v| match v {
            Value::List(l) => Some(&mut **l),
            _ => None,
        })
    }

    /// The sorted set at `key` for an edit in place; with `create`, a
    /// missing key becomes an empty one first.
    pub fn zset_mut<'s>(
        &'s mut self,
        key: &'s Bytes,
        now_ms: u64,
        create: bool,
    ) -> Result<Option<ValueMut<'s, ZSet>>, WrongType> {
        let empty = || Value::ZSet(Box::default());
        self.value_mut(key, now_ms, create.then_some(empty), |v| match v {
            Value::ZSet(z) => Some(&mut **z),
            _ => None,
        })
    }

    fn value_mut<'s, T: ?Sized>(
        &'s mut self,
        key: &'s Bytes,
        now_ms: u64,
        create: Option<impl FnOnce() -> Value>,
        project: fn(&mut Value) -> Option<&mut T>,
    ) -> Result<Option<ValueMut<'s, T>>, WrongType> {
        if let Some(make) = create {
            if self.ks.get_mut(key, now_ms).is_none() {
                // Not noted yet: the first write through the guard is.
                self.ks.insert_quietly(key, make(), now_ms);
            }
        }
        let Some((entry, watchers)) = self.ks.get_mut_watched(key, now_ms) else {
            return Ok(None);
        };
        let value = project(&mut entry.value).ok_or(WrongType)?;
        Ok(Some(ValueMut {
            value,
            key,
            journal: self.journal,
            watchers,
            edited: &mut self.edited,
            noted: false,
        }))
    }

    /// Delete `key` if it holds an empty collection (the last field or
    /// member went): Redis never keeps an empty hash or set. The change was
    /// already noted through the guard that emptied it.
    pub fn remove_if_empty(&mut self, key: &Bytes, now_ms: u64) {
        let empty = self.ks.get(key, now_ms).is_some_and(|e| match &e.value {
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::String(_) => false,
        });
        if empty {
            self.ks.remove(key, now_ms);
            self.journal.touched(key);
        }
    }

    /// Watch `key` for the client whose dirty flag is `dirty` (WATCH). Not
    /// a change: nothing is noted.
    pub fn watch(&mut self, key: &[u8], dirty: Arc<AtomicBool>, now_ms: u64) -> Arc<Watch> {
        self.ks.watch(key, dirty, now_ms)
    }

    /// Drop a watch made by [`KeyspaceMut::watch`].
    pub fn unwatch(&mut self, key: &[u8], watch: &Arc<Watch>) {
        self.ks.unwatch(key, watch);
    }

    /// Propagate `argv` instead of the command as sent
    /// (`rewriteClientCommandVector`): for commands whose verbatim replay
    /// would not give the same result (relative times, floats).
    pub fn propagate_as(&mut self, argv: Vec<Bytes>) {
        self.journal.rewrite(argv);
    }
}

/// A string value being edited in place (see [`ValueMut`]).
pub type StringMut<'s> = ValueMut<'s, Str>;

/// A value being edited in place. Reading it notes nothing; writing
/// through it (`DerefMut`) notes the key as modified, once, and marks its
/// watchers: so a command must reach for `&mut` only when it really
/// changes something (HDEL of a missing field does not). A key written
/// through it is re-charged for its new size when the [`KeyspaceMut`] it
/// came from is dropped.
pub struct ValueMut<'s, T: ?Sized> {
    value: &'s mut T,
    key: &'s Bytes,
    journal: &'s mut Journal,
    /// The keyspace's watch list: the first write touches the key.
    watchers: &'s Watchers,
    /// Where the key goes to be re-charged for its new size.
    edited: &'s mut Edited,
    noted: bool,
}

impl ValueMut<'_, Str> {
    /// Turn the string into its growable form without noting a change
    /// (the bytes stay the same): Redis's `dbUnshareStringValue`, which
    /// SETBIT and a writing BITFIELD call before they know whether they
    /// will change anything, so OBJECT ENCODING says `raw` after them.
    pub fn unshare(&mut self) {
        self.value.make_mut();
    }
}

/// The key holds a value of another type (the caller replies WRONGTYPE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongType;

impl<T: ?Sized> Deref for ValueMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T: ?Sized> DerefMut for ValueMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        if !self.noted {
            self.noted = true;
            self.journal.modified(self.key);
            self.watchers.touch(self.key, true);
            self.edited.push(self.key);
        }
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn signal_of(journal: Journal) -> crate::signal::WriteSignal {
        journal.into_signal(&[key("cmd")], 0, true)
    }

    #[test]
    fn only_real_changes_are_noted() {
        let (mut ks, mut journal) = (Keyspace::new(), Journal::default());
        let mut w = KeyspaceMut::new(&mut ks, 0, &mut journal);
        assert!(w.remove(&key("missing"), 0).is_none());
        assert!(!w.set_expire(&key("missing"), Some(5), 0));
        w.set(&key("a"), Value::String(Str::from(b"1")), None);
        assert!(!w.set_expire(&key("a"), None, 0), "already persistent");
        let a = key("a");
        let s = w.string_mut(&a, 0).unwrap().unwrap();
        assert_eq!(s.as_slice(), b"1", "a read through the guard notes nothing");
        drop(w);
        let signal = signal_of(journal);
        assert_eq!(signal.modified.to_vec(), vec![key("a")]);
        assert_eq!(signal.dirty, 1);
    }

    /// A write with a TTL deletes dead keys of its keyspace on the way:
    /// they reach the write signal as Redis propagates an expiry, a `DEL`
    /// each before the command, and as modified keys (WATCH). A write
    /// without a TTL reclaims nothing.
    #[test]
    fn keys_reclaimed_by_a_ttl_write_are_signalled_as_del() {
        let mut ks = Keyspace::new();
        let v = || Value::String(Str::from(b"v"));
        ks.set(b"dead1", v(), Some(10), 0);
        ks.set(b"dead2", v(), Some(10), 0);
        ks.set(b"alive", v(), Some(1_000), 0);
        let mut journal = Journal::default();
        let mut w = KeyspaceMut::new(&mut ks, 0, &mut journal).at(50);
        w.set(&key("plain"), v(), None);
        assert_eq!(w.expired_total(), 0, "no TTL, no reclaiming");
        w.set(&key("k"), v(), Some(5_000));
        drop(w);
        assert_eq!(ks.expired_total(), 2);
        assert_eq!(ks.len(), 3, "alive, plain and k");
        let args = [key("SET"), key("k"), key("v"), key("PXAT"), key("5000")];
        let signal = journal.into_signal(&args, 0, true);
        let mut dels: Vec<Vec<Bytes>> = signal.propagate[..2]
            .iter()
            .map(|p| p.argv.clone())
            .collect();
        dels.sort();
        assert_eq!(
            dels,
            vec![
                vec![key("DEL"), key("dead1")],
                vec![key("DEL"), key("dead2")]
            ]
        );
        assert_eq!(signal.propagate[2].argv, args.to_vec());
        assert_eq!(signal.propagate.len(), 3);
        for k in ["dead1", "dead2", "k"] {
            assert!(signal.modified.contains(&key(k)), "{k} modified");
        }
    }

    #[test]
    fn an_edit_in_place_is_noted_once() {
        let (mut ks, mut journal) = (Keyspace::new(), Journal::default());
        let mut w = KeyspaceMut::new(&mut ks, 0, &mut journal);
        w.set(&key("a"), Value::String(Str::from(b"x")), None);
        let a = key("a");
        let mut s = w.string_mut(&a, 0).unwrap().unwrap();
        s.make_mut().push(b'y');
        s.make_mut().push(b'z');
        drop(w);
        assert_eq!(
            ks.get(b"a", 0).unwrap().value,
            Value::String(Str::from(b"xyz"))
        );
        let signal = signal_of(journal);
        assert_eq!(signal.modified.to_vec(), vec![key("a")]);
        assert_eq!(signal.dirty, 2, "the SET and the edit");
    }
}
