//! The reference model: what Redis 7.0 replies to each [`Command`], written
//! for clarity rather than speed.
//!
//! One `BTreeMap` from key to value and deadline, one clock, no locks, no
//! shards, no hashing, no sampling. Each command is a direct transcription
//! of its Redis C function (`setGenericCommand`, `incrDecrCommand`,
//! `renameGenericCommand`, `expireGenericCommand`, `hsetCommand`,
//! `sinterGenericCommand`, ... in `t_string.c`, `t_hash.c`, `t_set.c`,
//! `db.c` and `expire.c`), including the order in which Redis checks things,
//! because the order decides which error a bad command gets (and which keys
//! were looked up, so which expired ones are gone). Error texts are written
//! out here, not imported from `core`, so the comparison also checks
//! `core`'s wording against Redis's.
//!
//! **Types.** A value is a string, a hash, a set, a list or a sorted set
//! ([`Value`]); a command on the wrong one gets WRONGTYPE, except where
//! Redis reads "not mine" as "absent" (MGET's nil) or replaces whatever is
//! there (SET, MSET, the STORE forms). A hash, set, list or sorted set
//! never exists empty: the command that removes its last element deletes
//! the key. Lists are in `model/lists.rs` (`t_list.c`), sorted sets
//! in `model/zsets.rs` (`t_zset.c`).
//!
//! **Order.** A test hash stays small (see [`crate::command::FIELDS`]), a
//! listpack in Redis, so HGETALL, HKEYS and HVALS list fields in insertion
//! order and are compared exactly. A set's order is not specified once it
//! is a hash table, so every reply that lists set members (SMEMBERS, SINTER,
//! SUNION, SDIFF) is compared sorted: the model lists members in byte
//! order and the test puts the server's reply in that order with
//! [`comparable`] first.
//!
//! **Expired keys.** A key whose deadline has passed is *logically* gone:
//! every reply treats it as absent. It is *physically* removed, as in
//! Redis, when a command looks it up (`expireIfNeeded` inside every
//! `lookupKey*`), so the model looks keys up exactly where and in the order
//! the Redis command does (`Model::lookup`), and DBSIZE, which counts
//! expired keys not yet removed, is exact. The one thing the model cannot
//! know is which expired keys an active-expiry cycle removed (it samples at
//! random); keys expired when a cycle ran are marked "maybe gone", and
//! DBSIZE must then lie between the count without them and with them.

mod lists;
mod zsets;

pub use zsets::{format_score, SortedSet};

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use myongoredis_core::Frame;

use crate::command::{At, Command, ExpireCond, Key, Num, SetOpt, Val, T0_MS};
use crate::command::{FieldOp, OVERFLOWS};

/// What the server must reply to one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Exactly this frame.
    Reply(Frame),
    /// An integer in `lo..=hi` (DBSIZE after an active-expiry cycle, see
    /// the module docs; otherwise `lo == hi`).
    IntBetween(i64, i64),
    /// Nothing: the step is not a command.
    Nothing,
}

/// A hash's fields and values, in insertion order.
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// A set's members.
pub type Members = BTreeSet<Vec<u8>>;

/// A stored value, of one of the types the model knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Str(Vec<u8>),
    /// Fields and values in insertion order (a listpack's order: a field
    /// that is updated keeps its place, one added again after HDEL goes
    /// last). Never empty.
    Hash(Fields),
    /// Never empty.
    Set(Members),
    /// Elements from left (head) to right. Never empty.
    List(Vec<Vec<u8>>),
    /// Never empty.
    ZSet(SortedSet),
}

impl Value {
    /// What TYPE replies.
    fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::ZSet(_) => "zset",
        }
    }
}

/// A stored value and its deadline (Unix ms; `None`: no TTL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Value,
    pub expire_at_ms: Option<u64>,
    /// Expired when an active-expiry cycle ran: the server may or may not
    /// have removed it yet.
    pub maybe_gone: bool,
}

impl Entry {
    fn new(value: Value, expire_at_ms: Option<u64>) -> Entry {
        Entry {
            value,
            expire_at_ms,
            maybe_gone: false,
        }
    }

    fn persistent(value: Value) -> Entry {
        Entry::new(value, None)
    }

    /// A string without TTL.
    fn string(value: Vec<u8>) -> Entry {
        Entry::persistent(Value::Str(value))
    }

    fn is_expired(&self, now_ms: u64) -> bool {
        // Alive at its deadline, gone one ms after: Redis's `now > when`.
        self.expire_at_ms.is_some_and(|at| now_ms > at)
    }
}

/// The model's whole state.
#[derive(Clone, Debug)]
pub struct Model {
    entries: BTreeMap<Vec<u8>, Entry>,
    now_us: u64,
}

impl Default for Model {
    fn default() -> Model {
        Model::new()
    }
}

const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const OVERFLOW: &str = "ERR increment or decrement would overflow";
const SYNTAX: &str = "ERR syntax error";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn err(text: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(text.as_bytes()))
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

fn arity(name: &str) -> Frame {
    err(&format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

fn invalid_expire(name: &str) -> Frame {
    err(&format!("ERR invalid expire time in '{name}' command"))
}

/// Redis's `string2ll`: optional `-`, digits, no leading zero except `0`
/// itself, no `+`, no spaces, within `i64`.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = digits == "0" && text == "0"
        || digits.starts_with(|c: char| ('1'..='9').contains(&c))
            && digits.chars().all(|c| c.is_ascii_digit());
    if !canonical {
        return None;
    }
    text.parse().ok()
}

/// The integer a [`Num`] argument stands for, as Redis parses it.
fn parse_num(n: Num) -> Option<i64> {
    string2ll(&n.bytes())
}

fn parse_at(at: At, seconds: bool) -> Option<i64> {
    match at {
        At::FromStart(offset) => {
            let start = if seconds { T0_MS / 1000 } else { T0_MS } as i64;
            Some(start + i64::from(offset))
        }
        At::Raw(n) => parse_num(n),
    }
}

impl Model {
    /// An empty keyspace with the clock at [`T0_MS`].
    pub fn new() -> Model {
        Model {
            entries: BTreeMap::new(),
            now_us: T0_MS * 1000,
        }
    }

    /// The clock: what the server is given as `now_us` for the next command.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }

    /// The entry of `key` if it is live, without touching anything (for
    /// the final comparison; commands use `Model::lookup`).
    pub fn live(&self, key: &[u8]) -> Option<&Entry> {
        let now = self.now_ms();
        self.entries.get(key).filter(|e| !e.is_expired(now))
    }

    /// Redis's `lookupKey`: an expired key is deleted on the spot and
    /// reported absent; a live one is returned.
    fn lookup(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let now = self.now_ms();
        if self.entries.get(key).is_some_and(|e| e.is_expired(now)) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// Is `key` live? (A lookup: deletes it if expired.)
    fn exists(&mut self, key: &[u8]) -> bool {
        self.lookup(key).is_some()
    }

    /// Look `key` up and delete it if live; its entry.
    fn lookup_delete(&mut self, key: &[u8]) -> Option<Entry> {
        self.lookup(key)?;
        self.entries.remove(key)
    }

    /// A lookup, then Redis's `checkType(c, o, OBJ_STRING)`: the string at
    /// `key`, `None` if there is no live key, WRONGTYPE for another type.
    fn lookup_string(&mut self, key: &[u8]) -> Result<Option<&mut Vec<u8>>, Frame> {
        match self.lookup(key).map(|e| &mut e.value) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(_) => Err(err(WRONGTYPE)),
        }
    }

    /// The same for a hash.
    fn lookup_hash(&mut self, key: &[u8]) -> Result<Option<&mut Fields>, Frame> {
        match self.lookup(key).map(|e| &mut e.value) {
            None => Ok(None),
            Some(Value::Hash(h)) => Ok(Some(h)),
            Some(_) => Err(err(WRONGTYPE)),
        }
    }

    /// The same for a set.
    fn lookup_set(&mut self, key: &[u8]) -> Result<Option<&mut Members>, Frame> {
        match self.lookup(key).map(|e| &mut e.value) {
            None => Ok(None),
            Some(Value::Set(s)) => Ok(Some(s)),
            Some(_) => Err(err(WRONGTYPE)),
        }
    }

    /// GET's reply (`getGenericCommand`).
    fn value_reply(&mut self, key: &[u8]) -> Frame {
        match self.lookup_string(key) {
            Ok(value) => Frame::bulk_or_null(value.map(|v| &v[..])),
            Err(e) => e,
        }
    }

    /// The live keys, sorted.
    pub fn live_keys(&self) -> Vec<Vec<u8>> {
        self.entries
            .keys()
            .filter(|k| self.live(k).is_some())
            .cloned()
            .collect()
    }

    /// The reply to `cmd`, updating the state as Redis would.
    pub fn apply(&mut self, cmd: &Command) -> Expected {
        let reply = match cmd {
            Command::Advance(us) => {
                self.now_us += u64::from(*us);
                return Expected::Nothing;
            }
            Command::ActiveExpire => {
                let now = self.now_ms();
                for entry in self.entries.values_mut() {
                    if entry.is_expired(now) {
                        entry.maybe_gone = true;
                    }
                }
                return Expected::Nothing;
            }
            // DBSIZE looks no key up: it counts expired keys still there.
            Command::DbSize => {
                let surely_there = self.entries.values().filter(|e| !e.maybe_gone).count();
                return Expected::IntBetween(surely_there as i64, self.entries.len() as i64);
            }
            Command::Set(k, v, opts) => self.set(k.bytes(), v.bytes(), opts),
            Command::Get(k) => self.value_reply(k.bytes()),
            // getGenericCommand, then the delete: WRONGTYPE deletes nothing.
            Command::GetDel(k) => match self.value_reply(k.bytes()) {
                reply @ Frame::Bulk(_) => {
                    self.lookup_delete(k.bytes());
                    reply
                }
                other => other,
            },
            Command::SetNx(k, v) => {
                if self.exists(k.bytes()) {
                    int(0)
                } else {
                    self.insert(k.bytes(), Entry::string(v.bytes().to_vec()));
                    int(1)
                }
            }
            Command::Del(keys) if keys.is_empty() => arity("del"),
            Command::Del(keys) => {
                // A key named twice is deleted once: the second finds nothing.
                let removed = keys
                    .iter()
                    .filter(|k| self.lookup_delete(k.bytes()).is_some())
                    .count();
                int(removed as i64)
            }
            Command::Exists(keys) if keys.is_empty() => arity("exists"),
            // A key named twice counts twice.
            Command::Exists(keys) => {
                int(keys.iter().filter(|k| self.exists(k.bytes())).count() as i64)
            }
            Command::Incr(k) => self.incr_by(k.bytes(), 1),
            Command::Decr(k) => self.incr_by(k.bytes(), -1),
            // The amount is parsed before the key is looked up.
            Command::IncrBy(k, n) => match parse_num(*n) {
                Some(by) => self.incr_by(k.bytes(), by),
                None => err(NOT_INTEGER),
            },
            Command::DecrBy(k, n) => match parse_num(*n) {
                // Negating i64::MIN would overflow; Redis 7.0 checks first.
                Some(i64::MIN) => err("ERR decrement would overflow"),
                Some(by) => self.incr_by(k.bytes(), -by),
                None => err(NOT_INTEGER),
            },
            Command::Append(k, v) => {
                let len = match self.lookup_string(k.bytes()) {
                    Err(e) => return Expected::Reply(e),
                    // APPEND keeps the key's TTL.
                    Ok(Some(value)) => {
                        value.extend_from_slice(v.bytes());
                        value.len()
                    }
                    Ok(None) => {
                        self.insert(k.bytes(), Entry::string(v.bytes().to_vec()));
                        v.bytes().len()
                    }
                };
                int(len as i64)
            }
            Command::Strlen(k) => match self.lookup_string(k.bytes()) {
                Ok(value) => int(value.map_or(0, |v| v.len()) as i64),
                Err(e) => e,
            },
            Command::MSet(pairs) if pairs.is_empty() => arity("mset"),
            Command::MSet(pairs) => {
                self.set_all(pairs);
                Frame::ok()
            }
            Command::MGet(keys) if keys.is_empty() => arity("mget"),
            // Not a string reads as nil here, not as WRONGTYPE.
            Command::MGet(keys) => Frame::Array(
                keys.iter()
                    .map(|k| match self.lookup_string(k.bytes()) {
                        Ok(Some(v)) => Frame::bulk(v),
                        _ => Frame::Null,
                    })
                    .collect(),
            ),
            Command::MSetNx(pairs) if pairs.is_empty() => arity("msetnx"),
            Command::MSetNx(pairs) => {
                // Redis looks the keys up in order and stops at the first
                // live one: expired keys after it stay where they are.
                if pairs.iter().any(|(k, _)| self.exists(k.bytes())) {
                    int(0)
                } else {
                    self.set_all(pairs);
                    int(1)
                }
            }
            Command::Rename(a, b) => self.rename(a.bytes(), b.bytes(), false),
            Command::RenameNx(a, b) => self.rename(a.bytes(), b.bytes(), true),
            Command::Expire(k, n, c) => self.expire("expire", *k, parse_num(*n), c, true, true),
            Command::PExpire(k, n, c) => self.expire("pexpire", *k, parse_num(*n), c, false, true),
            Command::ExpireAt(k, at, c) => {
                self.expire("expireat", *k, parse_at(*at, true), c, true, false)
            }
            Command::PExpireAt(k, at, c) => {
                self.expire("pexpireat", *k, parse_at(*at, false), c, false, false)
            }
            Command::Persist(k) => match self.lookup(k.bytes()) {
                Some(e) if e.expire_at_ms.is_some() => {
                    e.expire_at_ms = None;
                    int(1)
                }
                _ => int(0),
            },
            Command::Ttl(k) => self.ttl(*k, true),
            Command::Pttl(k) => self.ttl(*k, false),
            Command::BitField(k, ops) => self.bitfield(k.bytes(), ops),
            // TYPE's lookup removes an expired key, like any other.
            Command::Type(k) => Frame::Simple(Bytes::from_static(
                self.lookup(k.bytes())
                    .map_or("none", |e| e.value.type_name())
                    .as_bytes(),
            )),
            Command::HSet(..)
            | Command::HGet(..)
            | Command::HMGet(..)
            | Command::HDel(..)
            | Command::HLen(_)
            | Command::HExists(..)
            | Command::HStrlen(..)
            | Command::HIncrBy(..)
            | Command::HGetAll(_)
            | Command::HKeys(_)
            | Command::HVals(_) => self.hash_command(cmd),
            Command::SAdd(..)
            | Command::SRem(..)
            | Command::SCard(_)
            | Command::SIsMember(..)
            | Command::SMIsMember(..)
            | Command::SMembers(_)
            | Command::SInter(_)
            | Command::SUnion(_)
            | Command::SDiff(_)
            | Command::SInterStore(..)
            | Command::SUnionStore(..)
            | Command::SDiffStore(..)
            | Command::SMove(..) => self.set_command(cmd),
            Command::LPush(..)
            | Command::RPush(..)
            | Command::LPushX(..)
            | Command::RPushX(..)
            | Command::LPop(..)
            | Command::RPop(..)
            | Command::LLen(_)
            | Command::LRange(..)
            | Command::LIndex(..)
            | Command::LSet(..)
            | Command::LRem(..)
            | Command::LTrim(..)
            | Command::LMove(..)
            | Command::RPopLPush(..)
            | Command::LInsert(..) => self.list_command(cmd),
            Command::ZAdd(..)
            | Command::ZIncrBy(..)
            | Command::ZRem(..)
            | Command::ZCard(_)
            | Command::ZScore(..)
            | Command::ZRank(..)
            | Command::ZRevRank(..)
            | Command::ZRange(..)
            | Command::ZRangeByScore(..)
            | Command::ZCount(..)
            | Command::ZPopMin(..)
            | Command::ZPopMax(..)
            | Command::ZRemRangeByScore(..) => self.zset_command(cmd),
        };
        Expected::Reply(reply)
    }

    /// Store an entry, replacing whatever was there (live or expired).
    fn insert(&mut self, key: &[u8], entry: Entry) {
        self.entries.insert(key.to_vec(), entry);
    }

    /// MSET's effect: every pair in order (a repeated key: the last wins),
    /// each without a TTL.
    fn set_all(&mut self, pairs: &[(Key, Val)]) {
        for (k, v) in pairs {
            self.insert(k.bytes(), Entry::string(v.bytes().to_vec()));
        }
    }

    /// Redis's `parseExtendedStringArgumentsOrReply` then `setGenericCommand`.
    fn set(&mut self, key: &[u8], value: &[u8], opts: &[SetOpt]) -> Frame {
        let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
        // (is it in seconds, is it relative to now, the argument)
        let mut expire: Option<(SetOpt, bool, bool, Option<i64>)> = None;
        for opt in opts {
            // A time option may repeat itself (the last one wins) but not
            // follow a different one, or KEEPTTL.
            let same_unit = |e: &Option<(SetOpt, bool, bool, Option<i64>)>| {
                e.is_none_or(|(seen, ..)| {
                    std::mem::discriminant(&seen) == std::mem::discriminant(opt)
                })
            };
            match *opt {
                SetOpt::Nx if !xx => nx = true,
                SetOpt::Xx if !nx => xx = true,
                SetOpt::Get => get = true,
                SetOpt::KeepTtl if expire.is_none() => keepttl = true,
                SetOpt::Ex(n) if !keepttl && same_unit(&expire) => {
                    expire = Some((*opt, true, true, parse_num(n)))
                }
                SetOpt::Px(n) if !keepttl && same_unit(&expire) => {
                    expire = Some((*opt, false, true, parse_num(n)))
                }
                SetOpt::ExAt(at) if !keepttl && same_unit(&expire) => {
                    expire = Some((*opt, true, false, parse_at(at, true)))
                }
                SetOpt::PxAt(at) if !keepttl && same_unit(&expire) => {
                    expire = Some((*opt, false, false, parse_at(at, false)))
                }
                _ => return err(SYNTAX),
            }
        }
        // getExpireMillisecondsOrReply: validated before anything else.
        let deadline = match expire {
            None => None,
            Some((_, seconds, relative, n)) => {
                let Some(n) = n else {
                    return err(NOT_INTEGER);
                };
                if n <= 0 || (seconds && n > i64::MAX / 1000) {
                    return invalid_expire("set");
                }
                let mut ms = if seconds { n * 1000 } else { n };
                if relative {
                    // C's signed addition wraps in practice; Redis then
                    // rejects a result that is not positive.
                    ms = ms.wrapping_add(self.now_ms() as i64);
                }
                if ms <= 0 {
                    return invalid_expire("set");
                }
                Some(ms as u64)
            }
        };
        // Looked up once for GET (the reply is the old value, whether or not
        // the SET happens; not a string is WRONGTYPE, and no SET), once for
        // NX/XX; the first lookup already removed an expired key, so once
        // is enough here.
        let old = self.lookup(key).cloned();
        let old_reply = match old.as_ref().map(|e| &e.value) {
            None => Frame::Null,
            Some(Value::Str(v)) => Frame::bulk(v),
            Some(_) if get => return err(WRONGTYPE),
            // Not read without GET: SET replaces any type.
            Some(_) => Frame::Null,
        };
        if (nx && old.is_some()) || (xx && old.is_none()) {
            return if get { old_reply } else { Frame::Null };
        }
        let expire_at_ms = if keepttl {
            old.and_then(|e| e.expire_at_ms)
        } else {
            deadline
        };
        self.insert(key, Entry::new(Value::Str(value.to_vec()), expire_at_ms));
        if get {
            old_reply
        } else {
            Frame::ok()
        }
    }

    /// Redis's `incrDecrCommand`: a missing key counts as 0, the stored
    /// string must be a canonical integer, the TTL is kept.
    fn incr_by(&mut self, key: &[u8], by: i64) -> Frame {
        let current = match self.lookup_string(key) {
            Err(e) => return e,
            Ok(None) => 0,
            Ok(Some(value)) => match string2ll(value) {
                Some(n) => n,
                None => return err(NOT_INTEGER),
            },
        };
        let Some(new) = current.checked_add(by) else {
            return err(OVERFLOW);
        };
        let value = new.to_string().into_bytes();
        match self.lookup_string(key) {
            Ok(Some(v)) => *v = value,
            _ => self.insert(key, Entry::string(value)),
        }
        int(new)
    }

    /// Redis's `renameGenericCommand`.
    fn rename(&mut self, src: &[u8], dst: &[u8], nx: bool) -> Frame {
        if !self.exists(src) {
            return err("ERR no such key");
        }
        if src == dst {
            return if nx { int(0) } else { Frame::ok() };
        }
        if self.exists(dst) && nx {
            return int(0);
        }
        // The value moves with its TTL.
        if let Some(entry) = self.lookup_delete(src) {
            self.insert(dst, entry);
        }
        if nx {
            int(1)
        } else {
            Frame::ok()
        }
    }

    /// Redis 7.0's `expireGenericCommand`, checks in its order: options,
    /// the number, overflow, the key, the NX/XX/GT/LT condition; a deadline
    /// not in the future deletes the key.
    fn expire(
        &mut self,
        name: &str,
        key: Key,
        when: Option<i64>,
        conds: &[ExpireCond],
        seconds: bool,
        relative: bool,
    ) -> Frame {
        let has = |c: ExpireCond| conds.contains(&c);
        let (nx, xx, gt, lt) = (
            has(ExpireCond::Nx),
            has(ExpireCond::Xx),
            has(ExpireCond::Gt),
            has(ExpireCond::Lt),
        );
        if nx && (xx || gt || lt) {
            return err("ERR NX and XX, GT or LT options at the same time are not compatible");
        }
        if gt && lt {
            return err("ERR GT and LT options at the same time are not compatible");
        }
        let Some(mut when) = when else {
            return err(NOT_INTEGER);
        };
        if seconds {
            if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
                return invalid_expire(name);
            }
            when *= 1000;
        }
        let now = self.now_ms() as i64;
        let base = if relative { now } else { 0 };
        if when > i64::MAX - base {
            return invalid_expire(name);
        }
        when += base;
        let key = key.bytes();
        let Some(entry) = self.lookup(key) else {
            return int(0);
        };
        let current = entry.expire_at_ms.map(|at| at as i64);
        let refused = (nx && current.is_some())
            || (xx && current.is_none())
            || (gt && current.is_none_or(|c| when <= c))
            || (lt && current.is_some_and(|c| when >= c));
        if refused {
            return int(0);
        }
        if when <= now {
            self.lookup_delete(key);
        } else if let Some(e) = self.lookup(key) {
            e.expire_at_ms = Some(when as u64);
        }
        int(1)
    }

    /// Redis's `ttlGenericCommand`: -2 no key, -1 no TTL, else the time left,
    /// in seconds rounded to the nearest.
    fn ttl(&mut self, key: Key, seconds: bool) -> Frame {
        let now = self.now_ms();
        let Some(entry) = self.lookup(key.bytes()) else {
            return int(-2);
        };
        let Some(at) = entry.expire_at_ms else {
            return int(-1);
        };
        let ms = at - now;
        int(if seconds { (ms + 500) / 1000 } else { ms } as i64)
    }
}

// Hashes (`t_hash.c`).

fn field_value<'h>(hash: &'h Fields, field: &[u8]) -> Option<&'h [u8]> {
    hash.iter()
        .find(|(f, _)| f.as_slice() == field)
        .map(|(_, v)| v.as_slice())
}

/// `hashTypeSet`: update in place, or append. True if the field is new.
fn hash_set(hash: &mut Fields, field: &[u8], value: Vec<u8>) -> bool {
    match hash.iter_mut().find(|(f, _)| f.as_slice() == field) {
        Some((_, v)) => {
            *v = value;
            false
        }
        None => {
            hash.push((field.to_vec(), value));
            true
        }
    }
}

impl Model {
    /// `hashTypeLookupWriteOrCreate`: the hash at `key`, created empty if
    /// there is none (the caller adds a field before anyone can see it).
    fn hash_or_create(&mut self, key: &[u8]) -> Result<&mut Fields, Frame> {
        if self.lookup_hash(key)?.is_none() {
            self.insert(key, Entry::persistent(Value::Hash(Vec::new())));
        }
        match self.lookup_hash(key) {
            Ok(Some(hash)) => Ok(hash),
            _ => unreachable!("a hash was stored at this key above"),
        }
    }

    /// A read of the hash at `key` (`lookupKeyRead` + `checkType`):
    /// `missing` if there is none, WRONGTYPE for another type.
    fn read_hash(&mut self, key: Key, missing: Frame, f: impl FnOnce(&Fields) -> Frame) -> Frame {
        match self.lookup_hash(key.bytes()) {
            Ok(Some(hash)) => f(hash),
            Ok(None) => missing,
            Err(e) => e,
        }
    }

    fn hash_command(&mut self, cmd: &Command) -> Frame {
        match cmd {
            // `(argc % 2) == 1` and the table's arity -4 get the same text.
            Command::HSet(_, pairs, dangling) if pairs.is_empty() || dangling.is_some() => {
                arity("hset")
            }
            Command::HSet(k, pairs, _) => match self.hash_or_create(k.bytes()) {
                // A field named twice is created once; the last value wins.
                Ok(hash) => int(pairs
                    .iter()
                    .filter(|(f, v)| hash_set(hash, f.bytes(), v.bytes().to_vec()))
                    .count() as i64),
                Err(e) => e,
            },
            Command::HGet(k, f) => self.read_hash(*k, Frame::Null, |h| {
                Frame::bulk_or_null(field_value(h, f.bytes()))
            }),
            Command::HMGet(_, fields) if fields.is_empty() => arity("hmget"),
            // A missing key is a hash without fields: a nil for each.
            Command::HMGet(k, fields) => {
                let nils = Frame::Array(vec![Frame::Null; fields.len()]);
                self.read_hash(*k, nils, |h| {
                    Frame::Array(
                        fields
                            .iter()
                            .map(|f| Frame::bulk_or_null(field_value(h, f.bytes())))
                            .collect(),
                    )
                })
            }
            Command::HDel(_, fields) if fields.is_empty() => arity("hdel"),
            Command::HDel(k, fields) => {
                let hash = match self.lookup_hash(k.bytes()) {
                    Ok(Some(hash)) => hash,
                    Ok(None) => return int(0),
                    Err(e) => return e,
                };
                // A field named twice is deleted once.
                let before = hash.len();
                hash.retain(|(f, _)| !fields.iter().any(|g| g.bytes() == f.as_slice()));
                let deleted = before - hash.len();
                if hash.is_empty() {
                    self.entries.remove(k.bytes());
                }
                int(deleted as i64)
            }
            Command::HLen(k) => self.read_hash(*k, int(0), |h| int(h.len() as i64)),
            Command::HExists(k, f) => self.read_hash(*k, int(0), |h| {
                int(i64::from(field_value(h, f.bytes()).is_some()))
            }),
            Command::HStrlen(k, f) => self.read_hash(*k, int(0), |h| {
                int(field_value(h, f.bytes()).map_or(0, <[u8]>::len) as i64)
            }),
            Command::HIncrBy(k, f, n) => self.hincrby(k.bytes(), f.bytes(), *n),
            // RESP3 calls it a map (RESP2 sends it as a flat array).
            Command::HGetAll(k) => self.read_hash(*k, Frame::Map(Vec::new()), |h| {
                Frame::Map(
                    h.iter()
                        .map(|(f, v)| (Frame::bulk(f), Frame::bulk(v)))
                        .collect(),
                )
            }),
            Command::HKeys(k) => self.read_hash(*k, Frame::Array(Vec::new()), |h| {
                Frame::Array(h.iter().map(|(f, _)| Frame::bulk(f)).collect())
            }),
            Command::HVals(k) => self.read_hash(*k, Frame::Array(Vec::new()), |h| {
                Frame::Array(h.iter().map(|(_, v)| Frame::bulk(v)).collect())
            }),
            _ => unreachable!("apply sends only hash commands here"),
        }
    }

    /// `hincrbyCommand`: the increment is parsed first, then the key is
    /// looked up (and created); the field's value must be a `string2ll`
    /// integer, and the sum must fit.
    fn hincrby(&mut self, key: &[u8], field: &[u8], by: Num) -> Frame {
        let Some(by) = parse_num(by) else {
            return err(NOT_INTEGER);
        };
        let hash = match self.hash_or_create(key) {
            Ok(hash) => hash,
            Err(e) => return e,
        };
        // The key can only be new if the field is: the errors below leave
        // no empty hash behind.
        let current = match field_value(hash, field) {
            None => 0,
            Some(value) => match string2ll(value) {
                Some(n) => n,
                None => return err("ERR hash value is not an integer"),
            },
        };
        let Some(new) = current.checked_add(by) else {
            return err(OVERFLOW);
        };
        hash_set(hash, field, new.to_string().into_bytes());
        int(new)
    }
}

// Sets (`t_set.c`).

/// What SINTER, SUNION and SDIFF (and their STORE forms) compute.
#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// A set reply (RESP3 `~`; an array in RESP2): the members in byte order,
/// the order [`comparable`] puts the server's reply in.
fn members_reply<'a>(members: impl IntoIterator<Item = &'a Vec<u8>>) -> Frame {
    let sorted: BTreeSet<&Vec<u8>> = members.into_iter().collect();
    Frame::Set(sorted.into_iter().map(|m| Frame::bulk(m)).collect())
}

impl Model {
    /// A read of the set at `key`: `missing` if there is none, WRONGTYPE
    /// for another type.
    fn read_set(&mut self, key: Key, missing: Frame, f: impl FnOnce(&Members) -> Frame) -> Frame {
        match self.lookup_set(key.bytes()) {
            Ok(Some(set)) => f(set),
            Ok(None) => missing,
            Err(e) => e,
        }
    }

    fn set_command(&mut self, cmd: &Command) -> Frame {
        match cmd {
            Command::SAdd(_, members) if members.is_empty() => arity("sadd"),
            Command::SAdd(k, members) => {
                // setTypeLookupWriteOrCreate
                match self.lookup_set(k.bytes()) {
                    Err(e) => return e,
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        self.insert(k.bytes(), Entry::persistent(Value::Set(Members::new())))
                    }
                }
                let Ok(Some(set)) = self.lookup_set(k.bytes()) else {
                    unreachable!("a set was stored at this key above")
                };
                int(members
                    .iter()
                    .filter(|m| set.insert(m.bytes().to_vec()))
                    .count() as i64)
            }
            Command::SRem(_, members) if members.is_empty() => arity("srem"),
            Command::SRem(k, members) => {
                let set = match self.lookup_set(k.bytes()) {
                    Ok(Some(set)) => set,
                    Ok(None) => return int(0),
                    Err(e) => return e,
                };
                let removed = members.iter().filter(|m| set.remove(m.bytes())).count();
                if set.is_empty() {
                    self.entries.remove(k.bytes());
                }
                int(removed as i64)
            }
            Command::SCard(k) => self.read_set(*k, int(0), |s| int(s.len() as i64)),
            Command::SIsMember(k, m) => {
                self.read_set(*k, int(0), |s| int(i64::from(s.contains(m.bytes()))))
            }
            Command::SMIsMember(_, members) if members.is_empty() => arity("smismember"),
            Command::SMIsMember(k, members) => {
                let is_member = |s: Option<&Members>| {
                    Frame::Array(
                        members
                            .iter()
                            .map(|m| int(i64::from(s.is_some_and(|s| s.contains(m.bytes())))))
                            .collect(),
                    )
                };
                let missing = is_member(None);
                self.read_set(*k, missing, |s| is_member(Some(s)))
            }
            // Redis 7.0 runs SMEMBERS as an SINTER of one key.
            Command::SMembers(k) => self.set_op(SetOp::Inter, None, &[*k]),
            // The table's arity (-2, -3 for the STORE forms) is checked
            // before anything else.
            Command::SInter(keys) | Command::SUnion(keys) | Command::SDiff(keys)
                if keys.is_empty() =>
            {
                arity(&String::from_utf8_lossy(&cmd.args()[0]).to_ascii_lowercase())
            }
            Command::SInterStore(_, keys)
            | Command::SUnionStore(_, keys)
            | Command::SDiffStore(_, keys)
                if keys.is_empty() =>
            {
                arity(&String::from_utf8_lossy(&cmd.args()[0]).to_ascii_lowercase())
            }
            Command::SInter(keys) => self.set_op(SetOp::Inter, None, keys),
            Command::SUnion(keys) => self.set_op(SetOp::Union, None, keys),
            Command::SDiff(keys) => self.set_op(SetOp::Diff, None, keys),
            Command::SInterStore(d, keys) => self.set_op(SetOp::Inter, Some(*d), keys),
            Command::SUnionStore(d, keys) => self.set_op(SetOp::Union, Some(*d), keys),
            Command::SDiffStore(d, keys) => self.set_op(SetOp::Diff, Some(*d), keys),
            Command::SMove(src, dst, m) => self.smove(src.bytes(), dst.bytes(), m.bytes()),
            _ => unreachable!("apply sends only set commands here"),
        }
    }

    /// `sinterGenericCommand` and `sunionDiffGenericCommand`: every key is
    /// looked up in order, and the first that is not a set ends the command
    /// with WRONGTYPE (the keys after it are not looked up); a missing key
    /// is an empty set. The STORE form replaces `dst` (of any type, TTL
    /// dropped: `setKey`) with the result, or deletes it if the result is
    /// empty, and replies with the result's size.
    fn set_op(&mut self, op: SetOp, dst: Option<Key>, keys: &[Key]) -> Frame {
        let mut sets: Vec<Option<Members>> = Vec::new();
        for k in keys {
            match self.lookup_set(k.bytes()) {
                Ok(set) => sets.push(set.cloned()),
                Err(e) => return e,
            }
        }
        let empty = Members::new();
        let result: Members = match op {
            // A missing key makes the intersection empty.
            SetOp::Inter if sets.iter().any(Option::is_none) => Members::new(),
            SetOp::Inter => {
                let (first, rest) = sets.split_first().expect("at least one key");
                let first = first.as_ref().unwrap_or(&empty);
                first
                    .iter()
                    .filter(|m| rest.iter().flatten().all(|s| s.contains(*m)))
                    .cloned()
                    .collect()
            }
            SetOp::Union => sets.iter().flatten().flatten().cloned().collect(),
            SetOp::Diff => {
                let (first, rest) = sets.split_first().expect("at least one key");
                first
                    .as_ref()
                    .unwrap_or(&empty)
                    .iter()
                    .filter(|m| !rest.iter().flatten().any(|s| s.contains(*m)))
                    .cloned()
                    .collect()
            }
        };
        let Some(dst) = dst else {
            return members_reply(&result);
        };
        let size = result.len();
        if result.is_empty() {
            // `dbDelete`: removed even if it has expired and was not yet.
            self.entries.remove(dst.bytes());
        } else {
            self.insert(dst.bytes(), Entry::persistent(Value::Set(result)));
        }
        int(size as i64)
    }

    /// `smoveCommand`: both keys are looked up first; a missing source is 0
    /// even if the destination has the wrong type.
    fn smove(&mut self, src: &[u8], dst: &[u8], member: &[u8]) -> Frame {
        let mut is_set = |key| self.lookup(key).map(|e| matches!(e.value, Value::Set(_)));
        match (is_set(src), is_set(dst)) {
            (None, _) => return int(0),
            (Some(true), None | Some(true)) => {}
            _ => return err(WRONGTYPE),
        }
        let Ok(Some(set)) = self.lookup_set(src) else {
            unreachable!("checked to be a set above")
        };
        // The same key: a no-op that tells whether the member is there.
        if src == dst {
            return int(i64::from(set.contains(member)));
        }
        if !set.remove(member) {
            return int(0);
        }
        if set.is_empty() {
            self.entries.remove(src);
        }
        match self.lookup_set(dst) {
            Ok(Some(set)) => {
                set.insert(member.to_vec());
            }
            _ => {
                let set = Members::from([member.to_vec()]);
                self.insert(dst, Entry::persistent(Value::Set(set)));
            }
        }
        int(1)
    }
}

/// The form in which the reply to `args` is compared with the model's:
/// the reply itself, except where Redis leaves the order unspecified or
/// RESP2 loses the type.
///
/// * SMEMBERS, SINTER, SUNION, SDIFF: a set reply (RESP2 sends an array)
///   with the members in byte order. An intset lists them ascending, but a
///   hash table in an order that depends on Redis's random hash seed.
/// * HGETALL: a map (RESP2 sends the fields and values as one flat array).
///   The order stays: see the module docs.
///
/// * Scores (RESP3 doubles) as the bulk strings RESP2 sends, and
///   member-score pairs (ZRANGE WITHSCORES, ZPOPMIN) as RESP2's flat array:
///   the tests speak RESP2, as the real Redis of `reference.rs` does.
///
/// Errors and every other reply pass unchanged.
pub fn comparable(args: &[Vec<u8>], reply: Frame) -> Frame {
    let name = args
        .first()
        .map(|n| n.to_ascii_uppercase())
        .unwrap_or_default();
    match (name.as_slice(), resp2(reply)) {
        (
            b"SMEMBERS" | b"SINTER" | b"SUNION" | b"SDIFF",
            Frame::Array(mut items) | Frame::Set(mut items),
        ) => {
            items.sort_by(|a, b| match (a, b) {
                (Frame::Bulk(a), Frame::Bulk(b)) => a.cmp(b),
                _ => std::cmp::Ordering::Equal,
            });
            Frame::Set(items)
        }
        (b"HGETALL", Frame::Array(items)) if items.len() % 2 == 0 => {
            let mut items = items.into_iter();
            let mut pairs = Vec::new();
            while let (Some(f), Some(v)) = (items.next(), items.next()) {
                pairs.push((f, v));
            }
            Frame::Map(pairs)
        }
        (_, reply) => reply,
    }
}

/// A reply as a RESP2 client reads it: a double is a bulk string, pairs
/// are one flat array (maps, sets and the rest keep their form, which
/// [`comparable`] relies on).
fn resp2(reply: Frame) -> Frame {
    match reply {
        Frame::Double(text) => Frame::Bulk(text),
        Frame::Pairs(pairs) => Frame::Array(
            pairs
                .into_iter()
                .flat_map(|(a, b)| [resp2(a), resp2(b)])
                .collect(),
        ),
        Frame::Array(items) => Frame::Array(items.into_iter().map(resp2).collect()),
        other => other,
    }
}

// BITFIELD (`bitops.c`), transcribed operation by operation.

const BFOVERFLOW_WRAP: usize = 0;
const BFOVERFLOW_SAT: usize = 1;
const BFOVERFLOW_FAIL: usize = 2;

/// One parsed operation of `bitfieldGeneric`.
struct BitfieldOp {
    /// 0 GET, 1 SET, 2 INCRBY.
    opcode: u8,
    sign: bool,
    bits: u64,
    offset: u64,
    i64: i64,
    owtype: usize,
}

impl Model {
    /// Redis's `bitfieldGeneric`: parse every operation (the first bad one
    /// is the reply), then look the key up, for reading if all are GETs
    /// (a missing key is not created), else for writing, created or grown
    /// with zeros up to the farthest bit written; then run them in order.
    fn bitfield(&mut self, key: &[u8], ops: &[FieldOp]) -> Frame {
        let mut parsed = Vec::new();
        let mut owtype = BFOVERFLOW_WRAP;
        let mut readonly = true;
        let mut highest_write_offset = 0u64;
        for op in ops {
            let (opcode, ty, offset, value) = match *op {
                FieldOp::Overflow(i) => {
                    match usize::from(i) % OVERFLOWS.len() {
                        n @ (BFOVERFLOW_WRAP | BFOVERFLOW_SAT | BFOVERFLOW_FAIL) => owtype = n,
                        _ => return err("ERR Invalid OVERFLOW type specified"),
                    }
                    continue;
                }
                FieldOp::Get(t, o) => (0, t, o, None),
                FieldOp::Set(t, o, n) => (1, t, o, Some(n)),
                FieldOp::IncrBy(t, o, n) => (2, t, o, Some(n)),
            };
            // getBitfieldTypeFromArgument
            if ty.bits < 1 || (ty.signed && ty.bits > 64) || (!ty.signed && ty.bits > 63) {
                return err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
            }
            let (bits, offset) = (u64::from(ty.bits), u64::from(offset));
            let mut i64 = 0;
            if opcode != 0 {
                readonly = false;
                highest_write_offset = highest_write_offset.max(offset + bits - 1);
                match value.and_then(parse_num) {
                    Some(v) => i64 = v,
                    None => return err(NOT_INTEGER),
                }
            }
            parsed.push(BitfieldOp {
                opcode,
                sign: ty.signed,
                bits,
                offset,
                i64,
                owtype,
            });
        }
        // Looked up after the parse: a bad operation wins over WRONGTYPE.
        let existing = match self.lookup_string(key) {
            Err(e) => return e,
            Ok(value) => value.cloned(),
        };
        let mut p = if readonly {
            existing.unwrap_or_default()
        } else {
            let byte = (highest_write_offset >> 3) as usize;
            if existing.is_none() {
                self.insert(key, Entry::string(Vec::new()));
            }
            let value = self.string_mut(key);
            if value.len() < byte + 1 {
                value.resize(byte + 1, 0);
            }
            value.clone()
        };
        let mut replies = Vec::new();
        for op in &parsed {
            if op.opcode == 0 {
                let v = if op.sign {
                    get_signed_bitfield(&p, op.offset, op.bits)
                } else {
                    get_unsigned_bitfield(&p, op.offset, op.bits) as i64
                };
                replies.push(int(v));
            } else if op.sign {
                let oldval = get_signed_bitfield(&p, op.offset, op.bits);
                let (overflow, newval, retval) = if op.opcode == 2 {
                    let (o, wrapped) =
                        check_signed_bitfield_overflow(oldval, op.i64, op.bits, op.owtype);
                    let newval = if o != 0 {
                        wrapped
                    } else {
                        oldval.wrapping_add(op.i64)
                    };
                    (o, newval, newval)
                } else {
                    let (o, wrapped) =
                        check_signed_bitfield_overflow(op.i64, 0, op.bits, op.owtype);
                    (o, if o != 0 { wrapped } else { op.i64 }, oldval)
                };
                if overflow != 0 && op.owtype == BFOVERFLOW_FAIL {
                    replies.push(Frame::Null);
                } else {
                    replies.push(int(retval));
                    set_unsigned_bitfield(&mut p, op.offset, op.bits, newval as u64);
                }
            } else {
                let oldval = get_unsigned_bitfield(&p, op.offset, op.bits);
                let (overflow, newval, retval) = if op.opcode == 2 {
                    let (o, wrapped) =
                        check_unsigned_bitfield_overflow(oldval, op.i64, op.bits, op.owtype);
                    let newval = if o != 0 {
                        wrapped
                    } else {
                        oldval.wrapping_add(op.i64 as u64)
                    };
                    (o, newval, newval)
                } else {
                    let (o, wrapped) =
                        check_unsigned_bitfield_overflow(op.i64 as u64, 0, op.bits, op.owtype);
                    (o, if o != 0 { wrapped } else { op.i64 as u64 }, oldval)
                };
                if overflow != 0 && op.owtype == BFOVERFLOW_FAIL {
                    replies.push(Frame::Null);
                } else {
                    replies.push(int(retval as i64));
                    set_unsigned_bitfield(&mut p, op.offset, op.bits, newval);
                }
            }
        }
        if !readonly {
            *self.string_mut(key) = p;
        }
        Frame::Array(replies)
    }
}

impl Model {
    /// The string at `key`, which the caller has just made sure is one.
    fn string_mut(&mut self, key: &[u8]) -> &mut Vec<u8> {
        match self.lookup_string(key) {
            Ok(Some(value)) => value,
            _ => unreachable!("the caller stored a string at this key"),
        }
    }
}

/// `getUnsignedBitfield`, reading past the end as zeros (GET's 9-byte
/// zero-padded buffer).
fn get_unsigned_bitfield(p: &[u8], mut offset: u64, bits: u64) -> u64 {
    let mut value = 0u64;
    for _ in 0..bits {
        let byteval = u64::from(p.get((offset >> 3) as usize).copied().unwrap_or(0));
        let bit = 7 - (offset & 7);
        value = (value << 1) | ((byteval >> bit) & 1);
        offset += 1;
    }
    value
}

fn get_signed_bitfield(p: &[u8], offset: u64, bits: u64) -> i64 {
    let mut value = get_unsigned_bitfield(p, offset, bits) as i64;
    if bits < 64 && value & (1i64 << (bits - 1)) != 0 {
        value |= -1i64 << bits;
    }
    value
}

fn set_unsigned_bitfield(p: &mut [u8], mut offset: u64, bits: u64, value: u64) {
    for j in 0..bits {
        let bitval = u8::from(value & (1u64 << (bits - 1 - j)) != 0);
        let byte = (offset >> 3) as usize;
        let bit = 7 - (offset & 7);
        p[byte] = (p[byte] & !(1 << bit)) | (bitval << bit);
        offset += 1;
    }
}

/// `checkUnsignedBitfieldOverflow`: (1 overflow, -1 underflow, 0 fits;
/// the WRAP or SAT value).
fn check_unsigned_bitfield_overflow(value: u64, incr: i64, bits: u64, owtype: usize) -> (i32, u64) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap =
        || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits as u32).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        (
            1,
            if owtype == BFOVERFLOW_SAT {
                max
            } else {
                wrap()
            },
        )
    } else if incr < 0 && incr < minincr {
        (-1, if owtype == BFOVERFLOW_SAT { 0 } else { wrap() })
    } else {
        (0, 0)
    }
}

/// `checkSignedBitfieldOverflow`.
fn check_signed_bitfield_overflow(value: i64, incr: i64, bits: u64, owtype: usize) -> (i32, i64) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        (
            1,
            if owtype == BFOVERFLOW_SAT {
                max
            } else {
                wrap()
            },
        )
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        (
            -1,
            if owtype == BFOVERFLOW_SAT {
                min
            } else {
                wrap()
            },
        )
    } else {
        (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Val;

    #[test]
    fn string2ll_is_strict() {
        for (s, v) in [
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("", None),
            ("-", None),
        ] {
            assert_eq!(string2ll(s.as_bytes()), v, "{s:?}");
        }
    }

    #[test]
    fn a_key_lives_until_its_deadline_inclusive() {
        let mut m = Model::new();
        let set = Command::Set(Key(0), Val(1), vec![SetOpt::Px(Num::Int(10))]);
        assert_eq!(m.apply(&set), Expected::Reply(Frame::ok()));
        m.apply(&Command::Advance(10_000));
        assert_eq!(m.apply(&Command::Pttl(Key(0))), Expected::Reply(int(0)));
        m.apply(&Command::Advance(1_000));
        assert_eq!(m.apply(&Command::Get(Key(0))), Expected::Reply(Frame::Null));
        // GET removed it; an active-expiry cycle may or may not remove
        // another expired key.
        assert_eq!(m.apply(&Command::DbSize), Expected::IntBetween(0, 0));
        m.apply(&set);
        m.apply(&Command::Advance(11_000));
        assert_eq!(m.apply(&Command::DbSize), Expected::IntBetween(1, 1));
        m.apply(&Command::ActiveExpire);
        assert_eq!(m.apply(&Command::DbSize), Expected::IntBetween(0, 1));
    }
}
