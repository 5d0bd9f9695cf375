//! Tests for the request parser, the reply parser and the encoder. Inputs and
//! expected outcomes come from Redis 7.0's networking.c and
//! tests/unit/protocol.tcl; each test names the Redis behaviour it pins down.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::frame::Frame;

fn cmd(buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
    match parse_request(buf) {
        Ok(Request::Command { args, consumed }) => {
            (args.iter().map(|a| a.to_vec()).collect(), consumed)
        }
        other => panic!(
            "expected a command from {:?}, got {other:?}",
            String::from_utf8_lossy(buf)
        ),
    }
}

fn args(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

fn err(buf: &[u8]) -> ProtocolError {
    match parse_request(buf) {
        Err(e) => e,
        other => panic!(
            "expected an error from {:?}, got {other:?}",
            String::from_utf8_lossy(buf)
        ),
    }
}

#[test]
fn error_texts_match_redis() {
    use ProtocolError::*;
    let cases = [
        (
            InvalidMultibulkLength,
            "ERR Protocol error: invalid multibulk length",
        ),
        (InvalidBulkLength, "ERR Protocol error: invalid bulk length"),
        (
            ExpectedDollar(b'x'),
            "ERR Protocol error: expected '$', got 'x'",
        ),
        (
            UnbalancedQuotes,
            "ERR Protocol error: unbalanced quotes in request",
        ),
        (TooBigInline, "ERR Protocol error: too big inline request"),
        (
            TooBigMbulkCount,
            "ERR Protocol error: too big mbulk count string",
        ),
        (
            TooBigBulkCount,
            "ERR Protocol error: too big bulk count string",
        ),
        // addReplyErrorFormat replaces CR/LF so the reply stays one line.
        (
            ExpectedDollar(b'\r'),
            "ERR Protocol error: expected '$', got ' '",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.message(), text);
        assert_eq!(error.to_string(), text);
        assert_eq!(error.message_bytes(), text.as_bytes());
    }
    // Redis sends the raw byte; only message_bytes can carry it.
    assert_eq!(
        ExpectedDollar(0xff).message_bytes(),
        b"ERR Protocol error: expected '$', got '\xff'"
    );
}

#[test]
fn multibulk_count_errors() {
    // From protocol.tcl "Out of range multibulk length" (7.0 allows up to INT_MAX).
    assert_eq!(
        err(b"*3000000000\r\n"),
        ProtocolError::InvalidMultibulkLength
    );
    assert_eq!(parse_request(b"*2147483647\r\n"), Ok(Request::Incomplete));
    assert_eq!(
        err(b"*2147483648\r\n"),
        ProtocolError::InvalidMultibulkLength
    );
    for bad in [
        &b"*abc\r\n"[..],
        b"*\r\n",
        b"*+1\r\n",
        b"*01\r\n",
        b"* 1\r\n",
        b"*1 \r\n",
        b"*-0\r\n",
    ] {
        assert_eq!(err(bad), ProtocolError::InvalidMultibulkLength, "{bad:?}");
    }
    // A '\n' without '\r' is not a line end for multibulk headers: the search
    // runs on to the next '\r' and the "number" then contains junk.
    assert_eq!(
        err(b"*1\n$4\r\nPING\r\n"),
        ProtocolError::InvalidMultibulkLength
    );
}

#[test]
fn bulk_header_errors() {
    // protocol.tcl "Wrong multibulk payload header" and friends.
    assert_eq!(
        err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
        ProtocolError::ExpectedDollar(b'f')
    );
    assert_eq!(err(b"*1\r\nfoo\r\n"), ProtocolError::ExpectedDollar(b'f'));
    assert_eq!(err(b"*1\r\n\r\n"), ProtocolError::ExpectedDollar(b'\r'));
    assert_eq!(
        err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n"),
        ProtocolError::InvalidBulkLength
    );
    assert_eq!(
        err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n"),
        ProtocolError::InvalidBulkLength
    );
    assert_eq!(
        err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n"),
        ProtocolError::InvalidBulkLength
    );
    assert_eq!(err(b"*1\r\n$\r\n"), ProtocolError::InvalidBulkLength);
    assert_eq!(
        err(b"*1\r\n$536870913\r\n"),
        ProtocolError::InvalidBulkLength
    );
    // Exactly proto-max-bulk-len is fine: wait for the payload.
    assert_eq!(
        parse_request(b"*1\r\n$536870912\r\nabc"),
        Ok(Request::Incomplete)
    );
}

#[test]
fn header_size_limits() {
    let limit = PROTO_INLINE_MAX_SIZE;
    // Count line: waits up to 64 KB without a '\r', then refuses.
    let mut count = b"*".to_vec();
    count.resize(limit, b'1');
    assert_eq!(parse_request(&count), Ok(Request::Incomplete));
    count.push(b'1');
    assert_eq!(err(&count), ProtocolError::TooBigMbulkCount);
    // Once the '\r' is there the line is judged on its value, however long.
    count.extend_from_slice(b"\r\n");
    assert_eq!(err(&count), ProtocolError::InvalidMultibulkLength);

    // Bulk length line: measured from where the argument starts.
    let mut bulk = b"*2\r\n$4\r\nECHO\r\n$".to_vec();
    let arg_start = 14;
    bulk.resize(arg_start + limit, b'1');
    assert_eq!(parse_request(&bulk), Ok(Request::Incomplete));
    bulk.push(b'1');
    assert_eq!(err(&bulk), ProtocolError::TooBigBulkCount);
    // The limit applies before the '$' is checked.
    let mut no_dollar = b"*1\r\n".to_vec();
    no_dollar.resize(70_000, b'X');
    assert_eq!(err(&no_dollar), ProtocolError::TooBigBulkCount);

    // Inline: same limit, own error.
    let mut inline = vec![b'a'; limit];
    assert_eq!(parse_request(&inline), Ok(Request::Incomplete));
    inline.push(b'a');
    assert_eq!(err(&inline), ProtocolError::TooBigInline);
}

#[test]
fn lone_cr_and_unchecked_trailer_are_accepted_like_redis() {
    // Redis finds '\r' and skips two bytes without looking at the second.
    assert_eq!(cmd(b"*1\rX$4\rYPING\r\n"), (args(&["PING"]), 14));
    // The two bytes after a payload are not checked either.
    assert_eq!(cmd(b"*1\r\n$3\r\nfooXY"), (args(&["foo"]), 13));
    // A '\r' as the very last byte: wait for the byte after it.
    assert_eq!(parse_request(b"*1\r"), Ok(Request::Incomplete));
    assert_eq!(parse_request(b"*1\r\n$3\r"), Ok(Request::Incomplete));
    assert_eq!(parse_request(b"*1\r\n$3\r\nfoo\r"), Ok(Request::Incomplete));
}

#[test]
fn nul_byte_hides_the_line_end_like_strchr() {
    assert_eq!(
        parse_request(b"*1\0\r\n$4\r\nPING\r\n"),
        Ok(Request::Incomplete)
    );
    assert_eq!(parse_request(b"PING\0\r\n"), Ok(Request::Incomplete));
    // protocol.tcl "Protocol desync regression test": these end in errors.
    for (start, expected) in [
        (&b"\x00"[..], ProtocolError::TooBigInline),
        (b"*\x00", ProtocolError::TooBigMbulkCount),
        (b"$\x00", ProtocolError::TooBigInline),
    ] {
        let mut buf = start.to_vec();
        while buf.len() <= PROTO_INLINE_MAX_SIZE {
            buf.extend_from_slice(&[b'A'; 1024]);
            buf.push(b'\n');
        }
        assert_eq!(err(&buf), expected);
    }
    // NULs inside a bulk payload are just data.
    assert_eq!(cmd(b"*1\r\n$3\r\na\0b\r\n"), (vec![b"a\0b".to_vec()], 13));
}

#[test]
fn empty_requests_are_skipped() {
    let skip = |buf: &[u8]| parse_request(buf);
    assert_eq!(skip(b"\r\n"), Ok(Request::Skip { consumed: 2 }));
    assert_eq!(skip(b"\n"), Ok(Request::Skip { consumed: 1 }));
    assert_eq!(skip(b" \t \r\nPING\r\n"), Ok(Request::Skip { consumed: 5 }));
    assert_eq!(skip(b"*0\r\n"), Ok(Request::Skip { consumed: 4 }));
    assert_eq!(skip(b"*-1\r\n"), Ok(Request::Skip { consumed: 5 }));
    assert_eq!(skip(b"*-10\r\n*1\r\n"), Ok(Request::Skip { consumed: 6 }));
    assert_eq!(skip(b""), Ok(Request::Incomplete));
    assert_eq!(skip(b"*"), Ok(Request::Incomplete));
}

#[test]
fn inline_commands_split_like_sdssplitargs() {
    let cases: &[(&[u8], &[&[u8]])] = &[
        (b"PING\r\n", &[b"PING"]),
        (b"PING\n", &[b"PING"]),
        (b"  set  k\tv  \r\n", &[b"set", b"k", b"v"]),
        // Only one '\r' is stripped; the other ends the word like a blank.
        (b"PING\r\r\n", &[b"PING"]),
        (
            b"SET k \"hello world\"\r\n",
            &[b"SET", b"k", b"hello world"],
        ),
        (
            b"ECHO \"a\\n\\r\\t\\b\\a\\\\\\\"\"\r\n",
            &[b"ECHO", b"a\n\r\t\x08\x07\\\""],
        ),
        (b"ECHO \"\\x41\\x6a\\xZZ\\x4\"\r\n", &[b"ECHO", b"AjxZZx4"]),
        (b"ECHO \"\\q\"\r\n", &[b"ECHO", b"q"]),
        (b"ECHO 'it\\'s' '\\n'\r\n", &[b"ECHO", b"it's", b"\\n"]),
        (b"ECHO \"\" ''\r\n", &[b"ECHO", b"", b""]),
        // Quotes may open mid-word.
        (b"ECHO ab\"c d\"\r\n", &[b"ECHO", b"abc d"]),
        (b"ECHO a'b c'\r\n", &[b"ECHO", b"ab c"]),
        // \v and \f separate words only as leading blanks, not inside a word.
        (b"ECHO a\x0bb\r\n", &[b"ECHO", b"a\x0bb"]),
        (b"ECHO \x0b\x0cb\r\n", &[b"ECHO", b"b"]),
        // A closing quote may be followed by \v (isspace), then the next word.
        (b"ECHO \"a\"\x0bb\r\n", &[b"ECHO", b"a", b"b"]),
        (b"ECHO \xc3\xa9\r\n", &[b"ECHO", "é".as_bytes()]),
    ];
    for (line, expected) in cases {
        let expected: Vec<Vec<u8>> = expected.iter().map(|a| a.to_vec()).collect();
        assert_eq!(
            cmd(line),
            (expected, line.len()),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn inline_quote_errors() {
    for bad in [
        &b"set \"\"\"test-key\"\"\" test-value\r\n"[..], // from protocol.tcl
        b"ECHO \"abc\r\n",
        b"ECHO 'abc\r\n",
        b"ECHO \"a\"b\r\n",
        b"ECHO 'a'b\r\n",
        b"ECHO \"abc\\\"\r\n",
        b"ECHO \"abc\\\r\n",
    ] {
        assert_eq!(
            err(bad),
            ProtocolError::UnbalancedQuotes,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn split_args_directly() {
    let split = |s: &[u8]| split_args(s).map(|v| v.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
    assert_eq!(split(b""), Some(vec![]));
    assert_eq!(split(b" \t\r\n"), Some(vec![]));
    assert_eq!(split(b"a b"), Some(args(&["a", "b"])));
    // The line is a C string: it ends at a NUL.
    assert_eq!(split(b"a b\0c d"), Some(args(&["a", "b"])));
    assert_eq!(split(b"\"a\0\""), None);
}

/// A session mixing every request shape: multibulk (binary payload with
/// CRLF inside), inline with quotes, and skipped empties.
fn session() -> (Vec<u8>, Vec<Vec<Vec<u8>>>) {
    let mut wire = BytesMut::new();
    encode_request(&[b"SET", b"key", b"va\r\nl\0ue"], &mut wire);
    wire.extend_from_slice(b"*0\r\n\r\nPING\r\n");
    encode_request(&[b"MGET", b"a", b"", b"c"], &mut wire);
    wire.extend_from_slice(b"*-1\r\nECHO \"x y\" 'z'\n   \n");
    encode_request(&[b"DEL", b"k"], &mut wire);
    let expected = vec![
        vec![b"SET".to_vec(), b"key".to_vec(), b"va\r\nl\0ue".to_vec()],
        args(&["PING"]),
        args(&["MGET", "a", "", "c"]),
        args(&["ECHO", "x y", "z"]),
        args(&["DEL", "k"]),
    ];
    (wire.to_vec(), expected)
}

/// Feed `chunks` one after another the way a connection would, parsing as
/// far as possible after each, and return the commands seen.
fn drive<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Vec<Vec<u8>>> {
    let mut pending = Vec::new();
    let mut seen = Vec::new();
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        loop {
            match parse_request(&pending) {
                Ok(Request::Command { args, consumed }) => {
                    assert!(consumed > 0 && consumed <= pending.len());
                    seen.push(args.iter().map(|a| a.to_vec()).collect());
                    pending.drain(..consumed);
                }
                Ok(Request::Skip { consumed }) => {
                    assert!(consumed > 0 && consumed <= pending.len());
                    pending.drain(..consumed);
                }
                Ok(Request::Incomplete) => break,
                Err(e) => panic!("unexpected {e}"),
            }
        }
    }
    assert!(pending.is_empty(), "left over: {pending:?}");
    seen
}

#[test]
fn pipelined_buffer_parses_in_order() {
    let (wire, expected) = session();
    assert_eq!(drive([wire.as_slice()]), expected);
}

#[test]
fn every_split_point_gives_the_same_commands() {
    let (wire, expected) = session();
    for cut in 0..=wire.len() {
        let (a, b) = wire.split_at(cut);
        assert_eq!(drive([a, b]), expected, "split at {cut}");
    }
    assert_eq!(drive(wire.chunks(1)), expected, "byte by byte");
}

#[test]
fn announced_sizes_do_not_allocate() {
    // Each of these would need gigabytes if sizes were trusted; they must
    // simply wait. (They also return at once: the test would crawl or abort
    // if a reservation of the announced size were attempted.)
    assert_eq!(
        parse_request(b"*2147483647\r\n$3\r\nfoo\r\n"),
        Ok(Request::Incomplete)
    );
    assert_eq!(
        parse_request(b"*1\r\n$536870912\r\nabc"),
        Ok(Request::Incomplete)
    );
    assert_eq!(
        parse_request(b"*1000000\r\n$1\r\na\r\n$1\r\nb\r\n"),
        Ok(Request::Incomplete)
    );
    // A complete command still gets exactly its arguments.
    let Ok(Request::Command { args, .. }) = parse_request(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n") else {
        panic!("expected a command");
    };
    assert_eq!(
        args,
        vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
    );
    assert!(args.capacity() <= 1024);
}

#[test]
fn string2ll_is_as_strict_as_redis() {
    assert_eq!(string2ll(b"0"), Some(0));
    assert_eq!(string2ll(b"-1"), Some(-1));
    assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"00",
        b"01",
        b"+1",
        b" 1",
        b"1 ",
        b"1a",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"99999999999999999999",
    ] {
        assert_eq!(string2ll(bad), None, "{bad:?}");
    }
}

fn sample_frames() -> Vec<Frame> {
    vec![
        Frame::ok(),
        Frame::static_error("ERR unknown command 'foo'"),
        Frame::Integer(0),
        Frame::Integer(-42),
        Frame::Integer(i64::MIN),
        Frame::Integer(i64::MAX),
        Frame::bulk(b""),
        Frame::bulk(b"bin\r\nary\0"),
        Frame::Null,
        Frame::NullArray,
        Frame::Array(vec![]),
        Frame::Array(vec![
            Frame::Integer(1),
            Frame::Null,
            Frame::Array(vec![
                Frame::bulk(b"x"),
                Frame::Array(vec![Frame::NullArray, Frame::Array(vec![])]),
            ]),
            Frame::static_error(
                "WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            Frame::simple("PONG"),
        ]),
    ]
}

#[test]
fn parse_frame_round_trips_encode() {
    for frame in sample_frames() {
        let mut wire = frame.to_bytes().to_vec();
        let len = wire.len();
        assert_eq!(parse_frame(&wire), Ok(Some((frame.clone(), len))));
        // Every strict prefix is incomplete, never an error.
        for cut in 0..len {
            assert_eq!(
                parse_frame(&wire[..cut]),
                Ok(None),
                "{frame:?} cut at {cut}"
            );
        }
        // Bytes after the frame are left alone.
        wire.extend_from_slice(b"+NEXT\r\n");
        assert_eq!(parse_frame(&wire), Ok(Some((frame, len))));
    }
}

#[test]
fn parse_frame_reads_a_stream_of_replies() {
    let mut wire = BytesMut::new();
    for frame in sample_frames() {
        frame.encode(&mut wire);
    }
    let mut rest = &wire[..];
    let mut seen = Vec::new();
    while let Ok(Some((frame, used))) = parse_frame(rest) {
        seen.push(frame);
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
    assert_eq!(seen, sample_frames());
}

#[test]
fn parse_frame_rejects_malformed_replies() {
    for bad in [
        &b"?\r\n"[..],
        b":abc\r\n",
        b":01\r\n",
        b"$-2\r\n",
        b"*-2\r\n",
        b"$3\r\nfooXY",
        b"$x\r\n",
        b"*1\r\n!\r\n",
    ] {
        assert!(
            parse_frame(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // An unknown type byte is an error at once, without waiting for a line.
    assert!(parse_frame(b"?").is_err());
    // Announced sizes do not allocate: these just wait.
    assert_eq!(parse_frame(b"$9223372036854775807\r\nabc"), Ok(None));
    assert_eq!(parse_frame(b"*9223372036854775807\r\n:1\r\n"), Ok(None));
}

#[test]
fn parse_frame_limits_nesting_without_recursion() {
    let deep = |levels: usize| {
        let mut wire = b"*1\r\n".repeat(levels);
        wire.extend_from_slice(b":1\r\n");
        wire
    };
    let ok = deep(MAX_FRAME_DEPTH);
    assert!(matches!(parse_frame(&ok), Ok(Some((_, used))) if used == ok.len()));
    assert!(parse_frame(&deep(MAX_FRAME_DEPTH + 1)).is_err());
    // Far deeper input errors out instead of overflowing anything.
    assert!(parse_frame(&deep(1_000_000)).is_err());
}

#[test]
fn encode_request_is_a_multibulk_of_bulks() {
    let parts: [&[u8]; 3] = [b"SET", b"k", b"a\r\nb"];
    let mut out = BytesMut::new();
    encode_request(&parts, &mut out);
    assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
    let as_frame = Frame::Array(parts.iter().map(|p| Frame::bulk(p)).collect());
    assert_eq!(out.freeze(), as_frame.to_bytes());
    let mut empty = BytesMut::new();
    encode_request(&[], &mut empty);
    assert_eq!(&empty[..], b"*0\r\n");
}
