//! Server commands: TIME, INFO, SHUTDOWN, CONFIG (whose subcommands are
//! in `config.rs`), which touch no key and take no lock; and the
//! whole-database DBSIZE, FLUSHDB, FLUSHALL, SWAPDB. Those carry the
//! `ALL_KEYS` flag, so in shard mode they take every shard's lock, in
//! ascending order: a DBSIZE waits for all writers of all shards, which is
//! exactly the cost the contention trace shows; a SWAPDB holds every lock
//! while it swaps the two databases inside each, so no client ever sees
//! one shard swapped and another not.

use bytes::Bytes;

use super::{is_keyword, spec, subcommand, NO_KEYS};
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::{Ctx, Flow};
use crate::frame::Frame;
use crate::info::{render, InfoSection};
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("save", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, NO_KEYS, "server", "Synchronously save the dataset to disk", "1.0.0", Handler::Server(save)),
    spec("bgsave", -1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, NO_KEYS, "server", "Asynchronously save the dataset to disk", "1.0.0", Handler::Server(bgsave)),
    spec("lastsave", 1, LOADING | STALE | FAST, NO_KEYS, "server", "Get the UNIX time stamp of the last successful save to disk", "1.0.0", Handler::Server(lastsave)).with_tips(&["nondeterministic_output"]),
    spec("bgrewriteaof", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, NO_KEYS, "server", "Asynchronously rewrite the append-only file", "1.0.0", Handler::Server(bgrewriteaof)),
    spec("time", 1, LOADING | STALE | FAST, NO_KEYS, "server", "Returns the server time.", "2.6.0", Handler::Server(time)).with_tips(&["nondeterministic_output"]),
    spec("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, NO_KEYS, "server", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0", Handler::Server(shutdown)),
    spec("info", -1, LOADING | STALE | OWN_LOCKS, NO_KEYS, "server", "Returns information and statistics about the server.", "1.0.0", Handler::Server(info)).with_tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    spec("config", -2, OWN_LOCKS, NO_KEYS, "server", "A container for server configuration commands.", "2.0.0", Handler::Server(config)),
    spec("dbsize", 1, READONLY | FAST | ALL_KEYS, NO_KEYS, "server", "Returns the number of keys in the database.", "1.0.0", Handler::Read(dbsize)).with_tips(&["request_policy:all_shards", "response_policy:agg_sum"]),
    spec("flushdb", -1, WRITE | ALL_KEYS, NO_KEYS, "server", "Removes all keys from the current database.", "1.0.0", Handler::Write(flush)).with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    spec("flushall", -1, WRITE | ALL_KEYS, NO_KEYS, "server", "Removes all keys from all databases.", "1.0.0", Handler::Write(flush)).with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    spec("swapdb", 3, WRITE | FAST | ALL_KEYS, NO_KEYS, "server", "Swaps two Redis databases", "4.0.0", Handler::Write(swapdb)),
];

/// DBSIZE: keys of the selected database in every shard, including
/// expired ones not yet removed (as Redis counts them).
fn dbsize(_: &mut Ctx<'_>, view: &ReadView<'_>, _: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    Ok(Frame::Integer(
        view.keyspaces().map(|ks| ks.len() as i64).sum(),
    ))
}

/// FLUSHDB / FLUSHALL [ASYNC | SYNC]: the selected database, or all.
fn flush(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    match args {
        [_] => {}
        [_, mode] if is_keyword(mode, "async") || is_keyword(mode, "sync") => {}
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    }
    // Signalled as a flush, not key by key; propagated even when the
    // keyspace was already empty (Redis forces it: a replica may not be).
    view.flush(ctx.spec.name == "flushall");
    Ok(Frame::ok())
}

/// SWAPDB index1 index2: every client of one database sees the other's
/// keys from now on. Redis swaps the databases' dicts, not its clients'
/// selections; so do we, inside every shard, under every lock.
fn swapdb(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let index = |arg: &Bytes, which: &'static str| match super::int_arg(arg) {
        Ok(i) if i32::try_from(i).is_ok() => Ok(i),
        _ => Err(Frame::error(format!("ERR invalid {which} DB index"))),
    };
    let (a, b) = match (index(&args[1], "first"), index(&args[2], "second")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Ok(e),
    };
    let (Some(a), Some(b)) = (db_index(ctx, a), db_index(ctx, b)) else {
        return Ok(Frame::static_error(error::DB_INDEX_OUT_OF_RANGE));
    };
    view.swap_databases(a, b, ctx.now_ms());
    Ok(Frame::ok())
}

/// `index` as a database number, if the store has that database.
pub(crate) fn db_index(ctx: &Ctx<'_>, index: i64) -> Option<u32> {
    u32::try_from(index)
        .ok()
        .filter(|&i| i < ctx.exec.store().databases())
}

/// TIME: seconds and microseconds of the clock reading the shell passed in.
fn time(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    Frame::Array(vec![
        Frame::bulk((ctx.now_us / 1_000_000).to_string().as_bytes()),
        Frame::bulk((ctx.now_us % 1_000_000).to_string().as_bytes()),
    ])
}

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
///
/// Every option is accepted as Redis parses it; there is nothing to save
/// yet (no persistence), so NOSAVE and SAVE behave alike. On success there
/// is no reply: the shell stops accepting, finishes in-flight commands and
/// exits, and this client sees its connection close.
/// SAVE: write the RDB file now; the caller waits (Redis blocks every
/// client meanwhile; here only writers wait, lock by lock).
fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Frame {
    match ctx.exec.hooks().map(|h| h.save(ctx.exec)) {
        Some(Ok(())) => Frame::ok(),
        // A save that failed is Redis's bare "-ERR" (the log says why).
        Some(Err(e)) if e.is_empty() => Frame::static_error("ERR"),
        Some(Err(e)) => Frame::error(format!("ERR {e}")),
        None => Frame::static_error("ERR saving is not available"),
    }
}

/// BGSAVE [SCHEDULE]: save in the background.
fn bgsave(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let schedule = match &args[1..] {
        [] => false,
        [word] if is_keyword(word, "schedule") => true,
        _ => return Frame::static_error(error::SYNTAX),
    };
    match ctx.exec.hooks().map(|h| h.bgsave(schedule)) {
        Some(Ok(started)) => Frame::simple(started),
        Some(Err(e)) => Frame::error(format!("ERR {e}")),
        None => Frame::static_error("ERR saving is not available"),
    }
}

/// LASTSAVE: the Unix time of the last successful save (the start time
/// before the first).
fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Frame {
    Frame::Integer(ctx.exec.hooks().map_or(0, |h| h.lastsave()) as i64)
}

/// BGREWRITEAOF: the shell starts the rewrite in the background.
fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Frame {
    match ctx.exec.hooks().map(|h| h.bgrewriteaof()) {
        Some(Ok(status)) => Frame::simple(status),
        Some(Err(e)) => Frame::error(format!("ERR {e}")),
        None => Frame::static_error("ERR Background append only file rewriting is not available"),
    }
}

fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
    for arg in &args[1..] {
        if is_keyword(arg, "nosave") {
            nosave = true;
        } else if is_keyword(arg, "save") {
            save = true;
        } else if is_keyword(arg, "now") || is_keyword(arg, "force") {
            other = true;
        } else if is_keyword(arg, "abort") {
            abort = true;
        } else {
            return Frame::static_error(error::SYNTAX);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Frame::static_error(error::SYNTAX);
    }
    if abort {
        // A shutdown here is never left pending, so there is none to abort.
        return Frame::static_error("ERR No shutdown in progress.");
    }
    // SAVE forces an RDB save, NOSAVE prevents it; by default the shell
    // saves if save points are configured, as Redis. A failed save keeps
    // the server running.
    let save_choice = match (save, nosave) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    if let Some(Err(_)) = ctx
        .exec
        .hooks()
        .map(|h| h.prepare_shutdown(ctx.exec, save_choice))
    {
        return Frame::static_error("ERR Errors trying to SHUTDOWN. Check logs.");
    }
    ctx.flow = Flow::Shutdown;
    Frame::ok()
}

/// CONFIG GET | SET | RESETSTAT | REWRITE (in `config.rs`).
fn config(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    use super::config::{get, resetstat, rewrite, set};
    subcommand(
        ctx,
        args,
        "config",
        &[
            ("get", -3, get),
            ("set", -4, set),
            ("resetstat", 2, resetstat),
            ("rewrite", 2, rewrite),
        ],
    )
}

/// INFO [section ...]: the shell's sections plus `keyspace`, in a fixed
/// order whatever order they were asked in. `default` (or no argument)
/// selects the default sections, `all` and `everything` every section;
/// unknown names select nothing.
fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mut sections = ctx
        .exec
        .hooks()
        .map(|h| h.info_sections(ctx.exec.store(), ctx.exec.config()))
        .unwrap_or_default();
    // Eviction is the executor's: its count goes beside the shell's
    // expiry count, where Redis prints it.
    if let Some(stats) = sections.iter_mut().find(|s| s.name == "stats") {
        let at = stats
            .fields
            .iter()
            .position(|(k, _)| k == "expired_keys")
            .map_or(stats.fields.len(), |i| i + 1);
        stats.fields.insert(
            at,
            ("evicted_keys".into(), ctx.exec.evicted_keys().to_string()),
        );
    }
    if ctx.exec.cluster().is_some() {
        if let Some(server) = sections.iter_mut().find(|s| s.name == "server") {
            for (k, v) in &mut server.fields {
                if k == "redis_mode" {
                    *v = "cluster".into();
                }
            }
        }
    }
    let at = sections
        .iter()
        .position(|s| s.name == "contention")
        .unwrap_or(sections.len());
    sections.insert(
        at,
        InfoSection {
            name: "cluster",
            default: true,
            fields: super::cluster::info_fields(ctx),
        },
    );
    let keyspace = InfoSection {
        name: "keyspace",
        default: true,
        fields: keyspace_fields(ctx),
    };
    let at = sections
        .iter()
        .position(|s| s.name == "contention")
        .unwrap_or(sections.len());
    sections.insert(at, keyspace);
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let everything = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    sections.retain(|s| everything || (default && s.default) || wanted.iter().any(|w| w == s.name));
    // Text for people: a verbatim string (`=...txt:`) in RESP3.
    Frame::Verbatim(render(&sections).into())
}

/// `dbN:keys=K,expires=E,avg_ttl=T` for every database that has keys.
/// Each lock is taken on its own, so INFO never stops the whole server.
fn keyspace_fields(ctx: &Ctx<'_>) -> Vec<(String, String)> {
    #[derive(Clone, Copy, Default)]
    struct Db {
        keys: usize,
        expires: usize,
        ttl_sum: u64,
        ttl_n: u64,
    }
    let store = ctx.exec.store();
    let mut dbs = vec![Db::default(); store.databases() as usize];
    for lock in 0..store.lock_count() {
        let view = store.read(&[lock], "info");
        for databases in view.databases() {
            for (i, ks) in databases.iter() {
                let db = &mut dbs[i as usize];
                db.keys += ks.len();
                db.expires += ks.volatile_len();
                if ks.avg_ttl() > 0 {
                    db.ttl_sum += ks.avg_ttl();
                    db.ttl_n += 1;
                }
            }
        }
    }
    dbs.iter()
        .enumerate()
        .filter(|(_, db)| db.keys > 0)
        .map(|(i, db)| {
            let avg_ttl = db.ttl_sum.checked_div(db.ttl_n).unwrap_or(0);
            (
                format!("db{i}"),
                format!("keys={},expires={},avg_ttl={avg_ttl}", db.keys, db.expires),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::exec::Flow;
    use crate::testkit::*;

    #[test]
    fn dbsize_counts_across_shards_and_flush_empties_all() {
        let mut script: Vec<(Vec<String>, crate::frame::Frame)> = vec![];
        for i in 0..20 {
            script.push((vec!["SET".into(), format!("k{i}"), "v".into()], ok()));
        }
        for mut db in TestDb::all_modes() {
            for (args, want) in &script {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                assert_eq!(&db.cmd(&args), want);
            }
            assert_eq!(db.cmd(&["DBSIZE"]), int(20));
            assert_eq!(db.cmd(&["FLUSHDB", "ASYNC"]), ok());
            assert_eq!(db.cmd(&["DBSIZE"]), int(0));
            assert_eq!(db.cmd(&["SET", "a", "b"]), ok());
            assert_eq!(db.cmd(&["FLUSHALL", "sync"]), ok());
            assert_eq!(db.cmd(&["DBSIZE"]), int(0));
        }
        check_all_modes(&[
            (&["FLUSHALL", "now"], err("ERR syntax error")),
            (&["FLUSHDB", "sync", "async"], err("ERR syntax error")),
            (
                &["DBSIZE", "x"],
                err("ERR wrong number of arguments for 'dbsize' command"),
            ),
        ]);
    }
    #[test]
    fn shutdown_options() {
        check_all_modes(&[
            (&["SHUTDOWN", "ABORT"], err("ERR No shutdown in progress.")),
            (&["SHUTDOWN", "NOSAVE", "SAVE"], err("ERR syntax error")),
            (&["SHUTDOWN", "ABORT", "NOW"], err("ERR syntax error")),
            (&["SHUTDOWN", "LATER"], err("ERR syntax error")),
        ]);
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        let args = [
            bytes::Bytes::from_static(b"SHUTDOWN"),
            bytes::Bytes::from_static(b"nosave"),
        ];
        assert_eq!(
            db.exec.dispatch(&mut db.session, &args, 0).1.flow,
            Flow::Shutdown
        );
        let mut out = bytes::BytesMut::new();
        db.exec.execute(&mut db.session, &args, 0, &mut out);
        assert!(out.is_empty(), "SHUTDOWN sends no reply on success");
    }

    #[test]
    fn info_without_hooks_has_the_cluster_and_keyspace_sections() {
        let mut db = TestDb::new(crate::store::Mode::Shard, 4);
        assert_eq!(
            db.cmd(&["INFO"]),
            bulk("# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n")
        );
        for i in 0..10 {
            db.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        db.cmd(&["EXPIRE", "k1", "100"]);
        assert_eq!(
            db.cmd(&["INFO", "KEYSPACE"]),
            bulk("# Keyspace\r\ndb0:keys=10,expires=1,avg_ttl=0\r\n")
        );
        assert_eq!(db.cmd(&["INFO", "nosuch"]), bulk(""));
        assert_eq!(
            db.cmd(&["CONFIG", "SET", "timeout", "5"]),
            err("ERR Unknown option or number of arguments for CONFIG SET - 'timeout'")
        );
        assert_eq!(db.cmd(&["CONFIG", "RESETSTAT"]), ok());
    }

    #[test]
    fn time_reports_the_injected_clock() {
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        db.now_ms = 1_700_000_000_123;
        assert_eq!(
            db.cmd(&["TIME"]),
            arr(vec![bulk("1700000000"), bulk("123000")])
        );
    }

    #[test]
    fn config_get() {
        let mut db = TestDb::new(crate::store::Mode::Shard, 4);
        assert_eq!(
            db.cmd(&["CONFIG", "GET", "save"]),
            arr(vec![bulk("save"), bulk("")])
        );
        assert_eq!(
            db.cmd(&["CONFIG", "GET", "MAXCLIENTS", "maxclients"]),
            arr(vec![bulk("MAXCLIENTS"), bulk("10000")])
        );
        assert_eq!(
            db.cmd(&["CONFIG", "GET"]),
            err("ERR wrong number of arguments for 'config|get' command")
        );
    }
}
