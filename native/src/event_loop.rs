//! `--io loop`: N event loops, each owning its connections.
//!
//! The thread model gives every client a thread that sleeps in `read`.
//! That is simple, and it is what the Go original's goroutine per
//! connection becomes without Go's scheduler: with 50 or 1,000 clients on
//! 2 cores, the kernel's scheduler does the multiplexing, and a context
//! switch per request costs more than the request. Here, as in Redis's
//! `ae.c` (and in the Go runtime's netpoller underneath goroutines), a few
//! threads each wait on one epoll set for whichever of *their* sockets is
//! ready, and serve it without sleeping:
//!
//! ```text
//! port 6379 ─ SO_REUSEPORT ─┬─ listener 0 ─ loop 0: epoll ─ conn, conn, …
//!    (the kernel spreads    └─ listener 1 ─ loop 1: epoll ─ conn, conn, …
//!     new connections)
//! ```
//!
//! Each loop accepts on a listener of its own, so a client is accepted,
//! admitted (the same checks as the thread model's acceptor) and served by
//! one thread: no hand-off, no wake-up of another thread per connection.
//!
//! A turn of a loop: wait for readiness (or the next deadline), accept
//! what the listener has, drive every ready socket (read,
//! parse every complete request, execute, one write: see
//! `connection/evented.rs`), retry clients whose blocking pop was rung or
//! whose pause may be over, and every [`TICK`] look at deadlines, kills and
//! queued pub/sub messages. Commands still take the store's locks exactly
//! as in the thread model, so the three lock modes are unchanged; what
//! changes is who waits when a lock is contended: the whole loop.
//!
//! mio gives the epoll set and a cross-thread [`Waker`] (an eventfd); it is
//! the layer tokio is built on, without a runtime, which is what a
//! synchronous server needs.

use std::io;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::clock::unix_now_us;
use crate::connection::{Connection, Drive, READ_CHUNK};
use crate::server::{admit, is_resource_exhaustion, record_event, Admitted, Shared};
use crate::shutdown::TICK;

/// The token of each loop's waker and of its listener; a connection's
/// token is its slot + 1.
const WAKER: Token = Token(0);
const LISTENER: Token = Token(usize::MAX);
/// Readiness events taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// How soon a loop looks again at clients held by CLIENT PAUSE (the thread
/// model is woken at once by UNPAUSE; a loop polls for it).
const HELD_RECHECK: Duration = Duration::from_millis(10);

/// The loops, as the server's main thread sees them.
pub struct Loops {
    wakers: Vec<Arc<Waker>>,
}

impl Loops {
    /// Start one loop per listener in the server's scope.
    pub fn start<'scope>(
        s: &'scope thread::Scope<'scope, '_>,
        listeners: Vec<TcpListener>,
        shared: &'scope Shared,
    ) -> Result<Loops, String> {
        let mut wakers = Vec::with_capacity(listeners.len());
        for (i, listener) in listeners.into_iter().enumerate() {
            let poll = Poll::new().map_err(|e| format!("cannot create an epoll set: {e}"))?;
            let waker = Arc::new(
                Waker::new(poll.registry(), WAKER)
                    .map_err(|e| format!("cannot create a loop waker: {e}"))?,
            );
            listener
                .set_nonblocking(true)
                .and_then(|()| {
                    poll.registry().register(
                        &mut SourceFd(&listener.as_raw_fd()),
                        LISTENER,
                        Interest::READABLE,
                    )
                })
                .map_err(|e| format!("cannot watch the listener: {e}"))?;
            let event_loop = EventLoop {
                poll,
                listener,
                waker: waker.clone(),
                rung: Arc::new(Mutex::new(Vec::new())),
                conns: Vec::new(),
                free: Vec::new(),
                blocked: Vec::new(),
                watched: Vec::new(),
                held: Vec::new(),
                shared,
            };
            thread::Builder::new()
                .name(format!("loop {i}"))
                .spawn_scoped(s, move || event_loop.run())
                .map_err(|e| format!("cannot start event loop {i}: {e}"))?;
            wakers.push(waker);
        }
        Ok(Loops { wakers })
    }

    /// Wake every loop (shutdown: they notice at once rather than at
    /// their next tick).
    pub fn wake_all(&self) {
        for waker in &self.wakers {
            let _ = waker.wake();
        }
    }
}

struct EventLoop<'a> {
    poll: Poll,
    /// This loop's listener (one of the port's SO_REUSEPORT sockets).
    listener: TcpListener,
    waker: Arc<Waker>,
    /// Slots of clients whose blocking pop was rung (by another thread's
    /// write), to run again this turn.
    rung: Arc<Mutex<Vec<usize>>>,
    conns: Vec<Option<Connection<'a>>>,
    free: Vec<usize>,
    /// Slots of clients blocked in a pop, and of clients held by a pause.
    blocked: Vec<usize>,
    /// Slots of clients the next tick must look at (see
    /// `Connection::needs_tick`); with an idle `timeout` set, the tick
    /// looks at everyone instead.
    watched: Vec<usize>,
    held: Vec<usize>,
    shared: &'a Shared,
}

impl<'a> EventLoop<'a> {
    fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS);
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut again: Vec<usize> = Vec::new();
        let mut next_tick = Instant::now() + TICK;
        loop {
            let timeout = if again.is_empty() {
                self.timeout(next_tick)
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    eprintln!("myongoredis: event loop: {e}");
                    break;
                }
            }
            if self.shared.shutdown.is_requested() {
                break;
            }
            // A turn is a span on the loop's track, with the number of
            // sockets that were ready: a lock wait inside it stalls all of
            // them, and the trace shows it.
            let tracer = self.shared.tracer.as_deref();
            let turn_start = tracer.map(|t| t.now_ns());
            let ready = events
                .iter()
                .filter(|e| e.token() != WAKER && e.token() != LISTENER)
                .count()
                + again.len();
            let previous = std::mem::take(&mut again);
            for event in events.iter() {
                if event.token() == WAKER {
                    continue;
                }
                if event.token() == LISTENER {
                    self.accept();
                    continue;
                }
                let i = event.token().0 - 1;
                if let Some(conn) = self.conn(i) {
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        conn.readable();
                    }
                    let drive = conn.drive(&mut chunk);
                    self.settle(i, drive, &mut again);
                }
            }
            for i in previous {
                if let Some(conn) = self.conn(i) {
                    let drive = conn.drive(&mut chunk);
                    self.settle(i, drive, &mut again);
                }
            }
            let rung =
                std::mem::take(&mut *self.rung.lock().unwrap_or_else(PoisonError::into_inner));
            for i in rung {
                self.retry(i, &mut chunk, &mut again);
            }
            if !self.blocked.is_empty() {
                let now_ms = unix_now_us() / 1000;
                for i in self.blocked.clone() {
                    if self
                        .conn(i)
                        .and_then(|c| c.blocked_until_ms())
                        .is_some_and(|until| until <= now_ms)
                    {
                        self.retry(i, &mut chunk, &mut again);
                    }
                }
            }
            // Paused clients are asked again (settle puts back those still
            // held); a client held by replies it is not taking waits for
            // its writable edge instead (see `retry` and `drive`).
            for i in std::mem::take(&mut self.held) {
                self.retry(i, &mut chunk, &mut again);
            }
            if Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                self.tick(&mut chunk, &mut again);
            }
            if let (Some(tracer), Some(start)) = (tracer, turn_start) {
                if ready > 0 {
                    tracer.span("turn", start, tracer.now_ns(), ("ready", ready as u64));
                }
                tracer.flush_thread(false);
            }
        }
        for i in 0..self.conns.len() {
            if let Some(mut conn) = self.conns[i].take() {
                conn.finish_for_shutdown();
                self.close(conn);
            }
        }
        if let Some(tracer) = &self.shared.tracer {
            tracer.flush_thread(true);
        }
    }

    fn conn(&mut self, i: usize) -> Option<&mut Connection<'a>> {
        self.conns.get_mut(i).and_then(Option::as_mut)
    }

    /// Until the next tick, the nearest deadline of a blocking pop, or
    /// shortly when a pause holds somebody.
    fn timeout(&self, next_tick: Instant) -> Duration {
        let mut timeout = next_tick.saturating_duration_since(Instant::now());
        let paused = |&i: &usize| self.conns[i].as_ref().is_some_and(|c| !c.is_stalled());
        if self.held.iter().any(paused) {
            timeout = timeout.min(HELD_RECHECK);
        }
        if !self.blocked.is_empty() {
            let now_ms = unix_now_us() / 1000;
            for &i in &self.blocked {
                if let Some(until) = self.conns[i].as_ref().and_then(|c| c.blocked_until_ms()) {
                    timeout = timeout.min(Duration::from_millis(until.saturating_sub(now_ms)));
                }
            }
        }
        timeout
    }

    /// Accept every pending connection, run the acceptor's checks, and
    /// serve the admitted here.
    fn accept(&mut self) {
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Out of file descriptors: the listener stays readable and
                // the next turn tries again; a slot frees when a client
                // leaves.
                Err(e) if is_resource_exhaustion(&e) => return,
                Err(e) => {
                    eprintln!("accept: {e}");
                    return;
                }
            };
            // The checks write their refusals on the still blocking socket.
            if let Some(client) = admit(stream, peer, self.shared) {
                self.register(client);
            }
        }
    }

    fn register(&mut self, client: Admitted<'a>) {
        let (fd, conn_id) = (client.stream.as_raw_fd(), client.session.id);
        if client.stream.set_nonblocking(true).is_err() {
            record_event(self.shared, conn_id, false);
            return;
        }
        let i = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        let registered_ok = self
            .poll
            .registry()
            .register(
                &mut SourceFd(&fd),
                Token(i + 1),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_ok();
        let conn = client.into_connection(self.shared, true);
        if registered_ok {
            self.conns[i] = Some(conn);
        } else {
            self.free.push(i);
            self.close(conn);
        }
    }

    /// Act on what driving connection `i` said.
    fn settle(&mut self, i: usize, drive: Drive, again: &mut Vec<usize>) {
        match drive {
            Drive::Close => {
                if let Some(conn) = self.conns[i].take() {
                    self.free.push(i);
                    self.blocked.retain(|&b| b != i);
                    self.held.retain(|&h| h != i);
                    self.close(conn);
                }
                return;
            }
            Drive::Again => again.push(i),
            Drive::Wait => {}
        }
        let Some(conn) = self.conns[i].as_mut() else {
            return;
        };
        if conn.needs_tick() && conn.watch(true) {
            self.watched.push(i);
        }
        let (blocked, held, client) = (conn.is_blocked(), conn.is_held(), conn.client_id());
        if held && !self.held.contains(&i) {
            self.held.push(i);
        }
        if !blocked {
            self.blocked.retain(|&b| b != i);
        } else if !self.blocked.contains(&i) {
            self.blocked.push(i);
            // Rung by whoever writes a key this client waits on; the ring
            // runs in that writer's thread, so it only notes the slot and
            // wakes this loop.
            if let Some(waiter) = self.shared.exec.blocking().waiter(client) {
                let (rung, waker) = (self.rung.clone(), self.waker.clone());
                let already = waiter.on_ring(Arc::new(move || {
                    rung.lock().unwrap_or_else(PoisonError::into_inner).push(i);
                    let _ = waker.wake();
                }));
                if already {
                    self.rung
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(i);
                }
            }
        }
    }

    /// Run a blocked or held client's buffered command again, then go on
    /// with whatever it sent after it.
    fn retry(&mut self, i: usize, chunk: &mut [u8], again: &mut Vec<usize>) {
        let Some(conn) = self.conn(i) else {
            return;
        };
        // A client whose replies wait for the socket resumes on its
        // writable event, not here.
        if conn.is_stalled() || (!conn.is_blocked() && !conn.is_held()) {
            return;
        }
        let mut drive = conn.run_and_reply();
        if drive != Drive::Close && !conn.is_blocked() && !conn.is_held() {
            drive = conn.drive(chunk);
        }
        self.settle(i, drive, again);
    }

    /// Every [`TICK`]: deadlines, kills, queued messages, statistics, and
    /// blocked clients looked at again (as the thread model's read tick).
    fn tick(&mut self, chunk: &mut [u8], again: &mut Vec<usize>) {
        // Connections left waiting when the descriptors ran out (the
        // listener's edge has passed).
        self.accept();
        // Idle clients cost nothing here unless an idle timeout is set
        // (then everyone's deadline is looked at, as Redis's clientsCron).
        let everyone = self.shared.deadlines().idle().is_some();
        let look_at = if everyone {
            self.watched.clear();
            (0..self.conns.len()).collect()
        } else {
            std::mem::take(&mut self.watched)
        };
        for i in look_at {
            if let Some(conn) = self.conn(i) {
                conn.watch(false);
                let drive = conn.tick();
                self.settle(i, drive, again);
            }
        }
        for i in self.blocked.clone() {
            self.retry(i, chunk, again);
        }
    }

    fn close(&mut self, conn: Connection<'a>) {
        let id = conn.client_id();
        let fd = conn.raw_fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        conn.close();
        record_event(self.shared, id, false);
    }
}
