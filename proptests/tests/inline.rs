//! Inline and multibulk forms of the same session execute identically.

use bytes::BytesMut;
use myongoredis_core::resp::{encode_request, parse_request, Request};
use myongoredis_proptests::command::T0_MS;
use myongoredis_proptests::harness::Target;
use myongoredis_proptests::strategy::{cases, real_command};
use myongoredis_proptests::wire::{inline_request, serve, Quoting};
use proptest::collection::vec;
use proptest::prelude::*;

/// A command as arguments: one of the model's commands, or a few
/// arbitrary bytes after a real command name (errors must match too).
fn command_args() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let model = real_command().prop_map(|c| c.args());
    let name = prop::sample::select(vec![
        "ECHO",
        "PING",
        "GET",
        "SET",
        "APPEND",
        "EXISTS",
        "TYPE",
        "NOSUCHCMD",
        "set",
    ]);
    let raw = (name, vec(vec(any::<u8>(), 0..8), 0..4)).prop_map(|(n, rest)| {
        let mut args = vec![n.as_bytes().to_vec()];
        args.extend(rest);
        args
    });
    prop_oneof![3 => model, 1 => raw]
}

fn quoting() -> impl Strategy<Value = Vec<Quoting>> {
    vec(
        prop::sample::select(vec![Quoting::Bare, Quoting::Double, Quoting::Single]),
        8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(3000)))]

    /// One executor receives the session as multibulk requests, another
    /// (fresh, same seed) as inline lines with random quoting; the reply
    /// bytes must be identical.
    #[test]
    fn inline_and_multibulk_execute_identically(
        session in vec((command_args(), quoting(), any::<bool>()), 1..30),
        seed in any::<u64>(),
    ) {
        let mut multibulk = Vec::new();
        let mut inline = Vec::new();
        for (args, quoting, bare_newline) in &session {
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let mut one = BytesMut::new();
            encode_request(&refs, &mut one);
            multibulk.extend_from_slice(&one);
            let line = inline_request(args, quoting, " ", *bare_newline);
            // Not vacuous: the inline line really is this command.
            let parsed = parse_request(&line);
            let Ok(Request::Command { args: got, consumed }) = parsed else {
                return Err(TestCaseError::fail(format!("{line:?} parsed as {parsed:?}")));
            };
            prop_assert_eq!(consumed, line.len());
            prop_assert_eq!(&got.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), args);
            inline.extend_from_slice(&line);
        }
        let target = Target::ALL[seed as usize % Target::ALL.len()];
        let run = |input: &[u8]| {
            let exec = target.executor(seed);
            let mut session = exec.new_session();
            let mut out = BytesMut::new();
            let served = serve(&exec, &mut session, input, T0_MS * 1000, usize::MAX, |_| true, &mut out);
            (served.commands, out)
        };
        let (a_count, a_out) = run(&multibulk);
        let (b_count, b_out) = run(&inline);
        prop_assert_eq!(a_count, b_count);
        prop_assert_eq!(a_out, b_out);
    }
}
