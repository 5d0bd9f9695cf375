//! Redis Cluster's slot protocol: who serves which of the 16384 hash
//! slots, and what a node answers about it.
//!
//! This module is the cluster's *state*, pure data as Redis's
//! `clusterState` is: the known nodes, the slot table, slots being moved
//! (MIGRATING here, IMPORTING there), epochs and failure reports. Every
//! change arrives as a call with the time it happened (`now_ms`): from a
//! CLUSTER command, or from the native shell's cluster bus handing over a
//! peer's message ([`bus`]). Nothing here opens a socket, reads a clock or
//! draws a random number: node IDs are random, so the shell makes them
//! (see [`ClusterShell`]), and the bus and `nodes.conf` file live in
//! `native/src/cluster/`.
//!
//! Reading order: [`slot`] (a key's slot), this file (the state and its
//! changes), `shared.rs` (the state shared by every connection, and the
//! copies routing reads), [`route`] (MOVED / ASK / CROSSSLOT for a command),
//! [`render`] (CLUSTER NODES / SLOTS / SHARDS / INFO), [`conf`]
//! (`nodes.conf`), [`bus`] (the gossip the nodes exchange).
//!
//! Out of scope: replicas and failover. Every node is a master; a node
//! that stops answering is marked failing (PFAIL, then FAIL once a majority
//! of masters agree), and the cluster goes down while its slots are not
//! served, as Redis does without replicas.

pub mod bus;
pub mod conf;
pub mod render;
pub mod route;
mod shared;
pub mod slot;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

pub use shared::{Cluster, ClusterView, StateWrite};
pub use slot::{key_slot, SLOTS};

/// Redis's `CLUSTER_FAIL_REPORT_VALIDITY_MULT`: a failure report older
/// than this many node timeouts is forgotten.
pub const FAIL_REPORT_VALIDITY_MULT: u64 = 2;

/// How long a FORGET keeps a node from being re-added by gossip
/// (Redis's `CLUSTER_BLACKLIST_TTL`, 60 seconds).
pub const BLACKLIST_TTL_MS: u64 = 60_000;

/// What the shell around the cluster state does for it: the things that
/// need randomness or the network.
pub trait ClusterShell: Send + Sync {
    /// A fresh random node ID (40 lowercase hex characters), for CLUSTER
    /// RESET HARD.
    fn fresh_node_id(&self) -> String;

    /// MIGRATE's transfer: connect to `target`, authenticate, select the
    /// database, send every command of `commands` (RESTORE-ASKING ...)
    /// and read one reply each. `Err` is a connection failure (the text
    /// is MIGRATE's `-IOERR ...` reply without the `-`); otherwise one
    /// result per command, `Err(text)` for an error reply.
    fn migrate(
        &self,
        target: &MigrateTarget,
        commands: &[Vec<Bytes>],
    ) -> Result<Vec<Result<(), String>>, String>;

    /// A PUBLISH on this node, to be delivered on every other node too
    /// (in Redis Cluster a channel's subscribers may be on any node). The
    /// shell sends it over the bus; it must not block the publisher.
    fn publish(&self, channel: &Bytes, message: &Bytes);

    /// A command changed the configuration (`text`, `nodes.conf` as of
    /// state `version`): persist it before the command replies, as Redis
    /// saves `nodes.conf` before answering a CLUSTER SETSLOT or ADDSLOTS,
    /// so a node killed right after a reshard comes back with the slots
    /// it acknowledged. A text older than one already saved is dropped.
    fn save_config(&self, version: u64, text: &str) {
        let _ = (version, text);
    }
}

/// Where MIGRATE sends its keys.
#[derive(Clone, Debug)]
pub struct MigrateTarget {
    pub host: String,
    pub port: u16,
    pub db: u32,
    pub timeout_ms: u64,
    /// `AUTH password` or `AUTH2 username password`.
    pub auth: Option<(Option<Bytes>, Bytes)>,
}

/// One node as this node knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// 40 hex characters.
    pub id: String,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    /// The epoch of its slot claims: the higher one wins a conflict.
    pub config_epoch: u64,
    /// When we sent the ping still unanswered (0: none outstanding).
    pub ping_sent_ms: u64,
    /// When it last answered us.
    pub pong_received_ms: u64,
    /// Our bus link to it worked the last time we used it.
    pub connected: bool,
    /// We could not reach it within the node timeout (`fail?`).
    pub pfail: bool,
    /// A majority of masters could not reach it (`fail`).
    pub fail: bool,
    pub fail_time_ms: u64,
    /// Which masters told us they cannot reach it, and when.
    pub fail_reports: BTreeMap<String, u64>,
}

impl Node {
    pub fn new(id: String, ip: String, port: u16, bus_port: u16) -> Node {
        Node {
            id,
            ip,
            port,
            bus_port,
            config_epoch: 0,
            ping_sent_ms: 0,
            pong_received_ms: 0,
            connected: false,
            pfail: false,
            fail: false,
            fail_time_ms: 0,
            fail_reports: BTreeMap::new(),
        }
    }
}

/// A CLUSTER MEET not yet carried out by the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meet {
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
}

/// Bus message counters (CLUSTER INFO's `cluster_stats_messages_*`), by
/// Redis's message type names.
#[derive(Clone, Debug, Default)]
pub struct MessageStats {
    pub sent: BTreeMap<&'static str, u64>,
    pub received: BTreeMap<&'static str, u64>,
}

/// Redis's `clusterState` (without replication).
#[derive(Clone, Debug)]
pub struct ClusterState {
    /// This node's ID.
    pub myself: String,
    /// Every known node, myself included, by ID (a fixed order: CLUSTER
    /// NODES lists them so).
    pub nodes: BTreeMap<String, Node>,
    /// The owner of each slot: 0 for none, else 1 + its index in
    /// `owner_ids`. Small integers rather than IDs, so that copying the
    /// state for routing (see [`Cluster`]) is one 32 KB copy.
    slots: Vec<u16>,
    /// The IDs slots were ever given to, interned (append-only: a few
    /// per node that ever served a slot).
    owner_ids: Vec<Arc<str>>,
    /// Slots this node is handing over: slot → the target's ID.
    pub migrating: BTreeMap<u16, String>,
    /// Slots this node is receiving: slot → the source's ID.
    pub importing: BTreeMap<u16, String>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    /// Forgotten nodes and until when gossip may not bring them back.
    pub blacklist: BTreeMap<String, u64>,
    /// MEETs for the bus to carry out.
    pub meets: Vec<Meet>,
    /// Is the cluster up (`cluster_state:ok`)?
    pub ok: bool,
    /// `cluster-require-full-coverage`, as the shell last told us.
    pub require_full_coverage: bool,
    /// Bumped on every change that routing or `nodes.conf` depends on
    /// (slots, open slots, nodes and their addresses, epochs, failure
    /// flags, `ok`): routing's copy is republished and the shell rewrites
    /// `nodes.conf` when it moves. A change that does not bump it is not
    /// seen by routing.
    pub version: u64,
    pub stats: MessageStats,
}

impl ClusterState {
    /// A node alone in its own cluster, owning nothing.
    pub fn new(myself: Node) -> ClusterState {
        let mut nodes = BTreeMap::new();
        let id = myself.id.clone();
        nodes.insert(id.clone(), myself);
        ClusterState {
            myself: id,
            nodes,
            slots: vec![0; SLOTS],
            owner_ids: Vec::new(),
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            blacklist: BTreeMap::new(),
            meets: Vec::new(),
            ok: false,
            require_full_coverage: true,
            version: 0,
            stats: MessageStats::default(),
        }
    }

    pub fn me(&self) -> &Node {
        // Invariant: `myself` is always a key of `nodes` (no operation
        // removes it; RESET HARD renames it in place).
        &self.nodes[&self.myself]
    }

    pub fn me_mut(&mut self) -> &mut Node {
        self.nodes
            .get_mut(&self.myself)
            .expect("myself is always among the nodes")
    }

    /// The ID of the node serving `slot`.
    pub fn owner(&self, slot: u16) -> Option<&str> {
        self.id_at(self.slots[slot as usize])
    }

    /// The node serving `slot`.
    pub fn owner_node(&self, slot: u16) -> Option<&Node> {
        self.owner(slot).and_then(|id| self.nodes.get(id))
    }

    pub fn is_mine(&self, slot: u16) -> bool {
        self.owner(slot) == Some(self.myself.as_str())
    }

    /// Give `slot` to `id` (`None`: unassign it).
    pub fn assign(&mut self, slot: u16, id: Option<&str>) {
        self.slots[slot as usize] = match id {
            None => 0,
            Some(id) => self.intern(id),
        };
        self.version += 1;
    }

    /// The slots of `id` as inclusive ranges, ascending.
    pub fn ranges_of(&self, id: &str) -> Vec<(u16, u16)> {
        let mut ranges: Vec<(u16, u16)> = Vec::new();
        let Some(entry) = self.entry_of(id) else {
            return ranges;
        };
        for slot in 0..SLOTS as u16 {
            if self.slots[slot as usize] != entry {
                continue;
            }
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == slot => *end = slot,
                _ => ranges.push((slot, slot)),
            }
        }
        ranges
    }

    /// The ID behind a slot-table entry.
    fn id_at(&self, entry: u16) -> Option<&str> {
        (entry != 0).then(|| &*self.owner_ids[entry as usize - 1])
    }

    /// The slot-table entry of `id`, interning it on first use.
    fn intern(&mut self, id: &str) -> u16 {
        match self.owner_ids.iter().position(|i| &**i == id) {
            Some(i) => i as u16 + 1,
            None => {
                self.owner_ids.push(Arc::from(id));
                self.owner_ids.len() as u16
            }
        }
    }

    /// The slot-table entry of `id`, if it was ever given a slot.
    fn entry_of(&self, id: &str) -> Option<u16> {
        self.owner_ids
            .iter()
            .position(|i| &**i == id)
            .map(|i| i as u16 + 1)
    }

    pub fn slot_count(&self, id: &str) -> usize {
        match self.entry_of(id) {
            None => 0,
            Some(entry) => self.slots.iter().filter(|&&s| s == entry).count(),
        }
    }

    /// The nodes serving at least one slot, each once (one pass over small
    /// integers: this runs after every CLUSTER command and bus message).
    fn owners(&self) -> Vec<&str> {
        let mut seen = vec![false; self.owner_ids.len() + 1];
        for &entry in &self.slots {
            seen[entry as usize] = true;
        }
        (1..seen.len())
            .filter(|&e| seen[e])
            .map(|e| &*self.owner_ids[e - 1])
            .collect()
    }

    /// Masters serving at least one slot (Redis's `cluster_size`).
    pub fn size(&self) -> usize {
        self.owners().len()
    }

    /// Add a node learned from MEET or gossip, unless it is known or
    /// forgotten a moment ago. Returns whether it was added.
    pub fn learn(&mut self, node: Node, now_ms: u64) -> bool {
        if self.nodes.contains_key(&node.id) || !valid_node_id(&node.id) {
            return false;
        }
        if self
            .blacklist
            .get(&node.id)
            .is_some_and(|&until| until > now_ms)
        {
            return false;
        }
        self.nodes.insert(node.id.clone(), node);
        self.version += 1;
        true
    }

    /// CLUSTER FORGET: drop the node and keep gossip from bringing it
    /// back for a minute. Its slots become unassigned, as in Redis
    /// (`clusterDelNode`).
    pub fn forget(&mut self, id: &str, now_ms: u64) {
        self.blacklist.retain(|_, until| *until > now_ms);
        self.blacklist
            .insert(id.to_string(), now_ms + BLACKLIST_TTL_MS);
        self.remove_node(id);
    }

    fn remove_node(&mut self, id: &str) {
        if let Some(entry) = self.entry_of(id) {
            for owner in self.slots.iter_mut().filter(|s| **s == entry) {
                *owner = 0;
            }
        }
        self.migrating.retain(|_, to| to != id);
        self.importing.retain(|_, from| from != id);
        for node in self.nodes.values_mut() {
            node.fail_reports.remove(id);
        }
        self.nodes.remove(id);
        self.version += 1;
    }

    /// CLUSTER RESET: forget every other node and every slot; a hard
    /// reset also takes a new ID and sets the epochs back to 0.
    pub fn reset(&mut self, hard: Option<String>) {
        let others: Vec<String> = self
            .nodes
            .keys()
            .filter(|id| **id != self.myself)
            .cloned()
            .collect();
        for id in others {
            self.remove_node(&id);
        }
        self.slots.iter_mut().for_each(|s| *s = 0);
        self.migrating.clear();
        self.importing.clear();
        self.meets.clear();
        if let Some(new_id) = hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            let mut me = self.nodes.remove(&self.myself).expect("myself is known");
            me.id = new_id.clone();
            me.config_epoch = 0;
            self.nodes.insert(new_id.clone(), me);
            self.myself = new_id;
        }
        self.version += 1;
    }

    /// Take a new config epoch without asking the cluster (Redis's
    /// `clusterBumpConfigEpochWithoutConsensus`), as the target of a slot
    /// move does so that its claim beats the old owner's.
    pub fn bump_epoch(&mut self) -> bool {
        let max_epoch = self
            .nodes
            .values()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch);
        let mine = self.me().config_epoch;
        if mine == 0 || mine != max_epoch {
            self.current_epoch += 1;
            let epoch = self.current_epoch;
            self.me_mut().config_epoch = epoch;
            self.version += 1;
            true
        } else {
            false
        }
    }

    /// Recompute `cluster_state` (Redis's `clusterUpdateState`): down when
    /// a slot is unassigned or served by a failed node (with
    /// `cluster-require-full-coverage yes`), or when this node cannot
    /// reach a majority of the masters that serve slots.
    pub fn update_state(&mut self) {
        let owners = self.owners();
        let mut ok = true;
        if self.require_full_coverage {
            let failed = owners
                .iter()
                .any(|id| self.nodes.get(*id).is_none_or(|n| n.fail));
            ok = !failed && self.slots.iter().all(|&s| s != 0);
        }
        let size = owners.len();
        let reachable = owners
            .iter()
            .filter(|id| self.nodes.get(**id).is_some_and(|n| !n.pfail && !n.fail))
            .count();
        if size > 0 && reachable < size / 2 + 1 {
            ok = false;
        }
        if self.ok != ok {
            self.ok = ok;
            self.version += 1;
        }
    }

    /// Slots assigned, and those whose owner is PFAIL or FAIL.
    pub fn slot_health(&self) -> (usize, usize, usize) {
        let (mut assigned, mut pfail, mut fail) = (0, 0, 0);
        for owner in self.owners() {
            let count = self.slot_count(owner);
            assigned += count;
            match self.nodes.get(owner) {
                Some(n) if n.fail => fail += count,
                Some(n) if n.pfail => pfail += count,
                _ => {}
            }
        }
        (assigned, pfail, fail)
    }

    /// Valid failure reports about `id` (older ones are dropped).
    pub fn failure_reports(&mut self, id: &str, now_ms: u64, node_timeout: u64) -> usize {
        let max_age = node_timeout * FAIL_REPORT_VALIDITY_MULT;
        let Some(node) = self.nodes.get_mut(id) else {
            return 0;
        };
        node.fail_reports
            .retain(|_, at| now_ms.saturating_sub(*at) <= max_age);
        node.fail_reports.len()
    }
}

/// A node ID is 40 hex digits (Redis's `CLUSTER_NAMELEN`, lowercase as it
/// makes them; any case accepted).
pub fn valid_node_id(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests;
