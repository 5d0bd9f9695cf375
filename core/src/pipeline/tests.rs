use std::sync::Arc;

use super::*;
use crate::exec::Config;
use crate::store::{new_store, Mode, NoObserver};

fn executor(sequencer: bool) -> Executor {
    let exec = Executor::new(
        new_store(
            Mode::Shard,
            4,
            crate::config::DEFAULT_DATABASES,
            Arc::new(NoObserver),
        ),
        7,
        Config::with_defaults(),
    );
    if sequencer {
        exec.with_sequencer()
    } else {
        exec
    }
}

const NOW_US: u64 = 1_700_000_000_000_000;

/// Feed `input`, run one batch with `shell`; (flow, executed, replies).
fn batch(
    exec: &Executor,
    pipeline: &mut Pipeline,
    input: &[u8],
    shell: &mut dyn Shell,
) -> (Flow, usize, String) {
    pipeline.feed(input);
    let mut out = BytesMut::new();
    let (flow, n) = pipeline.run_batch(exec, NOW_US, &mut out, shell);
    (flow, n, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn a_pipelined_batch_is_answered_in_order_and_a_partial_request_waits() {
    let exec = executor(false);
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Off);
    let input = b"SET k v\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\r\n*2\r\n$3\r\nGET";
    let (flow, n, out) = batch(&exec, &mut p, input, &mut PlainShell);
    assert_eq!((flow, n), (Flow::Continue, 2));
    assert_eq!(out, "+OK\r\n$1\r\nv\r\n");
    assert_eq!(p.pending(), b"*2\r\n$3\r\nGET".len());
    let rest = b"\r\n$1\r\nk\r\n";
    let (flow, n, out) = batch(&exec, &mut p, rest, &mut PlainShell);
    assert_eq!((flow, n, out.as_str()), (Flow::Continue, 1, "$1\r\nv\r\n"));
    assert_eq!((p.pending(), p.consumed()), (0, input.len() + rest.len()));
}

#[test]
fn quit_stops_the_batch_and_what_follows_is_not_executed() {
    let exec = executor(false);
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Off);
    let (flow, n, out) = batch(
        &exec,
        &mut p,
        b"PING\r\nQUIT\r\nSET k v\r\n",
        &mut PlainShell,
    );
    assert_eq!((flow, n), (Flow::Close, 2));
    assert_eq!(out, "+PONG\r\n+OK\r\n");
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Off);
    let (_, _, out) = batch(&exec, &mut p, b"EXISTS k\r\n", &mut PlainShell);
    assert_eq!(out, ":0\r\n");
}

#[test]
fn a_protocol_error_is_answered_as_redis_does_then_the_connection_closes() {
    let exec = executor(true);
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Records(Vec::new()));
    let (flow, n, out) = batch(
        &exec,
        &mut p,
        b"PING\r\n*1\r\n$x\r\nPING\r\n",
        &mut PlainShell,
    );
    assert_eq!((flow, n), (Flow::Close, 1));
    assert_eq!(out, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    assert_eq!(p.pending(), 0);
    let CaptureSink::Records(records) = p.take_capture() else {
        panic!("records sink")
    };
    let Some(Record::Command(refused)) = records.last() else {
        panic!("{records:?}")
    };
    assert_eq!(refused.request, b"*1\r\n$x\r\nPING\r\n");
    assert_eq!(
        refused.reply,
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
}

/// A shell whose every command panics, as `--debug-panic-on` makes one.
struct Panicking;

impl Shell for Panicking {
    fn command(&mut self, _: &[Bytes], _: &mut dyn FnMut() -> Executed) -> Outcome {
        Outcome::Panicked
    }
}

#[test]
fn a_panicked_command_gets_the_internal_error_is_recorded_as_such_and_closes() {
    let exec = executor(true);
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Records(Vec::new()));
    let (flow, n, out) = batch(&exec, &mut p, b"ECHO hi\r\nPING\r\n", &mut Panicking);
    assert_eq!((flow, n), (Flow::Close, 1));
    assert_eq!(out, format!("-{PANIC_REPLY}\r\n"));
    let CaptureSink::Records(records) = p.take_capture() else {
        panic!("records sink")
    };
    assert!(
        matches!(&records[..], [Record::Command(c)] if c.mark == Mark::Panicked && c.request == b"ECHO hi\r\n"),
        "{records:?}"
    );
}

/// Declines SET, runs the rest.
struct NoSet;

impl Shell for NoSet {
    fn command(&mut self, args: &[Bytes], run: &mut dyn FnMut() -> Executed) -> Outcome {
        if args[0].eq_ignore_ascii_case(b"set") {
            Outcome::Declined
        } else {
            Outcome::Ran(run())
        }
    }
}

#[test]
fn a_declined_command_is_consumed_without_reply_or_effect() {
    let exec = executor(false);
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Off);
    let (flow, n, out) = batch(&exec, &mut p, b"SET k v\r\nEXISTS k\r\n", &mut NoSet);
    assert_eq!((flow, n, out.as_str()), (Flow::Continue, 1, ":0\r\n"));
}

/// Takes the replies after every command, and fails on the second.
struct Flushing {
    taken: Vec<String>,
}

impl Shell for Flushing {
    fn command(&mut self, _: &[Bytes], run: &mut dyn FnMut() -> Executed) -> Outcome {
        Outcome::Ran(run())
    }

    fn replies(&mut self, out: &mut BytesMut) -> std::io::Result<()> {
        self.taken.push(String::from_utf8_lossy(out).into_owned());
        out.clear();
        if self.taken.len() == 2 {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        Ok(())
    }
}

#[test]
fn replies_can_be_taken_mid_batch_and_a_failed_write_ends_it() {
    let exec = executor(false);
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Off);
    let mut shell = Flushing { taken: Vec::new() };
    let (flow, n, out) = batch(&exec, &mut p, b"PING\r\nECHO a\r\nECHO b\r\n", &mut shell);
    assert_eq!((flow, n, out.as_str()), (Flow::Close, 2, ""));
    assert_eq!(shell.taken, ["+PONG\r\n", "$1\r\na\r\n"]);
}

#[test]
fn captured_lines_and_records_say_the_same() {
    let input = b"SET k 1\r\nINCR k\r\nGET k\r\n";
    let lines = {
        let exec = executor(true);
        let mut p = Pipeline::new(exec.new_session(), CaptureSink::Lines(Vec::new()));
        batch(&exec, &mut p, input, &mut PlainShell);
        let CaptureSink::Lines(lines) = p.take_capture() else {
            panic!("lines sink")
        };
        lines
    };
    let exec = executor(true);
    let mut p = Pipeline::new(exec.new_session(), CaptureSink::Records(Vec::new()));
    batch(&exec, &mut p, input, &mut PlainShell);
    let CaptureSink::Records(records) = p.take_capture() else {
        panic!("records sink")
    };
    assert_eq!(records.len(), 3);
    let mut encoded = Vec::new();
    for r in &records {
        r.encode(&mut encoded);
    }
    assert_eq!(
        String::from_utf8_lossy(&encoded),
        String::from_utf8_lossy(&lines)
    );
    assert!(matches!(p.take_capture(), CaptureSink::Records(r) if r.is_empty()));
}
