//! The command language of the model-based tests and the structured fuzz
//! target: a typed subset of Redis's string, hash, set, list, sorted set,
//! keyspace and expiry commands, plus the two things that happen *between*
//! commands (the clock moves, the active-expiry cycle runs).
//!
//! Keys, values, hash fields, set members, list elements and scores are
//! indices into small fixed alphabets ([`KEYS`], [`VALUES`], [`FIELDS`],
//! [`MEMBERS`], [`ELEMENTS`], [`SCORES`]) so that random sequences keep
//! hitting the same keys (a command on a key nobody else touches tests very
//! little), keep meeting the integers where counters overflow and the
//! scores Redis prints oddly, and keep putting values of every type at the
//! same key (WRONGTYPE). Every command renders to the exact
//! arguments a client would send ([`Command::args`]) and prints the way you
//! would type it into `redis-cli` ([`Command`]'s `Debug`), so a shrunk
//! failure reads as a session you can paste into a real Redis.

mod sessions;

pub use sessions::{known_core_divergences, list_zset_sessions, type_sessions};

use std::fmt;

/// The start of every test's virtual clock: Unix time in milliseconds
/// (2023-11-14), a realistic value so deadlines are big numbers, as in
/// production.
pub const T0_MS: u64 = 1_700_000_000_000;

/// The key alphabet: few keys, so commands collide. They spread over
/// different shards (and, with 1 or 2 shards, share them), and two are
/// awkward on purpose: one contains a space (quoting in inline commands and
/// in this crate's printing) and one a NUL and a non-ASCII byte (binary
/// safety).
pub const KEYS: &[&[u8]] = &[b"a", b"b", b"c", b"counter", b"sp ace", b"\x00bin\xff"];

/// The value alphabet: integers at the edges of `i64` (so INCR & co.
/// overflow), strings that look like integers but are not to Redis
/// (`-0`, `01`, ` 1`), and plain text.
pub const VALUES: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"42",
    b"",
    b"abc",
    b"hello world",
    b"-0",
    b"01",
    b" 1",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775806",
    b"-9223372036854775807",
    b"\r\n",
];

/// The hash field alphabet. Few fields and short values (at most the 20
/// bytes of [`VALUES`]' longest) keep every test hash a listpack in Redis
/// 7.0 (up to `hash-max-listpack-entries`, 512 fields by default, of
/// at most `hash-max-listpack-value`, 64 bytes), which lists its fields in
/// insertion order: that is why HGETALL, HKEYS and HVALS can be compared
/// exactly. A hash table's order would be unspecified.
pub const FIELDS: &[&[u8]] = &[b"f", b"g", b"1", b"", b"sp ace"];

/// The set member alphabet: canonical integers (a set of only those is an
/// *intset*, listed in ascending order), text (the first one turns the set
/// into a hash table, listed in no specified order, for good), and strings
/// that look like integers but are not to Redis (`01` is not `1`, `-0` is
/// not `0`), so an intset must not find them.
pub const MEMBERS: &[&[u8]] = &[
    b"1",
    b"2",
    b"-3",
    b"0",
    b"9223372036854775807",
    b"a",
    b"b",
    b"",
    b"01",
    b"-0",
];

/// The list element alphabet: few elements, so LREM and LINSERT's pivot
/// find them, including the empty string and one with a space.
pub const ELEMENTS: &[&[u8]] = &[b"a", b"b", b"c", b"1", b"", b"sp ace"];

/// The score alphabet of sorted sets. Redis 7.0 prints a score with
/// `%.17g`, so `0.1` and `1.1` come back as `0.10000000000000001` and
/// `1.1000000000000001`; `1e20` as `1e+20`; infinities as `inf`/`-inf`;
/// `-0` is a valid score that Redis stores as `0`. The last four are not
/// valid scores (`string2d`: no NaN, no empty string, no leading space, no
/// overflow), though some are valid *range bounds* (`strtod` reads `""` as
/// 0, `1e400` as infinity): see [`Bound`].
pub const SCORES: &[&[u8]] = &[
    b"1", b"0.1", b"1.1", b"2.5", b"-3", b"inf", b"-inf", b"+inf", b"1e20", b"0", b"-0", b"abc",
    b"nan", b"", b"1e400",
];

/// Argument strings that are not integers to Redis's `string2ll`.
pub const NOT_INTEGERS: &[&[u8]] = &[
    b"abc",
    b"1.5",
    b"",
    b"+1",
    b"01",
    b"-0",
    b" 1",
    b"99999999999999999999",
];

/// A key: an index into [`KEYS`] (taken modulo its length, so any byte is
/// a valid key for the fuzzer).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Key(pub u8);

impl Key {
    pub fn bytes(self) -> &'static [u8] {
        KEYS[usize::from(self.0) % KEYS.len()]
    }

    /// Every key of the alphabet.
    pub fn all() -> impl Iterator<Item = Key> {
        (0..KEYS.len()).map(|i| Key(i as u8))
    }
}

/// A value: an index into [`VALUES`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Val(pub u8);

impl Val {
    pub fn bytes(self) -> &'static [u8] {
        VALUES[usize::from(self.0) % VALUES.len()]
    }
}

/// A hash field: an index into [`FIELDS`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Field(pub u8);

impl Field {
    pub fn bytes(self) -> &'static [u8] {
        FIELDS[usize::from(self.0) % FIELDS.len()]
    }
}

/// A set member: an index into [`MEMBERS`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Member(pub u8);

impl Member {
    pub fn bytes(self) -> &'static [u8] {
        MEMBERS[usize::from(self.0) % MEMBERS.len()]
    }
}

/// A list element: an index into [`ELEMENTS`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Elem(pub u8);

impl Elem {
    pub fn bytes(self) -> &'static [u8] {
        ELEMENTS[usize::from(self.0) % ELEMENTS.len()]
    }
}

/// A score argument: an index into [`SCORES`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Score(pub u8);

impl Score {
    pub fn bytes(self) -> &'static [u8] {
        SCORES[usize::from(self.0) % SCORES.len()]
    }
}

/// A score range bound (ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE): a
/// score, exclusive when prefixed with `(`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Bound {
    pub exclusive: bool,
    pub score: Score,
}

impl Bound {
    pub fn bytes(self) -> Vec<u8> {
        let mut out = if self.exclusive {
            b"(".to_vec()
        } else {
            Vec::new()
        };
        out.extend_from_slice(self.score.bytes());
        out
    }
}

/// The end of a list that LMOVE pops from or pushes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum End {
    Left,
    Right,
}

impl End {
    fn name(self) -> &'static str {
        match self {
            End::Left => "LEFT",
            End::Right => "RIGHT",
        }
    }
}

/// Where LINSERT puts the element, relative to the pivot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Side {
    Before,
    After,
}

/// One option of ZADD, in the order given (Redis accepts any order and
/// refuses some combinations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ZAddOpt {
    Nx,
    Xx,
    Gt,
    Lt,
    Ch,
    Incr,
}

impl ZAddOpt {
    fn name(self) -> &'static str {
        match self {
            ZAddOpt::Nx => "NX",
            ZAddOpt::Xx => "XX",
            ZAddOpt::Gt => "GT",
            ZAddOpt::Lt => "LT",
            ZAddOpt::Ch => "CH",
            ZAddOpt::Incr => "INCR",
        }
    }
}

/// An argument where Redis expects an integer: usually one, sometimes a
/// string it must refuse.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Num {
    Int(i64),
    /// An index into [`NOT_INTEGERS`].
    NotInt(u8),
}

impl Num {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Num::Int(n) => n.to_string().into_bytes(),
            Num::NotInt(i) => NOT_INTEGERS[usize::from(i) % NOT_INTEGERS.len()].to_vec(),
        }
    }
}

/// An absolute time argument (EXAT, PXAT, EXPIREAT, PEXPIREAT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum At {
    /// This many units (seconds or milliseconds, as the command's) after
    /// [`T0_MS`], the clock's start: deadlines near "now", which is where
    /// expiry is interesting.
    FromStart(i32),
    /// Any number: far past, far future, overflow, not a number.
    Raw(Num),
}

impl At {
    fn bytes(self, seconds: bool) -> Vec<u8> {
        match self {
            At::FromStart(offset) => {
                let start = if seconds { T0_MS / 1000 } else { T0_MS } as i64;
                (start + i64::from(offset)).to_string().into_bytes()
            }
            At::Raw(n) => n.bytes(),
        }
    }
}

/// One option of SET, in the order given (Redis accepts any order, and
/// rejects conflicting combinations: the model checks that too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SetOpt {
    Nx,
    Xx,
    Get,
    KeepTtl,
    Ex(Num),
    Px(Num),
    ExAt(At),
    PxAt(At),
}

/// One condition of the EXPIRE family (Redis 7.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ExpireCond {
    Nx,
    Xx,
    Gt,
    Lt,
}

impl ExpireCond {
    fn name(self) -> &'static str {
        match self {
            ExpireCond::Nx => "NX",
            ExpireCond::Xx => "XX",
            ExpireCond::Gt => "GT",
            ExpireCond::Lt => "LT",
        }
    }
}

/// A BITFIELD type as sent: `i` or `u` and a width. Widths 0, 64 (for
/// `u`) and 65 are invalid and must get Redis's type error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FieldType {
    pub signed: bool,
    pub bits: u8,
}

impl FieldType {
    fn bytes(self) -> Vec<u8> {
        format!("{}{}", if self.signed { 'i' } else { 'u' }, self.bits).into_bytes()
    }
}

/// The names OVERFLOW is given: the three of Redis, and one it refuses.
pub const OVERFLOWS: &[&str] = &["WRAP", "SAT", "FAIL", "BAD"];

/// One operation of BITFIELD: the field's type, its bit offset, the value
/// or increment; OVERFLOW's name is an index into [`OVERFLOWS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum FieldOp {
    Get(FieldType, u8),
    Set(FieldType, u8, Num),
    IncrBy(FieldType, u8, Num),
    Overflow(u8),
}

/// One step of a test: a command, or something that happens between
/// commands.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Command {
    Set(Key, Val, Vec<SetOpt>),
    Get(Key),
    GetDel(Key),
    SetNx(Key, Val),
    /// An empty key list is sent as is, and must get the arity error.
    Del(Vec<Key>),
    Exists(Vec<Key>),
    Incr(Key),
    Decr(Key),
    IncrBy(Key, Num),
    DecrBy(Key, Num),
    Append(Key, Val),
    Strlen(Key),
    MSet(Vec<(Key, Val)>),
    MGet(Vec<Key>),
    MSetNx(Vec<(Key, Val)>),
    Rename(Key, Key),
    RenameNx(Key, Key),
    Expire(Key, Num, Vec<ExpireCond>),
    PExpire(Key, Num, Vec<ExpireCond>),
    ExpireAt(Key, At, Vec<ExpireCond>),
    PExpireAt(Key, At, Vec<ExpireCond>),
    Persist(Key),
    Ttl(Key),
    Pttl(Key),
    DbSize,
    /// BITFIELD key [GET|SET|INCRBY|OVERFLOW ...]
    BitField(Key, Vec<FieldOp>),
    /// TYPE key
    Type(Key),
    /// HSET key field value [field value ...], then, if there is one, a
    /// field without its value (an odd argument count: the arity error,
    /// as with no pair at all).
    HSet(Key, Vec<(Field, Val)>, Option<Field>),
    HGet(Key, Field),
    /// An empty field list must get the arity error (as HDEL's).
    HMGet(Key, Vec<Field>),
    HDel(Key, Vec<Field>),
    HLen(Key),
    HExists(Key, Field),
    HStrlen(Key, Field),
    HIncrBy(Key, Field, Num),
    HGetAll(Key),
    HKeys(Key),
    HVals(Key),
    /// An empty member list must get the arity error (as SREM's and
    /// SMISMEMBER's).
    SAdd(Key, Vec<Member>),
    SRem(Key, Vec<Member>),
    SCard(Key),
    SIsMember(Key, Member),
    SMIsMember(Key, Vec<Member>),
    SMembers(Key),
    /// SINTER key [key ...] (SUNION, SDIFF alike): an empty list is the
    /// arity error.
    SInter(Vec<Key>),
    SUnion(Vec<Key>),
    SDiff(Vec<Key>),
    /// SINTERSTORE destination key [key ...] (SUNIONSTORE, SDIFFSTORE
    /// alike).
    SInterStore(Key, Vec<Key>),
    SUnionStore(Key, Vec<Key>),
    SDiffStore(Key, Vec<Key>),
    /// SMOVE source destination member
    SMove(Key, Key, Member),
    /// `LPUSH key element [element ...]` (RPUSH, LPUSHX, RPUSHX alike): an
    /// empty list is the arity error.
    LPush(Key, Vec<Elem>),
    RPush(Key, Vec<Elem>),
    LPushX(Key, Vec<Elem>),
    RPushX(Key, Vec<Elem>),
    /// `LPOP key [count]`
    LPop(Key, Option<Num>),
    RPop(Key, Option<Num>),
    LLen(Key),
    /// LRANGE key start stop
    LRange(Key, Num, Num),
    LIndex(Key, Num),
    LSet(Key, Num, Elem),
    /// LREM key count element
    LRem(Key, Num, Elem),
    LTrim(Key, Num, Num),
    /// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`
    LMove(Key, Key, End, End),
    RPopLPush(Key, Key),
    /// `LINSERT key BEFORE|AFTER pivot element`
    LInsert(Key, Side, Elem, Elem),
    /// `ZADD key [options] score member [score member ...]`: no pair at
    /// all is the arity error or a syntax error, as in Redis.
    ZAdd(Key, Vec<ZAddOpt>, Vec<(Score, Member)>),
    ZIncrBy(Key, Score, Member),
    /// An empty member list is the arity error.
    ZRem(Key, Vec<Member>),
    ZCard(Key),
    ZScore(Key, Member),
    ZRank(Key, Member),
    ZRevRank(Key, Member),
    /// `ZRANGE key start stop [WITHSCORES]` (by rank).
    ZRange(Key, Num, Num, bool),
    /// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
    ZRangeByScore(Key, Bound, Bound, bool, Option<(Num, Num)>),
    ZCount(Key, Bound, Bound),
    /// `ZPOPMIN key [count]`
    ZPopMin(Key, Option<Num>),
    ZPopMax(Key, Option<Num>),
    ZRemRangeByScore(Key, Bound, Bound),
    /// The clock moves forward by this many microseconds before the next
    /// command (what a real server sees between two requests).
    Advance(u32),
    /// The shell's periodic active-expiry cycle runs once.
    ActiveExpire,
}

impl Command {
    /// The arguments a client sends for this command; empty for the steps
    /// that are not commands ([`Command::Advance`], [`Command::ActiveExpire`]).
    pub fn args(&self) -> Vec<Vec<u8>> {
        let name = |s: &str| s.as_bytes().to_vec();
        let key = |k: &Key| k.bytes().to_vec();
        let keys = |cmd: &str, ks: &[Key]| {
            let mut out = vec![name(cmd)];
            out.extend(ks.iter().map(key));
            out
        };
        let pairs = |cmd: &str, kvs: &[(Key, Val)]| {
            let mut out = vec![name(cmd)];
            for (k, v) in kvs {
                out.push(k.bytes().to_vec());
                out.push(v.bytes().to_vec());
            }
            out
        };
        let expire = |cmd: &str, k: &Key, amount: Vec<u8>, conds: &[ExpireCond]| {
            let mut out = vec![name(cmd), key(k), amount];
            out.extend(conds.iter().map(|c| name(c.name())));
            out
        };
        match self {
            Command::Set(k, v, opts) => {
                let mut out = vec![name("SET"), key(k), v.bytes().to_vec()];
                for opt in opts {
                    match opt {
                        SetOpt::Nx => out.push(name("NX")),
                        SetOpt::Xx => out.push(name("XX")),
                        SetOpt::Get => out.push(name("GET")),
                        SetOpt::KeepTtl => out.push(name("KEEPTTL")),
                        SetOpt::Ex(n) => out.extend([name("EX"), n.bytes()]),
                        SetOpt::Px(n) => out.extend([name("PX"), n.bytes()]),
                        SetOpt::ExAt(at) => out.extend([name("EXAT"), at.bytes(true)]),
                        SetOpt::PxAt(at) => out.extend([name("PXAT"), at.bytes(false)]),
                    }
                }
                out
            }
            Command::Get(k) => vec![name("GET"), key(k)],
            Command::GetDel(k) => vec![name("GETDEL"), key(k)],
            Command::SetNx(k, v) => vec![name("SETNX"), key(k), v.bytes().to_vec()],
            Command::Del(ks) => keys("DEL", ks),
            Command::Exists(ks) => keys("EXISTS", ks),
            Command::Incr(k) => vec![name("INCR"), key(k)],
            Command::Decr(k) => vec![name("DECR"), key(k)],
            Command::IncrBy(k, n) => vec![name("INCRBY"), key(k), n.bytes()],
            Command::DecrBy(k, n) => vec![name("DECRBY"), key(k), n.bytes()],
            Command::Append(k, v) => vec![name("APPEND"), key(k), v.bytes().to_vec()],
            Command::Strlen(k) => vec![name("STRLEN"), key(k)],
            Command::MSet(kvs) => pairs("MSET", kvs),
            Command::MGet(ks) => keys("MGET", ks),
            Command::MSetNx(kvs) => pairs("MSETNX", kvs),
            Command::Rename(a, b) => vec![name("RENAME"), key(a), key(b)],
            Command::RenameNx(a, b) => vec![name("RENAMENX"), key(a), key(b)],
            Command::Expire(k, n, c) => expire("EXPIRE", k, n.bytes(), c),
            Command::PExpire(k, n, c) => expire("PEXPIRE", k, n.bytes(), c),
            Command::ExpireAt(k, at, c) => expire("EXPIREAT", k, at.bytes(true), c),
            Command::PExpireAt(k, at, c) => expire("PEXPIREAT", k, at.bytes(false), c),
            Command::Persist(k) => vec![name("PERSIST"), key(k)],
            Command::Ttl(k) => vec![name("TTL"), key(k)],
            Command::Pttl(k) => vec![name("PTTL"), key(k)],
            Command::DbSize => vec![name("DBSIZE")],
            Command::BitField(k, ops) => {
                let mut out = vec![name("BITFIELD"), key(k)];
                for op in ops {
                    let field = |t: &FieldType, offset: &u8| [t.bytes(), name(&offset.to_string())];
                    match op {
                        FieldOp::Get(t, o) => {
                            out.push(name("GET"));
                            out.extend(field(t, o));
                        }
                        FieldOp::Set(t, o, n) => {
                            out.push(name("SET"));
                            out.extend(field(t, o));
                            out.push(n.bytes());
                        }
                        FieldOp::IncrBy(t, o, n) => {
                            out.push(name("INCRBY"));
                            out.extend(field(t, o));
                            out.push(n.bytes());
                        }
                        FieldOp::Overflow(i) => out.extend([
                            name("OVERFLOW"),
                            name(OVERFLOWS[usize::from(*i) % OVERFLOWS.len()]),
                        ]),
                    }
                }
                out
            }
            Command::Type(k) => vec![name("TYPE"), key(k)],
            Command::HSet(k, pairs, dangling) => {
                let mut out = vec![name("HSET"), key(k)];
                for (f, v) in pairs {
                    out.extend([f.bytes().to_vec(), v.bytes().to_vec()]);
                }
                out.extend(dangling.map(|f| f.bytes().to_vec()));
                out
            }
            Command::HGet(k, f) => vec![name("HGET"), key(k), f.bytes().to_vec()],
            Command::HMGet(k, fs) => key_then("HMGET", k, fs.iter().map(|f| f.bytes())),
            Command::HDel(k, fs) => key_then("HDEL", k, fs.iter().map(|f| f.bytes())),
            Command::HLen(k) => vec![name("HLEN"), key(k)],
            Command::HExists(k, f) => vec![name("HEXISTS"), key(k), f.bytes().to_vec()],
            Command::HStrlen(k, f) => vec![name("HSTRLEN"), key(k), f.bytes().to_vec()],
            Command::HIncrBy(k, f, n) => {
                vec![name("HINCRBY"), key(k), f.bytes().to_vec(), n.bytes()]
            }
            Command::HGetAll(k) => vec![name("HGETALL"), key(k)],
            Command::HKeys(k) => vec![name("HKEYS"), key(k)],
            Command::HVals(k) => vec![name("HVALS"), key(k)],
            Command::SAdd(k, ms) => key_then("SADD", k, ms.iter().map(|m| m.bytes())),
            Command::SRem(k, ms) => key_then("SREM", k, ms.iter().map(|m| m.bytes())),
            Command::SCard(k) => vec![name("SCARD"), key(k)],
            Command::SIsMember(k, m) => vec![name("SISMEMBER"), key(k), m.bytes().to_vec()],
            Command::SMIsMember(k, ms) => key_then("SMISMEMBER", k, ms.iter().map(|m| m.bytes())),
            Command::SMembers(k) => vec![name("SMEMBERS"), key(k)],
            Command::SInter(ks) => keys("SINTER", ks),
            Command::SUnion(ks) => keys("SUNION", ks),
            Command::SDiff(ks) => keys("SDIFF", ks),
            Command::SInterStore(d, ks) => key_then("SINTERSTORE", d, ks.iter().map(|k| k.bytes())),
            Command::SUnionStore(d, ks) => key_then("SUNIONSTORE", d, ks.iter().map(|k| k.bytes())),
            Command::SDiffStore(d, ks) => key_then("SDIFFSTORE", d, ks.iter().map(|k| k.bytes())),
            Command::SMove(src, dst, m) => {
                vec![name("SMOVE"), key(src), key(dst), m.bytes().to_vec()]
            }
            Command::LPush(k, es) => key_then("LPUSH", k, es.iter().map(|e| e.bytes())),
            Command::RPush(k, es) => key_then("RPUSH", k, es.iter().map(|e| e.bytes())),
            Command::LPushX(k, es) => key_then("LPUSHX", k, es.iter().map(|e| e.bytes())),
            Command::RPushX(k, es) => key_then("RPUSHX", k, es.iter().map(|e| e.bytes())),
            Command::LPop(k, n) => optional("LPOP", k, n),
            Command::RPop(k, n) => optional("RPOP", k, n),
            Command::LLen(k) => vec![name("LLEN"), key(k)],
            Command::LRange(k, a, b) => vec![name("LRANGE"), key(k), a.bytes(), b.bytes()],
            Command::LIndex(k, i) => vec![name("LINDEX"), key(k), i.bytes()],
            Command::LSet(k, i, e) => vec![name("LSET"), key(k), i.bytes(), e.bytes().to_vec()],
            Command::LRem(k, n, e) => vec![name("LREM"), key(k), n.bytes(), e.bytes().to_vec()],
            Command::LTrim(k, a, b) => vec![name("LTRIM"), key(k), a.bytes(), b.bytes()],
            Command::LMove(src, dst, from, to) => vec![
                name("LMOVE"),
                key(src),
                key(dst),
                name(from.name()),
                name(to.name()),
            ],
            Command::RPopLPush(src, dst) => vec![name("RPOPLPUSH"), key(src), key(dst)],
            Command::LInsert(k, side, pivot, e) => vec![
                name("LINSERT"),
                key(k),
                name(if *side == Side::Before {
                    "BEFORE"
                } else {
                    "AFTER"
                }),
                pivot.bytes().to_vec(),
                e.bytes().to_vec(),
            ],
            Command::ZAdd(k, opts, pairs) => {
                let mut out = vec![name("ZADD"), key(k)];
                out.extend(opts.iter().map(|o| name(o.name())));
                for (s, m) in pairs {
                    out.extend([s.bytes().to_vec(), m.bytes().to_vec()]);
                }
                out
            }
            Command::ZIncrBy(k, s, m) => {
                vec![
                    name("ZINCRBY"),
                    key(k),
                    s.bytes().to_vec(),
                    m.bytes().to_vec(),
                ]
            }
            Command::ZRem(k, ms) => key_then("ZREM", k, ms.iter().map(|m| m.bytes())),
            Command::ZCard(k) => vec![name("ZCARD"), key(k)],
            Command::ZScore(k, m) => vec![name("ZSCORE"), key(k), m.bytes().to_vec()],
            Command::ZRank(k, m) => vec![name("ZRANK"), key(k), m.bytes().to_vec()],
            Command::ZRevRank(k, m) => vec![name("ZREVRANK"), key(k), m.bytes().to_vec()],
            Command::ZRange(k, a, b, withscores) => {
                let mut out = vec![name("ZRANGE"), key(k), a.bytes(), b.bytes()];
                out.extend(withscores.then(|| name("WITHSCORES")));
                out
            }
            Command::ZRangeByScore(k, min, max, withscores, limit) => {
                let mut out = vec![name("ZRANGEBYSCORE"), key(k), min.bytes(), max.bytes()];
                out.extend(withscores.then(|| name("WITHSCORES")));
                if let Some((offset, count)) = limit {
                    out.extend([name("LIMIT"), offset.bytes(), count.bytes()]);
                }
                out
            }
            Command::ZCount(k, min, max) => vec![name("ZCOUNT"), key(k), min.bytes(), max.bytes()],
            Command::ZPopMin(k, n) => optional("ZPOPMIN", k, n),
            Command::ZPopMax(k, n) => optional("ZPOPMAX", k, n),
            Command::ZRemRangeByScore(k, min, max) => {
                vec![name("ZREMRANGEBYSCORE"), key(k), min.bytes(), max.bytes()]
            }
            Command::Advance(_) | Command::ActiveExpire => Vec::new(),
        }
    }

    /// Reads of every key's type and hash, set, list and sorted set contents, for the end of
    /// a session: the harness's final state reads strings and TTLs (GET,
    /// PTTL), these the other types, so a write that went wrong silently
    /// shows even if no later command of the session read it.
    pub fn read_back() -> Vec<Command> {
        Key::all()
            .flat_map(|k| {
                let all = (Num::Int(0), Num::Int(-1));
                [
                    Command::Type(k),
                    Command::HGetAll(k),
                    Command::SMembers(k),
                    Command::LRange(k, all.0, all.1),
                    Command::ZRange(k, all.0, all.1, true),
                ]
            })
            .collect()
    }
}

/// `name key [n]`: a command with an optional count.
fn optional(cmd: &str, k: &Key, n: &Option<Num>) -> Vec<Vec<u8>> {
    let mut out = vec![cmd.as_bytes().to_vec(), k.bytes().to_vec()];
    out.extend(n.map(Num::bytes));
    out
}

/// `name key rest...`: a command on one key with further arguments.
fn key_then<'a>(cmd: &str, k: &Key, rest: impl Iterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut out = vec![cmd.as_bytes().to_vec(), k.bytes().to_vec()];
    out.extend(rest.map(<[u8]>::to_vec));
    out
}

/// Keys, values and numbers print as the argument they become.
macro_rules! debug_as_argument {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&cli_quote(&self.bytes()))
            }
        }
    )*};
}

debug_as_argument!(Key, Val, Num, Field, Member, Elem, Score, Bound);

impl fmt::Debug for Command {
    /// `SET a 1 PX 100`, `GET "sp ace"`, `(clock +1.000 ms)`: one line, as
    /// typed into redis-cli, so a shrunk counterexample is a session.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Advance(us) => write!(f, "(clock +{}.{:03} ms)", us / 1000, us % 1000),
            Command::ActiveExpire => f.write_str("(active expire cycle)"),
            cmd => f.write_str(&cli_line(&cmd.args())),
        }
    }
}

/// Arguments joined by spaces, each quoted only if it must be
/// ([`cli_quote`]).
pub fn cli_line(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| cli_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An argument as `redis-cli` accepts it on its command line: bare when it
/// is plain printable text, otherwise in double quotes with the escapes of
/// Redis's `sdscatrepr` (`\n`, `\r`, `\t`, `\"`, `\\`, `\xHH`). Redis's
/// inline-command splitter reads that form back to the same bytes, which
/// the inline-vs-multibulk property relies on.
pub fn cli_quote(arg: &[u8]) -> String {
    let plain = !arg.is_empty()
        && arg
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        // Only ASCII graphic bytes: valid UTF-8.
        return String::from_utf8_lossy(arg).into_owned();
    }
    let mut out = String::from("\"");
    for &b in arg {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b if b == b' ' || b.is_ascii_graphic() => out.push(char::from(b)),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_print_like_redis_cli() {
        let cmd = Command::Set(Key(4), Val(6), vec![SetOpt::Px(Num::Int(100)), SetOpt::Nx]);
        assert_eq!(
            format!("{cmd:?}"),
            r#"SET "sp ace" "hello world" PX 100 NX"#
        );
        assert_eq!(
            format!("{:?}", Command::Get(Key(5))),
            r#"GET "\x00bin\xff""#
        );
        assert_eq!(format!("{:?}", Command::Advance(1500)), "(clock +1.500 ms)");
        assert_eq!(cli_quote(b""), r#""""#);
        assert_eq!(cli_quote(b"a\"b\\"), r#""a\"b\\""#);
    }

    #[test]
    fn absolute_times_count_from_the_clock_start() {
        let cmd = Command::PExpireAt(Key(0), At::FromStart(-1), vec![ExpireCond::Gt]);
        assert_eq!(format!("{cmd:?}"), "PEXPIREAT a 1699999999999 GT");
        let cmd = Command::ExpireAt(Key(0), At::FromStart(2), vec![]);
        assert_eq!(format!("{cmd:?}"), "EXPIREAT a 1700000002");
    }
}
