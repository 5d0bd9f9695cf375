//! The command table: one [`CommandSpec`] row per command.
//!
//! As in Redis (`src/commands/*.json` → `commands.def`), a command's arity,
//! flags and key specs are *data*. The executor reads them to
//! * reject a wrong argument count with Redis's exact error, once, before
//!   any command code runs;
//! * plan which locks to take (the locks of the keys its [`KeySpec`]s find
//!   in the arguments, or every lock for [`flags::ALL_KEYS`]), and whether
//!   shared ([`Handler::Read`]) or exclusive ([`Handler::Write`]);
//! * answer `COMMAND COUNT / INFO / DOCS / GETKEYS`.
//!
//! Each group's rows live beside its handlers in `crate::cmd::*` (GET's
//! row is in `cmd/string.rs`, next to `get`); [`lookup`] merges them.

mod keyspec;

pub use keyspec::{
    has_movable_keys, key_flags, keys_from_specs, legacy_range, Begin, BeginSearch, FindKeys,
    InvalidKeyArgs, KeyRef, KeySpec,
};

use std::sync::OnceLock;

use bytes::Bytes;

use crate::exec::Ctx;
use crate::frame::Frame;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

/// Command flags, as Redis names them in `COMMAND INFO`.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const FAST: u32 = 1 << 10;
    pub const NO_AUTH: u32 = 1 << 11;
    pub const ALLOW_BUSY: u32 = 1 << 12;
    /// The command may run with no key at all (EVAL with `numkeys` 0):
    /// `COMMAND GETKEYS` then answers an empty list, not an error.
    pub const NO_MANDATORY_KEYS: u32 = 1 << 13;
    /// Never declared in a row: `COMMAND INFO` shows it when a key spec
    /// is more than a fixed index range (see `has_movable_keys`).
    pub const MOVABLE_KEYS: u32 = 1 << 14;
    /// Not a Redis flag: the command needs every lock of the store (DBSIZE,
    /// KEYS, FLUSHALL, ...), taken in ascending order.
    pub const ALL_KEYS: u32 = 1 << 31;

    /// The names `COMMAND INFO` prints, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// How a command touches the data, which decides the locks it gets.
///
/// Readers and writers answer `Err(KeyOutsidePlan)` when they reach for a
/// key whose lock the executor did not take (a key the row's key specs do
/// not find): a bug in the table, which the client sees as an error reply
/// and the server survives.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Touches no key (PING, CLIENT, CONFIG, ...): no lock at all.
    Server(fn(&mut Ctx<'_>, &[Bytes]) -> Frame),
    /// Only reads: shared locks where the mode has them.
    Read(fn(&mut Ctx<'_>, &ReadView<'_>, &[Bytes]) -> Result<Frame, KeyOutsidePlan>),
    /// May modify: exclusive locks.
    Write(fn(&mut Ctx<'_>, &mut WriteView<'_>, &[Bytes]) -> Result<Frame, KeyOutsidePlan>),
}

/// A command's own key finder, Redis's `getkeys_proc`: for commands whose
/// keys (or their flags) no [`KeySpec`] can describe. Only asked when the
/// specs are missing, fail, or are marked [`key_flags::VARIABLE_FLAGS`].
pub type KeyFinder = fn(&[Bytes]) -> Vec<KeyRef>;

/// One row of the command table.
pub struct CommandSpec {
    /// Lowercase name, as `COMMAND INFO` and the arity error print it.
    pub name: &'static str,
    /// Redis's convention: `n` means exactly n arguments (the name
    /// included), `-n` at least n.
    pub arity: i32,
    pub flags: u32,
    /// Where the keys are, as Redis 7 declares them. Empty for commands
    /// without keys (and for whole-keyspace ones such as KEYS).
    pub keys: &'static [KeySpec],
    /// The last resort when `keys` cannot say (see [`KeyFinder`]).
    pub key_finder: Option<KeyFinder>,
    /// `COMMAND INFO`'s tips (`request_policy:multi_shard`, ...), for
    /// cluster clients.
    pub tips: &'static [&'static str],
    /// `COMMAND DOCS`: group (`string`, `keyspace`, ...), summary, and the
    /// Redis version that introduced the command.
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub handler: Handler,
}

impl CommandSpec {
    /// Does `argc` (the name included) satisfy the arity?
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Add `COMMAND INFO` tips to a row.
    pub const fn with_tips(mut self, tips: &'static [&'static str]) -> CommandSpec {
        self.tips = tips;
        self
    }

    /// Give a row its own key finder.
    pub const fn with_key_finder(mut self, finder: KeyFinder) -> CommandSpec {
        self.key_finder = Some(finder);
        self
    }

    /// Might the command have keys at all (Redis's `doesCommandHaveKeys`)?
    pub fn has_keys(&self) -> bool {
        self.key_finder.is_some() || self.keys.iter().any(|k| k.flags & key_flags::NOT_KEY == 0)
    }

    /// The keys in `args` (an arity-checked argv, the name at 0), as Redis
    /// 7.0's `getKeysFromCommandWithSpecs`: the specs when they describe
    /// the keys and their flags; else, or when they fail on these
    /// arguments, the finder; else none.
    ///
    /// No keys for arguments the specs cannot read (`numkeys` not a
    /// number, or past the end) is not an error here: the command rejects
    /// those arguments itself, before it touches a key.
    pub fn keys(&self, args: &[Bytes]) -> Vec<KeyRef> {
        let all_flags = self.keys.iter().fold(0, |acc, k| acc | k.flags);
        let some_real_key = self.keys.iter().any(|k| k.flags & key_flags::NOT_KEY == 0);
        if some_real_key && all_flags & key_flags::VARIABLE_FLAGS == 0 {
            if let Ok(keys) = keys_from_specs(self.keys, args) {
                return keys;
            }
        }
        self.key_finder.map_or_else(Vec::new, |find| find(args))
    }

    /// The legacy `(first, last, step)` of `COMMAND INFO`, derived from the
    /// key specs (see [`legacy_range`]).
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        legacy_range(self.keys)
    }
}

/// Every command, sorted by name.
fn table() -> &'static [&'static CommandSpec] {
    static TABLE: OnceLock<Vec<&'static CommandSpec>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut all: Vec<&'static CommandSpec> = crate::cmd::GROUPS
            .iter()
            .flat_map(|group| group.iter())
            .collect();
        all.sort_by_key(|c| c.name);
        all
    })
}

/// Find a command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    position(name).map(|i| table()[i])
}

/// The index of a command in [`all`] (for per-command statistics kept in
/// arrays rather than maps).
pub fn position(name: &[u8]) -> Option<usize> {
    table()
        .binary_search_by(|c| cmp_ignore_case(c.name.as_bytes(), name))
        .ok()
}

/// Every command, sorted by name (COMMAND, COMMAND COUNT).
pub fn all() -> &'static [&'static CommandSpec] {
    table()
}

fn cmp_ignore_case(lower: &[u8], other: &[u8]) -> std::cmp::Ordering {
    let a = lower.iter().copied();
    let b = other.iter().map(u8::to_ascii_lowercase);
    a.cmp(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_names_are_unique_lowercase() {
        assert_eq!(lookup(b"GeT").map(|c| c.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
        let names: Vec<&str> = all().iter().map(|c| c.name).collect();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names, dedup, "duplicate rows");
        assert!(names.iter().all(|n| *n == n.to_ascii_lowercase()));
    }

    #[test]
    fn every_keyed_command_declares_read_or_write_consistently() {
        for c in all() {
            match c.handler {
                Handler::Read(_) => assert!(c.has(flags::READONLY), "{}", c.name),
                Handler::Write(_) => assert!(c.has(flags::WRITE), "{}", c.name),
                Handler::Server(_) => {
                    assert!(!c.has_keys(), "{} has keys but takes no lock", c.name)
                }
            }
        }
    }

    #[test]
    fn read_only_commands_declare_read_only_keys() {
        for c in all().iter().filter(|c| c.has(flags::READONLY)) {
            for k in c.keys {
                assert_eq!(k.flags & !key_flags::ACCESS, key_flags::RO, "{}", c.name);
            }
        }
    }

    fn argv(words: &str) -> Vec<Bytes> {
        words
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn positions(name: &str, words: &str) -> Vec<usize> {
        let c = lookup(name.as_bytes()).unwrap();
        c.keys(&argv(words)).iter().map(|k| k.pos).collect()
    }

    #[test]
    fn table_keys_follow_the_specs() {
        assert_eq!(positions("mset", "mset a 1 b 2"), vec![1, 3]);
        assert_eq!(positions("get", "get k"), vec![1]);
        assert_eq!(positions("rename", "rename a b"), vec![1, 2]);
        assert_eq!(positions("del", "del a b c"), vec![1, 2, 3]);
        assert_eq!(positions("ping", "ping x"), Vec::<usize>::new());
        assert_eq!(lookup(b"mset").unwrap().legacy_range(), (1, -1, 2));
        assert_eq!(lookup(b"rename").unwrap().legacy_range(), (1, 2, 1));
        assert_eq!(lookup(b"keys").unwrap().legacy_range(), (0, 0, 0));
    }

    #[test]
    fn set_asks_its_finder_because_its_flags_vary() {
        let set = lookup(b"set").unwrap();
        let plain = set.keys(&argv("set k v"));
        assert_eq!(
            plain,
            vec![KeyRef {
                pos: 1,
                flags: key_flags::OW | key_flags::UPDATE
            }]
        );
        let get = set.keys(&argv("set k v EX 10 gEt"));
        let rw = key_flags::RW | key_flags::ACCESS | key_flags::UPDATE;
        assert_eq!(get, vec![KeyRef { pos: 1, flags: rw }]);
        // The value itself is never taken for the GET option.
        assert_eq!(
            set.keys(&argv("set k get"))[0].flags,
            key_flags::OW | key_flags::UPDATE
        );
    }
}
