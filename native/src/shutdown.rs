//! Graceful shutdown as a small type of its own (after mini-redis).
//!
//! One flag, set once, by SIGTERM/SIGINT or by the SHUTDOWN command. Every
//! thread checks it at its natural pause points:
//! * the acceptor after each `accept` (it is woken by a connection to
//!   itself, since a blocking `accept` cannot otherwise be interrupted);
//! * each connection after finishing the batch it has read, and whenever
//!   its read times out (every [`TICK`]), so an idle client does not hold
//!   the server open;
//! * the expiry thread between cycles.
//!
//! A second signal while shutting down exits at once.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a blocked connection thread wakes to look at the flag (and,
/// with issue-5 deadlines, at its timers). Short enough that shutdown is
/// prompt, long enough to cost nothing measurable.
pub const TICK: Duration = Duration::from_millis(100);

pub struct Shutdown {
    requested: AtomicBool,
    /// Where to connect to wake the acceptor.
    wake_addr: SocketAddr,
}

impl Shutdown {
    pub fn new(listen_addr: SocketAddr) -> Self {
        let mut wake_addr = listen_addr;
        if wake_addr.ip().is_unspecified() {
            wake_addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Shutdown {
            requested: AtomicBool::new(false),
            wake_addr,
        }
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Ask every thread to finish; returns false if it was already asked.
    pub fn request(&self) -> bool {
        let first = !self.requested.swap(true, Ordering::AcqRel);
        if first {
            // Wake the acceptor out of `accept`. If this fails the listener
            // is already gone, which is just as good.
            let _ = TcpStream::connect_timeout(&self.wake_addr, Duration::from_secs(1));
        }
        first
    }
}
