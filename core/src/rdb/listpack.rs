//! Redis's listpack byte layout (`listpack.c`), as it appears inside RDB
//! values: small hashes (type 16), small sorted sets (17) and every list
//! node (18) are stored as the listpack Redis keeps in memory, verbatim.
//!
//! ```text
//! <total bytes: u32 LE> <element count: u16 LE> <entry> ... <entry> <0xFF>
//! entry = <encoding + data> <back-length>
//! ```
//!
//! The count saturates at 65535 ("unknown, walk to count"). An element
//! that is a canonical 64-bit integer (`string2ll`: `12`, not `012` or
//! `+12`) is stored as an integer in the narrowest form, anything else as
//! a string:
//!
//! ```text
//! 0xxxxxxx                       7-bit unsigned integer (0..=127)
//! 10LLLLLL <L bytes>             string of up to 63 bytes
//! 110xxxxx yyyyyyyy              13-bit signed integer (two's complement)
//! 1110LLLL LLLLLLLL <bytes>      string of up to 4095 bytes (length big-endian)
//! 11110000 <u32 LE> <bytes>      longer string
//! 0xF1 / 0xF2 / 0xF3 / 0xF4      16 / 24 / 32 / 64-bit signed integer, LE
//! 0xFF                           end of the listpack
//! ```
//!
//! The back-length is the size of `encoding + data`, written so that it
//! reads as a 7-bit-per-byte varint from its last byte backwards: that is
//! what lets Redis walk a listpack from the tail. (Our in-memory
//! [`crate::keyspace::listpack::Listpack`] keeps the back-length idea but
//! not these encodings; this module converts at the file boundary.)

use crate::cmd::parse_i64;

/// Header: total bytes (4) and element count (2).
const HEADER: usize = 6;
const EOF: u8 = 0xFF;
/// The count field's "too many to say" value.
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Builds a listpack blob element by element, as `lpAppend` does.
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        ListpackWriter::new()
    }
}

impl ListpackWriter {
    pub fn new() -> ListpackWriter {
        ListpackWriter {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    /// Append one element, integer-encoded if it is a canonical integer.
    pub fn push(&mut self, element: &[u8]) {
        let start = self.buf.len();
        match parse_i64(element) {
            Some(v) => put_int(&mut self.buf, v),
            None => put_str(&mut self.buf, element),
        }
        let size = self.buf.len() - start;
        put_backlen(&mut self.buf, size as u64);
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size the finished blob will have (Redis's `lpBytes`): what a
    /// quicklist compares against its node size limit.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// The finished blob: header filled in, terminator appended.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        let count = u16::try_from(self.count).unwrap_or(COUNT_UNKNOWN);
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// `lpEncodeIntegerGetType` + its write: the narrowest integer encoding.
fn put_int(out: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u64) & 0x1fff; // 13-bit two's complement
        out.extend([0xC0 | (u >> 8) as u8, u as u8]);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xF1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(0xF2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if let Ok(v32) = i32::try_from(v) {
        out.push(0xF3);
        out.extend_from_slice(&v32.to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// `lpEncodeString`: the shortest of the three string headers.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.extend([0xE0 | (len >> 8) as u8, len as u8]);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// `lpEncodeBacklen`. The thresholds are Redis's, including the odd
/// `< 16383` (not `<= 16383`) for two bytes.
fn put_backlen(out: &mut Vec<u8>, l: u64) {
    if l <= 127 {
        out.push(l as u8);
    } else if l < 16383 {
        out.extend([(l >> 7) as u8, (l & 127) as u8 | 128]);
    } else if l < 2_097_151 {
        out.extend([
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    } else if l < 268_435_455 {
        out.extend([
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    } else {
        out.extend([
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    }
}

/// One element read back: Redis hands integers out as integers; a caller
/// that wants bytes prints them ([`Element::to_bytes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Element<'_> {
    /// The element as the bytes a client sees (`12` for the integer 12).
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Element::Int(v) => v.to_string().into_bytes(),
            Element::Str(s) => s.to_vec(),
        }
    }
}

/// Every element of a listpack blob, validated as Redis's deep
/// `lpValidateIntegrity` does: the header's size is the blob's, every
/// entry lies inside it with a back-length that matches, the terminator
/// is the last byte and the count matches (unless saturated). Errors name
/// the byte offset inside the blob.
pub fn parse(blob: &[u8]) -> Result<Vec<Element<'_>>, String> {
    if blob.len() < HEADER + 1 {
        return Err(format!(
            "listpack of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err(format!(
            "listpack header says {total} bytes, blob has {}",
            blob.len()
        ));
    }
    let declared = u16::from_le_bytes([blob[4], blob[5]]);
    let end = blob.len() - 1;
    if blob[end] != EOF {
        return Err("listpack does not end with 0xFF".into());
    }
    // Every entry takes at least two bytes: no more elements than that.
    let mut elements = Vec::with_capacity((end - HEADER) / 2);
    let mut p = HEADER;
    while p < end {
        let (element, size) = entry(blob, p, end)?;
        let mut expected = Vec::with_capacity(5);
        put_backlen(&mut expected, size as u64);
        let back = p + size;
        if blob.get(back..back + expected.len()) != Some(&expected[..])
            || back + expected.len() > end
        {
            return Err(format!(
                "listpack entry at byte {p}: back-length does not match its size {size}"
            ));
        }
        elements.push(element);
        p = back + expected.len();
    }
    if declared != COUNT_UNKNOWN && usize::from(declared) != elements.len() {
        return Err(format!(
            "listpack header counts {declared} elements, it holds {}",
            elements.len()
        ));
    }
    Ok(elements)
}

/// `n` bytes of `blob` from `from`, if they end before `end` (the
/// terminator); the error names the entry at `p`.
fn span(blob: &[u8], from: usize, n: usize, end: usize, p: usize) -> Result<&[u8], String> {
    if from + n > end {
        return Err(format!("listpack entry at byte {p} runs past the end"));
    }
    Ok(&blob[from..from + n])
}

/// A little-endian integer of `raw.len()` bytes, sign-extended.
pub(super) fn signed(raw: &[u8]) -> i64 {
    let mut v: u64 = 0;
    for (i, &b) in raw.iter().enumerate() {
        v |= u64::from(b) << (8 * i);
    }
    let shift = 64 - 8 * raw.len() as u32;
    ((v << shift) as i64) >> shift
}

/// The entry starting at `p` (before `end`, the terminator): the element
/// and the size of its encoding + data.
fn entry(blob: &[u8], p: usize, end: usize) -> Result<(Element<'_>, usize), String> {
    let bytes = move |from: usize, n: usize| span(blob, from, n, end, p);
    let b = blob[p];
    Ok(match b {
        0x00..=0x7F => (Element::Int(i64::from(b)), 1),
        0x80..=0xBF => {
            let len = usize::from(b & 0x3F);
            (Element::Str(bytes(p + 1, len)?), 1 + len)
        }
        0xC0..=0xDF => {
            let low = bytes(p + 1, 1)?[0];
            let u = (u16::from(b & 0x1F) << 8) | u16::from(low);
            let v = if u >= 1 << 12 {
                i64::from(u) - (1 << 13)
            } else {
                i64::from(u)
            };
            (Element::Int(v), 2)
        }
        0xE0..=0xEF => {
            let low = bytes(p + 1, 1)?[0];
            let len = (usize::from(b & 0x0F) << 8) | usize::from(low);
            (Element::Str(bytes(p + 2, len)?), 2 + len)
        }
        0xF0 => {
            let raw = bytes(p + 1, 4)?;
            let len = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
            (Element::Str(bytes(p + 5, len)?), 5 + len)
        }
        0xF1 => (Element::Int(signed(bytes(p + 1, 2)?)), 3),
        0xF2 => (Element::Int(signed(bytes(p + 1, 3)?)), 4),
        0xF3 => (Element::Int(signed(bytes(p + 1, 4)?)), 5),
        0xF4 => (Element::Int(signed(bytes(p + 1, 8)?)), 9),
        0xFF => {
            return Err(format!(
                "listpack terminator 0xFF at byte {p}, before the end"
            ))
        }
        _ => {
            return Err(format!(
                "listpack entry at byte {p} has unknown encoding 0x{b:02X}"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(elements: &[&[u8]]) -> Vec<u8> {
        let mut w = ListpackWriter::new();
        for e in elements {
            w.push(e);
        }
        w.finish()
    }

    /// What redis-server 7.0 stores for `HSET h a 1` (type 16's blob, as
    /// `DUMP h` shows it): 6-byte header, "a" as a 6-bit string with
    /// back-length 2, 1 as a 7-bit integer with back-length 1, 0xFF.
    #[test]
    fn bytes_as_redis_lays_them_out() {
        assert_eq!(
            blob(&[b"a", b"1"]),
            [0x0C, 0, 0, 0, 0x02, 0x00, 0x81, b'a', 0x02, 0x01, 0x01, 0xFF]
        );
        assert_eq!(blob(&[]), [0x07, 0, 0, 0, 0, 0, 0xFF]);
        // -1 is a 13-bit integer 0x1FFF; 1000 too; 100000 needs 24 bits.
        assert_eq!(&blob(&[b"-1"])[6..9], [0xDF, 0xFF, 0x02]);
        assert_eq!(&blob(&[b"1000"])[6..9], [0xC3, 0xE8, 0x02]);
        assert_eq!(&blob(&[b"100000"])[6..11], [0xF2, 0xA0, 0x86, 0x01, 0x04]);
        assert_eq!(&blob(&[b"-32768"])[6..10], [0xF1, 0x00, 0x80, 0x03]);
        // Not canonical integers: strings.
        assert_eq!(&blob(&[b"012"])[6..7], [0x83]);
        assert_eq!(&blob(&[b"+1"])[6..7], [0x82]);
        // A 200-byte string: 12-bit length (big-endian), back-length 202
        // in two bytes, high part first.
        let long = blob(&[&[b'x'; 200]]);
        assert_eq!(&long[6..8], [0xE0, 200]);
        assert_eq!(&long[208..210], [202 >> 7, (202 & 127) | 128]);
    }

    #[test]
    fn every_encoding_reads_back() {
        let big = vec![b'y'; 5000];
        let mid = vec![b'z'; 300];
        let elements: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"4096",
            b"-32768",
            b"32767",
            b"-8388608",
            b"8388607",
            b"8388608",
            b"-2147483648",
            b"2147483647",
            b"2147483648",
            b"-9223372036854775808",
            b"9223372036854775807",
            b"",
            b"hello",
            &mid,
            &big,
            b"-0",
            b"007",
        ];
        let lp = blob(&elements);
        let back: Vec<Vec<u8>> = parse(&lp)
            .unwrap()
            .into_iter()
            .map(Element::to_bytes)
            .collect();
        let want: Vec<Vec<u8>> = elements.iter().map(|e| e.to_vec()).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn back_length_thresholds_are_redis_s() {
        for (l, n) in [
            (127u64, 1),
            (128, 2),
            (16382, 2),
            (16383, 3),
            (2_097_150, 3),
            (2_097_151, 4),
        ] {
            let mut out = Vec::new();
            put_backlen(&mut out, l);
            assert_eq!(out.len(), n, "{l}");
        }
    }

    #[test]
    fn damaged_blobs_are_errors() {
        let good = blob(&[b"a", b"1", b"hello"]);
        assert!(parse(&good).is_ok());
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong_count = good.clone();
        wrong_count[4] = 2;
        assert!(parse(&wrong_count).is_err());
        let mut wrong_back = good.clone();
        wrong_back[8] = 3;
        assert!(parse(&wrong_back).is_err());
        let mut bad_enc = good.clone();
        bad_enc[6] = 0xF6;
        assert!(parse(&bad_enc).is_err());
    }
}
