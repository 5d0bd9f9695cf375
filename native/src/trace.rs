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
//! * `read` and `write` on the socket, with the byte count;
//! * with `--io loop`, each `turn` of an event loop, with the number of
//!   sockets that were `ready`: the commands, reads and writes of that
//!   turn nest inside it, and a `lock wait` inside a turn is a wait that
//!   every one of those clients shared.
//!
//! Counter events (`"ph":"C"`) once a second: connected clients, ops/s and
//! lock wait per second (milliseconds of waiting summed over threads).
//!
//! ## How it stays cheap and bounded
//! A thread records an event as a small fixed-size value (integers and
//! `'static` names: command, lock and socket names are static strings, so
//! a name is interned by being a pointer) pushed on a vector it owns: no
//! lock, no formatting, no allocation beyond the vector. The vector is
//! handed to the writer thread when it holds [`CHUNK_EVENTS`] events, when
//! its thread finishes a batch after [`FLUSH_INTERVAL`], or when the
//! thread ends; the writer renders the events as JSON, digit by digit,
//! off the clients' threads. The hand-off channel holds at most
//! [`CHANNEL_CHUNKS`] chunks: if the writer cannot keep up, chunks are
//! **dropped and counted**, never queued without bound and never allowed
//! to block a client. So the trace never holds more than about
//! `(threads + CHANNEL_CHUNKS) × CHUNK_EVENTS × 48` bytes (≈ 48 MiB plus
//! 192 KiB per thread).
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
use myongoredis_core::capture::put_u64;
use myongoredis_core::store::Access;
use myongoredis_core::LockSpan;

use crate::clock::Monotonic;

/// ... or once this much time passed since its last hand-off.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Buffers waiting for the writer; more are dropped (and counted).
pub const CHANNEL_CHUNKS: usize = 256;

enum Message {
    Chunk(Chunk),
    Finish,
}

/// One thread's events since its last hand-off.
struct Chunk {
    tid: u64,
    events: Vec<Event>,
}

/// One event as the recording thread stores it: fixed-size, integers and
/// `'static` names only (command, lock and socket names are all static
/// strings, so a name is interned by being a pointer). Turning it into
/// JSON text is the writer thread's work, off the clients' threads.
#[derive(Clone, Copy)]
enum Event {
    /// The track's name (the thread's, looked up once per thread).
    ThreadName(&'static str),
    /// A span with one integer argument (`bytes`, `ready`).
    Span {
        name: &'static str,
        start: u64,
        end: u64,
        arg: (&'static str, u64),
    },
    /// A command.
    Command {
        name: &'static str,
        start: u64,
        end: u64,
    },
    /// A lock wait or hold.
    Lock {
        wait: bool,
        lock: u32,
        write: bool,
        cmd: &'static str,
        start: u64,
        end: u64,
    },
    Counter {
        name: &'static str,
        series: &'static str,
        ts: u64,
        value: f64,
    },
}

/// Events a thread keeps before handing them to the writer (48 bytes
/// each: 192 KiB per thread at most).
pub const CHUNK_EVENTS: usize = 4096;

pub struct Tracer {
    clock: Monotonic,
    sample: u64,
    tx: Sender<Message>,
    next_tid: AtomicU64,
    dropped_chunks: AtomicU64,
    writer: std::sync::Mutex<Option<JoinHandle<io::Result<u64>>>>,
}

/// Per-thread state: this thread's track id, its events and the sampling
/// decision for the command in progress.
struct Local {
    tid: u64,
    events: Vec<Event>,
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
        head.extend_from_slice(
            br#"{"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"#,
        );
        head.extend_from_slice(json_string(process).as_bytes());
        head.extend_from_slice(b"}}\n]");
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
                let mut events = Vec::with_capacity(CHUNK_EVENTS);
                // Once per thread, for the life of the process: a track
                // name is the one string a thread owns.
                let name = std::thread::current()
                    .name()
                    .unwrap_or("thread")
                    .to_string();
                events.push(Event::ThreadName(Box::leak(name.into_boxed_str())));
                Local {
                    tid,
                    events,
                    last_flush: Instant::now(),
                    counter: 0,
                    sampled: false,
                }
            });
            f(local)
        })
    }

    fn record(&self, event: Event) {
        self.with_local(|l| l.events.push(event));
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
    pub fn end_command(&self, name: &'static str, start: u64, end: u64) {
        self.with_local(|l| {
            if l.sampled {
                l.events.push(Event::Command { name, start, end });
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
            let lock = |wait, start, end| Event::Lock {
                wait,
                lock: span.lock,
                write: span.access == Access::Write,
                cmd: span.command,
                start,
                end,
            };
            if span.contended {
                l.events.push(lock(true, span.wait_start, span.acquired));
            }
            l.events.push(lock(false, span.acquired, span.released));
        });
    }

    /// A socket read or write of `bytes`, sampled one in N.
    pub fn io(&self, name: &'static str, start: u64, end: u64, bytes: usize) {
        self.with_local(|l| {
            if l.counter % self.sample == 0 {
                l.events.push(Event::Span {
                    name,
                    start,
                    end,
                    arg: ("bytes", bytes as u64),
                });
            }
        });
    }

    /// A span of this thread's own (an event loop's turn), with one
    /// integer argument.
    pub fn span(&self, name: &'static str, start: u64, end: u64, arg: (&'static str, u64)) {
        self.record(Event::Span {
            name,
            start,
            end,
            arg,
        });
    }

    /// A counter sample (`"ph":"C"`): one track per name in Perfetto.
    pub fn counter(&self, name: &'static str, series: &'static str, value: f64) {
        let ts = self.now_ns();
        self.record(Event::Counter {
            name,
            series,
            ts,
            value,
        });
    }

    /// Hand this thread's events to the writer if there are enough or they
    /// are old enough; `force` at the end of a thread's life.
    pub fn flush_thread(&self, force: bool) {
        let chunk = LOCAL.with(|cell| {
            let mut slot = cell.borrow_mut();
            let l = slot.as_mut()?;
            let due = l.events.len() >= CHUNK_EVENTS || l.last_flush.elapsed() >= FLUSH_INTERVAL;
            if l.events.is_empty() || !(force || due) {
                return None;
            }
            l.last_flush = Instant::now();
            Some(Chunk {
                tid: l.tid,
                events: std::mem::replace(&mut l.events, Vec::with_capacity(CHUNK_EVENTS)),
            })
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

/// The writer thread: turn each chunk into JSON lines, append them before
/// the closing `]`, then put the `]` back, so the file is valid JSON
/// between writes.
fn write_loop(mut file: File, rx: Receiver<Message>) -> io::Result<u64> {
    let mut written = 0u64;
    let mut pending = Vec::new();
    loop {
        let msg = rx.recv();
        let mut finish_seen = !matches!(msg, Ok(Message::Chunk(_)));
        if let Ok(Message::Chunk(chunk)) = msg {
            render(&chunk, &mut pending);
        }
        // Take whatever else is already queued: one write for many chunks.
        while let Ok(more) = rx.try_recv() {
            match more {
                Message::Chunk(chunk) => render(&chunk, &mut pending),
                Message::Finish => finish_seen = true,
            }
            if pending.len() >= 4 << 20 {
                break;
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

/// Each event as one `,{...}` line of the Trace Event format. Written by
/// hand, digit by digit: this runs for every event of a busy server, and
/// `format!` with its machinery cost several times more.
fn render(chunk: &Chunk, out: &mut Vec<u8>) {
    let tid = chunk.tid;
    for event in &chunk.events {
        out.extend_from_slice(b",{\"name\":\"");
        match *event {
            Event::ThreadName(name) => {
                out.extend_from_slice(b"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":");
                put_u64(out, tid);
                out.extend_from_slice(b",\"args\":{\"name\":");
                out.extend_from_slice(json_string(name).as_bytes());
                out.push(b'}');
            }
            Event::Command { name, start, end } => {
                out.extend_from_slice(name.as_bytes());
                complete(out, start, end, tid);
            }
            Event::Span {
                name,
                start,
                end,
                arg: (key, value),
            } => {
                out.extend_from_slice(name.as_bytes());
                complete(out, start, end, tid);
                out.extend_from_slice(b",\"args\":{\"");
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"\":");
                put_u64(out, value);
                out.push(b'}');
            }
            Event::Lock {
                wait,
                lock,
                write,
                cmd,
                start,
                end,
            } => {
                out.extend_from_slice(if wait { b"lock wait" } else { b"lock hold" });
                complete(out, start, end, tid);
                out.extend_from_slice(b",\"args\":{\"lock\":");
                put_u64(out, u64::from(lock));
                out.extend_from_slice(b",\"cmd\":\"");
                out.extend_from_slice(cmd.as_bytes());
                out.extend_from_slice(if write {
                    b"\",\"access\":\"write\"}"
                } else {
                    b"\",\"access\":\"read\"}"
                });
            }
            Event::Counter {
                name,
                series,
                ts,
                value,
            } => {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\",\"ph\":\"C\",\"ts\":");
                put_micros(out, ts);
                out.extend_from_slice(b",\"pid\":1,\"args\":{\"");
                out.extend_from_slice(series.as_bytes());
                out.extend_from_slice(b"\":");
                let _ = write!(out, "{value:.3}");
                out.push(b'}');
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

/// The middle of a complete (`"ph":"X"`) event, after its name, up to its
/// `args` (a command has none: the file is written for every command, so
/// every byte left out counts; categories are left out for that reason).
fn complete(out: &mut Vec<u8>, start: u64, end: u64, tid: u64) {
    out.extend_from_slice(b"\",\"ph\":\"X\",\"ts\":");
    put_micros(out, start);
    out.extend_from_slice(b",\"dur\":");
    put_micros(out, end.saturating_sub(start));
    out.extend_from_slice(b",\"pid\":1,\"tid\":");
    put_u64(out, tid);
}

/// Nanoseconds as the microseconds (with three decimals) the format
/// expects.
fn put_micros(out: &mut Vec<u8>, ns: u64) {
    put_u64(out, ns / 1000);
    let frac = ns % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
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
