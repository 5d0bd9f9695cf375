//! RESP: the Redis wire protocol, as Redis 7.0 actually parses it.
//!
//! A Redis client can send a command in two shapes, and Redis picks the
//! shape by looking at the first byte of what it has not parsed yet:
//!
//! * `*` starts a **multibulk** request, the form every client library
//!   uses: `*<argc>\r\n` followed by `argc` bulk strings `$<len>\r\n<bytes>\r\n`.
//!   It is binary safe because every argument announces its length.
//! * anything else is an **inline** command, one text line such as
//!   `SET k "hello world"\r\n`, split on spaces with shell-like quoting.
//!   It exists so a human can talk to Redis with `telnet` or `nc`.
//!
//! This server promises byte-identical behaviour, including on malformed
//! input, so the parser is a port of `processMultibulkBuffer`,
//! `processInlineBuffer` (src/networking.c) and `sdssplitargs` (src/sds.c)
//! rather than a from-scratch RESP grammar. The quirks that follow from
//! that (a lone `\r` counts as a line end, a NUL byte hides the line end,
//! the two bytes after a bulk payload are never checked) are kept on
//! purpose and documented where they happen.
//!
//! The parser is *stateless*: [`parse_request`] is handed every byte the
//! connection has received and not yet consumed, and either returns a whole
//! command (and how many bytes it used), asks for more bytes, or reports the
//! protocol error Redis would send before closing the connection. Redis keeps
//! half-parsed state in the client struct instead; re-parsing from the start
//! gives the same answers because Redis never looks back at consumed bytes.
//!
//! [`parse_frame`] is the other direction (reading replies), used by tests,
//! the load generator and the replay comparator; [`encode_request`] writes a
//! command the way client libraries do.

mod inline;
mod reply;
mod request;
#[cfg(test)]
mod tests;

pub use inline::split_args;
pub use reply::{encode_request, parse_frame, MAX_FRAME_DEPTH};
pub use request::{parse_request, parse_request_in, Parsed};

/// Longest inline command line, and longest `*<count>` / `$<len>` header
/// line, Redis waits for before giving up (`PROTO_INLINE_MAX_SIZE` in
/// server.h). Without such a cap a client could make the server buffer
/// gigabytes while it searches for a line end that never comes.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;

/// Largest bulk argument accepted: the default of the `proto-max-bulk-len`
/// config (512 MB), which is also the largest string value Redis allows.
pub const PROTO_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;

/// Largest argument count accepted in `*<count>`. Redis 7.0 compares the
/// count against `INT_MAX` (older versions used 1024*1024; the 7.0 test suite
/// checks that `*3000000000` is refused while big `MSET`s pass).
pub const PROTO_MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;

/// A malformed request. Redis answers it with an `-ERR Protocol error: ...`
/// line and then closes the connection (it cannot know where the next command
/// would start), so callers should write [`ProtocolError::message`] and hang up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// `*<count>` is not a number, or is larger than [`PROTO_MAX_MULTIBULK_LEN`].
    InvalidMultibulkLength,
    /// `$<len>` is not a number, is negative, or exceeds [`PROTO_MAX_BULK_LEN`].
    InvalidBulkLength,
    /// An argument header did not start with `$`; holds the byte found.
    ExpectedDollar(u8),
    /// The inline line could not be split (open quote, or a closing quote
    /// glued to more text).
    UnbalancedQuotes,
    /// No line end in more than [`PROTO_INLINE_MAX_SIZE`] bytes of inline command.
    TooBigInline,
    /// No line end in more than [`PROTO_INLINE_MAX_SIZE`] bytes after `*`.
    TooBigMbulkCount,
    /// No line end in more than [`PROTO_INLINE_MAX_SIZE`] bytes after an argument started.
    TooBigBulkCount,
}

impl ProtocolError {
    /// The error line as Redis sends it, without the leading `-` and the
    /// trailing CRLF, e.g. `ERR Protocol error: invalid multibulk length`.
    ///
    /// Only [`ProtocolError::ExpectedDollar`] with a byte >= 0x80 cannot be
    /// represented exactly in a `String` (Redis sends the raw byte); use
    /// [`ProtocolError::message_bytes`] when writing to the wire.
    pub fn message(&self) -> String {
        String::from_utf8_lossy(&self.message_bytes()).into_owned()
    }

    /// The exact bytes of [`ProtocolError::message`], as Redis would send
    /// them between `-` and CRLF.
    pub fn message_bytes(&self) -> Vec<u8> {
        let text: &str = match self {
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::TooBigMbulkCount => "too big mbulk count string",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(byte) => {
                let mut out = b"ERR Protocol error: expected '$', got '".to_vec();
                match byte {
                    // Redis formats this one with printf's `%c` and then
                    // copies the result as a C string, so a NUL byte cuts the
                    // message short right here. (Unreachable in practice: a
                    // NUL also stops Redis's search for the line end.)
                    0 => return out,
                    // addReplyErrorFormat turns CR and LF into spaces so the
                    // error cannot break the reply framing.
                    b'\r' | b'\n' => out.push(b' '),
                    other => out.push(*other),
                }
                out.push(b'\'');
                return out;
            }
        };
        format!("ERR Protocol error: {text}").into_bytes()
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ProtocolError {}

/// What [`parse_request`] found at the start of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// A command: its arguments (args[0] is the command name, as sent) and
    /// how many bytes of the buffer it used.
    Command {
        args: Vec<bytes::Bytes>,
        consumed: usize,
    },
    /// Bytes that form no command but must be consumed: an empty inline line
    /// (`\r\n` or `\n`, or only blanks), or `*0\r\n` / `*-1\r\n`, which
    /// Redis silently ignores.
    Skip { consumed: usize },
    /// Not enough bytes yet: nothing consumed; call again with more.
    Incomplete,
}

/// A reply that [`parse_frame`] could not read; the text says what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid RESP reply: {}", self.0)
    }
}

impl std::error::Error for FrameError {}

/// Redis's `string2ll` (src/util.c): the only integer syntax Redis accepts
/// in protocol headers. Stricter than `str::parse`: no `+` sign, no leading
/// zeros (so `-0` and `007` are rejected), no spaces, and it must fit in i64.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    // Redis rejects anything of LONG_STR_SIZE (21) bytes or more up front;
    // no valid i64 is that long, so this only saves work.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    // The first digit must be 1-9: "0" alone was handled above.
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX, so go through
        // 0 - value in u64-aware arithmetic instead of negating an i64.
        0i64.checked_sub_unsigned(value)
    } else {
        i64::try_from(value).ok()
    }
}
