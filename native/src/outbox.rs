//! A connection's outbox for pub/sub messages: how a PUBLISH in one
//! thread reaches a subscriber served by another without ever waiting
//! for it.
//!
//! Every connection has one thread, mostly blocked reading its socket.
//! A publisher delivering a message ([`Subscriber::deliver`]) must not
//! block on that thread, nor on a slow subscriber's full socket buffer:
//! * when the subscriber's thread is idle and nothing is queued, the
//!   publisher writes the message straight to the socket with a
//!   non-blocking `send`; what the kernel does not take is queued;
//! * while the subscriber's thread is busy (executing a batch, writing
//!   replies), or anything is queued, the message is queued; the thread
//!   appends the queue to its output after its own replies, and checks it
//!   again on every read tick.
//!
//! One short mutex orders the two sides, so one subscriber receives its
//! messages in publish order. As Redis's `client-output-buffer-limit
//! pubsub 32mb 8mb 60`: a queue over 32 MB, or over 8 MB for 60 seconds,
//! disconnects that subscriber, and everybody else keeps receiving.

use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use myongoredis_core::pubsub::Subscriber;
use myongoredis_core::{Frame, Protocol};

/// Redis's `client-output-buffer-limit pubsub 32mb 8mb 60`.
const HARD_LIMIT: usize = 32 << 20;
const SOFT_LIMIT: usize = 8 << 20;
const SOFT_SECONDS: Duration = Duration::from_secs(60);

pub struct Outbox {
    state: Mutex<State>,
    /// The connection's socket, shared with its thread.
    socket: Arc<TcpStream>,
    /// The protocol messages are encoded in: the session's, as its thread
    /// last reported it (2 or 3).
    protocol: AtomicU8,
    /// `State::queue` is not empty: mirrored, written under the mutex,
    /// so that asking costs a load, not a mutex.
    queued: AtomicBool,
    /// Over a limit: the connection is being closed. Set (once) under
    /// the mutex, read without it.
    overflowed: AtomicBool,
}

#[derive(Default)]
struct State {
    queue: BytesMut,
    /// The connection's thread is executing or writing: queue, don't send.
    busy: bool,
    /// Since when the queue has been over the soft limit.
    over_soft_since: Option<Instant>,
}

impl Outbox {
    pub fn new(socket: Arc<TcpStream>) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            socket,
            protocol: AtomicU8::new(2),
            queued: AtomicBool::new(false),
            overflowed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_protocol(&self, protocol: Protocol) {
        let p = if protocol == Protocol::Resp3 { 3 } else { 2 };
        self.protocol.store(p, Relaxed);
    }

    /// The connection's thread starts work: messages queue from now on.
    pub fn begin(&self) {
        self.lock().busy = true;
    }

    /// Move what was queued into `out` (after the replies already there).
    /// Stays busy: call [`Outbox::finish`] once `out` is written.
    pub fn drain_into(&self, out: &mut BytesMut) {
        let mut st = self.lock();
        if !st.queue.is_empty() {
            out.extend_from_slice(&st.queue);
            st.queue.clear();
            self.queued.store(false, Relaxed);
            st.over_soft_since = None;
        }
    }

    /// The thread wrote everything: back to direct sends, unless more was
    /// queued meanwhile (then false: drain and write again).
    pub fn finish(&self) -> bool {
        let mut st = self.lock();
        if st.queue.is_empty() {
            st.busy = false;
            true
        } else {
            false
        }
    }

    /// Is anything waiting (checked on an idle read tick)?
    pub fn has_queued(&self) -> bool {
        self.queued.load(Relaxed)
    }

    /// Did this subscriber exceed its output limit?
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Relaxed)
    }
}

impl Subscriber for Outbox {
    fn deliver(&self, message: &Frame) {
        let protocol = if self.protocol.load(Relaxed) == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        let mut bytes = BytesMut::new();
        message.encode_as(protocol, &mut bytes);
        let mut st = self.lock();
        if self.overflowed.load(Relaxed) {
            return;
        }
        if !st.busy && st.queue.is_empty() {
            let sent = send_now(&self.socket, &bytes);
            if sent == bytes.len() {
                return;
            }
            bytes.advance(sent);
        }
        st.queue.extend_from_slice(&bytes);
        self.queued.store(true, Relaxed);
        let len = st.queue.len();
        let soft_expired = if len > SOFT_LIMIT {
            st.over_soft_since
                .get_or_insert_with(Instant::now)
                .elapsed()
                >= SOFT_SECONDS
        } else {
            st.over_soft_since = None;
            false
        };
        if len > HARD_LIMIT || soft_expired {
            // Redis closes the client asynchronously; here its thread sees
            // end-of-file at once and closes.
            self.overflowed.store(true, Relaxed);
            st.queue = BytesMut::new();
            self.queued.store(false, Relaxed);
            let _ = self.socket.shutdown(Shutdown::Both);
        }
    }
}

/// Write what the socket takes right now, without blocking (and without
/// SIGPIPE on a closed peer); how many bytes went.
fn send_now(socket: &TcpStream, bytes: &[u8]) -> usize {
    // SAFETY: `bytes` is a valid slice for the length given, and the file
    // descriptor belongs to `socket`, which outlives the call.
    let n = unsafe {
        libc::send(
            socket.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(n).unwrap_or(0)
}
