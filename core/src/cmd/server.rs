//! Whole-keyspace server commands: DBSIZE, FLUSHDB, FLUSHALL. They carry
//! the `ALL_KEYS` flag, so in shard mode they take every shard's lock, in
//! ascending order: a DBSIZE waits for all writers of all shards, which is
//! exactly the cost the contention trace shows.

use bytes::Bytes;

use super::{is_keyword, spec, NO_KEYS};
use crate::command::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("dbsize", 1, READONLY | FAST | ALL_KEYS, NO_KEYS, "server", "Returns the number of keys in the database.", "1.0.0", Handler::Read(dbsize)).with_tips(&["request_policy:all_shards", "response_policy:agg_sum"]),
    spec("flushdb", -1, WRITE | ALL_KEYS, NO_KEYS, "server", "Removes all keys from the current database.", "1.0.0", Handler::Write(flush)).with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    spec("flushall", -1, WRITE | ALL_KEYS, NO_KEYS, "server", "Removes all keys from all databases.", "1.0.0", Handler::Write(flush)).with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
];

/// DBSIZE: keys in every keyspace, including expired ones not yet removed
/// (as Redis counts them).
fn dbsize(_: &mut Ctx<'_>, view: &ReadView<'_>, _: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    Ok(Frame::Integer(
        view.keyspaces().map(|ks| ks.len() as i64).sum(),
    ))
}

/// FLUSHDB / FLUSHALL [ASYNC | SYNC]: with one database they are the same.
fn flush(
    _: &mut Ctx<'_>,
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
    view.flush();
    Ok(Frame::ok())
}

#[cfg(test)]
mod tests {
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
}
