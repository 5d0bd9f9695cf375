//! The RDB file format of Redis 7.0 (RDB version 10): a snapshot of every
//! database in one file, written by SAVE/BGSAVE and read at start-up. This
//! module is the pure codec: bytes in, values out, and back. It takes no
//! lock and reads no clock; `Executor::save_rdb`/`load_rdb` connect it to
//! the store.
//!
//! ## The file, top to bottom
//!
//! ```text
//! "REDIS0010"                         magic and 4-digit version
//! FA <name> <value>                   AUX: redis-ver, redis-bits, ctime, used-mem, aof-base
//! FE <db>                             SELECTDB (only databases with keys)
//! FB <keys> <keys with a deadline>    RESIZEDB: size hints for the tables
//! [FC <u64 LE ms>] <type> <key> <value>   one entry per key; FC = EXPIRETIME_MS
//! ...                                 (more SELECTDB sections)
//! FF                                  EOF
//! <CRC64 of everything above, u64 LE> (0 means "not computed")
//! ```
//!
//! Older files may also hold `FD <u32 LE seconds>` (EXPIRETIME), `F9`
//! (LFU frequency) and `F8` (LRU idle time) before an entry; module aux
//! data (`F7`) and function libraries (`F6`, `F5`) are refused here.
//!
//! ## Lengths and strings
//! A *length* is 1, 2, 5 or 9 bytes, chosen by the first byte's top two
//! bits (`00` 6-bit, `01` 14-bit big-endian, `0x80` u32 BE, `0x81` u64 BE;
//! see [`encode::put_len`]). A *string* is a length and its bytes, unless
//! the top bits are `11`: then the low six say how it is encoded:
//! `0xC0`/`C1`/`C2` an integer in 1, 2 or 4 bytes LE (the string is its
//! decimal form), `0xC3` LZF-compressed ([`lzf`]). Keys, values, members,
//! aux fields and the blobs of compact encodings are all strings.
//!
//! ## Values
//! The type byte says how the value that follows is laid out. Redis 7.0
//! writes these (the encoding follows the one the value has in memory):
//!
//! | type | name                | layout                                                  |
//! |------|---------------------|---------------------------------------------------------|
//! | 0    | STRING              | one string                                              |
//! | 2    | SET                 | count, then members                                     |
//! | 4    | HASH                | count, then field, value, field, value...               |
//! | 5    | ZSET_2              | count, then member + score (f64 LE), greatest first     |
//! | 11   | SET_INTSET          | one string: an [`intset`] blob                          |
//! | 16   | HASH_LISTPACK       | one string: a [`listpack`] of field, value, ...         |
//! | 17   | ZSET_LISTPACK       | one string: a listpack of member, score-as-text, ...    |
//! | 18   | LIST_QUICKLIST_2    | node count, then per node: container (2 = listpack, 1 = one plain element) and a string |
//!
//! and it still reads the older 1 (LIST: count + elements), 3 (ZSET:
//! scores as text), 9 (zipmap hash), 10 (one ziplist list), 12/13
//! (ziplist sorted set/hash) and 14 (quicklist of ziplists): see
//! [`legacy`]. Streams (15, 19) and module values (6, 7) are refused with
//! an error naming them.
//!
//! The reader never trusts a length: each is checked against the bytes
//! that remain before anything is allocated for it, every malformed input
//! is an [`RdbError`] with the byte offset, never a panic.

pub mod crc64;
mod decode;
pub mod encode;
pub mod intset;
pub mod legacy;
pub mod listpack;
pub mod lzf;
mod values;

use std::fmt;

pub use decode::{load, value_from_payload, Loaded};
pub use encode::{value_payload, Writer};

/// The version this server writes (Redis 7.0's `RDB_VERSION`).
pub const RDB_VERSION: u32 = 10;

/// The version string written into `redis-ver`: the Redis release whose
/// format and behaviour this server follows.
pub const REDIS_VERSION: &str = "7.0.15";

/// The opcodes that may stand where a value's type byte would
/// (`RDB_OPCODE_*` in `rdb.h`).
pub mod opcode {
    /// Function library, Redis 7.0 GA.
    pub const FUNCTION2: u8 = 245;
    /// Function library, Redis 7.0 release candidates.
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// The value types (`RDB_TYPE_*` in `rdb.h`).
pub mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Redis 7.2 (RDB 11): sets as listpacks.
    pub const SET_LISTPACK: u8 = 20;
    /// Redis 7.2 (RDB 11).
    pub const STREAM_LISTPACKS_3: u8 = 21;

    /// A name for messages.
    pub fn name(t: u8) -> &'static str {
        match t {
            STRING => "string",
            LIST => "list",
            SET => "set",
            ZSET | ZSET_2 => "sorted set",
            HASH => "hash",
            MODULE_PRE_GA | MODULE_2 => "module values",
            HASH_ZIPMAP => "zipmap hash",
            LIST_ZIPLIST => "ziplist list",
            SET_INTSET => "intset",
            ZSET_ZIPLIST => "ziplist sorted set",
            HASH_ZIPLIST => "ziplist hash",
            LIST_QUICKLIST | LIST_QUICKLIST_2 => "quicklist",
            STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 => "streams",
            HASH_LISTPACK => "listpack hash",
            ZSET_LISTPACK => "listpack sorted set",
            SET_LISTPACK => "listpack sets (Redis 7.2)",
            _ => "unknown type",
        }
    }
}

/// A file that cannot be loaded: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdbError {
    /// Byte offset in the file where the problem was found.
    pub offset: usize,
    pub message: String,
}

impl RdbError {
    pub fn new(offset: usize, message: impl Into<String>) -> RdbError {
        RdbError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad RDB file at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for RdbError {}

/// The aux fields of a file, in file order, and the RDB version it had.
/// Loaders must skip fields they do not know (the AUX contract), so this
/// is a plain list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aux {
    pub rdb_version: u32,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Aux {
    /// The fields Redis 7.0's `rdbSaveInfoAuxFields` writes for SAVE on a
    /// master without replicas, in its order: `redis-ver`, `redis-bits`,
    /// `ctime` (Unix seconds), `used-mem` (bytes) and `aof-base` (1 when
    /// the file is the base of a multi-part AOF).
    pub fn redis_7_0(ctime_s: u64, used_mem: u64, aof_base: bool) -> Aux {
        let field = |k: &str, v: String| (k.as_bytes().to_vec(), v.into_bytes());
        Aux {
            rdb_version: RDB_VERSION,
            fields: vec![
                field("redis-ver", REDIS_VERSION.to_string()),
                field("redis-bits", "64".to_string()),
                field("ctime", ctime_s.to_string()),
                field("used-mem", used_mem.to_string()),
                field("aof-base", u8::from(aof_base).to_string()),
            ],
        }
    }

    /// The value of field `name`, if present.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

/// What [`crate::Executor::save_rdb`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaveStats {
    /// Keys written (live keys only: a key past its deadline is left out).
    pub keys: u64,
    /// How many of them carry a deadline.
    pub expires: u64,
    /// Databases that had keys (one `SELECTDB` each).
    pub databases: u32,
    /// Size of the file, checksum included.
    pub bytes: u64,
}

/// What [`crate::Executor::load_rdb`] loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Keys now in the store.
    pub keys: u64,
    /// Keys left out because their deadline had passed (Redis's
    /// `rdb_last_load_keys_expired`).
    pub expired: u64,
    /// The file's version and aux fields.
    pub aux: Aux,
}

#[cfg(test)]
mod tests;
