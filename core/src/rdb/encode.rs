//! Writing an RDB file: [`Writer`] and the value encodings, each a port
//! of the `rdb.c` function named beside it, so that for the same data
//! our bytes are redis-server 7.0's bytes.

use std::io::{self, Write};

use super::crc64::crc64;
use super::intset;
use super::listpack::ListpackWriter;
use super::lzf::Compressor;
use super::{opcode, rdb_type, Aux, RDB_VERSION};
use crate::cmd::parse_i64;
use crate::keyspace::zset::format_score;
use crate::keyspace::{Hash, List, NodeLimit, Set, Value, ZSet};

/// `rdbSaveLen`: a length in 1, 2, 5 or 9 bytes. The top two bits of the
/// first byte say which: `00` six bits, `01` fourteen bits (big-endian),
/// `10` then `0x80` a u32 BE or `0x81` a u64 BE. (`11` marks a string in
/// a special encoding, see [`put_string`].)
pub fn put_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend([0x40 | (len >> 8) as u8, len as u8]);
    } else if let Ok(len32) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len32.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbEncodeInteger`: an integer that fits 32 bits as `0xC0` + i8,
/// `0xC1` + i16 LE or `0xC2` + i32 LE.
fn put_int_string(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(v) = i8::try_from(v) {
        out.extend([0xC0, v as u8]);
    } else if let Ok(v) = i16::try_from(v) {
        out.push(0xC1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(v) {
        out.push(0xC2);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// `rdbSaveRawString`: how every string of the file is stored (keys,
/// values, members, and the listpack and intset blobs themselves).
///
/// 1. Up to 11 bytes that spell a canonical integer fitting 32 bits: the
///    integer encoding (`"12345"` takes 3 bytes instead of 6).
/// 2. More than 20 bytes: LZF, if it saves at least 4 bytes (`0xC3`,
///    compressed length, original length, data). Redis's
///    `rdbcompression yes`, the default.
/// 3. Otherwise the length and the bytes.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], lzf: &mut Compressor) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if put_int_string(out, v) {
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(packed) = lzf.compress(s, s.len() - 4) {
            out.push(0xC3);
            put_len(out, packed.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Redis's `packed_threshold`: a list element this large lives alone in
/// a plain (not listpack) quicklist node.
const PLAIN_ELEMENT: usize = 1 << 30;
/// `SIZE_SAFETY_LIMIT`: a node limited by count still stays below 8 kB.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// `SIZE_ESTIMATE_OVERHEAD`: what Redis assumes one more entry adds to a
/// listpack beyond the element's bytes.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// `FILL_MAX`: the largest count limit a quicklist accepts.
const FILL_MAX: usize = (1 << 15) - 1;

/// Redis 7.0's `_quicklistNodeAllowInsert`: may a node of `node_bytes`
/// bytes (its `lpBytes`) and `count` elements take one more element of
/// `size` bytes?
fn node_has_room(limit: NodeLimit, node_bytes: usize, count: usize, size: usize) -> bool {
    let new_size = node_bytes + size + SIZE_ESTIMATE_OVERHEAD;
    match limit {
        NodeLimit::Bytes(max) => new_size <= max,
        NodeLimit::Entries(max) => new_size <= SIZE_SAFETY_LIMIT && count < max.min(FILL_MAX),
    }
}

/// The quicklist of `list` as RDB type 18 writes it.
///
/// Our list's nodes are filled by our own (similar, not identical) rule,
/// so the nodes are rebuilt here the way `quicklistPushTail` fills them
/// from Redis's listpack sizes: a list made by RPUSH comes out node for
/// node as redis-server writes it, and any list loads back the same.
fn put_list(out: &mut Vec<u8>, list: &List, limit: NodeLimit, lzf: &mut Compressor) {
    enum Node {
        Packed(Vec<u8>),
        Plain(Vec<u8>),
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut tail: Option<ListpackWriter> = None;
    for element in list.iter() {
        if element.len() >= PLAIN_ELEMENT {
            if let Some(node) = tail.take() {
                nodes.push(Node::Packed(node.finish()));
            }
            nodes.push(Node::Plain(element.to_vec()));
            continue;
        }
        match &mut tail {
            Some(node) if node_has_room(limit, node.bytes(), node.len(), element.len()) => {
                node.push(element)
            }
            _ => {
                if let Some(node) = tail.take() {
                    nodes.push(Node::Packed(node.finish()));
                }
                let mut node = ListpackWriter::new();
                node.push(element);
                tail = Some(node);
            }
        }
    }
    if let Some(node) = tail {
        nodes.push(Node::Packed(node.finish()));
    }
    put_len(out, nodes.len() as u64);
    for node in &nodes {
        // QUICKLIST_NODE_CONTAINER_PLAIN = 1, PACKED = 2.
        let (container, bytes) = match node {
            Node::Plain(b) => (1, b),
            Node::Packed(b) => (2, b),
        };
        put_len(out, container);
        put_string(out, bytes, lzf);
    }
}

/// `rdbSaveObjectType` + `rdbSaveObject`: append the encoded `value` to
/// `out` and return its RDB type byte.
pub fn put_value(
    out: &mut Vec<u8>,
    value: &Value,
    list_node: NodeLimit,
    lzf: &mut Compressor,
) -> u8 {
    match value {
        Value::String(s) => {
            put_string(out, s, lzf);
            rdb_type::STRING
        }
        Value::List(list) => {
            put_list(out, list, list_node, lzf);
            rdb_type::LIST_QUICKLIST_2
        }
        Value::Set(set) => match &**set {
            Set::Intset(values) => {
                put_string(out, &intset::encode(values), lzf);
                rdb_type::SET_INTSET
            }
            Set::Table(_) => {
                put_len(out, set.len() as u64);
                for member in set.iter() {
                    put_string(out, &member, lzf);
                }
                rdb_type::SET
            }
        },
        Value::Hash(hash) => match &**hash {
            Hash::Listpack(_) => {
                let mut lp = ListpackWriter::new();
                for (field, v) in hash.iter() {
                    lp.push(field);
                    lp.push(v);
                }
                put_string(out, &lp.finish(), lzf);
                rdb_type::HASH_LISTPACK
            }
            Hash::Table(_) => {
                put_len(out, hash.len() as u64);
                for (field, v) in hash.iter() {
                    put_string(out, field, lzf);
                    put_string(out, v, lzf);
                }
                rdb_type::HASH
            }
        },
        Value::ZSet(zset) => match &**zset {
            // Member, then the score as the string `d2string` prints
            // (`%.17g`), which the listpack stores as an integer when it
            // is one ("3", not "3.0").
            ZSet::Listpack(elements) => {
                let mut lp = ListpackWriter::new();
                for (score, member) in elements {
                    lp.push(member);
                    lp.push(format_score(*score).as_bytes());
                }
                put_string(out, &lp.finish(), lzf);
                rdb_type::ZSET_LISTPACK
            }
            // Greatest first, as Redis walks its skiplist from the tail
            // (so that loading inserts each at the head); scores as
            // binary little-endian doubles.
            ZSet::Skiplist(_) => {
                let all = zset.all();
                put_len(out, all.len() as u64);
                for (score, member) in all.iter().rev() {
                    put_string(out, member, lzf);
                    out.extend_from_slice(&score.to_le_bytes());
                }
                rdb_type::ZSET_2
            }
        },
    }
}

/// The RDB type and payload of one value, as DUMP and the byte-level
/// comparisons with redis-server need it.
pub fn value_payload(value: &Value, list_node: NodeLimit) -> (u8, Vec<u8>) {
    let mut out = Vec::new();
    let t = put_value(&mut out, value, list_node, &mut Compressor::new());
    (t, out)
}

/// Streams an RDB file to `out`, keeping the running CRC64.
///
/// The caller drives the layout: [`Writer::new`] writes the header and
/// aux fields, then for each non-empty database one
/// [`Writer::select_db`] followed by its [`Writer::entry`]s, then
/// [`Writer::finish`] writes `EOF` and the checksum.
pub struct Writer<W: Write> {
    out: W,
    crc: u64,
    written: u64,
    list_node: NodeLimit,
    lzf: Compressor,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Start a file: the `REDIS0010` magic and the aux fields of `aux`, in
    /// order. `list_node` is `list-max-listpack-size`, which decides how
    /// lists are cut into nodes.
    pub fn new(out: W, aux: &Aux, list_node: NodeLimit) -> io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            crc: 0,
            written: 0,
            list_node,
            lzf: Compressor::new(),
            buf: Vec::with_capacity(4096),
        };
        w.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        for (name, value) in &aux.fields {
            w.buf.push(opcode::AUX);
            put_string(&mut w.buf, name, &mut w.lzf);
            put_string(&mut w.buf, value, &mut w.lzf);
        }
        w.emit()?;
        Ok(w)
    }

    /// Write what is buffered, through the checksum.
    fn emit(&mut self) -> io::Result<()> {
        self.crc = crc64(self.crc, &self.buf);
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// `SELECTDB db`, then `RESIZEDB keys expires`: the size hints Redis
    /// uses to size its tables before loading (`keys` entries follow,
    /// `expires` of them with a deadline).
    pub fn select_db(&mut self, db: u32, keys: u64, expires: u64) -> io::Result<()> {
        self.buf.push(opcode::SELECTDB);
        put_len(&mut self.buf, u64::from(db));
        self.buf.push(opcode::RESIZEDB);
        put_len(&mut self.buf, keys);
        put_len(&mut self.buf, expires);
        self.emit()
    }

    /// One key (`rdbSaveKeyValuePair`): `EXPIRETIME_MS` + the absolute
    /// deadline (u64 LE) if it has one, the type byte, the key, the value.
    pub fn entry(&mut self, key: &[u8], value: &Value, deadline_ms: Option<u64>) -> io::Result<()> {
        if let Some(at) = deadline_ms {
            self.buf.push(opcode::EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        let type_at = self.buf.len();
        self.buf.push(0);
        put_string(&mut self.buf, key, &mut self.lzf);
        let t = put_value(&mut self.buf, value, self.list_node, &mut self.lzf);
        self.buf[type_at] = t;
        self.emit()
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// `EOF`, then the CRC64 of everything before it, little-endian.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(opcode::EOF);
        self.emit()?;
        self.out.write_all(&self.crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}
