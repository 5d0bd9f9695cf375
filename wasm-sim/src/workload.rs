//! Seeded workloads for `simulate`: many clients, pipelined batches,
//! expiry with virtual time jumps, every command of the engine.
//!
//! One seed fixes everything: the lock mode and shard count, the number
//! of clients, which client sends next and how many commands it pipelines,
//! every command and argument, and the virtual clock. The workload is run
//! on a real (sequenced) executor in this process exactly the way the
//! native server runs commands (through the same connection pipeline),
//! producing a capture in memory, which the
//! simulator then replays natively and in wasm.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use myongoredis_core::capture::{self, Header, Record};
use myongoredis_core::replay::ReplayHooks;
use myongoredis_core::resp::{encode_request, parse_request, Request};
use myongoredis_core::rng::Rng;
use myongoredis_core::{
    new_store, CaptureSink, Config, Executor, Flow, Mode, NoObserver, Pipeline, PlainShell,
};

/// How a workload is shaped; `None` lets the seed choose.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape {
    pub clients: Option<u32>,
    pub ops: Option<u32>,
}

/// A workload executed natively: the capture it left.
pub struct Workload {
    pub header: Header,
    /// In sequence order (the executor runs one command at a time here).
    pub records: Vec<Record>,
}

/// Redis's `hz`: an active-expiry cycle every 1/hz s of virtual time.
const EXPIRY_TICK_US: u64 = 1_000_000 / myongoredis_core::config::DEFAULT_HZ as u64;

/// Generate and run the workload of `seed`.
pub fn run(seed: u64, shape: Shape) -> Workload {
    let g = Rng::new(seed ^ 0x5eed_cafe_f00d_d00d);
    let (mode, shards) = match g.below(4) {
        0 => (Mode::Mutex, 1),
        1 => (Mode::Rw, 1),
        2 => (Mode::Shard, 1 + g.below(4) as u32),
        _ => (Mode::Shard, 16),
    };
    let clients = shape.clients.unwrap_or(1 + g.below(6) as u32).max(1);
    let ops = shape.ops.unwrap_or(200 + g.below(400) as u32);
    let config = Config::with_defaults();
    config
        .set("port", &(6000 + g.below(1000)).to_string())
        .expect("6000..7000 is a valid port");
    let start_us = 1_700_000_000_000_000 + g.below(1_000_000_000_000);
    let header = Header {
        server: env!("CARGO_PKG_VERSION").to_string(),
        mode,
        shards,
        seed,
        start_us,
        config: config.entries(),
    };
    // The same stand-in for the shell that replay uses: CONFIG SET works,
    // INFO has only its keyspace section.
    let exec = Executor::new(
        new_store(mode, shards, config.databases(), Arc::new(NoObserver)),
        seed,
        config,
    )
    .with_hooks(Arc::new(ReplayHooks))
    .with_sequencer();
    let mut sim = Sim {
        g,
        exec,
        now_us: start_us,
        next_tick: start_us + EXPIRY_TICK_US,
        clients: (0..clients).map(|_| None).collect(),
        records: Vec::new(),
    };
    let mut done = 0;
    while done < ops {
        sim.advance_clock();
        let client = sim.g.below(clients as u64) as usize;
        // Mostly one command per turn; sometimes a pipelined batch, all
        // seeing one clock reading, as the server reads it once per batch.
        let batch = if sim.g.below(4) == 0 {
            2 + sim.g.below(15) as u32
        } else {
            1
        };
        for _ in 0..batch {
            done += 1;
            if !sim.send(client) {
                break;
            }
        }
    }
    for client in 0..clients as usize {
        sim.close(client);
    }
    Workload {
        header,
        records: sim.records,
    }
}

struct Sim {
    /// The generator's own stream (the executor has its own PRNG).
    g: Rng,
    exec: Executor,
    now_us: u64,
    next_tick: u64,
    /// Each client's connection, while it is open.
    clients: Vec<Option<Pipeline>>,
    records: Vec<Record>,
}

impl Sim {
    fn seq(&self) -> u64 {
        // Invariant: the executor was built with a sequencer.
        self.exec.next_seq().expect("sequenced executor")
    }

    /// Small steps, and now and then a jump of up to 3 s so that keys
    /// with short TTLs expire; the expiry cycle runs for every 100 ms
    /// tick the clock passed (at most a few per jump, as a busy server
    /// would).
    fn advance_clock(&mut self) {
        let step = match self.g.below(30) {
            0 => 200_000 + self.g.below(2_800_000),
            1..=3 => 20_000 + self.g.below(100_000),
            _ => self.g.below(3_000),
        };
        self.now_us += step;
        let mut cycles = 0;
        while self.next_tick <= self.now_us {
            if cycles < 3 {
                let now_us = self.next_tick;
                let records = &mut self.records;
                self.exec.active_expire_cycle_with(now_us / 1000, |step| {
                    records.extend(capture::expire_record(step, now_us));
                });
                cycles += 1;
            }
            self.next_tick += EXPIRY_TICK_US;
        }
    }

    fn open(&mut self, client: usize) -> u64 {
        let session = self.exec.new_session();
        let conn = session.id;
        self.clients[client] = Some(Pipeline::new(session, CaptureSink::Records(Vec::new())));
        let record = Record::Open {
            seq: self.seq(),
            conn,
            now_us: self.now_us,
        };
        self.records.push(record);
        conn
    }

    fn close(&mut self, client: usize) {
        if let Some(mut pipeline) = self.clients[client].take() {
            pipeline.end(&self.exec);
            let record = Record::Close {
                seq: self.seq(),
                conn: pipeline.session().id,
                now_us: self.now_us,
            };
            self.records.push(record);
        }
    }

    /// One command from `client`, through its connection pipeline (a
    /// malformed one is answered with Redis's protocol error and hangs
    /// up, as the server does); false if the connection closed.
    fn send(&mut self, client: usize) -> bool {
        if self.clients[client].is_none() {
            self.open(client);
        }
        let request = self.request();
        let pipeline = self.clients[client].as_mut().expect("opened above");
        pipeline.feed(&request);
        let mut out = BytesMut::new();
        let (flow, _) = pipeline.run_batch(&self.exec, self.now_us, &mut out, &mut PlainShell);
        // The generator only makes whole requests: nothing stays buffered.
        debug_assert!(
            pipeline.pending() == 0 || pipeline.is_blocked(),
            "generated an incomplete request"
        );
        if let CaptureSink::Records(records) = pipeline.take_capture() {
            self.records.extend(records);
        }
        match flow {
            // A blocked client's pop runs again on its next turn, with the
            // virtual clock moved on: served, or timed out.
            Flow::Continue | Flow::Block => true,
            Flow::Close | Flow::Shutdown => {
                self.close(client);
                false
            }
        }
    }

    fn pick<'a>(&self, items: &[&'a str]) -> &'a str {
        items[self.g.below(items.len() as u64) as usize]
    }

    fn key(&self) -> String {
        // Few keys, so commands keep meeting each other's data; the
        // hash tags and long names spread them over shards.
        match self.g.below(10) {
            0 => format!("{{user{}}}:name", self.g.below(3)),
            1 => format!("long:key:name:{}", self.g.below(4)),
            _ => format!("k{}", self.g.below(12)),
        }
    }

    fn value(&self) -> Vec<u8> {
        match self.g.below(8) {
            0 => (self.g.below(200) as i64 - 100).to_string().into_bytes(),
            1 => format!("{}.{}", self.g.below(50), self.g.below(100)).into_bytes(),
            2 => (0..self.g.below(6))
                .map(|_| self.g.below(256) as u8)
                .collect(),
            3 => Vec::new(),
            _ => {
                let len = 1 + self.g.below(12);
                (0..len).map(|_| b'a' + self.g.below(26) as u8).collect()
            }
        }
    }

    fn int(&self, lo: i64, hi: i64) -> String {
        (lo + self.g.below((hi - lo + 1) as u64) as i64).to_string()
    }

    /// The request bytes of one generated command: usually multibulk, as
    /// client libraries send, sometimes inline, as telnet does, and very
    /// rarely malformed.
    fn request(&self) -> Vec<u8> {
        if self.g.below(400) == 0 {
            return self
                .pick(&["*1\r\n$x\r\n", "*2\r\n$3\r\nGET\r\n:1\r\n", "GET \"k\r\n"])
                .as_bytes()
                .to_vec();
        }
        let args = self.command();
        let inline_safe = args
            .iter()
            .all(|a| !a.is_empty() && a.iter().all(|&b| b.is_ascii_alphanumeric() || b == b':'));
        if inline_safe && self.g.below(8) == 0 {
            let mut line = args.join(&b' ');
            line.extend_from_slice(b"\r\n");
            return line;
        }
        let parts: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let mut out = BytesMut::new();
        encode_request(&parts, &mut out);
        out.to_vec()
    }

    fn command(&self) -> Vec<Vec<u8>> {
        let now_s = self.now_us / 1_000_000;
        let now_ms = self.now_us / 1000;
        let k = || self.key().into_bytes();
        let s = |x: &str| x.as_bytes().to_vec();
        let field = || s(self.pick(&["f1", "f2", "f3", "10", "-3"]));
        let args: Vec<Vec<u8>> = match self.g.below(85) {
            0..=5 => {
                let mut a = vec![s("SET"), k(), self.value()];
                match self.g.below(8) {
                    0 => a.extend([s("EX"), s(&self.int(1, 3))]),
                    1 | 2 => a.extend([s("PX"), s(&self.int(1, 2500))]),
                    3 => a.extend([s("EXAT"), s(&(now_s + 1 + self.g.below(3)).to_string())]),
                    4 => a.extend([s("PXAT"), s(&(now_ms + self.g.below(3000)).to_string())]),
                    5 => a.push(s("KEEPTTL")),
                    _ => {}
                }
                match self.g.below(6) {
                    0 => a.push(s("NX")),
                    1 => a.push(s("XX")),
                    _ => {}
                }
                if self.g.below(5) == 0 {
                    a.push(s("GET"));
                }
                a
            }
            6..=10 => vec![s("GET"), k()],
            11 => vec![s("GETSET"), k(), self.value()],
            12 => vec![s("GETDEL"), k()],
            13 => {
                let mut a = vec![s("GETEX"), k()];
                match self.g.below(4) {
                    0 => a.extend([s("PX"), s(&self.int(1, 2000))]),
                    1 => a.push(s("PERSIST")),
                    2 => a.extend([s("EX"), s(&self.int(-1, 2))]),
                    _ => {}
                }
                a
            }
            14 => vec![s("SETNX"), k(), self.value()],
            15 => vec![s("SETEX"), k(), s(&self.int(-1, 3)), self.value()],
            16 => vec![s("PSETEX"), k(), s(&self.int(1, 2000)), self.value()],
            17 => vec![s("MSET"), k(), self.value(), k(), self.value()],
            18 => vec![s("MSETNX"), k(), self.value(), k(), self.value()],
            19 => vec![s("MGET"), k(), k(), k()],
            20 => vec![s("APPEND"), k(), self.value()],
            21 => vec![s("STRLEN"), k()],
            22 => vec![
                s("GETRANGE"),
                k(),
                s(&self.int(-5, 5)),
                s(&self.int(-5, 10)),
            ],
            23 => vec![s("SETRANGE"), k(), s(&self.int(0, 20)), self.value()],
            24 => vec![s(self.pick(&["INCR", "DECR"])), k()],
            25 => vec![
                s(self.pick(&["INCRBY", "DECRBY"])),
                k(),
                s(&self.int(-100, 100)),
            ],
            26 => vec![
                s("INCRBYFLOAT"),
                k(),
                s(self.pick(&["1.5", "-0.25", "3", "1e2", "abc"])),
            ],
            27 => vec![
                s("SETBIT"),
                k(),
                s(&self.int(0, 40)),
                s(self.pick(&["0", "1"])),
            ],
            28 => vec![s("GETBIT"), k(), s(&self.int(0, 40))],
            29 => vec![s("LCS"), k(), k()],
            30 | 31 => vec![s(self.pick(&["DEL", "UNLINK"])), k(), k()],
            32 => vec![s("EXISTS"), k(), k()],
            33 => vec![s("TYPE"), k()],
            34 => vec![
                s("KEYS"),
                s(self.pick(&["*", "k1*", "k?", "*:*", "{user[01]}*"])),
            ],
            35 => {
                let mut a = vec![s("SCAN"), s(self.pick(&["0", "0", "3", "17"]))];
                if self.g.below(2) == 0 {
                    a.extend([s("MATCH"), s(self.pick(&["k*", "*name*"]))]);
                }
                if self.g.below(2) == 0 {
                    a.extend([s("COUNT"), s(&self.int(1, 20))]);
                }
                a
            }
            36 => vec![s("RANDOMKEY")],
            37 => vec![s(self.pick(&["RENAME", "RENAMENX"])), k(), k()],
            38 => vec![s("DBSIZE")],
            39..=42 => {
                let cmd = self.pick(&["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]);
                let when = match cmd {
                    "EXPIRE" => self.int(-1, 3),
                    "PEXPIRE" => self.int(-10, 3000),
                    "EXPIREAT" => (now_s + self.g.below(4)).to_string(),
                    _ => (now_ms + self.g.below(3000)).to_string(),
                };
                let mut a = vec![s(cmd), k(), s(&when)];
                if self.g.below(3) == 0 {
                    a.push(s(self.pick(&["NX", "XX", "GT", "LT"])));
                }
                a
            }
            43 | 44 => vec![
                s(self.pick(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"])),
                k(),
            ],
            45 => vec![s("PERSIST"), k()],
            46 => vec![s("PING")],
            47 => vec![s("ECHO"), self.value()],
            48 => vec![s("TIME")],
            49 => vec![s("CLIENT"), s("ID")],
            50 => vec![
                s("CLIENT"),
                s("SETNAME"),
                s(self.pick(&["alice", "bob", ""])),
            ],
            51 => vec![s("CLIENT"), s("GETNAME")],
            52 => vec![
                s("CONFIG"),
                s("GET"),
                s(self.pick(&["port", "maxclients", "*max*"])),
            ],
            // Databases: the session's SELECT, and keys moving between them.
            53 => match self.g.below(5) {
                0 | 1 => vec![s("SELECT"), s(self.pick(&["0", "1", "2", "16"]))],
                2 => vec![s("MOVE"), k(), s(self.pick(&["0", "1", "2"]))],
                3 => {
                    let mut a = vec![s("COPY"), k(), k(), s("DB"), s(self.pick(&["0", "1", "2"]))];
                    if self.g.below(2) == 0 {
                        a.push(s("REPLACE"));
                    }
                    a
                }
                _ => vec![
                    s("SWAPDB"),
                    s(self.pick(&["0", "1", "2"])),
                    s(self.pick(&["0", "1"])),
                ],
            },
            54 => vec![s(self.pick(&["NOSUCH", "GET"]))],
            55 => match self.g.below(3) {
                0 => vec![s("COMMAND"), s("COUNT")],
                1 => vec![s("INFO"), s(self.pick(&["keyspace", "server"]))],
                _ => vec![
                    s("CONFIG"),
                    s("SET"),
                    s(self.pick(&["timeout", "maxclients", "port"])),
                    s(&self.int(-1, 100)),
                ],
            },
            // Transactions: queueing starts and ends at random points, so
            // clients interleave queued commands, EXECs and WATCHes.
            58 | 59 => vec![s(self.pick(&["MULTI", "MULTI", "EXEC", "EXEC", "DISCARD"]))],
            60 => vec![s("WATCH"), k(), k()],
            61 => vec![s("UNWATCH")],
            // Hashes and sets share the key names with strings, so
            // WRONGTYPE paths run too; random draws use the seeded stream.
            62 => vec![s("HSET"), k(), field(), self.value(), field(), self.value()],
            63 => vec![
                s(self.pick(&["HGET", "HDEL", "HEXISTS", "HSTRLEN"])),
                k(),
                field(),
            ],
            64 => match self.g.below(5) {
                0 => vec![s("HGETALL"), k()],
                1 => vec![s("HINCRBY"), k(), field(), s(&self.int(-5, 5))],
                2 => vec![
                    s("HINCRBYFLOAT"),
                    k(),
                    field(),
                    s(self.pick(&["1.5", "-2", "x"])),
                ],
                3 => vec![s("HRANDFIELD"), k(), s(&self.int(-4, 4)), s("WITHVALUES")],
                _ => vec![s("HSCAN"), k(), s("0"), s("COUNT"), s(&self.int(1, 5))],
            },
            65 | 66 => vec![
                s(self.pick(&["SADD", "SREM", "SISMEMBER"])),
                k(),
                field(),
                field(),
            ],
            67 => match self.g.below(4) {
                0 => vec![s("SPOP"), k(), s(&self.int(0, 3))],
                1 => vec![s("SRANDMEMBER"), k(), s(&self.int(-3, 3))],
                2 => vec![s("SMEMBERS"), k()],
                _ => vec![s("SPOP"), k()],
            },
            68 => vec![
                s(self.pick(&[
                    "SINTER",
                    "SUNION",
                    "SDIFF",
                    "SINTERSTORE",
                    "SUNIONSTORE",
                    "SDIFFSTORE",
                ])),
                k(),
                k(),
                k(),
            ],
            69 => match self.g.below(3) {
                0 => vec![s("SMOVE"), k(), k(), field()],
                1 => vec![
                    s("SINTERCARD"),
                    s("2"),
                    k(),
                    k(),
                    s("LIMIT"),
                    s(&self.int(0, 3)),
                ],
                _ => vec![s("OBJECT"), s(self.pick(&["ENCODING", "IDLETIME"])), k()],
            },
            70 | 71 => vec![
                s(self.pick(&["LPUSH", "RPUSH", "LPUSHX"])),
                k(),
                field(),
                field(),
            ],
            72 => match self.g.below(4) {
                0 => vec![s(self.pick(&["LPOP", "RPOP"])), k(), s(&self.int(0, 3))],
                1 => vec![s("LRANGE"), k(), s(&self.int(-3, 2)), s(&self.int(-2, 5))],
                2 => vec![
                    s("LMOVE"),
                    k(),
                    k(),
                    s(self.pick(&["LEFT", "RIGHT"])),
                    s("LEFT"),
                ],
                _ => vec![s("LMPOP"), s("2"), k(), k(), s("RIGHT"), s("COUNT"), s("2")],
            },
            73 => match self.g.below(4) {
                0 => vec![s("LREM"), k(), s(&self.int(-2, 2)), field()],
                1 => vec![s("LTRIM"), k(), s(&self.int(0, 2)), s(&self.int(-2, 3))],
                2 => vec![s("LINSERT"), k(), s("BEFORE"), field(), field()],
                _ => vec![s("LPOS"), k(), field(), s("COUNT"), s("0")],
            },
            74 | 75 => vec![
                s("ZADD"),
                k(),
                s(&self.int(-3, 3)),
                field(),
                s("1.5"),
                field(),
            ],
            76 => match self.g.below(4) {
                0 => vec![s("ZINCRBY"), k(), s("2.5"), field()],
                1 => vec![
                    s("ZRANGE"),
                    k(),
                    s("-inf"),
                    s("+inf"),
                    s("BYSCORE"),
                    s("WITHSCORES"),
                ],
                2 => vec![
                    s(self.pick(&["ZPOPMIN", "ZPOPMAX"])),
                    k(),
                    s(&self.int(1, 3)),
                ],
                _ => vec![s("ZRANDMEMBER"), k(), s(&self.int(-3, 3)), s("WITHSCORES")],
            },
            77 => match self.g.below(3) {
                0 => vec![
                    s("ZUNIONSTORE"),
                    k(),
                    s("2"),
                    k(),
                    k(),
                    s("AGGREGATE"),
                    s("MAX"),
                ],
                1 => vec![s("ZMPOP"), s("2"), k(), k(), s("MIN"), s("COUNT"), s("2")],
                _ => vec![s("ZREM"), k(), field(), field()],
            },
            // Pub/sub: counts and subscription replies replay exactly;
            // a subscribed RESP2 client gets Redis's context error.
            78 => vec![
                s(self.pick(&["PUBLISH", "PUBLISH", "PUBSUB"])),
                s("NUMSUB"),
                s("ch"),
            ],
            79 => vec![
                s(self.pick(&["SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"])),
                s(self.pick(&["ch", "c*", "other"])),
            ],
            // Blocking pops with short timeouts: a client that blocks runs
            // its pop again on each of its turns (the virtual clock moves
            // on) until another client's push serves it or it times out.
            83 => vec![
                s(self.pick(&["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"])),
                k(),
                k(),
                s(self.pick(&["0.1", "0.5", "1"])),
            ],
            84 => vec![s("BLMOVE"), k(), k(), s("LEFT"), s("RIGHT"), s("0.2")],
            // Bits and LCS.
            80 => match self.g.below(4) {
                0 => vec![s("BITPOS"), k(), s(&self.int(0, 1))],
                1 => vec![
                    s("BITPOS"),
                    k(),
                    s(&self.int(0, 1)),
                    s(&self.int(-20, 20)),
                    s(&self.int(-20, 20)),
                    s(self.pick(&["BIT", "BYTE"])),
                ],
                2 => vec![
                    s("BITCOUNT"),
                    k(),
                    s(&self.int(-9, 9)),
                    s(&self.int(-9, 9)),
                    s("BIT"),
                ],
                _ => vec![
                    s(self.pick(&["SETBIT", "GETBIT"])),
                    k(),
                    s(&self.int(0, 40)),
                    s("1"),
                ],
            },
            81 => match self.g.below(4) {
                0 => vec![s("BITOP"), s("NOT"), k(), k()],
                _ => vec![
                    s("BITOP"),
                    s(self.pick(&["AND", "OR", "XOR"])),
                    k(),
                    k(),
                    k(),
                ],
            },
            82 => match self.g.below(4) {
                0 => vec![
                    s("BITFIELD"),
                    k(),
                    s("OVERFLOW"),
                    s(self.pick(&["WRAP", "SAT", "FAIL"])),
                    s(self.pick(&["SET", "INCRBY"])),
                    s(self.pick(&["i8", "u8", "i5", "u63", "i64"])),
                    s(self.pick(&["0", "3", "#1", "17"])),
                    s(&self.int(-300, 300)),
                    s("GET"),
                    s("u16"),
                    s("0"),
                ],
                1 => vec![
                    s("BITFIELD_RO"),
                    k(),
                    s("GET"),
                    s("i8"),
                    s(&self.int(0, 30)),
                ],
                2 => vec![s("LCS"), k(), k()],
                _ => vec![
                    s("LCS"),
                    k(),
                    k(),
                    s("IDX"),
                    s("MINMATCHLEN"),
                    s(&self.int(0, 2)),
                    s("WITHMATCHLEN"),
                ],
            },
            // Rare: the whole keyspace goes, or the client leaves.
            56 if self.g.below(8) == 0 => vec![s("FLUSHDB")],
            57 if self.g.below(4) == 0 => vec![s("QUIT")],
            _ => vec![s("PING"), s("hello")],
        };
        args
    }
}

/// The request as arguments, for callers that want to show a step.
pub fn describe(request: &[u8]) -> String {
    match parse_request(request) {
        Ok(Request::Command { args, .. }) => args
            .iter()
            .map(|a: &Bytes| capture::escaped(a))
            .collect::<Vec<_>>()
            .join(" "),
        _ => capture::escaped(request),
    }
}
