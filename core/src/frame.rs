//! [`Frame`]: the one reply type, rendered as RESP2 or RESP3.
//!
//! Every command decides the *shape* of its reply once (an array, a map, a
//! set, a verbatim text, a null); [`Frame::encode_as`] renders that shape
//! in the protocol the client chose with HELLO, as Redis's `addReplyMapLen`
//! and friends do: a map is `%` in RESP3 and a flat array in RESP2, a null
//! is `_` in RESP3 and `$-1` or `*-1` in RESP2. Replies are appended to the
//! connection's reusable output buffer, so a pipelined batch of N replies
//! becomes one contiguous buffer and one `write`. (Requests are RESP2-shaped
//! in both protocols, as in Redis.)

use bytes::{BufMut, Bytes, BytesMut};

use crate::str::Str;

/// The protocol a connection speaks (HELLO 2 / HELLO 3): session state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// A reply value.
///
/// Redis distinguishes the *null bulk string* (`$-1`, what `GET missing`
/// returns) from the *null array* (`*-1`, what e.g. a timed-out `BLPOP`
/// returns) in RESP2; clients treat both as nil but the bytes differ, and
/// this server promises byte-identical replies, so both exist here (RESP3
/// renders both as `_`).
#[derive(Clone, Debug, Eq)]
pub enum Frame {
    /// `+OK\r\n`. Never contains `\r` or `\n`.
    Simple(Bytes),
    /// `-ERR message\r\n`. The bytes hold the whole line after `-`,
    /// including the error code (`ERR`, `WRONGTYPE`, ...).
    Error(Bytes),
    /// `:42\r\n`
    Integer(i64),
    /// `$3\r\nfoo\r\n`: binary-safe.
    Bulk(Bytes),
    /// The same bulk string held as a [`Str`]: inline up to 22 bytes, so a
    /// GET of a short value replies without allocating. It equals the
    /// `Bulk` of the same bytes, and encodes the same.
    ShortBulk(Str),
    /// `$-1\r\n` (RESP3: `_\r\n`)
    Null,
    /// `*2\r\n...`
    Array(Vec<Frame>),
    /// `*-1\r\n` (RESP3: `_\r\n`)
    NullArray,
    /// RESP3 `%`: key-value pairs (CONFIG GET, HELLO); a flat array of
    /// 2n elements in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~`: an unordered collection (COMMAND INFO's flags); an array
    /// in RESP2.
    Set(Vec<Frame>),
    /// RESP3 `=`: text meant for people, tagged `txt` (INFO); a bulk
    /// string in RESP2. Holds the text without the `txt:` prefix.
    Verbatim(Bytes),
    /// RESP3 `,`: a double, held as Redis prints it (`%.17g`-style, `inf`);
    /// a bulk string in RESP2.
    Double(Bytes),
    /// RESP3 `#t` / `#f`; the integer 1 / 0 in RESP2.
    Boolean(bool),
    /// RESP3 `>`: an out-of-band message (pub/sub); an array in RESP2.
    Push(Vec<Frame>),
    /// Pairs that RESP3 shows as an array of two-element arrays and RESP2
    /// as one flat array (HRANDFIELD ... WITHVALUES, ZRANGE ... WITHSCORES:
    /// an ordered list with repeats allowed, so not a map).
    Pairs(Vec<(Frame, Frame)>),
    /// Several replies to one command, one after the other (SUBSCRIBE a b
    /// answers once per channel; PUBLISH to oneself is the message, then
    /// the count). Never nested in another frame.
    Many(Vec<Frame>),
}

impl Frame {
    /// `+OK`: the most common reply, built without allocating.
    pub const fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// A status reply from a static string (`PONG`, `OK`, `string`, ...).
    pub const fn simple(s: &'static str) -> Frame {
        Frame::Simple(Bytes::from_static(s.as_bytes()))
    }

    /// An error reply from a full error line such as
    /// `"ERR syntax error"` or `"WRONGTYPE Operation ..."`.
    pub fn error(line: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(line.into()))
    }

    /// An error reply from a static line: no allocation.
    pub const fn static_error(line: &'static str) -> Frame {
        Frame::Error(Bytes::from_static(line.as_bytes()))
    }

    /// A bulk string copied from a slice.
    pub fn bulk(data: &[u8]) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(data))
    }

    /// `Bulk` of a slice, or `Null` for `None`: the shape of GET's reply.
    pub fn bulk_or_null(data: Option<&[u8]>) -> Frame {
        data.map_or(Frame::Null, Frame::bulk)
    }

    /// A bulk string copied into a [`Frame::ShortBulk`]: no allocation up
    /// to 22 bytes (GET's reply).
    pub fn short_bulk(data: &[u8]) -> Frame {
        Frame::ShortBulk(Str::copy_from(data))
    }

    /// The bytes of a bulk string, in either form.
    pub fn as_bulk(&self) -> Option<&[u8]> {
        match self {
            Frame::Bulk(b) => Some(b),
            Frame::ShortBulk(s) => Some(s.as_slice()),
            _ => None,
        }
    }

    /// A map from a flat `key, value, key, value, ...` list (the order
    /// Redis writes them in); a trailing odd item is dropped.
    pub fn map_from_flat(items: Vec<Frame>) -> Frame {
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(k), Some(v)) = (items.next(), items.next()) {
            pairs.push((k, v));
        }
        Frame::Map(pairs)
    }

    /// True for `-ERR ...` replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// Append the RESP2 encoding of `self` to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        self.encode_as(Protocol::Resp2, out);
    }

    /// Append the encoding of `self` in `protocol` to `out`.
    pub fn encode_as(&self, protocol: Protocol, out: &mut BytesMut) {
        let resp3 = protocol == Protocol::Resp3;
        match self {
            Frame::Simple(s) => line(out, b'+', s),
            Frame::Error(e) => line(out, b'-', e),
            Frame::Integer(n) => {
                out.put_u8(b':');
                put_decimal(out, *n);
                out.put_slice(b"\r\n");
            }
            Frame::Bulk(data) => blob(out, b'$', b"", data),
            Frame::ShortBulk(data) => blob(out, b'$', b"", data.as_slice()),
            Frame::Null | Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Frame::Null => out.put_slice(b"$-1\r\n"),
            Frame::NullArray => out.put_slice(b"*-1\r\n"),
            Frame::Array(items) => aggregate(out, b'*', items, protocol),
            Frame::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, protocol),
            Frame::Push(items) => aggregate(out, if resp3 { b'>' } else { b'*' }, items, protocol),
            Frame::Map(pairs) => {
                let len = if resp3 { pairs.len() } else { 2 * pairs.len() };
                header(out, if resp3 { b'%' } else { b'*' }, len);
                for (key, value) in pairs {
                    key.encode_as(protocol, out);
                    value.encode_as(protocol, out);
                }
            }
            Frame::Many(frames) => {
                for f in frames {
                    f.encode_as(protocol, out);
                }
            }
            Frame::Pairs(pairs) => {
                let len = if resp3 { pairs.len() } else { 2 * pairs.len() };
                header(out, b'*', len);
                for (first, second) in pairs {
                    if resp3 {
                        header(out, b'*', 2);
                    }
                    first.encode_as(protocol, out);
                    second.encode_as(protocol, out);
                }
            }
            Frame::Verbatim(text) if resp3 => blob(out, b'=', b"txt:", text),
            Frame::Verbatim(text) => blob(out, b'$', b"", text),
            Frame::Double(text) if resp3 => line(out, b',', text),
            Frame::Double(text) => blob(out, b'$', b"", text),
            Frame::Boolean(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::Boolean(b) => out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
        }
    }

    /// The encoding as a fresh buffer (tests, capture).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }
}

/// Structural equality, except that the two forms of a bulk string
/// ([`Frame::Bulk`], [`Frame::ShortBulk`]) are equal when their bytes are:
/// they are one reply on the wire.
impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        use Frame::*;
        match (self, other) {
            (Bulk(_) | ShortBulk(_), Bulk(_) | ShortBulk(_)) => self.as_bulk() == other.as_bulk(),
            (Simple(a), Simple(b)) | (Error(a), Error(b)) => a == b,
            (Verbatim(a), Verbatim(b)) | (Double(a), Double(b)) => a == b,
            (Integer(a), Integer(b)) => a == b,
            (Null, Null) | (NullArray, NullArray) => true,
            (Array(a), Array(b)) | (Set(a), Set(b)) => a == b,
            (Push(a), Push(b)) | (Many(a), Many(b)) => a == b,
            (Map(a), Map(b)) | (Pairs(a), Pairs(b)) => a == b,
            (Boolean(a), Boolean(b)) => a == b,
            _ => false,
        }
    }
}

/// `<tag><len>\r\n`: the header of an aggregate.
fn header(out: &mut BytesMut, tag: u8, len: usize) {
    out.put_u8(tag);
    put_decimal(out, len as i64);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, tag: u8, items: &[Frame], protocol: Protocol) {
    header(out, tag, items.len());
    for item in items {
        item.encode_as(protocol, out);
    }
}

/// A length-prefixed payload (`$` bulk, `=` verbatim), `prefix` included
/// in the length.
fn blob(out: &mut BytesMut, tag: u8, prefix: &[u8], data: &[u8]) {
    out.reserve(prefix.len() + data.len() + 16);
    header(out, tag, prefix.len() + data.len());
    out.put_slice(prefix);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// A one-line reply (`+`, `-`). A `\r` or `\n` inside (an error that
/// quotes the client's argument) would end the line early and corrupt
/// the stream: they become spaces, as Redis's `addReplyErrorLength` does.
fn line(out: &mut BytesMut, tag: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(tag);
    let start = out.len();
    out.put_slice(body);
    for b in &mut out[start..] {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    out.put_slice(b"\r\n");
}

/// Decimal digits of `n` without going through `fmt` (this runs for every
/// reply length and every integer reply).
fn put_decimal(out: &mut BytesMut, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.put_u8(b'-');
    }
    out.put_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: Frame) -> Vec<u8> {
        f.to_bytes().to_vec()
    }

    /// An error quoting a client's argument stays one line (the fuzzer
    /// found a subscribed-mode error that broke the stream).
    #[test]
    fn line_replies_never_carry_a_line_break() {
        assert_eq!(
            enc(Frame::error("ERR can't execute 'a\r\n$9'")),
            b"-ERR can't execute 'a  $9'\r\n"
        );
        assert_eq!(enc(Frame::simple("a\nb")), b"+a b\r\n");
    }

    #[test]
    fn encodes_every_variant() {
        assert_eq!(enc(Frame::ok()), b"+OK\r\n");
        assert_eq!(enc(Frame::static_error("ERR x")), b"-ERR x\r\n");
        assert_eq!(enc(Frame::Integer(0)), b":0\r\n");
        assert_eq!(enc(Frame::Integer(-42)), b":-42\r\n");
        assert_eq!(enc(Frame::Integer(i64::MIN)), b":-9223372036854775808\r\n");
        assert_eq!(enc(Frame::bulk(b"")), b"$0\r\n\r\n");
        assert_eq!(enc(Frame::bulk(b"a\r\nb")), b"$4\r\na\r\nb\r\n");
        assert_eq!(enc(Frame::Null), b"$-1\r\n");
        assert_eq!(enc(Frame::NullArray), b"*-1\r\n");
        assert_eq!(
            enc(Frame::Array(vec![Frame::Integer(1), Frame::Null])),
            b"*2\r\n:1\r\n$-1\r\n"
        );
        assert_eq!(enc(Frame::Array(vec![])), b"*0\r\n");
    }

    fn both(f: Frame) -> (String, String) {
        let text = |p| {
            let mut out = BytesMut::new();
            f.encode_as(p, &mut out);
            String::from_utf8(out.to_vec()).expect("ascii")
        };
        (text(Protocol::Resp2), text(Protocol::Resp3))
    }

    /// Each shape in both protocols, as redis-server 7.0 writes it
    /// (`redis-cli` with HELLO 2 / HELLO 3, raw bytes).
    #[test]
    fn one_reply_model_two_protocols() {
        let kv = |k: &str, v: Frame| (Frame::bulk(k.as_bytes()), v);
        let config = Frame::Map(vec![kv("timeout", Frame::bulk(b"0"))]);
        assert_eq!(
            both(config),
            (
                "*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n".into(),
                "%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n".into()
            )
        );
        assert_eq!(both(Frame::Null), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(Frame::NullArray), ("*-1\r\n".into(), "_\r\n".into()));
        let pairs = Frame::Pairs(vec![(Frame::bulk(b"f"), Frame::Integer(1))]);
        assert_eq!(
            both(pairs),
            (
                "*2\r\n$1\r\nf\r\n:1\r\n".into(),
                "*1\r\n*2\r\n$1\r\nf\r\n:1\r\n".into()
            )
        );
        let flags = Frame::Set(vec![Frame::simple("readonly"), Frame::simple("fast")]);
        assert_eq!(
            both(flags),
            (
                "*2\r\n+readonly\r\n+fast\r\n".into(),
                "~2\r\n+readonly\r\n+fast\r\n".into()
            )
        );
        let info = Frame::Verbatim(Bytes::from_static(b"# Keyspace\r\n"));
        assert_eq!(
            both(info),
            (
                "$12\r\n# Keyspace\r\n\r\n".into(),
                "=16\r\ntxt:# Keyspace\r\n\r\n".into()
            )
        );
        let double = Frame::Double(Bytes::from_static(b"1.5"));
        assert_eq!(both(double), ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into()));
        assert_eq!(
            both(Frame::Boolean(true)),
            (":1\r\n".into(), "#t\r\n".into())
        );
        assert_eq!(
            both(Frame::Boolean(false)),
            (":0\r\n".into(), "#f\r\n".into())
        );
        let push = Frame::Push(vec![Frame::bulk(b"message")]);
        assert_eq!(
            both(push),
            (
                "*1\r\n$7\r\nmessage\r\n".into(),
                ">1\r\n$7\r\nmessage\r\n".into()
            )
        );
        // Nested shapes render in the outer protocol all the way down.
        let nested = Frame::Array(vec![Frame::Map(vec![kv("a", Frame::Null)])]);
        assert_eq!(
            both(nested),
            (
                "*1\r\n*2\r\n$1\r\na\r\n$-1\r\n".into(),
                "*1\r\n%1\r\n$1\r\na\r\n_\r\n".into()
            )
        );
    }

    /// What RESP3 encodes, the reply parser reads back as the same frame.
    #[test]
    fn resp3_round_trips_through_the_reply_parser() {
        let frame = Frame::Array(vec![
            Frame::Map(vec![(
                Frame::bulk(b"k"),
                Frame::Set(vec![Frame::Integer(1)]),
            )]),
            Frame::Verbatim(Bytes::from_static(b"text")),
            Frame::Double(Bytes::from_static(b"-inf")),
            Frame::Boolean(false),
            Frame::Push(vec![Frame::Null]),
            Frame::Map(vec![]),
        ]);
        let mut out = BytesMut::new();
        frame.encode_as(Protocol::Resp3, &mut out);
        let parsed = crate::resp::parse_frame(&out)
            .expect("valid")
            .expect("whole");
        assert_eq!(parsed, (frame, out.len()));
    }
}
