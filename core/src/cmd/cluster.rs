//! CLUSTER and the per-connection cluster commands (ASKING, READONLY,
//! READWRITE), as Redis 7.0's `clusterCommand` answers them, error texts
//! included. The state they read and change is [`crate::cluster`]; the bus
//! that spreads the changes to the other nodes is the native shell's.
//!
//! Without `cluster-enabled yes` every one of them answers "This instance
//! has cluster support disabled", as in Redis.

use bytes::Bytes;

use super::{int_arg, is_keyword, spec, subcommand, Sub, NO_KEYS};
use crate::cluster::{conf, key_slot, render, ClusterState, Meet};
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("cluster", -2, NO_KEYS_FLAGS, NO_KEYS, "cluster", "A container for Redis Cluster commands", "3.0.0", Handler::Server(cluster)),
    spec("asking", 1, FAST, NO_KEYS, "cluster", "Sent by cluster clients after an -ASK redirect", "3.0.0", Handler::Server(asking)),
    spec("readonly", 1, LOADING | STALE | FAST, NO_KEYS, "cluster", "Enables read-only queries for a connection to a Redis Cluster replica node.", "3.0.0", Handler::Server(readonly)),
    spec("readwrite", 1, LOADING | STALE | FAST, NO_KEYS, "cluster", "Enables read-write queries for a connection to a Reids Cluster replica node.", "3.0.0", Handler::Server(readwrite)),
];

/// CLUSTER's own row takes its locks itself (COUNTKEYSINSLOT and
/// GETKEYSINSLOT read the keyspace one lock at a time).
const NO_KEYS_FLAGS: u32 = OWN_LOCKS;

/// Redis's reply to any cluster command on a standalone server.
pub const DISABLED: &str = "ERR This instance has cluster support disabled";

mod slots;

use slots::{
    addslots, addslotsrange, countkeysinslot, delslots, delslotsrange, flushslots, getkeysinslot,
    setslot,
};

const SUBS: &[Sub] = &[
    ("addslots", -3, addslots),
    ("addslotsrange", -4, addslotsrange),
    ("bumpepoch", 2, bumpepoch),
    ("count-failure-reports", 3, count_failure_reports),
    ("countkeysinslot", 3, countkeysinslot),
    ("delslots", -3, delslots),
    ("delslotsrange", -4, delslotsrange),
    ("failover", -2, no_replicas),
    ("flushslots", 2, flushslots),
    ("forget", 3, forget),
    ("getkeysinslot", 4, getkeysinslot),
    ("help", 2, help),
    ("info", 2, info),
    ("keyslot", 3, keyslot),
    ("links", 2, links),
    ("meet", -4, meet),
    ("myid", 2, myid),
    ("nodes", 2, nodes),
    ("replicas", 3, replicas),
    ("replicate", 3, no_replicas),
    ("reset", -2, reset),
    ("saveconfig", 2, saveconfig),
    ("set-config-epoch", 3, set_config_epoch),
    ("setslot", -4, setslot),
    ("shards", 2, shards),
    ("slaves", 3, replicas),
    ("slots", 2, slots),
];

fn cluster(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if ctx.exec.cluster().is_none() {
        return Frame::static_error(DISABLED);
    }
    subcommand(ctx, args, "cluster", SUBS)
}

/// ASKING: the next command may be served here for a slot being
/// imported (see `cluster::route`). Cleared after that command.
fn asking(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    if ctx.exec.cluster().is_none() {
        return Frame::static_error(DISABLED);
    }
    ctx.session.asking = true;
    Frame::ok()
}

/// READONLY / READWRITE: reads from replicas. Every node here is a
/// master, so the flag changes nothing but is kept, as Redis keeps it.
fn readonly(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    if ctx.exec.cluster().is_none() {
        return Frame::static_error(DISABLED);
    }
    ctx.session.readonly = true;
    Frame::ok()
}

fn readwrite(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    if ctx.exec.cluster().is_none() {
        return Frame::static_error(DISABLED);
    }
    ctx.session.readonly = false;
    Frame::ok()
}

/// Run `f` on the cluster state for writing, then recompute the cluster
/// state (Redis's `CLUSTER_TODO_UPDATE_STATE`).
fn change<T>(ctx: &Ctx<'_>, f: impl FnOnce(&mut ClusterState) -> T) -> T {
    let cluster = ctx.exec.cluster().expect("checked by `cluster`");
    let mut state = cluster.write();
    let before = state.version;
    let out = f(&mut state);
    state.update_state();
    // Rendered under the lock, written after it (no command waits for
    // the disk while holding the cluster state).
    let changed = (state.version != before).then(|| (state.version, conf::save(&state)));
    drop(state);
    if let Some((version, text)) = changed {
        cluster.shell().save_config(version, &text);
    }
    // Blocked pops re-check their slot: one that moved away answers with
    // the redirection instead of waiting on a key no longer served here.
    ctx.exec.blocking().changed_all();
    out
}

fn read<T>(ctx: &Ctx<'_>, f: impl FnOnce(&ClusterState) -> T) -> T {
    let cluster = ctx.exec.cluster().expect("checked by `cluster`");
    let state = cluster.read();
    f(&state)
}

/// BUMPEPOCH: `BUMPED <epoch>` or `STILL <epoch>`.
fn bumpepoch(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    change(ctx, |state| {
        let bumped = state.bump_epoch();
        let epoch = state.me().config_epoch;
        Frame::Simple(format!("{} {epoch}", if bumped { "BUMPED" } else { "STILL" }).into())
    })
}

fn unknown_node(id: &[u8]) -> Frame {
    Frame::error(format!("ERR Unknown node {}", String::from_utf8_lossy(id)))
}

/// The node named by `arg`, if known.
fn node_id(state: &ClusterState, arg: &[u8]) -> Option<String> {
    let id = std::str::from_utf8(arg).ok()?;
    state.nodes.contains_key(id).then(|| id.to_string())
}

fn count_failure_reports(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let timeout = node_timeout(ctx);
    let now = ctx.now_ms();
    change(ctx, |state| match node_id(state, &args[2]) {
        None => unknown_node(&args[2]),
        Some(id) => Frame::Integer(state.failure_reports(&id, now, timeout) as i64),
    })
}

fn node_timeout(ctx: &Ctx<'_>) -> u64 {
    ctx.exec
        .config()
        .int(crate::config::named("cluster-node-timeout"))
        .max(0) as u64
}

fn forget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let now = ctx.now_ms();
    change(ctx, |state| match node_id(state, &args[2]) {
        None => unknown_node(&args[2]),
        Some(id) if id == state.myself => {
            Frame::static_error("ERR I tried hard but I can't forget myself...")
        }
        Some(id) => {
            state.forget(&id, now);
            Frame::ok()
        }
    })
}

fn help(_: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    const LINES: &[&str] = &[
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]",
        "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH",
        "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "FORGET <node-id>",
        "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS",
        "    Delete current node own slots information.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect nodes into a working cluster.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>",
        "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]",
        "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SAVECONFIG",
        "    Force saving cluster configuration on disk.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
        "HELP",
        "    Prints this help.",
    ];
    Frame::Array(LINES.iter().map(|l| Frame::simple(l)).collect())
}

fn info(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    Frame::Verbatim(read(ctx, render::info).into())
}

/// LINKS: the bus links open now. This node's bus opens a connection per
/// exchange and closes it after the answer (see `native/src/cluster/mod.rs`),
/// so between exchanges there is no link to describe: an empty array,
/// which is also what Redis answers for a node with no peers.
fn links(_: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    Frame::Array(Vec::new())
}

fn keyslot(_: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    Frame::Integer(key_slot(&args[2]) as i64)
}

/// MEET ip port [bus-port]: the bus introduces this node to that one.
fn meet(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if args.len() > 5 {
        return syntax_error(&args[1]);
    }
    let text = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
    let Some(port) = super::parse_i64(&args[3]) else {
        return Frame::error(format!(
            "ERR Invalid TCP base port specified: {}",
            text(&args[3])
        ));
    };
    let bus_port = match args.get(4) {
        None => port + 10_000,
        Some(arg) => match super::parse_i64(arg) {
            Some(p) => p,
            None => {
                return Frame::error(format!("ERR Invalid TCP bus port specified: {}", text(arg)))
            }
        },
    };
    let ip = text(&args[2]);
    let valid_ip = ip.parse::<std::net::IpAddr>().is_ok();
    let in_range = |p: i64| (1..=65535).contains(&p);
    if !valid_ip || !in_range(port) || !in_range(bus_port) {
        return Frame::error(format!(
            "ERR Invalid node address specified: {ip}:{}",
            text(&args[3])
        ));
    }
    change(ctx, |state| {
        state.meets.push(Meet {
            ip,
            port: port as u16,
            bus_port: bus_port as u16,
        });
        Frame::ok()
    })
}

/// Redis's `addReplySubcommandSyntaxError`.
fn syntax_error(sub: &[u8]) -> Frame {
    Frame::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
        String::from_utf8_lossy(sub)
    ))
}

fn myid(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    read(ctx, |state| Frame::bulk(state.myself.as_bytes()))
}

fn nodes(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    Frame::Verbatim(read(ctx, render::nodes).into())
}

/// REPLICAS / SLAVES node-id: no node here has replicas.
fn replicas(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    read(ctx, |state| match node_id(state, &args[2]) {
        None => unknown_node(&args[2]),
        Some(_) => Frame::Array(Vec::new()),
    })
}

fn no_replicas(_: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    Frame::error(format!(
        "ERR CLUSTER {} is not supported: this server has no replicas",
        String::from_utf8_lossy(&args[1]).to_ascii_uppercase()
    ))
}

/// RESET [HARD|SOFT]: forget the cluster; only a node without keys.
fn reset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if args.len() > 3 {
        return syntax_error(&args[1]);
    }
    let hard = match args.get(2) {
        None => false,
        Some(a) if is_keyword(a, "hard") => true,
        Some(a) if is_keyword(a, "soft") => false,
        Some(_) => return Frame::static_error(error::SYNTAX),
    };
    let store = ctx.exec.store();
    let db = ctx.session.db;
    let has_keys = (0..store.lock_count()).any(|lock| {
        let view = store.read(&[lock], "cluster").in_db(db);
        let any = view.keyspaces().any(|ks| !ks.is_empty());
        any
    });
    if has_keys {
        return Frame::static_error(
            "ERR CLUSTER RESET can't be called with master nodes containing keys",
        );
    }
    let cluster = ctx.exec.cluster().expect("checked by `cluster`");
    let new_id = hard.then(|| cluster.shell().fresh_node_id());
    change(ctx, |state| {
        state.reset(new_id);
        Frame::ok()
    })
}

/// SAVECONFIG: the shell saves `nodes.conf` whenever the state's version
/// moves; this moves it.
fn saveconfig(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    change(ctx, |state| {
        state.version += 1;
        Frame::ok()
    })
}

fn set_config_epoch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let epoch = match int_arg(&args[2]) {
        Ok(e) => e,
        Err(e) => return e,
    };
    change(ctx, |state| {
        if epoch < 0 {
            Frame::error(format!("ERR Invalid config epoch specified: {epoch}"))
        } else if state.nodes.len() > 1 {
            Frame::static_error(
                "ERR The user can assign a config epoch only when the node does not know any other node.",
            )
        } else if state.me().config_epoch != 0 {
            Frame::static_error("ERR Node config epoch is already non-zero")
        } else {
            let epoch = epoch as u64;
            state.me_mut().config_epoch = epoch;
            state.current_epoch = state.current_epoch.max(epoch);
            state.version += 1;
            Frame::ok()
        }
    })
}

fn shards(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    read(ctx, render::shards)
}

fn slots(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    read(ctx, render::slots)
}

/// The `# Cluster` section of INFO.
pub(crate) fn info_fields(ctx: &Ctx<'_>) -> Vec<(String, String)> {
    let enabled = ctx.exec.cluster().is_some();
    vec![("cluster_enabled".into(), (enabled as u8).to_string())]
}
