//! One client's state as commands see it ([`Session`]), and what the
//! shell does with the connection after a command ([`Flow`]).
//!
//! The session belongs to the connection, not to the store: it lives in
//! the shell's [`crate::pipeline::Pipeline`] and is lent to each command.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::Bytes;

use crate::frame::Protocol;
use crate::keyspace::watch::Watch;

/// What the shell should do with the connection after a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Flush the replies, then close (QUIT).
    Close,
    /// Flush the replies, close, and shut the whole server down gracefully
    /// (SHUTDOWN). Like Redis, SHUTDOWN itself sends no reply on success.
    Shutdown,
}

/// Per-connection state that commands can see and change.
#[derive(Clone, Debug)]
pub struct Session {
    /// CLIENT ID: unique, increasing, never reused.
    pub id: u64,
    /// CLIENT SETNAME (or HELLO ... SETNAME).
    pub name: Option<Bytes>,
    /// The protocol replies are rendered in: RESP2 until HELLO 3.
    pub protocol: Protocol,
    /// The selected database (SELECT): 0 until changed.
    pub db: u32,
    /// Between MULTI and EXEC/DISCARD: the queued commands.
    pub multi: Option<Transaction>,
    /// The keys this client WATCHes, until EXEC, DISCARD, UNWATCH or the
    /// end of the connection.
    pub watched: Vec<Watched>,
    /// Set when a watched key changes (Redis's `CLIENT_DIRTY_CAS`): shared
    /// with every [`Watch`] this client made.
    pub(crate) watch_dirty: Arc<AtomicBool>,
}

/// A transaction being queued (MULTI ... EXEC).
#[derive(Clone, Debug, Default)]
pub struct Transaction {
    /// The commands, in order, as the client sent them.
    pub commands: Vec<Vec<Bytes>>,
    /// A command was refused while queueing (unknown, wrong arity, not
    /// allowed in a transaction): EXEC answers EXECABORT (Redis's
    /// `CLIENT_DIRTY_EXEC`).
    pub aborted: bool,
}

/// One watched key (WATCH).
#[derive(Clone, Debug)]
pub struct Watched {
    pub db: u32,
    pub key: Bytes,
    pub watch: Arc<Watch>,
}

impl Session {
    /// A session with a given client id. The shell uses
    /// [`crate::Executor::new_session`]; replay uses this to give each
    /// replayed connection the id it had when it was captured (CLIENT ID).
    pub fn new(id: u64) -> Session {
        Session {
            id,
            name: None,
            protocol: Protocol::Resp2,
            db: 0,
            multi: None,
            watched: Vec::new(),
            watch_dirty: Arc::new(AtomicBool::new(false)),
        }
    }
}
