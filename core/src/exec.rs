//! The executor: arguments in, reply bytes out.
//!
//! [`Executor::execute`] is the single entry point both shells use (the
//! native server per connection thread, the WebAssembly guest per replayed
//! record). For one command it
//! 1. looks the name up in the command table (unknown → Redis's error);
//! 2. checks the arity (→ Redis's error) before any command code runs;
//! 3. plans the locks from the keys its key specs find in the arguments and
//!    takes them, in ascending order, shared for readers and exclusive for
//!    writers;
//! 4. runs the handler and encodes its reply into the caller's buffer (a
//!    handler that reaches outside its lock plan replies with an error).
//!
//! Time comes in as `now_us` (Unix microseconds, read by the shell);
//! randomness from the executor's seeded [`Rng`]. Nothing else varies.
//!
//! ## Hooks for capture and replay
//! A shell that records sessions ([`crate::capture`]) builds the executor
//! [`Executor::with_sequencer`] and calls [`Executor::execute`]:
//! it numbers every command *while the command still holds its locks*, so
//! two commands that touch the same keyspace are numbered in the order
//! they took effect, and reports the PRNG position the command's random
//! stream was forked from. [`Executor::active_expire_step`] does the same
//! for one expiry step. Replay sets the position back with
//! [`Rng::set_position`] and creates sessions with the recorded client ids
//! ([`Session::new`]).
//!
//! ## The write signal
//! Every write path reports what it changed as a
//! [`WriteSignal`] (modified keys, dirty count,
//! the commands to propagate): a command on [`Executed::signal`], including
//! the deletion of expired keys a read-only command met; an active-expiry
//! step on [`ExpireStep::signal`]. Each is taken under the locks of the
//! change it describes, so a shell that appends them in sequence order
//! writes an AOF (or feeds a replica) that rebuilds the same keyspace.

use std::cell::{Cell, OnceCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use crossbeam_utils::CachePadded;

mod cluster;
mod evict;
mod expiry;
mod multi;
mod persist;
mod report;

pub use evict::{Eviction, Policy, OOM};
pub use expiry::ACTIVE_EXPIRE_MAX_LOOPS;
pub use report::{Executed, ExpireStep, LazyExpire};

use crate::clients::ClientRegistry;
use crate::cmd::{self, flags, CommandSpec, Handler};
use crate::config::named;
pub use crate::config::Config;
use crate::error;
use crate::frame::{Frame, Protocol};
use crate::info::ServerHooks;
use crate::keyspace::without_lookup_stats;
use crate::rng::Rng;
pub use crate::session::{Flow, Session};
use crate::signal::{Propagate, WriteSignal};
use crate::store::{lock_of, Store};

/// What a RESP2 client may send while subscribed (Redis's processCommand).
const SUBSCRIBED_MODE: &[&str] = &[
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "ping",
    "quit",
    "reset",
];

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
    /// This command's private random stream and the shared-stream position
    /// it was forked from; made on the first [`Ctx::rng`] call.
    rng: OnceCell<(u64, Rng)>,
    /// The place in the global order of a server command that took locks
    /// itself ([`Ctx::sequence_here`]).
    pub(crate) seq: Cell<Option<u64>>,
    /// Running inside EXEC: a blocking pop does not block there.
    pub(crate) in_exec: bool,
}

impl Ctx<'_> {
    /// Take this command's sequence number now: a server command that
    /// takes locks itself (WATCH, OBJECT) calls this while it holds them,
    /// so that in a capture it is ordered with the writes it could see,
    /// as a reader or writer is.
    pub fn sequence_here(&self) {
        if self.seq.get().is_none() {
            self.seq.set(self.exec.next_seq());
        }
    }

    /// The clock reading in milliseconds: what expiry compares against.
    pub fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }

    /// The command's random numbers: a private stream forked from the
    /// executor's on first use (see [`Rng::fork`] for why), so a capture
    /// can record one position per command.
    pub fn rng(&self) -> &Rng {
        &self.rng.get_or_init(|| self.exec.rng.fork()).1
    }
}

/// The client id of the commands an AOF load runs (Redis's
/// `CLIENT_ID_AOF`): a client with no connection whose writes are never
/// refused.
pub const AOF_CLIENT_ID: u64 = u64::MAX;

/// The engine: a store, a seeded PRNG, the config table and client ids.
pub struct Executor {
    store: Box<dyn Store>,
    rng: Rng,
    config: Config,
    next_client_id: AtomicU64,
    /// The global sequence of a capture: `None` unless the shell asked for
    /// one, because every command bumping one shared counter is itself a
    /// point of contention (its own cache line, hence `CachePadded`).
    sequencer: Option<CachePadded<AtomicU64>>,
    /// Set for replay: a read-only command does not delete the expired
    /// keys it met; the capture says when that happened, and replay calls
    /// [`Executor::lazy_expire`] at that point of the order.
    defer_lazy_expiry: bool,
    /// The shell's INFO sections and runtime config (see `info.rs`).
    hooks: Option<Arc<dyn ServerHooks>>,
    /// Who listens to which channels (PUBLISH, SUBSCRIBE).
    pubsub: crate::pubsub::PubSub,
    /// Who waits in a blocking pop for which keys.
    blocking: crate::blocking::Blocking,
    /// The shell's live connections (see `clients.rs`).
    clients: Option<Arc<dyn ClientRegistry>>,
    /// Where every write's effect goes, under the write's locks (the
    /// AOF). Set once, after the data was loaded: loading must not feed
    /// the file it reads.
    propagate: OnceLock<Arc<dyn Propagate>>,
    /// Build every write's propagated argv even without a sink (the
    /// default: tests and tools read it); see
    /// [`Executor::propagate_only_to_sinks`].
    argv_without_sink: bool,
    /// A snapshot in progress (see `snapshot.rs`): writers copy the
    /// locks it has not copied yet before they change them.
    pub(crate) snapshot: std::sync::Mutex<Option<Arc<crate::snapshot::Snapshot>>>,
    pub(crate) snapshot_active: std::sync::atomic::AtomicBool,
    /// maxmemory: what each lock holds, the limit, the eviction pool.
    memory: evict::Memory,
    /// Cluster mode (`cluster-enabled yes`): the slot table and nodes.
    cluster: Option<Arc<crate::cluster::Cluster>>,
    /// The shell's network, for MIGRATE.
    network: Option<Arc<dyn crate::cluster::ClusterShell>>,
}

impl Executor {
    pub fn new(store: Box<dyn Store>, seed: u64, config: Config) -> Executor {
        let memory = evict::Memory::new(store.lock_count());
        let exec = Executor {
            memory,
            store,
            rng: Rng::new(seed),
            config,
            next_client_id: AtomicU64::new(1),
            sequencer: None,
            defer_lazy_expiry: false,
            hooks: None,
            pubsub: Default::default(),
            blocking: Default::default(),
            clients: None,
            propagate: OnceLock::new(),
            argv_without_sink: true,
            snapshot: std::sync::Mutex::new(None),
            snapshot_active: std::sync::atomic::AtomicBool::new(false),
            cluster: None,
            network: None,
        };
        exec.apply_memory_config();
        exec
    }

    /// From now on, hand every write's effect to `sink` while the write
    /// still holds its locks. Once per executor; a second call is refused.
    pub fn set_propagate(&self, sink: Arc<dyn Propagate>) -> Result<(), String> {
        self.propagate
            .set(sink)
            .map_err(|_| "the propagation sink is already set".to_string())
    }

    /// Build a write's propagated argv only while a sink (the AOF) takes
    /// it: the server's setting, which spares every write without an AOF
    /// its one allocation. [`WriteSignal::propagate`] is then empty for
    /// such writes.
    pub fn propagate_only_to_sinks(mut self) -> Executor {
        self.argv_without_sink = false;
        self
    }

    fn builds_argv(&self) -> bool {
        self.argv_without_sink || self.propagate.get().is_some()
    }

    /// Hand `signal`'s commands to the sink, if there is one. Called with
    /// the locks of the change still held, so two conflicting writes reach
    /// the sink in the order they took effect, as Redis's single thread
    /// feeds its AOF buffer.
    pub(crate) fn feed(&self, signal: &WriteSignal) {
        let Some(sink) = self.propagate.get() else {
            return;
        };
        match signal.propagate.len() {
            0 => {}
            1 => sink.feed(&signal.propagate),
            _ => sink.feed(&signal.transaction()),
        }
    }

    /// Give INFO, CONFIG SET and CONFIG RESETSTAT access to the shell.
    pub fn with_hooks(mut self, hooks: Arc<dyn ServerHooks>) -> Executor {
        self.hooks = Some(hooks);
        self
    }

    pub fn hooks(&self) -> Option<&dyn ServerHooks> {
        self.hooks.as_deref()
    }

    /// For replay: leave the deletion of expired keys met by read-only
    /// commands to explicit [`Executor::lazy_expire`] calls.
    pub fn deferring_lazy_expiry(mut self) -> Executor {
        self.defer_lazy_expiry = true;
        self
    }

    /// Number every command and event in one global order, starting at 1
    /// (for `--capture`).
    pub fn with_sequencer(mut self) -> Executor {
        self.sequencer = Some(CachePadded::new(AtomicU64::new(1)));
        self
    }

    /// The next global sequence number, for events the shell records
    /// itself (connection open/close, protocol errors); `None` without a
    /// sequencer.
    pub fn next_seq(&self) -> Option<u64> {
        // Relaxed: callers that need ordering against keyspace changes
        // call this while holding the locks, whose acquire/release order
        // the counter then inherits.
        self.sequencer
            .as_ref()
            .map(|s| s.fetch_add(1, Ordering::Relaxed))
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
        self.session_with_id(self.next_client_id.fetch_add(1, Ordering::Relaxed))
    }

    /// A connection's state with a given id (replay gives each connection
    /// the id it had). As Redis's `createClient`, it starts authenticated
    /// exactly when no password is configured at this moment.
    pub fn session_with_id(&self, id: u64) -> Session {
        let mut session = Session::new(id);
        session.authenticated = !self.password_required();
        session
    }

    /// Is a password configured (`requirepass`)? Redis's default user is
    /// then not `nopass`, and unauthenticated clients get NOAUTH.
    pub fn password_required(&self) -> bool {
        !self.config.text_is_empty(named("requirepass"))
    }

    /// The client registry the shell keeps (CLIENT LIST, KILL, PAUSE);
    /// `None` without a shell.
    pub fn clients(&self) -> Option<&dyn ClientRegistry> {
        self.clients.as_deref()
    }

    /// Give CLIENT LIST, INFO, KILL, PAUSE and UNPAUSE the shell's
    /// registry of live connections.
    /// The pub/sub registry.
    pub fn pubsub(&self) -> &crate::pubsub::PubSub {
        &self.pubsub
    }

    /// The blocked clients' queues.
    pub fn blocking(&self) -> &crate::blocking::Blocking {
        &self.blocking
    }

    pub fn with_clients(mut self, clients: Arc<dyn ClientRegistry>) -> Executor {
        self.clients = Some(clients);
        self
    }

    /// Execute one command and append its reply to `out`: the entry point
    /// of every shell (through [`crate::pipeline::Pipeline`]). The report
    /// says what the shell does next ([`Executed::flow`]), what a capture
    /// records and what the command changed.
    pub fn execute(
        &self,
        session: &mut Session,
        args: &[Bytes],
        now_us: u64,
        out: &mut BytesMut,
    ) -> Executed {
        let (reply, executed) = self.dispatch(session, args, now_us);
        // CLIENT REPLY OFF / SKIP: the reply is dropped here, where every
        // shell's replies are encoded (the pipeline and replay alike), so a
        // replayed capture drops the same replies the server dropped.
        if !matches!(executed.flow, Flow::Shutdown | Flow::Block) && !session.reply.drops_reply() {
            // In the protocol the session speaks *after* the command, so
            // HELLO 3's own reply is already RESP3, as in Redis.
            reply.encode_as(session.protocol, out);
        }
        session.reply = session.reply.after_command();
        executed
    }

    /// [`Executor::execute`] with the reply as a [`Frame`] (for tests and
    /// tools that inspect replies rather than bytes).
    pub fn dispatch(
        &self,
        session: &mut Session,
        args: &[Bytes],
        now_us: u64,
    ) -> (Frame, Executed) {
        let early = |reply: Frame| {
            let executed = Executed {
                flow: Flow::Continue,
                seq: self.next_seq(),
                rng_position: None,
                lazy_expire: None,
                signal: WriteSignal::default(),
                shell_dependent: false,
                evictions: Vec::new(),
            };
            (reply, executed)
        };
        let Some(name) = args.first() else {
            return early(Frame::Null);
        };
        let spec = cmd::lookup(name);
        // Redis 7.0's `processCommand` order: unknown command, arity,
        // authentication, cluster redirection, then the subscribed
        // context. Only the session's flag is read on the common path;
        // the config (a shared lock) only for a client not authenticated,
        // which a password removed since may let through.
        let refused = match spec {
            None => Some(error::unknown_command(args)),
            Some(spec) if !spec.arity_ok(args.len()) => Some(error::wrong_arity(spec.name)),
            Some(spec)
                if !session.authenticated
                    && !spec.has(flags::NO_AUTH)
                    && self.password_required() =>
            {
                Some(Frame::static_error(error::NOAUTH))
            }
            Some(_) => None,
        };
        // Cluster mode: a key of another node's slot is redirected.
        let refused = refused.or_else(|| self.cluster_gate(spec?, session, args, now_us / 1000));
        // A RESP2 client in subscribed mode can only (un)subscribe.
        let refused = refused.or_else(|| {
            let spec = spec?;
            (session.protocol == Protocol::Resp2
                && session.subscribed()
                && !SUBSCRIBED_MODE.contains(&spec.name))
            .then(|| {
                Frame::error(format!(
                    "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                    cmd::full_name(args).unwrap_or_else(|| spec.name.to_string())
                ))
            })
        });
        // Persistence failing: writes (and PING) get MISCONF.
        let refused = refused.or_else(|| {
            spec.filter(|s| s.has(flags::WRITE) || s.name == "ping")?;
            if session.id == AOF_CLIENT_ID {
                return None;
            }
            self.hooks.as_deref()?.write_denied().map(Frame::error)
        });
        // Past maxmemory: evict, or refuse a command that would add data.
        let mut evictions = Vec::new();
        let refused = refused.or_else(|| {
            let spec = spec?;
            if session.id == AOF_CLIENT_ID {
                return None;
            }
            self.memory_gate(spec, session, now_us / 1000, &mut evictions)
        });
        // Between MULTI and EXEC most commands are queued, not run.
        let (reply, mut executed) =
            if let Some(reply) = self.queue(session, spec, args, refused.clone()) {
                early(reply)
            } else {
                match (spec, refused) {
                    (Some(spec), None) => self.run(spec, session, args, now_us),
                    (_, refused) => early(refused.unwrap_or(Frame::Null)),
                }
            };
        executed.evictions = evictions;
        // ASKING lasts for one command (the whole transaction in MULTI).
        if session.asking && session.multi.is_none() && spec.is_none_or(|s| s.name != "asking") {
            session.asking = false;
        }
        (reply, executed)
    }

    /// Run the row `spec` (found and arity-checked) under the locks its key
    /// specs plan for `args`.
    fn run(
        &self,
        spec: &'static CommandSpec,
        session: &mut Session,
        args: &[Bytes],
        now_us: u64,
    ) -> (Frame, Executed) {
        let mut ctx = Ctx {
            now_us,
            session,
            exec: self,
            spec,
            flow: Flow::Continue,
            rng: OnceCell::new(),
            seq: Cell::new(None),
            in_exec: false,
        };
        // The sequence number is taken after the handler ran and before
        // its view (and so its locks) is dropped: any command that
        // conflicts with this one gets the locks, and its number, later.
        let mut lazy_expire = None;
        let mut signal = WriteSignal::default();
        let mut shell_dependent = false;
        let (reply, seq) = match spec.handler {
            Handler::Server(run) => {
                let reply = run(&mut ctx, args);
                let seq = ctx.seq.get().or_else(|| self.next_seq());
                (reply, seq)
            }
            Handler::Read(run) => {
                let locks = self.lock_plan(spec, args);
                let db = ctx.session.db;
                let view = self
                    .store
                    .read(&locks, spec.name)
                    .in_db(db)
                    .at(ctx.now_ms());
                let reply = run(&mut ctx, &view, args).unwrap_or_else(Frame::from);
                let seq = self.next_seq();
                let expired_seen = view
                    .databases()
                    .fold(false, |seen, dbs| dbs.take_expired_seen() | seen);
                drop(view);
                if expired_seen && !self.defer_lazy_expiry {
                    (lazy_expire, signal) =
                        self.delete_expired_keys(spec, args, &locks, db, ctx.now_ms());
                }
                (reply, seq)
            }
            Handler::Exec => {
                let ran = self.exec_transaction(&mut ctx);
                signal = ran.signal;
                shell_dependent = ran.shell_dependent;
                (ran.reply, ran.seq)
            }
            Handler::Write(run) => {
                let locks = self.lock_plan(spec, args);
                let mut view = self
                    .store
                    .write(&locks, spec.name)
                    .in_db(ctx.session.db)
                    .at(ctx.now_ms());
                self.barrier(&view);
                let reply = without_lookup_stats(|| run(&mut ctx, &mut view, args))
                    .unwrap_or_else(Frame::from);
                // A writer that met an expired key deleted it (or did not
                // need to); its sighting must not make the next reader
                // take a needless write-lock pass.
                for dbs in view.databases() {
                    dbs.take_expired_seen();
                }
                signal = view.take_signal_with(args, self.builds_argv());
                self.feed(&signal);
                self.publish_memory(&view);
                (reply, self.next_seq())
            }
        };
        // Wake the clients blocked on what this command wrote.
        if signal.flushed || signal.swapped.is_some() {
            self.blocking.changed_all();
        } else {
            self.blocking.changed(&signal.modified);
        }
        let executed = Executed {
            flow: ctx.flow,
            seq,
            rng_position: ctx.rng.get().map(|(position, _)| *position),
            lazy_expire,
            signal,
            shell_dependent,
            evictions: Vec::new(),
        };
        (reply, executed)
    }

    /// Lazy expiry for a read-only command that ran in database `db` and
    /// met expired keys: delete them under a write lock, re-checking each
    /// deadline (another client may have rewritten the key in between).
    ///
    /// Reports the deletion (numbered under the write lock) and its
    /// signal if it removed anything; a deletion that removed nothing
    /// changed nothing.
    fn delete_expired_keys(
        &self,
        spec: &CommandSpec,
        args: &[Bytes],
        locks: &[u32],
        db: u32,
        now_ms: u64,
    ) -> (Option<LazyExpire>, WriteSignal) {
        let mut view = self.store.write(locks, "lazy-expire").in_db(db);
        self.barrier(&view);
        let mut deleted = 0;
        for key in spec.keys(args) {
            let key = &args[key.pos];
            // The keys are the ones the locks were planned from. A lookup
            // for writing deletes the key if it is (still) expired.
            if let Ok(mut ks) = view.ks_mut(key) {
                if ks.expire_due(key, now_ms) {
                    deleted += 1;
                }
            }
        }
        let signal = view.take_signal(args);
        self.feed(&signal);
        self.publish_memory(&view);
        let lazy = (deleted > 0).then(|| LazyExpire {
            seq: self.next_seq(),
            deleted,
        });
        (lazy, signal)
    }

    /// The locks a command needs: every lock for whole-keyspace commands,
    /// else the locks of the keys its key specs find in `args`, sorted and
    /// deduplicated so they are always taken in ascending order (no
    /// deadlock between two multi-key commands).
    pub fn lock_plan(&self, spec: &CommandSpec, args: &[Bytes]) -> LockPlan {
        let count = self.store.lock_count();
        if count == 1 {
            return smallvec::smallvec![0];
        }
        if spec.has(flags::ALL_KEYS) {
            return (0..count).collect();
        }
        let mut locks: LockPlan = spec
            .keys(args)
            .iter()
            .map(|k| lock_of(&args[k.pos], count))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        locks
    }
}

/// The locks one command takes, ascending: inline up to four, so planning a
/// GET or a SET allocates nothing (shard mode's MSET of many keys spills).
pub type LockPlan = smallvec::SmallVec<[u32; 4]>;

#[cfg(test)]
mod tests;
