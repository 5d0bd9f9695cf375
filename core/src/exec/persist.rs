//! RDB snapshots of the whole store: [`Executor::save_rdb`] and
//! [`Executor::load_rdb`], the bridge between the locks and the pure codec
//! in [`crate::rdb`]. The shell decides where the bytes go (SAVE, BGSAVE,
//! start-up, the AOF base file); nothing here touches a file or a clock.
//!
//! ## Why every lock, and for how long
//! Redis forks: the child writes the parent's memory as it was at the
//! fork, so the file is one instant of the data set. Without fork, the
//! same guarantee needs every lock held for the whole write. Shared where
//! the strategy allows (rw mode: readers go on, writers wait), exclusive
//! otherwise (mutex and shard mode stop everyone): the snapshot's cost is
//! exactly what the lock trace will show as one long hold by `save`.
//! `out` is written while the locks are held: a shell that passes a `Vec`
//! and writes the file after `save_rdb` returns keeps that hold as short
//! as serialising is; passing the file itself holds the locks for the
//! disk writes too.

use std::io::{self, Write};

use super::Executor;
use crate::keyspace::{Databases, Value};
use crate::rdb::{self, Aux, LoadStats, RdbError, SaveStats, Writer};

/// Counts what goes through to the caller's writer (the file size).
struct Counted<'w> {
    out: &'w mut dyn Write,
    bytes: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// How often (in keys) a load drops the write notes it piles up: loading
/// is not a command, nothing consumes them, and a million keys would
/// otherwise hold a million notes until the end.
const LOAD_JOURNAL_BATCH: u64 = 4096;

impl Executor {
    /// Write an RDB snapshot of every database to `out`, as redis-server
    /// 7.0's SAVE would for the same data: `aof_base` marks the file as
    /// the base of a multi-part AOF (aux field `aof-base`), `now_ms` is
    /// the clock reading that decides which keys are already expired
    /// (left out) and the `ctime` aux field.
    ///
    /// Databases are written in order, each once: in shard mode one
    /// database is spread over every shard, so its keys are gathered
    /// shard by shard (in lock order, then each keyspace's deterministic
    /// order) under one `SELECTDB`.
    pub fn save_rdb(
        &self,
        out: &mut dyn Write,
        now_ms: u64,
        aof_base: bool,
    ) -> io::Result<SaveStats> {
        let all: Vec<u32> = (0..self.store().lock_count()).collect();
        let view = self.store().read(&all, "save");
        let shards: Vec<&Databases> = view.databases().collect();
        // used-mem: there is no allocator count to report (Redis only
        // logs it when loading).
        let aux = Aux::redis_7_0(now_ms / 1000, 0, aof_base);
        let mut counted = Counted { out, bytes: 0 };
        let mut writer = Writer::new(&mut counted, &aux, self.config().limits().list_node)?;
        let mut stats = SaveStats::default();
        for db in 0..self.store().databases() {
            let live = || shards.iter().flat_map(move |dbs| dbs.db(db).iter(now_ms));
            let keys = live().count() as u64;
            if keys == 0 {
                continue;
            }
            let expires = live().filter(|(_, e)| e.expire_at().is_some()).count() as u64;
            writer.select_db(db, keys, expires)?;
            for (key, entry) in live() {
                writer.entry(key, &entry.value, entry.expire_at())?;
            }
            stats.keys += keys;
            stats.expires += expires;
            stats.databases += 1;
        }
        writer.finish()?;
        drop(view);
        stats.bytes = counted.bytes;
        Ok(stats)
    }

    /// Load an RDB file into the store, which must be empty (start-up, or
    /// after FLUSHALL): every key goes to the shard that owns it, in the
    /// database the file names, with its deadline.
    ///
    /// As a Redis master does, keys whose deadline passed before `now_ms`
    /// are not loaded. Values get the encodings the current config limits
    /// give them. A key that appears twice in a database, a database
    /// number the server does not have, or any malformed byte is an
    /// error; the store is then left empty again (Redis exits instead),
    /// so a failed load never leaves half a data set behind. Holds every
    /// lock exclusively throughout.
    pub fn load_rdb(&self, bytes: &[u8], now_ms: u64) -> Result<LoadStats, RdbError> {
        let all: Vec<u32> = (0..self.store().lock_count()).collect();
        let databases = self.store().databases();
        let limits = self.config().limits();
        let mut view = self.store().write(&all, "load").at(now_ms);
        let empty = view
            .databases()
            .all(|dbs| dbs.iter().all(|(_, ks)| ks.is_empty()));
        if !empty {
            return Err(RdbError::new(
                0,
                "the store is not empty: load an RDB file at start-up or after FLUSHALL",
            ));
        }
        let mut stats = LoadStats::default();
        let loaded = rdb::load(bytes, &limits, |entry| {
            if entry.db >= databases {
                return Err(RdbError::new(
                    entry.offset,
                    format!("key in database {}, but this server has {databases} databases (see `databases`)", entry.db),
                ));
            }
            if entry.deadline_ms.is_some_and(|at| at < now_ms) {
                stats.expired += 1;
                return Ok(());
            }
            // Every lock is held, so the key's keyspace is always in the view.
            let mut ks = view.ks_mut_in(entry.db, &entry.key).map_err(|e| {
                RdbError::new(entry.offset, format!("internal: lock {} not held", e.lock))
            })?;
            if ks.holds(&entry.key) {
                return Err(RdbError::new(
                    entry.offset,
                    format!(
                        "duplicate key {:?} in database {}",
                        String::from_utf8_lossy(&entry.key),
                        entry.db
                    ),
                ));
            }
            let value: Value = entry.value;
            ks.set(&entry.key, value, entry.deadline_ms);
            drop(ks);
            stats.keys += 1;
            if stats.keys % LOAD_JOURNAL_BATCH == 0 {
                view.take_signal(&[]);
            }
            Ok(())
        });
        match loaded {
            Ok(aux) => {
                view.take_signal(&[]);
                self.publish_memory(&view);
                stats.aux = aux;
                Ok(stats)
            }
            Err(e) => {
                view.flush(true);
                view.take_signal(&[]);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rdb::{self, rdb_type};
    use crate::testkit::{bulk, int, TestDb};
    use crate::Frame;

    /// One of every type and encoding, over three databases, with TTLs.
    fn fill(db: &mut TestDb) {
        let script: &[&[&str]] = &[
            &["SET", "str", "hello"],
            &["SET", "num", "42"],
            &["SET", "ttl", "v", "PX", "100000"],
            &["SET", "gone", "v", "PX", "10"],
            &["RPUSH", "list", "a", "b", "1", "2"],
            &["HSET", "hash", "f", "v", "n", "1"],
            &["SADD", "ints", "3", "1", "2"],
            &["SELECT", "3"],
            &["SADD", "words", "x", "y"],
            &["ZADD", "z", "1.5", "a", "-2", "b"],
            &["SELECT", "15"],
            &["SET", "far", "away"],
            &["SELECT", "0"],
        ];
        for args in script {
            db.cmd(args);
        }
        for i in 0..200 {
            db.cmd(&["ZADD", "bigz", &i.to_string(), &format!("m{i}")]);
            db.cmd(&["HSET", "bighash", &format!("f{i}"), "x"]);
            db.cmd(&["RPUSH", "biglist", &"e".repeat(100)]);
        }
    }

    #[test]
    fn save_then_load_restores_every_key_in_every_mode() {
        for mut db in TestDb::all_modes() {
            fill(&mut db);
            db.advance_ms(50);
            let mut file = Vec::new();
            let stats = db.exec.save_rdb(&mut file, db.now_ms, false).unwrap();
            assert_eq!(stats.keys, 12, "{:?}", db.exec.store().mode());
            assert_eq!(stats.expires, 1, "`gone` expired before the save");
            assert_eq!(stats.databases, 3);
            assert_eq!(stats.bytes, file.len() as u64);

            let mut fresh = TestDb::new(db.exec.store().mode(), db.exec.store().lock_count());
            fresh.now_ms = db.now_ms;
            let loaded = fresh.exec.load_rdb(&file, fresh.now_ms).unwrap();
            assert_eq!((loaded.keys, loaded.expired), (12, 0));
            assert_eq!(loaded.aux.get("aof-base"), Some(&b"0"[..]));
            assert_eq!(fresh.cmd(&["DBSIZE"]), int(9));
            assert_eq!(fresh.cmd(&["GET", "num"]), bulk("42"));
            assert_eq!(fresh.cmd(&["PTTL", "ttl"]), int(100_000 - 50));
            assert_eq!(fresh.cmd(&["OBJECT", "ENCODING", "ints"]), bulk("intset"));
            assert_eq!(fresh.cmd(&["OBJECT", "ENCODING", "bigz"]), bulk("skiplist"));
            assert_eq!(fresh.cmd(&["LINDEX", "list", "2"]), bulk("1"));
            fresh.cmd(&["SELECT", "3"]);
            assert_eq!(fresh.cmd(&["ZSCORE", "z", "a"]), bulk("1.5"));
            fresh.cmd(&["SELECT", "15"]);
            assert_eq!(fresh.cmd(&["GET", "far"]), bulk("away"));

            // Saved again: the same keys, so a file of the same size (the
            // key order may differ: the tables were filled in file order).
            let mut again = Vec::new();
            fresh.exec.save_rdb(&mut again, db.now_ms, false).unwrap();
            assert_eq!(again.len(), file.len());
        }
    }

    #[test]
    fn loading_skips_expired_keys_refuses_duplicates_and_needs_an_empty_store() {
        for mut db in TestDb::all_modes() {
            fill(&mut db);
            let mut file = Vec::new();
            db.exec.save_rdb(&mut file, db.now_ms, true).unwrap();

            // Later than `ttl`'s deadline (and `gone`'s): both left out.
            let mut late = TestDb::new(db.exec.store().mode(), db.exec.store().lock_count());
            let stats = late.exec.load_rdb(&file, db.now_ms + 200_000).unwrap();
            assert_eq!((stats.keys, stats.expired), (11, 2));
            assert_eq!(late.cmd(&["EXISTS", "ttl"]), int(0));
            assert_eq!(stats.aux.get("aof-base"), Some(&b"1"[..]));

            let err = late.exec.load_rdb(&file, db.now_ms).unwrap_err();
            assert!(err.message.contains("not empty"), "{err}");

            // A file with one key twice: an error, and nothing stays.
            let mut twice = Vec::new();
            let mut w = rdb::Writer::new(
                &mut twice,
                &rdb::Aux::redis_7_0(0, 0, false),
                Default::default(),
            )
            .unwrap();
            w.select_db(0, 2, 0).unwrap();
            for _ in 0..2 {
                w.entry(b"k", &crate::keyspace::Value::String(b"v".into()), None)
                    .unwrap();
            }
            w.finish().unwrap();
            let mut fresh = TestDb::new(db.exec.store().mode(), db.exec.store().lock_count());
            let err = fresh.exec.load_rdb(&twice, db.now_ms).unwrap_err();
            assert!(err.message.contains("duplicate key"), "{err}");
            assert_eq!(
                fresh.cmd(&["DBSIZE"]),
                int(0),
                "a failed load leaves nothing"
            );

            // Database 16 does not exist on a 16-database server.
            let mut far = Vec::new();
            let mut w = rdb::Writer::new(
                &mut far,
                &rdb::Aux::redis_7_0(0, 0, false),
                Default::default(),
            )
            .unwrap();
            w.select_db(16, 1, 0).unwrap();
            w.entry(b"k", &crate::keyspace::Value::String(b"v".into()), None)
                .unwrap();
            w.finish().unwrap();
            let err = fresh.exec.load_rdb(&far, db.now_ms).unwrap_err();
            assert!(err.message.contains("16 databases"), "{err}");
            assert_eq!(fresh.cmd(&["DBSIZE"]), Frame::Integer(0));
        }
    }

    #[test]
    fn saved_types_are_the_encodings_in_memory() {
        let mut db = TestDb::new(crate::Mode::Mutex, 1);
        fill(&mut db);
        let mut file = Vec::new();
        db.exec.save_rdb(&mut file, db.now_ms, false).unwrap();
        let mut types = std::collections::BTreeMap::new();
        rdb::load(&file, &db.exec.config().limits(), |l| {
            types.insert(String::from_utf8_lossy(&l.key).into_owned(), l.rdb_type);
            Ok(())
        })
        .unwrap();
        let want = [
            ("str", rdb_type::STRING),
            ("list", rdb_type::LIST_QUICKLIST_2),
            ("hash", rdb_type::HASH_LISTPACK),
            ("bighash", rdb_type::HASH_LISTPACK),
            ("ints", rdb_type::SET_INTSET),
            ("words", rdb_type::SET),
            ("z", rdb_type::ZSET_LISTPACK),
            ("bigz", rdb_type::ZSET_2),
        ];
        for (key, t) in want {
            assert_eq!(types.get(key), Some(&t), "{key}");
        }
    }
}
