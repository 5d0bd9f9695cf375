//! What the clients send: the four built-in workloads, the bytes of each
//! request, and the reply each request must get.
//!
//! A client's requests come from an [`OpStream`], a pure function of the
//! workload, the run's seed and the client's index. That determinism is
//! what lets an open-loop client check its replies without any bookkeeping
//! between its writer and its reader: both threads build the same stream
//! and walk it in step.

use bytes::{BufMut, BytesMut};
use clap::ValueEnum;
use myongoredis_core::rng::Rng;
use myongoredis_core::Frame;
use serde::Serialize;

/// The workloads; `--help` describes each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Client N: inline `SET key-N value` / `GET key-N`, its own key.
    Seed,
    /// 90 % GET / 10 % SET over a shared key space.
    ReadHeavy,
    /// All clients on 4 keys, 50 % GET / 50 % SET.
    HotKey,
    /// 50 % GET / 50 % SET, random keys over --keys.
    Uniform,
}

/// How many keys hot-key spreads its clients over.
pub const HOT_KEYS: u64 = 4;

impl WorkloadKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Seed => "seed",
            WorkloadKind::ReadHeavy => "read-heavy",
            WorkloadKind::HotKey => "hot-key",
            WorkloadKind::Uniform => "uniform",
        }
    }

    /// Keys that must exist before the first run, named as [`Encoder`]
    /// names them, so that GETs measure reads of real values rather than
    /// cheap misses. The seed's clients write before they read, so it
    /// needs none.
    pub fn prefill(self, keys: u64) -> Option<Prefill> {
        match self {
            WorkloadKind::Seed => None,
            WorkloadKind::ReadHeavy | WorkloadKind::Uniform => Some(Prefill::Shared(keys)),
            WorkloadKind::HotKey => Some(Prefill::Hot),
        }
    }
}

/// A key space to fill before measuring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefill {
    /// `key:0` .. `key:{n-1}`.
    Shared(u64),
    /// `hot:0` .. `hot:3`.
    Hot,
}

impl Prefill {
    /// How many keys the space holds.
    pub fn count(self) -> u64 {
        match self {
            Prefill::Shared(n) => n,
            Prefill::Hot => HOT_KEYS,
        }
    }

    /// The workload whose [`Encoder`] names these keys.
    pub fn kind(self) -> WorkloadKind {
        match self {
            Prefill::Shared(_) => WorkloadKind::Uniform,
            Prefill::Hot => WorkloadKind::HotKey,
        }
    }
}

/// One request: SET or GET of the key numbered `key` in the workload's
/// key space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    pub set: bool,
    pub key: u64,
}

/// The endless, reproducible sequence of one client's requests.
pub struct OpStream {
    kind: WorkloadKind,
    client: u64,
    keys: u64,
    rng: Rng,
    sent: u64,
}

impl OpStream {
    pub fn new(kind: WorkloadKind, seed: u64, client: u32, keys: u64) -> OpStream {
        // Each client gets its own stream: the same seed for every client
        // would make them all hit the same key at the same moment, a
        // coincidence no real workload has.
        let client_seed = seed ^ u64::from(client).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        OpStream {
            kind,
            client: u64::from(client),
            keys,
            rng: Rng::new(client_seed),
            sent: 0,
        }
    }

    pub fn next_op(&mut self) -> Op {
        self.sent += 1;
        match self.kind {
            // SET first, then GET, then SET again: the GET always follows
            // this client's own SET, so its reply is known exactly.
            WorkloadKind::Seed => Op {
                set: self.sent % 2 == 1,
                key: self.client,
            },
            WorkloadKind::ReadHeavy => Op {
                set: self.rng.below(10) == 0,
                key: self.rng.below(self.keys),
            },
            WorkloadKind::HotKey => Op {
                set: self.rng.below(2) == 0,
                key: self.rng.below(HOT_KEYS),
            },
            WorkloadKind::Uniform => Op {
                set: self.rng.below(2) == 0,
                key: self.rng.below(self.keys),
            },
        }
    }
}

/// Turns [`Op`]s into request bytes.
pub struct Encoder {
    kind: WorkloadKind,
    value: Vec<u8>,
    /// The seed's two requests never change for a client: built once.
    seed_set: Vec<u8>,
    seed_get: Vec<u8>,
    key: Vec<u8>,
}

impl Encoder {
    pub fn new(kind: WorkloadKind, client: u32, value: &[u8]) -> Encoder {
        let mut seed_set = format!("SET key-{client} ").into_bytes();
        seed_set.extend_from_slice(value);
        seed_set.extend_from_slice(b"\r\n");
        Encoder {
            kind,
            value: value.to_vec(),
            seed_set,
            seed_get: format!("GET key-{client}\r\n").into_bytes(),
            key: Vec::with_capacity(32),
        }
    }

    /// Append the request for `op` to `out`.
    pub fn encode(&mut self, op: Op, out: &mut BytesMut) {
        let prefix: &[u8] = match self.kind {
            // Inline commands, exactly the bytes of the seed's tcpkali line.
            WorkloadKind::Seed => {
                let line = if op.set {
                    &self.seed_set
                } else {
                    &self.seed_get
                };
                out.put_slice(line);
                return;
            }
            WorkloadKind::HotKey => b"hot:",
            WorkloadKind::ReadHeavy | WorkloadKind::Uniform => b"key:",
        };
        self.key.clear();
        self.key.extend_from_slice(prefix);
        self.key.extend_from_slice(op.key.to_string().as_bytes());
        if op.set {
            myongoredis_core::resp::encode_request(&[b"SET", &self.key, &self.value], out);
        } else {
            myongoredis_core::resp::encode_request(&[b"GET", &self.key], out);
        }
    }

    /// Check the reply to `op`. Every writer writes the same value, so a
    /// GET may only answer that value, or nil for a key nobody has set
    /// (never for the seed, whose GET follows its own SET).
    pub fn check(&self, op: Op, reply: &Frame) -> Result<(), String> {
        let fine = match reply {
            Frame::Simple(s) if op.set => s.as_ref() == b"OK",
            Frame::Bulk(v) if !op.set => v.as_ref() == self.value.as_slice(),
            Frame::Null if !op.set => self.kind != WorkloadKind::Seed,
            _ => false,
        };
        if fine {
            Ok(())
        } else {
            let mut shown = format!("{reply:?}");
            shown.truncate(120);
            let verb = if op.set { "SET" } else { "GET" };
            Err(format!("{verb} of key #{} answered {shown}", op.key))
        }
    }
}

/// The value SET writes: `value` repeated and cut to `size` bytes, so the
/// default size, 5, writes exactly the seed's `value`.
pub fn value_of_size(size: usize) -> Vec<u8> {
    b"value".iter().copied().cycle().take(size).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn seed_sends_the_tcpkali_line() {
        let mut enc = Encoder::new(WorkloadKind::Seed, 7, &value_of_size(5));
        let mut ops = OpStream::new(WorkloadKind::Seed, 1, 7, 10);
        let mut out = BytesMut::new();
        enc.encode(ops.next_op(), &mut out);
        enc.encode(ops.next_op(), &mut out);
        assert_eq!(&out[..], b"SET key-7 value\r\nGET key-7\r\n");
    }

    #[test]
    fn streams_are_reproducible_and_per_client() {
        let take = |client| {
            let mut s = OpStream::new(WorkloadKind::Uniform, 42, client, 1000);
            (0..50).map(|_| s.next_op()).collect::<Vec<_>>()
        };
        assert_eq!(take(1), take(1));
        assert_ne!(take(1), take(2));
    }

    #[test]
    fn read_heavy_is_about_ninety_percent_reads() {
        let mut s = OpStream::new(WorkloadKind::ReadHeavy, 3, 0, 1000);
        let sets = (0..10_000).filter(|_| s.next_op().set).count();
        assert!((800..1200).contains(&sets), "{sets} sets in 10k");
    }

    #[test]
    fn replies_are_checked() {
        let enc = Encoder::new(WorkloadKind::Uniform, 0, b"abc");
        let get = Op { set: false, key: 1 };
        let set = Op { set: true, key: 1 };
        assert!(enc.check(set, &Frame::ok()).is_ok());
        assert!(enc
            .check(get, &Frame::Bulk(Bytes::from_static(b"abc")))
            .is_ok());
        assert!(enc.check(get, &Frame::Null).is_ok());
        assert!(enc
            .check(get, &Frame::Bulk(Bytes::from_static(b"abd")))
            .is_err());
        assert!(enc.check(set, &Frame::error("ERR x")).is_err());
        let seed = Encoder::new(WorkloadKind::Seed, 0, b"value");
        assert!(seed.check(get, &Frame::Null).is_err());
    }

    #[test]
    fn prefill_names_keys_as_the_workloads_do() {
        let mut out = BytesMut::new();
        let mut enc = Encoder::new(Prefill::Hot.kind(), 0, b"v");
        enc.encode(Op { set: true, key: 3 }, &mut out);
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$5\r\nhot:3\r\n$1\r\nv\r\n");
        assert_eq!(Prefill::Shared(9).count(), 9);
        assert_eq!(value_of_size(12), b"valuevalueva");
    }
}
