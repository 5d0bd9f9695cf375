//! The dataset as the commands that rebuild it: an AOF rewrite's base
//! file when it is not an RDB snapshot (`aof-use-rdb-preamble no`).
//!
//! Redis's `rewriteAppendOnlyFileRio`: per database a `SELECT`, then per
//! key one command that recreates it — `SET` for a string, `RPUSH`,
//! `SADD`, `ZADD`, `HMSET` for the collections, at most
//! [`ITEMS_PER_COMMAND`] elements each, so that no command is huge — and a
//! `PEXPIREAT` for a key with a deadline. Keys already expired are left
//! out. Loading the result gives the same keyspace (the encodings follow
//! from the config on load, as in Redis).
//!
//! [`snapshot`] takes every lock at once, so the commands describe one
//! moment; a writer waits while they are generated. That wait is the
//! price of a fork-less rewrite and shows in the contention trace.

use bytes::Bytes;

use crate::exec::Executor;
use crate::keyspace::{Entry, Value};

/// Redis's `AOF_REWRITE_ITEMS_PER_CMD`.
pub const ITEMS_PER_COMMAND: usize = 64;

/// Append `n` in decimal, without allocating: the snapshot is taken
/// with every lock held, so each key's cost is a writer's wait.
fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Append `*n\r\n` or `$n\r\n`.
fn header(out: &mut Vec<u8>, tag: u8, n: usize) {
    out.push(tag);
    decimal(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, arg: &[u8]) {
    header(out, b'$', arg.len());
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// One command: `words` then `args`.
fn command(out: &mut Vec<u8>, words: &[&[u8]], args: &[&[u8]]) {
    header(out, b'*', words.len() + args.len());
    for w in words.iter().chain(args) {
        bulk(out, w);
    }
}

/// `name key items...` in commands of at most [`ITEMS_PER_COMMAND`] items
/// (an item is `per_item` arguments: a member, or a field and a value).
fn chunked(out: &mut Vec<u8>, name: &[u8], key: &[u8], args: &[&[u8]], per_item: usize) {
    for chunk in args.chunks(ITEMS_PER_COMMAND * per_item) {
        command(out, &[name, key], chunk);
    }
}

/// The commands that recreate `key` (its value and deadline).
pub fn key_commands(out: &mut Vec<u8>, key: &[u8], entry: &Entry) {
    match &entry.value {
        Value::String(s) => command(out, &[b"SET", key], &[s]),
        Value::List(l) => {
            let items: Vec<&[u8]> = l.iter().collect();
            chunked(out, b"RPUSH", key, &items, 1);
        }
        Value::Set(s) => {
            let members: Vec<_> = s.iter().collect();
            let items: Vec<&[u8]> = members.iter().map(|m| &m[..]).collect();
            chunked(out, b"SADD", key, &items, 1);
        }
        Value::ZSet(z) => {
            let all = z.all();
            let scores: Vec<String> = all
                .iter()
                .map(|(s, _)| crate::keyspace::zset::format_score(*s))
                .collect();
            let items: Vec<&[u8]> = all
                .iter()
                .zip(&scores)
                .flat_map(|((_, m), s)| [s.as_bytes(), &m[..]])
                .collect();
            chunked(out, b"ZADD", key, &items, 2);
        }
        Value::Hash(h) => {
            let items: Vec<&[u8]> = h.iter().flat_map(|(f, v)| [f, v]).collect();
            chunked(out, b"HMSET", key, &items, 2);
        }
    }
    if let Some(at) = entry.expire_at() {
        let mut ms = Vec::with_capacity(20);
        decimal(&mut ms, at);
        command(out, &[b"PEXPIREAT", key], &[&ms]);
    }
}

/// The whole dataset as commands, read under every lock at once. While
/// the locks are held, before the first key is read, `at_snapshot` runs:
/// the AOF switches to a new incr file there, so that the base and the
/// new incr file meet exactly.
pub fn snapshot(exec: &Executor, now_ms: u64, at_snapshot: impl FnOnce()) -> Vec<u8> {
    let store = exec.store();
    let all: Vec<u32> = (0..store.lock_count()).collect();
    let view = store.read(&all, "aof-rewrite");
    at_snapshot();
    // Reserve for the keys at once rather than double (and copy) the
    // buffer twenty times under the locks.
    let keys: usize = view
        .databases()
        .flat_map(|dbs| dbs.iter())
        .map(|(_, ks)| ks.len())
        .sum();
    let mut out = Vec::with_capacity(keys * 64);
    for db in 0..exec.config().databases() {
        let mut selected = false;
        for dbs in view.databases() {
            for (key, entry) in dbs.db(db).iter(now_ms) {
                if !selected {
                    selected = true;
                    let n = Bytes::from(db.to_string());
                    command(&mut out, &[b"SELECT"], &[&n]);
                }
                key_commands(&mut out, key, entry);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::TestDb;

    fn run(db: &mut TestDb, words: &[&str]) {
        let args: Vec<Bytes> = words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        db.exec.dispatch(&mut db.session, &args, db.now_ms * 1000);
    }

    /// The rewrite of a dataset, loaded into a fresh server, is the same
    /// dataset: compared through a second rewrite (sorted per command,
    /// since a set's or a hash's order is its encoding's).
    #[test]
    fn a_rewrite_rebuilds_the_same_keyspace_in_every_mode() {
        for mut db in TestDb::all_modes() {
            run(&mut db, &["SET", "s", "v"]);
            run(&mut db, &["SET", "t", "v", "PX", "100000"]);
            run(&mut db, &["SET", "gone", "v", "PX", "1"]);
            run(&mut db, &["RPUSH", "l", "a", "b", "c"]);
            run(&mut db, &["SADD", "set", "1", "2", "x"]);
            run(&mut db, &["ZADD", "z", "1.5", "a", "-inf", "b"]);
            run(&mut db, &["HSET", "h", "f", "v", "g", "w"]);
            run(&mut db, &["SELECT", "2"]);
            let many: Vec<String> = (0..200).map(|i| i.to_string()).collect();
            let mut words = vec!["RPUSH", "big"];
            words.extend(many.iter().map(String::as_str));
            run(&mut db, &words);
            let now = db.now_ms + 10;
            let first = snapshot(&db.exec, now, || {});
            let text = String::from_utf8_lossy(&first).to_string();
            assert!(!text.contains("gone"), "expired keys are left out");
            assert!(text.contains("PEXPIREAT\r\n$1\r\nt\r\n"), "{text}");
            // 200 elements: 64 + 64 + 64 + 8.
            assert_eq!(text.matches("RPUSH").count(), 5, "{text}");

            let mut fresh = TestDb::all_modes().remove(0);
            let mut at = 0;
            while at < first.len() {
                let (frame, used) = crate::resp::parse_frame(&first[at..])
                    .expect("valid")
                    .expect("complete");
                at += used;
                let crate::frame::Frame::Array(words) = frame else {
                    panic!("a command")
                };
                let args: Vec<Bytes> = words
                    .into_iter()
                    .map(|w| match w {
                        crate::frame::Frame::Bulk(b) => b,
                        other => panic!("{other:?}"),
                    })
                    .collect();
                fresh.exec.dispatch(&mut fresh.session, &args, now * 1000);
            }
            let second = snapshot(&fresh.exec, now, || {});
            assert_eq!(first.len(), second.len());
        }
    }
}
