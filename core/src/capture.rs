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

use std::fmt;

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
    Close { seq: u64, conn: u64, now_us: u64 },
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
/// start-up config that reproduce them.)
pub const SHELL_DEPENDENT: &[&str] = &["info", "client list", "client info"];

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

// ---------------------------------------------------------------------
// Encoding

impl Header {
    /// Append the header lines.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "{MAGIC} {FORMAT_VERSION} server={} mode={} shards={} seed={} start_us={}\n",
                self.server,
                self.mode.name(),
                self.shards,
                self.seed,
                self.start_us
            )
            .as_bytes(),
        );
        for (name, value) in &self.config {
            out.extend_from_slice(b"config ");
            put_payload(out, name.as_bytes());
            out.push(b' ');
            put_payload(out, value.as_bytes());
            out.push(b'\n');
        }
    }
}

impl Record {
    /// Append the record as one line.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Open { seq, conn, now_us } => put_fields(out, "O", &[*seq, *conn, *now_us]),
            Record::Close { seq, conn, now_us } => put_fields(out, "X", &[*seq, *conn, *now_us]),
            Record::Expire(e) => put_fields(
                out,
                "E",
                &[e.seq, e.lock.into(), e.now_us, e.rng, e.sampled, e.expired],
            ),
            Record::LazyExpire(l) => {
                put_fields(out, "L", &[l.seq, l.conn, l.now_us, l.deleted]);
                out.pop(); // the '\n' put_fields ended with
                out.push(b' ');
                put_payload(out, &l.request);
                out.push(b'\n');
            }
            Record::Command(c) => {
                put_fields(out, "C", &[c.seq, c.conn, c.now_us]);
                out.pop(); // the '\n' put_fields ended with
                out.push(b' ');
                match c.rng {
                    Some(p) => out.extend_from_slice(p.to_string().as_bytes()),
                    None => out.push(b'-'),
                }
                out.push(b' ');
                out.extend_from_slice(c.mark.symbol().as_bytes());
                out.push(b' ');
                put_payload(out, &c.request);
                out.push(b' ');
                put_payload(out, &c.reply);
                out.push(b'\n');
            }
        }
    }
}

fn put_fields(out: &mut Vec<u8>, tag: &str, numbers: &[u64]) {
    out.extend_from_slice(tag.as_bytes());
    for n in numbers {
        out.push(b' ');
        out.extend_from_slice(n.to_string().as_bytes());
    }
    out.push(b'\n');
}

/// `<len>:<escaped>`.
pub fn put_payload(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    escape_into(out, bytes);
}

/// The escaping described in the module docs.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'!'..=b'~' => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
        }
    }
}

/// Bytes as a one-line, quoted, escaped string for messages (replay's
/// divergence report).
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'"');
    for &b in bytes {
        match b {
            b' ' => out.push(b' '),
            b'"' => out.extend_from_slice(b"\\\""),
            _ => escape_into(&mut out, &[b]),
        }
    }
    out.push(b'"');
    // Only ASCII was pushed.
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------
// Decoding

/// Read a whole capture. A last line without its `\n` is an unfinished
/// record (the writer was killed mid-line): it is ignored and counted in
/// [`Capture::truncated_tail`]. Any whole line that does not parse is an
/// error naming the line (and the record's `seq` when readable).
pub fn decode(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let (whole, tail) = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => (&bytes[..end], bytes.len() - end - 1),
        None => (&bytes[..0], bytes.len()),
    };
    let mut lines = whole.split(|&b| b == b'\n').enumerate();
    let Some((_, first)) = lines
        .next()
        .filter(|_| !bytes.is_empty() && tail < bytes.len())
    else {
        return Err(CaptureError::NotACapture);
    };
    let mut header = decode_header_line(first)?;
    let mut records = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if let Some(rest) = line.strip_prefix(b"config ") {
            if !records.is_empty() {
                return Err(malformed(
                    line_no,
                    None,
                    "config line after the first record",
                ));
            }
            let (name, value) =
                decode_config(rest).ok_or_else(|| malformed(line_no, None, "bad config line"))?;
            header.config.push((name, value));
            continue;
        }
        records.push(decode_record(line).map_err(|(seq, reason)| malformed(line_no, seq, reason))?);
    }
    Ok(Capture {
        header,
        records,
        truncated_tail: tail,
    })
}

fn malformed(line: usize, seq: Option<u64>, reason: &str) -> CaptureError {
    CaptureError::Malformed {
        line,
        seq,
        reason: reason.to_string(),
    }
}

fn decode_header_line(line: &[u8]) -> Result<Header, CaptureError> {
    let text = std::str::from_utf8(line).map_err(|_| CaptureError::NotACapture)?;
    let mut words = text.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(CaptureError::NotACapture);
    }
    let version = words.next().unwrap_or_default();
    if version != FORMAT_VERSION.to_string() {
        return Err(CaptureError::Version {
            found: version.to_string(),
            supported: FORMAT_VERSION,
        });
    }
    let bad = |reason: String| malformed(1, None, &reason);
    let mut header = Header {
        server: String::new(),
        mode: Mode::Mutex,
        shards: 1,
        seed: 0,
        start_us: 0,
        config: Vec::new(),
    };
    let mut seen_mode = false;
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| bad(format!("header field {word:?} is not key=value")))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| bad(format!("header field {key} is not a number: {value:?}")))
        };
        match key {
            "server" => header.server = value.to_string(),
            "mode" => {
                header.mode =
                    Mode::parse(value).ok_or_else(|| bad(format!("unknown mode {value:?}")))?;
                seen_mode = true;
            }
            "shards" => {
                header.shards = u32::try_from(number()?)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad(format!("bad shard count {value:?}")))?
            }
            "seed" => header.seed = number()?,
            "start_us" => header.start_us = number()?,
            // Unknown keys are additions a newer writer made within the
            // same format version; they change nothing a reader needs.
            _ => {}
        }
    }
    if !seen_mode {
        return Err(bad("header has no mode".to_string()));
    }
    Ok(header)
}

fn decode_config(rest: &[u8]) -> Option<(String, String)> {
    let mut fields = Fields(rest);
    let name = String::from_utf8(fields.payload()?).ok()?;
    let value = String::from_utf8(fields.payload()?).ok()?;
    fields.end().then_some((name, value))
}

/// Decode one record line; on failure the seq (if it was read) and why.
fn decode_record(line: &[u8]) -> Result<Record, (Option<u64>, &'static str)> {
    let mut f = Fields(line);
    let tag = f.word().ok_or((None, "empty line"))?;
    let seq = f.number().ok_or((None, "no sequence number"))?;
    let err = |reason| (Some(seq), reason);
    let record = match tag {
        b"O" | b"X" => {
            let conn = f.number().ok_or(err("bad connection id"))?;
            let now_us = f.number().ok_or(err("bad clock reading"))?;
            if tag == b"O" {
                Record::Open { seq, conn, now_us }
            } else {
                Record::Close { seq, conn, now_us }
            }
        }
        b"C" => {
            let conn = f.number().ok_or(err("bad connection id"))?;
            let now_us = f.number().ok_or(err("bad clock reading"))?;
            let rng = match f.word().ok_or(err("no PRNG position"))? {
                b"-" => None,
                w => Some(parse_u64(w).ok_or(err("bad PRNG position"))?),
            };
            let mark = Mark::parse(f.word().ok_or(err("no mark"))?).ok_or(err("bad mark"))?;
            let request = f.payload().ok_or(err("bad request payload"))?;
            let reply = f.payload().ok_or(err("bad reply payload"))?;
            Record::Command(CommandRecord {
                seq,
                conn,
                now_us,
                rng,
                mark,
                request,
                reply,
            })
        }
        b"E" => {
            let mut n = || f.number().ok_or(err("bad expiry field"));
            let lock = u32::try_from(n()?).map_err(|_| err("bad lock index"))?;
            Record::Expire(ExpireRecord {
                seq,
                lock,
                now_us: n()?,
                rng: n()?,
                sampled: n()?,
                expired: n()?,
            })
        }
        b"L" => {
            let mut n = || f.number().ok_or(err("bad lazy-expiry field"));
            let (conn, now_us, deleted) = (n()?, n()?, n()?);
            let request = f.payload().ok_or(err("bad request payload"))?;
            Record::LazyExpire(LazyExpireRecord {
                seq,
                conn,
                now_us,
                deleted,
                request,
            })
        }
        _ => return Err(err("unknown record type")),
    };
    if !f.end() {
        return Err(err("extra fields at the end of the line"));
    }
    Ok(record)
}

/// A cursor over the space-separated fields of one line.
pub(crate) struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Fields(line)
    }

    pub(crate) fn word(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let end = self
            .0
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(self.0.len());
        let word = &self.0[..end];
        self.0 = self.0.get(end + 1..).unwrap_or_default();
        Some(word)
    }

    pub(crate) fn number(&mut self) -> Option<u64> {
        parse_u64(self.word()?)
    }

    pub(crate) fn payload(&mut self) -> Option<Vec<u8>> {
        let word = self.word()?;
        let colon = word.iter().position(|&b| b == b':')?;
        let len = usize::try_from(parse_u64(&word[..colon])?).ok()?;
        let bytes = unescape(&word[colon + 1..], len)?;
        (bytes.len() == len).then_some(bytes)
    }

    pub(crate) fn end(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Undo [`escape_into`]; `None` on a malformed escape. `expected_len` only
/// sizes the buffer (capped, so a corrupt length cannot allocate much).
fn unescape(s: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(expected_len.min(s.len()));
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b != b'\\' {
            if !(b'!'..=b'~').contains(&b) {
                return None;
            }
            out.push(b);
            i += 1;
            continue;
        }
        match s.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b'x' => {
                let hi = hex_digit(*s.get(i + 2)?)?;
                let lo = hex_digit(*s.get(i + 3)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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
/// [`Executor::execute_captured`](crate::exec::Executor::execute_captured):
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
            mark: if shell_dependent(args) {
                Mark::Excluded
            } else {
                Mark::Compared
            },
            request: request.to_vec(),
            reply: reply.to_vec(),
        })
    });
    let lazy = executed.lazy_expire.and_then(|lazy| {
        Some(Record::LazyExpire(LazyExpireRecord {
            seq: lazy.seq?,
            conn,
            now_us,
            deleted: lazy.deleted,
            request: request.to_vec(),
        }))
    });
    command.into_iter().chain(lazy)
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
