//! The client side of RESP: reading reply frames (RESP2 and RESP3) and
//! writing commands.
//!
//! The server itself never parses replies, but its tests, the load
//! generator and the replay comparator (which checks this server's bytes
//! against a real Redis) all do, and they must agree on one strict reading
//! of the protocol. Unlike the request parser, which copies Redis's leniency
//! on purpose, this one insists on well-formed input (every line ends in
//! CRLF, integers are canonical), because a reply that is not well-formed is
//! a bug worth reporting.

use bytes::{BufMut, Bytes, BytesMut};
use nom::bytes::streaming::{tag, take, take_until};
use nom::number::streaming::u8 as any_byte;
use nom::{IResult, Parser};

use super::{string2ll, FrameError};
use crate::frame::Frame;

/// Deepest array nesting [`parse_frame`] accepts. Real replies nest a few
/// levels (XREAD, COMMAND DOCS); the limit exists because [`Frame`] is
/// recursive, and dropping, comparing or encoding a frame nested a million
/// levels deep (cheap to send: `*1\r\n` per level) would overflow the stack.
pub const MAX_FRAME_DEPTH: usize = 1000;

type Res<'a, T> = IResult<&'a [u8], T, ()>;

/// The aggregate types: what a finished list of elements becomes.
#[derive(Clone, Copy)]
enum Aggregate {
    Array,
    Set,
    Push,
    /// Its count is of elements, twice the pairs.
    Map,
}

impl Aggregate {
    fn finish(self, items: Vec<Frame>) -> Frame {
        match self {
            Aggregate::Array => Frame::Array(items),
            Aggregate::Set => Frame::Set(items),
            Aggregate::Push => Frame::Push(items),
            // The count was doubled, so no element is left over.
            Aggregate::Map => Frame::map_from_flat(items),
        }
    }
}

/// One step of reading: a finished scalar frame, or the header of an
/// aggregate whose elements follow.
enum Item {
    Frame(Frame),
    Aggregate(Aggregate, usize),
}

fn error(buf: &[u8], at: &[u8], what: &str) -> FrameError {
    FrameError(format!("{what} at byte {}", buf.len() - at.len()))
}

/// A CRLF-terminated line, without the CRLF.
fn line(input: &[u8]) -> Res<'_, &[u8]> {
    let (rest, body) = take_until(&b"\r\n"[..])(input)?;
    let (rest, _) = tag(&b"\r\n"[..])(rest)?;
    Ok((rest, body))
}

/// Read one type byte and what belongs to it (for arrays, only the count).
/// `Ok(None)` means the buffer ends too early.
fn item<'a>(buf: &[u8], input: &'a [u8]) -> Result<Option<(Item, &'a [u8])>, FrameError> {
    // Judge the type byte before waiting for the line: a reply starting
    // with anything else is broken however many bytes follow.
    if let Some(&other) = input.first().filter(|b| !b"+-:$*_%~>=,#".contains(b)) {
        let what = format!("unknown type byte {other:#04x}");
        return Err(error(buf, input, &what));
    }
    let parsed: Res<'a, (u8, &[u8])> = (any_byte, line).parse(input);
    let (rest, (kind, body)) = match parsed {
        Ok(ok) => ok,
        Err(nom::Err::Incomplete(_)) => return Ok(None),
        Err(_) => return Err(error(buf, input, "unreadable line")),
    };
    let number = || string2ll(body).ok_or_else(|| error(buf, input, "invalid number"));
    // A simple string or error is one line: RESP forbids CR and LF in it
    // (and our encoder never writes them; see `frame.rs`).
    if matches!(kind, b'+' | b'-') && body.iter().any(|b| matches!(b, b'\r' | b'\n')) {
        return Err(error(buf, input, "CR or LF inside a line"));
    }
    let item = match kind {
        b'+' => Item::Frame(Frame::Simple(Bytes::copy_from_slice(body))),
        b'-' => Item::Frame(Frame::Error(Bytes::copy_from_slice(body))),
        b':' => Item::Frame(Frame::Integer(number()?)),
        b'$' | b'=' => match number()? {
            -1 if kind == b'$' => Item::Frame(Frame::Null),
            n => {
                let len = usize::try_from(n)
                    .map_err(|_| error(buf, input, "bulk length out of range"))?;
                // Streaming `take` answers Incomplete when the payload has
                // not all arrived, without reserving room for it.
                let payload: Res<'a, &[u8]> = take(len)(rest);
                let Ok((after, data)) = payload else {
                    return Ok(None);
                };
                let crlf: Res<'a, &[u8]> = tag(&b"\r\n"[..])(after);
                return match crlf {
                    Ok((after, _)) if kind == b'$' => Ok(Some((
                        Item::Frame(Frame::Bulk(Bytes::copy_from_slice(data))),
                        after,
                    ))),
                    // A verbatim string is `fmt:text`; only `txt` is used.
                    Ok((after, _)) => match data.strip_prefix(b"txt:") {
                        Some(text) => Ok(Some((
                            Item::Frame(Frame::Verbatim(Bytes::copy_from_slice(text))),
                            after,
                        ))),
                        None => Err(error(buf, input, "verbatim string without txt: format")),
                    },
                    Err(nom::Err::Incomplete(_)) => Ok(None),
                    Err(_) => Err(error(buf, after, "bulk payload not followed by CRLF")),
                };
            }
        },
        b'*' if body == b"-1" => Item::Frame(Frame::NullArray),
        b'*' | b'~' | b'>' | b'%' => {
            let n = usize::try_from(number()?)
                .map_err(|_| error(buf, input, "aggregate length out of range"))?;
            match kind {
                b'*' => Item::Aggregate(Aggregate::Array, n),
                b'~' => Item::Aggregate(Aggregate::Set, n),
                b'>' => Item::Aggregate(Aggregate::Push, n),
                _ => Item::Aggregate(
                    Aggregate::Map,
                    n.checked_mul(2)
                        .ok_or_else(|| error(buf, input, "map length out of range"))?,
                ),
            }
        }
        b'_' if body.is_empty() => Item::Frame(Frame::Null),
        b'#' if body == b"t" => Item::Frame(Frame::Boolean(true)),
        b'#' if body == b"f" => Item::Frame(Frame::Boolean(false)),
        b',' if !body.is_empty() => Item::Frame(Frame::Double(Bytes::copy_from_slice(body))),
        b'_' | b'#' | b',' => return Err(error(buf, input, "malformed RESP3 scalar")),
        // Checked above; kept so the match needs no panic arm.
        other => {
            let what = format!("unknown type byte {other:#04x}");
            return Err(error(buf, input, &what));
        }
    };
    Ok(Some((item, rest)))
}

/// Parse one reply frame (RESP2 or RESP3) from the start of `buf`: any
/// [`Frame`] variant, aggregates nested up to [`MAX_FRAME_DEPTH`] levels.
///
/// Returns the frame and how many bytes it used, or `Ok(None)` when the
/// buffer ends before the frame does. Never panics, never allocates in
/// proportion to an announced (rather than received) length, and uses an
/// explicit stack instead of recursion so hostile input cannot exhaust the
/// call stack.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    // Aggregates still being filled: their kind, elements so far and how
    // many are missing.
    let mut open: Vec<(Aggregate, Vec<Frame>, usize)> = Vec::new();
    let mut rest = buf;
    loop {
        let Some((item, after)) = item(buf, rest)? else {
            return Ok(None);
        };
        rest = after;
        let mut frame = match item {
            Item::Frame(frame) => frame,
            Item::Aggregate(kind, 0) => kind.finish(Vec::new()),
            Item::Aggregate(kind, len) => {
                if open.len() >= MAX_FRAME_DEPTH {
                    return Err(error(buf, rest, "arrays nested too deep"));
                }
                // No capacity reserved: `len` is only announced, and elements
                // are counted as they arrive, so memory follows real bytes.
                open.push((kind, Vec::new(), len));
                continue;
            }
        };
        // Hand the finished frame to its parent; a parent that is now full
        // is itself a finished frame for the next level up.
        loop {
            let Some((kind, mut items, missing)) = open.pop() else {
                return Ok(Some((frame, buf.len() - rest.len())));
            };
            items.push(frame);
            if missing > 1 {
                open.push((kind, items, missing - 1));
                break;
            }
            frame = kind.finish(items);
        }
    }
}

/// Append `args` as a multibulk request (`*<n>\r\n` then `$<len>\r\n<arg>\r\n`
/// for each), the binary-safe form every client library sends.
pub fn encode_request(args: &[&[u8]], out: &mut BytesMut) {
    // 2 + 20 digits + CRLF is the most a header can take; reserving once
    // avoids regrowing the buffer while writing big pipelines.
    let needed = args.iter().fold(16usize, |acc, arg| {
        acc.saturating_add(arg.len()).saturating_add(16)
    });
    out.reserve(needed);
    out.put_u8(b'*');
    put_decimal(out, args.len());
    out.put_slice(b"\r\n");
    for arg in args {
        out.put_u8(b'$');
        put_decimal(out, arg.len());
        out.put_slice(b"\r\n");
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

fn put_decimal(out: &mut BytesMut, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // `n % 10` is a single digit, so the cast cannot truncate.
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[start..]);
}
