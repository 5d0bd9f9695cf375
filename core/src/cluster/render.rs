//! What CLUSTER NODES, SLOTS, SHARDS and INFO show, in Redis 7.0's exact
//! layouts (`clusterGenNodeDescription`, `clusterReplyMultiBulkSlots`,
//! `addShardReplyForClusterShards`, `clusterGenClusterInfoString`):
//! `redis-cli --cluster` and the cluster-aware client libraries parse
//! these texts and arrays, so their shape is the protocol.

use std::fmt::Write;

use super::{ClusterState, Node};
use crate::frame::Frame;

/// A node's flags as CLUSTER NODES prints them (`myself,master`,
/// `master,fail?`). Every node here is a master.
pub fn flags(state: &ClusterState, node: &Node) -> String {
    let mut flags = Vec::new();
    if node.id == state.myself {
        flags.push("myself");
    }
    flags.push("master");
    if node.pfail {
        flags.push("fail?");
    }
    if node.fail {
        flags.push("fail");
    }
    flags.join(",")
}

/// One line of CLUSTER NODES (and of `nodes.conf`), without the newline:
/// `<id> <ip>:<port>@<cport> <flags> <master> <ping-sent> <pong-recv>
/// <config-epoch> <link-state> <slot> <slot> ...`; this node's own line
/// ends with its open slots, `[slot->-target]` and `[slot-<-source]`.
pub fn node_line(state: &ClusterState, node: &Node) -> String {
    let myself = node.id == state.myself;
    let mut line = format!(
        "{} {}:{}@{} {} - {} {} {} {}",
        node.id,
        node.ip,
        node.port,
        node.bus_port,
        flags(state, node),
        if myself { 0 } else { node.ping_sent_ms },
        if myself { 0 } else { node.pong_received_ms },
        node.config_epoch,
        if myself || node.connected {
            "connected"
        } else {
            "disconnected"
        },
    );
    for (start, end) in state.ranges_of(&node.id) {
        if start == end {
            let _ = write!(line, " {start}");
        } else {
            let _ = write!(line, " {start}-{end}");
        }
    }
    if myself {
        for (slot, to) in &state.migrating {
            let _ = write!(line, " [{slot}->-{to}]");
        }
        for (slot, from) in &state.importing {
            let _ = write!(line, " [{slot}-<-{from}]");
        }
    }
    line
}

/// CLUSTER NODES: one line per node, each ending in `\n`.
pub fn nodes(state: &ClusterState) -> String {
    let mut out = String::new();
    for node in state.nodes.values() {
        out.push_str(&node_line(state, node));
        out.push('\n');
    }
    out
}

/// One node in CLUSTER SLOTS: ip, port, id, and a map of its other
/// endpoints (none here).
fn slot_node(node: &Node) -> Frame {
    Frame::Array(vec![
        Frame::bulk(node.ip.as_bytes()),
        Frame::Integer(node.port as i64),
        Frame::bulk(node.id.as_bytes()),
        Frame::Map(Vec::new()),
    ])
}

/// CLUSTER SLOTS: `[start, end, [ip, port, id, {}]]` for each run of
/// consecutive slots with one owner, in slot order, as Redis 7.0 walks
/// them.
pub fn slots(state: &ClusterState) -> Frame {
    let mut out = Vec::new();
    let mut run: Option<(u16, &str)> = None;
    for slot in 0..=super::SLOTS as u16 {
        let owner = if (slot as usize) < super::SLOTS {
            state.owner(slot)
        } else {
            None
        };
        match run {
            Some((start, id)) if owner != Some(id) => {
                if let Some(node) = state.nodes.get(id) {
                    out.push(Frame::Array(vec![
                        Frame::Integer(start as i64),
                        Frame::Integer(slot as i64 - 1),
                        slot_node(node),
                    ]));
                }
                run = owner.map(|id| (slot, id));
            }
            None => run = owner.map(|id| (slot, id)),
            Some(_) => {}
        }
    }
    Frame::Array(out)
}

/// CLUSTER SHARDS: per master, `slots` (flat start, end pairs) and
/// `nodes` (each a map: id, port, ip, endpoint, role, replication-offset,
/// health), in Redis 7.0's field order.
pub fn shards(state: &ClusterState) -> Frame {
    let text = |s: &str| Frame::bulk(s.as_bytes());
    let shards = state
        .nodes
        .values()
        .map(|node| {
            let slots = state
                .ranges_of(&node.id)
                .into_iter()
                .flat_map(|(a, b)| [Frame::Integer(a as i64), Frame::Integer(b as i64)])
                .collect();
            let health = if node.fail { "failed" } else { "online" };
            let details = Frame::Map(vec![
                (text("id"), text(&node.id)),
                (text("port"), Frame::Integer(node.port as i64)),
                (text("ip"), text(&node.ip)),
                (text("endpoint"), text(&node.ip)),
                (text("role"), text("master")),
                (text("replication-offset"), Frame::Integer(0)),
                (text("health"), text(health)),
            ]);
            Frame::Map(vec![
                (text("slots"), Frame::Array(slots)),
                (text("nodes"), Frame::Array(vec![details])),
            ])
        })
        .collect();
    Frame::Array(shards)
}

/// CLUSTER INFO's text (`\r\n` line ends, as Redis).
pub fn info(state: &ClusterState) -> String {
    let (assigned, pfail, fail) = state.slot_health();
    let mut out = String::new();
    let _ = write!(
        out,
        "cluster_state:{}\r\n\
         cluster_slots_assigned:{assigned}\r\n\
         cluster_slots_ok:{}\r\n\
         cluster_slots_pfail:{pfail}\r\n\
         cluster_slots_fail:{fail}\r\n\
         cluster_known_nodes:{}\r\n\
         cluster_size:{}\r\n\
         cluster_current_epoch:{}\r\n\
         cluster_my_epoch:{}\r\n",
        if state.ok { "ok" } else { "fail" },
        assigned - pfail - fail,
        state.nodes.len(),
        state.size(),
        state.current_epoch,
        state.me().config_epoch,
    );
    for (direction, counts) in [
        ("sent", &state.stats.sent),
        ("received", &state.stats.received),
    ] {
        let mut total = 0;
        for (kind, n) in counts.iter().filter(|(_, n)| **n > 0) {
            total += n;
            let _ = write!(out, "cluster_stats_messages_{kind}_{direction}:{n}\r\n");
        }
        let _ = write!(out, "cluster_stats_messages_{direction}:{total}\r\n");
    }
    out.push_str("total_cluster_links_buffer_limit_exceeded:0\r\n");
    out
}
