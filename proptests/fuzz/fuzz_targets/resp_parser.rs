//! The RESP parsers on arbitrary bytes.
//!
//! `parse_request` (what the server reads): never panics, a command or a
//! skip consumes at least one and at most all bytes, its decision depends
//! only on the bytes it consumed, and parsing a whole buffer request by
//! request ends. `parse_frame` (what clients read): whatever it accepts
//! re-encodes to exactly the bytes it consumed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_core::resp::{parse_frame, parse_request, Request};

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
        assert_eq!(
            &frame.to_bytes()[..],
            &data[..used],
            "not canonical: {frame:?}"
        );
    }
});
