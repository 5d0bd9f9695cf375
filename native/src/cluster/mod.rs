//! Cluster mode's shell: the cluster bus, `nodes.conf`, node IDs and
//! MIGRATE's connections: everything of Redis Cluster that needs a
//! socket, a file, the clock or randomness. The state and every rule are
//! core's (`myongoredis_core::cluster`); this file moves its messages.
//!
//! ```text
//! bus-listen: accept a peer's connection, read one message, hand it to
//!             the state, answer with our PONG, close
//! bus-cron:   ten times a second: carry out CLUSTER MEETs; ping each
//!             peer every ping interval (its PONG goes to the state, a
//!             failure marks the link down); let the state age its
//!             suspicions (PFAIL/FAIL); rewrite nodes.conf if it changed
//! bus-publish: each PUBLISH made on this node, sent to every peer, whose
//!             listener delivers it to its own subscribers (a queue, so
//!             the publisher never waits for the network)
//! ```
//!
//! `network.rs` holds the rest of the shell's side: node IDs, MIGRATE's
//! client, PUBLISH's hand-over.
//!
//! A message is framed by a 4-byte big-endian length. One short-lived
//! connection per exchange keeps the bus simple (no link state to repair);
//! at a handful of nodes and a few pings a second per peer it costs
//! nothing measurable.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use crossbeam::channel::{self, Receiver, RecvTimeoutError, TryRecvError};
use myongoredis_core::cluster::bus::{Kind, Message};
use myongoredis_core::cluster::{conf, Cluster, ClusterState, Node};
use myongoredis_core::config::{named, Value};
use myongoredis_core::{Config, Executor};

use crate::clock::unix_now_us;

mod network;

pub use network::Network;
use network::{random_node_id, PUBLISH_QUEUE};

/// How often the cron runs.
const TICK: Duration = Duration::from_millis(100);

/// The largest bus message accepted (a message lists every node once).
const MAX_MESSAGE: usize = 4 << 20;

/// Redis's `CLUSTER_PORT_INCR`: the default bus port is the port + this.
pub const PORT_INCR: u32 = 10_000;

fn now_ms() -> u64 {
    unix_now_us() / 1000
}

/// Cluster mode, set up: the state, where it is saved, the bus socket.
pub struct ClusterBus {
    pub cluster: Arc<Cluster>,
    listener: TcpListener,
    conf: Arc<ConfFile>,
    publishes: Receiver<(Bytes, Bytes)>,
    /// Listening on every address (`bind 0.0.0.0`): this node's address
    /// for the others is learned from the bus, as Redis learns it (the
    /// local end of a MEET), instead of the loopback guess it starts with.
    learn_ip: bool,
    /// `<nodes.conf>.lock`, locked (flock) while this server runs: two
    /// servers sharing one nodes.conf would share one node ID.
    _lock: std::fs::File,
}

/// Lock `<conf>.lock` for this process (Redis's `clusterLockConfig`; a
/// separate file because nodes.conf itself is replaced on every save).
fn lock_config(conf: &Path) -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    let path = conf.with_extension("conf.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(format!(
            "Sorry, the cluster configuration file {} is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files.",
            conf.display()
        ));
    }
    Ok(file)
}

/// `cluster-enabled yes`: load `nodes.conf` (or make a new node with a
/// random ID), bind the bus port, and save the file at once, as Redis
/// does. `addr` is the client port really bound; `ephemeral`: it was
/// asked for as `--port 0`, and then `cluster-port 0` picks a free bus
/// port too (port + 10000 may not exist), shown in CLUSTER NODES as
/// `@cport` where `redis-cli --cluster` reads it.
pub fn start(
    config: &Config,
    dir: &Path,
    addr: SocketAddr,
    ephemeral: bool,
) -> Result<Option<ClusterBus>, String> {
    if config.value(named("cluster-enabled")) != Value::Bool(true) {
        return Ok(None);
    }
    let bus_port = match config.int(named("cluster-port")) {
        0 if ephemeral => 0,
        0 => u32::from(addr.port()) + PORT_INCR,
        p => p as u32,
    };
    let bus_port = u16::try_from(bus_port).map_err(|_| {
        format!(
            "the cluster bus port {bus_port} (port + {PORT_INCR}) is out of range: set cluster-port"
        )
    })?;
    let listener = TcpListener::bind((addr.ip(), bus_port)).map_err(|e| {
        format!(
            "cannot listen on the cluster bus port {}:{bus_port}: {e}",
            addr.ip()
        )
    })?;
    let bus_port = listener.local_addr().map_err(|e| e.to_string())?.port();
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cluster bus: {e}"))?;
    let conf_path = dir.join(config.text(named("cluster-config-file")));
    let lock = lock_config(&conf_path)?;
    let ip = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let mut state = match std::fs::read_to_string(&conf_path) {
        Ok(text) => conf::load(&text).map_err(|e| format!("{}: {e}", conf_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ClusterState::new(Node::new(
            random_node_id(),
            ip.clone(),
            addr.port(),
            bus_port,
        )),
        Err(e) => return Err(format!("cannot read {}: {e}", conf_path.display())),
    };
    {
        let me = state.me_mut();
        me.ip = ip;
        me.port = addr.port();
        me.bus_port = bus_port;
    }
    state.require_full_coverage =
        config.value(named("cluster-require-full-coverage")) == Value::Bool(true);
    state.update_state();
    save(&conf_path, &conf::save(&state), true)?;
    let conf = Arc::new(ConfFile::new(conf_path.clone()));
    eprintln!(
        "myongoredis: cluster mode, node {} (bus port {bus_port}, config {})",
        state.myself,
        conf_path.display()
    );
    let (tx, publishes) = channel::bounded(PUBLISH_QUEUE);
    Ok(Some(ClusterBus {
        cluster: Arc::new(Cluster::new(
            state,
            Arc::new(Network::clustered(tx, conf.clone())),
        )),
        listener,
        conf,
        publishes,
        learn_ip: addr.ip().is_unspecified(),
        _lock: lock,
    }))
}

/// `nodes.conf`, written by the bus's tick and by the commands that change
/// the configuration (before they reply): whichever renders the newer
/// version, an older text never replaces it.
pub struct ConfFile {
    path: PathBuf,
    /// The versions written and synced so far.
    saved: Mutex<(u64, u64)>,
}

impl ConfFile {
    fn new(path: PathBuf) -> ConfFile {
        ConfFile {
            path,
            saved: Mutex::new((0, 0)),
        }
    }

    /// Write `text` (the state at `version`) unless a newer one was.
    /// Writers queue on the mutex: one file, one writer at a time.
    /// `fsync`: the bus's tick syncs what it writes (or what a command
    /// wrote); a command does not wait for the disk (Redis saves
    /// `nodes.conf` for SETSLOT without CLUSTER_TODO_FSYNC_CONFIG): the
    /// renamed file survives the process being killed, and the next tick
    /// makes it durable.
    pub fn save(&self, version: u64, text: &str, fsync: bool) {
        let mut saved = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        let (written, synced) = *saved;
        let result = if version > written {
            save(&self.path, text, fsync).map(|()| {
                *saved = (version, if fsync { version } else { synced });
            })
        } else if version == written && fsync && synced < version {
            std::fs::File::open(&self.path)
                .and_then(|f| f.sync_all())
                .map(|()| saved.1 = version)
                .map_err(|e| format!("cannot sync {}: {e}", self.path.display()))
        } else {
            Ok(())
        };
        if let Err(e) = result {
            eprintln!("myongoredis: {e}");
        }
    }
}

/// Write `nodes.conf` whole (a temporary file renamed over it, so a crash
/// leaves the old or the new file, never half of one).
///
/// Takes the text, not the state: the caller renders it under the state's
/// lock and writes it after releasing it, so no command waits for the
/// fsync.
fn save(path: &Path, text: &str, fsync: bool) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text.as_bytes())
        .and_then(|_| match fsync {
            true => std::fs::File::open(&tmp)?.sync_all(),
            false => Ok(()),
        })
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl ClusterBus {
    /// The bus's threads, until `stop` is closed.
    pub fn run<'scope>(
        &'scope self,
        s: &'scope thread::Scope<'scope, '_>,
        exec: &'scope Executor,
        stop: &Receiver<()>,
    ) -> Result<(), String> {
        let config = exec.config();
        let stop_listen = stop.clone();
        thread::Builder::new()
            .name("bus-listen".into())
            .spawn_scoped(s, move || self.listen(exec, &stop_listen))
            .map_err(|e| format!("cannot start the cluster bus: {e}"))?;
        let stop_publish = stop.clone();
        thread::Builder::new()
            .name("bus-publish".into())
            .spawn_scoped(s, move || self.send_publishes(config, &stop_publish))
            .map_err(|e| format!("cannot start the cluster bus: {e}"))?;
        let stop_cron = stop.clone();
        thread::Builder::new()
            .name("bus-cron".into())
            .spawn_scoped(s, move || self.cron(exec, &stop_cron))
            .map_err(|e| format!("cannot start the cluster bus: {e}"))?;
        Ok(())
    }

    fn node_timeout(config: &Config) -> u64 {
        config.int(named("cluster-node-timeout")).max(1) as u64
    }

    fn listen(&self, exec: &Executor, stop: &Receiver<()>) {
        while !stopped(stop) {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Err(e) = self.answer(exec, stream, Self::node_timeout(exec.config())) {
                        // A peer that sent garbage or vanished: its next
                        // message will do.
                        let _ = e;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5))
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// One peer's message in, our PONG out; a PUBLISH is delivered to
    /// this node's subscribers (after the state's lock is released).
    fn answer(&self, exec: &Executor, stream: TcpStream, node_timeout: u64) -> std::io::Result<()> {
        stream.set_nonblocking(false)?;
        let timeout = io_timeout(node_timeout);
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let msg = read_message(&stream)?;
        let local = stream.local_addr()?.ip();
        let reply = {
            let mut state = self.cluster.write();
            if self.learn_ip && msg.kind == Kind::Meet {
                learn_my_ip(&mut state, local);
            }
            state.receive(&msg, now_ms(), node_timeout);
            state.count_sent(Kind::Pong);
            state.message(Kind::Pong)
        };
        if let Some((channel, message)) = &msg.publish {
            // Publisher 0: no client of this node sent it.
            exec.pubsub().publish(
                0,
                &Bytes::copy_from_slice(channel),
                &Bytes::copy_from_slice(message),
            );
        }
        write_message(&stream, &reply)
    }

    /// Send each queued PUBLISH to every peer.
    fn send_publishes(&self, config: &Config, stop: &Receiver<()>) {
        while !stopped(stop) {
            let (channel, message) = match self.publishes.recv_timeout(TICK) {
                Ok(p) => p,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let node_timeout = Self::node_timeout(config);
            let (msg, peers) = {
                let mut state = self.cluster.write();
                let mut msg = state.message(Kind::Publish);
                msg.publish = Some((channel.to_vec(), message.to_vec()));
                let peers: Vec<String> = state
                    .nodes
                    .values()
                    .filter(|n| n.id != state.myself && !n.fail)
                    .map(|n| format!("{}:{}", n.ip, n.bus_port))
                    .collect();
                for _ in &peers {
                    state.count_sent(Kind::Publish);
                }
                (msg, peers)
            };
            for addr in peers {
                if let Ok((pong, _)) = send(&addr, &msg, io_timeout(node_timeout)) {
                    self.cluster.write().receive(&pong, now_ms(), node_timeout);
                }
            }
        }
    }

    fn cron(&self, exec: &Executor, stop: &Receiver<()>) {
        let config = exec.config();
        let mut last_ping: std::collections::BTreeMap<String, u64> = Default::default();
        let mut saved = self.cluster.read().version;
        while !stopped(stop) {
            thread::sleep(TICK);
            let node_timeout = Self::node_timeout(config);
            let meets = std::mem::take(&mut self.cluster.write().meets);
            for meet in meets {
                let addr = format!("{}:{}", meet.ip, meet.bus_port);
                self.exchange(&addr, None, Kind::Meet, node_timeout);
            }
            // Ping each peer a few times per node timeout, at most once a
            // tick and at least once a second.
            let interval = (node_timeout / 4).clamp(TICK.as_millis() as u64, 1000);
            let peers: Vec<(String, String)> = {
                let state = self.cluster.read();
                state
                    .nodes
                    .values()
                    .filter(|n| n.id != state.myself)
                    .map(|n| (n.id.clone(), format!("{}:{}", n.ip, n.bus_port)))
                    .collect()
            };
            let now = now_ms();
            for (id, addr) in peers {
                if now.saturating_sub(last_ping.get(&id).copied().unwrap_or(0)) < interval {
                    continue;
                }
                last_ping.insert(id.clone(), now);
                self.exchange(&addr, Some(&id), Kind::Ping, node_timeout);
            }
            last_ping.retain(|id, _| self.cluster.read().nodes.contains_key(id));
            let mut state = self.cluster.write();
            state.require_full_coverage =
                config.value(named("cluster-require-full-coverage")) == Value::Bool(true);
            state.tick(now_ms(), node_timeout);
            if state.version != saved {
                saved = state.version;
                let text = conf::save(&state);
                drop(state);
                self.conf.save(saved, &text, true);
                // Slots or failures changed: blocked pops re-check their
                // slot (and get MOVED or CLUSTERDOWN if it is gone).
                exec.blocking().changed_all();
            }
        }
        // Shutting down: what changed since the last tick is saved too.
        let state = self.cluster.read();
        if state.version != saved {
            let (version, text) = (state.version, conf::save(&state));
            drop(state);
            self.conf.save(version, &text, true);
        }
    }

    /// Send one message to `addr` and take in the PONG. `id`: the peer we
    /// think is there (its link is marked down on failure).
    fn exchange(&self, addr: &str, id: Option<&str>, kind: Kind, node_timeout: u64) {
        let msg = {
            let mut state = self.cluster.write();
            match id {
                Some(id) => state.ping_sent(id, kind, now_ms()),
                None => state.count_sent(kind),
            }
            state.message(kind)
        };
        match send(addr, &msg, io_timeout(node_timeout)) {
            Ok((pong, local)) if pong.kind == Kind::Pong => {
                let mut state = self.cluster.write();
                if self.learn_ip && kind == Kind::Meet {
                    learn_my_ip(&mut state, local);
                }
                state.receive(&pong, now_ms(), node_timeout)
            }
            _ => {
                if let Some(id) = id {
                    self.cluster.write().link_failed(id);
                }
            }
        }
    }
}

/// How long one bus exchange may take: a fraction of the node timeout,
/// so a stalled peer cannot hold the cron for long.
fn io_timeout(node_timeout: u64) -> Duration {
    Duration::from_millis((node_timeout / 2).clamp(100, 2000))
}

fn stopped(stop: &Receiver<()>) -> bool {
    matches!(stop.try_recv(), Err(TryRecvError::Disconnected))
}

/// This node's address as a peer sees it (the local end of a bus
/// connection), unless it is loopback's and we know better already.
fn learn_my_ip(state: &mut ClusterState, local: std::net::IpAddr) {
    let ip = local.to_string();
    if state.me().ip != ip {
        state.me_mut().ip = ip;
        state.version += 1;
    }
}

/// One exchange: our message out, the peer's answer in, and the local
/// address the connection used.
fn send(
    addr: &str,
    msg: &Message,
    timeout: Duration,
) -> std::io::Result<(Message, std::net::IpAddr)> {
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let _ = stream.set_nodelay(true);
    write_message(&stream, msg)?;
    let local = stream.local_addr()?.ip();
    Ok((read_message(&stream)?, local))
}

fn write_message(mut stream: &TcpStream, msg: &Message) -> std::io::Result<()> {
    let body = msg.encode();
    let mut framed = (body.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&body);
    stream.write_all(&framed)
}

fn read_message(mut stream: &TcpStream) -> std::io::Result<Message> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(std::io::Error::other("bus message too long"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Message::decode(&body).map_err(std::io::Error::other)
}
