//! The plain-language reading at the top of the report, generated from
//! the numbers: what each mode served compared with the mutex baseline,
//! how lock wait moved, how real Redis compares, and how far the repeats
//! let us trust any of it.
//!
//! A difference smaller than the repeats' own spread is called noise, not a
//! win: on a shared two-core machine that happens, and a report that
//! pretended otherwise would teach the wrong lesson.

use crate::report::{fmt_ops, fmt_share, fmt_us, Summary};
use crate::servers::RowInfo;
use crate::workload::WorkloadKind;

/// Lock wait below this share of client time, in every mode, means the
/// locks were not what limited throughput.
const LOCKS_NOT_THE_LIMIT_PCT: f64 = 5.0;

/// Facts about the machine that the reading mentions.
pub struct Context<'a> {
    pub nproc: usize,
    pub clients: u32,
    pub loadavg: Option<&'a str>,
}

/// One sentence per workload, then a few about the run as a whole.
pub fn reading(
    rows: &[RowInfo],
    workloads: &[WorkloadKind],
    summary: &[Summary],
    ctx: &Context,
) -> Vec<String> {
    let find =
        |row: &str, w: WorkloadKind| summary.iter().find(|s| s.row == row && s.workload == w);
    let ours: Vec<&RowInfo> = rows.iter().filter(|r| r.server != "redis-server").collect();
    let mut out = Vec::new();

    for &w in workloads {
        let mine: Vec<&Summary> = ours.iter().filter_map(|r| find(&r.label, w)).collect();
        let Some(best) = mine
            .iter()
            .copied()
            .max_by(|a, b| a.ops_per_sec.median.total_cmp(&b.ops_per_sec.median))
        else {
            continue;
        };
        let mut sentence = match mine.iter().find(|s| s.row == "mutex") {
            Some(base) if mine.len() > 1 => compare_to_mutex(w, base, &mine),
            _ => format!(
                "On {}, {} served {} ops/s",
                w.name(),
                best.row,
                fmt_ops(best.ops_per_sec.median)
            ),
        };
        sentence.push_str(&lock_wait_clause(&mine, best));
        sentence.push('.');
        if let Some(redis) = find("redis-server", w) {
            let ratio = redis.ops_per_sec.median / best.ops_per_sec.median.max(1.0);
            sentence.push_str(&format!(
                " redis-server served {} ops/s, {ratio:.2}× {}.",
                fmt_ops(redis.ops_per_sec.median),
                best.row
            ));
        }
        out.push(sentence);
    }

    let shares: Vec<f64> = summary
        .iter()
        .filter_map(|s| s.lock_wait_share_pct.map(|w| w.median))
        .collect();
    if shares.is_empty() {
        out.push(
            "No lock-wait figures: no server reported an INFO contention section, so the \
             lock-wait columns say n/a."
                .into(),
        );
    } else if shares.iter().all(|&s| s < LOCKS_NOT_THE_LIMIT_PCT) {
        out.push(format!(
            "Lock wait stayed under {LOCKS_NOT_THE_LIMIT_PCT:.0} % of client time in every mode: \
             here the locks were not what limited throughput; round trips, system calls and \
             thread scheduling were."
        ));
    }

    if let Some(line) = where_wait_comes_from(summary, ctx) {
        out.push(line);
    }

    let errors: u64 = summary.iter().map(|s| s.errors).sum();
    if errors == 0 {
        out.push("Every reply was checked (SET +OK, GET the value or nil): no errors.".into());
    } else {
        out.push(format!(
            "{errors} replies were wrong or lost; the runs table shows the first error of each run."
        ));
    }

    if let Some(noisiest) = summary.iter().filter(|s| s.runs > 1).max_by(|a, b| {
        a.ops_per_sec
            .spread_pct
            .total_cmp(&b.ops_per_sec.spread_pct)
    }) {
        out.push(format!(
            "Repeats varied by up to {:.0} % ({} on {}); read smaller differences as noise. \
             Machine: {} cores{}.",
            noisiest.ops_per_sec.spread_pct,
            noisiest.row,
            noisiest.workload.name(),
            ctx.nproc,
            ctx.loadavg
                .map(|l| {
                    // /proc/loadavg: the 1, 5 and 15 minute averages come first.
                    let averages: Vec<&str> = l.split_whitespace().take(3).collect();
                    format!(", load average {} at the start", averages.join(" "))
                })
                .unwrap_or_default()
        ));
    }
    out
}

/// Below this share the worst row's waiting is not worth explaining.
const WAIT_WORTH_EXPLAINING_PCT: f64 = 1.0;

/// Waits this many times longer than holds are not a queue of critical
/// sections: they are threads waiting for a CPU after the lock was freed.
const SCHEDULING_NOT_HOLDING: f64 = 10.0;

/// Explain the row that waited most: is the wait the critical sections
/// queueing up (long holds), or threads that, once woken, wait for a CPU
/// (tiny holds, long waits)? And what it does to the tail.
fn where_wait_comes_from(summary: &[Summary], ctx: &Context) -> Option<String> {
    let wait = |s: &Summary| s.lock_wait_share_pct.map(|w| w.median);
    let worst = summary
        .iter()
        .filter(|s| s.locks.is_some())
        .max_by(|a, b| wait(a).unwrap_or(0.0).total_cmp(&wait(b).unwrap_or(0.0)))?;
    let share = wait(worst)?;
    let locks = worst.locks?;
    if share < WAIT_WORTH_EXPLAINING_PCT {
        return None;
    }
    let mut line = format!(
        "Where lock wait was highest ({} on {}, {} of client time), a lock was held {} per \
         acquisition, and a thread that found it taken ({:.1} % of acquisitions) waited {} on \
         average",
        worst.row,
        worst.workload.name(),
        fmt_share(Some(share)),
        fmt_us(locks.hold_us_per_acquisition),
        locks.contended_pct,
        fmt_us(locks.wait_us_per_contended),
    );
    if locks.wait_us_per_contended > SCHEDULING_NOT_HOLDING * locks.hold_us_per_acquisition {
        line.push_str(&format!(
            ": far longer than anyone holds it, so most of that wait is waiting to run again \
             ({} client threads and as many server threads share {} cores)",
            ctx.clients, ctx.nproc
        ));
    } else {
        line.push_str(": the critical sections themselves queue up");
    }
    let calmest = summary
        .iter()
        .filter(|s| s.workload == worst.workload && s.locks.is_some())
        .min_by(|a, b| wait(a).unwrap_or(0.0).total_cmp(&wait(b).unwrap_or(0.0)));
    if let Some(calm) = calmest.filter(|c| c.row != worst.row) {
        line.push_str(&format!(
            ". It shows in the tail: p99 {} against {} for {}",
            fmt_us(worst.latency_us.p99),
            fmt_us(calm.latency_us.p99),
            calm.row
        ));
    }
    line.push('.');
    Some(line)
}

/// "; lock wait fell from 41 % (mutex) to 3.0 % (shard)" when a mode beat
/// the mutex, else every mode's figure; nothing if no server reported one.
fn lock_wait_clause(mine: &[&Summary], best: &Summary) -> String {
    let wait = |s: &Summary| s.lock_wait_share_pct.map(|w| w.median);
    let base = mine.iter().find(|s| s.row == "mutex");
    if let (Some(from), Some(to)) = (base.and_then(|b| wait(b)), wait(best)) {
        if best.row != "mutex" {
            let verb = if to < from { "fell" } else { "rose" };
            return format!(
                "; lock wait {verb} from {} (mutex) to {} ({})",
                fmt_share(Some(from)),
                fmt_share(Some(to)),
                best.row
            );
        }
    }
    let known: Vec<String> = mine
        .iter()
        .filter_map(|s| wait(s).map(|w| format!("{} {}", s.row, fmt_share(Some(w)))))
        .collect();
    if known.is_empty() {
        String::new()
    } else {
        format!("; lock wait: {}", known.join(", "))
    }
}

/// "On read-heavy, relative to mutex (68.2k ops/s): shard 1.80×, rw 1.10× (within noise)".
fn compare_to_mutex(w: WorkloadKind, base: &Summary, mine: &[&Summary]) -> String {
    let parts: Vec<String> = mine
        .iter()
        .filter(|s| s.row != "mutex")
        .map(|s| {
            let ratio = s.ops_per_sec.median / base.ops_per_sec.median.max(1.0);
            let noise = base.ops_per_sec.spread_pct.max(s.ops_per_sec.spread_pct);
            let within = if (ratio - 1.0).abs() * 100.0 <= noise {
                " (within noise)"
            } else {
                ""
            };
            format!("{} {ratio:.2}×{within}", s.row)
        })
        .collect();
    format!(
        "On {}, relative to mutex ({} ops/s): {}",
        w.name(),
        fmt_ops(base.ops_per_sec.median),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Latency, LockShape, Spread};

    fn row(label: &str, server: &str) -> RowInfo {
        RowInfo {
            label: label.into(),
            server: server.into(),
            mode: None,
            shards: None,
            binary: None,
            addr: "127.0.0.1:1".parse().expect("addr"),
            version: None,
            log: None,
            trace_file: None,
            exit: None,
        }
    }

    fn summary(row: &str, ops: f64, wait: Option<f64>) -> Summary {
        Summary {
            row: row.into(),
            workload: WorkloadKind::ReadHeavy,
            runs: 3,
            ops_per_sec: Spread {
                median: ops,
                min: ops * 0.98,
                max: ops * 1.02,
                spread_pct: 4.0,
            },
            latency_us: Latency::default(),
            lock_wait_share_pct: wait.map(|w| Spread {
                median: w,
                ..Spread::default()
            }),
            // A mutex-like shape: 2 µs holds, 2 ms waits.
            locks: wait.map(|_| LockShape {
                contended_pct: 7.0,
                hold_us_per_acquisition: 2.0,
                wait_us_per_contended: 2000.0,
            }),
            errors: 0,
        }
    }

    #[test]
    fn says_who_won_and_how_lock_wait_moved() {
        let rows = [
            row("mutex", "myongoredis"),
            row("shard", "myongoredis"),
            row("redis-server", "redis-server"),
        ];
        let sums = [
            summary("mutex", 50_000.0, Some(41.0)),
            summary("shard", 90_000.0, Some(3.0)),
            summary("redis-server", 45_000.0, None),
        ];
        let ctx = Context {
            nproc: 2,
            clients: 50,
            loadavg: Some("1.00"),
        };
        let text = reading(&rows, &[WorkloadKind::ReadHeavy], &sums, &ctx).join("\n");
        assert!(text.contains("shard 1.80×"), "{text}");
        assert!(
            text.contains("lock wait fell from 41 % (mutex) to 3.0 % (shard)"),
            "{text}"
        );
        assert!(
            text.contains("redis-server served 45.0k ops/s, 0.50× shard"),
            "{text}"
        );
        assert!(text.contains("no errors"), "{text}");
        assert!(
            text.contains("mutex on read-heavy, 41 % of client time), a lock was held 2.0 µs"),
            "{text}"
        );
        assert!(text.contains("waiting to run again"), "{text}");
    }

    #[test]
    fn a_small_difference_is_called_noise() {
        let rows = [row("mutex", "myongoredis"), row("rw", "myongoredis")];
        let sums = [
            summary("mutex", 50_000.0, None),
            summary("rw", 51_000.0, None),
        ];
        let ctx = Context {
            nproc: 2,
            clients: 50,
            loadavg: None,
        };
        let text = reading(&rows, &[WorkloadKind::ReadHeavy], &sums, &ctx).join("\n");
        assert!(text.contains("rw 1.02× (within noise)"), "{text}");
        assert!(text.contains("No lock-wait figures"), "{text}");
    }
}
