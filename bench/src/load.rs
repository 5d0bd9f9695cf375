//! One measured run: a thread per client, a fixed time, every reply
//! checked and timed.
//!
//! **Closed loop** (the default): a client writes `--pipeline` requests,
//! waits for all their replies, and only then writes again. Throughput is
//! then bounded by the round trip, exactly what the seed's experiment (and
//! redis-benchmark) measures.
//!
//! **Open loop** (`--open-loop`, what tcpkali does): per connection a
//! writer streams requests without waiting and a reader checks the replies
//! as they come. Both walk the same reproducible [`OpStream`], so the
//! reader knows what each reply must be without being told. The writer
//! stamps each batch's send time into a bounded channel; the bound caps
//! the requests in flight, which keeps memory and latencies finite.
//!
//! Each client keeps its own histogram, timeline and counters and they are
//! merged at the end: one shared counter bumped by 50 threads would itself
//! be a point of contention, measured as if it were the server's.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::RwLock;
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use crossbeam::utils::CachePadded;
use hdrhistogram::Histogram;
use myongoredis_core::Frame;
use serde::Serialize;

use crate::client::{connect, ReplyReader};
use crate::workload::{Encoder, OpStream, WorkloadKind};

/// Most requests an open-loop connection may have unanswered. Large enough
/// that the server always has a queue to work on (about 30 KB of seed
/// requests), small enough that a slow server does not make the client
/// buffer without bound.
const OPEN_LOOP_MAX_IN_FLIGHT: u32 = 1024;

/// Latency histograms count nanoseconds from 1 µs to 60 s with three
/// significant digits: a p99.9 of 1.234 ms is told apart from 1.235 ms.
const LATENCY_LOW_NS: u64 = 1_000;
const LATENCY_HIGH_NS: u64 = 60_000_000_000;

/// Client threads do little but syscalls; a small stack keeps 50 (or
/// 1000) of them cheap.
const CLIENT_STACK: usize = 256 * 1024;

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub workload: WorkloadKind,
    pub clients: u32,
    pub pipeline: u32,
    pub keys: u64,
    pub value: Vec<u8>,
    pub seed: u64,
    pub duration: Duration,
    pub open_loop: bool,
}

/// Replies that were not what the request had to get, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// `-ERR ...` and other error replies.
    pub error_replies: u64,
    /// Replies of the wrong type or value (a GET returning another value).
    pub wrong_replies: u64,
    /// Connections lost or timed out; each ends its client's run early.
    pub io_errors: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.error_replies + self.wrong_replies + self.io_errors
    }

    fn add(&mut self, other: &ErrorCounts) {
        self.error_replies += other.error_replies;
        self.wrong_replies += other.wrong_replies;
        self.io_errors += other.io_errors;
    }
}

/// The outcome of one run, all clients merged.
pub struct Measurement {
    /// Replies received (including wrong ones, also counted in `errors`).
    pub ops: u64,
    pub errors: ErrorCounts,
    /// The first error seen, for the report: one example says more than a count.
    pub first_error: Option<String>,
    /// From the start signal until the last client finished.
    pub elapsed: Duration,
    /// Per request: from writing its batch to reading its reply, in ns.
    pub latency: Histogram<u64>,
    /// Replies received in each whole second of the run.
    pub timeline: Vec<u64>,
}

/// What one client thread counted.
struct Tally {
    start: Instant,
    last: Instant,
    ops: u64,
    errors: ErrorCounts,
    first_error: Option<String>,
    latency: Histogram<u64>,
    timeline: Vec<u64>,
}

impl Tally {
    fn new(start: Instant, duration: Duration) -> Tally {
        Tally {
            start,
            last: start,
            ops: 0,
            errors: ErrorCounts::default(),
            first_error: None,
            // The bounds are constants that hdrhistogram accepts (low >= 1,
            // high >= 2 * low, sigfig <= 5), so this cannot fail.
            latency: Histogram::new_with_bounds(LATENCY_LOW_NS, LATENCY_HIGH_NS, 3)
                .expect("valid histogram bounds"),
            timeline: vec![0; whole_seconds(duration)],
        }
    }

    /// Count one reply to a request whose batch was written at `sent`.
    fn reply(&mut self, sent: Instant, frame: &Frame, verdict: Result<(), String>) {
        let now = Instant::now();
        self.last = now;
        self.ops += 1;
        let ns = u64::try_from(now.duration_since(sent).as_nanos()).unwrap_or(u64::MAX);
        self.latency.saturating_record(ns.max(LATENCY_LOW_NS));
        let second = now.duration_since(self.start).as_secs();
        if let Some(slot) = usize::try_from(second)
            .ok()
            .and_then(|s| self.timeline.get_mut(s))
        {
            *slot += 1;
        }
        if let Err(what) = verdict {
            if frame.is_error() {
                self.errors.error_replies += 1;
            } else {
                self.errors.wrong_replies += 1;
            }
            self.first_error.get_or_insert(what);
        }
    }

    fn io_error(&mut self, e: &io::Error) {
        self.last = Instant::now();
        self.errors.io_errors += 1;
        self.first_error.get_or_insert(format!("I/O: {e}"));
    }
}

/// Number of whole-second buckets in a timeline (at least one, so a
/// sub-second run still has a point).
fn whole_seconds(duration: Duration) -> usize {
    usize::try_from(duration.as_secs())
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Run `spec`, calling `tick(elapsed, replies so far)` about ten times a
/// second from the calling thread (for the progress bar).
pub fn run(spec: &LoadSpec, mut tick: impl FnMut(Duration, u64)) -> io::Result<Measurement> {
    let clients = spec.clients as usize;
    // Connect everyone before the clock starts: connection set-up is not
    // what is being measured.
    let streams = (0..clients)
        .map(|_| connect(spec.addr))
        .collect::<io::Result<Vec<_>>>()?;
    // One counter per client on its own cache line, written only by its
    // client and read by the progress ticker.
    let live: Vec<CachePadded<AtomicU64>> = (0..clients).map(|_| Default::default()).collect();
    // The start gate: held for writing while threads are spawned, then
    // released so every client starts within microseconds of the others.
    let gate = RwLock::new(());
    let held = gate
        .write()
        .map_err(|_| io::Error::other("start gate poisoned"))?;
    let mut start = Instant::now();

    let tallies = thread::scope(|s| -> io::Result<Vec<Tally>> {
        let mut handles = Vec::with_capacity(clients);
        let mut spawn_error = None;
        for (i, stream) in streams.into_iter().enumerate() {
            let (gate, live) = (&gate, &live[i]);
            let client = u32::try_from(i).unwrap_or(u32::MAX);
            let spawned = thread::Builder::new()
                .name(format!("client-{i}"))
                .stack_size(CLIENT_STACK)
                .spawn_scoped(s, move || {
                    drop(gate.read());
                    if spec.open_loop {
                        open_loop(stream, spec, client, live)
                    } else {
                        closed_loop(stream, spec, client, live)
                    }
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    spawn_error = Some(e);
                    break;
                }
            }
        }
        start = Instant::now();
        drop(held);
        // `is_finished` rather than a counter the clients bump: a client
        // that panicked never bumps anything, and this loop must end anyway.
        while !handles.iter().all(|h| h.is_finished()) {
            thread::sleep(Duration::from_millis(100));
            let so_far = live.iter().map(|c| c.load(Ordering::Relaxed)).sum();
            tick(start.elapsed(), so_far);
        }
        let tallies = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| io::Error::other("a client thread panicked"))
            })
            .collect::<io::Result<Vec<_>>>()?;
        match spawn_error {
            Some(e) => Err(e),
            None => Ok(tallies),
        }
    })?;
    Ok(merge(start, spec.duration, tallies))
}

fn merge(start: Instant, duration: Duration, tallies: Vec<Tally>) -> Measurement {
    let mut total = Tally::new(start, duration);
    for t in tallies {
        total.ops += t.ops;
        total.errors.add(&t.errors);
        if total.first_error.is_none() {
            total.first_error = t.first_error;
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = total.latency.add(&t.latency);
        for (sum, n) in total.timeline.iter_mut().zip(&t.timeline) {
            *sum += n;
        }
        total.last = total.last.max(t.last);
    }
    Measurement {
        ops: total.ops,
        errors: total.errors,
        first_error: total.first_error,
        elapsed: total.last.duration_since(start),
        latency: total.latency,
        timeline: total.timeline,
    }
}

fn closed_loop(mut stream: TcpStream, spec: &LoadSpec, client: u32, live: &AtomicU64) -> Tally {
    let mut ops = OpStream::new(spec.workload, spec.seed, client, spec.keys);
    let mut encoder = Encoder::new(spec.workload, client, &spec.value);
    let mut reader = ReplyReader::default();
    let mut tally = Tally::new(Instant::now(), spec.duration);
    let deadline = tally.start + spec.duration;
    let mut out = BytesMut::new();
    let mut batch = Vec::with_capacity(spec.pipeline as usize);
    while tally.last < deadline {
        out.clear();
        batch.clear();
        for _ in 0..spec.pipeline {
            let op = ops.next_op();
            encoder.encode(op, &mut out);
            batch.push(op);
        }
        let sent = Instant::now();
        if let Err(e) = stream.write_all(&out) {
            tally.io_error(&e);
            break;
        }
        for &op in &batch {
            match reader.next_frame(&mut stream) {
                Ok(frame) => {
                    let verdict = encoder.check(op, &frame);
                    tally.reply(sent, &frame, verdict);
                }
                Err(e) => {
                    // The stream's framing is lost: this client cannot go on.
                    tally.io_error(&e);
                    return tally;
                }
            }
        }
        live.store(tally.ops, Ordering::Relaxed);
    }
    tally
}

fn open_loop(stream: TcpStream, spec: &LoadSpec, client: u32, live: &AtomicU64) -> Tally {
    let start = Instant::now();
    let mut tally = Tally::new(start, spec.duration);
    let mut write_half = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => {
            tally.io_error(&e);
            return tally;
        }
    };
    let window = (OPEN_LOOP_MAX_IN_FLIGHT / spec.pipeline).max(1) as usize;
    let (sent_tx, sent_rx) = sync_channel::<Instant>(window);
    thread::scope(|s| {
        let writer = thread::Builder::new()
            .name(format!("writer-{client}"))
            .stack_size(CLIENT_STACK)
            .spawn_scoped(s, move || -> io::Result<()> {
                let mut ops = OpStream::new(spec.workload, spec.seed, client, spec.keys);
                let mut encoder = Encoder::new(spec.workload, client, &spec.value);
                let mut out = BytesMut::new();
                let deadline = start + spec.duration;
                while Instant::now() < deadline {
                    out.clear();
                    for _ in 0..spec.pipeline {
                        encoder.encode(ops.next_op(), &mut out);
                    }
                    // Blocks while the window is full; fails once the
                    // reader has given up, which ends the writer too.
                    if sent_tx.send(Instant::now()).is_err() {
                        break;
                    }
                    if let Err(e) = write_half.write_all(&out) {
                        // The reader waits for replies to this batch:
                        // closing the socket turns its wait into an error.
                        let _ = write_half.shutdown(Shutdown::Both);
                        return Err(e);
                    }
                }
                Ok(())
                // Dropping `sent_tx` tells the reader no more batches come.
            });
        let writer = match writer {
            Ok(w) => w,
            Err(e) => {
                tally.io_error(&e);
                return;
            }
        };
        let mut ops = OpStream::new(spec.workload, spec.seed, client, spec.keys);
        let encoder = Encoder::new(spec.workload, client, &spec.value);
        let mut reader = ReplyReader::default();
        let mut read_half = &stream;
        'batches: for sent in sent_rx.iter() {
            for _ in 0..spec.pipeline {
                let op = ops.next_op();
                match reader.next_frame(&mut read_half) {
                    Ok(frame) => {
                        let verdict = encoder.check(op, &frame);
                        tally.reply(sent, &frame, verdict);
                    }
                    Err(e) => {
                        tally.io_error(&e);
                        // Unblock a writer stuck in `write` on a dead peer.
                        let _ = stream.shutdown(Shutdown::Both);
                        break 'batches;
                    }
                }
            }
            live.store(tally.ops, Ordering::Relaxed);
        }
        drop(sent_rx);
        match writer.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tally.io_error(&e),
            Err(_) => tally.io_error(&io::Error::other("writer thread panicked")),
        }
    });
    tally
}
