//! DUMP, RESTORE, RESTORE-ASKING and MIGRATE: a key's value as bytes, and
//! moving keys to another server with them (what `redis-cli --cluster
//! reshard` does slot by slot).
//!
//! A DUMP payload is Redis's (`createDumpPayload`): the value in RDB
//! encoding (type byte, then the value), the RDB version as two bytes
//! little-endian, then the CRC64 of everything before it, eight bytes
//! little-endian. So a payload from redis-server 7.0 restores here and
//! the other way round.
//!
//! MIGRATE holds the locks of its keys while it talks to the target, as
//! Redis's single thread does: no write can slip in between a key's copy
//! and its deletion. The network is the shell's
//! ([`crate::cluster::ClusterShell::migrate`]); core only builds the
//! RESTORE-ASKING commands and acts on their replies.

use bytes::Bytes;

use super::{int_arg, is_keyword, key_flags::*, spec, KeyRef, KeyRefs, KeySpec};
use crate::cluster::MigrateTarget;
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::Value;
use crate::rdb::{crc64::crc64, value_from_payload, value_payload, RDB_VERSION};
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("dump", 2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "keyspace", "Return a serialized version of the value stored at the specified key.", "2.6.0", Handler::Read(dump)),
    spec("restore", -4, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE)], "keyspace", "Create a key using the provided serialized value, previously obtained using DUMP.", "2.6.0", Handler::Write(restore)),
    spec("restore-asking", -4, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE)], "server", "An internal command for migrating keys in a cluster", "3.0.0", Handler::Write(restore)),
    spec("migrate", -6, WRITE, MIGRATE_KEYS, "keyspace", "Atomically transfer a key from a Redis instance to another one.", "2.6.0", Handler::Write(migrate)).with_key_finder(migrate_keys),
];

const MIGRATE_KEYS: &[KeySpec] = &[
    KeySpec::key(3, RW | ACCESS | DELETE | INCOMPLETE),
    KeySpec::keyword("KEYS", -2)
        .range(-1, 1, 0)
        .flags(RW | ACCESS | DELETE | INCOMPLETE),
];

/// Redis's `migrateGetKeys`: the key at 3, or every argument after KEYS
/// when the key at 3 is empty.
fn migrate_keys(args: &[Bytes]) -> KeyRefs {
    let flags = RW | ACCESS | DELETE | INCOMPLETE;
    let at = |pos| KeyRef { pos, flags };
    if args.len() < 6 {
        return KeyRefs::new();
    }
    if args[3].is_empty() {
        if let Some(i) = (6..args.len()).find(|&i| is_keyword(&args[i], "keys")) {
            return (i + 1..args.len()).map(at).collect();
        }
    }
    smallvec::smallvec![at(3)]
}

/// The DUMP payload of `value`.
pub fn dump_payload(value: &Value, ctx: &Ctx<'_>) -> Vec<u8> {
    let (t, body) = value_payload(value, ctx.exec.config().limits().list_node);
    let mut out = Vec::with_capacity(body.len() + 11);
    out.push(t);
    out.extend_from_slice(&body);
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Redis's `verifyDumpPayload`: a version this server reads and a
/// matching checksum. Returns the value's bytes.
fn verify_payload(payload: &[u8]) -> Option<&[u8]> {
    if payload.len() < 10 {
        return None;
    }
    let footer = payload.len() - 10;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    if version as u32 > RDB_VERSION {
        return None;
    }
    let stored = u64::from_le_bytes(payload[payload.len() - 8..].try_into().ok()?);
    (crc64(0, &payload[..payload.len() - 8]) == stored).then_some(&payload[..footer])
}

/// DUMP key: the payload, or nil.
fn dump(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    Ok(match view.ks(key)?.get(key, ctx.now_ms()) {
        None => Frame::Null,
        Some(entry) => Frame::Bulk(dump_payload(&entry.value, ctx).into()),
    })
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], and
/// RESTORE-ASKING (the same, sent by MIGRATE in a cluster).
fn restore(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None::<i64>, None::<i64>);
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        let a = &args[j];
        if is_keyword(a, "replace") {
            replace = true;
        } else if is_keyword(a, "absttl") {
            absttl = true;
        } else if is_keyword(a, "idletime") && more >= 1 && freq.is_none() {
            let v = match int_arg(&args[j + 1]) {
                Ok(v) => v,
                Err(e) => return Ok(e),
            };
            if v < 0 {
                return Ok(Frame::static_error(
                    "ERR Invalid IDLETIME value, must be >= 0",
                ));
            }
            idle = Some(v);
            j += 1;
        } else if is_keyword(a, "freq") && more >= 1 && idle.is_none() {
            let v = match int_arg(&args[j + 1]) {
                Ok(v) => v,
                Err(e) => return Ok(e),
            };
            if !(0..=255).contains(&v) {
                return Ok(Frame::static_error(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Ok(Frame::static_error(error::SYNTAX));
        }
        j += 1;
    }
    let key = &args[1];
    let now = ctx.now_ms();
    if !replace && view.ks(key)?.contains(key, now) {
        return Ok(Frame::static_error(
            "BUSYKEY Target key name already exists.",
        ));
    }
    let ttl = match int_arg(&args[2]) {
        Ok(t) if t < 0 => return Ok(Frame::static_error("ERR Invalid TTL value, must be >= 0")),
        Ok(t) => t as u64,
        Err(e) => return Ok(e),
    };
    let Some(body) = verify_payload(&args[3]) else {
        return Ok(Frame::static_error(
            "ERR DUMP payload version or checksum are wrong",
        ));
    };
    let value = match value_from_payload(body, &ctx.exec.config().limits()) {
        Ok(Some(value)) => value,
        Ok(None) | Err(_) => return Ok(Frame::static_error("ERR Bad data format")),
    };
    let mut ks = view.ks_mut(key)?;
    let deleted = replace && ks.remove(key, now).is_some();
    let deadline = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(now.saturating_add(t)),
    };
    if deadline.is_some_and(|d| d <= now) {
        // Already expired: nothing is created; a replaced key is gone.
        if deleted {
            ks.propagate_as(vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        return Ok(Frame::ok());
    }
    ks.set(key, value, deadline);
    ks.restore_access(
        key,
        idle.map(|s| (s as u64).saturating_mul(1000)),
        freq.map(|f| f as u8),
    );
    if let (Some(at), false) = (deadline, absttl) {
        // Propagate the deadline, not the relative TTL, as Redis does.
        let mut argv = args.to_vec();
        argv[2] = Bytes::from(at.to_string());
        argv.push(Bytes::from_static(b"ABSTTL"));
        ks.propagate_as(argv);
    }
    Ok(Frame::ok())
}

/// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
/// [AUTH2 user pw] [KEYS key ...].
fn migrate(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<Bytes>, Bytes)> = None;
    let mut keys: Vec<Bytes> = vec![args[3].clone()];
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = &args[j];
        if is_keyword(a, "copy") {
            copy = true;
        } else if is_keyword(a, "replace") {
            replace = true;
        } else if is_keyword(a, "auth") {
            if more == 0 {
                return Ok(Frame::static_error(error::SYNTAX));
            }
            j += 1;
            auth = Some((None, args[j].clone()));
        } else if is_keyword(a, "auth2") {
            if more < 2 {
                return Ok(Frame::static_error(error::SYNTAX));
            }
            auth = Some((Some(args[j + 1].clone()), args[j + 2].clone()));
            j += 2;
        } else if is_keyword(a, "keys") {
            if !args[3].is_empty() {
                return Ok(Frame::static_error(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            keys = args[j + 1..].to_vec();
            break;
        } else {
            return Ok(Frame::static_error(error::SYNTAX));
        }
        j += 1;
    }
    let (timeout, db) = match (int_arg(&args[5]), int_arg(&args[4])) {
        (Err(e), _) | (_, Err(e)) => return Ok(e),
        (Ok(t), Ok(d)) => (t, d),
    };
    let timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
    let now = ctx.now_ms();
    // The keys that are here, with their payloads and remaining TTLs.
    let mut found = Vec::new();
    for key in keys {
        let ks = view.ks(&key)?;
        if let Some(entry) = ks.get(&key, now) {
            let ttl = entry
                .expire_at()
                .map_or(0, |at| at.saturating_sub(now).max(1));
            found.push((key, dump_payload(&entry.value, ctx), ttl));
        }
    }
    if found.is_empty() {
        return Ok(Frame::simple("NOKEY"));
    }
    let Some(network) = ctx.exec.network() else {
        return Ok(Frame::static_error(
            "IOERR error or timeout connecting to the client",
        ));
    };
    let port = match std::str::from_utf8(&args[2])
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
    {
        Some(p) => p,
        None => {
            return Ok(Frame::static_error(
                "IOERR error or timeout connecting to the client",
            ))
        }
    };
    let Ok(db) = u32::try_from(db) else {
        return Ok(Frame::static_error(error::NOT_INTEGER));
    };
    let target = MigrateTarget {
        host: String::from_utf8_lossy(&args[1]).into_owned(),
        port,
        db,
        timeout_ms,
        auth,
    };
    let name: &'static [u8] = if ctx.exec.cluster().is_some() {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    let commands: Vec<Vec<Bytes>> = found
        .iter()
        .map(|(key, payload, ttl)| {
            let mut c = vec![
                Bytes::from_static(name),
                key.clone(),
                Bytes::from(ttl.to_string()),
                Bytes::from(payload.clone()),
            ];
            if replace {
                c.push(Bytes::from_static(b"REPLACE"));
            }
            c
        })
        .collect();
    let replies = match network.migrate(&target, &commands) {
        Ok(replies) => replies,
        Err(io) => return Ok(Frame::error(io)),
    };
    let mut first_error = None;
    let mut deleted = vec![Bytes::from_static(b"DEL")];
    for ((key, _, _), reply) in found.iter().zip(replies) {
        match reply {
            Err(e) => {
                first_error.get_or_insert(e);
            }
            Ok(()) if !copy => {
                if view.ks_mut(key)?.remove(key, now).is_some() {
                    deleted.push(key.clone());
                }
            }
            Ok(()) => {}
        }
    }
    if deleted.len() > 1 {
        let first = deleted[1].clone();
        view.ks_mut(&first)?.propagate_as(deleted);
    }
    Ok(match first_error {
        Some(e) => Frame::error(format!("ERR Target instance replied with error: {e}")),
        None => Frame::ok(),
    })
}
