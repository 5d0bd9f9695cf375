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
//! the key. This file holds the keyspace, strings and expiry; each other
//! type has a file of its own beside it: `model/hashes.rs` (`t_hash.c`),
//! `sets.rs` (`t_set.c`), `lists.rs` (`t_list.c`), `zsets.rs`
//! (`t_zset.c`), and `bitfield.rs` (`bitops.c`).
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
//! random), or a write that stores a deadline reclaimed (myongoredis's do,
//! a few keys each; Redis's do not); keys expired when either ran are
//! marked "maybe gone", and DBSIZE must then lie between the count
//! without them and with them.

mod bitfield;
mod hashes;
mod lists;
mod sets;
mod zsets;

pub use zsets::{format_score, SortedSet};

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use myongoredis_core::Frame;

use crate::command::{At, Command, ExpireCond, Key, Num, SetOpt, Val, T0_MS};

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
                self.expired_maybe_gone();
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
        if entry.expire_at_ms.is_some() {
            self.expired_maybe_gone();
        }
        self.entries.insert(key.to_vec(), entry);
    }

    /// The keys expired now may be gone without a lookup: after an
    /// active-expiry cycle, and (in myongoredis, not in Redis) after a
    /// write that stores a deadline, which reclaims a few expired keys
    /// of its keyspace that it picks by a cursor the model does not keep.
    fn expired_maybe_gone(&mut self) {
        let now = self.now_ms();
        for entry in self.entries.values_mut() {
            if entry.is_expired(now) {
                entry.maybe_gone = true;
            }
        }
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
        } else {
            self.expired_maybe_gone();
            if let Some(e) = self.lookup(key) {
                e.expire_at_ms = Some(when as u64);
            }
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
