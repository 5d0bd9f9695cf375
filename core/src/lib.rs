//! # myongoredis-core
//!
//! The engine of a Redis-compatible key-value server, built to make lock
//! contention visible and to be replayed deterministically.
//!
//! Everything between *bytes in* and *bytes out* lives here:
//! [`pipeline::Pipeline`] is one client connection without its socket
//! (every shell serves clients through it), [`resp`] turns bytes into
//! commands, [`exec::Executor`] looks each one up in the command table
//! ([`cmd::table`]), takes the locks its keys need from a
//! [`store::Store`] (one mutex, one RwLock, or N shards), runs the handler
//! in [`cmd`], and encodes the reply [`frame::Frame`].
//!
//! ## What this crate must never do
//! No sockets, no threads of its own, no clock, no OS randomness, no
//! randomly seeded hash map. Time arrives as an argument (`now_us`), random
//! numbers come from a seeded [`rng::Rng`], and every table iterates in an
//! order that depends only on its history. That is what lets the same
//! session replay byte for byte natively and in `wasm32-wasip1`.

pub mod aof;
pub mod blocking;
pub mod capture;
pub mod clients;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod dict;
pub mod error;
pub mod exec;
pub mod frame;
pub mod glob;
pub mod hash;
pub mod info;
pub mod keyspace;
pub mod memory;
pub mod pipeline;
pub mod pubsub;
pub mod rdb;
pub mod replay;
pub mod resp;
pub mod rewrite;
pub mod rng;
pub mod session;
pub mod signal;
pub mod snapshot;
pub mod store;
pub mod str;
#[cfg(test)]
pub(crate) mod testkit;

pub use exec::{Config, Executor, Flow, Session};
pub use frame::{Frame, Protocol};
pub use pipeline::{CaptureSink, Outcome, Pipeline, PlainShell, Shell, Step};
pub use store::{new_store, LockObserver, LockSpan, Mode, NoObserver, Store};
