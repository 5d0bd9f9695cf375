//! Loading an AOF file: the commands it holds, run in order by a client
//! with no connection (Redis's "fake client", `CLIENT_ID_AOF`).
//!
//! This is in `core`, not in the shell that owns the files, so that an AOF
//! is also a replayable history: loaded natively or in the WebAssembly
//! guest (`myongoredis-sim load-aof`), the same bytes give the same
//! keyspace. Nothing expires while loading (Redis's `keyIsExpired` says no
//! while `server.loading`): the commands run at clock 0, and an AOF holds
//! only absolute deadlines (`PXAT`, `PEXPIREAT`), so a load is a pure
//! function of the file.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::exec::{Executor, AOF_CLIENT_ID};
use crate::session::Session;
use crate::store::{new_store, Mode, NoObserver};

/// The kind of a file in the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Base,
    History,
    Incr,
}

/// One manifest line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFile {
    pub name: String,
    pub seq: u64,
    pub kind: FileType,
}

/// The manifest: which files make up the AOF, in load order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<ManifestFile>,
    pub history: Vec<ManifestFile>,
    pub incr: Vec<ManifestFile>,
}

impl Manifest {
    /// Parse a manifest as Redis 7.0's `aofLoadManifestFromFile` does,
    /// with its error messages.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        let mut lines = 0;
        for raw in text.split_inclusive('\n') {
            lines += 1;
            if raw.starts_with('#') {
                continue;
            }
            let fail = |why: &str| format!("{why} (manifest line {lines}: {:?})", raw.trim_end());
            if !raw.ends_with('\n') {
                return Err(fail("The AOF manifest file contains too long line"));
            }
            let line = raw.trim_matches([' ', '\t', '\r', '\n']);
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            if line.is_empty() || words.len() < 6 || words.len() % 2 != 0 {
                return Err(fail("Invalid AOF manifest file format"));
            }
            let (mut name, mut seq, mut kind) = (None, 0u64, None);
            for pair in words.chunks(2) {
                match pair[0].to_ascii_lowercase().as_str() {
                    "file" => {
                        if pair[1].contains('/') {
                            return Err(fail("File can't be a path, just a filename"));
                        }
                        name = Some(pair[1].to_string());
                    }
                    "seq" => seq = pair[1].parse().unwrap_or(0),
                    "type" => kind = pair[1].chars().next(),
                    _ => {}
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return Err(fail("Invalid AOF manifest file format"));
            };
            if seq == 0 {
                return Err(fail("Invalid AOF manifest file format"));
            }
            match kind {
                'b' => {
                    if manifest.base.is_some() {
                        return Err(fail("Found duplicate base file information"));
                    }
                    let kind = FileType::Base;
                    manifest.base = Some(ManifestFile { name, seq, kind });
                }
                'h' => {
                    let kind = FileType::History;
                    manifest.history.push(ManifestFile { name, seq, kind });
                }
                'i' => {
                    if manifest.incr.last().is_some_and(|last| seq <= last.seq) {
                        return Err(fail("Found a non-monotonic sequence number"));
                    }
                    let kind = FileType::Incr;
                    manifest.incr.push(ManifestFile { name, seq, kind });
                }
                _ => return Err(fail("Unknown AOF file type")),
            }
        }
        if lines == 0 {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(manifest)
    }

    /// The manifest's text: base, history, incr, one line each.
    pub fn render(&self) -> String {
        let tag = |kind| match kind {
            FileType::Base => 'b',
            FileType::History => 'h',
            FileType::Incr => 'i',
        };
        self.base
            .iter()
            .chain(&self.history)
            .chain(&self.incr)
            .map(|f| format!("file {} seq {} type {}\n", f.name, f.seq, tag(f.kind)))
            .collect()
    }

    pub fn next_seq(files: &[ManifestFile], base: Option<&ManifestFile>) -> u64 {
        files.iter().chain(base).map(|f| f.seq).max().unwrap_or(0) + 1
    }
}

/// How one file ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    Complete,
    /// Cut short (or an unfinished MULTI): everything up to `valid_up_to`
    /// was applied. `why` is a log line to print first, if any.
    Cut {
        valid_up_to: u64,
        why: String,
    },
}

/// What one file held.
#[derive(Debug)]
pub struct FileOutcome {
    pub commands: u64,
    pub end: End,
}

/// Apply one AOF file (an RDB base, or RESP commands) to `exec`.
///
/// Redis's `loadSingleAppendOnlyFile`: `#` lines are annotations; a line
/// that is not `*<n>` or `$<len>` where one is due is a format error
/// (fatal); a command cut short is an unexpected end of file, and so is
/// a `MULTI` without its `EXEC` at the end (the transaction is dropped:
/// everything before the `MULTI` was applied, nothing after).
pub fn load_file(exec: &Executor, name: &str, bytes: &[u8]) -> Result<FileOutcome, String> {
    // An RDB base (`aof-use-rdb-preamble yes`), loaded at clock 0 like the
    // commands: no key is dropped for a deadline that passed.
    if bytes.starts_with(b"REDIS") {
        exec.load_rdb(bytes, 0).map_err(|e| {
            format!("Error reading the RDB base file {name}, AOF loading aborted: {e}")
        })?;
        return Ok(FileOutcome {
            commands: 0,
            end: End::Complete,
        });
    }
    // The fake client: no connection, no password to give, no replies.
    let mut session = Session::new(AOF_CLIENT_ID);
    let mut out = BytesMut::new();
    let mut at = 0usize;
    let mut commands = 0;
    let mut valid_before_multi = 0u64;
    let format_error = || {
        format!(
            "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
        )
    };
    let cut = |commands: u64, valid_up_to: usize| FileOutcome {
        commands,
        end: End::Cut {
            valid_up_to: valid_up_to as u64,
            why: String::new(),
        },
    };
    while at < bytes.len() {
        let start = at;
        let Some(line) = read_line(bytes, &mut at) else {
            return Ok(cut(commands, start));
        };
        if line.first() == Some(&b'#') {
            continue;
        }
        if line.first() != Some(&b'*') {
            return Err(format_error());
        }
        let argc = parse_count(&line[1..])
            .filter(|&n| n >= 1)
            .ok_or_else(format_error)?;
        let mut args = Vec::with_capacity(argc.min(1024));
        for _ in 0..argc {
            let Some(line) = read_line(bytes, &mut at) else {
                return Ok(cut(commands, start));
            };
            if line.first() != Some(&b'$') {
                return Err(format_error());
            }
            let len = parse_count(&line[1..]).ok_or_else(format_error)?;
            // A length near usize::MAX must read as "more than the file
            // holds", not overflow (the aof_load fuzzer found this).
            if len
                .checked_add(2)
                .is_none_or(|need| bytes.len() - at < need)
            {
                return Ok(cut(commands, start));
            }
            args.push(Bytes::copy_from_slice(&bytes[at..at + len]));
            at += len + 2;
        }
        if crate::cmd::lookup(&args[0]).is_none() {
            return Err(format!(
                "Unknown command '{}' reading the append only file {name}",
                String::from_utf8_lossy(&args[0])
            ));
        }
        if args[0].eq_ignore_ascii_case(b"MULTI") {
            valid_before_multi = start as u64;
        }
        out.clear();
        // Clock 0: nothing expires while loading (see the module comment).
        exec.execute(&mut session, &args, 0, &mut out);
        commands += 1;
    }
    if session.multi.is_some() {
        exec.end_session(&mut session);
        return Ok(FileOutcome {
            commands,
            end: End::Cut {
                valid_up_to: valid_before_multi,
                why: format!("Revert incomplete MULTI/EXEC transaction in AOF file {name}\n"),
            },
        });
    }
    exec.end_session(&mut session);
    Ok(FileOutcome {
        commands,
        end: End::Complete,
    })
}

/// The next `\n`-terminated line (without `\r\n`), or `None` at a cut.
fn read_line<'b>(bytes: &'b [u8], at: &mut usize) -> Option<&'b [u8]> {
    let rest = &bytes[*at..];
    let end = rest.iter().position(|&b| b == b'\n')?;
    *at += end + 1;
    let line = &rest[..end];
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// A decimal count, as `atoi`/`strtol` would accept a sane one.
fn parse_count(digits: &[u8]) -> Option<usize> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Load `files` (name, contents), in order, into a fresh executor (one
/// lock, default config, seed 0) and return the keyspace it ends with, as
/// the commands of an AOF rewrite: the same bytes natively and in the
/// WebAssembly guest, or the load is not deterministic.
pub fn replay(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let config = Config::with_defaults();
    let store = new_store(Mode::Mutex, 1, config.databases(), Arc::new(NoObserver));
    let exec = Executor::new(store, 0, config);
    for (name, bytes) in files {
        match load_file(&exec, name, bytes)?.end {
            End::Complete => {}
            End::Cut { valid_up_to, why } => {
                return Err(format!("{why}{name} is cut short at byte {valid_up_to}"))
            }
        }
    }
    // Clock 0: every key that has a deadline is still there.
    Ok(crate::rewrite::snapshot(&exec, 0, || {}))
}

/// The guest's input for [`replay`]: a header line, then each file as its
/// name's line, its length's line and its bytes.
pub const REPLAY_MAGIC: &[u8] = b"myongoredis-aof-replay\n";

pub fn encode_replay_input(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = REPLAY_MAGIC.to_vec();
    for (name, bytes) in files {
        out.extend_from_slice(format!("{name}\n{}\n", bytes.len()).as_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

pub fn decode_replay_input(input: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut rest = input
        .strip_prefix(REPLAY_MAGIC)
        .ok_or("not an AOF replay input")?;
    let mut files = Vec::new();
    while !rest.is_empty() {
        let mut at = 0;
        let name = read_line(rest, &mut at).ok_or("a file name")?;
        let len = read_line(rest, &mut at)
            .and_then(parse_count)
            .ok_or("a file length")?;
        if rest.len() - at < len {
            return Err("a file cut short".into());
        }
        files.push((
            String::from_utf8_lossy(name).into_owned(),
            rest[at..at + len].to_vec(),
        ));
        rest = &rest[at + len..];
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_and_rejects_what_redis_rejects() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.render(), text);
        assert_eq!(m.incr.len(), 2);
        for (bad, why) in [
            ("", "Found an empty AOF manifest"),
            (
                "file a seq 1 type b\nfile b seq 2 type b\n",
                "duplicate base",
            ),
            (
                "file a seq 2 type i\nfile b seq 1 type i\n",
                "non-monotonic",
            ),
            ("file a seq 1 type x\n", "Unknown AOF file type"),
            ("file a seq 1\n", "Invalid AOF manifest file format"),
            ("file ../a seq 1 type i\n", "File can't be a path"),
            ("file a seq 1 type i", "too long line"),
        ] {
            let e = Manifest::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        // Comments are skipped.
        assert!(Manifest::parse("# hi\nfile a seq 1 type i\n").is_ok());
    }

    #[test]
    fn a_cut_command_and_an_unfinished_multi_end_the_file_where_redis_does() {
        let config = Config::with_defaults();
        let store = new_store(Mode::Mutex, 1, config.databases(), Arc::new(NoObserver));
        let exec = Executor::new(store, 0, config);
        let whole = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
        let mut cut = whole.to_vec();
        cut.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb");
        let outcome = load_file(&exec, "f", &cut).unwrap();
        assert_eq!(outcome.commands, 1);
        assert!(
            matches!(outcome.end, End::Cut { valid_up_to, .. } if valid_up_to == whole.len() as u64)
        );
        let mut multi = whole.to_vec();
        multi.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$1\r\n1\r\n");
        let outcome = load_file(&exec, "f", &multi).unwrap();
        assert!(
            matches!(outcome.end, End::Cut { valid_up_to, ref why } if valid_up_to == whole.len() as u64 && why.contains("Revert incomplete MULTI/EXEC"))
        );
        assert!(load_file(&exec, "f", b"garbage\r\n")
            .unwrap_err()
            .contains("Bad file format"));
        assert!(load_file(&exec, "f", b"*1\r\n$4\r\nNOPE\r\n")
            .unwrap_err()
            .contains("Unknown command 'NOPE'"));
    }

    #[test]
    fn a_huge_bulk_length_is_a_cut_file_not_an_overflow() {
        let config = Config::with_defaults();
        let store = new_store(Mode::Mutex, 1, config.databases(), Arc::new(NoObserver));
        let exec = Executor::new(store, 0, config);
        let whole = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
        let mut file = whole.to_vec();
        file.extend_from_slice(b"*5\r\n$18446744073709551615\r\n");
        let outcome = load_file(&exec, "f", &file).unwrap();
        assert_eq!(outcome.commands, 1);
        assert!(
            matches!(outcome.end, End::Cut { valid_up_to, .. } if valid_up_to == whole.len() as u64)
        );
    }

    #[test]
    fn replay_input_round_trips() {
        let files = vec![
            ("a.aof".to_string(), b"x\ny".to_vec()),
            ("b".to_string(), vec![]),
        ];
        assert_eq!(
            decode_replay_input(&encode_replay_input(&files)).unwrap(),
            files
        );
        assert!(decode_replay_input(b"nope").is_err());
    }
}
