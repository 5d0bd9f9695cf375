//! Inline commands: the human-typable request form (`PING\r\n`,
//! `SET k "a b"\n`), as Redis 7.0's `processInlineBuffer` and
//! `sdssplitargs` handle it.
//!
//! The splitting rules are not shell rules, and not quite what the Redis
//! docs suggest, so they are ported byte for byte from src/sds.c; the
//! surprising spots are commented where they occur.

use bytes::Bytes;
use nom::bytes::streaming::take_till;
use nom::IResult;

use super::{ProtocolError, Request, PROTO_INLINE_MAX_SIZE};

/// Parse one inline command from the start of `buf`.
pub(super) fn parse_inline(buf: &[u8]) -> Result<Request, ProtocolError> {
    // Redis finds the line end with `strchr(buf, '\n')`, which also stops at
    // a NUL byte: a NUL before the newline means "no line yet", and the
    // connection waits until the 64 KB limit turns it into an error. (The
    // Redis test suite relies on this: it sends "\x00" and expects a
    // protocol error eventually.)
    let found: IResult<&[u8], &[u8], ()> = take_till(|b| b == b'\n' || b == 0)(buf);
    let line = match found {
        Ok((rest, line)) if rest.first() == Some(&b'\n') => line,
        _ if buf.len() > PROTO_INLINE_MAX_SIZE => return Err(ProtocolError::TooBigInline),
        _ => return Ok(Request::Incomplete),
    };
    // The line, plus its '\n'.
    let consumed = line.len() + 1;
    // "\r\n" and a bare "\n" both end a line; only one '\r' is removed.
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let args = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
    if args.is_empty() {
        // An empty or all-blank line: Redis resets the client and moves on.
        // (Replicas use a bare newline as a keep-alive.)
        Ok(Request::Skip { consumed })
    } else {
        Ok(Request::Command { args, consumed })
    }
}

/// `isspace()` in the C locale, which Redis never changes for character
/// classes: space, \t, \n, \v, \f, \r. Bytes >= 0x80 are not spaces.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte written as two hex digits after `\x`, if both are hex digits
/// (otherwise Redis treats `\x` as an escaped `x`).
fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    Some(hex_value(hi)? * 16 + hex_value(lo)?)
}

/// Split a line into arguments exactly like Redis's `sdssplitargs`, or
/// `None` where Redis reports an error (which becomes "unbalanced quotes").
///
/// * Arguments are separated by runs of blanks: space, \t, \n, \r, \v, \f.
///   But *inside* an unquoted argument only space, \t, \n and \r end it:
///   `a\vb` is one argument, while ` \va` is just `a`.
/// * `"double quotes"` understand `\n \r \t \b \a`, `\xHH` (two hex digits)
///   and `\<any other byte>` meaning that byte (so `\"` and `\\`).
/// * `'single quotes'` understand only `\'`; everything else is literal.
/// * A quote may open in the middle of an argument (`ab"c d"` is `abc d`),
///   but a closing quote must be followed by a blank or the end of the
///   line: `"a"b` is an error, as is a quote left open.
///
/// C strings end at the first NUL, so does the line here. (Inline requests
/// never contain one: a NUL stops the search for the line end first.)
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    // The C code reads one or two bytes past the current one and relies on
    // the terminating NUL there; `at` gives the same answer without reading
    // out of bounds.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);

    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while is_c_space(at(p)) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if in_double {
                let hex_escape = if c == b'\\' && at(p + 1) == b'x' {
                    hex_pair(at(p + 2), at(p + 3))
                } else {
                    None
                };
                if let Some(byte) = hex_escape {
                    current.push(byte);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    // The line ended inside the quotes.
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    // Deliberately not \v or \f: see the doc comment.
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            // Step past the byte just handled (the last byte of an escape,
            // or the closing quote), unless the line has ended.
            if at(p) != 0 {
                p += 1;
            }
        }
        args.push(Bytes::from(current));
    }
}
