//! The RESP parsers on arbitrary bytes.
//!
//! `parse_request` (what the server reads): never panics, a command or a
//! skip consumes at least one and at most all bytes, its decision depends
//! only on the bytes it consumed, and parsing a whole buffer request by
//! request ends. `parse_frame` (what clients read, RESP2 and RESP3):
//! whatever it accepts, encoded in either protocol, parses back to a frame
//! that encodes to the same bytes (a fixed point; the input itself may mix
//! the protocols' null forms, so it need not be canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_core::resp::{parse_frame, parse_request, Request};
use myongoredis_core::Protocol;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    // Each pass consumes at least one byte, so this loop is bounded.
    loop {
        let result = parse_request(rest);
        let consumed = match &result {
            Ok(Request::Command { args, consumed }) => {
                assert!(!args.is_empty());
                *consumed
            }
            Ok(Request::Skip { consumed }) => *consumed,
            Ok(Request::Incomplete) | Err(_) => break,
        };
        assert!(
            consumed > 0 && consumed <= rest.len(),
            "consumed {consumed} of {}",
            rest.len()
        );
        assert_eq!(
            parse_request(&rest[..consumed]),
            result,
            "decision needs unconsumed bytes"
        );
        rest = &rest[consumed..];
    }

    if let Ok(Some((frame, used))) = parse_frame(data) {
        assert!(used <= data.len());
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            let mut bytes = bytes::BytesMut::new();
            frame.encode_as(protocol, &mut bytes);
            let (again, n) = parse_frame(&bytes)
                .expect("an encoded frame parses")
                .expect("whole");
            assert_eq!(n, bytes.len());
            let mut twice = bytes::BytesMut::new();
            again.encode_as(protocol, &mut twice);
            assert_eq!(twice, bytes, "not a fixed point in {protocol:?}: {frame:?}");
        }
    }
});
