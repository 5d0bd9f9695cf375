//! The capture format: what `myongoredis --capture DIR` writes and what
//! `myongoredis-sim replay` reads.
//!
//! A capture is plain text, one line per record, so that `less`, `grep`
//! and `tail -f` work on it and a capture cut short by `SIGKILL` is still
//! readable up to its last whole line:
//!
//! ```text
//! myongoredis-capture 1 server=0.1.0 mode=shard shards=32 seed=42 start_us=1700000000000000
//! config 4:port 4:6379
//! O 1 7 1700000000000100
//! C 2 7 1700000000000250 - = 31:*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n 5:$-1\r\n
//! E 3 5 1700000000100000 81985529216486895 20 6
//! L 4 7 1700000000000250 1 31:*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n
//! X 5 7 1700000000200000
//! ```
//!
//! * The **header** is the first line (magic, format version and
//!   `key=value` pairs: server version, lock mode, shard count, PRNG seed,
//!   start time), followed by `config` lines: the settings the shell put in
//!   the executor's config table before the first client came (`port`,
//!   `bind`, ...), so `CONFIG GET port` replays to the same answer.
//! * `O seq conn now_us` — a connection opened; `conn` is its CLIENT ID.
//! * `C seq conn now_us rng mark request reply` — one executed command.
//! * `E seq lock now_us rng sampled expired` — one active-expiry step on one
//!   lock's keyspace that deleted at least one key (a step that deleted
//!   nothing changed nothing, so it is not recorded).
//! * `L seq conn now_us deleted request` — a read-only command (`request`)
//!   met expired keys it could not delete under its shared lock; the
//!   executor deleted `deleted` of them right after, under a write lock of
//!   its own, and other commands may have run in between, so the deletion
//!   has its own place in the order.
//! * `X seq conn now_us` — a connection closed.
//!
//! `seq` is the global sequence number, taken while the command held its
//! locks, so commands that touch the same data appear in the order they
//! took effect. Records are *written* in arrival order (many connection
//! threads feed one writer); a reader sorts them by `seq`.
//!
//! `now_us` is the clock reading the command saw, in **microseconds** since
//! the Unix epoch. (Expiry works in milliseconds; TIME answers in
//! microseconds, so the capture keeps the finer unit and replays TIME
//! exactly.) `rng` is the PRNG position the command's random stream was
//! forked from (see [`crate::rng::Rng::fork`]), or `-` if it drew nothing.
//!
//! Payloads (`request`, `reply`, config values) are written as
//! `<byte length>:<escaped bytes>`: printable ASCII stays as it is, `\r`,
//! `\n` and `\\` are written as such, anything else (space included) as
//! `\xHH`. RESP therefore stays readable, fields never contain a space, and
//! the length is a check: a payload that was cut or edited by hand so that
//! its size changed is reported instead of being replayed.
//!
//! This module only turns records into bytes and back; it does no I/O.

mod text;

use std::fmt;

pub(crate) use text::Fields;
pub use text::{decode, escape_into, escaped, put_payload, put_u64};

use crate::frame::Frame;
use crate::store::Mode;

/// The first word of every capture.
pub const MAGIC: &str = "myongoredis-capture";

/// The file a capture directory holds (`--capture DIR` writes
/// `DIR/capture.log`).
pub const FILE_NAME: &str = "capture.log";

/// Bumped whenever a record's meaning or layout changes. A reader refuses
/// other versions instead of guessing.
pub const FORMAT_VERSION: u32 = 1;

/// The first lines of a capture: everything needed to rebuild the
/// executor the session started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The server's version (`CARGO_PKG_VERSION` of the shell).
    pub server: String,
    pub mode: Mode,
    /// Lock count in shard mode; 1 otherwise.
    pub shards: u32,
    /// The seed of the executor's PRNG.
    pub seed: u64,
    /// When the capture started, Unix microseconds.
    pub start_us: u64,
    /// The executor's config table at start, `(name, value)`.
    pub config: Vec<(String, String)>,
}

/// How the replayer treats a command record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// `=`: execute and compare the reply byte for byte.
    Compared,
    /// `x`: execute but do not compare: the reply shows state of the shell
    /// rather than of the keyspace (see [`shell_dependent`]).
    Excluded,
    /// `!`: the command panicked in the server and the client got the
    /// shell's internal-error reply; replay neither runs nor compares it.
    Panicked,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Compared => "=",
            Mark::Excluded => "x",
            Mark::Panicked => "!",
        }
    }

    fn parse(s: &[u8]) -> Option<Mark> {
        match s {
            b"=" => Some(Mark::Compared),
            b"x" => Some(Mark::Excluded),
            b"!" => Some(Mark::Panicked),
            _ => None,
        }
    }
}

/// One executed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRecord {
    pub seq: u64,
    pub conn: u64,
    pub now_us: u64,
    /// PRNG position the command's random stream was forked from, if any.
    pub rng: Option<u64>,
    pub mark: Mark,
    /// The exact bytes the parser consumed for this command (or, for a
    /// protocol error, every unparsed byte the connection held).
    pub request: Vec<u8>,
    /// The exact reply bytes sent.
    pub reply: Vec<u8>,
}

/// One active-expiry step that deleted keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpireRecord {
    pub seq: u64,
    /// The lock whose keyspace was sampled.
    pub lock: u32,
    pub now_us: u64,
    /// PRNG position the step's random stream was forked from.
    pub rng: u64,
    pub sampled: u64,
    pub expired: u64,
}

/// A line after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Open { seq: u64, conn: u64, now_us: u64 },
    Command(CommandRecord),
    Expire(ExpireRecord),
    LazyExpire(LazyExpireRecord),
    Evict(EvictRecord),
    Close { seq: u64, conn: u64, now_us: u64 },
}

/// One key evicted (maxmemory) before a command ran: replay deletes it at
/// the same point of the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvictRecord {
    pub seq: u64,
    pub now_us: u64,
    pub db: u32,
    pub key: Vec<u8>,
}

/// The deletion of expired keys that followed a read-only command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LazyExpireRecord {
    pub seq: u64,
    pub conn: u64,
    pub now_us: u64,
    pub deleted: u64,
    /// The read-only command's request bytes: its key arguments are the
    /// keys that were checked.
    pub request: Vec<u8>,
}

impl Record {
    pub fn seq(&self) -> u64 {
        match self {
            Record::Open { seq, .. } | Record::Close { seq, .. } => *seq,
            Record::Command(c) => c.seq,
            Record::Expire(e) => e.seq,
            Record::LazyExpire(l) => l.seq,
            Record::Evict(v) => v.seq,
        }
    }
}

/// A capture read back: header, records in file order, and how many bytes
/// of an unfinished last line were ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    pub header: Header,
    pub records: Vec<Record>,
    /// Bytes after the last `\n`: a record the writer had not finished
    /// when the server was killed. 0 for a cleanly closed capture.
    pub truncated_tail: usize,
}

/// Why a capture could not be read. `line` is 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureError {
    /// The first line is not a capture header.
    NotACapture,
    /// A capture of another format version.
    Version { found: String, supported: u32 },
    /// A whole line that does not parse.
    Malformed {
        line: usize,
        /// The record's sequence number, when it could be read.
        seq: Option<u64>,
        reason: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::NotACapture => {
                write!(f, "not a capture: the first line must start with {MAGIC:?}")
            }
            CaptureError::Version { found, supported } => write!(
                f,
                "capture format version {found} is not supported (this build reads version {supported})"
            ),
            CaptureError::Malformed { line, seq, reason } => match seq {
                Some(seq) => write!(f, "line {line} (record seq {seq}): {reason}"),
                None => write!(f, "line {line}: {reason}"),
            },
        }
    }
}

impl std::error::Error for CaptureError {}

/// Commands whose reply shows state of the *shell* (the process, its
/// sockets, its other clients) rather than of the keyspace: a replay
/// cannot reproduce it, so the capture marks these [`Mark::Excluded`] and
/// replay runs them without comparing. This is the whole list; anything
/// not here is compared byte for byte. (TIME, CLIENT ID and CONFIG GET are
/// *not* here: the capture holds the clock, the connection ids and the
/// start-up config that reproduce them. CONFIG REWRITE is: its reply
/// depends on the server's config file; so are CLIENT KILL, PAUSE and
/// UNPAUSE, answered from the shell's registry of connections.)
pub const SHELL_DEPENDENT: &[&str] = &[
    "info",
    "client list",
    "client info",
    "client kill",
    "client pause",
    "client unpause",
    "config rewrite",
];

/// Is this command's reply excluded from comparison (see [`SHELL_DEPENDENT`])?
pub fn shell_dependent(args: &[bytes::Bytes]) -> bool {
    let Some(name) = args.first() else {
        return false;
    };
    SHELL_DEPENDENT.iter().any(|entry| {
        let mut words = entry.split(' ');
        let command = words.next().unwrap_or_default();
        name.eq_ignore_ascii_case(command.as_bytes())
            && match words.next() {
                None => true,
                Some(sub) => args
                    .get(1)
                    .is_some_and(|a| a.eq_ignore_ascii_case(sub.as_bytes())),
            }
    })
}

/// The reply bytes the shell sends for a protocol error (the connection
/// is closed after it), as a capture records them.
pub fn protocol_error_reply(e: &crate::resp::ProtocolError) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    Frame::Error(e.message_bytes().into()).encode(&mut out);
    out.to_vec()
}

// ---------------------------------------------------------------------
// What a shell records. The native server and the simulator build their
// records here so that the rules (what is marked, what is skipped) are
// written once.

/// The records for one command executed by
/// [`Executor::execute`](crate::exec::Executor::execute):
/// the command itself, then its lazy deletion of expired keys if it made
/// one. Empty when the executor has no sequencer.
pub fn command_records(
    conn: u64,
    now_us: u64,
    args: &[bytes::Bytes],
    request: &[u8],
    reply: &[u8],
    executed: &crate::exec::Executed,
) -> impl Iterator<Item = Record> {
    let command = executed.seq.map(|seq| {
        Record::Command(CommandRecord {
            seq,
            conn,
            now_us,
            rng: executed.rng_position,
            mark: command_mark(args, executed),
            request: request.to_vec(),
            reply: reply.to_vec(),
        })
    });
    let evictions: Vec<Record> = executed
        .evictions
        .iter()
        .filter_map(|e| {
            Some(Record::Evict(EvictRecord {
                seq: e.seq?,
                now_us,
                db: e.db,
                key: e.key.to_vec(),
            }))
        })
        .collect();
    let lazy = executed.lazy_expire.and_then(|lazy| {
        Some(Record::LazyExpire(LazyExpireRecord {
            seq: lazy.seq?,
            conn,
            now_us,
            deleted: lazy.deleted,
            request: request.to_vec(),
        }))
    });
    evictions.into_iter().chain(command).chain(lazy)
}

/// [`command_records`], encoded straight into `out` as lines: what the
/// server does for every command, so it builds no records and allocates
/// nothing but `out`'s growth.
pub fn encode_command_records(
    out: &mut Vec<u8>,
    conn: u64,
    now_us: u64,
    args: &[bytes::Bytes],
    request: &[u8],
    reply: &[u8],
    executed: &crate::exec::Executed,
) {
    for e in &executed.evictions {
        if let Some(seq) = e.seq {
            text::put_evict(out, seq, now_us, e.db, &e.key);
            out.push(b'\n');
        }
    }
    if let Some(seq) = executed.seq {
        let (rng, mark) = (executed.rng_position, command_mark(args, executed));
        text::put_command(out, seq, conn, now_us, rng, mark, request, reply);
        out.push(b'\n');
    }
    if let Some(lazy) = executed.lazy_expire {
        if let Some(seq) = lazy.seq {
            text::put_lazy_expire(out, seq, conn, now_us, lazy.deleted, request);
            out.push(b'\n');
        }
    }
}

fn command_mark(args: &[bytes::Bytes], executed: &crate::exec::Executed) -> Mark {
    if executed.shell_dependent || shell_dependent(args) {
        Mark::Excluded
    } else {
        Mark::Compared
    }
}

/// The record of one active-expiry step, if it deleted keys (and the
/// executor has a sequencer). `now_us` is the reading the cycle was run
/// with (the step itself sees it in milliseconds).
pub fn expire_record(step: &crate::exec::ExpireStep, now_us: u64) -> Option<Record> {
    Some(Record::Expire(ExpireRecord {
        seq: step.seq?,
        lock: step.lock,
        now_us,
        rng: step.rng_position,
        sampled: step.stats.sampled,
        expired: step.stats.expired,
    }))
}

#[cfg(test)]
mod tests;
