//! One client connection: read, hand the bytes to core's [`Pipeline`]
//! (which parses and executes every complete request), write every reply
//! with one `write`.
//!
//! That loop is what makes pipelining work: a client that sends 16
//! commands before reading gets 16 replies in one buffer, one syscall each
//! way instead of 32.
//!
//! What this shell adds around the pipeline: the socket, the connection's
//! deadlines (see [`Deadlines`]), a trace span and a timing per command,
//! `catch_unwind` so a panicking command closes only its own connection,
//! and its own statistics, folded into the server's totals at most
//! every [`STATS_FOLD`] so that counting never puts a shared cache line on
//! the path of every command.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use myongoredis_core::exec::Executed;
use myongoredis_core::keyspace::take_thread_lookups;
use myongoredis_core::pubsub::Sink;
use myongoredis_core::{cmd, CaptureSink, Flow, Outcome, Pipeline, Session, Shell};

use crate::clients::{Entry, Registered};
use crate::clock::{relay, unix_now_us};
use crate::limits::{Deadlines, Slot};
use crate::outbox::Outbox;
use crate::server::Shared;
use crate::shutdown::TICK;
use crate::stats::LOG2_BUCKETS;

mod evented;
pub(crate) use evented::Drive;

/// Bytes asked of the kernel per `read`.
pub(crate) const READ_CHUNK: usize = 16 * 1024;
/// Flush the reply buffer mid-batch once it holds this much, so a long
/// pipeline of large replies does not buffer without bound.
const FLUSH_AT: usize = 64 * 1024;
/// After a flush, a reply buffer that grew beyond this is released rather
/// than kept for the life of the connection.
const KEEP_OUTPUT_CAPACITY: usize = 1024 * 1024;
/// How stale the server-wide statistics may be (INFO, /metrics).
const STATS_FOLD: Duration = Duration::from_millis(100);

pub struct Connection<'a> {
    /// The socket, shared with this client's registry entry (CLIENT KILL
    /// shuts it down) and its outbox (publishers write to it): one
    /// descriptor per client, as in Redis.
    stream: Arc<TcpStream>,
    /// This client in the registry (CLIENT LIST, KILL, PAUSE); it leaves
    /// when the connection ends.
    registered: Registered<'a>,
    /// The last command run (CLIENT LIST `cmd=`).
    last_cmd: Option<(&'static str, Option<Bytes>)>,
    /// This client's `--maxclients` slot, released when the connection ends.
    _slot: Slot<'a>,
    /// The session and the bytes not executed yet; with `--capture`, this
    /// batch's records, encoded there (off any lock, in parallel with
    /// other connections) and handed to the writer once per batch.
    pipeline: Pipeline,
    /// Where other clients' PUBLISHes to this one land (see outbox.rs).
    outbox: Arc<Outbox>,
    shared: &'a Shared,
    deadlines: &'a Deadlines,
    output: BytesMut,
    /// When the client last completed a request (idle `--timeout`).
    last_activity: Instant,
    /// When the unfinished request now in the pipeline began to arrive. A
    /// slowloris client trickling one byte at a time does not reset it:
    /// the deadline is for the whole request, not for each byte.
    partial_since: Option<Instant>,
    stats: LocalStats,
    /// Served by an event loop (`--io loop`): the socket is non-blocking,
    /// a write that cannot finish leaves the rest in `output`, and a pause
    /// holds a command in the pipeline instead of sleeping (see
    /// `evented.rs`). False: a thread of its own, blocking reads.
    evented: bool,
    /// The event loop's view of the socket (see `evented.rs`).
    readiness: evented::Readiness,
}

/// This connection's counts since they were last folded into the server's.
struct LocalStats {
    commands: u64,
    bytes_in: u64,
    bytes_out: u64,
    /// Per command-table index: calls and nanoseconds.
    per_command: Vec<(u64, u64)>,
    latency: [u64; LOG2_BUCKETS],
    folded_at: Instant,
    /// Changes made (Redis's dirty count) since the last fold.
    dirty: u64,
    /// `appendfsync always`: this connection wrote since its last flush,
    /// so its replies wait for the AOF's fsync (see `flush`).
    awaiting_fsync: bool,
}

impl<'a> Connection<'a> {
    pub fn new(
        stream: Arc<TcpStream>,
        slot: Slot<'a>,
        registered: Registered<'a>,
        session: Session,
        shared: &'a Shared,
        evented: bool,
    ) -> Self {
        let capture = match shared.capture {
            Some(_) => CaptureSink::Lines(Vec::new()),
            None => CaptureSink::Off,
        };
        // The outbox shares the socket so that publishers can write to it
        // directly (see outbox.rs).
        let outbox = Arc::new(Outbox::new(stream.clone()));
        let mut session = session;
        session.sink = Some(Sink(outbox.clone()));
        Connection {
            outbox,
            stream,
            registered,
            last_cmd: None,
            _slot: slot,
            pipeline: Pipeline::new(session, capture),
            shared,
            deadlines: shared.deadlines(),
            output: BytesMut::with_capacity(READ_CHUNK),
            last_activity: Instant::now(),
            partial_since: None,
            stats: LocalStats {
                commands: 0,
                bytes_in: 0,
                bytes_out: 0,
                per_command: vec![(0, 0); cmd::all().len()],
                latency: [0; LOG2_BUCKETS],
                folded_at: Instant::now(),
                awaiting_fsync: false,
                dirty: 0,
            },
            evented,
            readiness: evented::Readiness::default(),
        }
    }

    /// Serve the client until it leaves, errs, asks to quit, or the server
    /// shuts down.
    pub fn serve(mut self) {
        self.serve_until_done();
        self.fold_stats();
        if let Some(tracer) = &self.shared.tracer {
            tracer.flush_thread(true);
        }
    }

    fn serve_until_done(&mut self) {
        // Reads wake up every TICK so the thread notices a shutdown or an
        // expired deadline even while its client is silent. A write that
        // cannot progress for the I/O deadline fails (the client stopped
        // reading its replies) and ends the connection.
        let _ = self.stream.set_read_timeout(Some(TICK));
        let _ = self.stream.set_write_timeout(Some(self.deadlines.io));
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let read_start = self.trace_stamp();
            let n = match (&*self.stream).read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if is_timeout(&e) => {
                    if self.shared.shutdown.is_requested()
                        || self.deadline_passed()
                        || self.registered.entry.is_killed()
                        || self.outbox.overflowed()
                    {
                        return;
                    }
                    // Messages the socket could not take at once.
                    if self.outbox.has_queued() {
                        self.outbox.begin();
                        if self.flush_with_messages().is_err() {
                            return;
                        }
                    }
                    // A quiet client's counts still reach INFO and /metrics
                    // within a tick.
                    if self.stats.commands > 0 {
                        self.fold_stats();
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if let (Some(tracer), Some(start)) = (&self.shared.tracer, read_start) {
                tracer.io("read", start, tracer.now_ns(), n);
            }
            self.stats.bytes_in += n as u64;
            self.pipeline.feed(&chunk[..n]);
            // Fold before executing, so this batch's INFO already counts
            // this connection's earlier commands.
            if self.stats.folded_at.elapsed() >= STATS_FOLD {
                self.fold_stats();
            }
            // A batch that was read is executed and answered even when a
            // shutdown arrives meanwhile: no acknowledged command is lost.
            self.outbox.begin();
            let mut flow = self.execute_buffered();
            if flow == Flow::Block {
                match self.wait_blocked() {
                    Some(next) => flow = next,
                    None => return,
                }
            }
            self.outbox.set_protocol(self.pipeline.session().protocol);
            if self.pipeline.pending() == 0 {
                self.partial_since = None;
            } else if self.partial_since.is_none() {
                self.partial_since = Some(Instant::now());
            }
            let flushed = self.flush_with_messages();
            if flushed.is_err()
                || self.outbox.overflowed()
                || flow != Flow::Continue
                || self.shared.shutdown.is_requested()
                || self.deadline_passed()
                || self.registered.entry.is_killed()
            {
                if flow == Flow::Shutdown {
                    self.shared.shutdown.request();
                }
                return;
            }
        }
    }

    /// A blocking pop found nothing: park here, holding no lock, until a
    /// key it waits on changes (or its deadline, or a tick to notice a
    /// shutdown, a kill or a client that left), then run it again. The
    /// client's wake-up call was set up by the attempt that blocked, so a
    /// push that came in since is not slept through. `None`: end the
    /// connection.
    fn wait_blocked(&mut self) -> Option<Flow> {
        loop {
            // The replies before the blocked command reach the client now.
            if self.flush_with_messages().is_err() {
                return None;
            }
            let mut wait = TICK;
            if let Some(Some(deadline_ms)) = self.pipeline.session().blocked {
                let now_ms = unix_now_us() / 1000;
                wait = wait.min(Duration::from_millis(deadline_ms.saturating_sub(now_ms)));
            }
            let client = self.pipeline.session().id;
            match self.shared.exec.blocking().waiter(client) {
                Some(waiter) => waiter.wait(wait),
                // A blocked command always leaves its client queued; if
                // not, look again after the wait rather than spin.
                None => std::thread::sleep(wait),
            }
            if self.shared.shutdown.is_requested() {
                // The blocked command ends with an error rather than a
                // silent close, so the consumer knows to retry elsewhere.
                // A simple error reads the same in RESP2 and RESP3.
                let text = myongoredis_core::blocking::UNBLOCKED_BY_SHUTDOWN;
                self.output
                    .extend_from_slice(format!("-{text}\r\n").as_bytes());
                let _ = self.flush_with_messages();
                return None;
            }
            if self.registered.entry.is_killed() || self.outbox.overflowed() || self.client_left() {
                return None;
            }
            self.outbox.begin();
            let flow = self.execute_buffered();
            if flow != Flow::Block {
                return Some(flow);
            }
        }
    }

    /// Did the client close its end (while we were not reading)?
    fn client_left(&self) -> bool {
        // An event loop's socket is non-blocking already.
        if !self.evented && self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let left = matches!(self.stream.peek(&mut [0u8; 1]), Ok(0))
            || matches!(self.stream.peek(&mut [0u8; 1]), Err(e) if !is_timeout(&e) && e.kind() != io::ErrorKind::Interrupted);
        if !self.evented {
            let _ = self.stream.set_nonblocking(false);
        }
        left
    }

    /// Write the replies, then the pub/sub messages queued while this
    /// thread was busy, until none is left; publishers then write to the
    /// socket directly again. `Ok(false)`: the socket is full (event loop
    /// only); the rest stays in `output` and the outbox stays busy, so a
    /// message published meanwhile queues behind it, in order.
    fn flush_with_messages(&mut self) -> io::Result<bool> {
        loop {
            self.outbox.drain_into(&mut self.output);
            let all = flush(
                &self.stream,
                self.shared,
                &mut self.stats,
                &mut self.output,
                self.evented,
            )?;
            if !all {
                return Ok(false);
            }
            if self.outbox.finish() {
                return Ok(true);
            }
        }
    }

    /// Has this client been idle, or stuck mid-request, for too long?
    fn deadline_passed(&self) -> bool {
        match self.partial_since {
            Some(since) => since.elapsed() >= self.deadlines.io,
            None => self
                .deadlines
                .idle()
                .is_some_and(|idle| self.last_activity.elapsed() >= idle),
        }
    }

    /// Execute every complete request buffered, appending the replies to
    /// the output buffer.
    fn execute_buffered(&mut self) -> Flow {
        // One clock reading per batch, as Redis caches the time per event
        // loop iteration: every command of a pipeline sees the same "now".
        let now_us = unix_now_us();
        let mut shell = Around {
            evented: self.evented,
            stream: &self.stream,
            shared: self.shared,
            stats: &mut self.stats,
            entry: &self.registered.entry,
            last_cmd: &mut self.last_cmd,
            fresh_now_us: None,
            output_full: false,
        };
        let (flow, executed) =
            self.pipeline
                .run_batch(&self.shared.exec, now_us, &mut self.output, &mut shell);
        if executed > 0 {
            self.last_activity = Instant::now();
        }
        // What CLIENT LIST shows of this client: once per batch, a short
        // lock of this client's own entry.
        self.registered.entry.report(
            self.pipeline.session(),
            self.last_cmd.clone(),
            self.last_activity,
            self.pipeline.pending(),
        );
        if let Some(c) = &self.shared.capture {
            if let CaptureSink::Lines(lines) = self.pipeline.take_capture() {
                c.send(lines);
            }
        }
        flow
    }

    fn trace_stamp(&self) -> Option<u64> {
        self.shared.tracer.as_ref().map(|t| t.now_ns())
    }

    /// Add this connection's counts to the server's and start again.
    fn fold_stats(&mut self) {
        let s = self.shared.stats();
        let l = &mut self.stats;
        let (hits, misses) = take_thread_lookups();
        for (total, local) in [
            (&s.total_commands, &mut l.commands),
            (&s.net_input_bytes, &mut l.bytes_in),
            (&s.net_output_bytes, &mut l.bytes_out),
            (&s.dirty, &mut l.dirty),
        ] {
            if *local > 0 {
                total.fetch_add(*local, Relaxed);
                *local = 0;
            }
        }
        s.keyspace_hits.fetch_add(hits, Relaxed);
        s.keyspace_misses.fetch_add(misses, Relaxed);
        for (i, (calls, ns)) in l.per_command.iter_mut().enumerate() {
            if *calls > 0 {
                s.per_command[i].calls.fetch_add(*calls, Relaxed);
                s.per_command[i].usec.fetch_add(*ns / 1000, Relaxed);
                (*calls, *ns) = (0, 0);
            }
        }
        s.command_latency_ns.add_counts(&l.latency);
        l.latency = [0; LOG2_BUCKETS];
        l.folded_at = Instant::now();
    }
}

/// What this shell puts around each command of a batch (see
/// [`myongoredis_core::Shell`]).
struct Around<'c, 'a> {
    /// In an event loop a pause holds the command ([`Shell::hold`])
    /// rather than sleeping in [`Shell::admit`], which would stall every
    /// client of the loop (CLIENT UNPAUSE among them).
    evented: bool,
    stream: &'c TcpStream,
    shared: &'a Shared,
    stats: &'c mut LocalStats,
    entry: &'c Entry,
    last_cmd: &'c mut Option<(&'static str, Option<Bytes>)>,
    /// Event loop: the client is not taking its replies and `FLUSH_AT`
    /// of them wait; the rest of the batch is held until it does (the
    /// thread model's blocking write gives the same bound).
    output_full: bool,
    /// A clock reading taken after a CLIENT PAUSE held a command: it and
    /// the rest of the batch run with it instead of the batch's.
    fresh_now_us: Option<u64>,
}

impl Shell for Around<'_, '_> {
    /// CLIENT PAUSE: hold the command here, in this connection's thread,
    /// before it takes any lock. Unknown commands and wrong arities are
    /// answered without waiting, as Redis checks them first.
    fn admit(&mut self, args: &[Bytes], now_us: u64) -> u64 {
        if self.evented || !self.shared.clients.may_be_paused() {
            return self.fresh_now_us.unwrap_or(now_us);
        }
        if let Some(writes) = pausable(&args[0], args.len()) {
            let shutdown = &self.shared.shutdown;
            if self
                .shared
                .clients
                .wait_while_paused(writes, self.entry, &|| shutdown.is_requested())
            {
                self.fresh_now_us = Some(unix_now_us());
            }
        }
        self.fresh_now_us.unwrap_or(now_us)
    }

    /// The event loop's pause: the command stays buffered until the pause
    /// no longer applies to it.
    fn hold(&mut self, name: &[u8], argc: usize) -> bool {
        if self.output_full {
            return true;
        }
        if !self.evented || !self.shared.clients.may_be_paused() {
            return false;
        }
        pausable(name, argc).is_some_and(|writes| self.shared.clients.holds(writes, self.entry))
    }

    /// Time and trace the command, and contain its panic: the panic message
    /// goes to stderr through the panic hook, and the pipeline answers this
    /// client with an error and closes it. A lock the command held was
    /// released during unwinding (see core's strategies.rs on poisoning).
    fn command(&mut self, args: &[Bytes], run: &mut dyn FnMut() -> Executed) -> Outcome {
        // Killed (perhaps while a pause held this command): what is left of
        // the batch is dropped unexecuted, as Redis frees a killed client
        // with its pending commands.
        if self.entry.is_killed() {
            return Outcome::Declined;
        }
        let shared = self.shared;
        // One clock (the lock observer's and the tracer's), read twice: the
        // start is offered to the command's first lock stamp, the end is
        // its last (see clock::relay). So the trace's command span
        // encloses its lock spans.
        let started = shared.clock.now_ns();
        relay::offer(started);
        let traced = shared.tracer.as_ref().is_some_and(|t| t.begin_command());
        let result = catch_unwind(AssertUnwindSafe(|| {
            if shared
                .panic_on
                .as_deref()
                .is_some_and(|c| args[0].eq_ignore_ascii_case(c))
            {
                panic!("--debug-panic-on {}", String::from_utf8_lossy(&args[0]));
            }
            run()
        }));
        let ended = relay::end(started, || shared.clock.now_ns());
        let elapsed = ended.saturating_sub(started);
        self.stats.commands += 1;
        self.stats.latency[64 - elapsed.leading_zeros() as usize] += 1;
        if let Some(i) = cmd::position(&args[0]) {
            let name = cmd::all()[i].name;
            let sub = args.get(1).filter(|_| cmd::CONTAINERS.contains(&name));
            *self.last_cmd = Some((name, sub.cloned()));
            self.stats.per_command[i].0 += 1;
            self.stats.per_command[i].1 += elapsed;
            if let Some(tracer) = shared.tracer.as_ref().filter(|_| traced) {
                tracer.end_command(cmd::all()[i].name, started, ended);
            }
        }
        match result {
            Ok(executed) => {
                self.stats.dirty += executed.signal.dirty;
                if !executed.signal.propagate.is_empty() && shared.aof_always() {
                    self.stats.awaiting_fsync = true;
                }
                Outcome::Ran(executed)
            }
            Err(_) => Outcome::Panicked,
        }
    }

    /// Flush mid-batch once the replies reach [`FLUSH_AT`].
    fn replies(&mut self, out: &mut BytesMut) -> io::Result<()> {
        if out.len() >= FLUSH_AT {
            flush(self.stream, self.shared, self.stats, out, self.evented)?;
            self.output_full = out.len() >= FLUSH_AT;
        }
        Ok(())
    }
}

/// May a pause hold this command, and is it a write (which a `WRITE`
/// pause holds too)? `None` for an unknown command or a wrong arity:
/// those are answered without waiting, as Redis checks them first.
fn pausable(name: &[u8], argc: usize) -> Option<bool> {
    cmd::lookup(name)
        .filter(|s| s.arity_ok(argc))
        .map(|s| s.has(cmd::flags::WRITE))
}

/// Write the buffered replies (one `write` when the socket takes them
/// all), traced and counted. Returns whether everything went: on a
/// non-blocking socket (`evented`) what the kernel did not take stays in
/// `output` for the next writable event; on a blocking one a write that
/// cannot progress for the I/O deadline is an error.
fn flush(
    mut stream: &TcpStream,
    shared: &Shared,
    stats: &mut LocalStats,
    output: &mut BytesMut,
    evented: bool,
) -> io::Result<bool> {
    if output.is_empty() {
        return Ok(true);
    }
    // `appendfsync always`: no reply to a write leaves before the write
    // is on disk. Every write fed so far is waited for, this
    // connection's among them; the fsync that covers it covers every
    // other client's writes fed meanwhile (group commit).
    if std::mem::take(&mut stats.awaiting_fsync) {
        if let Some(aof) = shared.aof() {
            aof.wait_durable(aof.fed());
        }
    }
    let start = shared.tracer.as_ref().map(|t| t.now_ns());
    let mut written = 0;
    let result = loop {
        if written == output.len() {
            break Ok(true);
        }
        match stream.write(&output[written..]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if evented && e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
            Err(e) => break Err(e),
        }
    };
    if let (Some(tracer), Some(start)) = (&shared.tracer, start) {
        tracer.io("write", start, tracer.now_ns(), written);
        // A loop hands its events over once per turn instead.
        if !evented {
            tracer.flush_thread(false);
        }
    }
    stats.bytes_out += written as u64;
    output.advance(written);
    if output.is_empty() && output.capacity() > KEEP_OUTPUT_CAPACITY {
        *output = BytesMut::with_capacity(READ_CHUNK);
    }
    result
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// However the connection ends (the client left, an error, a panic
/// unwinding through `serve`), its session's hold on the store goes with
/// it: a WATCH left registered would keep its key's watch list growing.
impl Drop for Connection<'_> {
    fn drop(&mut self) {
        // The peer sees the end now, whoever else still holds the socket
        // (a publisher mid-delivery, a CLIENT LIST snapshot).
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.pipeline.end(&self.shared.exec);
    }
}
