//! # myongoredis-proptests
//!
//! Properties, a reference model and fuzz targets that try to break
//! `myongoredis-core`. Unit tests (next to the code) show that a command
//! does what its author thought of; these show that it keeps doing so for
//! inputs nobody thought of. Every test drives the engine directly, with a
//! virtual clock; only `reference.rs` opens a socket (to a real Redis).
//!
//! ## What each property guarantees (the tests in `tests/`)
//!
//! * **`parser.rs` — the wire format.**
//!   - *Frames round-trip*: for every RESP2 frame (any nesting of simple
//!     strings, errors, integers, bulk strings, nulls and arrays),
//!     `parse_frame(encode(f)) = (f, len)`, and every strict prefix of the
//!     encoding is "incomplete", never an error or a different frame. So
//!     the test clients and the replay comparator read exactly what the
//!     server wrote.
//!   - *Requests round-trip*: `parse_request(encode_request(args)) = args`.
//!   - *Splits do not matter*: a pipelined buffer of multibulk and inline
//!     requests (and the empty lines and `*0` Redis skips), delivered in
//!     arbitrary chunks as TCP may deliver it, yields the same requests as
//!     the whole buffer at once. The parser is re-run from the start of the
//!     unconsumed bytes on each read, so this is what makes it correct on a
//!     real socket.
//!   - *Arbitrary bytes are safe*: any input yields a command, a skip,
//!     "incomplete" or a protocol error; never a panic; never more consumed
//!     than given, and never nothing consumed for a command. A decision,
//!     once made, depends only on the bytes it consumed: appending bytes
//!     does not change it (except Redis's 64 KB "no line end yet" limits,
//!     which depend on read boundaries in Redis too).
//! * **`inline.rs` — two spellings, one command.** A command sent inline
//!   (`SET "sp ace" 1`, as typed in telnet) and as a multibulk gets the same
//!   reply bytes, on two fresh executors given the same session.
//! * **`model.rs` — the server is Redis.** Random sessions of string,
//!   keyspace, expiry, hash, set, list and sorted-set commands on the same
//!   few keys (so the types meet: WRONGTYPE), with clock jumps and
//!   active-expiry runs, go to a plain sequential [`model::Model`] and to
//!   the real executor in every lock strategy (mutex, rw, shard with 1, 2
//!   and 32 shards). Every reply must be the model's (in RESP2's form, with
//!   unordered set replies sorted: [`model::comparable`]), and so must the
//!   final state: GET and PTTL of every key, every key's type and contents
//!   ([`command::Command::read_back`]), DBSIZE, and `KEYS *`. DBSIZE is
//!   exact: the model deletes expired keys exactly where Redis's lookups do
//!   (only after an active-expiry cycle, which samples at random, does it
//!   allow a range). A failure shrinks to a short session printed as
//!   redis-cli lines (see [`command::Command`]).
//!   [`harness::regression_sessions`] and [`command::type_sessions`] are
//!   replayed every run. Where the server is known to disagree with Redis
//!   ([`command::known_core_divergences`]), the commands concerned are left
//!   out of the random sessions and the sessions kept as an ignored test
//!   that fails until `core` is fixed.
//! * **`reference.rs` — the model is Redis** (ignored by default: needs
//!   `redis-server` 7.0 and `cc`). The same random sessions (nothing left
//!   out) and regression sessions, and the known core divergences, against
//!   a real Redis 7.0, whose wall clock is frozen at the
//!   model's virtual time by a small LD_PRELOAD shim. It keeps the oracle
//!   honest: a misreading of Redis shared by the model and the server would
//!   otherwise pass `model.rs`.
//! * **`concurrency.rs` — locks do their job.** Threads hammer one store
//!   (shard mode with 2, 3 or 32 shards, and the other modes) with a random
//!   mix; multi-key commands must be atomic: a reader never sees part of an
//!   MSET, MSETNX or DEL of several keys, a token moved around by RENAME
//!   exists exactly once, INCR never loses an update. A watchdog fails the
//!   test if the threads do not finish in time (a deadlock), instead of
//!   hanging CI.
//! * **`determinism.rs` — replay works.** The same seed, commands and clock
//!   give identical reply bytes on two fresh executors of each mode (even
//!   RANDOMKEY, KEYS, SCAN and active expiry), and identical bytes across
//!   modes for every command whose reply does not depend on the shard
//!   layout.
//!
//! Case counts are chosen so `cargo test -p myongoredis-proptests
//! --release` runs in seconds (well under the two-minute budget on two
//! cores); the environment variable `PROPTEST_CASES` sets every property's
//! count, for a soak.
//!
//! ## The library
//! [`command`] is the typed command language, [`model`] the reference,
//! [`harness`] runs a session against an executor (or any [`harness::Server`])
//! and the model, [`wire`] writes inline commands and serves a read buffer
//! as a connection does, and `strategy` (feature `proptest`, on by default)
//! generates all of it.
//!
//! ## Fuzzing
//! `fuzz/` is a cargo-fuzz project (outside the workspace) with four
//! targets: `resp_parser`, `execute` (parser + executor on arbitrary bytes),
//! `model`, which feeds `arbitrary`-generated command sequences to
//! [`harness::check_against_model`], the same check as `model.rs`, and
//! `config_file` (the redis.conf reader and CONFIG REWRITE round trip). Run
//! `fuzz/run.sh [seconds]`: it replays the committed seed corpus, then
//! fuzzes each target for that long. The corpus is real client traffic
//! (redis-cli, redis-benchmark, inline commands) and the replies to it,
//! recorded with `fuzz/capture.py`, a small TCP proxy.

pub mod command;
pub mod harness;
pub mod model;
#[cfg(feature = "proptest")]
pub mod strategy;
pub mod wire;
