//! One client's state as commands see it ([`Session`]), and what the
//! shell does with the connection after a command ([`Flow`]).
//!
//! The session belongs to the connection, not to the store: it lives in
//! the shell's [`crate::pipeline::Pipeline`] and is lent to each command.

use bytes::Bytes;

use crate::frame::Protocol;

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
        }
    }
}
