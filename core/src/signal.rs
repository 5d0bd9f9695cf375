//! The write signal: the one place where a change to the keyspace is
//! announced.
//!
//! Redis announces every change the same three ways, and everything that
//! reacts to writes hangs on them:
//! * `signalModifiedKey(key)`: *which* keys changed (WATCH, client-side
//!   caching, keyspace notifications);
//! * `server.dirty`: *how much* changed (the save points, INFO);
//! * the command's argv, rewritten where replaying it verbatim would not
//!   give the same result (`INCRBYFLOAT` → `SET`, `EXPIRE 10` →
//!   `PEXPIREAT <abs ms>`), and the `DEL` of every key that expired: *what*
//!   changed, as commands for the AOF and the replicas.
//!
//! Here a handler never reaches a value behind the keyspace's back: it gets
//! a [`KeyspaceMut`](crate::keyspace::KeyspaceMut) from its write view, whose
//! every mutation notes the key in the view's [`Journal`]; the keyspace
//! itself logs every key it deletes because its deadline passed (lazily,
//! in a lookup, or in the active cycle). When the command is done, the
//! executor turns the journal into a [`WriteSignal`], still under the
//! command's locks, so the signals are in the order the changes took
//! effect.

use bytes::Bytes;

/// The keys a command changed: inline up to two (a SET, a RENAME), so
/// signalling them allocates nothing.
pub type Keys = smallvec::SmallVec<[Bytes; 2]>;

/// What one executed command (or one expiry step) changed.
///
/// Empty, and allocation-free, for a command that changed nothing: a read,
/// a `SET NX` that did not set, a `DEL` of a missing key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteSignal {
    /// The keys whose value or deadline changed, in the order they did
    /// (Redis's `signalModifiedKey` calls): expired keys first, then the
    /// command's own. FLUSHDB/FLUSHALL list no keys but set
    /// [`WriteSignal::flushed`] instead (Redis's `signalFlushedDb`): a flush
    /// touches every key, and listing a million of them helps nobody.
    pub modified: Keys,
    /// Every key of the database was removed (FLUSHDB, FLUSHALL).
    pub flushed: bool,
    /// Two databases exchanged their keys (SWAPDB): every key of both
    /// changed, as for a flush (Redis touches the watched keys of both).
    pub swapped: Option<(u32, u32)>,
    /// The command's contribution to `server.dirty`: one per changed key as
    /// Redis counts it (MSET of n keys: n; RENAME: 1; FLUSHALL: the keys it
    /// removed). Deletions by expiry do not count, as in Redis.
    pub dirty: u64,
    /// The effect as commands, exactly as Redis 7.0 propagates them to the
    /// AOF and its replicas: the `DEL` of each expired key, then the
    /// command verbatim or rewritten; nothing for a command that changed
    /// nothing. Replayed in order at the same clock readings, each in its
    /// database, they rebuild the same keyspace. Redis wraps more than one
    /// in `MULTI`/`EXEC` ([`WriteSignal::transaction`]); here they are one
    /// critical section anyway.
    pub propagate: Vec<Propagated>,
}

impl WriteSignal {
    /// Did the command change nothing at all?
    pub fn is_empty(&self) -> bool {
        !self.changed_data() && self.propagate.is_empty()
    }

    /// Did keys change: some by name, or whole databases (a flush, a
    /// swap)? Exactly then is something propagated.
    pub fn changed_data(&self) -> bool {
        !self.modified.is_empty() || self.flushed || self.swapped.is_some()
    }

    /// [`WriteSignal::propagate`] as Redis 7.0 writes it to the AOF: more
    /// than one command (a lazily expired key and the command that met it,
    /// or several expired keys) is wrapped in `MULTI` ... `EXEC`, so a
    /// replica applies them atomically (`propagatePendingCommands`).
    pub fn transaction(&self) -> Vec<Propagated> {
        let (Some(first), Some(last)) = (self.propagate.first(), self.propagate.last()) else {
            return Vec::new();
        };
        if self.propagate.len() == 1 {
            return self.propagate.clone();
        }
        let word = |db, w: &'static [u8]| Propagated {
            db,
            argv: vec![Bytes::from_static(w)],
        };
        let mut wrapped = Vec::with_capacity(self.propagate.len() + 2);
        wrapped.push(word(first.db, b"MULTI"));
        wrapped.extend(self.propagate.iter().cloned());
        wrapped.push(word(last.db, b"EXEC"));
        wrapped
    }

    /// Append `other`'s changes after this one's.
    pub fn extend(&mut self, other: WriteSignal) {
        self.modified.extend(other.modified);
        self.flushed |= other.flushed;
        self.swapped = other.swapped.or(self.swapped);
        self.dirty += other.dirty;
        self.propagate.extend(other.propagate);
    }
}

/// Where the effects of writes go: the AOF (one day, replicas).
///
/// The executor calls [`Propagate::feed`] once per write command (once
/// per EXEC, once per expiry step that deleted keys), *while the write
/// still holds its locks*: two writes to one key reach the sink in the
/// order they took effect, as in Redis, where one thread runs every
/// command and appends its effect to the AOF buffer before the next.
/// Writes to different shards may reach it in either order; they commute.
/// So a sink must be quick and must never wait for a key lock: it is the
/// innermost lock of every write.
pub trait Propagate: Send + Sync {
    /// `commands` as [`WriteSignal::transaction`] wraps them.
    fn feed(&self, commands: &[Propagated]);
}

/// One command to propagate and the database it applies to: a stream of
/// them (the AOF, a replica link) puts `SELECT db` before a command whose
/// database differs from the previous one's, as Redis's
/// `feedAppendOnlyFile` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Propagated {
    pub db: u32,
    pub argv: Vec<Bytes>,
}

impl Propagated {
    /// Append this command to a stream whose selected database is
    /// `*selected`: `SELECT db` first when the database changes.
    pub fn append_to(&self, stream: &mut Vec<Vec<Bytes>>, selected: &mut Option<u32>) {
        if *selected != Some(self.db) {
            *selected = Some(self.db);
            stream.push(vec![words::SELECT, number(u64::from(self.db))]);
        }
        stream.push(self.argv.clone());
    }
}

/// What a command's write view has noted so far; see the module comment.
#[derive(Debug, Default)]
pub struct Journal {
    /// Keys deleted because their deadline passed, in order, each with its
    /// database.
    expired: Vec<(u32, Bytes)>,
    modified: Keys,
    dirty: u64,
    flushed: bool,
    swapped: Option<(u32, u32)>,
    /// The argv to propagate instead of the command's own
    /// (`rewriteClientCommandVector`).
    rewritten: Option<Vec<Bytes>>,
}

impl Journal {
    /// `key` changed and counts once towards `dirty`.
    pub(crate) fn modified(&mut self, key: &Bytes) {
        self.touched(key);
        self.dirty += 1;
    }

    /// `key` changed, but the change is part of one counted elsewhere (the
    /// source of a RENAME: Redis counts the rename once).
    pub(crate) fn touched(&mut self, key: &Bytes) {
        // An in-place edit may note the same key several times in a row.
        if self.modified.last() != Some(key) {
            self.modified.push(key.clone());
        }
    }

    /// Databases `a` and `b` exchanged their keys (SWAPDB): one change
    /// towards `dirty`.
    pub(crate) fn swapped(&mut self, a: u32, b: u32) {
        self.swapped = Some((a, b));
        self.dirty += 1;
    }

    /// `keys` of database `db` were deleted because their deadline passed.
    pub(crate) fn expired(&mut self, db: u32, keys: Vec<Bytes>) {
        self.expired.extend(keys.into_iter().map(|key| (db, key)));
    }

    /// Every key was removed; `removed` of them existed.
    pub(crate) fn flushed(&mut self, removed: u64) {
        self.flushed = true;
        self.dirty += removed;
    }

    /// Propagate `argv` instead of the command as the client sent it.
    pub(crate) fn rewrite(&mut self, argv: Vec<Bytes>) {
        self.rewritten = Some(argv);
    }

    /// The signal of a command that ran with arguments `args` in database
    /// `db` (the client's selected one).
    ///
    /// Propagation follows Redis's `call()`: the command is propagated when
    /// it made the data dirty, and FLUSHALL/FLUSHDB always are (Redis's
    /// `forceCommandPropagation`, so that a replica that was not empty is
    /// emptied too).
    ///
    /// `with_argv`: build [`WriteSignal::propagate`]. Only a sink (the AOF)
    /// and the tests that check it read it, and building it is the one
    /// allocation left on a write's path, so a server without an AOF
    /// skips it (see [`crate::Executor::propagate_only_to_sinks`]).
    pub(crate) fn into_signal(self, args: &[Bytes], db: u32, with_argv: bool) -> WriteSignal {
        let expired = self.expired;
        let propagate_command = self.dirty > 0 || self.flushed;
        let whole = self.flushed || self.swapped.is_some();
        if expired.is_empty() && !propagate_command && self.modified.is_empty() && !whole {
            return WriteSignal::default();
        }
        let mut propagate = Vec::new();
        if with_argv {
            propagate.reserve(expired.len() + 1);
            propagate.extend(expired.iter().map(|(db, key)| Propagated {
                db: *db,
                argv: del(key),
            }));
        }
        if propagate_command && with_argv {
            propagate.push(Propagated {
                db,
                argv: self.rewritten.unwrap_or_else(|| args.to_vec()),
            });
        }
        let modified = if expired.is_empty() {
            self.modified
        } else {
            let mut keys: Keys = expired.into_iter().map(|(_, key)| key).collect();
            keys.extend(self.modified);
            keys
        };
        WriteSignal {
            modified,
            flushed: self.flushed,
            swapped: self.swapped,
            dirty: self.dirty,
            propagate,
        }
    }
}

/// The words of rewritten commands, spelled as Redis writes them to the
/// AOF (upper case; a command propagated verbatim keeps the client's case).
pub mod words {
    use bytes::Bytes;
    pub const SET: Bytes = Bytes::from_static(b"SET");
    pub const DEL: Bytes = Bytes::from_static(b"DEL");
    pub const PXAT: Bytes = Bytes::from_static(b"PXAT");
    pub const KEEPTTL: Bytes = Bytes::from_static(b"KEEPTTL");
    pub const PEXPIREAT: Bytes = Bytes::from_static(b"PEXPIREAT");
    pub const PERSIST: Bytes = Bytes::from_static(b"PERSIST");
    pub const SELECT: Bytes = Bytes::from_static(b"SELECT");
    pub const HSET: Bytes = Bytes::from_static(b"HSET");
    pub const SREM: Bytes = Bytes::from_static(b"SREM");
}

/// `DEL key`: how Redis 7.0 propagates a key deleted by expiry
/// (`propagateDeletion`, with the default `lazyfree-lazy-expire no`).
pub fn del(key: &Bytes) -> Vec<Bytes> {
    vec![words::DEL, key.clone()]
}

/// A deadline as the decimal text a rewritten argv carries.
pub fn number(n: u64) -> Bytes {
    Bytes::from(n.to_string())
}

#[cfg(test)]
mod aof_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn p(db: u32, words: &[&str]) -> Propagated {
        Propagated {
            db,
            argv: words.iter().map(|w| b(w)).collect(),
        }
    }

    #[test]
    fn a_journal_that_saw_nothing_signals_nothing() {
        let signal = Journal::default().into_signal(&[b("get"), b("k")], 0, true);
        assert!(signal.is_empty());
        assert_eq!(signal.propagate.capacity(), 0, "nothing allocated");
    }

    #[test]
    fn expired_keys_come_first_and_the_rewrite_replaces_the_command() {
        let mut journal = Journal::default();
        journal.expired(0, vec![b("k")]);
        journal.modified(&b("k"));
        journal.modified(&b("k"));
        journal.rewrite(vec![b("SET"), b("k"), b("1.5"), b("KEEPTTL")]);
        let signal = journal.into_signal(&[b("incrbyfloat"), b("k"), b("1.5")], 0, true);
        assert_eq!(signal.modified.to_vec(), vec![b("k"), b("k")]);
        assert_eq!(signal.dirty, 2);
        assert_eq!(
            signal.propagate,
            vec![p(0, &["DEL", "k"]), p(0, &["SET", "k", "1.5", "KEEPTTL"])]
        );
        assert_eq!(
            signal.transaction(),
            vec![
                p(0, &["MULTI"]),
                p(0, &["DEL", "k"]),
                p(0, &["SET", "k", "1.5", "KEEPTTL"]),
                p(0, &["EXEC"]),
            ]
        );
    }

    #[test]
    fn expired_keys_propagate_in_their_database_and_a_stream_selects_it() {
        let mut journal = Journal::default();
        journal.expired(2, vec![b("gone")]);
        journal.modified(&b("k"));
        let signal = journal.into_signal(&[b("move"), b("k"), b("2")], 0, true);
        assert_eq!(
            signal.propagate,
            vec![p(2, &["DEL", "gone"]), p(0, &["move", "k", "2"])]
        );
        let (mut stream, mut selected) = (Vec::new(), Some(0));
        for command in signal.transaction() {
            command.append_to(&mut stream, &mut selected);
        }
        let words: Vec<Vec<Bytes>> = [
            &["SELECT", "2"][..],
            &["MULTI"],
            &["DEL", "gone"],
            &["SELECT", "0"],
            &["move", "k", "2"],
            &["EXEC"],
        ]
        .iter()
        .map(|w| w.iter().map(|s| b(s)).collect())
        .collect();
        assert_eq!(stream, words);
    }

    #[test]
    fn a_flush_propagates_even_when_it_removed_nothing() {
        let mut journal = Journal::default();
        journal.flushed(0);
        let signal = journal.into_signal(&[b("flushall")], 3, true);
        assert!(signal.flushed);
        assert_eq!(signal.propagate, vec![p(3, &["flushall"])]);
    }
}
