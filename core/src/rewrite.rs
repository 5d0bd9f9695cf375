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
//! [`snapshot`] copies the dataset at one instant lock by lock (see
//! `snapshot.rs`): a writer waits at most while one lock's share is
//! written out, and that wait shows in the contention trace.

use crate::exec::Executor;
use crate::keyspace::{Databases, Entry, Value};

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

/// One lock's databases as commands: per non-empty database a `SELECT`,
/// then its keys (an [`crate::snapshot::Encode`] for an AOF base).
pub fn encode_databases(dbs: &Databases, now_ms: u64, out: &mut Vec<u8>) {
    let keys: usize = dbs.iter().map(|(_, ks)| ks.len()).sum();
    // Reserve for the keys at once rather than double (and copy) the
    // buffer while a writer may be waiting for this lock.
    out.reserve(keys * 64);
    for (db, ks) in dbs.iter() {
        let mut selected = false;
        for (key, entry) in ks.iter(now_ms) {
            if !selected {
                selected = true;
                let mut n = Vec::with_capacity(4);
                decimal(&mut n, u64::from(db));
                command(out, &[b"SELECT"], &[&n]);
            }
            key_commands(out, key, entry);
        }
    }
}

/// The whole dataset as commands, at one instant (see `snapshot.rs`):
/// `at_snapshot` runs at that instant, with every lock held.
pub fn snapshot(exec: &Executor, now_ms: u64, at_snapshot: impl FnOnce()) -> Vec<u8> {
    exec.snapshot(now_ms, Box::new(encode_databases), at_snapshot)
        .concat()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::testkit::TestDb;

    fn run(db: &mut TestDb, words: &[&str]) {
        let args: Vec<Bytes> = words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        db.exec.dispatch(&mut db.session, &args, db.now_ms * 1000);
    }

    /// The commands of a rewrite.
    fn commands(bytes: &[u8]) -> Vec<Vec<Bytes>> {
        let mut at = 0;
        let mut all = Vec::new();
        while at < bytes.len() {
            let (frame, used) = crate::resp::parse_frame(&bytes[at..])
                .expect("valid")
                .expect("complete");
            at += used;
            let crate::frame::Frame::Array(words) = frame else {
                panic!("a command")
            };
            all.push(
                words
                    .into_iter()
                    .map(|w| match w {
                        crate::frame::Frame::Bulk(b) => b,
                        other => panic!("{other:?}"),
                    })
                    .collect(),
            );
        }
        all
    }

    /// A rewrite's commands per (database, key), SELECTs resolved: the
    /// order of keys (and of SELECTs) depends on the lock mode, what each
    /// key gets does not.
    fn by_key(bytes: &[u8]) -> std::collections::BTreeMap<(Bytes, Bytes), Vec<Vec<Bytes>>> {
        let mut db = Bytes::new();
        let mut map = std::collections::BTreeMap::<_, Vec<_>>::new();
        for mut args in commands(bytes) {
            // A set's or a hash's order is its table's, which depends on
            // its history: compare members sorted.
            if args[0] == "SADD" {
                args[2..].sort();
            }
            if args[0] == "HMSET" {
                let mut pairs: Vec<Vec<Bytes>> =
                    args[2..].chunks(2).map(<[Bytes]>::to_vec).collect();
                pairs.sort();
                args.truncate(2);
                args.extend(pairs.into_iter().flatten());
            }
            if args[0] == "SELECT" {
                db = args[1].clone();
            } else {
                map.entry((db.clone(), args[1].clone()))
                    .or_default()
                    .push(args);
            }
        }
        map
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
            for args in commands(&first) {
                fresh.exec.dispatch(&mut fresh.session, &args, now * 1000);
            }
            let second = snapshot(&fresh.exec, now, || {});
            assert_eq!(by_key(&first), by_key(&second));
        }
    }
}
