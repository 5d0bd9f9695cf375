//! The shell's answers to core's [`ServerHooks`]: INFO's shell-side
//! sections (rendered in `info.rs` from a `snapshot.rs` snapshot), the
//! parameters CONFIG SET applies to live shell state, CONFIG RESETSTAT and
//! CONFIG REWRITE. Core calls these; it never sees the shell's types.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};

use crossbeam::channel::Sender;

use myongoredis_core::config::{Param, Value};
use myongoredis_core::info::{InfoSection, ServerHooks};
use myongoredis_core::{Config, Mode, Store};

use crate::aof::{Aof, AofStatus};
use crate::info::{self, ConfigFields};
use crate::limits::{ClientSlots, Deadlines};
use crate::observer::LockStats;
use crate::stats::ServerStats;

/// What the shell shares with core's executor: the live counters and
/// limits that only the process has. One per server, behind an `Arc`.
pub struct ShellHooks {
    pub stats: Arc<ServerStats>,
    pub locks: Arc<LockStats>,
    pub slots: Arc<ClientSlots>,
    pub deadlines: Arc<Deadlines>,
    pub mode: Mode,
    pub lock_count: u32,
    pub port: u16,
    /// The config file the server started from (absolute), for CONFIG
    /// REWRITE and INFO's `config_file`.
    pub config_file: Option<PathBuf>,
    /// Whether the AOF can be written (MISCONF while it cannot).
    pub aof_status: Arc<AofStatus>,
    /// The open AOF, once loaded (`--appendonly yes`).
    pub aof: OnceLock<Arc<Aof>>,
    /// BGREWRITEAOF asks the rewrite thread (see `server.rs`) through
    /// this.
    pub rewrite_requests: Sender<()>,
}

impl ServerHooks for ShellHooks {
    fn info_sections(&self, store: &dyn Store, config: &Config) -> Vec<InfoSection> {
        let file = self.config_file.as_deref();
        info::info_sections(&self.snapshot(store), &ConfigFields::read(config, file))
    }

    /// The parameters whose row says `Apply::Shell`: both change live
    /// state that connection threads read without taking the config lock.
    fn apply_config(&self, param: &'static Param, value: &Value) -> Result<(), String> {
        match (param.name, value) {
            // Connection threads re-read the idle limit at every wait.
            ("timeout", Value::Int(secs)) => self.deadlines.idle_secs.store(*secs as u64, Relaxed),
            // Clients over a lowered limit stay; new ones are refused.
            ("maxclients", Value::Int(max)) => self.slots.set_max(*max as usize),
            // Without an open AOF the value is only stored, for later.
            ("appendfsync", Value::Enum(policy)) => {
                if let Some(aof) = self.aof.get() {
                    aof.set_fsync(crate::aof::Fsync::parse(policy));
                }
            }
            _ => return Err(format!("the shell cannot apply {} at run time", param.name)),
        }
        Ok(())
    }

    fn write_denied(&self) -> Option<String> {
        self.aof_status.write_denied()
    }

    fn bgrewriteaof(&self) -> Result<(), String> {
        let Some(aof) = self.aof.get() else {
            return Err(
                "Background append only file rewriting needs appendonly yes on this server".into(),
            );
        };
        if !aof.begin_rewrite() {
            return Err("Background append only file rewriting already in progress".into());
        }
        // The channel holds one request; begin_rewrite admits one at a time.
        let _ = self.rewrite_requests.try_send(());
        Ok(())
    }

    fn rewrite_config(&self, config: &Config) -> Result<(), String> {
        match &self.config_file {
            Some(path) => crate::config_file::rewrite_file(path, config),
            None => Err(myongoredis_core::cmd::config::NO_CONFIG_FILE.to_string()),
        }
    }

    fn reset_stats(&self, store: &dyn Store) {
        self.stats.reset();
        self.locks.reset();
        let expired: u64 = (0..store.lock_count())
            .map(|lock| {
                let view = store.read(&[lock], "resetstat");
                view.databases().map(|dbs| dbs.expired_total()).sum::<u64>()
            })
            .sum();
        self.stats.expired_keys_baseline.store(expired, Relaxed);
    }
}
