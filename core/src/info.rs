//! INFO and the other commands whose answers belong to the shell.
//!
//! Uptime, connected clients, ops/s and lock statistics are facts about
//! the process running `core`, not about the keyspace; `core` cannot know
//! them (it reads no clock and owns no sockets). The shell implements
//! [`ServerHooks`] and gives it to the executor; INFO asks it for its
//! sections and adds the one section `core` owns, `keyspace`.
//!
//! Without hooks (tests, the WebAssembly guest) INFO reports the keyspace
//! section only, CONFIG SET accepts only the parameters `core` applies
//! itself, and CONFIG REWRITE has no file.

use crate::config::{Config, Param, Value};
use crate::store::Store;

/// The Redis version whose behaviour this server reproduces, reply for
/// reply: INFO's `redis_version` and HELLO's `version` say it, so clients
/// use the features they would use with that Redis.
pub const REDIS_VERSION: &str = "7.0.15";

/// One INFO section: `# Name` and its `field:value` lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoSection {
    /// Lowercase name, as `INFO name` selects it (`server`, `clients`, ...).
    pub name: &'static str,
    /// Shown by plain `INFO` (Redis's "default" set); others only by
    /// `INFO all`/`everything` or by name (e.g. `commandstats`).
    pub default: bool,
    pub fields: Vec<(String, String)>,
}

/// What the shell provides to INFO, CONFIG SET, CONFIG RESETSTAT and
/// CONFIG REWRITE.
pub trait ServerHooks: Send + Sync {
    /// The shell's sections, in display order. `keyspace` is inserted by
    /// `core` before any section named `contention`.
    /// The store is passed so the shell can add keyspace-derived figures
    /// (expired keys) to its own sections, the config for the fields that
    /// report parameters (`hz`, `maxclients`, `maxmemory`).
    fn info_sections(&self, store: &dyn Store, config: &Config) -> Vec<InfoSection>;

    /// Act on a new value of a parameter whose row says
    /// [`Apply::Shell`](crate::config::Apply::Shell) (already validated and
    /// stored by `core`). An error makes CONFIG SET restore every value
    /// and fail with it.
    fn apply_config(&self, param: &'static Param, value: &Value) -> Result<(), String>;

    /// CONFIG RESETSTAT.
    fn reset_stats(&self, store: &dyn Store);

    /// CONFIG REWRITE: write `config` back to the file the server was
    /// started with. The error is the reply's text after `ERR `; a shell
    /// without a file keeps this default.
    fn rewrite_config(&self, config: &Config) -> Result<(), String> {
        let _ = config;
        Err(crate::cmd::config::NO_CONFIG_FILE.to_string())
    }

    /// Why writes are refused right now, as the whole error line
    /// (`MISCONF Errors writing to the AOF file: ...`), or `None`.
    /// Redis's `writeCommandsDeniedByDiskError`: a server that cannot
    /// persist stops acknowledging writes rather than lose them; reads go
    /// on. Asked for every write command (and PING, as Redis does), so it
    /// must be one atomic load in the common case.
    fn write_denied(&self) -> Option<String> {
        None
    }

    /// SAVE: write the RDB file now. The error is the reply's text after
    /// `ERR `.
    fn save(&self, exec: &crate::exec::Executor) -> Result<(), String> {
        let _ = exec;
        Err("saving is not available".into())
    }

    /// BGSAVE [SCHEDULE]: start saving in the background; the status line
    /// ("Background saving started" / "scheduled").
    fn bgsave(&self, schedule: bool) -> Result<&'static str, String> {
        let _ = schedule;
        Err("saving is not available".into())
    }

    /// LASTSAVE: Unix seconds of the last successful save.
    fn lastsave(&self) -> u64 {
        0
    }

    /// SHUTDOWN is about to stop the server: save the RDB file if `save`
    /// says so (`None`: if save points are configured) and sync the AOF.
    /// An error keeps the server running.
    fn prepare_shutdown(
        &self,
        exec: &crate::exec::Executor,
        save: Option<bool>,
    ) -> Result<(), String> {
        let _ = (exec, save);
        Ok(())
    }

    /// BGREWRITEAOF: start rewriting the AOF in the background. The error
    /// is the reply's text after `ERR `.
    fn bgrewriteaof(&self) -> Result<&'static str, String> {
        Err("Background append only file rewriting is not available".into())
    }
}

/// Render sections in Redis's format: `# Name\r\n` then `field:value\r\n`
/// lines, sections separated by an empty line.
pub fn render(sections: &[InfoSection]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"# ");
        out.extend_from_slice(title(section.name).as_bytes());
        out.extend_from_slice(b"\r\n");
        for (k, v) in &section.fields {
            out.extend_from_slice(k.as_bytes());
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// `server` → `Server`, `commandstats` → `Commandstats` (as Redis).
fn title(name: &str) -> String {
    let mut t = name.to_string();
    if let Some(first) = t.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_redis() {
        let sections = [
            InfoSection {
                name: "server",
                default: true,
                fields: vec![("redis_version".into(), "7.0.15".into())],
            },
            InfoSection {
                name: "keyspace",
                default: true,
                fields: vec![],
            },
        ];
        assert_eq!(
            render(&sections),
            b"# Server\r\nredis_version:7.0.15\r\n\r\n# Keyspace\r\n".to_vec()
        );
    }
}
