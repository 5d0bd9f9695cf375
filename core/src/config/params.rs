//! The registry: one row per configuration parameter.
//!
//! Redis keeps its parameters in one table (`standardConfig configs[]` in
//! `src/config.c`): name, alias, flags, type with bounds, default, and the
//! function that applies a new value. This is that table for the
//! parameters this server has. Everything else reads it: the command-line
//! flags (`native/src/cli.rs`), redis.conf loading and CONFIG REWRITE
//! ([`super::file`]), CONFIG GET/SET (`cmd/config.rs`) and INFO.
//!
//! A parameter is listed only when the value we report is true of this
//! server. Some Redis parameters are true only at their default here
//! (`daemonize no`: the server runs in the foreground); their row says so in
//! [`Param::fixed`], and any other value is refused, so a redis.conf can
//! never make CONFIG GET claim something the server does not do.

use std::borrow::Cow;

use super::Value;

/// Redis's default `hz`: background tasks (here the active-expiry cycle)
/// run this many times a second. The one definition: the `hz` row's
/// default, the simulator's virtual expiry tick, and the native expiry
/// loop (which reads the live `hz`) all derive from it.
pub const DEFAULT_HZ: i64 = 10;

/// Redis's default number of databases (`databases 16`).
pub const DEFAULT_DATABASES: u32 = 16;

/// Redis clamps `hz` into this range when it applies it (`CONFIG_MIN_HZ`,
/// `CONFIG_MAX_HZ` in `server.h`): CONFIG SET hz 1000 reports 500.
pub const HZ_RANGE: (i64, i64) = (1, 500);

/// One configuration parameter.
#[derive(Debug)]
pub struct Param {
    /// The canonical lowercase name (CONFIG GET with a glob reports it).
    pub name: &'static str,
    /// Older names Redis still accepts (`slaveof` for `replicaof`).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub default: Value,
    /// CONFIG SET may change it. Redis's `IMMUTABLE_CONFIG` is the
    /// negation; setting an immutable one is an error.
    pub mutable: bool,
    pub apply: Apply,
    /// Takes several words on a redis.conf line (`bind 127.0.0.1 ::1`,
    /// `save 3600 1`): Redis's `MULTI_ARG_CONFIG`. The words are joined
    /// with spaces, as CONFIG GET shows them.
    pub multi_arg: bool,
    /// `Some(why)` when this server implements only the default value:
    /// any other value is refused with this reason.
    pub fixed: Option<&'static str>,
    /// One line for `--help`.
    pub help: &'static str,
}

/// A parameter's type, with Redis's parsing rules (see `parse.rs`).
#[derive(Debug)]
pub enum Kind {
    /// `string2ll` syntax, then bounds (Redis's int, uint, long long).
    Int { min: i64, max: i64 },
    /// `memtoull` syntax (`100mb`, `1gb`, `5k`), then bounds.
    Memory { min: u64, max: u64 },
    /// `yes` / `no`, any case.
    Bool,
    /// One of the names, any case; reported in the case listed here.
    Enum(&'static [&'static str]),
    /// Any string.
    Text,
    /// `save`: pairs of `seconds changes`, seconds ≥ 1 and changes ≥ 0,
    /// or nothing; stored with single spaces, as CONFIG GET shows it.
    SavePoints,
}

/// What happens when a new value is stored (Redis's `apply` function).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    /// Nothing: the value is read where it is used, every time
    /// (`tcp-keepalive` when a client connects).
    Read,
    /// Stored clamped into `(min, max)`, then read where used, as Redis's
    /// `updateHZ` does for `hz`.
    Clamp(i64, i64),
    /// The shell must act on it (resize the client semaphore, change the
    /// idle deadline): [`crate::info::ServerHooks::apply_config`]. Without
    /// a shell nobody could, so CONFIG SET does not know the parameter.
    Shell,
}

const fn text(s: &'static str) -> Value {
    Value::Text(Cow::Borrowed(s))
}

/// A row, fields in [`Param`]'s order (the table reads like Redis's
/// `createIntConfig(...)` lines).
#[allow(clippy::too_many_arguments)]
const fn row(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    default: Value,
    mutable: bool,
    apply: Apply,
    multi_arg: bool,
    fixed: Option<&'static str>,
    help: &'static str,
) -> Param {
    Param {
        name,
        aliases,
        kind,
        default,
        mutable,
        apply,
        multi_arg,
        fixed,
        help,
    }
}

const MUTABLE: bool = true;
const IMMUTABLE: bool = false;
const MULTI_ARG: bool = true;
const ONE_ARG: bool = false;

const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;

/// Parameters Redis 7.0 marks `PROTECTED_CONFIG` (paths on disk): CONFIG
/// SET refuses them with "can't set protected config".
pub const PROTECTED: &[&str] = &["dbfilename", "dir"];

/// Redis's eviction policies, in Redis's order (its error lists them so).
pub const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every parameter, sorted by name (CONFIG GET with a glob and CONFIG
/// REWRITE list them in this order; Redis's dict order is unspecified).
#[rustfmt::skip]
pub static PARAMS: &[Param] = &[
    row("aof-load-truncated", &[], Kind::Bool, Value::Bool(true), MUTABLE, Apply::Read, ONE_ARG, None,
        "Load an AOF whose last command was cut short (a crash mid-write) up to its last whole command"),
    row("aof-use-rdb-preamble", &[], Kind::Bool, Value::Bool(true), MUTABLE, Apply::Read, ONE_ARG, None,
        "Write the AOF's base file as an RDB snapshot (appendonly.aof.N.base.rdb) rather than as commands"),
    row("appenddirname", &[], Kind::Text, text("appendonlydir"), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "Directory (inside dir) of the AOF's files and manifest"),
    row("appendfilename", &[], Kind::Text, text("appendonly.aof"), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "Common prefix of the AOF's file names"),
    row("appendfsync", &[], Kind::Enum(&["everysec", "always", "no"]), Value::Enum("everysec"), MUTABLE, Apply::Shell, ONE_ARG, None,
        "When the AOF is fsynced: always (before each reply), everysec, no (the kernel decides)"),
    row("appendonly", &[], Kind::Bool, Value::Bool(false), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "Log every write to an append-only file and load it at start-up"),
    row("auto-aof-rewrite-min-size", &[], Kind::Memory { min: 0, max: i64::MAX as u64 }, Value::Bytes(64 * 1024 * 1024), MUTABLE, Apply::Read, ONE_ARG, None,
        "No automatic AOF rewrite while the AOF is smaller than this"),
    row("auto-aof-rewrite-percentage", &[], Kind::Int { min: 0, max: INT_MAX }, Value::Int(100), MUTABLE, Apply::Read, ONE_ARG, None,
        "Rewrite the AOF when it grew by this percentage since the last rewrite (0 = never)"),
    row("bind", &[], Kind::Text, text("127.0.0.1"), IMMUTABLE, Apply::Read, MULTI_ARG, None,
        "Address to listen on (one address)"),
    row("cluster-allow-reads-when-down", &[], Kind::Bool, Value::Bool(false), MUTABLE, Apply::Read, ONE_ARG, None,
        "While the cluster is down, still serve reads of this node's slots"),
    row("cluster-config-file", &[], Kind::Text, text("nodes.conf"), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "Where (in dir) the node keeps its cluster state: written by the server, reloaded at start-up"),
    row("cluster-enabled", &[], Kind::Bool, Value::Bool(false), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "Cluster mode: serve only this node's hash slots, redirect the others (MOVED/ASK), speak the cluster bus"),
    row("cluster-node-timeout", &[], Kind::Int { min: 0, max: i64::MAX }, Value::Int(15_000), MUTABLE, Apply::Read, ONE_ARG, None,
        "Milliseconds a node may not answer before it is suspected failing (PFAIL)"),
    row("cluster-port", &[], Kind::Int { min: 0, max: 65535 }, Value::Int(0), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "The cluster bus's port; 0 = port + 10000"),
    row("cluster-require-full-coverage", &[], Kind::Bool, Value::Bool(true), MUTABLE, Apply::Read, ONE_ARG, None,
        "The cluster is down (CLUSTERDOWN) while any hash slot is not served"),
    row("daemonize", &[], Kind::Bool, Value::Bool(false), IMMUTABLE, Apply::Read, ONE_ARG,
        Some("the server runs in the foreground"),
        "Detach from the terminal (not implemented: only no)"),
    row("databases", &[], Kind::Int { min: 1, max: INT_MAX }, Value::Int(DEFAULT_DATABASES as i64), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "Number of databases: SELECT, MOVE, SWAPDB and COPY ... DB take 0 to databases-1"),
    row("dbfilename", &[], Kind::Text, text("dump.rdb"), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "The RDB file's name, in dir"),
    row("dir", &[], Kind::Text, text("."), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "Working directory: the AOF directory is created in it"),
    row("hash-max-listpack-entries", &["hash-max-ziplist-entries"], Kind::Int { min: 0, max: i64::MAX }, Value::Int(512), MUTABLE, Apply::Read, ONE_ARG, None,
        "A hash of more fields becomes a hash table (OBJECT ENCODING hashtable)"),
    row("hash-max-listpack-value", &["hash-max-ziplist-value"], Kind::Memory { min: 0, max: i64::MAX as u64 }, Value::Bytes(64), MUTABLE, Apply::Read, ONE_ARG, None,
        "A hash with a longer field or value becomes a hash table"),
    row("hz", &[], Kind::Int { min: 0, max: INT_MAX }, Value::Int(DEFAULT_HZ), MUTABLE,
        Apply::Clamp(HZ_RANGE.0, HZ_RANGE.1), ONE_ARG, None,
        "Runs of the active-expiry cycle per second (clamped to 1..500)"),
    row("lfu-decay-time", &[], Kind::Int { min: 0, max: INT_MAX }, Value::Int(1), MUTABLE, Apply::Read, ONE_ARG, None,
        "Minutes after which an unused key's LFU counter loses one (0 = never)"),
    row("lfu-log-factor", &[], Kind::Int { min: 0, max: INT_MAX }, Value::Int(10), MUTABLE, Apply::Read, ONE_ARG, None,
        "How slowly the LFU counter grows (Redis's logarithmic counter)"),
    row("list-compress-depth", &[], Kind::Int { min: 0, max: INT_MAX }, Value::Int(0), MUTABLE, Apply::Read, ONE_ARG, None,
        "Nodes at each end of a list left uncompressed (accepted; nodes are never compressed)"),
    row("list-max-listpack-size", &["list-max-ziplist-size"], Kind::Int { min: i32::MIN as i64, max: INT_MAX }, Value::Int(-2), MUTABLE, Apply::Read, ONE_ARG, None,
        "A list node's size: -1..-5 for 4..64 kb, or a number of elements"),
    row("maxclients", &[], Kind::Int { min: 1, max: UINT_MAX }, Value::Int(10_000), MUTABLE, Apply::Shell, ONE_ARG, None,
        "Maximum connected clients; the next gets \"-ERR max number of clients reached\""),
    row("maxmemory", &[], Kind::Memory { min: 0, max: u64::MAX }, Value::Bytes(0), MUTABLE, Apply::Read, ONE_ARG, None,
        "Memory limit for the data (used_memory); 0 = none. Past it, writes evict keys by maxmemory-policy or fail with OOM"),
    row("maxmemory-eviction-tenacity", &[], Kind::Int { min: 0, max: 100 }, Value::Int(10), MUTABLE, Apply::Read, ONE_ARG, None,
        "Accepted (0..100) for redis.conf compatibility: eviction here runs until the data is under the limit (core has no clock to time it)"),
    row("maxmemory-policy", &[], Kind::Enum(MAXMEMORY_POLICIES), Value::Enum("noeviction"), MUTABLE, Apply::Read, ONE_ARG, None,
        "Which keys go when maxmemory is reached: noeviction, allkeys-/volatile- lru, lfu, random, volatile-ttl"),
    row("maxmemory-samples", &[], Kind::Int { min: 1, max: INT_MAX }, Value::Int(5), MUTABLE, Apply::Read, ONE_ARG, None,
        "Keys sampled per eviction round for the LRU, LFU and TTL policies"),
    row("port", &[], Kind::Int { min: 0, max: 65535 }, Value::Int(6379), IMMUTABLE, Apply::Read, ONE_ARG, None,
        "TCP port to listen on; 0 picks a free port (printed at start-up)"),
    row("protected-mode", &[], Kind::Bool, Value::Bool(true), MUTABLE, Apply::Read, ONE_ARG, None,
        "Without a password, refuse clients that are not on the loopback interface"),
    row("proto-max-bulk-len", &[], Kind::Memory { min: 1024 * 1024, max: i64::MAX as u64 },
        Value::Bytes(crate::resp::PROTO_MAX_BULK_LEN as u64), IMMUTABLE, Apply::Read, ONE_ARG,
        Some("the RESP parser's bulk limit is a constant"),
        "Largest bulk string a client may send (only 512mb)"),
    row("requirepass", &[], Kind::Text, text(""), MUTABLE, Apply::Read, ONE_ARG, None,
        "The default user's password (\"\" = none): clients must AUTH first"),
    row("save", &[], Kind::SavePoints, text(""), MUTABLE, Apply::Read, MULTI_ARG, None,
        "RDB save points, \"seconds changes\" pairs (\"3600 1 300 100\"); \"\" (the default here) saves only on SAVE/BGSAVE"),
    row("set-max-intset-entries", &[], Kind::Int { min: 0, max: i64::MAX }, Value::Int(512), MUTABLE, Apply::Read, ONE_ARG, None,
        "An integer set of more members becomes a hash table (OBJECT ENCODING hashtable)"),
    row("tcp-keepalive", &[], Kind::Int { min: 0, max: INT_MAX }, Value::Int(300), MUTABLE, Apply::Read, ONE_ARG, None,
        "TCP keepalive interval in seconds for new clients (0 = off)"),
    row("timeout", &[], Kind::Int { min: 0, max: INT_MAX }, Value::Int(0), MUTABLE, Apply::Shell, ONE_ARG, None,
        "Close a client idle this many seconds (0 = never)"),
    row("zset-max-listpack-entries", &["zset-max-ziplist-entries"], Kind::Int { min: 0, max: i64::MAX }, Value::Int(128), MUTABLE, Apply::Read, ONE_ARG, None,
        "A sorted set of more members becomes a skiplist (OBJECT ENCODING)"),
    row("zset-max-listpack-value", &["zset-max-ziplist-value"], Kind::Memory { min: 0, max: i64::MAX as u64 }, Value::Bytes(64), MUTABLE, Apply::Read, ONE_ARG, None,
        "A sorted set with a longer member becomes a skiplist"),
];

/// The row named `name` (any case) or by one of its aliases.
pub fn lookup(name: &[u8]) -> Option<&'static Param> {
    lookup_in(PARAMS, name)
}

/// [`lookup`] in any table (tests use their own).
pub fn lookup_in<'t>(table: &'t [Param], name: &[u8]) -> Option<&'t Param> {
    table.iter().find(|p| {
        std::iter::once(&p.name)
            .chain(p.aliases)
            .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
    })
}

/// A row by its canonical name, for the shells' typed reads
/// (`config.int(param("hz"))`).
///
/// # Panics
/// If no row has that name: a typo in the caller, caught by its first
/// test run, never by a client (clients' names go through [`lookup`]).
pub fn named(name: &str) -> &'static Param {
    PARAMS
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no configuration parameter named {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_every_default_is_valid() {
        for pair in PARAMS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for p in PARAMS {
            assert_eq!(p.name, p.name.to_ascii_lowercase());
            let shown = p.default.to_string();
            assert_eq!(p.parse(&shown).as_ref(), Ok(&p.default), "{}", p.name);
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        static TABLE: &[Param] = &[row(
            "replica-read-only",
            &["slave-read-only"],
            Kind::Bool,
            Value::Bool(true),
            MUTABLE,
            Apply::Read,
            ONE_ARG,
            None,
            "",
        )];
        assert_eq!(
            lookup_in(TABLE, b"SLAVE-read-only").map(|p| p.name),
            Some("replica-read-only")
        );
        assert_eq!(
            lookup_in(TABLE, b"Replica-Read-Only").map(|p| p.name),
            Some("replica-read-only")
        );
        assert!(lookup_in(TABLE, b"read-only").is_none());
        assert_eq!(lookup(b"HZ").map(|p| p.name), Some("hz"));
        assert_eq!(named("timeout").apply, Apply::Shell);
    }
}
