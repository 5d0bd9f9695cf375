//! `nodes.conf`: the cluster state a node keeps on disk, in Redis's own
//! layout (`clusterSaveConfig` / `clusterLoadConfig`): one CLUSTER NODES
//! line per node, this node's flagged `myself` and ending with its open
//! slots, then `vars currentEpoch <n> lastVoteEpoch <n>`.
//!
//! This is the pure half: text in, state out, and back. The native shell
//! reads and writes the file (`native/src/cluster/`). A malformed file is
//! an error naming its line, never a panic (the `nodes_conf` fuzz target
//! holds the parser to that).

use super::{render, valid_node_id, ClusterState, Node, SLOTS};

/// The file's text for `state`.
pub fn save(state: &ClusterState) -> String {
    let mut out = render::nodes(state);
    out.push_str(&format!(
        "vars currentEpoch {} lastVoteEpoch {}\n",
        state.current_epoch, state.last_vote_epoch
    ));
    out
}

/// A `nodes.conf` that cannot be loaded: the line (1-based) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfError {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for ConfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "nodes.conf line {}: {}", self.line, self.reason)
    }
}

/// Load a `nodes.conf`. Every node comes back disconnected and without
/// failure marks (the bus finds out again), except a `fail` flag, kept as
/// Redis keeps it until the node is heard from.
pub fn load(text: &str) -> Result<ClusterState, ConfError> {
    let mut myself: Option<Node> = None;
    let mut others: Vec<Node> = Vec::new();
    let mut claims: Vec<(String, u16, u16)> = Vec::new();
    let mut open: Vec<(u16, bool, String)> = Vec::new();
    let mut epochs = (0u64, 0u64);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let err = |reason: String| ConfError { line: n, reason };
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if words[0] == "vars" {
            let mut rest = words[1..].chunks(2);
            for pair in &mut rest {
                let [name, value] = pair else {
                    return Err(err("vars without a value".into()));
                };
                let value: u64 = value
                    .parse()
                    .map_err(|_| err(format!("{name} is not a number: {value}")))?;
                match *name {
                    "currentEpoch" => epochs.0 = value,
                    "lastVoteEpoch" => epochs.1 = value,
                    _ => return Err(err(format!("unknown variable {name}"))),
                }
            }
            continue;
        }
        if words.len() < 8 {
            return Err(err(format!(
                "{} fields, a node line has at least 8",
                words.len()
            )));
        }
        let id = words[0];
        if !valid_node_id(id) {
            return Err(err(format!("{id:?} is not a node ID (40 hex digits)")));
        }
        let (ip, port, bus_port) =
            parse_address(words[1]).ok_or_else(|| err(format!("bad address {}", words[1])))?;
        let mut node = Node::new(id.to_ascii_lowercase(), ip, port, bus_port);
        let mut is_myself = false;
        for flag in words[2].split(',') {
            match flag {
                "myself" => is_myself = true,
                "master" | "noflags" | "nofailover" | "noaddr" | "handshake" => {}
                "fail?" => {}
                "fail" => node.fail = true,
                "slave" => return Err(err("replicas are not supported".into())),
                other => return Err(err(format!("unknown flag {other}"))),
            }
        }
        node.config_epoch = words[6]
            .parse()
            .map_err(|_| err(format!("bad config epoch {}", words[6])))?;
        for word in &words[8..] {
            if let Some(inner) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                let (slot, importing, other) = if let Some((s, o)) = inner.split_once("->-") {
                    (s, false, o)
                } else if let Some((s, o)) = inner.split_once("-<-") {
                    (s, true, o)
                } else {
                    return Err(err(format!("bad open slot {word}")));
                };
                let slot = parse_slot(slot).ok_or_else(|| err(format!("bad slot in {word}")))?;
                if !valid_node_id(other) {
                    return Err(err(format!("bad node ID in {word}")));
                }
                if !is_myself {
                    return Err(err("open slots on a line that is not myself".into()));
                }
                open.push((slot, importing, other.to_ascii_lowercase()));
                continue;
            }
            let (a, b) = match word.split_once('-') {
                Some((a, b)) => (a, b),
                None => (*word, *word),
            };
            let (a, b) = parse_slot(a)
                .zip(parse_slot(b))
                .filter(|(a, b)| a <= b)
                .ok_or_else(|| err(format!("bad slot range {word}")))?;
            claims.push((node.id.clone(), a, b));
        }
        if is_myself {
            if myself.is_some() {
                return Err(err("a second myself line".into()));
            }
            myself = Some(node);
        } else {
            others.push(node);
        }
    }
    let myself = myself.ok_or(ConfError {
        line: 0,
        reason: "no line is flagged myself".into(),
    })?;
    let mut state = ClusterState::new(myself);
    for node in others {
        if state.nodes.contains_key(&node.id) {
            return Err(ConfError {
                line: 0,
                reason: format!("node {} is listed twice", node.id),
            });
        }
        state.nodes.insert(node.id.clone(), node);
    }
    for (id, a, b) in claims {
        for slot in a..=b {
            state.assign(slot, Some(&id));
        }
    }
    for (slot, importing, other) in open {
        if importing {
            state.importing.insert(slot, other);
        } else {
            state.migrating.insert(slot, other);
        }
    }
    (state.current_epoch, state.last_vote_epoch) = epochs;
    state.version = 0;
    Ok(state)
}

fn parse_slot(s: &str) -> Option<u16> {
    let n: u16 = s.parse().ok()?;
    ((n as usize) < SLOTS && s.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// `ip:port@cport[,hostname]` (an IPv6 address has colons of its own: the
/// port follows the last one).
pub fn parse_address(s: &str) -> Option<(String, u16, u16)> {
    let s = s.split(',').next()?;
    let (addr, bus) = s.split_once('@')?;
    let (ip, port) = addr.rsplit_once(':')?;
    Some((ip.to_string(), port.parse().ok()?, bus.parse().ok()?))
}
