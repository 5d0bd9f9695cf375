//! A server's whole contents as text, to compare two servers (or one
//! server before and after a restart) key for key: every database, every
//! key, its type, its value in a canonical form (members sorted where
//! order means nothing) and its absolute deadline (PEXPIRETIME).

use redis::{Connection, Value};

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
