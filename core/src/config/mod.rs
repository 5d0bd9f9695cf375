//! Configuration: one typed registry of parameters and their live values.
//!
//! * [`params`]: the table, one row per parameter (name, aliases, type with
//!   bounds, default, settable or not, what applying it does).
//! * [`parse`]: each type's parsing with Redis's rules and error texts, and
//!   the forms CONFIG GET and CONFIG REWRITE write.
//! * [`file`]: redis.conf text, read as redis-server reads it and rewritten
//!   as CONFIG REWRITE rewrites it. Pure text in, text out: the shell owns
//!   the file itself (`core` does no I/O).
//! * this module: [`Config`], the values, with CONFIG SET's all-or-nothing
//!   update and CONFIG GET's pattern matching.

pub mod file;
pub mod params;
pub mod parse;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{RwLock, RwLockReadGuard};

use bytes::Bytes;

use crate::glob::glob_match;
use crate::keyspace::{Limits, NodeLimit};
pub use params::{lookup, named, Apply, Kind, Param, DEFAULT_DATABASES, DEFAULT_HZ, PARAMS};
pub use parse::{save_points_of, Value};

/// Acting on a parameter's new value: the shell's
/// [`crate::info::ServerHooks::apply_config`], handed to
/// [`Config::set_many`].
pub type ApplyFn<'a> = &'a dyn Fn(&'static Param, &Value) -> Result<(), String>;

/// The live value of every parameter in [`PARAMS`], in table order.
///
/// Behind an `RwLock`: connections read values (CONFIG GET, INFO, the
/// expiry loop reads `hz`) while CONFIG SET writes them. A CONFIG SET
/// holds the write lock from its first check to its last apply, so no
/// reader ever sees half of a multi-parameter change.
#[derive(Debug)]
pub struct Config {
    values: RwLock<Vec<Value>>,
    /// The encoding limits every HSET and SADD reads, copied out of
    /// `values` after each change: reading them through the `RwLock` would
    /// put one shared cache line (the lock's reader count) on every write
    /// of every client, the kind of hidden contention this server exists
    /// to show.
    limits: LimitCache,
}

#[derive(Debug, Default)]
struct LimitCache {
    hash_entries: AtomicUsize,
    hash_value: AtomicUsize,
    set_intset_entries: AtomicUsize,
    list_node: std::sync::atomic::AtomicI64,
    zset_entries: AtomicUsize,
    zset_value: AtomicUsize,
}

impl Default for Config {
    fn default() -> Config {
        Config::with_defaults()
    }
}

/// Why a CONFIG SET was refused (nothing was changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    /// The name is not a parameter (or not one CONFIG SET can reach).
    Unknown(String),
    /// `arg` is the name as the client spelled it.
    Failed { arg: String, reason: String },
}

/// The error text, without Redis's `ERR ` prefix.
impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::Unknown(name) => write!(
                f,
                "Unknown option or number of arguments for CONFIG SET - '{name}'"
            ),
            SetError::Failed { arg, reason } => write!(
                f,
                "CONFIG SET failed (possibly related to argument '{arg}') - {reason}"
            ),
        }
    }
}

impl Config {
    /// Every parameter at its default.
    pub fn with_defaults() -> Config {
        let config = Config {
            values: RwLock::new(PARAMS.iter().map(|p| p.default.clone()).collect()),
            limits: LimitCache::default(),
        };
        config.refresh_limits();
        config
    }

    /// The compact-encoding limits (`hash-max-listpack-*`,
    /// `set-max-intset-entries`), without taking the config lock.
    pub fn limits(&self) -> Limits {
        Limits {
            hash_entries: self.limits.hash_entries.load(Relaxed),
            hash_value: self.limits.hash_value.load(Relaxed),
            set_intset_entries: self.limits.set_intset_entries.load(Relaxed),
            list_node: NodeLimit::from_config(self.limits.list_node.load(Relaxed)),
            zset_entries: self.limits.zset_entries.load(Relaxed),
            zset_value: self.limits.zset_value.load(Relaxed),
        }
    }

    fn refresh_limits(&self) {
        let get = |name| usize::try_from(self.int(named(name))).unwrap_or(usize::MAX);
        let l = &self.limits;
        l.hash_entries
            .store(get("hash-max-listpack-entries"), Relaxed);
        l.hash_value.store(get("hash-max-listpack-value"), Relaxed);
        l.set_intset_entries
            .store(get("set-max-intset-entries"), Relaxed);
        l.list_node
            .store(self.int(named("list-max-listpack-size")), Relaxed);
        l.zset_entries
            .store(get("zset-max-listpack-entries"), Relaxed);
        l.zset_value.store(get("zset-max-listpack-value"), Relaxed);
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<Value>> {
        // A panic while holding the lock cannot leave a value half
        // written (each is replaced whole), so a poisoned lock is usable.
        self.values.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of a row of [`PARAMS`].
    pub fn value(&self, param: &'static Param) -> Value {
        self.read()[index(param)].clone()
    }

    /// A numeric value: an integer, a memory size (saturated to `i64`),
    /// or a bool as 0/1. Text and enums read as 0; use [`Config::value`].
    pub fn int(&self, param: &'static Param) -> i64 {
        match self.value(param) {
            Value::Int(n) => n,
            Value::Bytes(n) => i64::try_from(n).unwrap_or(i64::MAX),
            Value::Bool(b) => i64::from(b),
            Value::Enum(_) | Value::Text(_) => 0,
        }
    }

    /// The number of databases (`databases`): the store is built with
    /// this many, and SELECT, MOVE, SWAPDB and COPY ... DB check indexes
    /// against it.
    pub fn databases(&self) -> u32 {
        u32::try_from(self.int(params::named("databases")))
            .unwrap_or(1)
            .max(1)
    }

    /// A text value (`requirepass`); other kinds as CONFIG GET shows them.
    pub fn text(&self, param: &'static Param) -> String {
        self.read()[index(param)].to_string()
    }

    /// Is a text value empty? Without copying it (checked for every
    /// command of a client that has not authenticated).
    pub fn text_is_empty(&self, param: &'static Param) -> bool {
        matches!(&self.read()[index(param)], Value::Text(t) if t.is_empty())
    }

    /// A value as CONFIG GET shows it, by name or alias (any case).
    pub fn get(&self, name: &str) -> Option<String> {
        lookup(name.as_bytes()).map(|p| self.value(p).to_string())
    }

    /// Every `(name, value)` as CONFIG GET shows them, sorted by name.
    pub fn entries(&self) -> Vec<(String, String)> {
        let values = self.read();
        PARAMS
            .iter()
            .zip(values.iter())
            .map(|(p, v)| (p.name.to_string(), v.to_string()))
            .collect()
    }

    /// Every `(row, value)`, in table order (CONFIG REWRITE).
    pub fn snapshot(&self) -> Vec<(&'static Param, Value)> {
        PARAMS.iter().zip(self.read().iter().cloned()).collect()
    }

    /// Set a parameter at start-up (redis.conf, a `--flag`, a capture's
    /// header): any parameter, settable at run time or not. The error is
    /// redis-server's reason for refusing the line.
    pub fn set(&self, name: &str, value: &str) -> Result<(), String> {
        let param = lookup(name.as_bytes()).ok_or("Bad directive or wrong number of arguments")?;
        let value = param.parse(value)?;
        let mut values = self.values.write().unwrap_or_else(|p| p.into_inner());
        values[index(param)] = stored(param, value);
        drop(values);
        self.refresh_limits();
        Ok(())
    }

    /// CONFIG SET with several pairs, all or nothing, as Redis 7's
    /// `configSetCommand`:
    /// 1. every name is checked first, in order: unknown, immutable or
    ///    given twice (any spelling) refuses the whole command;
    /// 2. the values are parsed and stored in order; the first bad one
    ///    restores every value already stored;
    /// 3. each changed parameter is applied (`apply` is the shell's hook,
    ///    `None` without a shell); if one fails, the old values are
    ///    restored and re-applied.
    pub fn set_many(
        &self,
        pairs: &[(Bytes, Bytes)],
        apply: Option<ApplyFn<'_>>,
    ) -> Result<(), SetError> {
        let result = self.set_many_locked(pairs, apply);
        self.refresh_limits();
        result
    }

    fn set_many_locked(
        &self,
        pairs: &[(Bytes, Bytes)],
        apply: Option<ApplyFn<'_>>,
    ) -> Result<(), SetError> {
        let spelled = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
        let failed = |arg: &Bytes, reason: &str| SetError::Failed {
            arg: spelled(arg),
            reason: reason.to_string(),
        };
        let mut params: Vec<&'static Param> = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let param = lookup(name)
                .filter(|p| p.apply != Apply::Shell || apply.is_some())
                .ok_or_else(|| SetError::Unknown(spelled(name)))?;
            if !param.mutable {
                // Redis 7.0 calls the paths it guards (`dir`, `dbfilename`)
                // protected: settable only with enable-protected-configs.
                let why = if params::PROTECTED.contains(&param.name) {
                    "can't set protected config"
                } else {
                    "can't set immutable config"
                };
                return Err(failed(name, why));
            }
            if params.iter().any(|p| std::ptr::eq(*p, param)) {
                return Err(failed(name, "duplicate parameter"));
            }
            params.push(param);
        }
        let mut values = self.values.write().unwrap_or_else(|p| p.into_inner());
        let old: Vec<Value> = params.iter().map(|p| values[index(p)].clone()).collect();
        let restore = |values: &mut Vec<Value>| {
            for (p, v) in params.iter().zip(&old) {
                values[index(p)] = v.clone();
            }
        };
        for (param, (name, text)) in params.iter().zip(pairs) {
            match param.parse(&String::from_utf8_lossy(text)) {
                Ok(value) => values[index(param)] = stored(param, value),
                Err(reason) => {
                    restore(&mut values);
                    return Err(failed(name, &reason));
                }
            }
        }
        let Some(apply) = apply else {
            return Ok(());
        };
        for (i, param) in params.iter().enumerate() {
            if param.apply != Apply::Shell || values[index(param)] == old[i] {
                continue;
            }
            if let Err(reason) = apply(param, &values[index(param)]) {
                restore(&mut values);
                for (p, v) in params[..=i].iter().zip(&old) {
                    if p.apply == Apply::Shell {
                        // Best effort, as Redis's restoreBackupConfig:
                        // the old value was applied once already.
                        let _ = apply(p, v);
                    }
                }
                return Err(failed(&pairs[i].0, &reason));
            }
        }
        Ok(())
    }

    /// CONFIG GET's matches for several patterns, as Redis 7's
    /// `configGetCommand`: a pattern without `*`, `?` or `[` is a name or
    /// alias (any case), reported as the client spelled it; a glob
    /// matches names and aliases case-insensitively and reports them as
    /// the table spells them. Each name appears once, whatever its case.
    pub fn matching(&self, patterns: &[Bytes]) -> Vec<(Bytes, String)> {
        let values = self.read();
        let mut found: Vec<(Bytes, String)> = Vec::new();
        let mut add = |name: Bytes, param: &'static Param| {
            if !found.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                found.push((name, values[index(param)].to_string()));
            }
        };
        for pattern in patterns {
            if !pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
                if let Some(param) = lookup(pattern) {
                    add(pattern.clone(), param);
                }
                continue;
            }
            for param in PARAMS {
                for name in std::iter::once(&param.name).chain(param.aliases) {
                    if glob_match(pattern, name.as_bytes(), true) {
                        add(Bytes::from_static(name.as_bytes()), param);
                    }
                }
            }
        }
        found
    }
}

/// The position of a row of [`PARAMS`] (rows are compared by address:
/// only rows of the table have a value).
fn index(param: &'static Param) -> usize {
    PARAMS
        .iter()
        .position(|p| std::ptr::eq(p, param))
        .unwrap_or_else(|| panic!("{} is not a row of PARAMS", param.name))
}

/// The value as stored, after the row's clamp (`hz`).
fn stored(param: &Param, value: Value) -> Value {
    match (param.apply, value) {
        (Apply::Clamp(min, max), Value::Int(n)) => Value::Int(n.clamp(min, max)),
        (_, value) => value,
    }
}

#[cfg(test)]
mod tests;
