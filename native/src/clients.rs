//! The registry of live connections: what CLIENT LIST, INFO, KILL, PAUSE
//! and UNPAUSE act on (core's [`ClientRegistry`], implemented here because
//! only the shell has sockets and clocks).
//!
//! Each connection thread owns its session; the registry holds, per
//! connection, what other threads may need: the addresses, a handle on
//! the socket to shut it down, and the session as the connection last
//! reported it (after each batch). Locks, each held for a copy and never
//! across I/O or a command:
//! * the map of entries: taken to add, remove, or collect the entries;
//! * one per entry, for its last report: taken by its own thread once a
//!   batch, and by CLIENT LIST;
//! * the pause state: taken only while a pause is in force (a plain
//!   atomic says whether one is, so the path of every command reads one
//!   word and takes no lock).

use std::collections::BTreeMap;
use std::net::{IpAddr, Shutdown as SocketShutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use myongoredis_core::clients::{ClientInfo, ClientRegistry, KillFilter, Killed, PauseMode};
use myongoredis_core::Session;

use crate::clock::unix_now_us;

/// Lock a mutex whose data stays consistent even if a holder panicked
/// (every critical section here is a plain copy).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_now_ms() -> u64 {
    unix_now_us() / 1000
}

/// Redis's `ip:port` (an IPv6 address is not bracketed).
fn redis_addr(addr: SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

/// Protected mode (Redis 7.0's `clientAcceptHandler`): refuse a client
/// when protected mode is on, the default user has no password, and the
/// client is not on the loopback interface. Redis 7.0 no longer looks at
/// `bind` (6.x did): a server bound to loopback only never sees another
/// peer anyway, and one bound wider is exactly what protected mode
/// guards.
pub fn protected_mode_denies(peer: IpAddr, protected_mode: bool, password_set: bool) -> bool {
    protected_mode && !password_set && !is_loopback(peer)
}

/// 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6.
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Redis's reply to a client refused by protected mode, word for word
/// (`networking.c` of 7.0, typo included); the connection is then closed.
pub const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// One connection, as the registry knows it.
pub struct Entry {
    id: u64,
    addr: String,
    laddr: String,
    fd: i64,
    opened: Instant,
    /// The connection's socket (shared, not duplicated: one descriptor per
    /// client, as in Redis), to shut it down from another thread.
    socket: Arc<TcpStream>,
    /// Set by CLIENT KILL; the connection's thread checks it after every
    /// batch and every read tick.
    killed: AtomicBool,
    /// Waiting for a pause to end (CLIENT LIST flag `b`).
    blocked: AtomicBool,
    report: Mutex<Report>,
}

/// What the connection last reported: its session, its last command, its
/// last activity and unfinished input.
struct Report {
    session: Session,
    /// The last command's name and, for a container, its subcommand.
    cmd: Option<(&'static str, Option<Bytes>)>,
    active: Instant,
    qbuf: u64,
}

impl Entry {
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// The connection's thread reports after a batch.
    pub fn report(
        &self,
        session: &Session,
        cmd: Option<(&'static str, Option<Bytes>)>,
        active: Instant,
        qbuf: usize,
    ) {
        let mut report = lock(&self.report);
        report.session.clone_from(session);
        if cmd.is_some() {
            report.cmd = cmd;
        }
        report.active = active;
        report.qbuf = qbuf as u64;
    }

    fn info(&self, rbs: u64) -> ClientInfo {
        let report = lock(&self.report);
        let now = Instant::now();
        let info = ClientInfo {
            id: self.id,
            addr: self.addr.clone(),
            laddr: self.laddr.clone(),
            fd: self.fd,
            name: None,
            age: now.duration_since(self.opened).as_secs(),
            idle: now.duration_since(report.active).as_secs(),
            blocked: self.blocked.load(Ordering::Relaxed),
            no_evict: false,
            multi: None,
            dirty_cas: false,
            db: 0,
            qbuf: report.qbuf,
            rbs,
            cmd: match &report.cmd {
                None => "NULL".into(),
                Some((name, None)) => name.to_string(),
                Some((name, Some(sub))) => {
                    format!(
                        "{name}|{}",
                        String::from_utf8_lossy(sub).to_ascii_lowercase()
                    )
                }
            },
            resp: 2,
            lib_name: None,
            lib_ver: None,
        };
        info.with_session(&report.session)
    }

    /// Close the connection from another thread: a read it is blocked in
    /// returns end-of-file at once. Its writes still work, so a batch it
    /// is executing is answered before the thread sees the flag and ends.
    fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        let _ = self.socket.shutdown(SocketShutdown::Read);
    }
}

/// The current pause: until when (Unix ms) and what it holds.
#[derive(Clone, Copy)]
struct PauseState {
    until_ms: u64,
    mode: PauseMode,
}

/// Every live connection, and the CLIENT PAUSE in force.
pub struct Registry {
    entries: Mutex<BTreeMap<u64, Arc<Entry>>>,
    /// The read buffer size every connection uses (CLIENT LIST `rbs`).
    rbs: u64,
    /// End of the pause in Unix ms, 0 when none: the lock-free check.
    paused_until: AtomicU64,
    pause: Mutex<Option<PauseState>>,
    unpaused: Condvar,
}

/// Removes its entry when the connection ends.
pub struct Registered<'r> {
    registry: &'r Registry,
    pub entry: Arc<Entry>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        lock(&self.registry.entries).remove(&self.entry.id);
    }
}

impl Registry {
    pub fn new(rbs: usize) -> Registry {
        Registry {
            entries: Mutex::new(BTreeMap::new()),
            rbs: rbs as u64,
            paused_until: AtomicU64::new(0),
            pause: Mutex::new(None),
            unpaused: Condvar::new(),
        }
    }

    /// Add a connection; it leaves the registry when the result is
    /// dropped. `None` if the socket cannot be described.
    pub fn register(&self, stream: &Arc<TcpStream>, session: &Session) -> Option<Registered<'_>> {
        let entry = Arc::new(Entry {
            id: session.id,
            addr: redis_addr(stream.peer_addr().ok()?),
            laddr: redis_addr(stream.local_addr().ok()?),
            fd: raw_fd(stream),
            opened: Instant::now(),
            socket: stream.clone(),
            killed: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            report: Mutex::new(Report {
                session: session.clone(),
                cmd: None,
                active: Instant::now(),
                qbuf: 0,
            }),
        });
        lock(&self.entries).insert(session.id, entry.clone());
        Some(Registered {
            registry: self,
            entry,
        })
    }

    fn snapshot(&self) -> Vec<Arc<Entry>> {
        lock(&self.entries).values().cloned().collect()
    }

    /// Might a pause be in force? One relaxed load: what every command
    /// pays when there is none.
    pub fn may_be_paused(&self) -> bool {
        self.paused_until.load(Ordering::Relaxed) != 0
    }

    /// Does a pause in force apply to this command now (every command
    /// under ALL, writes under WRITE)? The event loop's check: it cannot
    /// sleep in [`Registry::wait_while_paused`], so it keeps the command
    /// buffered and asks again. Marks the client `b` in CLIENT LIST while
    /// it is held.
    pub fn holds(&self, writes: bool, entry: &Entry) -> bool {
        let mut pause = lock(&self.pause);
        let held = match *pause {
            Some(state) if unix_now_ms() >= state.until_ms => {
                *pause = None;
                self.paused_until.store(0, Ordering::Relaxed);
                false
            }
            Some(state) => (state.mode == PauseMode::All || writes) && !entry.is_killed(),
            None => false,
        };
        entry.blocked.store(held, Ordering::Relaxed);
        held
    }

    /// Hold a command while a pause applies to it (every command under
    /// ALL, writes under WRITE), until the pause ends, is lifted, the
    /// connection is killed or the server shuts down. Returns whether it
    /// waited. Holds no lock of the store: the command has not started.
    pub fn wait_while_paused(&self, writes: bool, entry: &Entry, stop: &dyn Fn() -> bool) -> bool {
        if !self.may_be_paused() {
            return false;
        }
        let mut waited = false;
        let mut pause = lock(&self.pause);
        while let Some(state) = *pause {
            let now = unix_now_ms();
            if now >= state.until_ms {
                // Over: later commands go back to the lock-free check.
                *pause = None;
                self.paused_until.store(0, Ordering::Relaxed);
                break;
            }
            let applies = state.mode == PauseMode::All || writes;
            if !applies || entry.is_killed() || stop() {
                break;
            }
            waited = true;
            entry.blocked.store(true, Ordering::Relaxed);
            // Wake at the deadline, or every TICK to notice a kill or a
            // shutdown; UNPAUSE wakes everyone at once.
            let wait = Duration::from_millis(state.until_ms - now).min(crate::shutdown::TICK);
            pause = self
                .unpaused
                .wait_timeout(pause, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        entry.blocked.store(false, Ordering::Relaxed);
        waited
    }
}

impl ClientRegistry for Registry {
    fn list(&self, _me: &Session) -> Vec<ClientInfo> {
        self.snapshot().iter().map(|e| e.info(self.rbs)).collect()
    }

    fn kill(&self, me: &Session, filter: &KillFilter) -> Killed {
        let mut killed = Killed::default();
        for entry in self.snapshot() {
            let is_me = entry.id == me.id;
            if (is_me && filter.skip_me) || !filter.matches(&entry.info(self.rbs)) {
                continue;
            }
            killed.count += 1;
            if is_me {
                // Closed by its own thread after the reply.
                killed.me = true;
            } else {
                entry.kill();
            }
        }
        // Anyone held by a pause notices the kill at once.
        self.unpaused.notify_all();
        killed
    }

    fn pause(&self, until_ms: u64, mode: PauseMode) {
        let now = unix_now_ms();
        let mut pause = lock(&self.pause);
        let next = match *pause {
            // As Redis's pauseClients: the later end, the stronger mode.
            Some(p) if p.until_ms > now => PauseState {
                until_ms: p.until_ms.max(until_ms),
                mode: p.mode.max(mode),
            },
            _ => PauseState { until_ms, mode },
        };
        if next.until_ms > now {
            *pause = Some(next);
            self.paused_until.store(next.until_ms, Ordering::Relaxed);
        }
    }

    fn unpause(&self) {
        let mut pause = lock(&self.pause);
        *pause = None;
        self.paused_until.store(0, Ordering::Relaxed);
        self.unpaused.notify_all();
    }
}

#[cfg(unix)]
fn raw_fd(stream: &TcpStream) -> i64 {
    use std::os::fd::AsRawFd;
    i64::from(stream.as_raw_fd())
}

#[cfg(not(unix))]
fn raw_fd(_: &TcpStream) -> i64 {
    -1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn protected_mode_refuses_only_remote_clients_without_a_password() {
        let remote: IpAddr = Ipv4Addr::new(192, 0, 2, 7).into();
        let remote6: IpAddr = "2001:db8::1".parse().unwrap();
        let local: IpAddr = Ipv4Addr::LOCALHOST.into();
        let local_other: IpAddr = Ipv4Addr::new(127, 3, 2, 1).into();
        let local6: IpAddr = Ipv6Addr::LOCALHOST.into();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let mapped_remote: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        for peer in [remote, remote6, mapped_remote] {
            assert!(protected_mode_denies(peer, true, false), "{peer}");
            assert!(
                !protected_mode_denies(peer, true, true),
                "{peer}: a password opens it"
            );
            assert!(
                !protected_mode_denies(peer, false, false),
                "{peer}: protected mode off"
            );
        }
        for peer in [local, local_other, local6, mapped] {
            assert!(!protected_mode_denies(peer, true, false), "{peer}");
        }
    }

    #[test]
    fn denied_is_one_redis_error_line() {
        assert!(DENIED.starts_with("-DENIED Redis is running in protected mode"));
        assert!(DENIED.ends_with("accepting connections from the outside.\r\n"));
        assert_eq!(DENIED.matches("\r\n").count(), 1);
    }

    #[test]
    fn a_pause_is_only_extended_and_unpause_ends_it() {
        let registry = Registry::new(16384);
        let now = unix_now_ms();
        registry.pause(now + 60_000, PauseMode::Write);
        registry.pause(now + 1_000, PauseMode::All);
        let state = (*lock(&registry.pause)).map(|p| (p.until_ms, p.mode));
        assert_eq!(state, Some((now + 60_000, PauseMode::All)));
        registry.unpause();
        assert!(lock(&registry.pause).is_none());
        assert_eq!(registry.paused_until.load(Ordering::Relaxed), 0);
        // A pause that is already over changes nothing.
        registry.pause(0, PauseMode::All);
        assert!(lock(&registry.pause).is_none());
    }
}
