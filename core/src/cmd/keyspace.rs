//! Keyspace commands (Redis's `db.c`): DEL, UNLINK, EXISTS, TYPE, KEYS,
//! SCAN, RANDOMKEY, RENAME, RENAMENX, MOVE, COPY. They work on keys as a
//! whole and never look inside a value beyond its type.
//!
//! Two groups by locking:
//! * DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, MOVE, COPY name their
//!   keys, so in
//!   shard mode they lock just the shards of those keys. Each key is always
//!   reached through `view.ks(key)` / `view.ks_mut(key)`: `RENAME a b` may
//!   move a value from one shard to another, atomically, because both
//!   shards' locks are held for the whole command.
//! * KEYS, SCAN and RANDOMKEY look at every key (flag `ALL_KEYS`): they take
//!   every shard's lock in ascending order and see the shards in that order.
//!
//! The readers (EXISTS, TYPE, KEYS, SCAN, RANDOMKEY) may run under a shared
//! lock, so they cannot delete a key whose deadline has passed: they treat
//! it as absent and leave the deletion to the next writer or to the active
//! expiry cycle.

use bytes::Bytes;

use super::{int_arg, is_keyword, spec, NO_KEYS};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::glob::glob_match;
use crate::keyspace::Keyspace;
use crate::rng::Rng;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, &[KeySpec::index(1).range(-1, 1, 0).flags(RM | DELETE)], "generic", "Delete a key", "1.0.0", Handler::Write(del)).with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    spec("unlink", -2, WRITE | FAST, &[KeySpec::index(1).range(-1, 1, 0).flags(RM | DELETE)], "generic", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "4.0.0", Handler::Write(del)).with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    spec("exists", -2, READONLY | FAST, &[KeySpec::index(1).range(-1, 1, 0).flags(RO)], "generic", "Determine if a key exists", "1.0.0", Handler::Read(exists)).with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    spec("type", 2, READONLY | FAST, &[KeySpec::key(1, RO)], "generic", "Determine the type stored at key", "1.0.0", Handler::Read(type_)),
    spec("keys", 2, READONLY | ALL_KEYS, NO_KEYS, "generic", "Find all keys matching the given pattern", "1.0.0", Handler::Read(keys)).with_tips(&["request_policy:all_shards", "nondeterministic_output_order"]),
    spec("scan", -2, READONLY | ALL_KEYS, NO_KEYS, "generic", "Incrementally iterate the keys space", "2.8.0", Handler::Read(scan)).with_tips(&["nondeterministic_output", "request_policy:special"]),
    spec("randomkey", 1, READONLY | ALL_KEYS, NO_KEYS, "generic", "Return a random key from the keyspace", "1.0.0", Handler::Read(randomkey)).with_tips(&["request_policy:all_shards", "nondeterministic_output"]),
    spec("rename", 3, WRITE, &[KeySpec::key(1, RW | ACCESS | DELETE), KeySpec::key(2, OW | UPDATE)], "generic", "Rename a key", "1.0.0", Handler::Write(rename)),
    spec("renamenx", 3, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE), KeySpec::key(2, OW | INSERT)], "generic", "Rename a key, only if the new key does not exist", "1.0.0", Handler::Write(renamenx)),
    spec("move", 3, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE)], "generic", "Move a key to another database", "1.0.0", Handler::Write(move_)),
    spec("copy", -3, WRITE, &[KeySpec::key(1, RO | ACCESS), KeySpec::key(2, OW | UPDATE)], "generic", "Copy a key", "6.2.0", Handler::Write(copy)),
    spec("touch", -2, READONLY | FAST, &[KeySpec::index(1).range(-1, 1, 0).flags(RO)], "generic", "Alters the last access time of a key(s). Returns the number of existing keys specified.", "3.2.1", Handler::Read(exists)).with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"]),
    spec("object", -2, OWN_LOCKS, NO_KEYS, "generic", "A container for object introspection commands", "2.2.3", Handler::Server(object)),
];

/// DEL key [key ...] and UNLINK key [key ...]: the number of keys removed.
///
/// UNLINK frees large values in a background thread in Redis; here freeing
/// is part of the command either way, so the two are the same. A key named
/// twice counts once: the second removal finds nothing.
fn del(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let now = ctx.now_ms();
    let mut removed = 0;
    for key in &args[1..] {
        if view.ks_mut(key)?.remove(key, now).is_some() {
            removed += 1;
        }
    }
    Ok(Frame::Integer(removed))
}

/// EXISTS key [key ...]: how many of the named keys exist. A key named
/// twice counts twice, as in Redis.
fn exists(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let now = ctx.now_ms();
    let mut found = 0;
    for key in &args[1..] {
        if view.ks(key)?.contains(key, now) {
            found += 1;
        }
    }
    Ok(Frame::Integer(found))
}

/// TYPE key: the value's type as a status reply, `none` if missing.
fn type_(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let entry = view.ks(key)?.peek(key, ctx.now_ms());
    Ok(Frame::simple(entry.map_or("none", |e| e.value.type_name())))
}

/// KEYS pattern: every live key matching the glob, shard after shard.
///
/// It walks the whole keyspace while holding every lock, which is why Redis
/// documents it as "dangerous" in production and why SCAN exists.
fn keys(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let pattern = &args[1][..];
    // `*` is answered without matching: besides being faster, the matcher
    // (like Redis's) does not match the empty key against `*`, and Redis
    // special-cases exactly this pattern before calling it.
    let all = pattern == b"*";
    let now = ctx.now_ms();
    let found = view
        .keyspaces()
        .flat_map(|ks| ks.iter(now))
        .filter(|(key, _)| all || glob_match(pattern, key, false))
        .map(|(key, _)| Frame::bulk(key))
        .collect();
    Ok(Frame::Array(found))
}

/// SCAN's options, parsed as in Redis's `scanGenericCommand`.
pub(crate) struct ScanOptions<'a> {
    /// How many keys to gather before stopping (a hint, default 10).
    pub count: u64,
    /// `None` also for the pattern `*`, which matches everything.
    pub pattern: Option<&'a [u8]>,
    /// Keep only keys of this type (compared case-insensitively).
    type_name: Option<&'a [u8]>,
}

/// The options of SCAN (from argument 2) or of HSCAN/SSCAN/ZSCAN (from
/// argument 3, `keyed`: no TYPE there, as in Redis's scanGenericCommand).
pub(crate) fn parse_scan_options(args: &[Bytes], keyed: bool) -> Result<ScanOptions<'_>, Frame> {
    let mut opts = ScanOptions {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = if keyed { 3 } else { 2 };
    while i < args.len() {
        // Every option takes a value; a last option without one is a
        // syntax error, and so is anything unknown. Options may repeat
        // (the last one wins).
        let Some(value) = args.get(i + 1) else {
            return Err(Frame::static_error(error::SYNTAX));
        };
        let opt = &args[i];
        if is_keyword(opt, "count") {
            let count = int_arg(value)?;
            if count < 1 {
                return Err(Frame::static_error(error::SYNTAX));
            }
            opts.count = count as u64;
        } else if is_keyword(opt, "match") {
            opts.pattern = (&value[..] != b"*").then_some(&value[..]);
        } else if is_keyword(opt, "type") && !keyed {
            opts.type_name = Some(c_str(value));
        } else {
            return Err(Frame::static_error(error::SYNTAX));
        }
        i += 2;
    }
    Ok(opts)
}

/// The walk of HSCAN, SSCAN and ZSCAN over a hash table, as Redis's
/// `scanGenericCommand`: `step` visits the bucket chain at a cursor,
/// pushes what it keeps into `found` and returns the next cursor. Stops
/// when the cursor is back to 0, when COUNT items (of `per_item` frames
/// each) were gathered, or after COUNT × 10 steps.
pub(crate) fn scan_steps(
    mut cursor: u64,
    count: u64,
    per_item: usize,
    found: &mut Vec<Frame>,
    mut step: impl FnMut(u64, &mut Vec<Frame>) -> u64,
) -> u64 {
    let mut budget = count.saturating_mul(10);
    loop {
        cursor = step(cursor, found);
        if cursor == 0 || budget == 0 || (found.len() / per_item) as u64 >= count {
            return cursor;
        }
        budget -= 1;
    }
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// Iterates the keyspace a few buckets per call, so no call holds the locks
/// for long. The client starts with cursor 0 and passes back the cursor
/// each reply gives it, until a reply's cursor is 0 again.
///
/// **The guarantee** (as Redis): a key present for the whole iteration is
/// returned at least once; keys added or removed meanwhile may or may not
/// be. A key may be returned more than once. It holds even if the tables
/// grow or shrink between calls, thanks to the reverse-binary bucket cursor
/// of [`Dict::scan`](crate::dict::Dict::scan).
///
/// **The cursor with several keyspaces.** The view holds the keyspaces in
/// shard order, and SCAN walks them one after the other. The cursor names
/// both the keyspace and the bucket cursor inside it:
/// `cursor = inner * n + shard`, where `n` is the number of keyspaces. With
/// one keyspace (mutex, rw, or one shard) this is exactly Redis's cursor.
/// When a keyspace's inner cursor comes back 0 the walk moves to the next
/// one with inner cursor 0; after the last, the reply cursor is 0. Since
/// shard 0 is only ever entered with inner cursor 0, the combined cursor is
/// 0 only at the start and at the end, as clients expect. The inner cursor
/// is below that keyspace's bucket count, so `inner * n + shard` cannot
/// overflow for any table that fits in memory.
///
/// **COUNT** is a hint, as in Redis: buckets are visited until at least
/// COUNT keys were gathered, or COUNT * 10 buckets were visited (a sparse
/// table must not make one call slow), or the walk ends. The gathered keys
/// are then filtered by pattern, type and expiry, so a reply may hold fewer
/// keys than COUNT, even none, while the cursor is not yet 0.
fn scan(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let Some(cursor) = parse_cursor(&args[1]) else {
        return Ok(Frame::static_error(error::INVALID_CURSOR));
    };
    let opts = match parse_scan_options(args, false) {
        Ok(opts) => opts,
        Err(e) => return Ok(e),
    };
    // At least 1: the executor gives ALL_KEYS commands every lock.
    let n = view.held_count().max(1) as u64;
    let (mut shard, mut inner) = ((cursor % n) as usize, cursor / n);
    // (index of the keyspace, key), gathered before filtering, as Redis
    // gathers first and filters afterwards.
    let mut gathered: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut budget = opts.count.saturating_mul(10);
    let next_cursor = loop {
        let Some(ks) = view.keyspace_at(shard) else {
            // Unreachable: shard < n, and n keyspaces are held.
            break 0;
        };
        inner = ks.scan(inner, |key, _| gathered.push((shard, key.to_vec())));
        if inner == 0 {
            shard += 1;
            if shard as u64 == n {
                break 0;
            }
        }
        // Redis's `while (cursor && maxiterations-- && len < count)`.
        if budget == 0 || gathered.len() as u64 >= opts.count {
            break inner.saturating_mul(n).saturating_add(shard as u64);
        }
        budget -= 1;
    };
    let now = ctx.now_ms();
    let keys = gathered
        .into_iter()
        .filter(|(i, key)| {
            let Some(ks) = view.keyspace_at(*i) else {
                return false;
            };
            keep_scanned(ks, key, &opts, now)
        })
        .map(|(_, key)| Frame::Bulk(key.into()))
        .collect();
    Ok(Frame::Array(vec![
        Frame::Bulk(next_cursor.to_string().into()),
        Frame::Array(keys),
    ]))
}

/// SCAN's filters, in Redis's order: pattern, type, then expiry (a key
/// whose deadline passed is not returned).
fn keep_scanned(ks: &Keyspace, key: &[u8], opts: &ScanOptions<'_>, now_ms: u64) -> bool {
    if opts.pattern.is_some_and(|p| !glob_match(p, key, false)) {
        return false;
    }
    let Some(entry) = ks.peek(key, now_ms) else {
        return false;
    };
    opts.type_name
        .is_none_or(|t| t.eq_ignore_ascii_case(entry.value.type_name().as_bytes()))
}

/// Parse a SCAN cursor as Redis does, with C's `strtoul(s, &end, 10)`: the
/// cursor is an *unsigned* 64-bit number, so `string2ll` would not cover
/// it. Faithful to its quirks, which clients can see: a leading space is
/// refused, but `+5`, `007` and even `-1` (which wraps to 2^64-1) are
/// accepted; the empty string is cursor 0; a NUL byte ends the number;
/// anything else after the digits, or a value above 2^64-1, is an invalid
/// cursor.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = c_str(arg);
    if s.is_empty() {
        return Some(0);
    }
    // C's isspace: space, \t, \n, \v, \f, \r.
    if matches!(s[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some(if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    })
}

/// The argument as C code sees it through `char *`: up to the first NUL.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.split(|&b| b == 0).next().unwrap_or_default()
}

/// RANDOMKEY: a random live key, or nil when there is none.
///
/// With several keyspaces (shard mode) a keyspace is drawn first, weighted
/// by its number of keys, so every key stays about equally likely; then a
/// key inside it ([`Keyspace::random_key`]). If that keyspace holds only
/// dead keys, it is dropped and another is drawn. All draws come from the
/// command's stream forked from the executor's seeded PRNG: the same seed
/// and commands give the same keys.
fn randomkey(ctx: &mut Ctx<'_>, view: &ReadView<'_>, _: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let rng = ctx.rng();
    let now = ctx.now_ms();
    let mut candidates: Vec<(&Keyspace, u64)> = view
        .keyspaces()
        .map(|ks| (ks, ks.len() as u64))
        .filter(|&(_, len)| len > 0)
        .collect();
    while !candidates.is_empty() {
        // With one candidate there is nothing to draw: mutex and rw mode
        // use the PRNG exactly as a single Redis dict does.
        let mut pick = if candidates.len() == 1 {
            0
        } else {
            rng.below(candidates.iter().map(|&(_, len)| len).sum())
        };
        let mut chosen = candidates.len() - 1;
        for (i, &(_, len)) in candidates.iter().enumerate() {
            if pick < len {
                chosen = i;
                break;
            }
            pick -= len;
        }
        if let Some(key) = random_live_key(candidates[chosen].0, rng, now) {
            return Ok(Frame::bulk(key));
        }
        candidates.remove(chosen);
    }
    Ok(Frame::Null)
}

/// A random live key of `ks`, if it has one.
///
/// [`Keyspace::random_key`] gives up after 100 draws that all hit dead keys
/// (expired, not yet removed). Redis never gives up: on each such draw it
/// deletes the dead key and draws again. A reader cannot delete, so when the
/// draws give up, pick uniformly among the live keys by walking them. That
/// walk is O(keys), but only happens when the keyspace is mostly dead, where
/// Redis too would spend O(dead keys) deleting.
fn random_live_key<'a>(ks: &'a Keyspace, rng: &Rng, now_ms: u64) -> Option<&'a [u8]> {
    if let Some(key) = ks.random_key(rng, now_ms) {
        return Some(key);
    }
    let live = ks.iter(now_ms).count() as u64;
    if live == 0 {
        return None;
    }
    let skip = usize::try_from(rng.below(live)).unwrap_or(0);
    ks.iter(now_ms).nth(skip).map(|(key, _)| key)
}

/// RENAME key newkey
fn rename(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    rename_generic(ctx, view, args, false)
}

/// RENAMENX key newkey
fn renamenx(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    rename_generic(ctx, view, args, true)
}

/// Redis's `renameGenericCommand`. The value moves with its TTL; an
/// existing `newkey` is overwritten (RENAME) or left alone (RENAMENX, which
/// then replies 0). In shard mode the two keys may live in different shards;
/// both are locked, so no client sees the key in both places or in neither.
fn rename_generic(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
    nx: bool,
) -> Result<Frame, KeyOutsidePlan> {
    let (src, dst) = (&args[1], &args[2]);
    let now = ctx.now_ms();
    // A missing source is an error even when both names are the same.
    if view.ks_mut(src)?.lookup(src, now).is_none() {
        return Ok(Frame::static_error(error::NO_SUCH_KEY));
    }
    // Renaming a key to itself changes nothing (Redis 7.0: OK, or 0 for
    // RENAMENX because `newkey` exists).
    if src == dst {
        return Ok(if nx { Frame::Integer(0) } else { Frame::ok() });
    }
    // `lookup` also deletes an expired destination, as Redis's does.
    // The destination's lock is checked before the source is removed, so a
    // plan that missed it cannot lose the value.
    let dst_exists = view.ks_mut(dst)?.lookup(dst, now).is_some();
    if nx && dst_exists {
        return Ok(Frame::Integer(0));
    }
    // Both names are signalled as modified; the move counts once.
    let Some(entry) = view.ks_mut(src)?.take_for_move(src, now) else {
        // Unreachable: the source was live above, under the same locks.
        return Ok(Frame::static_error(error::NO_SUCH_KEY));
    };
    let expire_at = entry.expire_at();
    view.ks_mut(dst)?.set(dst, entry.value, expire_at);
    Ok(if nx { Frame::Integer(1) } else { Frame::ok() })
}

/// MOVE key db: the key, its value and its deadline leave the selected
/// database for `db`; 0 if it does not exist here or already exists there.
///
/// A key's lock depends on the key alone, so both databases' copies of
/// `key` sit behind the one lock the plan took: the move is atomic in every
/// mode without locking anything else.
fn move_(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let now = ctx.now_ms();
    // Redis's order: the index parses, exists, differs from the source;
    // only then is the key looked up.
    let dst = match db_arg(ctx, &args[2]) {
        Ok(db) => db,
        Err(e) => return Ok(e),
    };
    let src = view.db();
    if dst == src {
        return Ok(Frame::static_error(error::SAME_OBJECT));
    }
    if view.ks_mut(key)?.lookup(key, now).is_none() {
        return Ok(Frame::Integer(0));
    }
    if view.ks_mut_in(dst, key)?.lookup(key, now).is_some() {
        return Ok(Frame::Integer(0));
    }
    // Signalled in both databases; the move counts once (as RENAME).
    let Some(entry) = view.ks_mut(key)?.take_for_move(key, now) else {
        return Ok(Frame::Integer(0));
    };
    let expire_at = entry.expire_at();
    view.ks_mut_in(dst, key)?.set(key, entry.value, expire_at);
    Ok(Frame::Integer(1))
}

/// COPY source destination [DB destination-db] [REPLACE]: a copy of the
/// value (and deadline) under a new name, in this or another database;
/// 0 if the source is missing or the destination exists without REPLACE.
fn copy(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (src, dst) = (&args[1], &args[2]);
    let now = ctx.now_ms();
    let (mut dst_db, mut replace) = (view.db(), false);
    let mut i = 3;
    while i < args.len() {
        if is_keyword(&args[i], "replace") {
            replace = true;
        } else if is_keyword(&args[i], "db") && i + 1 < args.len() {
            dst_db = match db_arg(ctx, &args[i + 1]) {
                Ok(db) => db,
                Err(e) => return Ok(e),
            };
            i += 1;
        } else {
            return Ok(Frame::static_error(error::SYNTAX));
        }
        i += 1;
    }
    if dst_db == view.db() && src == dst {
        return Ok(Frame::static_error(error::SAME_OBJECT));
    }
    let Some(entry) = view.ks_mut(src)?.lookup(src, now).cloned() else {
        return Ok(Frame::Integer(0));
    };
    let mut target = view.ks_mut_in(dst_db, dst)?;
    if target.lookup(dst, now).is_some() && !replace {
        return Ok(Frame::Integer(0));
    }
    let expire_at = entry.expire_at();
    target.set(dst, entry.value, expire_at);
    Ok(Frame::Integer(1))
}

/// OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP key: how a value
/// is stored.
///
/// A container without key specs, as in Redis (the key is its
/// subcommands'), so it takes the key's lock itself.
fn object(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    super::subcommand(
        ctx,
        args,
        "object",
        &[
            ("encoding", 3, object_encoding),
            ("refcount", 3, object_refcount),
            ("freq", 3, object_freq),
            ("idletime", 3, object_idletime),
            ("help", 2, object_help),
        ],
    )
}

/// Run `f` on the value at `args[2]` under its lock in the session's
/// database, without making it recent; nil for a missing key, as Redis's
/// objectCommandLookupOrReply (OBJECT and MEMORY USAGE).
pub(crate) fn with_object(
    ctx: &Ctx<'_>,
    args: &[Bytes],
    f: impl FnOnce(&crate::keyspace::Entry) -> Frame,
) -> Frame {
    let key = &args[2];
    let store = ctx.exec.store();
    let lock = crate::store::lock_of(key, store.lock_count());
    let view = store.read(&[lock], "object").in_db(ctx.session.db);
    ctx.sequence_here();
    match view.ks(key).map(|ks| ks.peek(key, ctx.now_ms())) {
        Ok(Some(entry)) => f(entry),
        Ok(None) => Frame::Null,
        Err(e) => e.into(),
    }
}

fn object_encoding(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    with_object(ctx, args, |e| Frame::bulk(e.value.encoding().as_bytes()))
}

/// Redis shares the integers 0..9999 between keys (`OBJ_SHARED_INTEGERS`)
/// and reports their count as `INT_MAX`; every other value has one owner.
fn object_refcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    with_object(ctx, args, |e| {
        let shared = e
            .value
            .as_string()
            .and_then(|s| super::parse_i64(s))
            .is_some_and(|n| (0..10_000).contains(&n));
        Frame::Integer(if shared { i32::MAX as i64 } else { 1 })
    })
}

/// OBJECT IDLETIME key: seconds since a command last used the key
/// (OBJECT itself, TYPE, EXISTS and TTL do not count as uses). Under an
/// LFU policy the clock counts frequency instead: Redis's error.
fn object_idletime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let now = ctx.now_ms();
    let lfu = ctx.exec.clock_kind().is_lfu();
    with_object(ctx, args, |e| {
        if lfu {
            Frame::static_error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        } else {
            Frame::Integer(e.idle_seconds(now) as i64)
        }
    })
}

/// OBJECT FREQ key: the key's logarithmic access counter after decay
/// (Redis's `LFUDecrAndReturn`), tracked only under an LFU policy.
fn object_freq(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let now = ctx.now_ms();
    let clock = ctx.exec.clock_kind();
    with_object(ctx, args, |e| {
        if clock.is_lfu() {
            Frame::Integer(i64::from(clock.decayed(e.clock(), now)))
        } else {
            Frame::static_error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        }
    })
}

fn object_help(_: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    Frame::Array(LINES.iter().map(|l| Frame::simple(l)).collect())
}

/// A database index argument (MOVE, COPY ... DB), checked as Redis checks
/// it: an `int`, then a database that exists.
fn db_arg(ctx: &Ctx<'_>, arg: &Bytes) -> Result<u32, Frame> {
    let index = match int_arg(arg) {
        Ok(i) if i32::try_from(i).is_ok() => i,
        Ok(_) => return Err(Frame::static_error(error::NOT_AN_INT)),
        Err(e) => return Err(e),
    };
    super::server::db_index(ctx, index).ok_or(Frame::static_error(error::DB_INDEX_OUT_OF_RANGE))
}

#[cfg(test)]
mod tests;
