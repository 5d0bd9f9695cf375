//! Properties of the RESP parser: round trips, arbitrary read boundaries,
//! arbitrary bytes. See the crate docs for what they guarantee.

use bytes::{Bytes, BytesMut};
use myongoredis_core::resp::{encode_request, parse_frame, parse_request, ProtocolError, Request};
use myongoredis_core::{Frame, Protocol};
use myongoredis_proptests::strategy::cases;
use myongoredis_proptests::wire::{inline_request, Quoting};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Bytes for a simple string or error line: anything but CR and LF.
fn line_bytes() -> impl Strategy<Value = Bytes> {
    vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..16,
    )
    .prop_map(Bytes::from)
}

fn payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        vec(any::<u8>(), 0..24),
        // Payloads that look like protocol, to confuse a lax length check.
        prop::sample::select(vec![
            &b"\r\n"[..],
            b"$-1\r\n",
            b"*1\r\n:1\r\n",
            b"\r",
            b"\n"
        ])
        .prop_map(|s| s.to_vec()),
    ]
    .prop_map(Bytes::from)
}

/// Any RESP2 frame, arrays nested up to 4 levels.
fn frame() -> impl Strategy<Value = Frame> {
    let leaf = prop_oneof![
        line_bytes().prop_map(Frame::Simple),
        line_bytes().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        payload().prop_map(Frame::Bulk),
        Just(Frame::Null),
        Just(Frame::NullArray),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| vec(inner, 0..6).prop_map(Frame::Array))
}

fn args() -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(
        prop_oneof![
            vec(any::<u8>(), 0..12),
            prop::sample::select(vec![
                &b"SET"[..],
                b"GET",
                b"key",
                b"*1",
                b"$3",
                b"\r\n",
                b""
            ])
            .prop_map(|s| s.to_vec()),
        ],
        1..6,
    )
}

/// The bytes of a strict prefix of an encoding never parse as anything but
/// "incomplete".
fn assert_prefixes_incomplete(bytes: &[u8]) -> Result<(), TestCaseError> {
    for end in 0..bytes.len() {
        prop_assert_eq!(
            parse_frame(&bytes[..end]),
            Ok(None),
            "prefix of {} bytes",
            end
        );
    }
    Ok(())
}

/// What parsing one request yields: its arguments, or `None` for a skip.
type Parsed = Option<Vec<Vec<u8>>>;

/// One request in a pipelined buffer, and what parsing it must yield.
#[derive(Clone, Debug)]
enum Piece {
    Multibulk(Vec<Vec<u8>>),
    Inline(Vec<Vec<u8>>, Vec<Quoting>, &'static str, bool),
    /// An empty or blank line, `*0` or `*-1`: consumed, no command.
    Skipped(&'static [u8]),
}

impl Piece {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Piece::Multibulk(args) => {
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                let mut out = BytesMut::new();
                encode_request(&refs, &mut out);
                out.to_vec()
            }
            Piece::Inline(args, quoting, sep, bare_nl) => {
                inline_request(args, quoting, sep, *bare_nl)
            }
            Piece::Skipped(b) => b.to_vec(),
        }
    }

    fn expected(&self) -> Parsed {
        match self {
            Piece::Multibulk(args) | Piece::Inline(args, ..) => Some(args.clone()),
            Piece::Skipped(_) => None,
        }
    }
}

fn quoting() -> impl Strategy<Value = Quoting> {
    prop::sample::select(vec![Quoting::Bare, Quoting::Double, Quoting::Single])
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => args().prop_map(Piece::Multibulk),
        3 => (args(), vec(quoting(), 6), prop::sample::select(vec![" ", "  ", "\t", " \t "]), any::<bool>())
            .prop_map(|(a, q, s, nl)| Piece::Inline(a, q, s, nl)),
        1 => prop::sample::select(vec![&b"\r\n"[..], b"\n", b"   \r\n", b"*0\r\n", b"*-1\r\n"])
            .prop_map(Piece::Skipped),
    ]
}

/// Feed `chunks` one read at a time, parsing as a connection does after
/// each read. Returns the commands (`None` for a skip) and what is left.
fn parse_in_reads(chunks: &[&[u8]]) -> Result<(Vec<Parsed>, Vec<u8>), ProtocolError> {
    let mut pending: Vec<u8> = Vec::new();
    let mut seen = Vec::new();
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        loop {
            match parse_request(&pending)? {
                Request::Command { args, consumed } => {
                    seen.push(Some(args.iter().map(|a| a.to_vec()).collect()));
                    pending.drain(..consumed);
                }
                Request::Skip { consumed } => {
                    seen.push(None);
                    pending.drain(..consumed);
                }
                Request::Incomplete => break,
            }
        }
    }
    Ok((seen, pending))
}

/// Inputs likely to reach the parser's corners: protocol fragments glued
/// together, or plain random bytes.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop::sample::select(vec![
        &b"*"[..],
        b"$",
        b"\r\n",
        b"\r",
        b"\n",
        b"\0",
        b"1",
        b"2",
        b"0",
        b"-1",
        b"-",
        b"3",
        b"99999999999999999999",
        b"2147483648",
        b"536870913",
        b"abc",
        b" ",
        b"\"",
        b"'",
        b"\\x4",
        b"\\",
        b"+",
        b":",
        b"*1\r\n$3\r\nfoo\r\n",
        b"PING\r\n",
    ]);
    prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(fragment, 0..24).prop_map(|parts| parts.concat()),
    ]
}

fn is_size_limit(e: &ProtocolError) -> bool {
    matches!(
        e,
        ProtocolError::TooBigInline
            | ProtocolError::TooBigMbulkCount
            | ProtocolError::TooBigBulkCount
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(10_000)))]

    /// parse ∘ encode = id on frames, and encode ∘ parse = id on their
    /// bytes; prefixes are incomplete; trailing bytes are left alone.
    #[test]
    fn frames_round_trip(f in frame(), trailing in vec(any::<u8>(), 0..8)) {
        let bytes = f.to_bytes();
        prop_assert_eq!(parse_frame(&bytes), Ok(Some((f.clone(), bytes.len()))));
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&trailing);
        let (again, used) = parse_frame(&longer).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(again.to_bytes(), bytes.clone());
        assert_prefixes_incomplete(&bytes)?;
    }

    /// A multibulk request parses back to its arguments, using exactly its
    /// bytes; every prefix asks for more.
    #[test]
    fn requests_round_trip(args in args()) {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let mut out = BytesMut::new();
        encode_request(&refs, &mut out);
        let parsed = parse_request(&out).unwrap();
        let Request::Command { args: got, consumed } = parsed else {
            return Err(TestCaseError::fail(format!("not a command: {parsed:?}")));
        };
        prop_assert_eq!(consumed, out.len());
        prop_assert_eq!(got.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), args);
        for end in 0..out.len() {
            prop_assert_eq!(parse_request(&out[..end]), Ok(Request::Incomplete));
        }
    }

    /// A pipeline cut into arbitrary reads parses to the same requests as
    /// in one read, and to the requests that were written.
    #[test]
    fn any_split_parses_the_same(pieces in vec(piece(), 1..8), cuts in vec(any::<Index>(), 0..8)) {
        let buffer: Vec<u8> = pieces.iter().flat_map(Piece::bytes).collect();
        let want: Vec<Parsed> = pieces.iter().map(Piece::expected).collect();
        let (whole, left) = parse_in_reads(&[&buffer]).unwrap();
        prop_assert_eq!(&whole, &want);
        prop_assert!(left.is_empty());
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(buffer.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([buffer.len()]) {
            chunks.push(&buffer[start..cut]);
            start = cut;
        }
        let (split, left) = parse_in_reads(&chunks).unwrap();
        prop_assert_eq!(split, want);
        prop_assert!(left.is_empty());
    }

    /// Arbitrary bytes: no panic, sane consumption, and a decision that
    /// depends only on the bytes it consumed.
    #[test]
    fn arbitrary_bytes_are_safe(bytes in hostile_bytes(), extra in hostile_bytes()) {
        let result = parse_request(&bytes);
        match &result {
            Ok(Request::Command { args, consumed }) => {
                prop_assert!(!args.is_empty());
                prop_assert!(*consumed > 0 && *consumed <= bytes.len());
                prop_assert_eq!(&parse_request(&bytes[..*consumed]), &result);
            }
            Ok(Request::Skip { consumed }) => {
                prop_assert!(*consumed > 0 && *consumed <= bytes.len());
                prop_assert_eq!(&parse_request(&bytes[..*consumed]), &result);
            }
            Ok(Request::Incomplete) | Err(_) => {}
        }
        // Once decided (and not by a size limit, which depends on read
        // boundaries in Redis too), more bytes change nothing.
        let decided = !matches!(result, Ok(Request::Incomplete));
        if decided && !result.as_ref().is_err_and(is_size_limit) {
            let mut longer = bytes.clone();
            longer.extend_from_slice(&extra);
            prop_assert_eq!(parse_request(&longer), result);
        }
        // The reply parser, on the same bytes: whatever it accepts is
        // canonical RESP2 unless it holds RESP3 types (`_ % ~ = , # >`,
        // which RESP2 cannot say), and in either protocol its encoding is
        // a fixed point of parse-then-encode.
        let frame = parse_frame(&bytes);
        if let Ok(Some((f, used))) = &frame {
            prop_assert!(*used <= bytes.len());
            if !bytes[..*used].iter().any(|b| b"_%~=,#>".contains(b)) {
                prop_assert_eq!(&f.to_bytes()[..], &bytes[..*used]);
            }
            for protocol in [Protocol::Resp2, Protocol::Resp3] {
                let mut once = BytesMut::new();
                f.encode_as(protocol, &mut once);
                let (again, n) = parse_frame(&once).unwrap().unwrap();
                prop_assert_eq!(n, once.len());
                let mut twice = BytesMut::new();
                again.encode_as(protocol, &mut twice);
                prop_assert_eq!(twice, once);
            }
        }
        if !matches!(frame, Ok(None)) {
            let mut longer = bytes.clone();
            longer.extend_from_slice(&extra);
            prop_assert_eq!(parse_frame(&longer), frame);
        }
    }
}

/// The size limits really are errors past 64 KB, not a wait forever.
#[test]
fn an_endless_line_becomes_an_error() {
    let inline = vec![b'a'; 64 * 1024 + 1];
    assert_eq!(parse_request(&inline), Err(ProtocolError::TooBigInline));
    let mut count = b"*".to_vec();
    count.extend(vec![b'1'; 64 * 1024 + 1]);
    assert_eq!(parse_request(&count), Err(ProtocolError::TooBigMbulkCount));
}
