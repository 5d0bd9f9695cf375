//! Reading an RDB file: [`load`] walks the opcodes and hands every key to
//! a callback as a ready [`Value`], built in the encoding Redis 7.0 would
//! pick for it on load under the given config limits.
//!
//! Everything read comes from an untrusted file: every length is checked
//! against the bytes that remain before anything is allocated for it, and
//! every problem is an [`RdbError`] naming the byte offset.

use std::ops::Range;

use bytes::Bytes;

use super::listpack::{self, Element};
use super::{crc64::crc64, intset, legacy, lzf, opcode, rdb_type, Aux, RdbError, RDB_VERSION};
use crate::dict::Dict;
use crate::keyspace::listpack::Listpack;
use crate::keyspace::{Hash, Limits, List, Set, Value, ZSet};

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

    fn byte(&mut self, what: &str) -> Result<u8, RdbError> {
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
    fn len(&mut self, what: &str) -> Result<u64, RdbError> {
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
    fn count(&mut self, what: &str) -> Result<usize, RdbError> {
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

    fn u64_le(&mut self, what: &str) -> Result<u64, RdbError> {
        let raw = self.take(8, what)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(raw);
        Ok(u64::from_le_bytes(le))
    }

    /// `rdbLoadDoubleValue` (type 3's scores): a length byte, with 253,
    /// 254 and 255 meaning NaN, +inf and -inf, then the ASCII number.
    fn string_double(&mut self, what: &str) -> Result<f64, RdbError> {
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

/// A score written as text (type 3, and inside listpacks and ziplists):
/// what `strtod` accepts for Redis's own output (`inf`, `-inf`, `1.5`,
/// `1e+20`).
fn parse_score(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse::<f64>().ok()
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
        let value = read_value(&mut r, op, limits, at)?;
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

/// A value of type `t` (the type byte was at `type_at`). `None` for an
/// empty collection, which is skipped as Redis 7.0 skips it.
pub(super) fn read_value(
    r: &mut Reader<'_>,
    t: u8,
    limits: &Limits,
    type_at: usize,
) -> Result<Option<Value>, RdbError> {
    let blob_error = |at: usize, what: &str, e: String| RdbError::new(at, format!("{what}: {e}"));
    Ok(match t {
        rdb_type::STRING => Some(Value::String(r.string("a string value")?)),
        rdb_type::LIST => {
            let n = r.count("a list's length")?;
            let mut elements = Vec::with_capacity(n);
            for _ in 0..n {
                elements.push(r.string("a list element")?);
            }
            list_value(elements.iter().map(Vec::as_slice), limits)
        }
        rdb_type::SET => {
            let n = r.count("a set's size")?;
            if n == 0 {
                return Ok(None);
            }
            // Redis: a set that may fit starts as an intset and turns into
            // a table at the first member that is not an integer.
            let mut set = if n > limits.set_intset_entries {
                Set::Table(Dict::new())
            } else {
                Set::Intset(Vec::new())
            };
            for _ in 0..n {
                let at = r.pos;
                let member = r.string("a set member")?;
                if !set.add(&member, limits) {
                    return Err(RdbError::new(at, "duplicate set member"));
                }
            }
            Some(Value::Set(Box::new(set)))
        }
        rdb_type::ZSET | rdb_type::ZSET_2 => {
            let n = r.count("a sorted set's size")?;
            let mut elements: Vec<(f64, Box<[u8]>)> = Vec::with_capacity(n);
            for _ in 0..n {
                let member = r.string("a sorted set member")?;
                let at = r.pos;
                let score = if t == rdb_type::ZSET_2 {
                    f64::from_le_bytes(r.u64_le("a score")?.to_le_bytes())
                } else {
                    r.string_double("a score")?
                };
                if score.is_nan() {
                    return Err(RdbError::new(at, "sorted set score is NaN"));
                }
                elements.push((score, member.into()));
            }
            // Converted after loading, as Redis does, since the file is
            // ordered from the greatest element down.
            zset_value(elements, limits.zset_entries, limits.zset_value, r.pos)?
        }
        rdb_type::HASH => {
            let n = r.count("a hash's size")?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let at = r.pos;
                pairs.push((r.string("a hash field")?, r.string("a hash value")?, at));
            }
            if pairs.is_empty() {
                return Ok(None);
            }
            // Redis: compact from the start if the count fits, converted
            // at the first field or value too long for it.
            let fits = pairs.len() <= limits.hash_entries
                && pairs
                    .iter()
                    .all(|(f, v, _)| f.len().max(v.len()) <= limits.hash_value);
            Some(hash_value(
                pairs
                    .iter()
                    .map(|(f, v, at)| (f.as_slice(), v.as_slice(), *at)),
                fits,
            )?)
        }
        rdb_type::LIST_QUICKLIST | rdb_type::LIST_QUICKLIST_2 => {
            let nodes = r.count("a quicklist's node count")?;
            let mut elements: Vec<Vec<u8>> = Vec::new();
            for _ in 0..nodes {
                let at = r.pos;
                let container = if t == rdb_type::LIST_QUICKLIST_2 {
                    r.len("a quicklist node's container")?
                } else {
                    2
                };
                let blob_at = r.pos;
                let blob = r.string("a quicklist node")?;
                if blob.is_empty() {
                    return Err(RdbError::new(blob_at, "empty quicklist node"));
                }
                match container {
                    1 => elements.push(blob),
                    2 => {
                        let parsed = if t == rdb_type::LIST_QUICKLIST_2 {
                            listpack::parse(&blob)
                        } else {
                            legacy::parse_ziplist(&blob)
                        };
                        let parsed =
                            parsed.map_err(|e| blob_error(blob_at, "a quicklist node", e))?;
                        elements.extend(parsed.into_iter().map(Element::to_bytes));
                    }
                    c => {
                        return Err(RdbError::new(
                            at,
                            format!(
                                "quicklist node container {c} is neither 1 (plain) nor 2 (packed)"
                            ),
                        ))
                    }
                }
            }
            list_value(elements.iter().map(Vec::as_slice), limits)
        }
        rdb_type::HASH_ZIPMAP
        | rdb_type::LIST_ZIPLIST
        | rdb_type::SET_INTSET
        | rdb_type::ZSET_ZIPLIST
        | rdb_type::HASH_ZIPLIST
        | rdb_type::ZSET_LISTPACK
        | rdb_type::HASH_LISTPACK => {
            let at = r.pos;
            let blob = r.string("an encoded value")?;
            let what = rdb_type::name(t);
            let fail = |e: String| blob_error(at, what, e);
            match t {
                rdb_type::HASH_ZIPMAP => {
                    let pairs = legacy::parse_zipmap(&blob).map_err(fail)?;
                    if pairs.is_empty() {
                        return Ok(None);
                    }
                    let fits = pairs.len() <= limits.hash_entries
                        && pairs
                            .iter()
                            .all(|(f, v)| f.len().max(v.len()) <= limits.hash_value);
                    Some(hash_value(
                        pairs.into_iter().map(|(f, v)| (f, v, at)),
                        fits,
                    )?)
                }
                rdb_type::LIST_ZIPLIST => {
                    let elements = legacy::parse_ziplist(&blob).map_err(fail)?;
                    let elements: Vec<Vec<u8>> =
                        elements.into_iter().map(Element::to_bytes).collect();
                    list_value(elements.iter().map(Vec::as_slice), limits)
                }
                rdb_type::SET_INTSET => {
                    let values = intset::decode(&blob).map_err(fail)?;
                    let mut set = Set::Intset(values);
                    if set.len() > limits.set_intset_entries {
                        let mut table = Set::Table(Dict::new());
                        for m in set.iter() {
                            table.add(&m, limits);
                        }
                        set = table;
                    }
                    Some(Value::Set(Box::new(set)))
                }
                _ => {
                    let elements =
                        if matches!(t, rdb_type::ZSET_ZIPLIST | rdb_type::HASH_ZIPLIST) {
                            legacy::parse_ziplist(&blob)
                        } else {
                            listpack::parse(&blob)
                        }
                        .map_err(fail)?;
                    if elements.len() % 2 != 0 {
                        return Err(fail(format!("{} elements, not pairs", elements.len())));
                    }
                    if elements.is_empty() {
                        return Ok(None);
                    }
                    let pairs: Vec<(Vec<u8>, Element<'_>)> = elements
                        .chunks_exact(2)
                        .map(|p| (p[0].to_bytes(), p[1]))
                        .collect();
                    if matches!(t, rdb_type::HASH_ZIPLIST | rdb_type::HASH_LISTPACK) {
                        // Only the count is checked on load (an O(1) test in
                        // Redis); long values stay compact until written.
                        let fits = pairs.len() <= limits.hash_entries;
                        let owned: Vec<(Vec<u8>, Vec<u8>)> =
                            pairs.into_iter().map(|(f, v)| (f, v.to_bytes())).collect();
                        Some(hash_value(
                            owned.iter().map(|(f, v)| (f.as_slice(), v.as_slice(), at)),
                            fits,
                        )?)
                    } else {
                        let mut scored = Vec::with_capacity(pairs.len());
                        for (member, score) in pairs {
                            let score = match score {
                                Element::Int(v) => v as f64,
                                Element::Str(s) => parse_score(s).ok_or_else(|| {
                                    fail(format!(
                                        "score {:?} is not a number",
                                        String::from_utf8_lossy(s)
                                    ))
                                })?,
                            };
                            if score.is_nan() {
                                return Err(fail("score is NaN".into()));
                            }
                            scored.push((score, member.into_boxed_slice()));
                        }
                        // Again only the count: long members stay compact.
                        zset_value(scored, limits.zset_entries, usize::MAX, at)?
                    }
                }
            }
        }
        rdb_type::MODULE_PRE_GA | rdb_type::MODULE_2 => {
            return Err(RdbError::new(
                type_at,
                format!(
                    "{} (type {t}) are not supported: no modules here",
                    rdb_type::name(t)
                ),
            ));
        }
        rdb_type::STREAM_LISTPACKS
        | rdb_type::STREAM_LISTPACKS_2
        | rdb_type::STREAM_LISTPACKS_3
        | rdb_type::SET_LISTPACK => {
            return Err(RdbError::new(
                type_at,
                format!("{} (RDB type {t}) are not supported yet", rdb_type::name(t)),
            ));
        }
        _ => return Err(RdbError::new(type_at, format!("unknown value type {t}"))),
    })
}

/// A list of `elements` (none: an empty key, skipped).
fn list_value<'e>(elements: impl Iterator<Item = &'e [u8]>, limits: &Limits) -> Option<Value> {
    let list = List::from_elements(elements, limits.list_node);
    (!list.is_empty()).then(|| Value::List(Box::new(list)))
}

/// A hash of `(field, value, offset)` triples: a listpack if `fits`, else
/// a table. A repeated field is an error (Redis: "Duplicate hash fields").
fn hash_value<'e>(
    pairs: impl Iterator<Item = (&'e [u8], &'e [u8], usize)>,
    fits: bool,
) -> Result<Value, RdbError> {
    let mut seen: Dict<()> = Dict::new();
    let mut lp = Listpack::new();
    let mut table: Dict<Vec<u8>> = Dict::new();
    for (field, value, at) in pairs {
        if seen.insert(field, ()).is_some() {
            return Err(RdbError::new(
                at,
                format!("duplicate hash field {:?}", String::from_utf8_lossy(field)),
            ));
        }
        if fits {
            lp.push(field);
            lp.push(value);
        } else {
            table.insert(field, value.to_vec());
        }
    }
    let hash = if fits {
        Hash::Listpack(lp)
    } else {
        Hash::Table(table)
    };
    Ok(Value::Hash(Box::new(hash)))
}

/// A sorted set of `elements`, in the encoding [`ZSet::from_elements`]
/// picks for these limits. A repeated member is an error.
fn zset_value(
    elements: Vec<(f64, Box<[u8]>)>,
    max_entries: usize,
    max_value: usize,
    at: usize,
) -> Result<Option<Value>, RdbError> {
    if elements.is_empty() {
        return Ok(None);
    }
    let mut members: Vec<&[u8]> = elements.iter().map(|(_, m)| &m[..]).collect();
    members.sort_unstable();
    if let Some(w) = members.windows(2).find(|w| w[0] == w[1]) {
        return Err(RdbError::new(
            at,
            format!(
                "duplicate sorted set member {:?}",
                String::from_utf8_lossy(w[0])
            ),
        ));
    }
    Ok(Some(Value::ZSet(Box::new(ZSet::from_elements(
        &elements,
        max_entries,
        max_value,
    )))))
}
