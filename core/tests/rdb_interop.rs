//! RDB files against the reference: redis-server 7.0 (the Debian
//! package) writes a file that `Executor::load_rdb` must load into the
//! same data set, reads the file `Executor::save_rdb` writes into the
//! same data set, and, value by value, the two files hold the same bytes.
//!
//! The same script of commands fills both servers: every type in both of
//! its encodings, integers, long compressible strings, binary keys,
//! deadlines, databases 0, 3 and 15. A "dump" of a server lists every key
//! of every database with its TYPE, OBJECT ENCODING, PEXPIRETIME and
//! value, and two dumps must be equal.
//!
//! Without `redis-server` on PATH every test here prints why and passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use myongoredis_core::config::DEFAULT_DATABASES;
use myongoredis_core::rdb::encode::put_string;
use myongoredis_core::rdb::lzf::Compressor;
use myongoredis_core::rdb::{self, rdb_type};
use myongoredis_core::{new_store, Config, Executor, Frame, Mode, NoObserver, Session};
use myongoredis_testsupport::{Raw, RealRedis};

/// The lock strategies, with shards so that one database really spans
/// several locks.
const MODES: [(Mode, u32); 3] = [(Mode::Mutex, 1), (Mode::Rw, 1), (Mode::Shard, 8)];

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// A scratch directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("myongoredis-rdb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Something that answers commands: redis-server over a socket, or our
/// executor in process.
trait Server {
    fn call(&mut self, args: &[&[u8]]) -> Frame;
}

impl Server for Raw {
    fn call(&mut self, args: &[&[u8]]) -> Frame {
        Raw::call(self, args)
    }
}

struct Ours {
    exec: Executor,
    session: Session,
    now_ms: u64,
}

impl Ours {
    fn new(mode: Mode, shards: u32, now_ms: u64) -> Ours {
        let exec = Executor::new(
            new_store(mode, shards, DEFAULT_DATABASES, Arc::new(NoObserver)),
            7,
            Config::with_defaults(),
        );
        let session = exec.new_session();
        Ours {
            exec,
            session,
            now_ms,
        }
    }
}

impl Server for Ours {
    /// The reply as a client reads it: encoded in the session's protocol
    /// and parsed back.
    fn call(&mut self, args: &[&[u8]]) -> Frame {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let (reply, _) = self
            .exec
            .dispatch(&mut self.session, &args, self.now_ms * 1000);
        let mut wire = BytesMut::new();
        reply.encode_as(self.session.protocol, &mut wire);
        let (frame, _) = myongoredis_core::resp::parse_frame(&wire)
            .expect("valid RESP")
            .expect("one whole frame");
        frame
    }
}

/// The commands that fill a server; deadlines are absolute (PXAT), so
/// both servers hold the very same ones.
fn script(deadline: u64) -> Vec<Vec<Vec<u8>>> {
    let mut s: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut cmd = |args: &[&[u8]]| s.push(args.iter().map(|a| a.to_vec()).collect());
    let d = deadline.to_string();
    let d = d.as_bytes();
    // Strings: integer encodings, LZF, binary.
    cmd(&[b"SET", b"int", b"12345"]);
    cmd(&[b"SET", b"neg", b"-7"]);
    cmd(&[b"SET", b"bigint", b"9223372036854775807"]);
    cmd(&[b"SET", b"toobig", b"92233720368547758070"]);
    cmd(&[b"SET", b"float", b"3.14"]);
    cmd(&[b"SET", b"empty", b""]);
    cmd(&[b"SET", b"padded", b"007"]);
    cmd(&[b"SET", b"long", &b"abc".repeat(100)]);
    cmd(&[b"SET", b"aaaa", &[b'a'; 30]]);
    let text: &[u8] = b"It was the best of times, it was the worst of times, it was the age of \
        wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of \
        incredulity, it was the season of Light, it was the season of Darkness";
    cmd(&[b"SET", b"text", text]);
    let noise: Vec<u8> = (0..200u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    cmd(&[b"SET", b"noise", &noise]);
    cmd(&[b"SET", b"\x00\x01\xff\nbinary key", b"binary \x00 value"]);
    cmd(&[b"SET", b"1234", b"integer key"]);
    cmd(&[b"SET", b"-99", b"negative integer key"]);
    cmd(&[b"SET", b"ttl", b"v", b"PXAT", d]);
    // Hashes: listpack (integers and strings), hashtable by value length
    // and by count, one with a deadline.
    cmd(&[
        b"HSET",
        b"hsmall",
        b"f1",
        b"v1",
        b"n",
        b"2",
        b"neg",
        b"-3",
        b"big",
        b"1000000",
        b"long",
        &[b'L'; 63],
    ]);
    cmd(&[b"HSET", b"hwide", b"f", &[b'W'; 100]]);
    let mut hbig: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"hbig".to_vec()];
    for i in 0..600 {
        hbig.push(format!("field{i}").into_bytes());
        hbig.push(i.to_string().into_bytes());
    }
    cmd(&hbig.iter().map(Vec::as_slice).collect::<Vec<_>>());
    cmd(&[b"HSET", b"httl", b"a", b"1"]);
    cmd(&[b"PEXPIREAT", b"httl", d]);
    // Sets: intset, hashtable by content and by count.
    cmd(&[b"SADD", b"sint", b"1", b"2", b"3", b"-5", b"100000"]);
    let mut sbig: Vec<Vec<u8>> = vec![b"SADD".to_vec(), b"sbigint".to_vec()];
    sbig.extend((0..600).map(|i: i32| (i * 3).to_string().into_bytes()));
    cmd(&sbig.iter().map(Vec::as_slice).collect::<Vec<_>>());
    cmd(&[b"SADD", b"swords", b"apple", b"banana", b"cherry", b"42"]);
    // Lists: one node, many nodes (RPUSH), built from the head.
    cmd(&[
        b"RPUSH", b"lsmall", b"a", b"b", b"1", b"2", b"-3", b"1000000", b"",
    ]);
    let mut lbig: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"lbig".to_vec()];
    for i in 0..2000 {
        lbig.push(if i % 7 == 0 {
            i.to_string().into_bytes()
        } else {
            // Lengths chosen so that where nodes end depends on the
            // exact fill rule (Redis's 8-byte overhead estimate).
            format!("item-{i}-{}", "x".repeat(i * 13 % 97)).into_bytes()
        });
    }
    cmd(&lbig.iter().map(Vec::as_slice).collect::<Vec<_>>());
    cmd(&[b"LPUSH", b"lhead", b"x", b"y", b"z", b"1", b"2"]);
    // Sorted sets: listpack (scores that are integers, fractions,
    // infinities), skiplist by count and by member length.
    cmd(&[
        b"ZADD", b"zsmall", b"1", b"a", b"2.5", b"b", b"-inf", b"c", b"inf", b"d", b"0", b"e",
        b"-0.5", b"f", b"1e20", b"g",
    ]);
    let mut zbig: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"zbig".to_vec()];
    for i in 0..200 {
        zbig.push(format!("{}", f64::from(i) * 0.25 - 7.0).into_bytes());
        zbig.push(format!("member{}", i % 150).into_bytes());
    }
    cmd(&zbig.iter().map(Vec::as_slice).collect::<Vec<_>>());
    cmd(&[b"ZADD", b"zlong", b"1", &[b'M'; 100]]);
    // Other databases.
    cmd(&[b"SELECT", b"3"]);
    cmd(&[b"SET", b"three", b"3"]);
    cmd(&[b"HSET", b"h3", b"a", b"b"]);
    cmd(&[b"ZADD", b"z3", b"5", b"five"]);
    cmd(&[b"SET", b"t3", b"v", b"PXAT", d]);
    cmd(&[b"SELECT", b"15"]);
    cmd(&[b"RPUSH", b"l15", b"last"]);
    cmd(&[b"SADD", b"s15", b"x"]);
    cmd(&[b"SELECT", b"0"]);
    s
}

fn run(server: &mut dyn Server, script: &[Vec<Vec<u8>>]) {
    for args in script {
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let reply = server.call(&args);
        assert!(
            !matches!(reply, Frame::Error(_)),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(args[0])
        );
    }
}

fn bytes_of(f: &Frame) -> Vec<u8> {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => b.to_vec(),
        Frame::Integer(i) => i.to_string().into_bytes(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn list_of(f: Frame) -> Vec<Vec<u8>> {
    match f {
        Frame::Array(items) => items.iter().map(bytes_of).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// One key as a client sees it.
#[derive(Debug, PartialEq, Eq)]
struct Key {
    kind: String,
    encoding: String,
    pexpiretime: Vec<u8>,
    /// The value in a canonical order: as stored for strings, lists and
    /// sorted sets; sorted for sets; sorted by field for hashes.
    value: Vec<Vec<u8>>,
}

type Dump = BTreeMap<(u32, Vec<u8>), Key>;

/// Every key of every database.
fn dump(server: &mut dyn Server) -> Dump {
    let mut all = BTreeMap::new();
    for db in 0..DEFAULT_DATABASES {
        server.call(&[b"SELECT", db.to_string().as_bytes()]);
        for key in list_of(server.call(&[b"KEYS", b"*"])) {
            let k = key.as_slice();
            let text = |f: Frame| String::from_utf8(bytes_of(&f)).expect("utf-8");
            let kind = text(server.call(&[b"TYPE", k]));
            let encoding = text(server.call(&[b"OBJECT", b"ENCODING", k]));
            let pexpiretime = bytes_of(&server.call(&[b"PEXPIRETIME", k]));
            let value = match kind.as_str() {
                "string" => vec![bytes_of(&server.call(&[b"GET", k]))],
                "list" => list_of(server.call(&[b"LRANGE", k, b"0", b"-1"])),
                "set" => {
                    let mut m = list_of(server.call(&[b"SMEMBERS", k]));
                    m.sort();
                    m
                }
                "hash" => {
                    let flat = list_of(server.call(&[b"HGETALL", k]));
                    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = flat
                        .chunks(2)
                        .map(|p| (p[0].clone(), p[1].clone()))
                        .collect();
                    pairs.sort();
                    pairs.into_iter().flat_map(|(f, v)| [f, v]).collect()
                }
                "zset" => list_of(server.call(&[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"])),
                other => panic!("unexpected type {other}"),
            };
            all.insert(
                (db, key.clone()),
                Key {
                    kind,
                    encoding,
                    pexpiretime,
                    value,
                },
            );
        }
    }
    server.call(&[b"SELECT", b"0"]);
    all
}

fn assert_same(what: &str, got: &Dump, want: &Dump) {
    let got_keys: Vec<_> = got.keys().collect();
    let want_keys: Vec<_> = want.keys().collect();
    assert_eq!(got_keys, want_keys, "{what}: the keys");
    for (k, w) in want {
        assert_eq!(
            &got[k],
            w,
            "{what}: key {:?} in db {}",
            String::from_utf8_lossy(&k.1),
            k.0
        );
    }
}

/// redis-server with `dir`/`file` as its RDB file, loaded at start-up
/// when it exists. `None` when redis-server is not installed.
fn redis_on(dir: &TempDir, file: &str) -> Option<(RealRedis, Raw)> {
    let redis = RealRedis::start(&["--dir", dir.arg(), "--dbfilename", file])?;
    let mut raw = Raw::connect(redis.addr());
    // A server still loading answers -LOADING.
    for _ in 0..500 {
        match raw.call(&[b"PING"]) {
            Frame::Error(e) if e.starts_with(b"LOADING") => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => break,
        }
    }
    Some((redis, raw))
}

/// The file redis-server writes with SAVE after running the script, and
/// the dump of its data set.
fn redis_file(dir: &TempDir, deadline: u64) -> Option<(Vec<u8>, Dump)> {
    let (_redis, mut raw) = redis_on(dir, "redis.rdb")?;
    run(&mut raw, &script(deadline));
    assert_eq!(
        raw.call(&[b"SAVE"]),
        Frame::Simple(Bytes::from_static(b"OK"))
    );
    let file = std::fs::read(dir.path().join("redis.rdb")).expect("redis.rdb written by SAVE");
    Some((file, dump(&mut raw)))
}

/// (a) redis-server's file loads into our executor as the data set
/// redis-server holds, in every lock mode.
#[test]
fn redis_server_files_load_into_every_mode() {
    let dir = TempDir::new("load");
    let Some((file, want)) = redis_file(&dir, now_ms() + 3_600_000) else {
        return;
    };
    for (mode, shards) in MODES {
        let mut ours = Ours::new(mode, shards, now_ms());
        let stats = ours
            .exec
            .load_rdb(&file, ours.now_ms)
            .expect("redis-server's file loads");
        assert_eq!(stats.keys, want.len() as u64, "{mode:?}");
        assert_eq!(stats.aux.rdb_version, 10);
        assert_eq!(stats.aux.get("redis-ver"), Some(&b"7.0.15"[..]));
        assert_same(&format!("loaded in {mode:?}"), &dump(&mut ours), &want);
    }
}

/// (b) our file, written in each lock mode, is accepted by
/// `redis-check-rdb` and loads into redis-server as our data set.
#[test]
fn our_files_load_into_redis_server() {
    let dir = TempDir::new("save");
    let deadline = now_ms() + 3_600_000;
    for (mode, shards) in MODES {
        let mut ours = Ours::new(mode, shards, now_ms());
        run(&mut ours, &script(deadline));
        let want = dump(&mut ours);
        let name = format!("ours-{}.rdb", mode.name());
        let path = dir.path().join(&name);
        let mut file = std::fs::File::create(&path).expect("create");
        let stats = ours
            .exec
            .save_rdb(&mut file, ours.now_ms, false)
            .expect("save");
        drop(file);
        assert_eq!(stats.keys, want.len() as u64);
        match Command::new("redis-check-rdb").arg(&path).output() {
            Ok(out) => assert!(
                out.status.success(),
                "redis-check-rdb refuses our file ({mode:?}):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("redis-check-rdb not run: {e}"),
        }
        let Some((_redis, mut raw)) = redis_on(&dir, &name) else {
            return;
        };
        assert_same(
            &format!("redis-server loading our {mode:?} file"),
            &dump(&mut raw),
            &want,
        );
    }
}

/// Every key of a file: (database, key) → (deadline, type, payload).
type Payloads = BTreeMap<(u32, Vec<u8>), (Option<u64>, u8, Vec<u8>)>;

fn payloads(file: &[u8]) -> (rdb::Aux, Payloads) {
    let mut out = Payloads::new();
    let aux = rdb::load(file, &Default::default(), |l| {
        let payload = file[l.payload.clone()].to_vec();
        out.insert((l.db, l.key.to_vec()), (l.deadline_ms, l.rdb_type, payload));
        Ok(())
    })
    .expect("loads");
    (aux, out)
}

/// (c) byte for byte: for the same data, each value is encoded as
/// redis-server encodes it. Hash tables (types 2 and 4) iterate in each
/// server's own order, so for those the payload sizes must match (their
/// contents are compared by the tests above).
#[test]
fn values_are_encoded_byte_for_byte_as_redis_server_does() {
    let dir = TempDir::new("bytes");
    let deadline = now_ms() + 3_600_000;
    let Some((theirs, _)) = redis_file(&dir, deadline) else {
        return;
    };
    let (their_aux, their_values) = payloads(&theirs);
    for (mode, shards) in MODES {
        let mut ours = Ours::new(mode, shards, now_ms());
        run(&mut ours, &script(deadline));
        let mut file = Vec::new();
        ours.exec
            .save_rdb(&mut file, ours.now_ms, false)
            .expect("save");

        assert_eq!(&file[..9], &theirs[..9], "magic and version");
        let (our_aux, our_values) = payloads(&file);
        let names = |aux: &rdb::Aux| {
            aux.fields
                .iter()
                .map(|(k, _)| k.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&our_aux), names(&their_aux), "aux fields, in order");
        for field in ["redis-ver", "redis-bits", "aof-base"] {
            assert_eq!(our_aux.get(field), their_aux.get(field), "aux {field}");
        }
        assert_eq!(
            our_values.keys().collect::<Vec<_>>(),
            their_values.keys().collect::<Vec<_>>(),
            "the same keys"
        );
        // Apart from the aux values (ctime, used-mem), the files have the
        // same size: the same SELECTDB and RESIZEDB sections, deadlines,
        // type bytes, keys and payload sizes.
        let aux_size = |aux: &rdb::Aux| -> usize {
            let mut out = Vec::new();
            let mut lzf = Compressor::new();
            for (name, value) in &aux.fields {
                out.push(0xFA);
                put_string(&mut out, name, &mut lzf);
                put_string(&mut out, value, &mut lzf);
            }
            out.len()
        };
        assert_eq!(
            file.len() - aux_size(&our_aux),
            theirs.len() - aux_size(&their_aux),
            "{mode:?}: file size apart from the aux fields"
        );
        for (key, (deadline, t, payload)) in &their_values {
            let name = String::from_utf8_lossy(&key.1);
            let (our_deadline, our_t, our_payload) = &our_values[key];
            assert_eq!(
                (our_deadline, our_t),
                (deadline, t),
                "{mode:?} {name}: deadline and type"
            );
            if matches!(*t, rdb_type::SET | rdb_type::HASH) {
                assert_eq!(
                    our_payload.len(),
                    payload.len(),
                    "{mode:?} {name}: payload size"
                );
            } else {
                assert!(
                    our_payload == payload,
                    "{mode:?} {name} (type {t}): payloads differ\n  ours: {:02x?}\ntheirs: {:02x?}",
                    &our_payload[..our_payload.len().min(96)],
                    &payload[..payload.len().min(96)]
                );
            }
        }
    }
}
