//! Test support: an executor per mode and a terse way to send commands.
//!
//! Unit tests of command groups run every case against all three modes
//! (and shard mode with several shards, so multi-key commands really span
//! locks), with a virtual clock the test advances by hand.

use std::sync::Arc;

use bytes::Bytes;

use crate::config::DEFAULT_DATABASES;
use crate::exec::{Config, Executor, Session};
use crate::frame::Frame;
use crate::store::{new_store, Mode, NoObserver};

/// An executor, one client session and a virtual clock.
pub(crate) struct TestDb {
    pub exec: Executor,
    pub session: Session,
    /// The clock in milliseconds; starts at a realistic Unix time.
    pub now_ms: u64,
}

impl TestDb {
    pub fn new(mode: Mode, shards: u32) -> TestDb {
        let exec = Executor::new(
            new_store(mode, shards, DEFAULT_DATABASES, Arc::new(NoObserver)),
            42,
            Config::with_defaults(),
        );
        let session = exec.new_session();
        TestDb {
            exec,
            session,
            now_ms: 1_700_000_000_000,
        }
    }

    /// mutex, rw, shard with 1 shard and shard with 8 shards.
    pub fn all_modes() -> Vec<TestDb> {
        vec![
            TestDb::new(Mode::Mutex, 1),
            TestDb::new(Mode::Rw, 1),
            TestDb::new(Mode::Shard, 1),
            TestDb::new(Mode::Shard, 8),
        ]
    }

    /// Run a command given as string arguments.
    pub fn cmd(&mut self, args: &[&str]) -> Frame {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&args)
    }

    /// Run a command given as binary arguments; the reply as the client
    /// reads it: encoded in the session's protocol and parsed back (so a
    /// map is the flat array a RESP2 client sees).
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Frame {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let (reply, _) = self
            .exec
            .dispatch(&mut self.session, &args, self.now_ms * 1000);
        let mut wire = bytes::BytesMut::new();
        reply.encode_as(self.session.protocol, &mut wire);
        // The encoder's output is always one whole, well-formed frame.
        let (frame, _) = crate::resp::parse_frame(&wire)
            .expect("the encoder writes valid RESP")
            .expect("one whole frame");
        frame
    }

    /// The client leaves and a new one connects (a new session, which
    /// starts authenticated only if no password is set).
    pub fn reconnect(&mut self) {
        self.session = self.exec.new_session();
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now_ms += ms;
    }
}

/// Reply constructors for terse assertions.
pub(crate) fn bulk(s: &str) -> Frame {
    Frame::bulk(s.as_bytes())
}

pub(crate) fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

pub(crate) fn err(line: &str) -> Frame {
    Frame::error(line)
}

pub(crate) fn ok() -> Frame {
    Frame::ok()
}

pub(crate) fn arr(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

/// Run each `(command, expected reply)` in order against every mode.
pub(crate) fn check_all_modes(script: &[(&[&str], Frame)]) {
    for mut db in TestDb::all_modes() {
        for (args, want) in script {
            assert_eq!(
                &db.cmd(args),
                want,
                "{args:?} in {:?}",
                db.exec.store().mode()
            );
        }
    }
}
