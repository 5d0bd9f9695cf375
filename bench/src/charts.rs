//! The report's charts, drawn with plotters' SVG backend into strings that
//! are pasted inline into `report.html`.
//!
//! Plotters writes `xmlns="http://www.w3.org/2000/svg"` on the root
//! element. Inline `<svg>` in HTML5 needs no namespace, and the report
//! promises to contain no URL at all (it must render with no network), so
//! [`finish`] removes it. Legends are HTML above the charts (see
//! `html.rs`), where they can never cover a bar.

use std::error::Error;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::fmt_ops;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";
const WIDTH: u32 = 920;
const HEIGHT: u32 = 340;

/// The colour of a row, the same in every chart.
pub fn color_of(row: &str) -> RGBColor {
    match row {
        "mutex" => RGBColor(0xd6, 0x27, 0x28),
        "rw" => RGBColor(0xff, 0x7f, 0x0e),
        "shard" => RGBColor(0x2c, 0xa0, 0x2c),
        "redis-server" => RGBColor(0x55, 0x55, 0x55),
        _ => RGBColor(0x94, 0x67, 0xbd),
    }
}

/// A bar: median, and the min–max whisker over the repeats.
#[derive(Clone, Copy, Debug)]
pub struct Bar {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Bars in groups (one group per workload, one bar per row); `None` is
/// drawn as "n/a". `unit` formats values for the labels.
pub struct Grouped<'a> {
    pub label: &'a str,
    pub y_desc: &'a str,
    pub groups: Vec<String>,
    pub series: Vec<String>,
    /// `values[group][series]`
    pub values: Vec<Vec<Option<Bar>>>,
    pub unit: fn(f64) -> String,
}

/// Grouped bars on a linear axis from zero (ops/s, lock-wait share).
pub fn grouped_bars(g: &Grouped) -> String {
    let top = g
        .values
        .iter()
        .flatten()
        .flatten()
        .map(|b| b.max.max(b.median))
        .fold(0.0f64, f64::max);
    // Headroom for the value labels above the tallest bar.
    let top = if top > 0.0 { top * 1.18 } else { 1.0 };
    finish(g.label, WIDTH, HEIGHT, |root| {
        draw_grouped(root, g, 0.0..top, 0.0)
    })
}

/// Latency percentiles (groups p50 … p99.9, one bar per row) on a log
/// axis: p99.9 is often ten times p50, and a linear axis would flatten
/// the rest.
pub fn latency_bars(g: &Grouped) -> String {
    let values = g.values.iter().flatten().flatten();
    let low = values
        .clone()
        .map(|b| b.min.min(b.median))
        .fold(f64::MAX, f64::min);
    let high = values.map(|b| b.max.max(b.median)).fold(0.0f64, f64::max);
    let (low, high) = if high > 0.0 && low < f64::MAX {
        (low.max(1.0) / 2.0, high * 3.0)
    } else {
        (1.0, 1000.0)
    };
    finish(g.label, WIDTH, HEIGHT, |root| {
        draw_grouped(root, g, (low..high).log_scale(), low)
    })
}

fn draw_grouped<Y>(root: Area, g: &Grouped, y: Y, floor: f64) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    root.fill(&WHITE)?;
    let n = g.groups.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..n as f64, y)?;
    // The x axis is categorical: no numeric ticks; each group's name is
    // written under its centre below.
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .light_line_style(WHITE)
        .y_label_formatter(&|v| (g.unit)(*v))
        .y_desc(g.y_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .draw()?;

    let per_group = g.series.len().max(1);
    let width = 0.8 / per_group as f64;
    let text = |anchor: VPos| text_style(11, anchor);
    for (s, name) in g.series.iter().enumerate() {
        let color = color_of(name);
        let x0 = |gi: usize| gi as f64 + 0.1 + width * s as f64;
        let bars: Vec<(usize, Bar)> = g
            .values
            .iter()
            .enumerate()
            .filter_map(|(gi, row)| row.get(s).copied().flatten().map(|b| (gi, b)))
            .collect();
        chart.draw_series(bars.iter().map(|&(gi, b)| {
            Rectangle::new(
                [(x0(gi), floor), (x0(gi) + width * 0.92, b.median)],
                color.filled(),
            )
        }))?;
        // Whiskers: how far the repeats strayed from the median.
        chart.draw_series(bars.iter().filter(|(_, b)| b.max > b.min).map(|&(gi, b)| {
            let mid = x0(gi) + width * 0.46;
            PathElement::new(vec![(mid, b.min), (mid, b.max)], BLACK.stroke_width(1))
        }))?;
        chart.draw_series(bars.iter().map(|&(gi, b)| {
            let mid = x0(gi) + width * 0.46;
            Text::new(
                (g.unit)(b.median),
                (mid, b.max.max(b.median)),
                text(VPos::Bottom),
            )
        }))?;
        // Rows without a figure (redis-server has no lock counters).
        let missing = g
            .values
            .iter()
            .enumerate()
            .filter(|(_, row)| matches!(row.get(s), Some(None)));
        chart.draw_series(
            missing.map(|(gi, _)| {
                Text::new("n/a", (x0(gi) + width * 0.46, floor), text(VPos::Bottom))
            }),
        )?;
    }
    for (i, name) in g.groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, floor));
        root.draw(&Text::new(
            name.as_str(),
            (x, y + 6),
            text_style(13, VPos::Top),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// Black text of `size` px, centred horizontally on its point.
fn text_style(size: u32, anchor: VPos) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, anchor))
}

/// One line per run: ops/s in each second, coloured by row.
pub struct Timeline<'a> {
    pub label: &'a str,
    /// (row, repeat, ops in each second)
    pub runs: Vec<(String, u32, Vec<u64>)>,
}

pub fn timeline(t: &Timeline) -> String {
    let seconds = t.runs.iter().map(|r| r.2.len()).max().unwrap_or(1).max(2);
    let top = t
        .runs
        .iter()
        .flat_map(|r| r.2.iter())
        .copied()
        .max()
        .unwrap_or(1) as f64
        * 1.15;
    finish(t.label, WIDTH, 300, |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..seconds as f64, 0.0..top.max(1.0))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("second of the run")
            .x_labels(seconds + 1)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("ops/s")
            .y_label_formatter(&|v| fmt_ops(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .draw()?;
        for (row, repeat, counts) in &t.runs {
            let color = color_of(row);
            // Count i covers the second from x = i to i + 1: drawn at its middle.
            let points = counts
                .iter()
                .enumerate()
                .map(|(i, &c)| (i as f64 + 0.5, c as f64));
            let style = color.stroke_width(if *repeat == 1 { 2 } else { 1 });
            chart.draw_series(LineSeries::new(points, style))?;
        }
        root.present()?;
        Ok(())
    })
}

/// Draw into an SVG string and make it fit for inline HTML: no namespace
/// URL, an accessible label, and scaling with the page. A drawing error
/// becomes a visible note instead of a missing report.
fn finish(label: &str, width: u32, height: u32, draw: impl FnOnce(Area) -> DrawResult) -> String {
    let mut svg = String::new();
    let drawn = draw(SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area());
    if let Err(e) = drawn {
        return format!(
            "<p class=\"chart-error\">chart not drawn: {}</p>",
            crate::html::escape(&e.to_string())
        );
    }
    let svg = svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    svg.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" class=\"chart\" ",
            crate::html::escape(label)
        ),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_inline_svg_without_any_url() {
        let bar = |m: f64| {
            Some(Bar {
                median: m,
                min: m * 0.9,
                max: m * 1.1,
            })
        };
        let g = Grouped {
            label: "ops",
            y_desc: "ops/s",
            groups: vec!["seed".into(), "uniform".into()],
            series: vec!["mutex".into(), "redis-server".into()],
            values: vec![
                vec![bar(70_000.0), bar(90_000.0)],
                vec![bar(60_000.0), None],
            ],
            unit: fmt_ops,
        };
        for svg in [grouped_bars(&g), latency_bars(&g)] {
            assert!(
                svg.starts_with("<svg role=\"img\""),
                "{}",
                &svg[..80.min(svg.len())]
            );
            assert!(!svg.contains("http"), "a URL in the chart");
            assert!(svg.contains("n/a"));
        }
        let t = Timeline {
            label: "t",
            runs: vec![("shard".into(), 1, vec![10, 20, 30])],
        };
        let svg = timeline(&t);
        assert!(
            svg.contains("<polyline") || svg.contains("<path"),
            "no line drawn"
        );
        assert!(!svg.contains("http"));
    }
}
