//! What a bench run found: every figure (`results.json`), the medians
//! across repeats, the console table, and a plain-language reading.

use serde::Serialize;

use crate::info::Contention;
use crate::load::{ErrorCounts, Measurement};
use crate::servers::RowInfo;
use crate::workload::WorkloadKind;

/// Everything `results.json` holds.
#[derive(Debug, Serialize)]
pub struct Results {
    pub tool: &'static str,
    pub version: &'static str,
    /// The bench's own command line, quoted so it can be pasted back.
    pub command_line: String,
    pub started_unix_s: u64,
    pub started_utc: String,
    pub finished_unix_s: u64,
    pub machine: Machine,
    pub git: Option<Git>,
    pub config: Config,
    pub rows: Vec<RowInfo>,
    /// Every run, in the order it ran.
    pub runs: Vec<RunResult>,
    /// One entry per row and workload: medians over the repeats.
    pub summary: Vec<Summary>,
    /// The plain-language reading shown at the top of the report.
    pub reading: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: Option<String>,
    pub kernel: Option<String>,
    /// `/proc/loadavg` before and after: on a shared machine, the first
    /// thing to check when two runs disagree.
    pub loadavg_before: Option<String>,
    pub loadavg_after: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Git {
    pub revision: String,
    /// Uncommitted changes to tracked files when the bench ran.
    pub dirty: bool,
}

#[derive(Debug, Serialize)]
pub struct Config {
    pub workloads: Vec<WorkloadKind>,
    pub clients: u32,
    pub pipeline: u32,
    pub duration_s: f64,
    pub keys: u64,
    pub value_size: u32,
    pub repeat: u32,
    pub open_loop: bool,
    pub seed: u64,
}

/// Latency percentiles of one run, in microseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Debug, Serialize)]
pub struct RunResult {
    /// 1-based position in the run order.
    pub order: usize,
    pub row: String,
    pub workload: WorkloadKind,
    /// 1-based repeat number.
    pub repeat: u32,
    pub elapsed_s: f64,
    pub ops: u64,
    pub ops_per_sec: f64,
    pub errors: ErrorCounts,
    pub first_error: Option<String>,
    pub latency_us: Latency,
    /// Replies in each whole second.
    pub timeline: Vec<u64>,
    /// The growth of the server's lock counters during the run.
    pub contention: Option<Contention>,
    /// lock_wait_us / (elapsed × clients), in percent of client time.
    pub lock_wait_share_pct: Option<f64>,
    /// lock_hold_us / (elapsed × clients), in percent of client time.
    pub lock_hold_share_pct: Option<f64>,
}

impl RunResult {
    pub fn new(
        order: usize,
        row: &str,
        workload: WorkloadKind,
        repeat: u32,
        clients: u32,
        m: &Measurement,
        contention: Option<Contention>,
    ) -> RunResult {
        let elapsed_s = m.elapsed.as_secs_f64();
        let us = |q: f64| m.latency.value_at_quantile(q) as f64 / 1000.0;
        // The clients' total time in µs: what "share" is a share of.
        let client_us = elapsed_s * 1e6 * f64::from(clients);
        let share = |x: u64| (client_us > 0.0).then(|| x as f64 * 100.0 / client_us);
        RunResult {
            order,
            row: row.to_string(),
            workload,
            repeat,
            elapsed_s,
            ops: m.ops,
            ops_per_sec: if elapsed_s > 0.0 {
                m.ops as f64 / elapsed_s
            } else {
                0.0
            },
            errors: m.errors,
            first_error: m.first_error.clone(),
            latency_us: Latency {
                p50: us(0.5),
                p90: us(0.9),
                p99: us(0.99),
                p999: us(0.999),
                max: m.latency.max() as f64 / 1000.0,
                mean: m.latency.mean() / 1000.0,
            },
            timeline: m.timeline.clone(),
            lock_wait_share_pct: contention.as_ref().and_then(|c| share(c.wait_us)),
            lock_hold_share_pct: contention.as_ref().and_then(|c| share(c.hold_us)),
            contention,
        }
    }
}

/// Median and range of one figure over the repeats.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// (max - min) / median, in percent: how far to trust a difference.
    pub spread_pct: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        let (min, max) = (v[0], v[v.len() - 1]);
        let spread_pct = if median > 0.0 {
            (max - min) * 100.0 / median
        } else {
            0.0
        };
        Spread {
            median,
            min,
            max,
            spread_pct,
        }
    }
}

/// One row × workload, over its repeats.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub row: String,
    pub workload: WorkloadKind,
    pub runs: usize,
    pub ops_per_sec: Spread,
    /// Medians of the runs' percentiles.
    pub latency_us: Latency,
    pub lock_wait_share_pct: Option<Spread>,
    /// How the lock behaved (medians over the runs; `None` without INFO
    /// contention).
    pub locks: Option<LockShape>,
    pub errors: u64,
}

/// What one acquisition looked like: together these tell a long critical
/// section (hold is large) from a scheduling problem (hold is tiny, yet a
/// thread that finds the lock taken waits long).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LockShape {
    /// Acquisitions that found the lock taken, in percent.
    pub contended_pct: f64,
    /// Mean hold time per acquisition.
    pub hold_us_per_acquisition: f64,
    /// Mean wait per contended acquisition.
    pub wait_us_per_contended: f64,
}

impl LockShape {
    fn of(c: &Contention) -> Option<LockShape> {
        (c.acquisitions > 0).then(|| LockShape {
            contended_pct: c.contended as f64 * 100.0 / c.acquisitions as f64,
            hold_us_per_acquisition: c.hold_us as f64 / c.acquisitions as f64,
            wait_us_per_contended: c.wait_us as f64 / c.contended.max(1) as f64,
        })
    }

    fn median(shapes: &[LockShape]) -> LockShape {
        let med =
            |f: fn(&LockShape) -> f64| Spread::of(&shapes.iter().map(f).collect::<Vec<_>>()).median;
        LockShape {
            contended_pct: med(|l| l.contended_pct),
            hold_us_per_acquisition: med(|l| l.hold_us_per_acquisition),
            wait_us_per_contended: med(|l| l.wait_us_per_contended),
        }
    }
}

/// Medians per row and workload, in row order then workload order.
pub fn summarize(rows: &[RowInfo], workloads: &[WorkloadKind], runs: &[RunResult]) -> Vec<Summary> {
    let mut out = Vec::new();
    for w in workloads {
        for row in rows {
            let mine: Vec<&RunResult> = runs
                .iter()
                .filter(|r| r.row == row.label && r.workload == *w)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let med = |f: fn(&RunResult) -> f64| {
                Spread::of(&mine.iter().map(|r| f(r)).collect::<Vec<_>>()).median
            };
            let shares: Vec<f64> = mine.iter().filter_map(|r| r.lock_wait_share_pct).collect();
            let shapes: Vec<LockShape> = mine
                .iter()
                .filter_map(|r| r.contention.as_ref().and_then(LockShape::of))
                .collect();
            out.push(Summary {
                row: row.label.clone(),
                workload: *w,
                runs: mine.len(),
                ops_per_sec: Spread::of(&mine.iter().map(|r| r.ops_per_sec).collect::<Vec<_>>()),
                latency_us: Latency {
                    p50: med(|r| r.latency_us.p50),
                    p90: med(|r| r.latency_us.p90),
                    p99: med(|r| r.latency_us.p99),
                    p999: med(|r| r.latency_us.p999),
                    max: med(|r| r.latency_us.max),
                    mean: med(|r| r.latency_us.mean),
                },
                // Only a figure if every run had one: a median of some runs
                // would hide that the others could not be measured.
                lock_wait_share_pct: (shares.len() == mine.len()).then(|| Spread::of(&shares)),
                locks: (shapes.len() == mine.len()).then(|| LockShape::median(&shapes)),
                errors: mine.iter().map(|r| r.errors.total()).sum(),
            });
        }
    }
    out
}

/// `71.2k`, `1.23M`: ops/s as a person reads them.
pub fn fmt_ops(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// `412 µs`, `1.23 ms`.
pub fn fmt_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us < 10.0 {
        format!("{us:.1} µs")
    } else {
        format!("{us:.0} µs")
    }
}

/// `41 %`, `3.2 %`, or `n/a` when the server did not say.
pub fn fmt_share(share: Option<f64>) -> String {
    match share {
        Some(s) if s >= 10.0 => format!("{s:.0} %"),
        Some(s) => format!("{s:.1} %"),
        None => "n/a".into(),
    }
}

/// The summary as a fixed-width table for the terminal.
pub fn console_table(summary: &[Summary]) -> String {
    let mut out = format!(
        "{:<11} {:<13} {:>9} {:>7} {:>10} {:>10} {:>9} {:>6}\n",
        "workload", "row", "ops/s", "spread", "p50", "p99", "lock wait", "errors"
    );
    for s in summary {
        out.push_str(&format!(
            "{:<11} {:<13} {:>9} {:>6.1}% {:>10} {:>10} {:>9} {:>6}\n",
            s.workload.name(),
            s.row,
            fmt_ops(s.ops_per_sec.median),
            s.ops_per_sec.spread_pct,
            fmt_us(s.latency_us.p50),
            fmt_us(s.latency_us.p99),
            fmt_share(s.lock_wait_share_pct.map(|w| w.median)),
            s.errors,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_median_and_range() {
        let s = Spread::of(&[90.0, 110.0, 100.0]);
        assert_eq!((s.median, s.min, s.max), (100.0, 90.0, 110.0));
        assert!((s.spread_pct - 20.0).abs() < 1e-9);
        assert_eq!(Spread::of(&[1.0, 3.0]).median, 2.0);
        assert_eq!(Spread::of(&[]).median, 0.0);
    }

    #[test]
    fn figures_read_naturally() {
        assert_eq!(fmt_ops(71_234.0), "71.2k");
        assert_eq!(fmt_ops(1_234_567.0), "1.23M");
        assert_eq!(fmt_us(412.4), "412 µs");
        assert_eq!(fmt_us(1234.0), "1.23 ms");
        assert_eq!(fmt_us(2.24), "2.2 µs");
        assert_eq!(fmt_share(Some(41.2)), "41 %");
        assert_eq!(fmt_share(Some(3.21)), "3.2 %");
        assert_eq!(fmt_share(None), "n/a");
    }
}
