//! CLUSTER's slot subcommands: assigning slots (ADDSLOTS, ADDSLOTSRANGE,
//! DELSLOTS, DELSLOTSRANGE, FLUSHSLOTS), moving them (SETSLOT), and the
//! keys in a slot (COUNTKEYSINSLOT, GETKEYSINSLOT), as Redis 7.0's
//! `clusterCommand` answers them.

use bytes::Bytes;

use super::{change, node_id, read};
use crate::cluster::{key_slot, ClusterState, SLOTS};
use crate::cmd::{int_arg, is_keyword};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;

/// Redis's `getSlotOrReply`.
fn slot_arg(arg: &[u8]) -> Result<u16, Frame> {
    match crate::cmd::parse_i64(arg) {
        Some(n) if (0..SLOTS as i64).contains(&n) => Ok(n as u16),
        _ => Err(Frame::static_error("ERR Invalid or out of range slot")),
    }
}

/// Redis's `checkSlotAssignmentsOrReply`, over `start..=end`.
fn check_assignments(
    state: &ClusterState,
    seen: &mut [bool],
    del: bool,
    start: u16,
    end: u16,
) -> Result<(), Frame> {
    for slot in start..=end {
        if del && state.owner(slot).is_none() {
            return Err(Frame::error(format!(
                "ERR Slot {slot} is already unassigned"
            )));
        }
        if !del && state.owner(slot).is_some() {
            return Err(Frame::error(format!("ERR Slot {slot} is already busy")));
        }
        if std::mem::replace(&mut seen[slot as usize], true) {
            return Err(Frame::error(format!(
                "ERR Slot {slot} specified multiple times"
            )));
        }
    }
    Ok(())
}

/// Redis's `clusterUpdateSlots`: take or drop every slot in `seen`.
fn update_slots(state: &mut ClusterState, seen: &[bool], del: bool) {
    let me = state.myself.clone();
    for (slot, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
        let slot = slot as u16;
        state.importing.remove(&slot);
        state.assign(slot, (!del).then_some(me.as_str()));
    }
}

pub(super) fn addslots(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    slots_command(ctx, args, false)
}

pub(super) fn delslots(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    slots_command(ctx, args, true)
}

/// ADDSLOTS / DELSLOTS slot [slot ...]: every argument is checked before
/// any slot changes.
fn slots_command(ctx: &mut Ctx<'_>, args: &[Bytes], del: bool) -> Frame {
    let slots: Result<Vec<u16>, Frame> = args[2..].iter().map(|a| slot_arg(a)).collect();
    let slots = match slots {
        Ok(s) => s,
        Err(e) => return e,
    };
    change(ctx, |state| {
        let mut seen = vec![false; SLOTS];
        for &slot in &slots {
            if let Err(e) = check_assignments(state, &mut seen, del, slot, slot) {
                return e;
            }
        }
        update_slots(state, &seen, del);
        Frame::ok()
    })
}

pub(super) fn addslotsrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    ranges_command(ctx, args, false)
}

pub(super) fn delslotsrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    ranges_command(ctx, args, true)
}

/// ADDSLOTSRANGE / DELSLOTSRANGE start end [start end ...].
fn ranges_command(ctx: &mut Ctx<'_>, args: &[Bytes], del: bool) -> Frame {
    if args.len() % 2 == 1 {
        let name = if del {
            "delslotsrange"
        } else {
            "addslotsrange"
        };
        return error::wrong_arity(&format!("cluster|{name}"));
    }
    change(ctx, |state| {
        let mut seen = vec![false; SLOTS];
        for pair in args[2..].chunks(2) {
            let (start, end) = match (slot_arg(&pair[0]), slot_arg(&pair[1])) {
                (Err(e), _) | (_, Err(e)) => return e,
                (Ok(a), Ok(b)) => (a, b),
            };
            if start > end {
                return Frame::error(format!(
                    "ERR start slot number {start} is greater than end slot number {end}"
                ));
            }
            if let Err(e) = check_assignments(state, &mut seen, del, start, end) {
                return e;
            }
        }
        update_slots(state, &seen, del);
        Frame::ok()
    })
}

/// The keys of database 0 in `slot`, sorted, at most `limit`. Each lock
/// is taken on its own, so this never stops the whole server (Redis
/// keeps a per-slot key index; here the keyspace is walked).
pub(crate) fn keys_in_slot(ctx: &Ctx<'_>, slot: u16, limit: usize) -> Vec<Bytes> {
    let store = ctx.exec.store();
    let now = ctx.now_ms();
    let mut keys = Vec::new();
    for lock in 0..store.lock_count() {
        let view = store.read(&[lock], "cluster").in_db(0);
        for ks in view.keyspaces() {
            keys.extend(
                ks.iter(now)
                    .filter(|(k, _)| key_slot(k) == slot)
                    .map(|(k, _)| Bytes::copy_from_slice(k)),
            );
        }
    }
    keys.sort_unstable();
    keys.truncate(limit);
    keys
}

pub(super) fn count_keys_in_slot(ctx: &Ctx<'_>, slot: u16) -> usize {
    keys_in_slot(ctx, slot, usize::MAX).len()
}

pub(super) fn countkeysinslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    match int_arg(&args[2]) {
        Err(e) => e,
        Ok(n) if !(0..SLOTS as i64).contains(&n) => Frame::static_error("ERR Invalid slot"),
        Ok(n) => Frame::Integer(count_keys_in_slot(ctx, n as u16) as i64),
    }
}

pub(super) fn getkeysinslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let (slot, max) = match (int_arg(&args[2]), int_arg(&args[3])) {
        (Err(e), _) | (_, Err(e)) => return e,
        (Ok(s), Ok(m)) => (s, m),
    };
    if !(0..SLOTS as i64).contains(&slot) || max < 0 {
        return Frame::static_error("ERR Invalid slot or number of keys");
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    Frame::Array(
        keys_in_slot(ctx, slot as u16, limit)
            .iter()
            .map(|k| Frame::bulk(k))
            .collect(),
    )
}

/// FLUSHSLOTS: drop every slot of this node; only with no keys.
pub(super) fn flushslots(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    let store = ctx.exec.store();
    let empty = (0..store.lock_count()).all(|lock| {
        let view = store.read(&[lock], "cluster").in_db(0);
        let empty = view.keyspaces().all(|ks| ks.is_empty());
        empty
    });
    if !empty {
        return Frame::static_error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
    }
    change(ctx, |state| {
        let me = state.myself.clone();
        for slot in 0..SLOTS as u16 {
            if state.owner(slot) == Some(me.as_str()) {
                state.assign(slot, None);
            }
        }
        Frame::ok()
    })
}

/// SETSLOT slot IMPORTING id | MIGRATING id | STABLE | NODE id.
pub(super) fn setslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let slot = match slot_arg(&args[2]) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let action = &args[3];
    let target = args.get(4);
    let id_text = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
    let invalid = || {
        Frame::static_error(
            "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
        )
    };
    if is_keyword(action, "migrating") && args.len() == 5 {
        let target = target.expect("argc is 5");
        change(ctx, |state| {
            if !state.is_mine(slot) {
                return Frame::error(format!("ERR I'm not the owner of hash slot {slot}"));
            }
            let Some(id) = node_id(state, target) else {
                return Frame::error(format!("ERR I don't know about node {}", id_text(target)));
            };
            state.migrating.insert(slot, id);
            state.version += 1;
            Frame::ok()
        })
    } else if is_keyword(action, "importing") && args.len() == 5 {
        let target = target.expect("argc is 5");
        change(ctx, |state| {
            if state.is_mine(slot) {
                return Frame::error(format!("ERR I'm already the owner of hash slot {slot}"));
            }
            let Some(id) = node_id(state, target) else {
                return Frame::error(format!("ERR I don't know about node {}", id_text(target)));
            };
            state.importing.insert(slot, id);
            state.version += 1;
            Frame::ok()
        })
    } else if is_keyword(action, "stable") && args.len() == 4 {
        change(ctx, |state| {
            state.importing.remove(&slot);
            state.migrating.remove(&slot);
            state.version += 1;
            Frame::ok()
        })
    } else if is_keyword(action, "node") && args.len() == 5 {
        let target = target.expect("argc is 5");
        // Counted before the state is locked for writing: counting takes
        // keyspace locks, which are never awaited under the state's lock.
        // Only a slot this node serves or hands over can hold keys that
        // matter here (the walk is the cost of a reshard's every slot).
        let relevant = read(ctx, |s| s.is_mine(slot) || s.migrating.contains_key(&slot));
        let keys = if relevant {
            count_keys_in_slot(ctx, slot)
        } else {
            0
        };
        change(ctx, |state| {
            let Some(id) = node_id(state, target) else {
                return Frame::error(format!("ERR Unknown node {}", id_text(target)));
            };
            let to_me = id == state.myself;
            if state.is_mine(slot) && !to_me && keys != 0 {
                return Frame::error(format!(
                    "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
                ));
            }
            if keys == 0 {
                state.migrating.remove(&slot);
            }
            state.assign(slot, Some(&id));
            if to_me && state.importing.remove(&slot).is_some() {
                state.bump_epoch();
            }
            Frame::ok()
        })
    } else {
        invalid()
    }
}
