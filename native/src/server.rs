//! The server's threads and their lifetimes.
//!
//! ```text
//! main ── thread::scope ──┬── acceptor (this thread): accept, spawn a connection thread
//!                         ├── conn 1 … conn N: one thread per client (the seed's
//!                         │   goroutine per connection), see connection.rs
//!                         └── expiry: the active-expiry cycle, 10 times a second
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
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam::channel::{self, RecvTimeoutError};
use myongoredis_core::{new_store, Config, Executor, Mode};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use socket2::{SockRef, TcpKeepalive};

use crate::cli::Args;
use crate::clock::{unix_now_us, Monotonic};
use crate::connection::Connection;
use crate::limits::{ClientSlots, Deadlines};
use crate::observer::{LockStats, LockTotals};
use crate::shutdown::Shutdown;

/// How often the active-expiry cycle runs: Redis's default `hz 10`.
const EXPIRY_INTERVAL: Duration = Duration::from_millis(100);

/// Stack size of a connection thread. A connection needs little stack
/// (buffers are on the heap); 256 KiB instead of the default 2 MiB keeps
/// thousands of clients cheap in address space.
const CONNECTION_STACK: usize = 256 * 1024;

/// Everything the threads share, borrowed from `run`'s stack.
pub struct Shared {
    pub exec: Executor,
    pub locks: Arc<LockStats>,
    /// A command name that makes its connection thread panic (hidden
    /// `--debug-panic-on`), so tests can prove a panic stays contained.
    pub panic_on: Option<Vec<u8>>,
    pub shutdown: Arc<Shutdown>,
    pub slots: ClientSlots,
    pub deadlines: Deadlines,
    /// `--tcp-keepalive` (None = off).
    pub keepalive: Option<Duration>,
}

pub fn run(args: Args) -> Result<(), String> {
    let mode = Mode::from(args.mode);
    let seed = args.seed.unwrap_or_else(random_seed);
    let lock_count = if mode == Mode::Shard { args.shards } else { 1 };
    let locks = Arc::new(LockStats::new(Monotonic::new(), lock_count));
    let store = new_store(mode, args.shards, locks.clone());
    let config = Config::with_defaults();

    let listener = TcpListener::bind((args.bind.as_str(), args.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.bind, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    config.set("bind", &args.bind);
    config.set("port", &addr.port().to_string());
    config.set("timeout", &args.timeout.to_string());
    config.set("maxclients", &args.maxclients.to_string());
    config.set("tcp-keepalive", &args.tcp_keepalive.to_string());

    let shared = Shared {
        exec: Executor::new(store, seed, config),
        locks,
        panic_on: args
            .debug_panic_on
            .map(|c| c.to_ascii_lowercase().into_bytes()),
        shutdown: Arc::new(Shutdown::new(addr)),
        slots: ClientSlots::new(args.maxclients as usize),
        deadlines: Deadlines {
            idle: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
            io: Duration::from_millis(args.io_timeout),
        },
        keepalive: (args.tcp_keepalive > 0).then(|| Duration::from_secs(args.tcp_keepalive)),
    };
    let shards = if mode == Mode::Shard {
        format!(" shards={}", args.shards)
    } else {
        String::new()
    };
    // One line, flushed: tests and scripts wait for it to learn the port.
    println!(
        "myongoredis {} mode={}{shards} seed={seed} listening on {addr}",
        env!("CARGO_PKG_VERSION"),
        mode.name(),
    );

    let (stop_expiry, stop) = channel::bounded::<()>(0);
    watch_signals(shared.shutdown.clone())?;
    thread::scope(|s| {
        let shared = &shared;
        thread::Builder::new()
            .name("expiry".into())
            .spawn_scoped(s, move || expiry_loop(shared, &stop))
            .map_err(|e| format!("cannot start the expiry thread: {e}"))?;
        accept_loop(s, &listener, shared);
        // No new clients. Stop the expiry thread; the scope now waits for
        // the connection threads to flush their last replies and close.
        drop(stop_expiry);
        Ok::<(), String>(())
    })?;
    print_contention_summary(&shared);
    Ok(())
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

/// The one-screen summary printed on a clean exit.
fn print_contention_summary(shared: &Shared) {
    let totals = shared.locks.snapshot();
    let sum = |f: fn(&LockTotals) -> u64| totals.iter().map(f).sum::<u64>();
    let acquisitions = sum(|t| t.acquisitions);
    let contended = sum(|t| t.contended);
    let wait_ms = sum(|t| t.wait_ns) as f64 / 1e6;
    let hold_ms = sum(|t| t.hold_ns) as f64 / 1e6;
    eprintln!(
        "myongoredis: {acquisitions} lock acquisitions, {contended} contended ({:.1} %), \
         {wait_ms:.1} ms waiting, {hold_ms:.1} ms holding",
        if acquisitions == 0 {
            0.0
        } else {
            contended as f64 * 100.0 / acquisitions as f64
        },
    );
}

fn accept_loop<'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    listener: &TcpListener,
    shared: &'scope Shared,
) {
    loop {
        let accepted = listener.accept();
        if shared.shutdown.is_requested() {
            return;
        }
        match accepted {
            Ok((stream, peer)) => spawn_connection(s, stream, peer.to_string(), shared),
            // Out of file descriptors: back off instead of spinning; a slot
            // frees when some client leaves.
            Err(e) if is_resource_exhaustion(&e) => thread::sleep(Duration::from_millis(10)),
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

fn spawn_connection<'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    mut stream: TcpStream,
    peer: String,
    shared: &'scope Shared,
) {
    let Some(slot) = shared.slots.try_acquire() else {
        // Over --maxclients: Redis accepts, sends this error and closes.
        // The reply is far smaller than a socket buffer, so this write
        // cannot block the acceptor; the timeout is a belt and braces.
        let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n");
        return;
    };
    if let Some(idle) = shared.keepalive {
        // As Redis's anetKeepAlive: first probe after `idle`, then every
        // idle/3, so a dead peer is detected in about twice `idle`.
        let keepalive = TcpKeepalive::new()
            .with_time(idle)
            .with_interval((idle / 3).max(Duration::from_secs(1)));
        let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
    }
    let session = shared.exec.new_session();
    let name = format!("conn {} {peer}", session.id);
    let spawned = thread::Builder::new()
        .name(name)
        .stack_size(CONNECTION_STACK)
        .spawn_scoped(s, move || {
            Connection::new(stream, slot, session, shared).serve()
        });
    if let Err(e) = spawned {
        // The stream was moved into the failed closure and is closed.
        eprintln!("cannot start a thread for {peer}: {e}");
    }
}

fn is_resource_exhaustion(e: &io::Error) -> bool {
    // EMFILE / ENFILE / ENOBUFS / ENOMEM
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
}

/// Redis's `activeExpireCycle` timer: every 100 ms, until told to stop.
fn expiry_loop(shared: &Shared, stop: &channel::Receiver<()>) {
    loop {
        match stop.recv_timeout(EXPIRY_INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {
                shared.exec.active_expire_cycle(unix_now_us() / 1000);
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
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
