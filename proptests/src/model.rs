//! The reference model: what Redis 7.0 replies to each [`Command`], written
//! for clarity rather than speed.
//!
//! One `BTreeMap` from key to value and deadline, one clock, no locks, no
//! shards, no hashing, no sampling. Each command is a direct transcription
//! of its Redis C function (`setGenericCommand`, `incrDecrCommand`,
//! `renameGenericCommand`, `expireGenericCommand`, ... in `t_string.c`,
//! `db.c` and `expire.c`), including the order in which Redis checks things,
//! because the order decides which error a bad command gets. Error texts are
//! written out here, not imported from `core`, so the comparison also checks
//! `core`'s wording against Redis's.
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

use std::collections::BTreeMap;

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

/// A stored value and its deadline (Unix ms; `None`: no TTL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Vec<u8>,
    pub expire_at_ms: Option<u64>,
    /// Expired when an active-expiry cycle ran: the server may or may not
    /// have removed it yet.
    pub maybe_gone: bool,
}

impl Entry {
    fn new(value: Vec<u8>, expire_at_ms: Option<u64>) -> Entry {
        Entry {
            value,
            expire_at_ms,
            maybe_gone: false,
        }
    }

    fn persistent(value: Vec<u8>) -> Entry {
        Entry::new(value, None)
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

    fn value_reply(&mut self, key: &[u8]) -> Frame {
        Frame::bulk_or_null(self.lookup(key).map(|e| &e.value[..]))
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
            Command::GetDel(k) => {
                Frame::bulk_or_null(self.lookup_delete(k.bytes()).as_ref().map(|e| &e.value[..]))
            }
            Command::SetNx(k, v) => {
                if self.exists(k.bytes()) {
                    int(0)
                } else {
                    self.insert(k.bytes(), Entry::persistent(v.bytes().to_vec()));
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
                let len = match self.lookup(k.bytes()) {
                    // APPEND keeps the key's TTL.
                    Some(e) => {
                        e.value.extend_from_slice(v.bytes());
                        e.value.len()
                    }
                    None => {
                        self.insert(k.bytes(), Entry::persistent(v.bytes().to_vec()));
                        v.bytes().len()
                    }
                };
                int(len as i64)
            }
            Command::Strlen(k) => int(self.lookup(k.bytes()).map_or(0, |e| e.value.len()) as i64),
            Command::MSet(pairs) if pairs.is_empty() => arity("mset"),
            Command::MSet(pairs) => {
                self.set_all(pairs);
                Frame::ok()
            }
            Command::MGet(keys) if keys.is_empty() => arity("mget"),
            Command::MGet(keys) => {
                Frame::Array(keys.iter().map(|k| self.value_reply(k.bytes())).collect())
            }
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
            self.insert(k.bytes(), Entry::persistent(v.bytes().to_vec()));
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
        // the SET happens), once for NX/XX; the first lookup already removed
        // an expired key, so once is enough here.
        let old = self.lookup(key).cloned();
        let old_reply = Frame::bulk_or_null(old.as_ref().map(|e| &e.value[..]));
        if (nx && old.is_some()) || (xx && old.is_none()) {
            return if get { old_reply } else { Frame::Null };
        }
        let expire_at_ms = if keepttl {
            old.and_then(|e| e.expire_at_ms)
        } else {
            deadline
        };
        self.insert(key, Entry::new(value.to_vec(), expire_at_ms));
        if get {
            old_reply
        } else {
            Frame::ok()
        }
    }

    /// Redis's `incrDecrCommand`: a missing key counts as 0, the stored
    /// string must be a canonical integer, the TTL is kept.
    fn incr_by(&mut self, key: &[u8], by: i64) -> Frame {
        let current = match self.lookup(key) {
            None => 0,
            Some(e) => match string2ll(&e.value) {
                Some(n) => n,
                None => return err(NOT_INTEGER),
            },
        };
        let Some(new) = current.checked_add(by) else {
            return err(OVERFLOW);
        };
        let value = new.to_string().into_bytes();
        match self.lookup(key) {
            Some(e) => e.value = value,
            None => self.insert(key, Entry::persistent(value)),
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
        let mut p = if readonly {
            self.lookup(key)
                .map(|e| e.value.clone())
                .unwrap_or_default()
        } else {
            let byte = (highest_write_offset >> 3) as usize;
            if self.lookup(key).is_none() {
                self.insert(key, Entry::persistent(Vec::new()));
            }
            let value = &mut self.lookup(key).expect("just created").value;
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
            self.lookup(key).expect("created above").value = p;
        }
        Frame::Array(replies)
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
