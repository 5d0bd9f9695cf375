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
//! every reply treats it as absent. Whether it is *physically* gone yet
//! differs between Redis (any lookup deletes it) and this server (only
//! writers and the active cycle can, readers run under shared locks), so
//! the model keeps such "ghost" entries in its map until a command replaces
//! them, and DBSIZE is checked against a range: at least the live keys, at
//! most the live keys plus the ghosts. The model removes an entry only where
//! a *live* key is deleted, which the server must do physically too.

use std::collections::BTreeMap;

use bytes::Bytes;
use myongoredis_core::Frame;

use crate::command::{At, Command, ExpireCond, Key, Num, SetOpt, Val, T0_MS};

/// What the server must reply to one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Exactly this frame.
    Reply(Frame),
    /// An integer in `lo..=hi` (DBSIZE, see the module docs).
    IntBetween(i64, i64),
    /// Nothing: the step is not a command.
    Nothing,
}

/// A stored value and its deadline (Unix ms; `None`: no TTL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Vec<u8>,
    pub expire_at_ms: Option<u64>,
}

impl Entry {
    fn persistent(value: Vec<u8>) -> Entry {
        Entry {
            value,
            expire_at_ms: None,
        }
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

    /// The entry of `key` if it is live: present and not past its deadline.
    /// (A key is still alive *at* its deadline and gone one ms after, as in
    /// Redis: expired means `now > deadline`.)
    pub fn live(&self, key: &[u8]) -> Option<&Entry> {
        let now = self.now_ms();
        self.entries
            .get(key)
            .filter(|e| e.expire_at_ms.is_none_or(|at| now <= at))
    }

    fn live_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let now = self.now_ms();
        self.entries
            .get_mut(key)
            .filter(|e| e.expire_at_ms.is_none_or(|at| now <= at))
    }

    /// Delete a live key (a no-op for absent keys and ghosts).
    fn delete_live(&mut self, key: &[u8]) -> Option<Entry> {
        self.live(key)?;
        self.entries.remove(key)
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
            // Expired keys are already invisible to the model: removing them
            // physically changes no reply.
            Command::ActiveExpire => return Expected::Nothing,
            Command::DbSize => {
                let live = self.live_keys().len() as i64;
                return Expected::IntBetween(live, self.entries.len() as i64);
            }
            Command::Set(k, v, opts) => self.set(k.bytes(), v.bytes(), opts),
            Command::Get(k) => Frame::bulk_or_null(self.live(k.bytes()).map(|e| &e.value[..])),
            Command::GetDel(k) => {
                Frame::bulk_or_null(self.delete_live(k.bytes()).as_ref().map(|e| &e.value[..]))
            }
            Command::SetNx(k, v) => {
                if self.live(k.bytes()).is_some() {
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
                    .filter(|k| self.delete_live(k.bytes()).is_some())
                    .count();
                int(removed as i64)
            }
            Command::Exists(keys) if keys.is_empty() => arity("exists"),
            // A key named twice counts twice.
            Command::Exists(keys) => int(keys
                .iter()
                .filter(|k| self.live(k.bytes()).is_some())
                .count() as i64),
            Command::Incr(k) => self.incr_by(k.bytes(), 1),
            Command::Decr(k) => self.incr_by(k.bytes(), -1),
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
                let len = match self.live_mut(k.bytes()) {
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
            Command::Strlen(k) => int(self.live(k.bytes()).map_or(0, |e| e.value.len()) as i64),
            Command::MSet(pairs) if pairs.is_empty() => arity("mset"),
            Command::MSet(pairs) => {
                self.set_all(pairs);
                Frame::ok()
            }
            Command::MGet(keys) if keys.is_empty() => arity("mget"),
            Command::MGet(keys) => Frame::Array(
                keys.iter()
                    .map(|k| Frame::bulk_or_null(self.live(k.bytes()).map(|e| &e.value[..])))
                    .collect(),
            ),
            Command::MSetNx(pairs) if pairs.is_empty() => arity("msetnx"),
            Command::MSetNx(pairs) => {
                if pairs.iter().any(|(k, _)| self.live(k.bytes()).is_some()) {
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
            Command::Persist(k) => match self.live_mut(k.bytes()) {
                Some(e) if e.expire_at_ms.is_some() => {
                    e.expire_at_ms = None;
                    int(1)
                }
                _ => int(0),
            },
            Command::Ttl(k) => self.ttl(*k, true),
            Command::Pttl(k) => self.ttl(*k, false),
        };
        Expected::Reply(reply)
    }

    /// Store an entry, replacing whatever was there (live or ghost).
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
        let old = self.live(key).cloned();
        // With GET the reply is the old value, whether or not the SET happens.
        let old_reply = Frame::bulk_or_null(old.as_ref().map(|e| &e.value[..]));
        if (nx && old.is_some()) || (xx && old.is_none()) {
            return if get { old_reply } else { Frame::Null };
        }
        let expire_at_ms = if keepttl {
            old.and_then(|e| e.expire_at_ms)
        } else {
            deadline
        };
        self.insert(
            key,
            Entry {
                value: value.to_vec(),
                expire_at_ms,
            },
        );
        if get {
            old_reply
        } else {
            Frame::ok()
        }
    }

    /// Redis's `incrDecrCommand`: a missing key counts as 0, the stored
    /// string must be a canonical integer, the TTL is kept.
    fn incr_by(&mut self, key: &[u8], by: i64) -> Frame {
        let current = match self.live(key) {
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
        match self.live_mut(key) {
            Some(e) => e.value = value,
            None => self.insert(key, Entry::persistent(value)),
        }
        int(new)
    }

    /// Redis's `renameGenericCommand`.
    fn rename(&mut self, src: &[u8], dst: &[u8], nx: bool) -> Frame {
        if self.live(src).is_none() {
            return err("ERR no such key");
        }
        if src == dst {
            return if nx { int(0) } else { Frame::ok() };
        }
        if nx && self.live(dst).is_some() {
            return int(0);
        }
        // The value moves with its TTL.
        if let Some(entry) = self.delete_live(src) {
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
        let Some(entry) = self.live(key) else {
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
            self.delete_live(key);
        } else if let Some(e) = self.live_mut(key) {
            e.expire_at_ms = Some(when as u64);
        }
        int(1)
    }

    /// Redis's `ttlGenericCommand`: -2 no key, -1 no TTL, else the time left,
    /// in seconds rounded to the nearest.
    fn ttl(&self, key: Key, seconds: bool) -> Frame {
        let Some(entry) = self.live(key.bytes()) else {
            return int(-2);
        };
        let Some(at) = entry.expire_at_ms else {
            return int(-1);
        };
        let ms = at - self.now_ms();
        int(if seconds { (ms + 500) / 1000 } else { ms } as i64)
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
        // The ghost still counts towards DBSIZE's upper bound.
        assert_eq!(m.apply(&Command::DbSize), Expected::IntBetween(0, 1));
    }
}
