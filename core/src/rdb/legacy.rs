//! The compact encodings of older Redis versions, which Redis 7.0 still
//! loads (and converts to listpacks) but never writes: the *ziplist*
//! (hashes, sorted sets and list nodes before 7.0) and the *zipmap*
//! (hashes before 2.6).
//!
//! ## Ziplist (`ziplist.c`)
//! ```text
//! <zlbytes: u32 LE> <zltail: u32 LE, offset of the last entry> <zllen: u16 LE> <entry>... <0xFF>
//! entry = <prevlen> <encoding> <data>
//! prevlen  = 1 byte if the previous entry is < 254 bytes, else 0xFE + u32 LE
//! 00LLLLLL / 01LLLLLL LLLLLLLL / 10______ <u32 BE>   string of that length
//! 0xC0 i16 | 0xD0 i32 | 0xE0 i64 | 0xF0 i24 | 0xFE i8 (LE)  integers
//! 0xF1..=0xFD                                        the integers 0..=12, no data
//! ```
//! The back pointer is the size of the *previous* entry, which is why an
//! insert could cascade through every following entry: the flaw listpacks
//! were designed to remove.
//!
//! ## Zipmap (`zipmap.c`)
//! ```text
//! <count: 1 byte, 254+ = unknown> (<len> key <len> <free: 1 byte> value <free bytes>)... <0xFF>
//! len = 1 byte if < 254, else 0xFE + u32 LE
//! ```

use super::listpack::Element;

const ZIPLIST_HEADER: usize = 10;
const END: u8 = 0xFF;

/// Every element of a ziplist blob, checked as Redis's deep
/// `ziplistValidateIntegrity`: sizes, back pointers (`prevlen`), the tail
/// offset, the count (unless saturated at 65535) and the terminator.
pub fn parse_ziplist(blob: &[u8]) -> Result<Vec<Element<'_>>, String> {
    if blob.len() < ZIPLIST_HEADER + 1 {
        return Err(format!(
            "ziplist of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let word = |at: usize| {
        u32::from_le_bytes([blob[at], blob[at + 1], blob[at + 2], blob[at + 3]]) as usize
    };
    if word(0) != blob.len() {
        return Err(format!(
            "ziplist header says {} bytes, blob has {}",
            word(0),
            blob.len()
        ));
    }
    let tail = word(4);
    let declared = u16::from_le_bytes([blob[8], blob[9]]);
    let end = blob.len() - 1;
    if blob[end] != END {
        return Err("ziplist does not end with 0xFF".into());
    }
    let mut elements = Vec::with_capacity((end - ZIPLIST_HEADER) / 2);
    let (mut p, mut prev_size, mut last) = (ZIPLIST_HEADER, 0usize, ZIPLIST_HEADER);
    while p < end {
        let start = p;
        let cut = move || format!("ziplist entry at byte {start} runs past the end");
        let take = move |from: usize, n: usize| {
            blob.get(from..from + n)
                .filter(|_| from + n <= end)
                .ok_or_else(cut)
        };
        // prevlen
        let prevlen = if blob[p] < 254 {
            p += 1;
            usize::from(blob[p - 1])
        } else if blob[p] == 254 {
            let raw = take(p + 1, 4)?;
            p += 5;
            u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize
        } else {
            return Err(format!("ziplist terminator at byte {p}, before the end"));
        };
        if prevlen != prev_size {
            return Err(format!(
                "ziplist entry at byte {start} says the previous entry has {prevlen} bytes, it has {prev_size}"
            ));
        }
        let enc = take(p, 1)?[0];
        let int = super::listpack::signed;
        let (element, next) = match enc >> 6 {
            0 => {
                let len = usize::from(enc & 0x3F);
                (Element::Str(take(p + 1, len)?), p + 1 + len)
            }
            1 => {
                let len = (usize::from(enc & 0x3F) << 8) | usize::from(take(p + 1, 1)?[0]);
                (Element::Str(take(p + 2, len)?), p + 2 + len)
            }
            2 => {
                let raw = take(p + 1, 4)?;
                let len = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
                (Element::Str(take(p + 5, len)?), p + 5 + len)
            }
            _ => match enc {
                0xC0 => (Element::Int(int(take(p + 1, 2)?)), p + 3),
                0xD0 => (Element::Int(int(take(p + 1, 4)?)), p + 5),
                0xE0 => (Element::Int(int(take(p + 1, 8)?)), p + 9),
                0xF0 => (Element::Int(int(take(p + 1, 3)?)), p + 4),
                0xFE => (Element::Int(int(take(p + 1, 1)?)), p + 2),
                0xF1..=0xFD => (Element::Int(i64::from(enc & 0x0F) - 1), p + 1),
                _ => {
                    return Err(format!(
                        "ziplist entry at byte {start} has unknown encoding 0x{enc:02X}"
                    ))
                }
            },
        };
        elements.push(element);
        prev_size = next - start;
        last = start;
        p = next;
    }
    if tail != last {
        return Err(format!(
            "ziplist tail offset {tail} is not its last entry ({last})"
        ));
    }
    if declared != u16::MAX && usize::from(declared) != elements.len() {
        return Err(format!(
            "ziplist header counts {declared} entries, it holds {}",
            elements.len()
        ));
    }
    Ok(elements)
}

/// A field and its value.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Every (field, value) pair of a zipmap blob, checked as Redis's
/// `zipmapValidateIntegrity`.
pub fn parse_zipmap(blob: &[u8]) -> Result<Vec<Pair<'_>>, String> {
    let Some(&declared) = blob.first() else {
        return Err("zipmap is empty".into());
    };
    let mut pairs = Vec::with_capacity(blob.len() / 4);
    let mut p = 1;
    let cut = || "zipmap entry runs past the end".to_string();
    // A length: one byte below 254, else 254 and a u32.
    let length = |p: &mut usize| -> Result<usize, String> {
        let b = *blob.get(*p).ok_or_else(cut)?;
        match b {
            0..=253 => {
                *p += 1;
                Ok(usize::from(b))
            }
            254 => {
                let raw = blob.get(*p + 1..*p + 5).ok_or_else(cut)?;
                *p += 5;
                Ok(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize)
            }
            _ => Err(format!(
                "zipmap length byte 0xFF at byte {p} where a length belongs"
            )),
        }
    };
    loop {
        match blob.get(p) {
            None => return Err(cut()),
            Some(&END) => {
                if p + 1 != blob.len() {
                    return Err(format!("zipmap ends at byte {p}, blob has {}", blob.len()));
                }
                break;
            }
            Some(_) => {}
        }
        let klen = length(&mut p)?;
        let key = blob.get(p..p + klen).ok_or_else(cut)?;
        p += klen;
        let vlen = length(&mut p)?;
        let free = usize::from(*blob.get(p).ok_or_else(cut)?);
        p += 1;
        let value = blob.get(p..p + vlen).ok_or_else(cut)?;
        p += vlen + free;
        pairs.push((key, value));
    }
    if declared < 254 && usize::from(declared) != pairs.len() {
        return Err(format!(
            "zipmap header counts {declared} pairs, it holds {}",
            pairs.len()
        ));
    }
    Ok(pairs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ziplist as Redis 6 built it, for tests (integers encoded the
    /// narrowest way, strings with the shortest header).
    pub(crate) fn ziplist(elements: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0u8; ZIPLIST_HEADER];
        let (mut prev, mut tail) = (0usize, ZIPLIST_HEADER);
        for e in elements {
            let start = out.len();
            tail = start;
            if prev < 254 {
                out.push(prev as u8);
            } else {
                out.push(254);
                out.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match crate::cmd::parse_i64(e) {
                Some(v @ 0..=12) => out.push(0xF1 + v as u8),
                Some(v) if i8::try_from(v).is_ok() => out.extend([0xFE, v as u8]),
                Some(v) if i16::try_from(v).is_ok() => {
                    out.push(0xC0);
                    out.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Some(v) if (-(1 << 23)..1 << 23).contains(&v) => {
                    out.push(0xF0);
                    out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                Some(v) if i32::try_from(v).is_ok() => {
                    out.push(0xD0);
                    out.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Some(v) => {
                    out.push(0xE0);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                None if e.len() < 64 => {
                    out.push(e.len() as u8);
                    out.extend_from_slice(e);
                }
                None if e.len() < 16384 => {
                    out.extend([0x40 | (e.len() >> 8) as u8, e.len() as u8]);
                    out.extend_from_slice(e);
                }
                None => {
                    out.push(0x80);
                    out.extend_from_slice(&(e.len() as u32).to_be_bytes());
                    out.extend_from_slice(e);
                }
            }
            prev = out.len() - start;
        }
        out.push(END);
        let len = out.len() as u32;
        out[0..4].copy_from_slice(&len.to_le_bytes());
        out[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        out[8..10].copy_from_slice(&(elements.len() as u16).to_le_bytes());
        out
    }

    /// A zipmap as Redis 2.4 built it (with one byte of free space after
    /// the first value, as an update in place leaves).
    pub(crate) fn zipmap(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = vec![pairs.len() as u8];
        for (i, (k, v)) in pairs.iter().enumerate() {
            out.push(k.len() as u8);
            out.extend_from_slice(k);
            out.push(v.len() as u8);
            let free = u8::from(i == 0);
            out.push(free);
            out.extend_from_slice(v);
            out.extend(std::iter::repeat_n(b'!', usize::from(free)));
        }
        out.push(END);
        out
    }

    #[test]
    fn ziplists_read_back_with_every_encoding() {
        let long = vec![b'q'; 300];
        let huge = vec![b'h'; 20_000];
        let elements: Vec<&[u8]> = vec![
            b"0",
            b"12",
            b"13",
            b"-128",
            b"1000",
            b"-8388608",
            b"100000000",
            b"9223372036854775807",
            b"",
            b"abc",
            &long,
            &huge,
            b"007",
        ];
        let zl = ziplist(&elements);
        let back: Vec<Vec<u8>> = parse_ziplist(&zl)
            .unwrap()
            .into_iter()
            .map(Element::to_bytes)
            .collect();
        assert_eq!(
            back,
            elements.iter().map(|e| e.to_vec()).collect::<Vec<_>>()
        );
        for cut in 0..zl.len().min(400) {
            assert!(parse_ziplist(&zl[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_tail = zl.clone();
        bad_tail[4] ^= 1;
        assert!(parse_ziplist(&bad_tail).is_err());
        assert_eq!(parse_ziplist(&ziplist(&[])), Ok(vec![]));
    }

    #[test]
    fn zipmaps_read_back() {
        let zm = zipmap(&[(b"f1", b"v1"), (b"field2", b"")]);
        assert_eq!(
            parse_zipmap(&zm),
            Ok(vec![(&b"f1"[..], &b"v1"[..]), (&b"field2"[..], &b""[..])])
        );
        for cut in 0..zm.len() {
            assert!(parse_zipmap(&zm[..cut]).is_err(), "cut at {cut}");
        }
    }
}
