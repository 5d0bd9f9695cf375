//! Cluster mode's three loaders on arbitrary bytes: `nodes.conf`
//! (`cluster::conf::load`), a cluster bus message (`bus::Message::decode`)
//! and a DUMP payload as RESTORE reads it (`rdb::value_from_payload`).
//!
//! None may panic. What loads writes back to what loads the same: a
//! nodes.conf saved from a loaded state loads to the same state, and a
//! decoded message encodes to bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_core::cluster::bus::Message;
use myongoredis_core::cluster::conf;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(state) = conf::load(&text) {
        let saved = conf::save(&state);
        let again = conf::load(&saved).expect("a saved nodes.conf loads");
        assert_eq!(conf::save(&again), saved);
    }
    if let Ok(msg) = Message::decode(data) {
        assert_eq!(Message::decode(&msg.encode()), Ok(msg));
    }
    let limits = myongoredis_core::Config::with_defaults().limits();
    let _ = myongoredis_core::rdb::value_from_payload(data, &limits);
});
