//! MEMORY USAGE | STATS | DOCTOR | PURGE | MALLOC-STATS | HELP: what the
//! data costs, from the core's own count (see [`crate::keyspace::memory`]).

use bytes::Bytes;

use super::{is_keyword, spec, subcommand, NO_KEYS};
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("memory", -2, OWN_LOCKS, NO_KEYS, "server", "A container for memory diagnostics commands", "4.0.0", Handler::Server(memory)),
];

/// Below this, MEMORY DOCTOR has nothing to say (Redis: 5 MB).
const DOCTOR_MIN_BYTES: u64 = 5 * 1024 * 1024;

fn memory(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    subcommand(
        ctx,
        args,
        "memory",
        &[
            ("usage", -3, usage),
            ("stats", 2, stats),
            ("doctor", 2, doctor),
            ("purge", 2, purge),
            ("malloc-stats", 2, malloc_stats),
            ("help", 2, help),
        ],
    )
}

/// MEMORY USAGE key [SAMPLES count]: what the key's entry is charged (its
/// node, key and value; large collections estimated from samples), nil
/// for a missing key. SAMPLES is checked as Redis checks it; the charge
/// itself always uses the accounting's five samples.
fn usage(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mut rest = args[3..].iter();
    while let Some(word) = rest.next() {
        match rest.next() {
            Some(count) if is_keyword(word, "samples") => match super::int_arg(count) {
                Ok(n) if n >= 0 => {}
                Ok(_) => return Frame::static_error(error::SYNTAX),
                Err(e) => return e,
            },
            _ => return Frame::static_error(error::SYNTAX),
        }
    }
    super::keyspace::with_object(ctx, args, |entry| Frame::Integer(entry.charged() as i64))
}

/// MEMORY STATS: Redis's map, with the figures this server has.
fn stats(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    let store = ctx.exec.store();
    let dbs = store.databases() as usize;
    let (mut keys, mut main, mut expires) = (0u64, vec![0u64; dbs], vec![0u64; dbs]);
    let mut total = 0u64;
    for lock in 0..store.lock_count() {
        let view = store.read(&[lock], "memory");
        for databases in view.databases() {
            total += databases.used_memory();
            for (i, ks) in databases.iter() {
                keys += ks.len() as u64;
                main[i as usize] += ks.table_bytes() as u64;
                expires[i as usize] += ks.volatile_bytes() as u64;
            }
        }
    }
    let overhead: u64 = main.iter().chain(&expires).sum();
    let dataset = total - overhead;
    let int = |n: u64| Frame::Integer(n as i64);
    let mut fields = vec![
        ("peak.allocated", int(total)),
        ("total.allocated", int(total)),
        ("startup.allocated", int(0)),
        ("replication.backlog", int(0)),
        ("clients.slaves", int(0)),
        ("clients.normal", int(0)),
        ("aof.buffer", int(0)),
    ];
    let mut frames: Vec<(Frame, Frame)> = fields
        .drain(..)
        .map(|(k, v)| (Frame::bulk(k.as_bytes()), v))
        .collect();
    for db in 0..dbs {
        if main[db] + expires[db] == 0 {
            continue;
        }
        frames.push((
            Frame::bulk(format!("db.{db}").as_bytes()),
            Frame::Map(vec![
                (Frame::bulk(b"overhead.hashtable.main"), int(main[db])),
                (Frame::bulk(b"overhead.hashtable.expires"), int(expires[db])),
            ]),
        ));
    }
    let per_key = total.checked_div(keys).unwrap_or(0);
    let percentage = if total == 0 {
        0.0
    } else {
        dataset as f64 * 100.0 / total as f64
    };
    for (k, v) in [
        ("overhead.total", int(overhead)),
        ("keys.count", int(keys)),
        ("keys.bytes-per-key", int(per_key)),
        ("dataset.bytes", int(dataset)),
        ("dataset.percentage", super::zset::score_frame(percentage)),
        ("peak.percentage", super::zset::score_frame(100.0)),
    ] {
        frames.push((Frame::bulk(k.as_bytes()), v));
    }
    Frame::Map(frames)
}

/// MEMORY DOCTOR: Redis's report when it finds nothing to say.
fn doctor(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    let text: &[u8] = if ctx.exec.used_memory() < DOCTOR_MIN_BYTES {
        b"Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
    } else {
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    };
    Frame::Verbatim(Bytes::from_static(text))
}

/// MEMORY PURGE: nothing to give back with libc's malloc (Redis purges
/// jemalloc's dirty pages).
fn purge(_: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    Frame::ok()
}

/// MEMORY MALLOC-STATS: Redis's answer for an allocator other than
/// jemalloc.
fn malloc_stats(_: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    Frame::Verbatim(Bytes::from_static(
        b"Stats not supported for the current allocator",
    ))
}

fn help(_: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    const LINES: &[&str] = &[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    ];
    Frame::Array(LINES.iter().map(|l| Frame::simple(l)).collect())
}
