//! The command table: one [`CommandSpec`] row per command.
//!
//! As in Redis (`src/commands/*.json` → `commands.def`), a command's arity,
//! flags and key positions are *data*. The executor reads them to
//! * reject a wrong argument count with Redis's exact error, once, before
//!   any command code runs;
//! * plan which locks to take (the keys at `first_key..=last_key` by
//!   `step`, or every lock for [`flags::ALL_KEYS`]), and whether shared
//!   ([`Handler::Read`]) or exclusive ([`Handler::Write`]);
//! * answer `COMMAND COUNT / INFO / DOCS`.
//!
//! Each group's rows live beside its handlers in `crate::cmd::*` (GET's
//! row is in `cmd/string.rs`, next to `get`); [`lookup`] merges them.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::exec::Ctx;
use crate::frame::Frame;
use crate::store::{ReadView, WriteView};

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
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// How a command touches the data, which decides the locks it gets.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Touches no key (PING, CLIENT, CONFIG, ...): no lock at all.
    Server(fn(&mut Ctx<'_>, &[Bytes]) -> Frame),
    /// Only reads: shared locks where the mode has them.
    Read(fn(&mut Ctx<'_>, &ReadView<'_>, &[Bytes]) -> Frame),
    /// May modify: exclusive locks.
    Write(fn(&mut Ctx<'_>, &mut WriteView<'_>, &[Bytes]) -> Frame),
}

/// One row of the command table.
pub struct CommandSpec {
    /// Lowercase name, as `COMMAND INFO` and the arity error print it.
    pub name: &'static str,
    /// Redis's convention: `n` means exactly n arguments (the name
    /// included), `-n` at least n.
    pub arity: i32,
    pub flags: u32,
    /// Key positions: the first key's index, the last (negative counts
    /// from the end: -1 is the last argument), and the stride. 0,0,0 for
    /// commands without keys.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
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

    /// The indices of the key arguments in `args`, as Redis's
    /// `getKeysFromCommand` with the legacy (first, last, step) triple.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i64;
        let first = self.first_key as i64;
        let last = if self.last_key < 0 {
            argc + self.last_key as i64
        } else {
            (self.last_key as i64).min(argc - 1)
        };
        let step = (self.step as i64).max(1);
        let (first, last) = if first == 0 { (1, 0) } else { (first, last) };
        (first..=last).step_by(step as usize).map(|i| i as usize)
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
                    assert_eq!(c.first_key, 0, "{} has keys but takes no lock", c.name)
                }
            }
        }
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let mset = lookup(b"mset").unwrap();
        assert_eq!(mset.key_positions(5).collect::<Vec<_>>(), vec![1, 3]);
        let get = lookup(b"get").unwrap();
        assert_eq!(get.key_positions(2).collect::<Vec<_>>(), vec![1]);
        let ping = lookup(b"ping").unwrap();
        assert_eq!(ping.key_positions(2).count(), 0);
    }
}
