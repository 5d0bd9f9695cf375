//! `report.html`: one self-contained page. Styles are inline, charts are
//! inline SVG (see `charts.rs`), there is no script, and nothing is loaded
//! from anywhere: the page renders the same offline, in CI's headless
//! browser, or attached to an email.

use std::fmt::Write;

use crate::charts::{self, Bar, Grouped, Timeline};
use crate::report::{fmt_ops, fmt_share, fmt_us, Results, Spread, Summary};
use crate::workload::WorkloadKind;

const STYLE: &str = "
body { font-family: sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 0.9em; }
.meta code, td code { font-size: 0.95em; }
.reading li { margin: 0.4em 0; line-height: 1.4; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.8em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child, th.l, td.l { text-align: left; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em; }
.legend { margin: 0.6em 0 0 0; font-size: 0.9em; }
.legend .item { margin-right: 1.2em; }
svg.chart { width: 100%; height: auto; }
.note { color: #555; font-size: 0.9em; }
.chart-error { color: #a00; }
";

/// HTML-escape text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn swatch(row: &str) -> String {
    let c = charts::color_of(row);
    format!(
        "<span class=\"swatch\" style=\"background:#{:02x}{:02x}{:02x}\"></span>{}",
        c.0,
        c.1,
        c.2,
        escape(row)
    )
}

/// A line of colour swatches naming the rows, shown above each chart.
fn legend(rows: &[String]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| format!("<span class=\"item\">{}</span>", swatch(r)))
        .collect();
    format!("<p class=\"legend\">{}</p>\n", items.join(""))
}

/// The whole page.
pub fn render(r: &Results) -> String {
    let mut h = String::new();
    let workloads = &r.config.workloads;
    let rows: Vec<String> = r.rows.iter().map(|row| row.label.clone()).collect();
    let find =
        |row: &str, w: WorkloadKind| r.summary.iter().find(|s| s.row == row && s.workload == w);

    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>myongoredis-bench: lock contention report</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<h1>Lock contention: {}</h1>\n",
        escape(&rows.join(" vs "))
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} · {} cores, {} · git {} · {} clients, pipeline {}, {} s per run, \
         {} repeat(s), {}<br>command: <code>{}</code></p>",
        escape(&r.started_utc),
        r.machine.nproc,
        escape(r.machine.cpu_model.as_deref().unwrap_or("unknown CPU")),
        escape(
            &r.git
                .as_ref()
                .map(|g| format!(
                    "{}{}",
                    &g.revision[..12.min(g.revision.len())],
                    if g.dirty { " (dirty)" } else { "" }
                ))
                .unwrap_or_else(|| "unknown".into())
        ),
        r.config.clients,
        r.config.pipeline,
        r.config.duration_s,
        r.config.repeat,
        if r.config.open_loop {
            "open loop"
        } else {
            "closed loop"
        },
        escape(&r.command_line),
    );

    h.push_str("<h2>Reading</h2>\n<ul class=\"reading\">\n");
    for line in &r.reading {
        let _ = writeln!(h, "<li>{}</li>", escape(line));
    }
    h.push_str("</ul>\n");

    // Throughput.
    let bar = |s: &Spread| Bar {
        median: s.median,
        min: s.min,
        max: s.max,
    };
    let grid = |value: &dyn Fn(&Summary) -> Option<Bar>| -> Vec<Vec<Option<Bar>>> {
        workloads
            .iter()
            .map(|&w| {
                rows.iter()
                    .map(|row| find(row, w).and_then(value))
                    .collect()
            })
            .collect()
    };
    h.push_str("<h2>Throughput</h2>\n");
    h.push_str(&legend(&rows));
    h.push_str(&charts::grouped_bars(&Grouped {
        label: "ops per second by workload and row",
        y_desc: "ops/s (median)",
        groups: workloads.iter().map(|w| w.name().to_string()).collect(),
        series: rows.clone(),
        values: grid(&|s| Some(bar(&s.ops_per_sec))),
        unit: fmt_ops,
    }));
    h.push_str(
        "<p class=\"note\">Bars are medians over the repeats; whiskers span the slowest to the \
         fastest repeat. An op is one command (a seed SET+GET pair is two).</p>\n",
    );

    // Latency.
    h.push_str("<h2>Latency percentiles</h2>\n");
    h.push_str(&legend(&rows));
    for &w in workloads {
        let pct = |s: &Summary| {
            [
                s.latency_us.p50,
                s.latency_us.p90,
                s.latency_us.p99,
                s.latency_us.p999,
            ]
        };
        let values = (0..4)
            .map(|i| {
                rows.iter()
                    .map(|row| {
                        find(row, w).map(|s| {
                            let v = pct(s)[i];
                            Bar {
                                median: v,
                                min: v,
                                max: v,
                            }
                        })
                    })
                    .collect()
            })
            .collect();
        let _ = writeln!(h, "<h3>{}</h3>", w.name());
        h.push_str(&charts::latency_bars(&Grouped {
            label: &format!("latency percentiles on {}", w.name()),
            y_desc: "latency (log scale)",
            groups: ["p50", "p90", "p99", "p99.9"].map(String::from).to_vec(),
            series: rows.clone(),
            values,
            unit: fmt_us,
        }));
    }
    h.push_str(
        "<p class=\"note\">Per request, from writing its batch to reading its reply; the \
         median of each percentile over the repeats.</p>\n",
    );

    // Lock wait.
    h.push_str("<h2>Lock wait as a share of client time</h2>\n");
    h.push_str(&legend(&rows));
    h.push_str(&charts::grouped_bars(&Grouped {
        label: "lock wait share by workload and row",
        y_desc: "lock wait, % of client time",
        groups: workloads.iter().map(|w| w.name().to_string()).collect(),
        series: rows.clone(),
        values: grid(&|s| s.lock_wait_share_pct.as_ref().map(bar)),
        unit: |v| fmt_share(Some(v)),
    }));
    h.push_str(
        "<p class=\"note\">How much the server's <code>lock_wait_us</code> (INFO contention) grew \
         during a run, divided by run time × clients: the share of the clients' time that their \
         server threads spent waiting for a lock. n/a: the server reports no such counter.</p>\n",
    );

    // Timelines.
    h.push_str("<h2>Ops/s, second by second</h2>\n");
    h.push_str(&legend(&rows));
    for &w in workloads {
        let runs = r
            .runs
            .iter()
            .filter(|run| run.workload == w)
            .map(|run| (run.row.clone(), run.repeat, run.timeline.clone()))
            .collect();
        let _ = writeln!(h, "<h3>{}</h3>", w.name());
        h.push_str(&charts::timeline(&Timeline {
            label: &format!("ops per second over time on {}", w.name()),
            runs,
        }));
    }
    h.push_str("<p class=\"note\">One line per run; the first repeat is drawn thicker. A dip that only one run shows is the machine, not the mode.</p>\n");

    summary_table(&mut h, r);
    runs_table(&mut h, r);
    servers_table(&mut h, r);
    traces(&mut h, r);
    h.push_str("</body>\n</html>\n");
    h
}

fn summary_table(h: &mut String, r: &Results) {
    h.push_str(
        "<h2>Summary</h2>\n<table>\n<tr><th>workload</th><th class=\"l\">row</th><th>ops/s</th>\
         <th>min–max</th><th>spread</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>\
         <th>lock wait</th><th>contended</th><th>hold</th><th>wait if taken</th>\
         <th>errors</th></tr>\n",
    );
    for s in &r.summary {
        let (contended, hold, wait) = match s.locks {
            Some(l) => (
                format!("{:.1} %", l.contended_pct),
                fmt_us(l.hold_us_per_acquisition),
                fmt_us(l.wait_us_per_contended),
            ),
            None => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}–{}</td><td>{:.1} %</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{contended}</td>\
             <td>{hold}</td><td>{wait}</td><td>{}</td></tr>",
            s.workload.name(),
            swatch(&s.row),
            fmt_ops(s.ops_per_sec.median),
            fmt_ops(s.ops_per_sec.min),
            fmt_ops(s.ops_per_sec.max),
            s.ops_per_sec.spread_pct,
            fmt_us(s.latency_us.p50),
            fmt_us(s.latency_us.p90),
            fmt_us(s.latency_us.p99),
            fmt_us(s.latency_us.p999),
            fmt_share(s.lock_wait_share_pct.map(|w| w.median)),
            s.errors
        );
    }
    h.push_str(
        "</table>\n<p class=\"note\">contended: acquisitions that found the lock taken; hold: \
         mean time a lock was held per acquisition; wait if taken: mean wait of a contended \
         acquisition. Medians over the repeats.</p>\n",
    );
}

fn runs_table(h: &mut String, r: &Results) {
    h.push_str(
        "<h2>Every run, in the order it ran</h2>\n<table>\n<tr><th>#</th><th class=\"l\">row</th>\
         <th class=\"l\">workload</th><th>repeat</th><th>ops/s</th><th>p99</th><th>lock wait</th>\
         <th>contended</th><th>errors</th><th class=\"l\">first error</th></tr>\n",
    );
    for run in &r.runs {
        let contended = run
            .contention
            .as_ref()
            .filter(|c| c.acquisitions > 0)
            .map(|c| {
                format!(
                    "{:.1} %",
                    c.contended as f64 * 100.0 / c.acquisitions as f64
                )
            })
            .unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            run.order,
            swatch(&run.row),
            run.workload.name(),
            run.repeat,
            fmt_ops(run.ops_per_sec),
            fmt_us(run.latency_us.p99),
            fmt_share(run.lock_wait_share_pct),
            contended,
            run.errors.total(),
            escape(run.first_error.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</table>\n<p class=\"note\">contended: the share of lock acquisitions that had to wait.</p>\n");
}

fn servers_table(h: &mut String, r: &Results) {
    h.push_str(
        "<h2>Servers</h2>\n<table>\n<tr><th class=\"l\">row</th><th class=\"l\">server</th>\
         <th class=\"l\">address</th><th class=\"l\">exit</th></tr>\n",
    );
    for row in &r.rows {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td>\
             <td class=\"l\">{}</td></tr>",
            swatch(&row.label),
            escape(row.version.as_deref().unwrap_or(&row.server)),
            row.addr,
            escape(row.exit.as_deref().unwrap_or("left running")),
        );
    }
    h.push_str("</table>\n");
}

/// Links to the servers' trace files, when a server wrote one (see
/// `RowInfo::trace_file`). Nothing is shown while no row has a trace.
fn traces(h: &mut String, r: &Results) {
    let traced: Vec<_> = r
        .rows
        .iter()
        .filter_map(|row| row.trace_file.as_ref().map(|t| (row, t)))
        .collect();
    if traced.is_empty() {
        return;
    }
    h.push_str("<h2>Traces</h2>\n<ul>\n");
    for (row, path) in traced {
        // The traces sit beside report.html: link by file name, so the
        // directory can be moved or archived whole.
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let shown = escape(&name);
        let _ = writeln!(
            h,
            "<li>{}: <a href=\"{shown}\">{shown}</a></li>",
            swatch(&row.label)
        );
    }
    h.push_str(
        "</ul>\n<p class=\"note\">Each file is Chrome Trace Event JSON: open ui.perfetto.dev \
         and choose “Open trace file”, or load it in chrome://tracing.</p>\n",
    );
}
