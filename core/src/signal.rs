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
    pub modified: Vec<Bytes>,
    /// Every key of the database was removed (FLUSHDB, FLUSHALL).
    pub flushed: bool,
    /// The command's contribution to `server.dirty`: one per changed key as
    /// Redis counts it (MSET of n keys: n; RENAME: 1; FLUSHALL: the keys it
    /// removed). Deletions by expiry do not count, as in Redis.
    pub dirty: u64,
    /// The effect as commands, exactly as Redis 7.0 propagates them to the
    /// AOF and its replicas: the `DEL` of each expired key, then the
    /// command verbatim or rewritten; nothing for a command that changed
    /// nothing. Replayed in order at the same clock readings, they rebuild
    /// the same keyspace. Redis wraps more than one in `MULTI`/`EXEC`
    /// ([`WriteSignal::transaction`]); here they are one critical section
    /// anyway.
    pub propagate: Vec<Vec<Bytes>>,
}

impl WriteSignal {
    /// Did the command change nothing at all?
    pub fn is_empty(&self) -> bool {
        self.modified.is_empty() && !self.flushed && self.propagate.is_empty()
    }

    /// [`WriteSignal::propagate`] as Redis 7.0 writes it to the AOF: more
    /// than one command (a lazily expired key and the command that met it,
    /// or several expired keys) is wrapped in `MULTI` ... `EXEC`, so a
    /// replica applies them atomically (`propagatePendingCommands`).
    pub fn transaction(&self) -> Vec<Vec<Bytes>> {
        if self.propagate.len() <= 1 {
            return self.propagate.clone();
        }
        let mut wrapped = Vec::with_capacity(self.propagate.len() + 2);
        wrapped.push(vec![Bytes::from_static(b"MULTI")]);
        wrapped.extend(self.propagate.iter().cloned());
        wrapped.push(vec![Bytes::from_static(b"EXEC")]);
        wrapped
    }

    /// Append `other`'s changes after this one's.
    pub fn extend(&mut self, other: WriteSignal) {
        self.modified.extend(other.modified);
        self.flushed |= other.flushed;
        self.dirty += other.dirty;
        self.propagate.extend(other.propagate);
    }
}

/// What a command's write view has noted so far; see the module comment.
#[derive(Debug, Default)]
pub struct Journal {
    /// Keys deleted because their deadline passed, in order.
    expired: Vec<Bytes>,
    modified: Vec<Bytes>,
    dirty: u64,
    flushed: bool,
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

    /// `keys` were deleted because their deadline passed.
    pub(crate) fn expired(&mut self, keys: Vec<Bytes>) {
        if self.expired.is_empty() {
            self.expired = keys;
        } else {
            self.expired.extend(keys);
        }
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

    /// The signal of a command that ran with arguments `args`.
    ///
    /// Propagation follows Redis's `call()`: the command is propagated when
    /// it made the data dirty, and FLUSHALL/FLUSHDB always are (Redis's
    /// `forceCommandPropagation`, so that a replica that was not empty is
    /// emptied too).
    pub(crate) fn into_signal(self, args: &[Bytes]) -> WriteSignal {
        let expired = self.expired;
        let propagate_command = self.dirty > 0 || self.flushed;
        if expired.is_empty() && !propagate_command && self.modified.is_empty() {
            return WriteSignal::default();
        }
        let mut propagate = Vec::with_capacity(expired.len() + 1);
        propagate.extend(expired.iter().map(del));
        if propagate_command {
            propagate.push(self.rewritten.unwrap_or_else(|| args.to_vec()));
        }
        let mut modified = expired;
        modified.extend(self.modified);
        WriteSignal {
            modified,
            flushed: self.flushed,
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

    #[test]
    fn a_journal_that_saw_nothing_signals_nothing() {
        let signal = Journal::default().into_signal(&[b("get"), b("k")]);
        assert!(signal.is_empty());
        assert_eq!(signal.propagate.capacity(), 0, "nothing allocated");
    }

    #[test]
    fn expired_keys_come_first_and_the_rewrite_replaces_the_command() {
        let mut journal = Journal::default();
        journal.expired(vec![b("k")]);
        journal.modified(&b("k"));
        journal.modified(&b("k"));
        journal.rewrite(vec![b("SET"), b("k"), b("1.5"), b("KEEPTTL")]);
        let signal = journal.into_signal(&[b("incrbyfloat"), b("k"), b("1.5")]);
        assert_eq!(signal.modified, vec![b("k"), b("k")]);
        assert_eq!(signal.dirty, 2);
        assert_eq!(
            signal.propagate,
            vec![
                vec![b("DEL"), b("k")],
                vec![b("SET"), b("k"), b("1.5"), b("KEEPTTL")]
            ]
        );
        assert_eq!(
            signal.transaction(),
            vec![
                vec![b("MULTI")],
                vec![b("DEL"), b("k")],
                vec![b("SET"), b("k"), b("1.5"), b("KEEPTTL")],
                vec![b("EXEC")],
            ]
        );
    }

    #[test]
    fn a_flush_propagates_even_when_it_removed_nothing() {
        let mut journal = Journal::default();
        journal.flushed(0);
        let signal = journal.into_signal(&[b("flushall")]);
        assert!(signal.flushed);
        assert_eq!(signal.propagate, vec![vec![b("flushall")]]);
    }
}
