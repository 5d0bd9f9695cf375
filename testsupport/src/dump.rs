//! A session that leaves one of everything ([`populate`]), and a
//! server's whole contents as text, to compare two servers (or one
//! server before and after a restart) key for key: every database, every
//! key, its type, its value in a canonical form (members sorted where
//! order means nothing) and its absolute deadline (PEXPIRETIME).

use std::time::Duration;

use redis::{Connection, Value};

/// A session that leaves one of everything: every type in both of its
/// encodings, integers, TTLs, several databases, a transaction, the
/// rewritten commands (INCRBYFLOAT, SET EX, EXPIRE), deletions, and a
/// key that expires before the restart.
pub fn populate(con: &mut redis::Connection) {
    let run = |con: &mut redis::Connection, words: &[&str]| {
        crate::cmd(con, words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    };
    run(con, &["SET", "s", "hello"]);
    run(con, &["SET", "n", "12345"]);
    run(con, &["INCR", "n"]);
    run(con, &["INCRBYFLOAT", "f", "1.25"]);
    run(con, &["SET", "ttl", "v", "EX", "1000"]);
    run(con, &["SET", "gone", "v", "PX", "1"]);
    run(con, &["SET", "persisted", "v", "EX", "100"]);
    run(con, &["PERSIST", "persisted"]);
    run(con, &["EXPIRE", "s", "5000"]);
    run(con, &["APPEND", "s", " world"]);
    run(con, &["HSET", "h", "a", "1", "b", "2"]);
    let big: Vec<String> = (0..300).map(|i| format!("field{i}")).collect();
    for chunk in big.chunks(100) {
        let mut words = vec!["HSET", "hbig"];
        for f in chunk {
            words.extend([f.as_str(), f.as_str()]);
        }
        run(con, &words);
    }
    run(con, &["HSET", "hlong", "k", &"x".repeat(100)]);
    run(con, &["SADD", "ints", "1", "2", "3"]);
    run(con, &["SADD", "strs", "a", "b", "c"]);
    run(con, &["SREM", "strs", "b"]);
    run(con, &["RPUSH", "l", "a", "b", "c"]);
    run(con, &["LPUSH", "l", "z"]);
    run(con, &["LPOP", "l"]);
    run(con, &["ZADD", "z", "1", "one", "2.5", "two", "-inf", "low"]);
    run(con, &["ZINCRBY", "z", "0.1", "one"]);
    run(con, &["MULTI"]);
    run(con, &["SET", "tx1", "a"]);
    run(con, &["INCR", "tx2"]);
    run(con, &["EXEC"]);
    run(con, &["SELECT", "3"]);
    run(con, &["SET", "in3", "x"]);
    run(con, &["RPUSH", "l3", "1", "2"]);
    run(con, &["SELECT", "15"]);
    run(con, &["HSET", "in15", "f", "v"]);
    run(con, &["SWAPDB", "15", "14"]);
    run(con, &["SELECT", "0"]);
    run(con, &["SET", "tmp", "x"]);
    run(con, &["DEL", "tmp"]);
    run(con, &["RENAME", "ints", "ints2"]);
    // `gone` has expired by now (1 ms); reading it deletes it.
    std::thread::sleep(Duration::from_millis(5));
    run(con, &["GET", "gone"]);
}

/// One line per key, sorted: `db key type value deadline`.
pub fn dump(con: &mut Connection, databases: u32) -> Vec<String> {
    let mut lines = Vec::new();
    for db in 0..databases {
        let _: () = redis::cmd("SELECT").arg(db).query(con).expect("SELECT");
        let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
        keys.sort();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(con).expect("TYPE");
            let value = match kind.as_str() {
                "string" => show(&cmd(con, "GET", &key, &[])),
                "list" => show(&cmd(con, "LRANGE", &key, &["0", "-1"])),
                "hash" => sorted_pairs(cmd(con, "HGETALL", &key, &[])),
                "set" => sorted(cmd(con, "SMEMBERS", &key, &[])),
                "zset" => show(&cmd(con, "ZRANGE", &key, &["0", "-1", "WITHSCORES"])),
                other => format!("<{other}>"),
            };
            let deadline: i64 = redis::cmd("PEXPIRETIME")
                .arg(&key)
                .query(con)
                .expect("PEXPIRETIME");
            lines.push(format!(
                "{db} {} {kind} {value} {deadline}",
                String::from_utf8_lossy(&key).escape_debug()
            ));
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(con).expect("SELECT");
    lines
}

fn cmd(con: &mut Connection, name: &str, key: &[u8], rest: &[&str]) -> Value {
    redis::cmd(name).arg(key).arg(rest).query(con).expect(name)
}

fn show(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).escape_debug().to_string(),
        Value::Array(items) | Value::Set(items) => {
            let parts: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Double(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn sorted(v: Value) -> String {
    let mut parts: Vec<String> = match v {
        Value::Array(items) | Value::Set(items) => items.iter().map(show).collect(),
        other => return show(&other),
    };
    parts.sort();
    format!("{{{}}}", parts.join(","))
}

fn sorted_pairs(v: Value) -> String {
    let mut pairs: Vec<String> = match v {
        Value::Array(items) => items
            .chunks(2)
            .map(|p| format!("{}={}", show(&p[0]), show(&p[1])))
            .collect(),
        Value::Map(items) => items
            .iter()
            .map(|(k, v)| format!("{}={}", show(k), show(v)))
            .collect(),
        other => return show(&other),
    };
    pairs.sort();
    format!("{{{}}}", pairs.join(","))
}
