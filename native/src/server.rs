//! The server's threads and their lifetimes.
//!
//! ```text
//! main ── thread::scope ──┬── acceptor (this thread): accept, spawn a connection thread
//!                         ├── conn 1 … conn N: one thread per client (the seed's
//!                         │   goroutine per connection), see connection.rs
//!                         ├── expiry: the active-expiry cycle, `hz` times a second
//!                         ├── stats: ops/s and trace counters, once a second
//!                         └── metrics: the HTTP endpoints (--metrics-addr)
//! signals: SIGTERM/SIGINT → graceful shutdown (the one thread outside the
//!          scope, so a second signal can interrupt the drain; `watch_signals`)
//! ```
//!
//! Every thread lives inside one `std::thread::scope`, so none can outlive
//! the executor it borrows: the structure *is* the lifetime. (DESIGN.md
//! names `crossbeam::scope`; it keeps the handle of every thread it ever
//! spawned until the scope ends, so a server that sees a million short
//! connections would hold a million exited, unjoined threads. `std`'s scope
//! gives the same guarantee and detaches a thread when it finishes.)

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError};
use myongoredis_core::capture::{self as capture_format, Header, Record};
use myongoredis_core::config::{named, save_points_of, Value};
use myongoredis_core::keyspace::ACTIVE_EXPIRE_ACCEPTABLE_STALE;
use myongoredis_core::{cmd, new_store, Executor, Mode, Session};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::aof::{Aof, AofConfig, AofStatus, Fsync};
use crate::capture::Capture;
use crate::cli::{Invocation, IoArg};
use crate::clients::{protected_mode_denies, Registered, Registry, DENIED};
use crate::clock::{unix_now_us, Monotonic};
use crate::config_file;
use crate::connection::Connection;
use crate::event_loop::Loops;
use crate::hooks::{has_save_points, Job, ShellHooks};
use crate::limits::{ClientSlots, Deadlines, Slot};
use crate::observer::LockStats;
use crate::rdb::Rdb;
use crate::shutdown::Shutdown;
use crate::stats::ServerStats;
use crate::summary;
use crate::trace::Tracer;
use crate::{Ready, ServerConfig};

/// How often ops/s is sampled and trace counters are written.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Stack size of a connection thread. A connection needs little stack
/// (buffers are on the heap); 256 KiB instead of the default 2 MiB keeps
/// thousands of clients cheap in address space.
const CONNECTION_STACK: usize = 256 * 1024;

/// Everything the threads share, borrowed from `run`'s stack.
pub struct Shared {
    pub exec: Executor,
    /// The monotonic clock of lock spans, command timings and the trace.
    pub clock: Monotonic,
    pub hooks: Arc<ShellHooks>,
    pub tracer: Option<Arc<Tracer>>,
    /// A command name that makes its connection thread panic (hidden
    /// `--debug-panic-on`), so tests can prove a panic stays contained.
    pub panic_on: Option<Vec<u8>>,
    pub shutdown: Arc<Shutdown>,
    /// `--capture DIR`: the executor then numbers every command.
    pub capture: Option<Capture>,
    /// Every live connection (CLIENT LIST, KILL, PAUSE); the executor
    /// holds it too, as core's `ClientRegistry`.
    pub clients: Arc<Registry>,
    /// Hidden `--debug-peers-are-remote`: protected mode treats every
    /// client as remote, so tests can prove the refusal on loopback.
    pub peers_are_remote: bool,
}

impl Shared {
    /// Must a batch that wrote wait for the AOF's fsync before its
    /// replies leave (`appendfsync always`)?
    pub fn aof_always(&self) -> bool {
        self.aof().is_some_and(|aof| aof.fsync() == Fsync::Always)
    }

    /// The open AOF (`--appendonly yes`).
    pub fn aof(&self) -> Option<&Aof> {
        self.hooks.aof.get().map(|aof| &**aof)
    }
}

impl Shared {
    pub fn stats(&self) -> &ServerStats {
        &self.hooks.stats
    }

    pub fn deadlines(&self) -> &Deadlines {
        &self.hooks.deadlines
    }
}

/// Serve until SIGTERM, SIGINT or SHUTDOWN: bind, start every thread,
/// call `on_ready` once the listener is bound (before the first accept),
/// then drain and return. An error is one line: nothing could be served.
pub fn run(config: ServerConfig, on_ready: impl FnOnce(&Ready)) -> Result<(), String> {
    let ServerConfig {
        invocation,
        registry: config,
    } = config;
    let Invocation {
        args, config_file, ..
    } = invocation;
    let mode = Mode::from(args.mode);
    let seed = args.seed.unwrap_or_else(random_seed);
    let lock_count = if mode == Mode::Shard { args.shards } else { 1 };
    let clock = Monotonic::new();
    let io_threads = args.io_threads.map_or_else(
        || thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    let describe = match args.io {
        IoArg::Threads => describe(mode, args.shards),
        IoArg::Loop => format!("{} io=loop loops={io_threads}", describe(mode, args.shards)),
    };

    let bind = config.value(named("bind")).to_string();
    if bind.contains(' ') {
        return Err(format!(
            "bind lists several addresses ({bind}); this server listens on one"
        ));
    }
    // The row bounds the port to 0..=65535.
    let port = u16::try_from(config.int(named("port"))).map_err(|e| e.to_string())?;
    // With event loops, every loop accepts on a listener of its own, all
    // bound to the one port with SO_REUSEPORT (the kernel spreads new
    // connections over them): a client is accepted, admitted and served
    // by one thread, as in Redis, with no hand-off between threads.
    let loops = match args.io {
        IoArg::Threads => 0,
        IoArg::Loop => io_threads,
    };
    raise_open_files_limit(config.int(named("maxclients")) as u64);
    let listeners =
        listen(&bind, port, loops).map_err(|e| format!("cannot listen on {bind}:{port}: {e}"))?;
    let addr = listeners[0].local_addr().map_err(|e| e.to_string())?;
    let metrics_server = match &args.metrics_addr {
        Some(a) => Some(crate::metrics::bind(a)?),
        None => None,
    };
    let tracer = match &args.trace {
        Some(path) => Some(Arc::new(
            Tracer::create(
                path,
                args.trace_sample,
                clock,
                &format!("myongoredis {describe}"),
            )
            .map_err(|e| format!("cannot create trace file {path}: {e}"))?,
        )),
        None => None,
    };

    let locks = Arc::new(LockStats::new(clock, lock_count, tracer.clone()));
    let (jobs_tx, jobs) = channel::bounded::<Job>(4);
    // `dir`: where the RDB file and the AOF directory are. CONFIG GET dir
    // reports it absolute, as Redis does after its chdir.
    let dir = PathBuf::from(config.text(named("dir")));
    let dir =
        std::path::absolute(&dir).map_err(|e| format!("can't use dir {}: {e}", dir.display()))?;
    config.set("dir", &dir.to_string_lossy())?;
    let rdb = Arc::new(Rdb::new(&dir, &config.text(named("dbfilename"))));
    let hooks = Arc::new(ShellHooks {
        stats: Arc::new(ServerStats::new(cmd::all().len())),
        locks: locks.clone(),
        slots: Arc::new(ClientSlots::new(config.int(named("maxclients")) as usize)),
        deadlines: Arc::new(Deadlines {
            idle_secs: AtomicU64::new(config.int(named("timeout")) as u64),
            io: Duration::from_millis(args.io_timeout),
        }),
        mode,
        lock_count,
        port: addr.port(),
        config_file: config_file.as_deref().map(config_file::absolute),
        aof_status: Arc::new(AofStatus::default()),
        aof: OnceLock::new(),
        jobs: jobs_tx,
        rdb: rdb.clone(),
    });
    // `--port 0`: CONFIG GET port and INFO report the port really bound.
    config
        .set("port", &addr.port().to_string())
        .map_err(|e| format!("port {}: {e}", addr.port()))?;
    // Capturing: the header holds what replay needs to rebuild this
    // executor, and the executor numbers every command (a shared counter
    // bumped inside each critical section: a cost paid only with capture).
    let capture = match &args.capture {
        Some(dir) => Some(Capture::start(
            std::path::Path::new(dir),
            &Header {
                server: env!("CARGO_PKG_VERSION").to_string(),
                mode,
                shards: lock_count,
                seed,
                start_us: unix_now_us(),
                config: config.entries(),
            },
        )?),
        None => None,
    };
    // Cluster mode: nodes.conf and the bus port, before the first client.
    let bus = crate::cluster::start(&config, &dir, addr, port == 0)?;
    if bus.is_some() && args.capture.is_some() {
        return Err(
            "--capture is not supported in cluster mode: replay has no cluster state".into(),
        );
    }
    let clients = Arc::new(Registry::new(crate::connection::READ_CHUNK));
    let mut exec = Executor::new(
        new_store(mode, args.shards, config.databases(), locks),
        seed,
        config,
    )
    .with_hooks(hooks.clone())
    .with_clients(clients.clone())
    .propagate_only_to_sinks()
    .with_network(Arc::new(crate::cluster::Network::standalone()));
    if let Some(bus) = &bus {
        exec = exec.with_cluster(bus.cluster.clone());
    }
    if capture.is_some() {
        exec = exec.with_sequencer();
    }
    // The AOF, when on, is the whole truth; else dump.rdb if there is one.
    match open_aof(&exec, &hooks, &dir, args.debug_aof_disk_full_at)? {
        Some(aof) => {
            let _ = hooks.aof.set(Arc::new(aof));
        }
        None => rdb.load_at_startup(&exec)?,
    }
    let mut shared = Shared {
        exec,
        clock,
        hooks,
        tracer,
        panic_on: args
            .debug_panic_on
            .map(|c| c.to_ascii_lowercase().into_bytes()),
        shutdown: Arc::new(Shutdown::new(addr)),
        capture,
        clients,
        peers_are_remote: args.debug_peers_are_remote,
    };

    on_ready(&Ready {
        addr,
        metrics_addr: metrics_server.as_ref().map(|m| m.local_addr()),
        mode,
        shards: args.shards,
        seed,
        io: args.io.name(),
        io_threads,
    });

    watch_signals(shared.shutdown.clone())?;
    let (stop_background, stop) = channel::bounded::<()>(0);
    thread::scope(|s| {
        let shared = &shared;
        spawn_named(s, "expiry", {
            let stop = stop.clone();
            move || expiry_loop(shared, &stop)
        })?;
        spawn_named(s, "stats", {
            let stop = stop.clone();
            move || stats_loop(shared, &stop)
        })?;
        spawn_named(s, "persistence", {
            let stop = stop.clone();
            move || persistence_loop(shared, &jobs, &stop)
        })?;
        if let Some(bus) = &bus {
            bus.run(s, &shared.exec, &stop)?;
        }
        if let Some(server) = metrics_server {
            spawn_named(s, "metrics", move || {
                let snapshot = || shared.hooks.snapshot(shared.exec.store());
                server.serve(&snapshot, &shared.shutdown);
            })?;
        }
        match args.io {
            IoArg::Threads => accept_loop(s, &listeners[0], shared),
            IoArg::Loop => {
                let loops = Loops::start(s, listeners, shared)?;
                // The loops accept; this thread only waits for the end.
                while !shared.shutdown.is_requested() {
                    thread::sleep(crate::shutdown::TICK);
                }
                loops.wake_all();
            }
        }
        // No new clients. Stop the background threads; the scope now waits
        // for the connection threads to flush their last replies and close.
        drop(stop_background);
        Ok::<(), String>(())
    })?;
    if let Some(tracer) = &shared.tracer {
        if let Some(path) = &args.trace {
            match tracer.finish() {
                Ok((bytes, 0)) => eprintln!("myongoredis: trace written to {path} ({bytes} bytes)"),
                Ok((bytes, dropped)) => eprintln!(
                    "myongoredis: trace written to {path} ({bytes} bytes; {dropped} chunks dropped, the disk fell behind)"
                ),
                Err(e) => eprintln!("myongoredis: trace {path}: {e}"),
            }
        }
    }
    summary::print(&shared.hooks.snapshot(shared.exec.store()));
    // Every connection is gone: the final save (SHUTDOWN SAVE, or save
    // points configured: SIGTERM and SHUTDOWN save, as Redis) holds every
    // acknowledged write.
    let rdb = &shared.hooks.rdb;
    if rdb.save_on_shutdown(has_save_points(shared.exec.config())) && rdb.begin() {
        eprintln!("myongoredis: saving the final RDB snapshot before exiting");
        let dirty = shared.stats().dirty.load(Relaxed);
        if rdb.save(&shared.exec, dirty, false).is_err() {
            eprintln!("myongoredis: error trying to save the DB on exit");
        }
    }
    // What was fed to the AOF is written and synced.
    if let Some(aof) = shared.aof() {
        if let Err(e) = aof.finish() {
            eprintln!("myongoredis: {e}");
        }
    }
    // Every connection and the expiry thread are gone: nothing records
    // any more, so the writer can drain its queue and sync.
    if let Some(capture) = shared.capture.take() {
        match capture.finish() {
            Ok((path, bytes)) => eprintln!(
                "myongoredis: capture written to {} ({bytes} bytes)",
                path.display()
            ),
            Err(e) => eprintln!("myongoredis: {e}"),
        }
    }
    Ok(())
}

/// The background work of persistence, one job at a time, off the
/// connection threads: BGREWRITEAOF and BGSAVE as asked, and, checked ten
/// times a second, the save points (`save 3600 1 ...`), a BGSAVE
/// SCHEDULEd behind a rewrite, and the AOF's automatic rewrite on growth.
fn persistence_loop(shared: &Shared, jobs: &Receiver<Job>, stop: &Receiver<()>) {
    let config = shared.exec.config();
    let rdb = &shared.hooks.rdb;
    let aof = shared.aof();
    let dirty = || shared.stats().dirty.load(Relaxed);
    let bgsave = || {
        let _ = rdb.save(&shared.exec, dirty(), true);
    };
    let rewrite = |aof: &Aof| {
        if let Err(e) = aof.rewrite(&shared.exec, unix_now_us() / 1000) {
            eprintln!("myongoredis: background AOF rewrite failed: {e}");
        }
    };
    loop {
        let job = crossbeam::select! {
            recv(jobs) -> job => job.ok(),
            recv(stop) -> _ => return,
            default(Duration::from_millis(100)) => None,
        };
        match (job, aof) {
            (Some(Job::Bgsave), _) => bgsave(),
            (Some(Job::Rewrite), Some(aof)) => rewrite(aof),
            _ => {}
        }
        let points = save_points_of(&config.text(named("save")));
        if !points.is_empty() && rdb.due(&points, dirty()) && rdb.begin() {
            eprintln!("myongoredis: save point reached, saving in the background");
            bgsave();
        }
        if rdb.scheduled.load(Relaxed) && !aof.is_some_and(Aof::rewriting) && rdb.begin() {
            rdb.scheduled.store(false, Relaxed);
            bgsave();
        }
        if let Some(aof) = aof {
            if aof.wants_rewrite(
                config.int(named("auto-aof-rewrite-percentage")) as u64,
                config.int(named("auto-aof-rewrite-min-size")) as u64,
            ) && aof.begin_rewrite()
            {
                eprintln!("myongoredis: starting automatic rewriting of AOF on growth");
                rewrite(aof);
            }
        }
    }
}

/// `--appendonly yes`: load the AOF in `<dir>/<appenddirname>` (creating
/// it on a first start) and feed the executor's writes to it from now on.
fn open_aof(
    exec: &Executor,
    hooks: &ShellHooks,
    dir: &Path,
    disk_full_at: Option<u64>,
) -> Result<Option<Aof>, String> {
    let config = exec.config();
    if config.value(named("appendonly")) != Value::Bool(true) {
        return Ok(None);
    }
    let aof_config = AofConfig {
        dir: dir.join(config.text(named("appenddirname"))),
        filename: config.text(named("appendfilename")),
        fsync: Fsync::parse(&config.value(named("appendfsync")).to_string()),
        rdb_base: config.value(named("aof-use-rdb-preamble")) == Value::Bool(true),
        load_truncated: config.value(named("aof-load-truncated")) == Value::Bool(true),
        disk_full_at,
    };
    let (aof, loaded) = Aof::open(aof_config, hooks.aof_status.clone(), exec)?;
    if loaded.files > 0 {
        eprintln!(
            "myongoredis: AOF loaded: {} commands from {} files ({} bytes)",
            loaded.commands, loaded.files, loaded.bytes
        );
    }
    Ok(Some(aof))
}

/// The mode as the start-up line and the trace name it: `mode=shard
/// shards=32`, or `mode=mutex` when there is one lock.
pub(crate) fn describe(mode: Mode, shards: u32) -> String {
    match mode {
        Mode::Shard => format!("mode={} shards={shards}", mode.name()),
        _ => format!("mode={}", mode.name()),
    }
}

fn spawn_named<'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    name: &str,
    f: impl FnOnce() + Send + 'scope,
) -> Result<(), String> {
    thread::Builder::new()
        .name(name.into())
        .spawn_scoped(s, f)
        .map(drop)
        .map_err(|e| format!("cannot start the {name} thread: {e}"))
}

/// SIGTERM / SIGINT: the first asks for a graceful shutdown, a second one
/// while it is in progress exits at once.
///
/// This is the one thread outside the scope, on purpose: it must keep
/// listening while the scope drains the connections, or a stuck drain
/// could not be interrupted. It dies with the process.
fn watch_signals(shutdown: Arc<Shutdown>) -> Result<(), String> {
    let mut signals = Signals::new([SIGTERM, SIGINT])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if !shutdown.request() {
                    eprintln!("myongoredis: second signal {signal}, exiting now");
                    std::process::exit(1);
                }
                eprintln!("myongoredis: signal {signal}, shutting down (again to force)");
            }
        })
        .map(drop)
        .map_err(|e| format!("cannot start the signal thread: {e}"))
}

fn accept_loop<'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    listener: &TcpListener,
    shared: &'scope Shared,
) {
    loop {
        let accepted = listener.accept();
        if shared.shutdown.is_requested() {
            break;
        }
        match accepted {
            Ok((stream, peer)) => {
                if let Some(client) = admit(stream, peer, shared) {
                    spawn_connection(s, client, peer, shared);
                }
            }
            // Out of file descriptors: back off instead of spinning; a slot
            // frees when some client leaves.
            Err(e) if is_resource_exhaustion(&e) => thread::sleep(Duration::from_millis(10)),
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    if let Some(tracer) = &shared.tracer {
        tracer.flush_thread(true);
    }
}

/// A client past the acceptor's checks, ready to be served.
pub struct Admitted<'a> {
    pub stream: Arc<TcpStream>,
    pub slot: Slot<'a>,
    pub registered: Registered<'a>,
    pub session: Session,
}

impl<'a> Admitted<'a> {
    /// The connection that serves it: on a thread of its own, or
    /// (`evented`) in an event loop.
    pub fn into_connection(self, shared: &'a Shared, evented: bool) -> Connection<'a> {
        let Admitted {
            stream,
            slot,
            registered,
            session,
        } = self;
        Connection::new(stream, slot, registered, session, shared, evented)
    }
}

/// The acceptor's checks, as Redis's `acceptCommonHandler`: the client
/// limit, keep-alive, protected mode; then a session and a registry entry.
/// `None`: refused (and told why) or already gone.
pub(crate) fn admit(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
) -> Option<Admitted<'_>> {
    shared.stats().total_connections.fetch_add(1, Relaxed);
    let Some(slot) = shared.hooks.slots.try_acquire() else {
        // Over --maxclients: Redis accepts, sends this error and closes.
        // The reply is far smaller than a socket buffer, so this write
        // cannot block the acceptor; the timeout is a belt and braces.
        shared.stats().rejected_connections.fetch_add(1, Relaxed);
        let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n");
        return None;
    };
    // Read per connection: CONFIG SET tcp-keepalive applies to the next
    // client, as in Redis.
    let keepalive = shared.exec.config().int(named("tcp-keepalive"));
    if keepalive > 0 {
        let idle = Duration::from_secs(keepalive as u64);
        // As Redis's anetKeepAlive: first probe after `idle`, then every
        // idle/3, so a dead peer is detected in about twice `idle`.
        let keepalive = TcpKeepalive::new()
            .with_time(idle)
            .with_interval((idle / 3).max(Duration::from_secs(1)));
        let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
    }
    // Protected mode, after the client limit as in Redis. The refusal is
    // one short line, written as the maxclients one is.
    let peer_ip = if shared.peers_are_remote {
        IpAddr::from([192, 0, 2, 1]) // TEST-NET-1: never a real peer
    } else {
        peer.ip()
    };
    let protected = shared.exec.config().int(named("protected-mode")) != 0;
    if protected_mode_denies(peer_ip, protected, shared.exec.password_required()) {
        shared.stats().rejected_connections.fetch_add(1, Relaxed);
        let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = stream.write_all(DENIED.as_bytes());
        return None;
    }
    // Redis sets TCP_NODELAY on every client: replies are small and
    // latency-bound, and we already batch them per read ourselves.
    let _ = stream.set_nodelay(true);
    let session = shared.exec.new_session();
    // Registered before it is served, so a CLIENT LIST that follows this
    // client's connect sees it. A socket already gone is dropped.
    let stream = Arc::new(stream);
    let registered = shared.clients.register(&stream, &session)?;
    record_event(shared, session.id, true);
    Some(Admitted {
        stream,
        slot,
        registered,
        session,
    })
}

/// A connection opened or closed, in the capture.
pub(crate) fn record_event(shared: &Shared, conn: u64, open: bool) {
    if let (Some(capture), Some(seq)) = (&shared.capture, shared.exec.next_seq()) {
        let now_us = unix_now_us();
        capture.record(&if open {
            Record::Open { seq, conn, now_us }
        } else {
            Record::Close { seq, conn, now_us }
        });
    }
}

fn spawn_connection<'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    client: Admitted<'scope>,
    peer: SocketAddr,
    shared: &'scope Shared,
) {
    let conn = client.session.id;
    let name = format!("conn {conn} {peer}");
    let spawned = thread::Builder::new()
        .name(name)
        .stack_size(CONNECTION_STACK)
        .spawn_scoped(s, move || {
            client.into_connection(shared, false).serve();
            record_event(shared, conn, false);
        });
    if let Err(e) = spawned {
        // The client was moved into the failed closure and is released
        // with it.
        eprintln!("cannot start a thread for {peer}: {e}");
    }
}

/// Redis's `adjustOpenFilesLimit`: a client is a descriptor, so raise the
/// soft limit to `maxclients` plus 32 for everything else (files, the
/// listeners, epoll sets), as far as the hard limit allows, and say so
/// when it cannot reach it.
fn raise_open_files_limit(maxclients: u64) {
    let want = maxclients + 32;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_cur >= want {
            return;
        }
        let target = want.min(limit.rlim_max);
        limit.rlim_cur = target;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 || target < want {
            eprintln!(
                "myongoredis: open files limit is {target}, below maxclients {maxclients} + 32: \
                 clients past it wait in the listen queue (raise it with ulimit -n)"
            );
        }
    }
}

/// Bind the listening socket; with `loops` > 0, one per event loop, all on
/// the port the first one got (`--port 0` picks it), with SO_REUSEPORT.
/// The backlog is Redis's `tcp-backlog` default, 511.
fn listen(bind: &str, port: u16, loops: usize) -> io::Result<Vec<TcpListener>> {
    if loops == 0 {
        return Ok(vec![TcpListener::bind((bind, port))?]);
    }
    let mut addr = (bind, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("no address"))?;
    let mut listeners = Vec::with_capacity(loops);
    for _ in 0..loops {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        socket.listen(511)?;
        let listener: TcpListener = socket.into();
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    // EMFILE / ENFILE / ENOBUFS / ENOMEM
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
}

/// Redis's `activeExpireCycle` timer: `hz` times a second, until told to
/// stop. `hz` is read before every wait, so CONFIG SET hz takes effect at
/// the next tick.
fn expiry_loop(shared: &Shared, stop: &Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(expiry_interval(shared)) {
        // Redis's active cycle runs for up to 25 % of a tick while the
        // keys it samples are more than 10 % expired. Core counts loops,
        // not time (it has no clock), so the time budget is here: cycles
        // repeat while they keep finding expired keys, each one recorded
        // (and replayed) like any other. Between cycles every lock is
        // free, so a long clean-up never holds one for long.
        let budget = expiry_interval(shared) / 4;
        let started = Instant::now();
        loop {
            let now_us = unix_now_us();
            let stats = shared.exec.active_expire_cycle_with(now_us / 1000, |step| {
                // Only steps that deleted keys carry a sequence number.
                if let (Some(capture), Some(record)) =
                    (&shared.capture, capture_format::expire_record(step, now_us))
                {
                    capture.record(&record);
                }
            });
            let stale = stats.expired * 100 > stats.sampled * ACTIVE_EXPIRE_ACCEPTABLE_STALE;
            if !stale || started.elapsed() >= budget {
                break;
            }
        }
        if let Some(tracer) = &shared.tracer {
            tracer.flush_thread(false);
        }
    }
    if let Some(tracer) = &shared.tracer {
        tracer.flush_thread(true);
    }
}

/// One tick of `hz` (the row clamps it to 1..=500, so this is 2 ms to 1 s).
fn expiry_interval(shared: &Shared) -> Duration {
    let hz = shared.exec.config().int(named("hz")).max(1) as u64;
    Duration::from_micros(1_000_000 / hz)
}

/// Once a second: instantaneous ops/s, and the trace's counter tracks.
fn stats_loop(shared: &Shared, stop: &Receiver<()>) {
    let mut last_wait_ns = 0u64;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(STATS_INTERVAL) {
        let ops = shared.stats().sample_ops();
        if let Some(tracer) = &shared.tracer {
            let wait_ns: u64 = shared
                .hooks
                .locks
                .snapshot()
                .iter()
                .map(|t| t.wait_ns)
                .sum();
            let clients = shared.hooks.slots.in_use();
            tracer.counter("connected clients", "clients", clients as f64);
            tracer.counter("ops/s", "ops", ops as f64);
            tracer.counter(
                "lock wait per second",
                "ms",
                wait_ns.saturating_sub(last_wait_ns) as f64 / 1e6,
            );
            last_wait_ns = wait_ns;
            tracer.flush_thread(true);
        }
    }
}

/// A seed for the store's PRNG when none was given: std's `RandomState`
/// is seeded from the OS. Only the shell may do this; the seed is printed.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(unix_now_us());
    h.finish()
}
