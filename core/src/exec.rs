//! The executor: arguments in, reply bytes out.
//!
//! [`Executor::execute`] is the single entry point both shells use (the
//! native server per connection thread, the WebAssembly guest per replayed
//! record). For one command it
//! 1. looks the name up in the command table (unknown → Redis's error);
//! 2. checks the arity (→ Redis's error) before any command code runs;
//! 3. plans the locks from the key positions and takes them, in ascending
//!    order, shared for readers and exclusive for writers;
//! 4. runs the handler and encodes its reply into the caller's buffer.
//!
//! Time comes in as `now_us` (Unix microseconds, read by the shell);
//! randomness from the executor's seeded [`Rng`]. Nothing else varies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use bytes::{Bytes, BytesMut};

use crate::command::{self, flags, CommandSpec, Handler};
use crate::error;
use crate::frame::Frame;
use crate::keyspace::ExpireStats;
use crate::rng::Rng;
use crate::store::{lock_of, Store};

/// What the shell should do with the connection after a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Flush the replies, then close (QUIT).
    Close,
    /// Flush the replies, close, and shut the whole server down gracefully
    /// (SHUTDOWN). Like Redis, SHUTDOWN itself sends no reply on success.
    Shutdown,
}

/// Per-connection state that commands can see and change.
#[derive(Clone, Debug)]
pub struct Session {
    /// CLIENT ID: unique, increasing, never reused.
    pub id: u64,
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
}

/// Settings the shell owns but commands report (CONFIG GET).
///
/// A list of `(name, value)` pairs in Redis's spelling; values are strings
/// as CONFIG GET returns them. Behind an `RwLock` because CONFIG SET will
/// change them at run time while connections read them.
#[derive(Debug, Default)]
pub struct Config {
    params: RwLock<Vec<(String, String)>>,
}

impl Config {
    /// Redis's defaults for the parameters clients commonly ask about.
    pub fn with_defaults() -> Config {
        let defaults = [
            ("appendonly", "no"),
            ("bind", "127.0.0.1"),
            ("databases", "1"),
            ("maxclients", "10000"),
            ("maxmemory", "0"),
            ("maxmemory-policy", "noeviction"),
            ("port", "6379"),
            ("proto-max-bulk-len", "536870912"),
            ("save", ""),
            ("tcp-keepalive", "300"),
            ("timeout", "0"),
        ];
        let config = Config::default();
        for (k, v) in defaults {
            config.set(k, v);
        }
        config
    }

    /// Set (or add) a parameter.
    pub fn set(&self, name: &str, value: &str) {
        let mut params = self.params.write().unwrap_or_else(|p| p.into_inner());
        match params.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_string(),
            None => {
                params.push((name.to_string(), value.to_string()));
                params.sort();
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let params = self.params.read().unwrap_or_else(|p| p.into_inner());
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Every `(name, value)`, sorted by name.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.params
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What a handler gets besides its arguments and its locked view.
pub struct Ctx<'a> {
    /// The clock reading for this command: Unix time in microseconds.
    pub now_us: u64,
    pub session: &'a mut Session,
    pub exec: &'a Executor,
    /// The row being executed (for error texts that name the command).
    pub spec: &'static CommandSpec,
    /// Set by QUIT and SHUTDOWN.
    pub flow: Flow,
}

impl Ctx<'_> {
    /// The clock reading in milliseconds: what expiry compares against.
    pub fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }
}

/// Knobs of the active-expiry cycle, named as in Redis's `expire.c`.
///
/// Redis runs the cycle `hz` (10) times a second with a time budget of
/// 25 % of a tick. `core` has no clock, so the budget is counted in sample
/// loops instead: at most this many loops of 20 keys per keyspace per call.
pub const ACTIVE_EXPIRE_MAX_LOOPS: u32 = 16;

/// The engine: a store, a seeded PRNG, the config table and client ids.
pub struct Executor {
    store: Box<dyn Store>,
    rng: Rng,
    config: Config,
    next_client_id: AtomicU64,
}

impl Executor {
    pub fn new(store: Box<dyn Store>, seed: u64, config: Config) -> Executor {
        Executor {
            store,
            rng: Rng::new(seed),
            config,
            next_client_id: AtomicU64::new(1),
        }
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A new connection's state, with the next client id.
    pub fn new_session(&self) -> Session {
        Session {
            id: self.next_client_id.fetch_add(1, Ordering::Relaxed),
            name: None,
        }
    }

    /// Execute one command and append its reply to `out`.
    pub fn execute(
        &self,
        session: &mut Session,
        args: &[Bytes],
        now_us: u64,
        out: &mut BytesMut,
    ) -> Flow {
        let (reply, flow) = self.dispatch(session, args, now_us);
        if flow != Flow::Shutdown {
            reply.encode(out);
        }
        flow
    }

    /// Execute one command and return its reply as a [`Frame`].
    pub fn dispatch(&self, session: &mut Session, args: &[Bytes], now_us: u64) -> (Frame, Flow) {
        let Some(name) = args.first() else {
            return (Frame::Null, Flow::Continue);
        };
        let Some(spec) = command::lookup(name) else {
            return (error::unknown_command(args), Flow::Continue);
        };
        if !spec.arity_ok(args.len()) {
            return (error::wrong_arity(spec.name), Flow::Continue);
        }
        let mut ctx = Ctx {
            now_us,
            session,
            exec: self,
            spec,
            flow: Flow::Continue,
        };
        let reply = match spec.handler {
            Handler::Server(run) => run(&mut ctx, args),
            Handler::Read(run) => {
                let locks = self.lock_plan(spec, args);
                let view = self.store.read(&locks, spec.name);
                run(&mut ctx, &view, args)
            }
            Handler::Write(run) => {
                let locks = self.lock_plan(spec, args);
                let mut view = self.store.write(&locks, spec.name);
                run(&mut ctx, &mut view, args)
            }
        };
        (reply, ctx.flow)
    }

    /// The locks a command needs: every lock for whole-keyspace commands,
    /// else the locks of its key arguments, sorted and deduplicated so
    /// they are always taken in ascending order (no deadlock between two
    /// multi-key commands).
    pub fn lock_plan(&self, spec: &CommandSpec, args: &[Bytes]) -> Vec<u32> {
        let count = self.store.lock_count();
        if count == 1 {
            return vec![0];
        }
        if spec.has(flags::ALL_KEYS) {
            return (0..count).collect();
        }
        let mut locks: Vec<u32> = spec
            .key_positions(args.len())
            .map(|i| lock_of(&args[i], count))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        locks
    }

    /// One run of the active-expiry cycle (the shell calls it 10 times a
    /// second, Redis's `hz`). Keyspaces are visited one lock at a time, so
    /// in shard mode the cycle never stops the whole server.
    pub fn active_expire_cycle(&self, now_ms: u64) -> ExpireStats {
        let mut total = ExpireStats::default();
        for lock in 0..self.store.lock_count() {
            let mut view = self.store.write(&[lock], "active-expire");
            for ks in view.keyspaces_mut() {
                let s = ks.active_expire(now_ms, &self.rng, ACTIVE_EXPIRE_MAX_LOOPS);
                total.sampled += s.sampled;
                total.expired += s.expired;
            }
        }
        total
    }
}
