//! Cluster mode in the executor: the routing check every keyed command
//! passes before it runs (Redis's `processCommand` calls
//! `getNodeByQuery` after authentication, before the memory and
//! persistence checks), and the handles the shell gives it.

use std::sync::Arc;

use bytes::Bytes;

use super::{Executor, AOF_CLIENT_ID};
use crate::cluster::route::{route, Route};
use crate::cluster::{Cluster, ClusterShell};
use crate::cmd::{self, CommandSpec, Handler};
use crate::frame::Frame;
use crate::session::Session;

impl Executor {
    /// Serve in cluster mode with this state.
    pub fn with_cluster(mut self, cluster: Arc<Cluster>) -> Executor {
        self.cluster = Some(cluster);
        self
    }

    /// Give MIGRATE the shell's network.
    pub fn with_network(mut self, network: Arc<dyn ClusterShell>) -> Executor {
        self.network = Some(network);
        self
    }

    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_deref()
    }

    pub fn network(&self) -> Option<&dyn ClusterShell> {
        self.network.as_deref()
    }

    /// The redirection or error for a command this node must not serve
    /// (see `cluster::route`); `None` to go on. EXEC routes its whole
    /// queue, and a refused EXEC discards the transaction, as in Redis.
    pub(super) fn cluster_gate(
        &self,
        spec: &'static CommandSpec,
        session: &mut Session,
        args: &[Bytes],
        now_ms: u64,
    ) -> Option<Frame> {
        let cluster = self.cluster.as_deref()?;
        // The AOF's commands are obeyed, never redirected.
        if session.id == AOF_CLIENT_ID {
            return None;
        }
        let is_exec = matches!(spec.handler, Handler::Exec);
        if !is_exec && !spec.has_keys() {
            return None;
        }
        if is_exec && session.multi.is_none() {
            return None;
        }
        // This connection's copy of the state: no shared lock per command.
        let state = cluster.view(&mut session.cluster_view);
        let queued: Vec<(&'static CommandSpec, &[Bytes])>;
        let queries: &[(&'static CommandSpec, &[Bytes])] = match &session.multi {
            Some(txn) if is_exec => {
                queued = txn
                    .commands
                    .iter()
                    .filter_map(|argv| Some((cmd::lookup(argv.first()?)?, argv.as_slice())))
                    .collect();
                &queued
            }
            _ => &[(spec, args)],
        };
        let asking = session.asking || spec.name == "restore-asking";
        let mut exists = |key: &[u8]| {
            let locks = [crate::store::lock_of(key, self.store.lock_count())];
            let view = self.store.read(&locks, "cluster").in_db(0);
            view.ks(key).is_ok_and(|ks| ks.contains(key, now_ms))
        };
        // Read only when it matters: the config is behind a lock of its own.
        let allow_reads = !state.ok
            && self
                .config
                .value(crate::config::named("cluster-allow-reads-when-down"))
                == crate::config::Value::Bool(true);
        match route(state, queries, asking, allow_reads, &mut exists) {
            Route::Here => None,
            Route::Refuse(error) => {
                if is_exec {
                    self.end_transaction(session);
                }
                // A blocked pop woken after its slot moved away is
                // answered with the redirection and leaves its queue
                // (Redis's clusterRedirectBlockedClientIfNeeded).
                if session.blocked.take().is_some() {
                    self.blocking.dequeue(session.id);
                }
                Some(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use crate::cluster::{key_slot, Cluster, ClusterShell, ClusterState, MigrateTarget, Node};
    use crate::exec::{Config, Executor, AOF_CLIENT_ID};
    use crate::frame::Frame;
    use crate::store::{new_store, Mode, NoObserver};
    use crate::testkit::TestDb;

    /// The shell of a node that never talks to anyone.
    struct Offline;

    impl ClusterShell for Offline {
        fn fresh_node_id(&self) -> String {
            "f".repeat(40)
        }

        fn migrate(
            &self,
            _: &MigrateTarget,
            _: &[Vec<Bytes>],
        ) -> Result<Vec<Result<(), String>>, String> {
            Err("IOERR error or timeout connecting to the client".into())
        }

        fn publish(&self, _: &Bytes, _: &Bytes) {}
    }

    /// Node `a` (us) serves every slot but foo's, which `b` serves.
    fn node_a(mode: Mode, shards: u32) -> (TestDb, Arc<Cluster>) {
        let id = |c: char| c.to_string().repeat(40);
        let mut state = ClusterState::new(Node::new(id('a'), "127.0.0.1".into(), 7000, 17000));
        state.learn(Node::new(id('b'), "127.0.0.1".into(), 7001, 17001), 0);
        for slot in 0..crate::cluster::SLOTS as u16 {
            state.assign(slot, Some(&id('a')));
        }
        state.assign(key_slot(b"foo"), Some(&id('b')));
        state.update_state();
        let cluster = Arc::new(Cluster::new(state, Arc::new(Offline)));
        let exec = Executor::new(
            new_store(mode, shards, 16, Arc::new(NoObserver)),
            1,
            Config::with_defaults(),
        )
        .with_cluster(cluster.clone());
        let session = exec.new_session();
        let db = TestDb {
            exec,
            session,
            now_ms: 1_700_000_000_000,
        };
        (db, cluster)
    }

    const MOVED: &str = "MOVED 12182 127.0.0.1:7001";

    #[test]
    fn redirects_and_transactions() {
        for (mode, shards) in [(Mode::Mutex, 1), (Mode::Shard, 8)] {
            let (mut db, _) = node_a(mode, shards);
            assert_eq!(db.cmd(&["SET", "bar", "1"]), Frame::ok());
            assert_eq!(db.cmd(&["GET", "foo"]), Frame::error(MOVED));
            assert_eq!(
                db.cmd(&["SELECT", "1"]),
                Frame::error("ERR SELECT is not allowed in cluster mode")
            );
            assert_eq!(db.cmd(&["SELECT", "0"]), Frame::ok());
            // A refused command in MULTI aborts the transaction.
            assert_eq!(db.cmd(&["MULTI"]), Frame::ok());
            assert_eq!(db.cmd(&["SET", "foo", "1"]), Frame::error(MOVED));
            assert_eq!(db.cmd(&["SET", "bar", "2"]), Frame::simple("QUEUED"));
            assert!(db.cmd(&["EXEC"]).is_error());
            assert_eq!(db.cmd(&["GET", "bar"]), Frame::bulk(b"1"));
            // The AOF's commands are never redirected.
            let mut aof = db.exec.session_with_id(AOF_CLIENT_ID);
            let args: Vec<Bytes> = ["SET", "foo", "x"]
                .iter()
                .map(|w| Bytes::from_static(w.as_bytes()))
                .collect();
            assert_eq!(db.exec.dispatch(&mut aof, &args, 0).0, Frame::ok());
        }
    }

    #[test]
    fn asking_lasts_one_command() {
        let (mut db, cluster) = node_a(Mode::Shard, 4);
        {
            let mut state = cluster.write();
            state.importing.insert(key_slot(b"foo"), "b".repeat(40));
            state.version += 1;
        }
        assert_eq!(db.cmd(&["ASKING"]), Frame::ok());
        assert_eq!(db.cmd(&["SET", "foo", "here"]), Frame::ok());
        assert_eq!(db.cmd(&["GET", "foo"]), Frame::error(MOVED));
        assert_eq!(db.cmd(&["ASKING"]), Frame::ok());
        assert_eq!(db.cmd(&["GET", "foo"]), Frame::bulk(b"here"));
        // In MULTI, ASKING covers the whole transaction (Redis keeps the
        // flag until EXEC).
        assert_eq!(db.cmd(&["ASKING"]), Frame::ok());
        assert_eq!(db.cmd(&["MULTI"]), Frame::ok());
        assert_eq!(db.cmd(&["GET", "foo"]), Frame::simple("QUEUED"));
        assert_eq!(db.cmd(&["GET", "foo"]), Frame::simple("QUEUED"));
        assert_eq!(
            db.cmd(&["EXEC"]),
            Frame::Array(vec![Frame::bulk(b"here"), Frame::bulk(b"here")])
        );
        assert_eq!(db.cmd(&["GET", "foo"]), Frame::error(MOVED));
    }

    #[test]
    fn migrate_without_a_reachable_target_keeps_the_key() {
        let (mut db, _) = node_a(Mode::Mutex, 1);
        assert_eq!(db.cmd(&["SET", "bar", "v"]), Frame::ok());
        assert_eq!(
            db.cmd(&["MIGRATE", "127.0.0.1", "1", "bar", "0", "100"]),
            Frame::error("IOERR error or timeout connecting to the client")
        );
        assert_eq!(db.cmd(&["GET", "bar"]), Frame::bulk(b"v"));
        assert_eq!(
            db.cmd(&["MIGRATE", "127.0.0.1", "1", "nosuch", "0", "100"]),
            Frame::simple("NOKEY")
        );
    }

    #[test]
    fn dump_restore_round_trip_every_type() {
        let (mut db, _) = node_a(Mode::Shard, 4);
        for setup in [
            &["SET", "{k}s", "text"][..],
            &["SET", "{k}i", "12345"],
            &["RPUSH", "{k}l", "a", "b", "c"],
            &["HSET", "{k}h", "f", "v", "g", "w"],
            &["SADD", "{k}set", "1", "2", "x"],
            &["ZADD", "{k}z", "1.5", "m", "2", "n"],
        ] {
            assert!(!db.cmd(setup).is_error(), "{setup:?}");
            let key = setup[1];
            let Frame::Bulk(payload) = db.cmd(&["DUMP", key]) else {
                panic!("DUMP {key}")
            };
            let copy = format!("{key}:copy");
            let args: Vec<&[u8]> = vec![b"RESTORE", copy.as_bytes(), b"0", &payload];
            assert_eq!(db.cmd_bytes(&args), Frame::ok(), "{key}");
            if key == "{k}set" {
                // A hash-table set's order follows its insertions.
                let sorted = |f: Frame| match f {
                    Frame::Array(mut items) => {
                        items.sort_by_key(|i| i.to_bytes());
                        items
                    }
                    other => panic!("SMEMBERS gave {other:?}"),
                };
                assert_eq!(
                    sorted(db.cmd(&["SMEMBERS", &copy])),
                    sorted(db.cmd(&["SMEMBERS", key]))
                );
            } else {
                assert_eq!(
                    db.cmd(&["DUMP", &copy]),
                    Frame::Bulk(payload.clone()),
                    "{key} restores to the same value"
                );
            }
        }
    }
}

#[cfg(test)]
mod restore_tests {
    use crate::frame::Frame;
    use crate::store::Mode;
    use crate::testkit::TestDb;

    /// RESTORE's IDLETIME and FREQ set the access clock as Redis's
    /// `objectSetLRUOrLFU` does: the one the policy reads.
    #[test]
    fn restore_sets_idle_time_or_frequency() {
        let mut db = TestDb::new(Mode::Shard, 4);
        db.cmd(&["SET", "src", "v"]);
        let Frame::Bulk(payload) = db.cmd(&["DUMP", "src"]) else {
            panic!("DUMP")
        };
        let restore = |db: &mut TestDb, key: &str, hint: &str, n: &str| {
            db.cmd_bytes(&[
                b"RESTORE",
                key.as_bytes(),
                b"0",
                &payload,
                hint.as_bytes(),
                n.as_bytes(),
            ])
        };
        assert_eq!(restore(&mut db, "idle", "IDLETIME", "100"), Frame::ok());
        assert_eq!(db.cmd(&["OBJECT", "IDLETIME", "idle"]), Frame::Integer(100));
        db.advance_ms(5000);
        assert_eq!(db.cmd(&["OBJECT", "IDLETIME", "idle"]), Frame::Integer(105));
        assert_eq!(
            db.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]),
            Frame::ok()
        );
        assert_eq!(restore(&mut db, "freq", "FREQ", "7"), Frame::ok());
        assert_eq!(db.cmd(&["OBJECT", "FREQ", "freq"]), Frame::Integer(7));
    }
}
