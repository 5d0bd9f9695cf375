//! Parsing one client request: the multibulk form, plus the dispatch to the
//! inline form.
//!
//! This mirrors `processMultibulkBuffer` in Redis 7.0's src/networking.c step
//! by step, because clients (and fuzzers, and the Redis test suite) depend on
//! exactly which malformed inputs are errors, which ones make the server wait
//! for more bytes, and which error text comes back.
//!
//! Framing uses nom's *streaming* parsers: they answer "Incomplete" instead
//! of failing when the input stops early, which is exactly the question a
//! network parser has to ask over and over.

use bytes::Bytes;
use nom::bytes::streaming::{tag, take, take_till};
use nom::IResult;

use super::inline::parse_inline;
use super::{
    string2ll, ProtocolError, Request, PROTO_INLINE_MAX_SIZE, PROTO_MAX_BULK_LEN,
    PROTO_MAX_MULTIBULK_LEN,
};

/// Parse one request from the start of `buf` (all bytes received so far and
/// not yet consumed).
///
/// A buffer starting with `*` is a RESP multibulk, anything else is an inline
/// command, exactly as Redis decides. An empty buffer is `Incomplete`.
/// Never consumes more than `buf.len()` bytes, never panics, and never
/// allocates in proportion to a length the client merely *announced*.
pub fn parse_request(buf: &[u8]) -> Result<Request, ProtocolError> {
    match buf.first() {
        None => Ok(Request::Incomplete),
        Some(b'*') => parse_multibulk(buf),
        Some(_) => parse_inline(buf),
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
    let found: IResult<&[u8], &[u8], ()> = take_till(|b| b == b'\r' || b == 0)(input);
    match found {
        Ok((rest, body)) if rest.first() == Some(&b'\r') => {
            match take::<usize, &[u8], ()>(2)(rest) {
                Ok(_) => Header::Line {
                    body,
                    used: body.len() + 2,
                },
                Err(_) => Header::CrAtEnd,
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
fn wait_or(pending: &[u8], error: ProtocolError) -> Result<Request, ProtocolError> {
    if pending.len() > PROTO_INLINE_MAX_SIZE {
        Err(error)
    } else {
        Ok(Request::Incomplete)
    }
}

/// `*<count>\r\n` followed by `count` times `$<len>\r\n<len bytes>\r\n`.
fn parse_multibulk(buf: &[u8]) -> Result<Request, ProtocolError> {
    let (count, mut rest) = match header(buf) {
        Header::NotFound => return wait_or(buf, ProtocolError::TooBigMbulkCount),
        Header::CrAtEnd => return Ok(Request::Incomplete),
        Header::Line { body, used } => {
            // The body starts with the '*' that sent us here.
            let digits = match tag::<&[u8], &[u8], ()>(b"*")(body) {
                Ok((digits, _)) => digits,
                Err(_) => return Err(ProtocolError::InvalidMultibulkLength),
            };
            let count = string2ll(digits)
                .filter(|&n| n <= PROTO_MAX_MULTIBULK_LEN)
                .ok_or(ProtocolError::InvalidMultibulkLength)?;
            (count, buf.get(used..).unwrap_or_default())
        }
    };
    let consumed = |rest: &[u8]| buf.len() - rest.len();
    // `*0` and any negative count (`*-1`, `*-10`) are accepted and ignored:
    // Redis resets the client and moves on to the next request.
    if count <= 0 {
        return Ok(Request::Skip {
            consumed: consumed(rest),
        });
    }

    // The count is only a claim. Redis 7.0 itself sizes its argv array as
    // min(count, 1024) and grows it as arguments really arrive; do the same
    // so `*2147483647\r\n` costs nothing. Arguments are remembered as slices
    // and copied only once the whole command is here, so an incomplete
    // command (the common case for big payloads) copies nothing.
    let capacity = usize::try_from(count.min(1024)).unwrap_or(1024);
    let mut args: Vec<&[u8]> = Vec::with_capacity(capacity);
    // `count` can be ~2^31, but each pass either returns or consumes at least
    // six bytes (`$0\r\n` and the two after the empty payload), so the loop
    // is bounded by `buf.len()`.
    for _ in 0..count {
        let (len, after_header) = match header(rest) {
            Header::NotFound => return wait_or(rest, ProtocolError::TooBigBulkCount),
            Header::CrAtEnd => return Ok(Request::Incomplete),
            Header::Line { body, used } => {
                // Redis checks the '$' only once the whole line is present,
                // which is why a `$`-less line longer than 64 KB gets the
                // "too big bulk count" error rather than this one.
                let digits = match tag::<&[u8], &[u8], ()>(b"$")(body) {
                    Ok((digits, _)) => digits,
                    // `rest` is non-empty: a line was found in it. The byte is
                    // '\r' itself when the line is empty.
                    Err(_) => {
                        return Err(ProtocolError::ExpectedDollar(
                            rest.first().copied().unwrap_or(b'\r'),
                        ))
                    }
                };
                let len = string2ll(digits)
                    .filter(|&n| (0..=PROTO_MAX_BULK_LEN).contains(&n))
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or(ProtocolError::InvalidBulkLength)?;
                (len, rest.get(used..).unwrap_or_default())
            }
        };
        // The payload, then two more bytes that Redis skips *without checking*
        // that they are "\r\n": `$3\r\nfooXY` is accepted as "foo". Anything
        // short of len + 2 bytes means wait (nom's streaming `take` reports
        // Incomplete without allocating anything for the missing bytes).
        let payload: IResult<&[u8], &[u8], ()> = take(len)(after_header);
        let Ok((after_payload, arg)) = payload else {
            return Ok(Request::Incomplete);
        };
        let trailer: IResult<&[u8], &[u8], ()> = take(2usize)(after_payload);
        let Ok((next, _crlf)) = trailer else {
            return Ok(Request::Incomplete);
        };
        args.push(arg);
        rest = next;
    }

    Ok(Request::Command {
        // One allocation per argument, like Redis's one object per argument:
        // a key stored by a command must not keep the whole request (say, a
        // big value that is later overwritten) alive.
        args: args.into_iter().map(Bytes::copy_from_slice).collect(),
        consumed: consumed(rest),
    })
}
