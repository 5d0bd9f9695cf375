//! Bytes on the wire: writing a command in Redis's inline form, and serving
//! a buffer of requests through core's connection pipeline, as the server
//! does.

use bytes::{Bytes, BytesMut};
use myongoredis_core::exec::Executed;
use myongoredis_core::{CaptureSink, Executor, Flow, Outcome, Pipeline, Session, Shell, Step};

use crate::command::cli_quote;

/// How one argument of an inline command is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Quoting {
    /// As is, when it is plain text (`SET`, `key:1`).
    Bare,
    /// `"..."` with `\n`, `\xHH`, ... escapes: works for any bytes.
    Double,
    /// `'...'`: literal bytes, for printable text without `'` or `\`.
    Single,
}

/// Can `arg` be written with `quoting` so Redis reads it back unchanged?
fn fits(arg: &[u8], quoting: Quoting) -> bool {
    match quoting {
        // Bare arguments end at blanks and may not contain quotes; `*` at
        // the start of a line would make it a multibulk.
        Quoting::Bare => {
            !arg.is_empty()
                && arg
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b":_.-+{}".contains(&b))
        }
        Quoting::Double => true,
        // Inside single quotes `\'` is the only escape, so a backslash
        // followed by a quote could not be written; keep it simple.
        Quoting::Single => arg
            .iter()
            .all(|&b| (b == b' ' || b.is_ascii_graphic()) && b != b'\'' && b != b'\\'),
    }
}

/// `args` as one inline command line, each argument quoted as `quoting`
/// asks where that works (double quotes otherwise), separated by
/// `separator` (spaces or tabs), ended by `\r\n` or, if `bare_newline`,
/// by `\n` alone (as `nc` sends).
pub fn inline_request(
    args: &[Vec<u8>],
    quoting: &[Quoting],
    separator: &str,
    bare_newline: bool,
) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            line.extend_from_slice(separator.as_bytes());
        }
        let wanted = quoting.get(i).copied().unwrap_or(Quoting::Double);
        match if fits(arg, wanted) {
            wanted
        } else {
            Quoting::Double
        } {
            Quoting::Bare => line.extend_from_slice(arg),
            Quoting::Single => {
                line.push(b'\'');
                line.extend_from_slice(arg);
                line.push(b'\'');
            }
            Quoting::Double => {
                // cli_quote leaves plain text bare; force the quotes.
                let quoted = cli_quote(arg);
                if quoted.starts_with('"') {
                    line.extend_from_slice(quoted.as_bytes());
                } else {
                    line.push(b'"');
                    line.extend_from_slice(arg);
                    line.push(b'"');
                }
            }
        }
    }
    line.extend_from_slice(if bare_newline { b"\n" } else { b"\r\n" });
    line
}

/// What [`serve`] did with a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// Bytes consumed from the input.
    pub consumed: usize,
    /// Commands executed.
    pub commands: usize,
    /// The connection would be closed now (protocol error or QUIT).
    pub closed: bool,
}

/// Largest SETRANGE / SETBIT offset [`small_memory`] lets through: 1 MiB.
pub const MAX_FUZZ_OFFSET: i64 = 1 << 20;

/// Does this command stay within a fuzzing memory budget?
///
/// Like Redis, the server lets one command grow a string to 512 MB
/// (`proto-max-bulk-len`): `SETRANGE k 536870911 x` is 24 bytes of input
/// and half a gigabyte of zeroes, and a few of them exceed libFuzzer's
/// memory limit. That is the documented limit, not a bug, so the `execute`
/// fuzz target skips SETRANGE and SETBIT with offsets past
/// [`MAX_FUZZ_OFFSET`] (everything below, the limit checks included, is
/// still fuzzed; the unit tests cover the 512 MB edge).
pub fn small_memory(args: &[Bytes]) -> bool {
    let name = args.first().map(|n| n.to_ascii_lowercase());
    // A negative count draws that many members, repeats allowed: a
    // billion of them is a documented way to exhaust memory.
    if matches!(
        name.as_deref(),
        Some(b"srandmember" | b"hrandfield" | b"zrandmember")
    ) {
        return args.get(2).is_none_or(|n| {
            std::str::from_utf8(n)
                .ok()
                .and_then(|n| n.parse::<i128>().ok())
                .is_none_or(|n| n.abs() <= i128::from(MAX_FUZZ_OFFSET))
        });
    }
    if name.as_deref() == Some(b"bitfield") {
        // SET and INCRBY grow the string to the field's offset, which may
        // be `#N` (N times the width): refuse any big number at all.
        return args[1..].iter().all(|a| {
            let digits = a.strip_prefix(b"#").unwrap_or(a);
            std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<i128>().ok())
                .is_none_or(|n| n.abs() <= i128::from(MAX_FUZZ_OFFSET))
        });
    }
    let offset = match name.as_deref() {
        Some(b"setrange") => args.get(2),
        Some(b"setbit") => args.get(2),
        _ => return true,
    };
    let offset = offset
        .and_then(|o| std::str::from_utf8(o).ok())
        .and_then(|o| o.parse::<i64>().ok());
    let limit = if name.as_deref() == Some(b"setbit") {
        MAX_FUZZ_OFFSET * 8
    } else {
        MAX_FUZZ_OFFSET
    };
    offset.is_none_or(|o| o <= limit)
}

/// Serve `input` as a connection's read buffer, through the server's own
/// [`Pipeline`]: parse and execute requests until the buffer runs out (an
/// incomplete request stays unconsumed), a protocol error (its `-ERR
/// Protocol error` reply is written and the connection closes, as Redis
/// does), a QUIT or SHUTDOWN, or `max_commands` requests. Replies are
/// appended to `out`. The clock moves on by one millisecond per executed
/// command, so expiry is exercised too. Commands for which `allow` is
/// false are consumed but not executed (and get no reply).
pub fn serve(
    exec: &Executor,
    session: &mut Session,
    input: &[u8],
    mut now_us: u64,
    max_commands: usize,
    allow: impl Fn(&[Bytes]) -> bool,
    out: &mut BytesMut,
) -> Served {
    let mut pipeline = Pipeline::new(session.clone(), CaptureSink::Off);
    pipeline.feed(input);
    let mut shell = Allow(allow);
    let mut served = Served {
        consumed: 0,
        commands: 0,
        closed: false,
    };
    let mut requests = 0;
    while requests < max_commands {
        match pipeline.run_next(exec, now_us, out, &mut shell) {
            Step::Incomplete | Step::Held => break,
            Step::Done { flow, executed } => {
                requests += 1;
                if executed {
                    served.commands += 1;
                    now_us += 1000;
                }
                if flow != Flow::Continue {
                    served.closed = true;
                    break;
                }
            }
        }
    }
    served.consumed = pipeline.consumed();
    *session = pipeline.into_session();
    served
}

/// A shell that runs only the commands its filter allows.
struct Allow<F>(F);

impl<F: Fn(&[Bytes]) -> bool> Shell for Allow<F> {
    fn command(&mut self, args: &[Bytes], run: &mut dyn FnMut() -> Executed) -> Outcome {
        if (self.0)(args) {
            Outcome::Ran(run())
        } else {
            Outcome::Declined
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn small_memory_stops_only_big_offsets() {
        assert!(!small_memory(&args(&["SETRANGE", "k", "536870911", "x"])));
        assert!(small_memory(&args(&["setrange", "k", "1048576", "x"])));
        assert!(!small_memory(&args(&["setbit", "k", "8388609", "1"])));
        assert!(small_memory(&args(&["SETBIT", "k", "8388608", "1"])));
        // Not a number: the command's own error, no allocation.
        assert!(small_memory(&args(&["SETRANGE", "k", "x", "y"])));
        assert!(small_memory(&args(&["GET", "k"])));
        assert!(!small_memory(&args(&[
            "BITFIELD",
            "k",
            "SET",
            "u8",
            "#4294967295",
            "1"
        ])));
        assert!(small_memory(&args(&[
            "bitfield", "k", "SET", "u8", "8", "200"
        ])));
        assert!(!small_memory(&args(&["SRANDMEMBER", "s", "-1000000000"])));
        assert!(small_memory(&args(&[
            "HRANDFIELD",
            "h",
            "-5",
            "WITHVALUES"
        ])));
    }

    #[test]
    fn inline_lines_quote_what_needs_it() {
        let args = vec![b"SET".to_vec(), b"sp ace".to_vec(), b"it's".to_vec()];
        let quoting = [Quoting::Bare, Quoting::Single, Quoting::Single];
        assert_eq!(
            inline_request(&args, &quoting, " ", false),
            b"SET 'sp ace' \"it's\"\r\n"
        );
    }
}
