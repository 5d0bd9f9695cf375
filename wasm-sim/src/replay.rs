//! `myongoredis-sim replay DIR`: load a capture, replay it, compare.
//!
//! Loading sorts the records by sequence number and stops at the first
//! missing one (see `myongoredis_core::replay::order_by_seq`). Replay runs
//! the records through the guest in wasmtime (or natively, in-process, for
//! comparison) and pairs every outcome with its record: a command's reply
//! must equal the captured reply byte for byte unless the record is marked
//! excluded; an expiry step must have sampled and deleted as many keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use myongoredis_core::capture::{self, escaped, Header, Mark, Record};
use myongoredis_core::replay::{order_by_seq, Outcome, Replayer};
use myongoredis_core::resp::{parse_request, Request};

use crate::guest::{fuel_budget, Guest};
use crate::SimError;

/// A capture read from disk, in sequence order.
pub struct Loaded {
    /// The file the records came from.
    pub path: PathBuf,
    pub header: Header,
    /// Gap-free, sorted by seq.
    pub records: Vec<Record>,
    /// Line number of each record in the file, by seq (for reports).
    pub lines: BTreeMap<u64, usize>,
    /// Bytes of an unfinished last line that were ignored.
    pub truncated_tail: usize,
    /// The first missing seq, if records after it were dropped.
    pub gap_at: Option<u64>,
    pub dropped: usize,
}

/// Read a capture: `path` is a `--capture` directory or the file itself.
pub fn load(path: &Path) -> Result<Loaded, SimError> {
    let file = if path.is_dir() {
        path.join(capture::FILE_NAME)
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file).map_err(|e| SimError::Io {
        path: file.clone(),
        reason: e.to_string(),
    })?;
    let decoded = capture::decode(&bytes).map_err(|e| SimError::Capture {
        path: file.clone(),
        reason: e.to_string(),
    })?;
    // Config lines come first (the decoder enforces it), so record i of
    // the file is on line 2 + configs + i.
    let first_line = 2 + decoded.header.config.len();
    let lines = decoded
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.seq(), first_line + i))
        .collect();
    let ordered = order_by_seq(decoded.records).map_err(|reason| SimError::Capture {
        path: file.clone(),
        reason,
    })?;
    Ok(Loaded {
        path: file,
        header: decoded.header,
        records: ordered.records,
        lines,
        truncated_tail: decoded.truncated_tail,
        gap_at: ordered.gap_at,
        dropped: ordered.dropped,
    })
}

/// Where to run the replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    /// In the guest, in wasmtime.
    Wasm,
    /// In this process, with the same `Replayer` the guest runs.
    Native,
}

/// The first record whose replay differs from the capture.
#[derive(Debug)]
pub struct Divergence {
    pub seq: u64,
    pub what: String,
}

/// What a replay did.
pub struct Replayed {
    pub outcomes: Vec<Outcome>,
    pub elapsed: Duration,
    /// Wasm only.
    pub fuel_used: Option<u64>,
}

/// The guest's stdin for these records: the header and the records with
/// the captured replies left out (the guest does not need them, and
/// decoding them would be most of its input work).
pub fn guest_input(header: &Header, records: &[Record]) -> Vec<u8> {
    let mut input = Vec::new();
    header.encode(&mut input);
    for record in records {
        match record {
            Record::Command(c) => {
                let mut stripped = c.clone();
                stripped.reply.clear();
                Record::Command(stripped).encode(&mut input);
            }
            other => other.encode(&mut input),
        }
    }
    input
}

/// Replay `records` with `runner`.
pub fn run(
    runner: Runner,
    guest: Option<&Guest>,
    header: &Header,
    records: &[Record],
) -> Result<Replayed, SimError> {
    match runner {
        Runner::Native => {
            let started = Instant::now();
            let mut replayer = Replayer::new(header);
            let outcomes = records.iter().filter_map(|r| replayer.apply(r)).collect();
            Ok(Replayed {
                outcomes,
                elapsed: started.elapsed(),
                fuel_used: None,
            })
        }
        Runner::Wasm => {
            let guest = guest.ok_or(SimError::Usage("no guest module loaded".into()))?;
            let input = guest_input(header, records);
            let fuel = fuel_budget(records.len(), input.len());
            // Replies come back escaped (at most 4 bytes per byte) plus a
            // short prefix per line; anything beyond that is a guest gone
            // wrong, which then fails to write and exits.
            let expected: usize = records
                .iter()
                .map(|r| match r {
                    Record::Command(c) => 4 * c.reply.len() + 48,
                    _ => 64,
                })
                .sum();
            let capacity = expected + (1 << 20);
            let run = guest.run(input, capacity, fuel)?;
            let outcomes = Outcome::decode_all(&run.stdout).map_err(SimError::GuestOutput)?;
            Ok(Replayed {
                outcomes,
                elapsed: run.elapsed,
                fuel_used: Some(run.fuel_used),
            })
        }
    }
}

/// Pair outcomes with records; the first mismatch, if any.
pub fn compare(records: &[Record], outcomes: &[Outcome]) -> Option<Divergence> {
    let mut outcomes = outcomes.iter();
    for record in records {
        let expects_outcome = !matches!(
            record,
            Record::Open { .. }
                | Record::Close { .. }
                | Record::Command(capture::CommandRecord {
                    mark: Mark::Panicked,
                    ..
                })
        );
        if !expects_outcome {
            continue;
        }
        let seq = record.seq();
        let Some(outcome) = outcomes.next() else {
            return Some(Divergence {
                seq,
                what: "the replay produced no outcome for this record (it stopped early)".into(),
            });
        };
        if outcome.seq() != seq {
            return Some(Divergence {
                seq,
                what: format!("the replay answered seq {} instead", outcome.seq()),
            });
        }
        let differs = match (record, outcome) {
            (Record::Command(c), Outcome::Reply { reply, .. }) => (c.mark == Mark::Compared
                && *reply != c.reply)
                .then(|| {
                    format!(
                        "connection {} at {} us\n  request:  {}\n  expected: {}\n  actual:   {}",
                        c.conn,
                        c.now_us,
                        escaped(&c.request),
                        escaped(&c.reply),
                        escaped(reply)
                    )
                }),
            (
                Record::Expire(e),
                Outcome::Expired {
                    sampled, expired, ..
                },
            ) => ((*sampled, *expired) != (e.sampled, e.expired)).then(|| {
                format!(
                    "active expiry of lock {} at {} us: expected {} sampled / {} expired, \
                     replay {sampled} / {expired}",
                    e.lock, e.now_us, e.sampled, e.expired
                )
            }),
            (Record::LazyExpire(l), Outcome::LazyExpired { deleted, .. }) => {
                (*deleted != l.deleted).then(|| {
                    format!(
                        "lazy expiry after {} on connection {}: expected {} deleted, replay {deleted}",
                        escaped(&l.request),
                        l.conn,
                        l.deleted
                    )
                })
            }
            (Record::Evict(_), Outcome::Evicted { .. }) => None,
            (_, other) => Some(format!("the replay produced {other:?} for this record")),
        };
        if let Some(what) = differs {
            return Some(Divergence { seq, what });
        }
    }
    outcomes.next().map(|extra| Divergence {
        seq: extra.seq(),
        what: "the replay produced more outcomes than there are records".into(),
    })
}

/// Counts for the summary.
#[derive(Default)]
pub struct Census {
    pub records: usize,
    pub connections: usize,
    pub commands: BTreeMap<String, u64>,
    /// Excluded replies (shell-dependent), by command.
    pub excluded: BTreeMap<String, u64>,
    pub panicked: u64,
    pub protocol_errors: u64,
    pub expiry_steps: u64,
    pub lazy_expiries: u64,
    pub evictions: u64,
}

pub fn census(records: &[Record]) -> Census {
    let mut c = Census {
        records: records.len(),
        ..Census::default()
    };
    for record in records {
        match record {
            Record::Open { .. } => c.connections += 1,
            Record::Close { .. } => {}
            Record::Expire(_) => c.expiry_steps += 1,
            Record::LazyExpire(_) => c.lazy_expiries += 1,
            Record::Evict(_) => c.evictions += 1,
            Record::Command(cmd) => {
                let name = match parse_request(&cmd.request) {
                    Ok(Request::Command { args, .. }) => {
                        String::from_utf8_lossy(&args[0]).to_ascii_lowercase()
                    }
                    _ => {
                        c.protocol_errors += 1;
                        "(protocol error)".to_string()
                    }
                };
                match cmd.mark {
                    Mark::Compared => {}
                    Mark::Excluded => *c.excluded.entry(name.clone()).or_default() += 1,
                    Mark::Panicked => c.panicked += 1,
                }
                *c.commands.entry(name).or_default() += 1;
            }
        }
    }
    c
}

impl Census {
    /// The summary lines `replay` prints.
    pub fn print(&self) {
        println!(
            "  records:      {} ({} connections, {} expiry steps, {} lazy expiries, {} evictions)",
            self.records, self.connections, self.expiry_steps, self.lazy_expiries, self.evictions
        );
        let mut by_count: Vec<(&String, &u64)> = self.commands.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let listed: Vec<String> = by_count.iter().map(|(n, c)| format!("{n} {c}")).collect();
        println!(
            "  commands:     {} ({})",
            self.commands.values().sum::<u64>(),
            listed.join(", ")
        );
        let excluded: Vec<String> = self
            .excluded
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect();
        println!(
            "  excluded:     {} replies not compared (shell-dependent: {}){}",
            self.excluded.values().sum::<u64>(),
            if excluded.is_empty() {
                "none".to_string()
            } else {
                excluded.join(", ")
            },
            if self.panicked > 0 {
                format!(
                    "; {} commands that panicked in the server skipped",
                    self.panicked
                )
            } else {
                String::new()
            }
        );
    }
}
