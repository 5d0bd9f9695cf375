//! Reading an RDB file: [`load`] walks the opcodes and hands every key to
//! a callback as a ready [`Value`] (built by [`super::values`] in the
//! encoding Redis 7.0 would pick for it on load under the config limits).
//!
//! Everything read comes from an untrusted file: every length is checked
//! against the bytes that remain before anything is allocated for it, and
//! every problem is an [`RdbError`] naming the byte offset.

use std::ops::Range;

use bytes::Bytes;

use super::values::parse_score;
use super::{crc64::crc64, lzf, opcode, Aux, RdbError, RDB_VERSION};
use crate::keyspace::{Limits, Value};

/// One key read from the file.
#[derive(Debug)]
pub struct Loaded {
    /// The database the last `SELECTDB` named (0 before any).
    pub db: u32,
    pub key: Bytes,
    pub value: Value,
    /// The absolute deadline in Unix milliseconds (`EXPIRETIME_MS`, or
    /// `EXPIRETIME` seconds × 1000); a negative one reads as 0, long past.
    pub deadline_ms: Option<u64>,
    /// The type byte as found in the file (an old file's 13 is loaded as
    /// a hash all the same).
    pub rdb_type: u8,
    /// Where the encoded value lies in the input: byte-level comparisons
    /// of two files look at these.
    pub payload: Range<usize>,
    /// Where the entry starts (its `EXPIRETIME_MS` or its type byte), for
    /// errors the caller reports about this key.
    pub offset: usize,
}

/// A cursor over the file with offset-carrying errors.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pub(super) pos: usize,
}

/// What a length field holds: a length, or (top bits `11`) the marker of
/// a specially encoded string.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn error(&self, at: usize, message: impl Into<String>) -> RdbError {
        RdbError::new(at, message)
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], RdbError> {
        if n > self.remaining() as u64 {
            return Err(self.error(
                self.pos,
                format!(
                    "{what} needs {n} bytes, the file ends after {}",
                    self.remaining()
                ),
            ));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    pub(super) fn byte(&mut self, what: &str) -> Result<u8, RdbError> {
        Ok(self.take(1, what)?[0])
    }

    fn length_or_encoding(&mut self, what: &str) -> Result<Len, RdbError> {
        let at = self.pos;
        let b = self.byte(what)?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3F)),
            1 => Len::Plain((u64::from(b & 0x3F) << 8) | u64::from(self.byte(what)?)),
            3 => Len::Encoded(b & 0x3F),
            _ => match b {
                0x80 => {
                    let raw = self.take(4, what)?;
                    Len::Plain(u64::from(u32::from_be_bytes([
                        raw[0], raw[1], raw[2], raw[3],
                    ])))
                }
                0x81 => {
                    let raw = self.take(8, what)?;
                    let mut be = [0u8; 8];
                    be.copy_from_slice(raw);
                    Len::Plain(u64::from_be_bytes(be))
                }
                _ => {
                    return Err(self.error(at, format!("{what}: unknown length encoding 0x{b:02X}")))
                }
            },
        })
    }

    /// A plain length (`rdbLoadLen`).
    pub(super) fn len(&mut self, what: &str) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.length_or_encoding(what)? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => Err(self.error(
                at,
                format!("{what}: a string encoding where a length belongs"),
            )),
        }
    }

    /// A count of things that each take at least one byte: larger than
    /// what remains is a lie, caught before anything is sized by it.
    pub(super) fn count(&mut self, what: &str) -> Result<usize, RdbError> {
        let at = self.pos;
        let n = self.len(what)?;
        if n > self.remaining() as u64 {
            return Err(self.error(
                at,
                format!(
                    "{what} is {n}, more than the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        Ok(n as usize)
    }

    /// A string in any of its encodings (`rdbGenericLoadStringObject`).
    pub(super) fn string(&mut self, what: &str) -> Result<Vec<u8>, RdbError> {
        let at = self.pos;
        match self.length_or_encoding(what)? {
            Len::Plain(n) => Ok(self.take(n, what)?.to_vec()),
            Len::Encoded(0) => Ok((self.take(1, what)?[0] as i8).to_string().into_bytes()),
            Len::Encoded(1) => {
                let raw = self.take(2, what)?;
                Ok(i16::from_le_bytes([raw[0], raw[1]])
                    .to_string()
                    .into_bytes())
            }
            Len::Encoded(2) => {
                let raw = self.take(4, what)?;
                Ok(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])
                    .to_string()
                    .into_bytes())
            }
            Len::Encoded(3) => {
                let clen = self.len(what)?;
                let len = self.len(what)?;
                let packed = self.take(clen, what)?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                lzf::decompress(packed, len).map_err(|e| self.error(at, format!("{what}: {e}")))
            }
            Len::Encoded(e) => Err(self.error(at, format!("{what}: unknown string encoding {e}"))),
        }
    }

    pub(super) fn u64_le(&mut self, what: &str) -> Result<u64, RdbError> {
        let raw = self.take(8, what)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(raw);
        Ok(u64::from_le_bytes(le))
    }

    /// `rdbLoadDoubleValue` (type 3's scores): a length byte, with 253,
    /// 254 and 255 meaning NaN, +inf and -inf, then the ASCII number.
    pub(super) fn string_double(&mut self, what: &str) -> Result<f64, RdbError> {
        let at = self.pos;
        match self.byte(what)? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(u64::from(n), what)?;
                parse_score(text).ok_or_else(|| {
                    self.error(
                        at,
                        format!(
                            "{what}: {:?} is not a number",
                            String::from_utf8_lossy(text)
                        ),
                    )
                })
            }
        }
    }
}

/// Load an RDB file: check the header, call `each` for every key in file
/// order, verify the checksum, and return the aux fields.
///
/// `limits` decide encodings as Redis's `rdbLoadObject` does: a compact
/// hash, set or sorted set with more entries than the config allows is
/// converted; a `HASH` or `SET` that fits is made compact. Empty
/// collections are skipped (Redis 7.0 does too, after logging them);
/// expired keys are *not* skipped here, that is the caller's decision.
/// A checksum mismatch is found at the end, after the callbacks: a caller
/// that must not keep a partial load undoes it on error.
pub fn load(
    bytes: &[u8],
    limits: &Limits,
    mut each: impl FnMut(Loaded) -> Result<(), RdbError>,
) -> Result<Aux, RdbError> {
    let mut r = Reader::new(bytes);
    let magic = r.take(9, "the header")?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::new(
            0,
            "not an RDB file: it does not start with REDIS",
        ));
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u32>().ok())
        .ok_or_else(|| RdbError::new(5, "the RDB version is not four digits"))?;
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(RdbError::new(
            5,
            format!("RDB version {version} is not supported (Redis 7.0 reads 1 to {RDB_VERSION})"),
        ));
    }
    let mut aux = Aux {
        rdb_version: version,
        fields: Vec::new(),
    };
    let mut db = 0u32;
    let mut deadline: Option<u64> = None;
    let mut entry_start: Option<usize> = None;
    loop {
        let at = r.pos;
        let op = r.byte("an opcode")?;
        match op {
            opcode::EOF => break,
            opcode::EXPIRETIME_MS => {
                entry_start.get_or_insert(at);
                deadline = Some((r.u64_le("a deadline")? as i64).max(0) as u64);
                continue;
            }
            opcode::EXPIRETIME => {
                entry_start.get_or_insert(at);
                let raw = r.take(4, "a deadline")?;
                let seconds = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                deadline = Some((i64::from(seconds) * 1000).max(0) as u64);
                continue;
            }
            // LFU frequency and LRU idle time: eviction hints, written
            // only under an LFU/LRU maxmemory-policy; skipped.
            opcode::FREQ => {
                entry_start.get_or_insert(at);
                r.byte("an LFU frequency")?;
                continue;
            }
            opcode::IDLE => {
                entry_start.get_or_insert(at);
                r.len("an LRU idle time")?;
                continue;
            }
            opcode::SELECTDB => {
                let n = r.len("a database number")?;
                db = u32::try_from(n).map_err(|_| {
                    RdbError::new(at, format!("database number {n} is out of range"))
                })?;
                continue;
            }
            opcode::RESIZEDB => {
                r.len("a database size")?;
                r.len("a database's expires size")?;
                continue;
            }
            opcode::AUX => {
                let name = r.string("an aux field name")?;
                let value = r.string("an aux field value")?;
                aux.fields.push((name, value));
                continue;
            }
            opcode::MODULE_AUX => {
                return Err(RdbError::new(
                    at,
                    "module aux data is not supported (no modules here)",
                ));
            }
            opcode::FUNCTION_PRE_GA | opcode::FUNCTION2 => {
                return Err(RdbError::new(
                    at,
                    "functions (FUNCTION LOAD libraries) are not supported",
                ));
            }
            _ => {}
        }
        // A key: type byte `op`, the key, the value.
        let offset = entry_start.take().unwrap_or(at);
        let key = r.string("a key")?;
        let start = r.pos;
        let value = super::values::read_value(&mut r, op, limits, at)?;
        let payload = start..r.pos;
        let deadline_ms = deadline.take();
        if let Some(value) = value {
            each(Loaded {
                db,
                key: Bytes::from(key),
                value,
                deadline_ms,
                rdb_type: op,
                payload,
                offset,
            })?;
        }
    }
    let body_end = r.pos;
    if version >= 5 {
        let stored = r.u64_le("the checksum")?;
        if stored != 0 {
            let computed = crc64(0, &bytes[..body_end]);
            if stored != computed {
                return Err(RdbError::new(
                    body_end,
                    format!("checksum mismatch: the file says {stored:016x}, its bytes give {computed:016x}"),
                ));
            }
        }
    }
    Ok(aux)
}

/// One value as DUMP writes it and RESTORE reads it: the type byte and the
/// value, without key, footer or checksum (the caller checks those).
/// `Ok(None)` for an empty collection; trailing bytes are an error.
pub fn value_from_payload(bytes: &[u8], limits: &Limits) -> Result<Option<Value>, RdbError> {
    let mut r = Reader::new(bytes);
    let t = r.byte("the type")?;
    let value = super::values::read_value(&mut r, t, limits, 0)?;
    if r.pos != bytes.len() {
        return Err(RdbError::new(r.pos, "bytes after the value"));
    }
    Ok(value)
}
