//! Where a command must run: here, or another node (Redis's
//! `getNodeByQuery` and `clusterRedirectClient`).
//!
//! Every key of the command (of every queued command, for EXEC) must hash
//! to one slot, else `-CROSSSLOT`. That slot's owner serves it; another
//! node's slot is a `-MOVED <slot> <ip>:<port>`. While a slot moves, its
//! source serves the keys it still has and sends the client to the target
//! for the ones it no longer has (`-ASK`); the target serves them only to
//! a client that said ASKING first. A multi-key command whose keys are
//! split between the two in mid-move gets `-TRYAGAIN`.

use bytes::Bytes;

use super::{key_slot, ClusterState};
use crate::cmd::CommandSpec;
use crate::frame::Frame;

/// One command to route: its row and arguments.
pub type Query<'a> = (&'static CommandSpec, &'a [Bytes]);

pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
pub const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";
pub const DOWN: &str = "CLUSTERDOWN The cluster is down";
pub const UNBOUND: &str = "CLUSTERDOWN Hash slot not served";
pub const DOWN_READONLY: &str = "CLUSTERDOWN The cluster is down and only accepts read commands";

/// What the routing decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Serve it here (also: no key at all).
    Here,
    /// Refuse it with this error.
    Refuse(Frame),
}

/// Route `queries` (one command, or EXEC's queue). `asking`: the client
/// sent ASKING (or the command is RESTORE-ASKING). `exists` tells whether
/// a key is in database 0; it is asked only for a slot in mid-move.
pub fn route(
    state: &ClusterState,
    queries: &[Query<'_>],
    asking: bool,
    allow_reads_when_down: bool,
    exists: &mut dyn FnMut(&[u8]) -> bool,
) -> Route {
    let mut first: Option<&[u8]> = None;
    let mut slot = 0u16;
    let mut owner: Option<&str> = None;
    let mut migrating = false;
    let mut importing = false;
    let mut multiple_keys = false;
    let mut missing = 0;
    let mut writes = false;
    let mut is_migrate = false;
    for (spec, args) in queries {
        writes |= spec.has(crate::cmd::flags::WRITE);
        is_migrate |= spec.name == "migrate";
        for key in spec.keys(args) {
            let key: &[u8] = &args[key.pos];
            let this_slot = key_slot(key);
            match first {
                None => {
                    first = Some(key);
                    slot = this_slot;
                    owner = state.owner(slot);
                    let Some(id) = owner else {
                        return Route::Refuse(Frame::static_error(UNBOUND));
                    };
                    if id == state.myself && state.migrating.contains_key(&slot) {
                        migrating = true;
                    } else if state.importing.contains_key(&slot) {
                        importing = true;
                    }
                }
                Some(first) if first != key => {
                    if this_slot != slot {
                        return Route::Refuse(Frame::static_error(CROSSSLOT));
                    }
                    multiple_keys = true;
                }
                Some(_) => {}
            }
            if (migrating || importing) && !exists(key) {
                missing += 1;
            }
        }
    }
    let Some(owner) = owner else {
        return Route::Here;
    };
    if !state.ok {
        if !allow_reads_when_down {
            return Route::Refuse(Frame::static_error(DOWN));
        }
        if writes {
            return Route::Refuse(Frame::static_error(DOWN_READONLY));
        }
    }
    if (migrating || importing) && is_migrate {
        return Route::Here;
    }
    if migrating && missing > 0 {
        if multiple_keys {
            return Route::Refuse(Frame::static_error(TRYAGAIN));
        }
        let target = &state.migrating[&slot];
        return Route::Refuse(redirect(state, "ASK", slot, target));
    }
    if importing && asking {
        if multiple_keys && missing > 0 {
            return Route::Refuse(Frame::static_error(TRYAGAIN));
        }
        return Route::Here;
    }
    if owner == state.myself {
        Route::Here
    } else {
        Route::Refuse(redirect(state, "MOVED", slot, owner))
    }
}

/// `-MOVED <slot> <ip>:<port>` or `-ASK ...`.
fn redirect(state: &ClusterState, kind: &str, slot: u16, id: &str) -> Frame {
    let (ip, port) = state
        .nodes
        .get(id)
        .map_or(("", 0), |n| (n.ip.as_str(), n.port));
    Frame::error(format!("{kind} {slot} {ip}:{port}"))
}
