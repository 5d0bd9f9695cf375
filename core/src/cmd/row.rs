//! One row of the command table: what a command *is* (name, arity, flags,
//! key specs, documentation) and which handler runs it.
//!
//! As in Redis (`src/commands/*.json` → `commands.def`), a command's arity,
//! flags and key specs are *data*. The executor reads them to
//! * reject a wrong argument count with Redis's exact error, once, before
//!   any command code runs;
//! * plan which locks to take (the locks of the keys its [`KeySpec`]s find
//!   in the arguments, or every lock for [`flags::ALL_KEYS`]), and whether
//!   shared ([`Handler::Read`]) or exclusive ([`Handler::Write`]);
//! * answer `COMMAND COUNT / INFO / DOCS / GETKEYS`.

use bytes::Bytes;

use crate::exec::Ctx;
use crate::frame::Frame;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

use super::keyspec::{key_flags, keys_from_specs, legacy_range, KeyRefs, KeySpec};

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
    pub const SKIP_SLOWLOG: u32 = 1 << 15;
    /// Refused between MULTI and EXEC ("Command not allowed inside a
    /// transaction"): SHUTDOWN, SAVE, SYNC ...
    pub const NO_MULTI: u32 = 1 << 16;
    /// Refused while a replica loads its data in the background (Redis's
    /// `no_async_loading`); shown by COMMAND INFO.
    pub const NO_ASYNC_LOADING: u32 = 1 << 17;
    /// Not a Redis flag: a [`super::Handler::Server`] command that takes the
    /// store's locks itself, one at a time (INFO's keyspace figures, WATCH,
    /// UNWATCH, CONFIG RESETSTAT). Inside EXEC, which already holds its
    /// locks, such a command runs after the transaction's locks are
    /// released (its reply keeps its place).
    pub const OWN_LOCKS: u32 = 1 << 30;
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
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
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
    /// EXEC: runs the session's queued commands under the union of their
    /// lock plans (`exec/multi.rs`).
    Exec,
}

/// A command's own key finder, Redis's `getkeys_proc`: for commands whose
/// keys (or their flags) no [`KeySpec`] can describe. Only asked when the
/// specs are missing, fail, or are marked [`key_flags::VARIABLE_FLAGS`].
pub type KeyFinder = fn(&[Bytes]) -> KeyRefs;

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
    pub fn keys(&self, args: &[Bytes]) -> KeyRefs {
        let all_flags = self.keys.iter().fold(0, |acc, k| acc | k.flags);
        let some_real_key = self.keys.iter().any(|k| k.flags & key_flags::NOT_KEY == 0);
        if some_real_key && all_flags & key_flags::VARIABLE_FLAGS == 0 {
            if let Ok(keys) = keys_from_specs(self.keys, args) {
                return keys;
            }
        }
        self.key_finder.map_or_else(KeyRefs::new, |find| find(args))
    }

    /// The legacy `(first, last, step)` of `COMMAND INFO`, derived from the
    /// key specs (see [`legacy_range`]).
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        legacy_range(self.keys)
    }
}
