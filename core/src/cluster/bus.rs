//! The cluster bus's messages and what a node makes of them.
//!
//! Redis's bus speaks a binary protocol (`clusterMsg`); this server's
//! nodes only talk to each other, so they use a simpler text one that
//! carries the same facts. Each message is one UTF-8 text (the native
//! shell frames it with a 4-byte big-endian length):
//!
//! ```text
//! myongoredis-bus 1 ping|pong|meet
//! sender <id> <ip> <port> <bus-port> <config-epoch> <current-epoch>
//! slots <start>-<end> <slot> ...          the sender's slots
//! node <id> <ip> <port> <bus-port> ok|pfail|fail    one per known node (gossip)
//! ```
//!
//! A node pings every other node a few times a node timeout; the pinged
//! node answers `pong` with its own view. `meet` is CLUSTER MEET's first
//! message to a node that does not know us. `publish` carries a PUBLISH
//! to every other node (Redis Cluster's pub/sub is cluster-wide), as a
//! line `publish <channel hex> <message hex>` after the slots. From each message the
//! receiver learns (Redis's `clusterProcessPacket`): the sender is alive;
//! its epochs; its slots (a claim with a greater config epoch than the
//! current owner's wins, which is how a slot move or a reshard spreads);
//! the nodes it knows (new ones are added, so meeting one node of a
//! cluster introduces all of them); and which nodes it cannot reach
//! (failure reports: a node PFAIL for us and reported by a majority of
//! the masters becomes FAIL).
//!
//! [`Message::decode`] never trusts its input: any malformed text is an
//! error, never a panic (the `cluster_bus` fuzz target checks that).

use std::fmt::Write;

use super::{valid_node_id, ClusterState, Node, SLOTS};

/// The first word of every message, and the version after it.
const MAGIC: &str = "myongoredis-bus";
const VERSION: &str = "1";

/// More gossip entries than this in one message is not a real cluster.
const MAX_GOSSIP: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ping,
    Pong,
    Meet,
    Publish,
}

impl Kind {
    /// The name, as CLUSTER INFO's `cluster_stats_messages_<kind>_sent`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ping => "ping",
            Kind::Pong => "pong",
            Kind::Meet => "meet",
            Kind::Publish => "publish",
        }
    }
}

/// What a node reports about another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    Pfail,
    Fail,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gossip {
    pub id: String,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    pub health: Health,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    pub id: String,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    pub config_epoch: u64,
    pub current_epoch: u64,
    /// The sender's slots, as inclusive ranges.
    pub slots: Vec<(u16, u16)>,
    pub gossip: Vec<Gossip>,
    /// A `publish` message's channel and message.
    pub publish: Option<(Vec<u8>, Vec<u8>)>,
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "{MAGIC} {VERSION} {}\nsender {} {} {} {} {} {}\nslots",
            self.kind.name(),
            self.id,
            self.ip,
            self.port,
            self.bus_port,
            self.config_epoch,
            self.current_epoch
        );
        for (a, b) in &self.slots {
            let _ = write!(out, " {a}-{b}");
        }
        out.push('\n');
        if let Some((channel, message)) = &self.publish {
            let text = |b: &[u8]| {
                if b.is_empty() {
                    "-".to_string()
                } else {
                    hex(b)
                }
            };
            let _ = writeln!(out, "publish {} {}", text(channel), text(message));
        }
        for g in &self.gossip {
            let health = match g.health {
                Health::Ok => "ok",
                Health::Pfail => "pfail",
                Health::Fail => "fail",
            };
            let _ = writeln!(
                out,
                "node {} {} {} {} {health}",
                g.id, g.ip, g.port, g.bus_port
            );
        }
        out.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
        let kind = match head.as_slice() {
            [MAGIC, VERSION, "ping"] => Kind::Ping,
            [MAGIC, VERSION, "pong"] => Kind::Pong,
            [MAGIC, VERSION, "meet"] => Kind::Meet,
            [MAGIC, VERSION, "publish"] => Kind::Publish,
            _ => return Err("not a myongoredis-bus 1 message".into()),
        };
        let sender: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
        let ["sender", id, ip, port, bus_port, config_epoch, current_epoch] = sender.as_slice()
        else {
            return Err("bad sender line".into());
        };
        let id = node_id(id)?;
        let slots_line = lines.next().unwrap_or("");
        let mut words = slots_line.split(' ');
        if words.next() != Some("slots") {
            return Err("bad slots line".into());
        }
        let mut slots = Vec::new();
        for word in words.filter(|w| !w.is_empty()) {
            let (a, b) = word.split_once('-').ok_or("bad slot range")?;
            let (a, b) = (slot(a)?, slot(b)?);
            if a > b || slots.len() >= SLOTS {
                return Err("bad slot range".into());
            }
            slots.push((a, b));
        }
        let mut gossip = Vec::new();
        let mut publish = None;
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            if let ["publish", channel, message] = words.as_slice() {
                if publish.is_some() || !gossip.is_empty() || kind != Kind::Publish {
                    return Err("misplaced publish line".into());
                }
                publish = Some((unhex(channel)?, unhex(message)?));
                continue;
            }
            let ["node", id, ip, port, bus_port, health] = words.as_slice() else {
                return Err("bad node line".into());
            };
            if gossip.len() >= MAX_GOSSIP {
                return Err("too many node lines".into());
            }
            gossip.push(Gossip {
                id: node_id(id)?,
                ip: address(ip)?,
                port: number(port)?,
                bus_port: number(bus_port)?,
                health: match *health {
                    "ok" => Health::Ok,
                    "pfail" => Health::Pfail,
                    "fail" => Health::Fail,
                    _ => return Err("bad health".into()),
                },
            });
        }
        Ok(Message {
            kind,
            id,
            ip: address(ip)?,
            port: number(port)?,
            bus_port: number(bus_port)?,
            config_epoch: number(config_epoch)?,
            current_epoch: number(current_epoch)?,
            slots,
            gossip,
            publish: match (kind, publish) {
                (Kind::Publish, None) => return Err("a publish message without its line".into()),
                (_, publish) => publish,
            },
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    // `-` stands for the empty string, which has no hex digits to show.
    if s == "-" {
        return Ok(Vec::new());
    }
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("bad hex".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

fn node_id(s: &str) -> Result<String, String> {
    if valid_node_id(s) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err("bad node ID".into())
    }
}

fn address(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("bad address".into());
    }
    Ok(s.to_string())
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad number {s:?}"));
    }
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

fn slot(s: &str) -> Result<u16, String> {
    let n: u16 = number(s)?;
    if (n as usize) < SLOTS {
        Ok(n)
    } else {
        Err("slot out of range".into())
    }
}

impl ClusterState {
    /// The message this node sends: its identity, slots and view of the
    /// others.
    pub fn message(&self, kind: Kind) -> Message {
        let me = self.me();
        Message {
            kind,
            id: me.id.clone(),
            ip: me.ip.clone(),
            port: me.port,
            bus_port: me.bus_port,
            config_epoch: me.config_epoch,
            current_epoch: self.current_epoch,
            slots: self.ranges_of(&me.id),
            gossip: self
                .nodes
                .values()
                .filter(|n| n.id != self.myself)
                .map(|n| Gossip {
                    id: n.id.clone(),
                    ip: n.ip.clone(),
                    port: n.port,
                    bus_port: n.bus_port,
                    health: if n.fail {
                        Health::Fail
                    } else if n.pfail {
                        Health::Pfail
                    } else {
                        Health::Ok
                    },
                })
                .collect(),
            publish: None,
        }
    }

    /// Take in a message from a peer (see the module comment).
    pub fn receive(&mut self, msg: &Message, now_ms: u64, node_timeout: u64) {
        *self.stats.received.entry(msg.kind.name()).or_default() += 1;
        if msg.id == self.myself {
            return;
        }
        if !self.nodes.contains_key(&msg.id) {
            let node = Node::new(msg.id.clone(), msg.ip.clone(), msg.port, msg.bus_port);
            if !self.learn(node, now_ms) {
                return;
            }
        }
        if msg.current_epoch > self.current_epoch {
            self.current_epoch = msg.current_epoch;
            self.version += 1;
        }
        let sender = self.nodes.get_mut(&msg.id).expect("known or just learned");
        if (sender.ip.as_str(), sender.port, sender.bus_port)
            != (msg.ip.as_str(), msg.port, msg.bus_port)
        {
            sender.ip = msg.ip.clone();
            sender.port = msg.port;
            sender.bus_port = msg.bus_port;
            self.version += 1;
        }
        let sender = self.nodes.get_mut(&msg.id).expect("known");
        sender.pong_received_ms = now_ms;
        if msg.kind == Kind::Pong {
            sender.ping_sent_ms = 0;
            sender.connected = true;
        }
        sender.pfail = false;
        if sender.fail {
            sender.fail = false;
            self.version += 1;
        }
        if sender.config_epoch != msg.config_epoch {
            sender.config_epoch = msg.config_epoch;
            self.version += 1;
        }
        self.take_slot_claims(msg);
        self.resolve_epoch_collision(msg);
        for g in &msg.gossip {
            if g.id == self.myself {
                continue;
            }
            if !self.nodes.contains_key(&g.id) {
                self.learn(
                    Node::new(g.id.clone(), g.ip.clone(), g.port, g.bus_port),
                    now_ms,
                );
                continue;
            }
            let node = self.nodes.get_mut(&g.id).expect("known");
            match g.health {
                Health::Ok => {
                    node.fail_reports.remove(&msg.id);
                }
                Health::Pfail | Health::Fail => {
                    node.fail_reports.insert(msg.id.clone(), now_ms);
                }
            }
            // A FAIL the sender decided spreads, unless we heard from the
            // node ourselves within the node timeout (then it is back, and
            // the stale verdict must not flap it down again).
            let silent = now_ms.saturating_sub(node.pong_received_ms) > node_timeout;
            if g.health == Health::Fail && !node.fail && silent {
                node.fail = true;
                node.pfail = false;
                node.fail_time_ms = now_ms;
                self.version += 1;
            }
        }
        self.check_failures(now_ms, node_timeout);
        self.update_state();
    }

    /// The sender's slots: each claim with a config epoch above the
    /// current owner's wins (Redis's `clusterUpdateSlotsConfigWith`),
    /// except for a slot this node is importing, which stays as it is
    /// until the move is committed with SETSLOT NODE.
    fn take_slot_claims(&mut self, msg: &Message) {
        for &(a, b) in &msg.slots {
            for slot in a..=b {
                if self.importing.contains_key(&slot) {
                    continue;
                }
                let owner = self.owner(slot);
                if owner == Some(msg.id.as_str()) {
                    continue;
                }
                let beaten = match owner.and_then(|id| self.nodes.get(id)) {
                    None => true,
                    Some(current) => current.config_epoch < msg.config_epoch,
                };
                if beaten {
                    self.assign(slot, Some(&msg.id));
                }
            }
        }
    }

    /// Two masters with one config epoch: the one with the greater ID
    /// keeps it, the other takes a new one (Redis's
    /// `clusterHandleConfigEpochCollision`), so every master ends with
    /// an epoch of its own and slot conflicts always have a winner.
    fn resolve_epoch_collision(&mut self, msg: &Message) {
        let mine = self.me().config_epoch;
        if msg.config_epoch == mine && msg.id > self.myself {
            self.current_epoch += 1;
            let epoch = self.current_epoch;
            self.me_mut().config_epoch = epoch;
            self.version += 1;
        }
    }

    /// The bus's periodic check (Redis's `clusterCron` part): a node that
    /// left our ping unanswered for the node timeout is PFAIL; then
    /// failure reports may turn it FAIL; then the cluster state.
    pub fn tick(&mut self, now_ms: u64, node_timeout: u64) {
        let myself = self.myself.clone();
        for node in self.nodes.values_mut().filter(|n| n.id != myself) {
            let waited = now_ms.saturating_sub(node.ping_sent_ms);
            if node.ping_sent_ms != 0 && waited > node_timeout && !node.pfail && !node.fail {
                node.pfail = true;
            }
        }
        self.check_failures(now_ms, node_timeout);
        self.update_state();
    }

    /// A PFAIL node that a majority of the slot-serving masters cannot
    /// reach (its reports, plus us) becomes FAIL (Redis's
    /// `markNodeAsFailingIfNeeded`).
    fn check_failures(&mut self, now_ms: u64, node_timeout: u64) {
        let needed = self.size() / 2 + 1;
        let suspects: Vec<String> = self
            .nodes
            .values()
            .filter(|n| n.pfail && !n.fail)
            .map(|n| n.id.clone())
            .collect();
        for id in suspects {
            let reports = self.failure_reports(&id, now_ms, node_timeout);
            if reports + 1 >= needed {
                let node = self.nodes.get_mut(&id).expect("a suspect is known");
                node.pfail = false;
                node.fail = true;
                node.fail_time_ms = now_ms;
                self.version += 1;
            }
        }
    }

    /// Our ping to `id` could not be delivered or was not answered.
    pub fn link_failed(&mut self, id: &str) {
        if let Some(node) = self.nodes.get_mut(id) {
            node.connected = false;
        }
    }

    /// We are about to ping `id`: an unanswered ping's clock starts once.
    pub fn ping_sent(&mut self, id: &str, kind: Kind, now_ms: u64) {
        *self.stats.sent.entry(kind.name()).or_default() += 1;
        if let Some(node) = self.nodes.get_mut(id) {
            if node.ping_sent_ms == 0 {
                node.ping_sent_ms = now_ms;
            }
        }
    }
}

impl ClusterState {
    /// Count a message this node sent without pinging (a PONG answer).
    pub fn count_sent(&mut self, kind: Kind) {
        *self.stats.sent.entry(kind.name()).or_default() += 1;
    }
}
