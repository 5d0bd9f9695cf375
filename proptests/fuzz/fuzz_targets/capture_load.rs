//! The capture reader (`myongoredis-sim replay DIR` reads files a crashed
//! or foreign server wrote) on arbitrary bytes.
//!
//! Decoding never panics; a capture that decodes, written back out,
//! decodes to the same header and records (so a replay sees what the
//! server recorded, eviction lines included); and ordering its records by
//! sequence number never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_core::capture::decode;
use myongoredis_core::replay::order_by_seq;

fuzz_target!(|data: &[u8]| {
    let Ok(capture) = decode(data) else {
        return;
    };
    let mut written = Vec::new();
    capture.header.encode(&mut written);
    for record in &capture.records {
        record.encode(&mut written);
    }
    let again = decode(&written).expect("a written capture decodes");
    assert_eq!(again.header, capture.header);
    assert_eq!(again.records, capture.records);
    assert_eq!(again.truncated_tail, 0);
    let _ = order_by_seq(capture.records);
});
