//! LZF, the small LZ77 compressor Redis uses for long strings in RDB
//! files (Marc Lehmann's liblzf 3.6, Redis's `lzf_c.c` / `lzf_d.c`).
//!
//! ## The format
//! A compressed block is a sequence of instructions, each starting with a
//! control byte:
//!
//! ```text
//! 000LLLLL <L+1 bytes>           literal: copy the next L+1 bytes (1..=32)
//! LLLooooo oooooooo              back-reference: copy L+2 bytes (L in 1..=6)
//!                                from `offset + 1` bytes back in the output
//! 111ooooo LLLLLLLL oooooooo     long back-reference: copy L+7+2 bytes
//! ```
//!
//! The offset is 13 bits (up to 8 kB back), a copy may overlap its own
//! output (`aaaaaaa` is one literal `a` and a reference one byte back).
//!
//! ## Why the compressor is a line-by-line port
//! Many byte sequences are valid compressions of the same input; which one
//! comes out depends on the hash table of 3-byte prefixes the compressor
//! keeps. To write the very bytes redis-server writes, [`Compressor`]
//! follows `lzf_compress` exactly as Redis builds it (`HLOG 16`,
//! `VERY_FAST`), including where it re-hashes after a match. Redis leaves
//! that table uninitialised on the stack; a slot it never wrote can point
//! at a stale position, which in rare cases finds a match a fresh table
//! would not. Ours starts empty, which is what the algorithm means.

/// log2 of the hash table size (Redis's `HLOG`).
const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
/// Longest literal run one control byte announces.
const MAX_LIT: usize = 1 << 5;
/// Farthest back a reference reaches.
const MAX_OFF: usize = 1 << 13;
/// Longest match one reference copies.
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// The most output one input byte can produce: a 3-byte long reference
/// copies 264 bytes. A declared length beyond `88 * compressed` is a lie.
pub const MAX_EXPANSION: usize = 88;

fn first(input: &[u8], i: usize) -> u32 {
    (u32::from(input[i]) << 8) | u32::from(input[i + 1])
}

fn next(v: u32, input: &[u8], i: usize) -> u32 {
    (v << 8) | u32::from(input[i + 2])
}

/// `VERY_FAST`'s hash of the last three bytes into a table slot.
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & (HSIZE as u32 - 1)) as usize
}

/// An LZF compressor with its hash table, kept between calls: the table
/// is 64 Ki slots, and clearing it for every 21-byte string would cost far
/// more than compressing. Each call bumps a generation number instead; a
/// slot written by an older call counts as empty.
#[derive(Default)]
pub struct Compressor {
    /// `generation << 32 | position` of the last place each hash was seen.
    slots: Vec<u64>,
    generation: u32,
}

impl Compressor {
    pub fn new() -> Compressor {
        Compressor::default()
    }

    /// Compress `input` into at most `out_len` bytes, as
    /// `lzf_compress(input, len, out, out_len)`: `None` when the result
    /// would not fit (the caller then stores the bytes as they are).
    pub fn compress(&mut self, input: &[u8], out_len: usize) -> Option<Vec<u8>> {
        let in_len = input.len();
        if in_len == 0 || out_len == 0 {
            return None;
        }
        if self.slots.is_empty() {
            self.slots = vec![0; HSIZE];
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.fill(0);
            self.generation = 1;
        }
        let generation = u64::from(self.generation) << 32;
        let slots = &mut self.slots;
        // The position last stored under `slot` in this call; 0 (the
        // input's first byte, which can never be referenced) when none.
        let seen = |slots: &[u64], slot: usize| -> usize {
            let s = slots[slot];
            if s & !0xffff_ffff == generation {
                (s & 0xffff_ffff) as usize
            } else {
                0
            }
        };
        // Scratch room past `out_len` so that no index below can fail;
        // the checks that mirror the C code keep the result within it.
        let mut out = vec![0u8; out_len + 8];
        let out_end = out_len;
        let (mut ip, mut op, mut lit) = (0usize, 1usize, 0usize);
        let mut hval = if in_len >= 2 { first(input, 0) } else { 0 };
        while ip + 2 < in_len {
            hval = next(hval, input, ip);
            let slot = idx(hval);
            let r = seen(slots, slot);
            slots[slot] = generation | ip as u64;
            let off = ip.wrapping_sub(r).wrapping_sub(1);
            if off < MAX_OFF
                && r > 0
                && input[r + 2] == input[ip + 2]
                && input[r] == input[ip]
                && input[r + 1] == input[ip + 1]
            {
                let mut len = 2usize;
                let maxlen = (in_len - ip - len).min(MAX_REF);
                if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
                    return None;
                }
                out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
                op -= usize::from(lit == 0); // undo run if it is empty
                'scan: {
                    if maxlen > 16 {
                        for _ in 0..16 {
                            len += 1;
                            if input[r + len] != input[ip + len] {
                                break 'scan;
                            }
                        }
                    }
                    loop {
                        len += 1;
                        if !(len < maxlen && input[r + len] == input[ip + len]) {
                            break;
                        }
                    }
                }
                len -= 2; // now the number of bytes copied, minus one
                ip += 1;
                if len < 7 {
                    out[op] = ((off >> 8) + (len << 5)) as u8;
                    op += 1;
                } else {
                    out[op] = ((off >> 8) + (7 << 5)) as u8;
                    out[op + 1] = (len - 7) as u8;
                    op += 2;
                }
                out[op] = off as u8;
                op += 1;
                lit = 0;
                op += 1; // start a run
                ip += len + 1;
                if ip + 2 >= in_len {
                    break;
                }
                // VERY_FAST: hash only the two positions before the next.
                ip -= 2;
                hval = first(input, ip);
                hval = next(hval, input, ip);
                slots[idx(hval)] = generation | ip as u64;
                ip += 1;
                hval = next(hval, input, ip);
                slots[idx(hval)] = generation | ip as u64;
                ip += 1;
            } else {
                if op >= out_end {
                    return None;
                }
                lit += 1;
                out[op] = input[ip];
                op += 1;
                ip += 1;
                if lit == MAX_LIT {
                    out[op - lit - 1] = (lit - 1) as u8;
                    lit = 0;
                    op += 1;
                }
            }
        }
        if op + 3 > out_end {
            return None;
        }
        while ip < in_len {
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
        out[op - lit - 1] = (lit as u8).wrapping_sub(1); // end run
        op -= usize::from(lit == 0);
        out.truncate(op);
        Some(out)
    }
}

/// Decompress `input`, which must produce exactly `out_len` bytes
/// (`lzf_decompress`, with every check an error instead of an errno).
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, String> {
    if out_len > input.len().saturating_mul(MAX_EXPANSION) {
        return Err(format!(
            "LZF length {out_len} cannot come from {} compressed bytes",
            input.len()
        ));
    }
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < MAX_LIT {
            let n = ctrl + 1;
            if out.len() + n > out_len {
                return Err("LZF output longer than declared".into());
            }
            let Some(literal) = input.get(ip..ip + n) else {
                return Err("LZF literal run past the end of its input".into());
            };
            out.extend_from_slice(literal);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(&extra) = input.get(ip) else {
                    return Err("LZF reference cut short".into());
                };
                len += usize::from(extra);
                ip += 1;
            }
            let Some(&low) = input.get(ip) else {
                return Err("LZF reference cut short".into());
            };
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + usize::from(low) + 1;
            len += 2;
            if out.len() + len > out_len {
                return Err("LZF output longer than declared".into());
            }
            if back > out.len() {
                return Err("LZF reference before the start of the output".into());
            }
            // Byte by byte: a reference may overlap what it is writing.
            let start = out.len() - back;
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return Err(format!(
            "LZF output is {} bytes, {out_len} declared",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &[u8]) -> Option<Vec<u8>> {
        let packed = Compressor::new().compress(input, input.len().saturating_sub(4))?;
        assert_eq!(decompress(&packed, input.len()).as_deref(), Ok(input));
        Some(packed)
    }

    /// The output of Redis's `lzf_compress` for 30 × `a`, followed by
    /// hand through `lzf_c.c` (and met again, byte for byte, in the RDB
    /// file redis-server writes for such a value: see
    /// `tests/rdb_interop.rs`): two literals, because position 0 can never
    /// be referenced; one long reference one byte back copying 26; two
    /// literals, because a match never starts in the last two bytes.
    #[test]
    fn compresses_as_redis_does() {
        let packed = round_trip(&[b'a'; 30]).unwrap();
        assert_eq!(
            packed,
            [0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a']
        );
        // A longer run is cut into references of at most 264 bytes.
        let long = round_trip(&[b'z'; 1000]).unwrap();
        assert!(long.len() < 40, "{long:?}");
        let text = b"the quick brown fox jumps over the lazy dog; the quick brown fox";
        assert!(round_trip(text).is_some());
    }

    #[test]
    fn incompressible_input_is_refused() {
        let noise: Vec<u8> = (0..64u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(Compressor::new().compress(&noise, noise.len() - 4), None);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(
            decompress(&[0x05, b'a'], 6).is_err(),
            "literal past the end"
        );
        assert!(
            decompress(&[0x20, 0x05], 3).is_err(),
            "reference before start"
        );
        assert!(decompress(&[0x00, b'a', 0xe0], 30).is_err(), "cut short");
        assert!(
            decompress(&[0x00, b'a'], 2).is_err(),
            "shorter than declared"
        );
        assert!(
            decompress(&[0x00, b'a'], 1 << 40).is_err(),
            "impossible length"
        );
    }
}
