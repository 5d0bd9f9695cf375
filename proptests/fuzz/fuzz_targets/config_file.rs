//! The redis.conf reader and CONFIG REWRITE on arbitrary text.
//!
//! Loading never panics and stops at the first bad line; a text that
//! loads, once rewritten, loads back to the same values (what CONFIG
//! REWRITE writes, the next start reads); and rewriting is stable: the
//! second rewrite of a rewritten file is the file itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_core::config::file::{directives, rewrite, FileError};
use myongoredis_core::Config;

fn load(text: &str) -> Result<Config, FileError> {
    let config = Config::with_defaults();
    // Includes are the shell's; here they load nothing.
    config.load_conf(text, &mut |_: &str| Ok::<(), FileError>(()))?;
    Ok(config)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    for d in directives(&text) {
        match d {
            Ok(d) => assert!(d.line >= 1 && d.line <= lines && !d.words.is_empty()),
            Err(e) => assert!(e.line >= 1 && e.line <= lines),
        }
    }
    let Ok(config) = load(&text) else {
        return;
    };
    let written = rewrite(&text, &config.snapshot());
    let reloaded = load(&written).expect("a rewritten config loads");
    assert_eq!(reloaded.entries(), config.entries(), "rewritten:\n{written}");
    let again = rewrite(&written, &config.snapshot());
    assert_eq!(rewrite(&again, &config.snapshot()), again);
});
