//! Every error reply text, in one place, exactly as Redis 7.0 words it.
//!
//! Clients and test suites match on these strings, so they are data, not
//! prose: change one only to follow Redis.

use crate::frame::Frame;

pub const SYNTAX: &str = "ERR syntax error";
/// A user name or password that does not open (AUTH, HELLO AUTH).
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
/// Any command but AUTH, HELLO, QUIT, RESET before the client
/// authenticated, when a password is set.
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// `getIntFromObjectOrReply` without a custom message: an integer that
/// does not fit in a C `int`.
pub const NOT_AN_INT: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
/// DECRBY with i64::MIN, whose negation does not exist (Redis 7.0+).
pub const DECREMENT_OVERFLOW: &str = "ERR decrement would overflow";
pub const NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const DB_INDEX_OUT_OF_RANGE: &str = "ERR DB index is out of range";
/// MOVE to the selected database, COPY of a key onto itself
/// (`shared.sameobjecterr`).
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const NOT_INTEGER_OR_RANGE_TIMEOUT: &str = "ERR timeout is not an integer or out of range";
/// EXPIRE & co: NX cannot be combined with XX, GT or LT.
pub const EXPIRE_NX_AND_OTHERS: &str =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
/// EXPIRE & co: GT and LT together.
pub const EXPIRE_GT_AND_LT: &str = "ERR GT and LT options at the same time are not compatible";
/// COMMAND GETKEYS: the named command does not exist.
pub const GETKEYS_INVALID_COMMAND: &str = "ERR Invalid command specified";
/// COMMAND GETKEYS: the named command never has keys.
pub const GETKEYS_NO_KEYS: &str = "ERR The command has no key arguments";
/// COMMAND GETKEYS: the arguments break the named command's arity.
pub const GETKEYS_ARITY: &str = "ERR Invalid number of arguments specified for command";
/// COMMAND GETKEYS: the key specs cannot read these arguments.
pub const GETKEYS_INVALID_ARGS: &str = "ERR Invalid arguments specified for command";

/// `ERR wrong number of arguments for 'get' command`; `name` is the
/// command's full lowercase name (`config|get` for a subcommand).
pub fn wrong_arity(name: &str) -> Frame {
    Frame::error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// A command touched a key whose lock it does not hold: a bug in its
/// command-table row (its key specs miss a key). Not a Redis error; worded
/// like Redis's own internal errors so a client sees it is not its fault.
pub fn key_outside_lock_plan(lock: u32) -> Frame {
    Frame::error(format!(
        "ERR internal error: the command touched a key whose lock ({lock}) is not in its lock plan"
    ))
}

/// `ERR invalid expire time in 'set' command`.
pub fn invalid_expire(name: &str) -> Frame {
    Frame::error(format!("ERR invalid expire time in '{name}' command"))
}

/// `ERR Unsupported option foo` (EXPIRE & co). Redis formats the option
/// with `%s`, so it ends at the first NUL byte; CR/LF become spaces.
pub fn unsupported_option(opt: &[u8]) -> Frame {
    let opt = opt.split(|&b| b == 0).next().unwrap_or_default();
    let mut line = b"ERR Unsupported option ".to_vec();
    line.extend_from_slice(opt);
    error_line(line)
}

/// `ERR unknown subcommand 'foo'. Try CONFIG HELP.`
pub fn unknown_subcommand(sub: &[u8], container: &str) -> Frame {
    let mut line = b"ERR unknown subcommand '".to_vec();
    line.extend_from_slice(&sub[..sub.len().min(128)]);
    line.extend_from_slice(b"'. Try ");
    line.extend_from_slice(container.to_ascii_uppercase().as_bytes());
    line.extend_from_slice(b" HELP.");
    error_line(line)
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `, built
/// byte for byte as Redis's `processCommand` does: the name cut to 128
/// bytes; each argument quoted and followed by a space while the list is
/// shorter than 128 bytes, each cut to what is left of those 128.
pub fn unknown_command(args: &[bytes::Bytes]) -> Frame {
    let mut list = Vec::new();
    for arg in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(&arg[..arg.len().min(room)]);
        list.extend_from_slice(b"' ");
    }
    let name = &args[0][..args[0].len().min(128)];
    let mut line = b"ERR unknown command '".to_vec();
    line.extend_from_slice(name);
    line.extend_from_slice(b"', with args beginning with: ");
    line.extend_from_slice(&list);
    error_line(line)
}

/// An error reply is one line: Redis maps `\r` and `\n` in it to spaces.
fn error_line(mut line: Vec<u8>) -> Frame {
    for b in line.iter_mut() {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    Frame::Error(line.into())
}

// The bit, BITFIELD and LCS commands (`bitops.c`, `t_string.c`).

/// BITPOS: the bit looked for is neither 0 nor 1.
pub const BIT_ARGUMENT: &str = "ERR The bit argument must be 1 or 0.";
/// BITOP NOT with more than one source.
pub const BITOP_NOT_SINGLE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";
/// BITFIELD: a type that is not `iN` (1..64) or `uN` (1..63).
pub const BITFIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
/// BITFIELD: OVERFLOW followed by something else than WRAP, SAT, FAIL.
pub const BITFIELD_OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
/// BITFIELD_RO given SET or INCRBY.
pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";
/// LCS of a key that holds another type (LCS does not use WRONGTYPE).
pub const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
/// LCS with both LEN and IDX.
pub const LCS_LEN_AND_IDX: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
/// LCS of a string whose length does not fit its 32-bit table cells.
pub const LCS_TOO_LONG: &str = "ERR String too long for LCS";
/// LCS whose table would be larger than proto-max-bulk-len.
pub const LCS_TABLE_TOO_LARGE: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
/// LCS whose table could not be allocated.
pub const LCS_ALLOCATION_FAILED: &str =
    "ERR Insufficient memory, failed allocating transient memory for LCS";

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn unknown_command_text_matches_redis() {
        assert_eq!(
            unknown_command(&args(&["FOO", "a", "b"])),
            Frame::static_error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
        );
        assert_eq!(
            unknown_command(&args(&["x\r\ny"])),
            Frame::static_error("ERR unknown command 'x  y', with args beginning with: ")
        );
        let long = "z".repeat(300);
        let Frame::Error(line) = unknown_command(&args(&["f", &long, "next"])) else {
            unreachable!()
        };
        // One argument cut to 128 bytes fills the list; "next" is not shown.
        assert!(line.ends_with(format!("'{}' ", "z".repeat(128)).as_bytes()));
    }

    #[test]
    fn unknown_subcommand_text_matches_redis() {
        assert_eq!(
            unknown_subcommand(b"nope", "config"),
            Frame::static_error("ERR unknown subcommand 'nope'. Try CONFIG HELP.")
        );
    }
}
