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
use myongoredis_core::{Config, Executor, Mode, Store};

use crate::aof::{Aof, AofStatus};
use crate::info::{self, ConfigFields};
use crate::limits::{ClientSlots, Deadlines};
use crate::observer::LockStats;
use crate::rdb::Rdb;
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
    /// BGREWRITEAOF and BGSAVE hand their work to the persistence thread
    /// (see `server.rs`) through this.
    pub jobs: Sender<Job>,
    /// The RDB file (SAVE, BGSAVE, save points).
    pub rdb: Arc<Rdb>,
}

/// Work for the persistence thread, done one job at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    Rewrite,
    Bgsave,
}

/// Are save points configured (`save` not empty)?
pub fn has_save_points(config: &Config) -> bool {
    !config.text_is_empty(myongoredis_core::config::named("save"))
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

    fn bgrewriteaof(&self) -> Result<&'static str, String> {
        let Some(aof) = self.aof.get() else {
            return Err(
                "Background append only file rewriting needs appendonly yes on this server".into(),
            );
        };
        if !aof.begin_rewrite() {
            return Err("Background append only file rewriting already in progress".into());
        }
        // Jobs run one after the other: behind a running BGSAVE the
        // rewrite waits, as Redis schedules it.
        let status = if self.rdb.saving() {
            "Background append only file rewriting scheduled"
        } else {
            "Background append only file rewriting started"
        };
        let _ = self.jobs.try_send(Job::Rewrite);
        Ok(status)
    }

    fn save(&self, exec: &Executor) -> Result<(), String> {
        if !self.rdb.begin() {
            return Err("Background save already in progress".into());
        }
        // A failed SAVE answers a bare "-ERR"; the log says why.
        self.rdb
            .save(exec, self.stats.dirty.load(Relaxed), false)
            .map_err(|_| String::new())
    }

    fn bgsave(&self, schedule: bool) -> Result<&'static str, String> {
        if self.rdb.saving() {
            return Err("Background save already in progress".into());
        }
        if self.aof.get().is_some_and(|aof| aof.rewriting()) {
            if schedule {
                self.rdb.scheduled.store(true, Relaxed);
                return Ok("Background saving scheduled");
            }
            return Err("An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.".into());
        }
        if !self.rdb.begin() {
            return Err("Background save already in progress".into());
        }
        let _ = self.jobs.try_send(Job::Bgsave);
        Ok("Background saving started")
    }

    fn lastsave(&self) -> u64 {
        self.rdb.lastsave()
    }

    fn prepare_shutdown(&self, exec: &Executor, save: Option<bool>) -> Result<(), String> {
        self.rdb.set_shutdown_choice(save);
        if self.rdb.save_on_shutdown(has_save_points(exec.config())) {
            // The save itself comes once every connection is gone (so it
            // holds every acknowledged write); here only whether it can.
            self.rdb.check_writable().inspect_err(|e| {
                eprintln!("myongoredis: error trying to save the DB, can't exit: {e}");
            })?;
        }
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
