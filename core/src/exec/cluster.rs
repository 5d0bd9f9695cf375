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
        let queued: Vec<(&'static CommandSpec, &[Bytes])>;
        let queries: &[(&'static CommandSpec, &[Bytes])] = if is_exec {
            let txn = session.multi.as_ref()?;
            queued = txn
                .commands
                .iter()
                .filter_map(|argv| Some((cmd::lookup(argv.first()?)?, argv.as_slice())))
                .collect();
            &queued
        } else {
            &[(spec, args)]
        };
        let asking = session.asking || spec.name == "restore-asking";
        let mut exists = |key: &[u8]| {
            let locks = [crate::store::lock_of(key, self.store.lock_count())];
            let view = self.store.read(&locks, "cluster").in_db(0);
            view.ks(key).is_ok_and(|ks| ks.contains(key, now_ms))
        };
        let state = cluster.read();
        // Read only when it matters: the config is behind a lock of its own.
        let allow_reads = !state.ok
            && self
                .config
                .value(crate::config::named("cluster-allow-reads-when-down"))
                == crate::config::Value::Bool(true);
        match route(&state, queries, asking, allow_reads, &mut exists) {
            Route::Here => None,
            Route::Refuse(error) => {
                drop(state);
                if is_exec {
                    self.end_transaction(session);
                }
                Some(error)
            }
        }
    }
}
