//! Parsing one client request: the multibulk form, plus the dispatch to the
//! inline form.
//!
//! This mirrors `processMultibulkBuffer` in Redis 7.0's src/networking.c step
//! by step, because clients (and fuzzers, and the Redis test suite) depend on
//! exactly which malformed inputs are errors, which ones make the server wait
//! for more bytes, and which error text comes back.
//!
//! The parser runs once per argument of every request, so it is plain
//! slice code rather than parser combinators (nom's generic `take` and
//! `tag` were 4 % of a pipelined SET's CPU), and it does not copy: it
//! records where each argument lies ([`parse_request_in`]), and the
//! pipeline hands the command slices of its input buffer.

use std::ops::Range;

use bytes::Bytes;

use super::inline::parse_inline;
use super::{
    string2ll, ProtocolError, Request, PROTO_INLINE_MAX_SIZE, PROTO_MAX_BULK_LEN,
    PROTO_MAX_MULTIBULK_LEN,
};

/// Parse one request from the start of `buf` (all bytes received so far and
/// not yet consumed), copying its arguments out.
///
/// A buffer starting with `*` is a RESP multibulk, anything else is an inline
/// command, exactly as Redis decides. An empty buffer is `Incomplete`.
/// Never consumes more than `buf.len()` bytes, never panics, and never
/// allocates in proportion to a length the client merely *announced*.
pub fn parse_request(buf: &[u8]) -> Result<Request, ProtocolError> {
    let mut ranges = Vec::new();
    Ok(match parse_request_in(buf, &mut ranges)? {
        Parsed::Incomplete => Request::Incomplete,
        Parsed::Skip { consumed } => Request::Skip { consumed },
        Parsed::Owned { args, consumed } => Request::Command { args, consumed },
        Parsed::InPlace { consumed } => Request::Command {
            args: ranges
                .into_iter()
                .map(|r| Bytes::copy_from_slice(&buf[r]))
                .collect(),
            consumed,
        },
    })
}

/// What [`parse_request_in`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not enough bytes yet.
    Incomplete,
    /// Bytes to consume that hold no command (see [`Request::Skip`]).
    Skip { consumed: usize },
    /// A multibulk command: its arguments are `buf[range]` for the ranges
    /// written, in order; `consumed` bytes make up the request.
    InPlace { consumed: usize },
    /// An inline command, whose arguments (unquoted, unescaped) are not
    /// slices of the input.
    Owned { args: Vec<Bytes>, consumed: usize },
}

/// [`parse_request`] without copying: a multibulk command's arguments are
/// written to `ranges` (cleared first) as positions in `buf`. The caller
/// keeps `ranges` between calls, so a connection parses without
/// allocating once it has seen its widest command.
pub fn parse_request_in(
    buf: &[u8],
    ranges: &mut Vec<Range<usize>>,
) -> Result<Parsed, ProtocolError> {
    ranges.clear();
    match buf.first() {
        None => Ok(Parsed::Incomplete),
        Some(b'*') => parse_multibulk(buf, ranges),
        Some(_) => Ok(match parse_inline(buf)? {
            Request::Command { args, consumed } => Parsed::Owned { args, consumed },
            Request::Skip { consumed } => Parsed::Skip { consumed },
            Request::Incomplete => Parsed::Incomplete,
        }),
    }
}

/// A header line (`*<count>` or `$<len>`) as Redis finds it.
enum Header<'a> {
    /// A `\r` was found with at least one byte after it. `body` is what lies
    /// between the start and the `\r`; `used` counts the body, the `\r` and
    /// the byte after it, whatever that byte is.
    Line { body: &'a [u8], used: usize },
    /// The `\r` is the last byte received: wait for the next one.
    CrAtEnd,
    /// No `\r` yet. Only in this case does Redis apply the size limit.
    NotFound,
}

/// Find the end of a header line the way Redis does.
///
/// Redis looks for the line end with `strchr(buf, '\r')` and then simply
/// *assumes* a `\n` follows: it skips two bytes without looking at the
/// second. So `*1\rX` is a complete header, and a client that sends a lone
/// `\r` loses the byte after it. `strchr` also stops at a NUL byte (the query
/// buffer is a C string to it), so a NUL before the `\r` means "no line end
/// yet" and the connection waits until the size limit triggers.
fn header(input: &[u8]) -> Header<'_> {
    match input.iter().position(|&b| b == b'\r' || b == 0) {
        Some(at) if input[at] == b'\r' => {
            if input.len() >= at + 2 {
                Header::Line {
                    body: &input[..at],
                    used: at + 2,
                }
            } else {
                Header::CrAtEnd
            }
        }
        // Stopped at a NUL, or ran out of input: no line end as far as Redis
        // can tell.
        _ => Header::NotFound,
    }
}

/// What to do when no line end is in sight: keep waiting while the pending
/// bytes are within [`PROTO_INLINE_MAX_SIZE`], give up past it. Redis
/// measures all the unconsumed bytes from the header's start, not just the
/// header, so the same rule is applied to `pending` here.
fn wait_or(pending: &[u8], error: ProtocolError) -> Result<Parsed, ProtocolError> {
    if pending.len() > PROTO_INLINE_MAX_SIZE {
        Err(error)
    } else {
        Ok(Parsed::Incomplete)
    }
}

/// `*<count>\r\n` followed by `count` times `$<len>\r\n<len bytes>\r\n`.
fn parse_multibulk(buf: &[u8], ranges: &mut Vec<Range<usize>>) -> Result<Parsed, ProtocolError> {
    let (count, mut at) = match header(buf) {
        Header::NotFound => return wait_or(buf, ProtocolError::TooBigMbulkCount),
        Header::CrAtEnd => return Ok(Parsed::Incomplete),
        Header::Line { body, used } => {
            // The body starts with the '*' that sent us here.
            let count = string2ll(&body[1..])
                .filter(|&n| n <= PROTO_MAX_MULTIBULK_LEN)
                .ok_or(ProtocolError::InvalidMultibulkLength)?;
            (count, used)
        }
    };
    // `*0` and any negative count (`*-1`, `*-10`) are accepted and ignored:
    // Redis resets the client and moves on to the next request.
    if count <= 0 {
        return Ok(Parsed::Skip { consumed: at });
    }

    // The count is only a claim. Redis 7.0 itself sizes its argv array as
    // min(count, 1024) and grows it as arguments really arrive; do the same
    // so `*2147483647\r\n` costs nothing.
    let capacity = usize::try_from(count.min(1024)).unwrap_or(1024);
    ranges.reserve(capacity);
    // `count` can be ~2^31, but each pass either returns or consumes at least
    // six bytes (`$0\r\n` and the two after the empty payload), so the loop
    // is bounded by `buf.len()`.
    for _ in 0..count {
        let rest = &buf[at..];
        let len = match header(rest) {
            Header::NotFound => return wait_or(rest, ProtocolError::TooBigBulkCount),
            Header::CrAtEnd => return Ok(Parsed::Incomplete),
            Header::Line { body, used } => {
                // Redis checks the '$' only once the whole line is present,
                // which is why a `$`-less line longer than 64 KB gets the
                // "too big bulk count" error rather than this one.
                let Some((b'$', digits)) = body.split_first() else {
                    // `rest` is non-empty: a line was found in it. The byte
                    // is '\r' itself when the line is empty.
                    return Err(ProtocolError::ExpectedDollar(
                        rest.first().copied().unwrap_or(b'\r'),
                    ));
                };
                let len = string2ll(digits)
                    .filter(|&n| (0..=PROTO_MAX_BULK_LEN).contains(&n))
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or(ProtocolError::InvalidBulkLength)?;
                at += used;
                len
            }
        };
        // The payload, then two more bytes that Redis skips *without checking*
        // that they are "\r\n": `$3\r\nfooXY` is accepted as "foo". Anything
        // short of len + 2 bytes means wait.
        if buf.len() - at < len + 2 {
            return Ok(Parsed::Incomplete);
        }
        ranges.push(at..at + len);
        at += len + 2;
    }
    Ok(Parsed::InPlace { consumed: at })
}
