//! [`Frame`]: the one RESP2 value type, used for replies (and, in tests and
//! the load generator, for parsing them back).
//!
//! Every command produces a `Frame`; [`Frame::encode`] appends its wire form
//! to the connection's reusable output buffer, so a pipelined batch of N
//! replies becomes one contiguous buffer and one `write`.

use bytes::{BufMut, Bytes, BytesMut};

/// A RESP2 value.
///
/// Redis distinguishes the *null bulk string* (`$-1`, what `GET missing`
/// returns) from the *null array* (`*-1`, what e.g. a timed-out `BLPOP`
/// returns); clients treat both as nil but the bytes differ, and this server
/// promises byte-identical replies, so both exist here.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// `$-1\r\n`
    Null,
    /// `*2\r\n...`
    Array(Vec<Frame>),
    /// `*-1\r\n`
    NullArray,
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

    /// True for `-ERR ...` replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// Append the RESP2 encoding of `self` to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Frame::Simple(s) => line(out, b'+', s),
            Frame::Error(e) => line(out, b'-', e),
            Frame::Integer(n) => {
                out.put_u8(b':');
                put_decimal(out, *n);
                out.put_slice(b"\r\n");
            }
            Frame::Bulk(data) => {
                out.reserve(data.len() + 16);
                out.put_u8(b'$');
                put_decimal(out, data.len() as i64);
                out.put_slice(b"\r\n");
                out.put_slice(data);
                out.put_slice(b"\r\n");
            }
            Frame::Null => out.put_slice(b"$-1\r\n"),
            Frame::NullArray => out.put_slice(b"*-1\r\n"),
            Frame::Array(items) => {
                out.put_u8(b'*');
                put_decimal(out, items.len() as i64);
                out.put_slice(b"\r\n");
                for item in items {
                    item.encode(out);
                }
            }
        }
    }

    /// The encoding as a fresh buffer (tests, capture).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }
}

fn line(out: &mut BytesMut, tag: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(tag);
    out.put_slice(body);
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
}
