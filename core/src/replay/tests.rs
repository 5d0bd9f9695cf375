use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::*;
use crate::capture::{shell_dependent, LazyExpireRecord, Mark};
use crate::resp::encode_request;
use crate::store::Mode;

/// A capturing "server" in miniature: a sequenced executor whose records
/// are built the way the native shell builds them.
struct Recorder {
    exec: Executor,
    header: Header,
    records: Vec<Record>,
    sessions: BTreeMap<u64, Session>,
}

impl Recorder {
    fn new(mode: Mode, shards: u32) -> Recorder {
        let store = new_store(
            mode,
            shards,
            crate::config::DEFAULT_DATABASES,
            Arc::new(NoObserver),
        );
        let config = Config::with_defaults();
        config.set("port", "7777").expect("port is a parameter");
        let header = Header {
            server: "test".into(),
            mode,
            shards,
            seed: 99,
            start_us: 0,
            config: config.entries(),
        };
        Recorder {
            exec: Executor::new(store, 99, config).with_sequencer(),
            header,
            records: Vec::new(),
            sessions: BTreeMap::new(),
        }
    }

    fn open(&mut self) -> u64 {
        let session = self.exec.new_session();
        let conn = session.id;
        self.sessions.insert(conn, session);
        let seq = self.exec.next_seq().unwrap();
        self.records.push(Record::Open {
            seq,
            conn,
            now_us: 0,
        });
        conn
    }

    fn cmd(&mut self, conn: u64, now_ms: u64, args: &[&str]) -> Vec<u8> {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        let mut request = BytesMut::new();
        let parts: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        encode_request(&parts, &mut request);
        let mut out = BytesMut::new();
        let session = self.sessions.get_mut(&conn).unwrap();
        let executed = self.exec.execute(session, &args, now_ms * 1000, &mut out);
        let mark = if shell_dependent(&args) {
            Mark::Excluded
        } else {
            Mark::Compared
        };
        self.records.push(Record::Command(CommandRecord {
            seq: executed.seq.unwrap(),
            conn,
            now_us: now_ms * 1000,
            rng: executed.rng_position,
            mark,
            request: request.to_vec(),
            reply: out.to_vec(),
        }));
        if let Some(lazy) = executed.lazy_expire {
            self.records.push(Record::LazyExpire(LazyExpireRecord {
                seq: lazy.seq.unwrap(),
                conn,
                now_us: now_ms * 1000,
                deleted: lazy.deleted,
                request: request.to_vec(),
            }));
        }
        out.to_vec()
    }

    fn expire(&mut self, now_ms: u64) {
        let records = &mut self.records;
        self.exec.active_expire_cycle_with(now_ms, |step| {
            if let Some(seq) = step.seq {
                records.push(Record::Expire(ExpireRecord {
                    seq,
                    lock: step.lock,
                    now_us: now_ms * 1000,
                    rng: step.rng_position,
                    sampled: step.stats.sampled,
                    expired: step.stats.expired,
                }));
            }
        });
    }
}

fn session(mode: Mode, shards: u32) -> Recorder {
    let mut r = Recorder::new(mode, shards);
    let (a, b) = (r.open(), r.open());
    let t = 1_700_000_000_000;
    for i in 0..200 {
        r.cmd(
            a,
            t,
            &[
                "SET",
                &format!("k{i}"),
                "v",
                "PX",
                &(10 + i % 7).to_string(),
            ],
        );
        r.cmd(b, t, &["SET", &format!("p{i}"), "v"]);
    }
    r.cmd(a, t, &["SET", "short", "v", "PX", "1"]);
    r.cmd(a, t, &["RANDOMKEY"]);
    // A read that meets an expired key: deleted afterwards (an L record).
    r.cmd(b, t + 2, &["EXISTS", "short", "p1"]);
    r.cmd(b, t + 5, &["RANDOMKEY"]);
    r.expire(t + 30);
    r.cmd(a, t + 31, &["DBSIZE"]);
    r.cmd(a, t + 31, &["RANDOMKEY"]);
    r.cmd(b, t + 31, &["CLIENT", "ID"]);
    r.cmd(b, t + 31, &["TIME"]);
    r.cmd(b, t + 31, &["CONFIG", "GET", "port"]);
    r.cmd(a, t + 31, &["INFO"]);
    r.cmd(a, t + 32, &["QUIT"]);
    r
}

#[test]
fn replay_reproduces_every_reply_in_every_mode() {
    for (mode, shards) in [(Mode::Mutex, 1), (Mode::Rw, 1), (Mode::Shard, 8)] {
        let r = session(mode, shards);
        assert!(
            r.records.iter().any(|x| matches!(x, Record::Expire(_))),
            "{mode:?}: the workload should make the expiry cycle delete keys"
        );
        assert!(
            r.records.iter().any(|x| matches!(x, Record::LazyExpire(_))),
            "{mode:?}: EXISTS of an expired key should delete it afterwards"
        );
        // Shuffle as a multi-threaded writer would, then order again.
        let mut shuffled = r.records.clone();
        shuffled.reverse();
        let ordered = order_by_seq(shuffled).unwrap();
        assert_eq!(ordered.gap_at, None);
        let mut replayer = Replayer::new(&r.header);
        for record in &ordered.records {
            let outcome = replayer.apply(record);
            match (record, outcome) {
                (Record::Command(c), Some(Outcome::Reply { reply, .. })) => {
                    if c.mark == Mark::Compared {
                        assert_eq!(
                            capture::escaped(&reply),
                            capture::escaped(&c.reply),
                            "{mode:?} seq {}",
                            c.seq
                        );
                    }
                }
                (
                    Record::Expire(e),
                    Some(Outcome::Expired {
                        expired, sampled, ..
                    }),
                ) => {
                    assert_eq!((sampled, expired), (e.sampled, e.expired), "{mode:?}");
                }
                (Record::LazyExpire(l), Some(Outcome::LazyExpired { deleted, .. })) => {
                    assert_eq!(deleted, l.deleted, "{mode:?}");
                }
                (Record::Open { .. } | Record::Close { .. }, None) => {}
                (record, outcome) => panic!("{record:?} gave {outcome:?}"),
            }
        }
    }
}

#[test]
fn outcomes_round_trip_and_gaps_cut_the_replay() {
    let outcomes = vec![
        Outcome::Reply {
            seq: 3,
            reply: b"+OK\r\n".to_vec(),
        },
        Outcome::Expired {
            seq: 4,
            sampled: 20,
            expired: 7,
        },
        Outcome::Reply {
            seq: 5,
            reply: Vec::new(),
        },
    ];
    let mut out = Vec::new();
    for o in &outcomes {
        o.encode(&mut out);
    }
    assert_eq!(Outcome::decode_all(&out).unwrap(), outcomes);
    assert!(Outcome::decode_all(&out[..out.len() - 1]).is_err());

    let close = |seq| Record::Close {
        seq,
        conn: 1,
        now_us: 0,
    };
    let ordered = order_by_seq(vec![close(4), close(1), close(2), close(6)]).unwrap();
    assert_eq!(ordered.records.len(), 2);
    assert_eq!((ordered.gap_at, ordered.dropped), (Some(3), 2));
    assert!(order_by_seq(vec![close(1), close(1)]).is_err());
}
