//! The AOF loader and the manifest parser on arbitrary bytes.
//!
//! Loading never panics: a file is applied, cut short (where a command is
//! incomplete or a MULTI unfinished), or refused with Redis's message.
//! The valid prefix of a file cut short (what a restart after truncating
//! it reads) loads cleanly, or, when it ends inside a MULTI, as Redis
//! leaves it then, is cut once more before that MULTI.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_core::aof::{self, End, Manifest};

fuzz_target!(|data: &[u8]| {
    let parsed = Manifest::parse(&String::from_utf8_lossy(data));
    // (Comments alone parse to no files, and no files render to nothing.)
    if let Some(m) = parsed
        .ok()
        .filter(|m| m.base.is_some() || !m.incr.is_empty() || !m.history.is_empty())
    {
        // What is written back parses back the same.
        assert_eq!(Manifest::parse(&m.render()).as_ref(), Ok(&m));
    }
    let file = vec![("fuzz.aof".to_string(), data.to_vec())];
    match aof::replay(&file) {
        Ok(_) => {}
        Err(e) => {
            assert!(!e.is_empty());
            // A cut file: its valid prefix loads cleanly.
            let config = myongoredis_core::Config::with_defaults();
            let store = myongoredis_core::new_store(
                myongoredis_core::Mode::Mutex,
                1,
                config.databases(),
                std::sync::Arc::new(myongoredis_core::NoObserver),
            );
            let exec = myongoredis_core::Executor::new(store, 0, config);
            if let Ok(outcome) = aof::load_file(&exec, "fuzz.aof", data) {
                if let End::Cut { valid_up_to, .. } = outcome.end {
                    let prefix = vec![("p".to_string(), data[..valid_up_to as usize].to_vec())];
                    if let Err(e) = aof::replay(&prefix) {
                        assert!(e.contains("Revert incomplete MULTI/EXEC"), "{e}");
                    }
                }
            }
        }
    }
});
