//! Replaying a capture: records in, reply bytes out.
//!
//! This is the one implementation of "what a record means", shared by the
//! WebAssembly guest (which runs it on records read from stdin) and by the
//! simulator host (which runs it natively to compare speed, and to check
//! the guest against). A [`Replayer`] owns a fresh executor built from the
//! capture's [`Header`] and applies records strictly in sequence order:
//!
//! * `Open` creates a session with the captured connection id, so CLIENT ID
//!   answers what it answered then;
//! * `Command` sets the PRNG to the recorded position (if the command drew
//!   random numbers), parses the recorded request bytes with the same RESP
//!   parser the server used, and executes it with the recorded clock;
//! * `Expire` sets the PRNG position and runs the same active-expiry step
//!   on the same lock with the recorded clock;
//! * `LazyExpire` deletes the expired keys among the recorded read-only
//!   command's keys, at the point of the order where the server did (the
//!   replaying executor never does it on its own: it is built
//!   [`Executor::deferring_lazy_expiry`]);
//! * `Close` drops the session.
//!
//! Like the rest of `core`, no I/O: the caller moves the bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::BytesMut;

use crate::capture::{
    self, CommandRecord, ExpireRecord, Fields, Header, LazyExpireRecord, Mark, Record,
};
use crate::exec::{Config, Executor, Flow, Session};
use crate::info::{InfoSection, ServerHooks};
use crate::resp::{parse_request, Request};
use crate::store::{new_store, NoObserver};

/// What replaying one record produced, to compare with the capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A command's reply bytes (empty when it sent none, as SHUTDOWN).
    Reply { seq: u64, reply: Vec<u8> },
    /// An active-expiry step's counts.
    Expired {
        seq: u64,
        sampled: u64,
        expired: u64,
    },
    /// How many keys a lazy deletion removed.
    LazyExpired { seq: u64, deleted: u64 },
    /// An eviction was repeated.
    Evicted { seq: u64 },
}

impl Outcome {
    pub fn seq(&self) -> u64 {
        match self {
            Outcome::Reply { seq, .. }
            | Outcome::Expired { seq, .. }
            | Outcome::LazyExpired { seq, .. }
            | Outcome::Evicted { seq } => *seq,
        }
    }

    /// One line: `R seq <payload>`, `E seq sampled expired` or
    /// `L seq deleted`, in the
    /// capture's payload encoding (the guest's stdout format).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Outcome::Reply { seq, reply } => {
                out.extend_from_slice(format!("R {seq} ").as_bytes());
                capture::put_payload(out, reply);
            }
            Outcome::Expired {
                seq,
                sampled,
                expired,
            } => out.extend_from_slice(format!("E {seq} {sampled} {expired}").as_bytes()),
            Outcome::LazyExpired { seq, deleted } => {
                out.extend_from_slice(format!("L {seq} {deleted}").as_bytes())
            }
            Outcome::Evicted { seq } => out.extend_from_slice(format!("V {seq}").as_bytes()),
        }
        out.push(b'\n');
    }

    /// Read back what [`Outcome::encode`] wrote. A last line without `\n`
    /// (output cut short) is an error here: the guest always finishes its
    /// lines, so a partial one means it died mid-write.
    pub fn decode_all(bytes: &[u8]) -> Result<Vec<Outcome>, String> {
        let Some(body) = bytes.strip_suffix(b"\n") else {
            return if bytes.is_empty() {
                Ok(Vec::new())
            } else {
                Err("output ends in the middle of a line".to_string())
            };
        };
        body.split(|&b| b == b'\n')
            .enumerate()
            .map(|(i, line)| {
                Outcome::decode(line).ok_or_else(|| format!("output line {}: malformed", i + 1))
            })
            .collect()
    }

    fn decode(line: &[u8]) -> Option<Outcome> {
        let mut f = Fields::new(line);
        let outcome = match f.word()? {
            b"R" => Outcome::Reply {
                seq: f.number()?,
                reply: f.payload()?,
            },
            b"E" => Outcome::Expired {
                seq: f.number()?,
                sampled: f.number()?,
                expired: f.number()?,
            },
            b"L" => Outcome::LazyExpired {
                seq: f.number()?,
                deleted: f.number()?,
            },
            b"V" => Outcome::Evicted { seq: f.number()? },
            _ => return None,
        };
        f.end().then_some(outcome)
    }
}

/// The shell as replay sees it. CONFIG SET of a runtime parameter is
/// accepted (the server accepted it; what the shell did with it, such as
/// changing an idle timeout, has no effect on replies), and INFO gets no
/// shell sections (its reply is excluded from comparison anyway).
#[derive(Debug, Default)]
pub struct ReplayHooks;

impl ServerHooks for ReplayHooks {
    fn info_sections(&self, _: &dyn crate::store::Store, _: &Config) -> Vec<InfoSection> {
        Vec::new()
    }

    fn apply_config(
        &self,
        _: &'static crate::config::Param,
        _: &crate::config::Value,
    ) -> Result<(), String> {
        Ok(())
    }

    fn reset_stats(&self, _: &dyn crate::store::Store) {}
}

/// A fresh executor plus the sessions of the replayed connections.
pub struct Replayer {
    exec: Executor,
    sessions: BTreeMap<u64, Session>,
}

impl Replayer {
    /// An executor as the captured server started: same mode, shard
    /// count, seed and config table. No lock observer: replay measures
    /// nothing about locks.
    pub fn new(header: &Header) -> Replayer {
        let config = Config::with_defaults();
        for (name, value) in &header.config {
            // A parameter this build does not know (a capture from
            // another version) cannot be restored; its value only ever
            // showed in CONFIG GET, which then differs at that command.
            let _ = config.set(name, value);
        }
        let store = new_store(
            header.mode,
            header.shards,
            config.databases(),
            Arc::new(NoObserver),
        );
        Replayer {
            exec: Executor::new(store, header.seed, config)
                .with_hooks(Arc::new(ReplayHooks))
                .deferring_lazy_expiry(),
            sessions: BTreeMap::new(),
        }
    }

    pub fn executor(&self) -> &Executor {
        &self.exec
    }

    /// Apply one record (records must come in sequence order). `None` for
    /// records with nothing to compare: open, close, and commands that
    /// panicked in the server.
    pub fn apply(&mut self, record: &Record) -> Option<Outcome> {
        match record {
            Record::Open { conn, .. } => {
                self.sessions
                    .insert(*conn, self.exec.session_with_id(*conn));
                None
            }
            Record::Close { conn, .. } => {
                if let Some(mut session) = self.sessions.remove(conn) {
                    self.exec.end_session(&mut session);
                }
                None
            }
            Record::Command(c) if c.mark == Mark::Panicked => None,
            Record::Command(c) => Some(self.command(c)),
            Record::Expire(e) => Some(self.expire(e)),
            Record::LazyExpire(l) => Some(self.lazy_expire(l)),
            Record::Evict(v) => {
                self.exec
                    .replay_eviction(v.db, &bytes::Bytes::copy_from_slice(&v.key));
                Some(Outcome::Evicted { seq: v.seq })
            }
        }
    }

    fn command(&mut self, c: &CommandRecord) -> Outcome {
        // A command whose connection was opened before the capture could
        // see it still gets its id.
        let session = self
            .sessions
            .entry(c.conn)
            .or_insert_with(|| self.exec.session_with_id(c.conn));
        let reply = match parse_request(&c.request) {
            Ok(Request::Command { args, .. }) => {
                if let Some(position) = c.rng {
                    self.exec.rng().set_position(position);
                }
                let mut out = BytesMut::new();
                let executed = self.exec.execute(session, &args, c.now_us, &mut out);
                if matches!(executed.flow, Flow::Close | Flow::Shutdown) {
                    if let Some(mut session) = self.sessions.remove(&c.conn) {
                        self.exec.end_session(&mut session);
                    }
                }
                out.to_vec()
            }
            // The server answered a protocol error and closed.
            Err(e) => {
                if let Some(mut session) = self.sessions.remove(&c.conn) {
                    self.exec.end_session(&mut session);
                }
                capture::protocol_error_reply(&e)
            }
            // The server never records these (they produce no reply); an
            // empty reply makes the comparison fail and show the record.
            Ok(Request::Skip { .. } | Request::Incomplete) => Vec::new(),
        };
        Outcome::Reply { seq: c.seq, reply }
    }

    fn lazy_expire(&mut self, l: &LazyExpireRecord) -> Outcome {
        // The deletion follows its connection's read command before that
        // connection can run another, so the session still has the
        // database the command ran in selected.
        let db = self.sessions.get(&l.conn).map_or(0, |s| s.db);
        let deleted = match parse_request(&l.request) {
            Ok(Request::Command { args, .. }) => self.exec.lazy_expire(&args, db, l.now_us / 1000),
            _ => 0,
        };
        Outcome::LazyExpired {
            seq: l.seq,
            deleted,
        }
    }

    fn expire(&mut self, e: &ExpireRecord) -> Outcome {
        self.exec.rng().set_position(e.rng);
        let step = self.exec.active_expire_step(e.lock, e.now_us / 1000);
        Outcome::Expired {
            seq: e.seq,
            sampled: step.stats.sampled,
            expired: step.stats.expired,
        }
    }
}

/// Records in sequence order, cut at the first missing number.
#[derive(Debug)]
pub struct Ordered {
    /// Records `first..` without a gap, sorted by seq.
    pub records: Vec<Record>,
    /// The first missing sequence number, if records after it were
    /// dropped (a capture cut by SIGKILL loses what was still queued for
    /// the writer; replaying past the hole could not be faithful).
    pub gap_at: Option<u64>,
    /// How many records after the gap were dropped.
    pub dropped: usize,
}

/// Sort by sequence number; a duplicate number is an error (two records
/// cannot have taken effect at the same point).
pub fn order_by_seq(mut records: Vec<Record>) -> Result<Ordered, String> {
    records.sort_by_key(Record::seq);
    if let Some(w) = records.windows(2).find(|w| w[0].seq() == w[1].seq()) {
        return Err(format!("two records with seq {}", w[0].seq()));
    }
    let whole = records
        .iter()
        .enumerate()
        .position(|(i, r)| r.seq() != i as u64 + 1)
        .unwrap_or(records.len());
    let gap_at = (whole < records.len()).then_some(whole as u64 + 1);
    let dropped = records.len() - whole;
    records.truncate(whole);
    Ok(Ordered {
        records,
        gap_at,
        dropped,
    })
}

#[cfg(test)]
mod tests;
