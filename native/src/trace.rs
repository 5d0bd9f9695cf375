//! `--trace FILE`: a Chrome Trace Event timeline of lock contention,
//! loadable by ui.perfetto.dev and chrome://tracing.
//!
//! ## What is recorded
//! One track per thread (`conn 17 127.0.0.1:50312`, `acceptor`, `expiry`,
//! `stats`), and on it complete events (`"ph":"X"`):
//! * `lock wait` — only when the lock was **contended** (its `try_lock`
//!   failed, so the thread really blocked); uncontended acquisitions have
//!   no wait span at all, so every wait span on the timeline is real
//!   waiting;
//! * `lock hold` — every sampled acquisition, with the lock (shard) index
//!   and the command name as args;
//! * the command itself (`GET`, `SET`, ...), which contains its wait and
//!   hold spans;
//! * `read` and `write` on the socket, with the byte count.
//!
//! Counter events (`"ph":"C"`) once a second: connected clients, ops/s and
//! lock wait per second (milliseconds of waiting summed over threads).
//!
//! ## How it stays cheap and bounded
//! Events are serialized straight to JSON text in a buffer owned by the
//! thread that produced them (no lock, no allocation per event beyond the
//! buffer's growth). A buffer is handed to the writer thread when it holds
//! [`FLUSH_BYTES`], when its thread finishes a batch after
//! [`FLUSH_INTERVAL`], or when the thread ends. The hand-off channel holds
//! at most [`CHANNEL_CHUNKS`] buffers: if the disk cannot keep up, chunks
//! are **dropped and counted**, never queued without bound and never
//! allowed to block a client. So the trace never holds more than about
//! `threads × FLUSH_BYTES + CHANNEL_CHUNKS × FLUSH_BYTES` (≈ 8 MiB plus
//! 32 KiB per thread).
//!
//! ## A file that is always loadable
//! The Trace Event format allows a JSON array without its closing `]`, so
//! a killed server's file still loads. This writer does better: after each
//! write the file ends in `]`, which the next write overwrites, so the
//! file is strict JSON whenever the writer is between writes — a SIGKILL
//! then leaves a file any JSON parser reads. A SIGKILL that lands *inside*
//! a multi-page `write` can leave that write's last line cut short (Linux
//! stops such a write between pages); everything before it is intact.
//!
//! `--trace-sample N` records one command in N (and its locks and one
//! read/write pair in N), for long runs.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, Sender};
use myongoredis_core::store::Access;
use myongoredis_core::LockSpan;

use crate::clock::Monotonic;

/// A thread hands its buffer to the writer once it holds this much.
pub const FLUSH_BYTES: usize = 32 * 1024;
/// ... or once this much time passed since its last hand-off.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Buffers waiting for the writer; more are dropped (and counted).
pub const CHANNEL_CHUNKS: usize = 256;

/// The process id written into every event: one process per trace.
const PID: u32 = 1;

enum Message {
    Chunk(Vec<u8>),
    Finish,
}

pub struct Tracer {
    clock: Monotonic,
    sample: u64,
    tx: Sender<Message>,
    next_tid: AtomicU64,
    dropped_chunks: AtomicU64,
    writer: std::sync::Mutex<Option<JoinHandle<io::Result<u64>>>>,
}

/// Per-thread state: this thread's track id, its buffer and the sampling
/// decision for the command in progress.
struct Local {
    tid: u64,
    buf: Vec<u8>,
    last_flush: Instant,
    counter: u64,
    sampled: bool,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl Tracer {
    /// Create the file and start the writer thread. `process` names the
    /// process track (e.g. "myongoredis mode=shard shards=32").
    pub fn create(path: &str, sample: u64, clock: Monotonic, process: &str) -> io::Result<Tracer> {
        let mut file = File::create(path)?;
        let mut head = b"[\n".to_vec();
        write_json_event(
            &mut head,
            format_args!(
                r#"{{"name":"process_name","ph":"M","pid":{PID},"tid":0,"args":{{"name":{}}}}}"#,
                json_string(process)
            ),
        );
        head.extend_from_slice(b"]");
        file.write_all(&head)?;
        let (tx, rx) = channel::bounded(CHANNEL_CHUNKS);
        let writer = std::thread::Builder::new()
            .name("trace-writer".into())
            .spawn(move || write_loop(file, rx))?;
        Ok(Tracer {
            clock,
            sample: sample.max(1),
            tx,
            next_tid: AtomicU64::new(1),
            dropped_chunks: AtomicU64::new(0),
            writer: std::sync::Mutex::new(Some(writer)),
        })
    }

    /// Run `f` on this thread's state, creating it (and naming the track)
    /// on first use.
    fn with_local<R>(&self, f: impl FnOnce(&mut Local) -> R) -> R {
        LOCAL.with(|cell| {
            let mut slot = cell.borrow_mut();
            let local = slot.get_or_insert_with(|| {
                let tid = self.next_tid.fetch_add(1, Relaxed);
                let mut buf = Vec::with_capacity(FLUSH_BYTES + 1024);
                let name = std::thread::current().name().unwrap_or("thread").to_string();
                write_json_event(
                    &mut buf,
                    format_args!(
                        r#"{{"name":"thread_name","ph":"M","pid":{PID},"tid":{tid},"args":{{"name":{}}}}}"#,
                        json_string(&name)
                    ),
                );
                Local {
                    tid,
                    buf,
                    last_flush: Instant::now(),
                    counter: 0,
                    sampled: false,
                }
            });
            f(local)
        })
    }

    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    /// Decide whether the next command on this thread is recorded.
    pub fn begin_command(&self) -> bool {
        self.with_local(|l| {
            l.sampled = l.counter % self.sample == 0;
            l.counter += 1;
            l.sampled
        })
    }

    /// Record the command that `begin_command` sampled.
    pub fn end_command(&self, name: &str, start_ns: u64, end_ns: u64) {
        self.with_local(|l| {
            if l.sampled {
                complete(
                    &mut l.buf,
                    l.tid,
                    name,
                    "command",
                    start_ns,
                    end_ns,
                    format_args!("{{}}"),
                );
                l.sampled = false;
            }
        });
    }

    /// A lock span reported by the observer, recorded if the command that
    /// took the lock is sampled (or, outside commands, the expiry cycle).
    pub fn lock_span(&self, span: &LockSpan) {
        self.with_local(|l| {
            if !l.sampled && span.command != "active-expire" {
                return;
            }
            let access = match span.access {
                Access::Read => "read",
                Access::Write => "write",
            };
            let args = format_args!(
                r#"{{"lock":{},"cmd":"{}","access":"{access}"}}"#,
                span.lock, span.command
            );
            if span.contended {
                complete(
                    &mut l.buf,
                    l.tid,
                    "lock wait",
                    "lock",
                    span.wait_start,
                    span.acquired,
                    args,
                );
            }
            let args = format_args!(
                r#"{{"lock":{},"cmd":"{}","access":"{access}"}}"#,
                span.lock, span.command
            );
            complete(
                &mut l.buf,
                l.tid,
                "lock hold",
                "lock",
                span.acquired,
                span.released,
                args,
            );
        });
    }

    /// A socket read or write of `bytes`, sampled one in N.
    pub fn io(&self, name: &str, start_ns: u64, end_ns: u64, bytes: usize) {
        self.with_local(|l| {
            if l.counter % self.sample == 0 {
                complete(
                    &mut l.buf,
                    l.tid,
                    name,
                    "io",
                    start_ns,
                    end_ns,
                    format_args!(r#"{{"bytes":{bytes}}}"#),
                );
            }
        });
    }

    /// A counter sample (`"ph":"C"`): one track per name in Perfetto.
    pub fn counter(&self, name: &str, series: &str, value: f64) {
        let ts = self.now_ns();
        self.with_local(|l| {
            write_json_event(
                &mut l.buf,
                format_args!(
                    r#"{{"name":"{name}","ph":"C","ts":{},"pid":{PID},"args":{{"{series}":{value:.3}}}}}"#,
                    micros(ts)
                ),
            );
        });
    }

    /// Hand this thread's buffer to the writer if it is full or old
    /// enough; `force` at the end of a thread's life.
    pub fn flush_thread(&self, force: bool) {
        let chunk = LOCAL.with(|cell| {
            let mut slot = cell.borrow_mut();
            let l = slot.as_mut()?;
            let due = l.buf.len() >= FLUSH_BYTES || l.last_flush.elapsed() >= FLUSH_INTERVAL;
            if l.buf.is_empty() || !(force || due) {
                return None;
            }
            l.last_flush = Instant::now();
            Some(std::mem::replace(
                &mut l.buf,
                Vec::with_capacity(FLUSH_BYTES + 1024),
            ))
        });
        if let Some(chunk) = chunk {
            if self.tx.try_send(Message::Chunk(chunk)).is_err() {
                self.dropped_chunks.fetch_add(1, Relaxed);
            }
        }
    }

    /// Flush the writer and close the file (graceful shutdown). Returns
    /// the number of bytes written and of chunks dropped.
    pub fn finish(&self) -> io::Result<(u64, u64)> {
        self.flush_thread(true);
        let _ = self.tx.send(Message::Finish);
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let written = match handle {
            Some(h) => h
                .join()
                .map_err(|_| io::Error::other("trace writer panicked"))??,
            None => 0,
        };
        Ok((written, self.dropped_chunks.load(Relaxed)))
    }
}

/// The writer thread: append each chunk before the closing `]`, then put
/// the `]` back, so the file is valid JSON between writes.
fn write_loop(mut file: File, rx: Receiver<Message>) -> io::Result<u64> {
    let mut written = 0u64;
    let mut pending = Vec::new();
    loop {
        let msg = rx.recv();
        let finish = !matches!(msg, Ok(Message::Chunk(_)));
        if let Ok(Message::Chunk(chunk)) = msg {
            pending.extend_from_slice(&chunk);
        }
        // Take whatever else is already queued: one write for many chunks.
        let mut finish_seen = finish;
        while let Ok(more) = rx.try_recv() {
            match more {
                Message::Chunk(chunk) => pending.extend_from_slice(&chunk),
                Message::Finish => finish_seen = true,
            }
        }
        if !pending.is_empty() {
            file.seek(SeekFrom::End(-1))?;
            pending.extend_from_slice(b"]");
            file.write_all(&pending)?;
            written += pending.len() as u64;
            pending.clear();
        }
        if finish_seen {
            file.sync_all()?;
            return Ok(written);
        }
    }
}

/// Append one event object, preceded by a comma unless it is the first
/// event of the file (the file starts `[\n` and each event goes on its own
/// line as `,{...}` after the first; the process-name event is first).
fn write_json_event(buf: &mut Vec<u8>, event: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let first_of_file = buf == b"[\n";
    if !first_of_file {
        buf.extend_from_slice(b",");
    }
    let _ = buf.write_fmt(event);
    buf.push(b'\n');
}

#[allow(clippy::too_many_arguments)]
fn complete(
    buf: &mut Vec<u8>,
    tid: u64,
    name: &str,
    cat: &str,
    start_ns: u64,
    end_ns: u64,
    args: std::fmt::Arguments<'_>,
) {
    write_json_event(
        buf,
        format_args!(
            r#"{{"name":"{name}","cat":"{cat}","ph":"X","ts":{},"dur":{},"pid":{PID},"tid":{tid},"args":{args}}}"#,
            micros(start_ns),
            micros(end_ns.saturating_sub(start_ns)),
        ),
    );
}

/// Nanoseconds as the microseconds (with fraction) the format expects.
fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
