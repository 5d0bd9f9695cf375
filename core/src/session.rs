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
    /// A blocking pop found nothing: no reply yet. The shell parks the
    /// connection (no lock held) and runs the same command again when a
    /// key it waits on changes or its deadline passes
    /// ([`crate::blocking`]).
    Block,
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
    /// Has the client proved it knows `requirepass` (Redis's
    /// `c->authenticated`)? Set when the connection opens if no password
    /// is configured then, by AUTH or HELLO AUTH, and cleared by RESET
    /// while a password is set. A password set later does not log out
    /// the clients already connected, as in Redis.
    pub authenticated: bool,
    /// CLIENT REPLY: whether this client wants its replies.
    pub reply: ReplyMode,
    /// CLIENT NO-EVICT (shown as flag `e` by CLIENT LIST). There is no
    /// client eviction yet, so it is only recorded.
    pub no_evict: bool,
    /// CLIENT SETINFO lib-name / lib-ver, shown by CLIENT LIST.
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    /// SUBSCRIBE's channels and PSUBSCRIBE's patterns, in subscription
    /// order.
    pub channels: Vec<Bytes>,
    pub patterns: Vec<Bytes>,
    /// Where messages published to this client go (the shell's outbox);
    /// `None` in replay and simulation.
    pub sink: Option<crate::pubsub::Sink>,
    /// Blocked in BLPOP & co. since the first attempt: until when (Unix
    /// ms; `None` waits forever).
    pub blocked: Option<Option<u64>>,
    /// ASKING was sent: the next command may be served for a slot this
    /// node is importing (cluster mode; cleared after that command).
    pub asking: bool,
    /// READONLY was sent (cluster mode; kept for READWRITE to clear).
    pub readonly: bool,
    /// Cluster mode: this connection's copy of the cluster state, for
    /// routing without a shared lock (see `cluster::Cluster`).
    pub cluster_view: Option<crate::cluster::ClusterView>,
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

/// CLIENT REPLY ON | OFF | SKIP, as Redis's `CLIENT_REPLY_OFF`,
/// `CLIENT_REPLY_SKIP_NEXT` and `CLIENT_REPLY_SKIP` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    /// No reply until CLIENT REPLY ON (whose `+OK` is sent).
    Off,
    /// CLIENT REPLY SKIP was just run (itself without a reply): the next
    /// command's reply is dropped.
    SkipNext,
    /// This command's reply is dropped.
    Skip,
}

impl ReplyMode {
    /// Is the reply of the command just executed dropped? Decided after
    /// the command ran, as Redis decides when the reply is added: CLIENT
    /// REPLY ON while OFF gets its `+OK`.
    pub fn drops_reply(self) -> bool {
        matches!(self, ReplyMode::Off | ReplyMode::Skip | ReplyMode::SkipNext)
    }

    /// The mode for the next command (Redis's `resetClient`): a skip
    /// lasts one command; SKIP arms it for the command after itself.
    pub fn after_command(self) -> ReplyMode {
        match self {
            ReplyMode::SkipNext => ReplyMode::Skip,
            ReplyMode::Skip => ReplyMode::On,
            other => other,
        }
    }
}

impl Session {
    /// Subscribed to anything (Redis's `CLIENT_PUBSUB` flag)?
    pub fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }

    /// SUBSCRIBE's and UNSUBSCRIBE's count: channels plus patterns.
    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// A session with a given client id, authenticated. The shells use
    /// [`crate::Executor::new_session`] (and replay
    /// [`crate::Executor::session_with_id`], to give each replayed
    /// connection the id it had when it was captured), which also decide
    /// whether the session starts authenticated.
    pub fn new(id: u64) -> Session {
        Session {
            id,
            name: None,
            protocol: Protocol::Resp2,
            db: 0,
            multi: None,
            watched: Vec::new(),
            watch_dirty: Arc::new(AtomicBool::new(false)),
            authenticated: true,
            reply: ReplyMode::On,
            no_evict: false,
            lib_name: None,
            lib_ver: None,
            channels: Vec::new(),
            patterns: Vec::new(),
            sink: None,
            blocked: None,
            asking: false,
            readonly: false,
            cluster_view: None,
        }
    }
}
