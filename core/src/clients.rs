//! The live connections, as CLIENT LIST, INFO, KILL and PAUSE see them.
//!
//! Which clients are connected, from which address, since when, idle for
//! how long: facts of the process, not of the engine. `core` reads no
//! clock and owns no socket, so the shell keeps the registry and lends it
//! to the executor as a [`ClientRegistry`]. What is `core`'s: the commands'
//! parsing and errors (`cmd/client.rs`), the filters they build
//! ([`KillFilter`]), and the CLIENT LIST line ([`ClientInfo::line`]), so
//! the format is written once, next to Redis's rules for it.

use std::fmt::Write;

use bytes::Bytes;

use crate::session::Session;

/// One client, as CLIENT LIST prints it. The shell fills it from its
/// registry; the fields that are session state (name, db, protocol,
/// library, no-evict) come from the [`Session`] as the connection last
/// reported it, or, for the client asking, as it is now
/// ([`ClientInfo::with_session`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub id: u64,
    /// The peer, `ip:port` (`[::1]:port` style is Redis's `ip:port` with
    /// the IPv6 address unbracketed: `::1:port`).
    pub addr: String,
    /// The local end, `ip:port`.
    pub laddr: String,
    pub fd: i64,
    pub name: Option<Bytes>,
    /// Seconds since the connection opened.
    pub age: u64,
    /// Seconds since its last command.
    pub idle: u64,
    /// Waiting for CLIENT PAUSE to end (Redis shows such a client as
    /// blocked: flag `b`).
    pub blocked: bool,
    pub no_evict: bool,
    pub db: u32,
    /// Commands queued since MULTI; `None` outside a transaction
    /// (CLIENT LIST `multi=-1`, flag `x` inside).
    pub multi: Option<usize>,
    /// A watched key changed: the next EXEC fails (flag `d`).
    pub dirty_cas: bool,
    /// Bytes of an unfinished request held in the input buffer.
    pub qbuf: u64,
    /// Bytes of the read buffer.
    pub rbs: u64,
    /// The last command's full name (`client|list`), `NULL` before any.
    pub cmd: String,
    /// 2 or 3.
    pub resp: u8,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
}

impl ClientInfo {
    /// Take the session's fields from `session` (the client asking
    /// describes itself as it is now, not as it last reported).
    pub fn with_session(mut self, session: &Session) -> ClientInfo {
        self.name = session.name.clone();
        self.db = session.db;
        self.resp = match session.protocol {
            crate::frame::Protocol::Resp2 => 2,
            crate::frame::Protocol::Resp3 => 3,
        };
        self.no_evict = session.no_evict;
        self.multi = session.multi.as_ref().map(|t| t.commands.len());
        // Waiting in a blocking pop: Redis's CLIENT_BLOCKED, flag b.
        self.blocked |= session.blocked.is_some();
        self.dirty_cas = session
            .watch_dirty
            .load(std::sync::atomic::Ordering::Relaxed);
        self.lib_name = session.lib_name.clone();
        self.lib_ver = session.lib_ver.clone();
        self
    }

    /// The CLIENT LIST line (without the newline), field for field as
    /// Redis 7.0's `catClientInfoString`, then `lib-name` and `lib-ver` as
    /// Redis 7.2 appends them (7.0.15 has no CLIENT SETINFO; see
    /// `cmd/client.rs`).
    ///
    /// Memory figures Redis takes from its allocator (`qbuf-free`,
    /// `argv-mem`, `multi-mem`, output buffers, `tot-mem`) are 0: this
    /// server does not measure them per client. There is no pub/sub or
    /// tracking yet, so `sub`, `psub`, `ssub` are 0 and `redir` -1; every
    /// client is the `default` user.
    pub fn line(&self) -> String {
        let text = |b: &Option<Bytes>| {
            b.as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        // Redis's order of flag letters.
        let mut flags = String::new();
        if self.multi.is_some() {
            flags.push('x');
        }
        if self.blocked {
            flags.push('b');
        }
        if self.dirty_cas {
            flags.push('d');
        }
        if self.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let mut line = String::with_capacity(320);
        // Writing to a String cannot fail.
        let _ = write!(
            line,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db={} \
             sub=0 psub=0 ssub=0 multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 \
             rbs={} rbp={} obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default \
             redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            text(&self.name),
            self.age,
            self.idle,
            self.db,
            self.multi.map_or(-1, |n| n as i64),
            self.qbuf,
            self.rbs,
            self.rbs,
            self.cmd,
            self.resp,
            text(&self.lib_name),
            text(&self.lib_ver),
        );
        line
    }
}

/// Redis's client types (`getClientTypeByName`). Every client here is
/// `Normal`: there is no replication and no pub/sub yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Master,
    Replica,
    Pubsub,
}

impl ClientType {
    /// `normal`, `master`, `replica` / `slave`, `pubsub`, any case.
    pub fn parse(name: &[u8]) -> Option<ClientType> {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("normal") {
            Some(ClientType::Normal)
        } else if is("master") {
            Some(ClientType::Master)
        } else if is("replica") || is("slave") {
            Some(ClientType::Replica)
        } else if is("pubsub") {
            Some(ClientType::Pubsub)
        } else {
            None
        }
    }
}

/// CLIENT KILL's filters; a client is killed when it matches all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KillFilter {
    pub id: Option<u64>,
    pub addr: Option<Bytes>,
    pub laddr: Option<Bytes>,
    pub client_type: Option<ClientType>,
    /// `USER name`: only `default` exists (the parser rejects others).
    pub user: Option<Bytes>,
    /// Spare the client asking (SKIPME yes, the new form's default).
    pub skip_me: bool,
}

impl KillFilter {
    /// Does `client` match every filter (SKIPME aside)?
    pub fn matches(&self, client: &ClientInfo) -> bool {
        self.id.is_none_or(|id| id == client.id)
            && self
                .addr
                .as_ref()
                .is_none_or(|a| a[..] == *client.addr.as_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| a[..] == *client.laddr.as_bytes())
            && self.client_type.is_none_or(|t| t == ClientType::Normal)
    }
}

/// What CLIENT KILL did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Killed {
    /// Clients killed, the asking one included.
    pub count: u64,
    /// The asking client matched: it is closed after its reply.
    pub me: bool,
}

/// CLIENT PAUSE's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseMode {
    /// Hold only commands that write.
    Write,
    /// Hold every command.
    All,
}

/// The shell's registry of live connections.
pub trait ClientRegistry: Send + Sync {
    /// Every connected client, in id order. `me` is the session asking:
    /// its entry describes it as it is now.
    fn list(&self, me: &Session) -> Vec<ClientInfo>;

    /// Kill every client `filter` matches (the asking one is only
    /// reported, the caller closes it after its reply). A killed client
    /// is closed promptly, even while it waits for input; a command it is
    /// running completes first.
    fn kill(&self, me: &Session, filter: &KillFilter) -> Killed;

    /// CLIENT PAUSE until `until_ms` (Unix milliseconds). As Redis's
    /// `pauseClients`, a pause already in force is only extended: the
    /// later end and the stronger mode win.
    fn pause(&self, until_ms: u64, mode: PauseMode);

    /// CLIENT UNPAUSE: end any pause now.
    fn unpause(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: u64) -> ClientInfo {
        ClientInfo {
            id,
            addr: "127.0.0.1:50000".into(),
            laddr: "127.0.0.1:6379".into(),
            fd: 8,
            name: None,
            age: 3,
            idle: 1,
            blocked: false,
            no_evict: false,
            multi: None,
            dirty_cas: false,
            db: 0,
            qbuf: 0,
            rbs: 16384,
            cmd: "NULL".into(),
            resp: 2,
            lib_name: None,
            lib_ver: None,
        }
    }

    /// The field list of redis-server 7.0.15's CLIENT LIST, in order, then
    /// 7.2's library fields.
    #[test]
    fn the_line_has_redis_fields_in_redis_order() {
        let line = client(7).line();
        let keys: Vec<&str> = line
            .split(' ')
            .map(|kv| kv.split_once('=').map_or(kv, |(k, _)| k))
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "addr",
                "laddr",
                "fd",
                "name",
                "age",
                "idle",
                "flags",
                "db",
                "sub",
                "psub",
                "ssub",
                "multi",
                "qbuf",
                "qbuf-free",
                "argv-mem",
                "multi-mem",
                "rbs",
                "rbp",
                "obl",
                "oll",
                "omem",
                "tot-mem",
                "events",
                "cmd",
                "user",
                "redir",
                "resp",
                "lib-name",
                "lib-ver"
            ]
        );
        assert!(line.starts_with(
            "id=7 addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=8 name= age=3 idle=1 flags=N db=0 "
        ));
    }

    #[test]
    fn session_fields_and_flags() {
        let mut session = Session::new(7);
        session.name = Some(Bytes::from_static(b"app"));
        session.no_evict = true;
        session.protocol = crate::frame::Protocol::Resp3;
        session.lib_name = Some(Bytes::from_static(b"redis-py"));
        let mut info = client(7).with_session(&session);
        let line = info.line();
        for field in [
            "name=app",
            "flags=e",
            "resp=3",
            "lib-name=redis-py",
            "lib-ver=",
        ] {
            assert!(line.split(' ').any(|f| f == field), "{field} in {line}");
        }
        info.no_evict = false;
        info.blocked = true;
        assert!(info.line().contains(" flags=b "));
    }

    #[test]
    fn kill_filters_match_all_conditions() {
        let c = client(7);
        let all = KillFilter::default();
        assert!(all.matches(&c));
        let by = |f: KillFilter| f.matches(&c);
        assert!(by(KillFilter {
            id: Some(7),
            ..all.clone()
        }));
        assert!(!by(KillFilter {
            id: Some(8),
            ..all.clone()
        }));
        assert!(by(KillFilter {
            addr: Some(Bytes::from_static(b"127.0.0.1:50000")),
            ..all.clone()
        }));
        assert!(!by(KillFilter {
            addr: Some(Bytes::from_static(b"127.0.0.1:5000")),
            ..all.clone()
        }));
        assert!(by(KillFilter {
            laddr: Some(Bytes::from_static(b"127.0.0.1:6379")),
            ..all.clone()
        }));
        assert!(by(KillFilter {
            client_type: Some(ClientType::Normal),
            ..all.clone()
        }));
        assert!(!by(KillFilter {
            client_type: Some(ClientType::Pubsub),
            ..all.clone()
        }));
        assert!(!by(KillFilter {
            id: Some(7),
            client_type: Some(ClientType::Master),
            ..all
        }));
    }

    #[test]
    fn client_types_as_redis_names_them() {
        assert_eq!(ClientType::parse(b"NORMAL"), Some(ClientType::Normal));
        assert_eq!(ClientType::parse(b"slave"), Some(ClientType::Replica));
        assert_eq!(ClientType::parse(b"Replica"), Some(ClientType::Replica));
        assert_eq!(ClientType::parse(b"pubsub"), Some(ClientType::Pubsub));
        assert_eq!(ClientType::parse(b"master"), Some(ClientType::Master));
        assert_eq!(ClientType::parse(b"foo"), None);
    }
}
