//! Charts with plotters, each written as SVG (inlined by report.html) and PNG: decode
//! tokens/s per cell with interval whiskers, inter-token latency percentiles per cell, TTFT
//! and per-token cost against prompt length for both pipelines, and for compare / qualify
//! the relative change per cell and metric with its interval.
//!
//! Two drawings serve them all: horizontal bars (rows of one or more bars, optional
//! whiskers) and a scatter. Text is drawn with DejaVu Sans embedded in the binary, so
//! charts look the same on a machine without fonts.

use crate::decide::comparison::Comparison;
use crate::decide::verdict::PerfVerdict;
use crate::metrics::MetricId;
use crate::pipeline_kind::PipelineKind;
use crate::results::folder::RunFolder;
use crate::results::summary::{CellSummary, LengthCost, TurnCost};
use crate::results::{CellStatus, SampleMetrics};
use crate::scenario::CacheMode;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const FONT: &str = "sans-serif";
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, include_bytes!("fonts/DejaVuSans.ttf"))
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
    });
}

/// One bar: a value, an optional interval, a series (color and legend entry).
#[derive(Debug, Clone)]
pub struct Bar {
    /// Series index (color, legend).
    pub series: usize,
    /// The value.
    pub value: f64,
    /// The interval around it, drawn as a whisker.
    pub interval: Option<(f64, f64)>,
}

/// One row of bars with its label.
#[derive(Debug, Clone)]
pub struct BarRow {
    /// Row label (a cell).
    pub label: String,
    /// Its bars, drawn side by side within the row.
    pub bars: Vec<Bar>,
}

/// A horizontal bar chart.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Title: what was run and what is shown.
    pub title: String,
    /// x axis label with unit.
    pub x_label: String,
    /// Legend names by series index.
    pub series: Vec<String>,
    /// Rows, top to bottom.
    pub rows: Vec<BarRow>,
    /// A line under the chart (whisker meaning, NPU:host note).
    pub note: String,
    /// Colors by series index (None: the default palette).
    pub colors: Option<Vec<RGBColor>>,
}

impl Bars {
    fn color(&self, series: usize) -> RGBColor {
        match &self.colors {
            Some(c) => c[series % c.len()],
            None => PALETTE[series % PALETTE.len()],
        }
    }
}

/// Verdict colors: no change grey, improved green, regressed red.
const VERDICT_COLORS: [RGBColor; 3] = [RGBColor(150, 150, 150), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];

/// One scatter series: its legend name, color index, filled markers (else hollow), points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Color index.
    pub color: usize,
    /// Filled markers (else hollow).
    pub filled: bool,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

/// A scatter chart.
#[derive(Debug, Clone)]
pub struct Scatter {
    /// Title.
    pub title: String,
    /// x axis label with unit.
    pub x_label: String,
    /// y axis label with unit.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
    /// A line under the chart.
    pub note: String,
    /// The legend in the upper right corner (else the upper left): where the points are not.
    pub legend_right: bool,
}

/// A horizontal line across a trend chart, with its legend name.
#[derive(Debug, Clone)]
pub struct Level {
    /// Legend name.
    pub name: String,
    /// Where.
    pub y: f64,
    /// Color index.
    pub color: usize,
    /// Dashed (a threshold) rather than solid (an estimate).
    pub dashed: bool,
}

/// Values in run order (an A/B cell's pairs): each series joined by a line, with
/// horizontal levels and an optional shaded band (an interval). The y axis fits the data,
/// not zero.
#[derive(Debug, Clone)]
pub struct Trend {
    /// Title.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label with unit.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
    /// Horizontal lines.
    pub levels: Vec<Level>,
    /// A shaded band (low, high, legend name).
    pub band: Option<(f64, f64, String)>,
    /// A line under the chart.
    pub note: String,
}

/// A chart ready to write.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Bars.
    Bars(Bars),
    /// Scatter.
    Scatter(Scatter),
    /// Values in run order.
    Trend(Trend),
}

/// A written chart: its file stem and its SVG text (for report.html).
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem (`<stem>.svg`, `<stem>.png`).
    pub stem: String,
    /// Title.
    pub title: String,
    /// The SVG.
    pub svg: String,
}

type DrawResult = Result<(), String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

fn size(chart: &Chart) -> (u32, u32) {
    match chart {
        Chart::Bars(b) => {
            let bars: usize = b.rows.iter().map(|r| r.bars.len().max(1)).sum();
            (1100, (160 + 18 * bars + 10 * b.rows.len()).clamp(320, 4000) as u32)
        }
        Chart::Scatter(_) | Chart::Trend(_) => (1000, 600),
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    match chart {
        Chart::Bars(b) => draw_bars(&root, b)?,
        Chart::Scatter(s) => draw_scatter(&root, s)?,
        Chart::Trend(t) => draw_trend(&root, t)?,
    }
    root.present().map_err(err)
}

fn draw_trend<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &Trend) -> DrawResult {
    let area = title_and_note(root, &t.title, &t.note)?;
    let ys = t.series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let ys = ys.chain(t.levels.iter().map(|l| l.y)).chain(t.band.iter().flat_map(|b| [b.0, b.1]));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, z), y| (a.min(y), z.max(y)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo).abs() * 0.08).max(1e-6);
    let xmax = t.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(1.0f64, f64::max);
    // Half a pair either side; a wide axis (model sizes) gets 3% so no point sits on the edge.
    let xpad = (xmax * 0.03).max(0.5);
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-xpad..xmax + xpad, (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(t.x_label.as_str())
        .y_desc(t.y_label.as_str())
        // The x axis counts pairs or turns: whole numbers, so no more labels than there are
        // whole numbers in a short axis (else 1 shows twice).
        .x_labels(((xmax + 2.0 * xpad).ceil() as usize + 1).clamp(2, 10))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(err)?;
    if let Some((b_lo, b_hi, name)) = &t.band {
        let shade = PALETTE[2].mix(0.25);
        chart
            .draw_series(std::iter::once(Rectangle::new([(-xpad, *b_lo), (xmax + xpad, *b_hi)], shade.filled())))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], shade.filled()));
    }
    for Series { name, color, filled, points } in &t.series {
        let color = PALETTE[color % PALETTE.len()];
        chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(1))).map_err(err)?;
        let filled = *filled;
        chart
            .draw_series(
                points
                    .iter()
                    .map(move |&p| Circle::new(p, 3, if filled { color.filled() } else { color.stroke_width(1) })),
            )
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Circle::new((x + 6, y), 4, color.filled()));
    }
    for Level { name, y, color, dashed } in &t.levels {
        let color = PALETTE[color % PALETTE.len()];
        let line = [(-xpad, *y), (xmax + xpad, *y)];
        let drawn = match dashed {
            true => chart.draw_series(DashedLineSeries::new(line, 8, 6, color.stroke_width(2))),
            false => chart.draw_series(LineSeries::new(line, color.stroke_width(3))),
        };
        drawn
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(err)
}

fn title_and_note<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    note: &str,
) -> Result<DrawingArea<DB, Shift>, String> {
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(title.to_string(), (12, 10), (FONT, 20).into_font())).map_err(err)?;
    if !note.is_empty() {
        root.draw(&Text::new(note.to_string(), (12, h as i32 - 22), (FONT, 13).into_font().color(&BLACK.mix(0.7))))
            .map_err(err)?;
    }
    Ok(root.margin(40, 30, 10, 20).shrink((0, 0), (w - 30, h - 70)))
}

/// The x range of a bar chart: from zero (or below the lowest value) to past the highest,
/// whiskers included, with 8% room.
fn bars_x_range(b: &Bars) -> (f64, f64) {
    let values = b.rows.iter().flat_map(|r| r.bars.iter()).flat_map(|x| {
        let (lo, hi) = x.interval.unwrap_or((x.value, x.value));
        [x.value, lo, hi]
    });
    let (min, max) = values.fold((0.0f64, 0.0f64), |(a, z), v| (a.min(v), z.max(v)));
    let pad = (max - min).abs().max(1e-9) * 0.08;
    (if min < 0.0 { min - pad } else { 0.0 }, max + pad)
}

/// The cartesian chart a bar chart and its legend are drawn on.
type BarChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, b: &Bars) -> DrawResult {
    let area = title_and_note(root, &b.title, &b.note)?;
    let (x0, x1) = bars_x_range(b);
    let n = b.rows.len().max(1);
    let labels: Vec<String> = b.rows.iter().map(|r| r.label.clone()).collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(10).clamp(10, 60) as u32 * 7 + 10;
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(40)
        .y_label_area_size(label_width)
        .build_cartesian_2d(x0..x1, -0.5f64..(n as f64 - 0.5))
        .map_err(err)?;
    let row_label = |y: &f64| {
        let i = y.round();
        if (y - i).abs() > 0.01 || i < 0.0 {
            return String::new();
        }
        // Row 0 is drawn at the top.
        labels.get(n - 1 - i as usize).cloned().unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&row_label)
        .x_desc(b.x_label.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(err)?;
    for (i, row) in b.rows.iter().enumerate() {
        let center = (n - 1 - i) as f64;
        let slot = 0.8 / row.bars.len().max(1) as f64;
        for (j, bar) in row.bars.iter().enumerate() {
            let top = center + 0.4 - slot * j as f64;
            draw_bar(&mut chart, bar, (top - slot * 0.9, top), slot, b.color(bar.series))?;
        }
    }
    draw_bar_legend(&mut chart, b)
}

/// One bar between the heights `y`, with its whiskers when it has an interval.
fn draw_bar<DB: DrawingBackend>(
    chart: &mut BarChart<'_, DB>,
    bar: &Bar,
    (lo_y, hi_y): (f64, f64),
    slot: f64,
    color: RGBColor,
) -> DrawResult {
    chart
        .draw_series(std::iter::once(Rectangle::new([(0.0, lo_y), (bar.value, hi_y)], color.filled())))
        .map_err(err)?;
    let Some((lo, hi)) = bar.interval else { return Ok(()) };
    let (mid, tick) = ((lo_y + hi_y) / 2.0, slot * 0.3);
    let lines = [
        vec![(lo, mid), (hi, mid)],
        vec![(lo, mid - tick), (lo, mid + tick)],
        vec![(hi, mid - tick), (hi, mid + tick)],
    ];
    chart.draw_series(lines.into_iter().map(|l| PathElement::new(l, BLACK.stroke_width(2)))).map_err(err)?;
    Ok(())
}

/// A legend entry for each series with a bar (a run without genai cells shows no genai).
fn draw_bar_legend<'a, DB: DrawingBackend + 'a>(chart: &mut BarChart<'a, DB>, b: &Bars) -> DrawResult {
    let drawn = |s: usize| b.rows.iter().flat_map(|r| &r.bars).any(|bar| bar.series == s);
    for (s, name) in b.series.iter().enumerate().filter(|(s, _)| drawn(*s)) {
        let color = b.color(s);
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(err)
}

fn draw_scatter<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Scatter) -> DrawResult {
    let area = title_and_note(root, &s.title, &s.note)?;
    let points = s.series.iter().flat_map(|x| x.points.iter());
    let (mut xmax, mut ymax) = (1.0f64, 1.0f64);
    for &(x, y) in points {
        xmax = xmax.max(x);
        ymax = ymax.max(y);
    }
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..xmax * 1.08, 0.0..ymax * 1.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(s.x_label.as_str())
        .y_desc(s.y_label.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(err)?;
    for Series { name, color, filled, points: pts } in &s.series {
        let (color, filled) = (PALETTE[color % PALETTE.len()], *filled);
        chart
            .draw_series(pts.iter().map(move |&p| {
                let style = if filled { color.filled() } else { color.stroke_width(2) };
                Circle::new(p, 5, style)
            }))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                Circle::new((x + 6, y), 5, if filled { color.filled() } else { color.stroke_width(2) })
            });
    }
    chart
        .configure_series_labels()
        .position(if s.legend_right { SeriesLabelPosition::UpperRight } else { SeriesLabelPosition::UpperLeft })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(err)
}

/// Write a chart as `<dir>/<stem>.svg` and `<dir>/<stem>.png`; returns the SVG text.
pub fn write_chart(dir: &Path, stem: &str, chart: &Chart) -> Result<Figure, super::ReportError> {
    use super::ReportError::Render;
    register_font();
    let (w, h) = size(chart);
    let mut svg = String::new();
    draw(SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area(), chart).map_err(Render)?;
    crate::io::write_named(dir, &format!("{stem}.svg"), svg.as_bytes())?;
    // The PNG is encoded in memory and written atomically like every other output.
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    draw(BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area(), chart).map_err(Render)?;
    let png = encode_png(&pixels, w, h).map_err(Render)?;
    crate::io::write_named(dir, &format!("{stem}.png"), &png)?;
    let title = match chart {
        Chart::Bars(b) => b.title.clone(),
        Chart::Scatter(s) => s.title.clone(),
        Chart::Trend(t) => t.title.clone(),
    };
    Ok(Figure { stem: stem.to_string(), title, svg })
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let img = image::RgbImage::from_raw(w, h, rgb.to_vec()).ok_or("PNG buffer of the wrong size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).map_err(err)?;
    Ok(out.into_inner())
}

// ---------------------------------------------------------------------------------------
// The charts of a run and of a comparison
// ---------------------------------------------------------------------------------------

/// Row label of a cell: model, device, profile, cache (the pipeline is the bar's series).
fn cell_label(key: &crate::plan::CellKey) -> String {
    let star = if key.device.disclaimer().is_some() { "*" } else { "" };
    format!("{} {}{star} {} {}", key.model, key.device, key.profile, key.cache.name())
}

const HOST_NOTE: &str = "* NPU:host = NPUW host execution: not NPU silicon.";

fn pipeline_series() -> Vec<String> {
    PipelineKind::ALL.iter().map(|p| p.to_string()).collect()
}

fn series_of(p: PipelineKind) -> usize {
    PipelineKind::ALL.iter().position(|k| *k == p).unwrap_or(0)
}

/// Measured samples of every completed cell: (key, samples).
fn completed(run: &RunFolder) -> Vec<(crate::plan::CellKey, Vec<SampleMetrics>)> {
    run.attempts()
        .iter()
        .filter(|a| a.cell.status == CellStatus::Completed)
        .map(|a| (a.cell.cell.clone(), a.samples.iter().filter(|s| !s.warmup).map(|s| s.metrics.clone()).collect()))
        .collect()
}

/// Rows by cell label, one bar per pipeline.
fn rows_by_label(bars: Vec<(String, Bar)>) -> Vec<BarRow> {
    let mut rows: Vec<BarRow> = Vec::new();
    for (label, bar) in bars {
        match rows.iter_mut().find(|r| r.label == label) {
            Some(r) => r.bars.push(bar),
            None => rows.push(BarRow { label, bars: vec![bar] }),
        }
    }
    rows
}

fn note(run: &RunFolder, base: &str) -> String {
    let host = run.attempts().iter().any(|a| a.cell.cell.device.disclaimer().is_some());
    if host {
        format!("{base}  {HOST_NOTE}")
    } else {
        base.to_string()
    }
}

/// The completed cells' summaries: every figure a run chart draws comes from them, as the
/// summary files show it (the charts never recompute a statistic).
fn completed_summaries(cells: &[CellSummary]) -> impl Iterator<Item = &CellSummary> {
    cells.iter().filter(|c| c.status == CellStatus::Completed)
}

/// Decode tokens/s per cell: the median, whiskers from the 10th to the 90th percentile.
pub fn tokens_per_s_chart(run: &RunFolder, cells: &[CellSummary]) -> Chart {
    let metric = MetricId::DecodeTokensPerS;
    let bars = completed_summaries(cells)
        .filter_map(|c| {
            let median = *c.metrics.get(&metric)?;
            let interval = c.whiskers.get(&metric).copied();
            Some((cell_label(&c.cell), Bar { series: series_of(c.cell.pipeline), value: median, interval }))
        })
        .collect();
    Chart::Bars(Bars {
        title: format!("{}: decode tokens/s per cell (median)", run.scenario.name),
        x_label: "decode throughput (tokens/s, higher is better)".into(),
        series: pipeline_series(),
        rows: rows_by_label(bars),
        note: note(run, "Whiskers: 10th to 90th percentile of the samples."),
        colors: None,
    })
}

/// Inter-token latency p50 / p90 / p99 per cell and pipeline.
pub fn itl_chart(run: &RunFolder, cells: &[CellSummary]) -> Chart {
    let rows = completed_summaries(cells)
        .filter_map(|c| {
            let bars = [MetricId::ItlP50Ms, MetricId::ItlP90Ms, MetricId::ItlP99Ms]
                .iter()
                .enumerate()
                .map(|(i, name)| c.metrics.get(name).map(|&value| Bar { series: i, value, interval: None }))
                .collect::<Option<Vec<_>>>()?;
            Some(BarRow { label: format!("{} {}", cell_label(&c.cell), c.cell.pipeline), bars })
        })
        .collect();
    Chart::Bars(Bars {
        title: format!("{}: inter-token latency percentiles per cell", run.scenario.name),
        x_label: "inter-token latency (ms, lower is better)".into(),
        series: vec!["p50".into(), "p90".into(), "p99".into()],
        rows,
        note: note(run, "Over every decode step of the measured samples."),
        colors: None,
    })
}

/// TTFT (filled) and per-token cost (hollow) against prompt length, one color per
/// (device, pipeline).
pub fn cost_chart(run: &RunFolder) -> Chart {
    let cells = completed(run);
    let mut groups: Vec<(crate::runtime::Device, PipelineKind)> = Vec::new();
    for (k, _) in &cells {
        if !groups.contains(&(k.device, k.pipeline)) {
            groups.push((k.device, k.pipeline));
        }
    }
    let mut series = Vec::new();
    for (color, &(device, pipeline)) in groups.iter().enumerate() {
        let (mut ttft, mut per_token) = (Vec::new(), Vec::new());
        for (_, samples) in cells.iter().filter(|(k, _)| k.device == device && k.pipeline == pipeline) {
            for s in samples {
                ttft.push((s.prompt_tokens as f64, s.ttft_ms));
                if let Some(itl) = s.own_step_quantile(0.5) {
                    per_token.push((s.prompt_tokens as f64, itl));
                }
            }
        }
        series.push(Series { name: format!("{pipeline} {device} TTFT"), color, filled: true, points: ttft });
        series.push(Series {
            name: format!("{pipeline} {device} per-token (median ITL)"),
            color,
            filled: false,
            points: per_token,
        });
    }
    Chart::Scatter(Scatter {
        title: format!("{}: TTFT and per-token cost against prompt length", run.scenario.name),
        x_label: "prompt length (tokens)".into(),
        y_label: "time (ms)".into(),
        series,
        note: note(run, "One point per measured sample, every completed cell; filled: TTFT, hollow: per token."),
        legend_right: false,
    })
}

/// Add `point` to the series called `name`, making it (with `color` and `filled`) if new.
fn add_point(series: &mut Vec<Series>, name: String, color: usize, filled: bool, point: (f64, f64)) {
    match series.iter_mut().find(|s| s.name == name) {
        Some(s) => s.points.push(point),
        None => series.push(Series { name, color, filled, points: vec![point] }),
    }
}

/// The trade-off a profile is chosen by: energy per token (host CPU time per token where
/// energy is not readable) against decode tokens/s, one point per completed cell (medians),
/// one color per profile, filled for kvcache and hollow for static128, one legend entry per
/// profile, pipeline and device.
pub fn efficiency_chart(run: &RunFolder, cells: &[CellSummary]) -> Chart {
    let has_energy = completed_summaries(cells).any(|c| c.metrics.contains_key(&MetricId::JoulesPerToken));
    let cost = if has_energy { MetricId::JoulesPerToken } else { MetricId::CpuMsPerToken };
    let mut profiles: Vec<String> = Vec::new();
    let mut series: Vec<Series> = Vec::new();
    for c in completed_summaries(cells) {
        let (Some(&x), Some(&y)) = (c.metrics.get(&MetricId::DecodeTokensPerS), c.metrics.get(&cost)) else { continue };
        let key = &c.cell;
        if !profiles.contains(&key.profile) {
            profiles.push(key.profile.clone());
        }
        let color = profiles.iter().position(|p| *p == key.profile).unwrap_or(0);
        let star = if key.device.disclaimer().is_some() { "*" } else { "" };
        let name = format!("{} {} {}{star}", key.profile, key.pipeline, key.device);
        add_point(&mut series, name, color, key.pipeline.traits().chart_filled, (x, y));
    }
    let (what, unit) = if has_energy { ("package energy", "J") } else { ("host CPU time", "ms") };
    let base = match (has_energy, crate::fingerprint::energy_absence(&run.fingerprint)) {
        (false, Some(_)) => "Medians per completed cell; lower right is better. Energy not readable (fingerprint).",
        _ => "Medians per completed cell; lower right is better.",
    };
    Chart::Scatter(Scatter {
        title: format!("{}: {what} per decode token against decode tokens/s, per profile", run.scenario.name),
        x_label: "decode throughput (tokens/s, higher is better)".into(),
        y_label: format!("{what} per token ({unit}, lower is better)"),
        series,
        note: note(run, base),
        legend_right: true,
    })
}

/// Weight parameters by model name, from a run's fingerprint (`model_sizes`).
fn model_parameters(run: &RunFolder) -> std::collections::BTreeMap<String, f64> {
    let sizes = run.fingerprint.get("model_sizes").and_then(|v| v.as_object());
    sizes
        .into_iter()
        .flatten()
        .filter_map(|(name, size)| Some((name.clone(), size.get("weight_parameters")?.as_f64()?)))
        .collect()
}

/// A metric's median per cell against model size (millions of weight parameters), one line
/// per pipeline, device and profile (warm-cache cells where the run has them: the cache
/// changes the compile, not the generation): how the metric grows with the model. None
/// unless the run has two or more models of known size.
fn model_size_chart(run: &RunFolder, cells: &[CellSummary], what: &str, unit: &str, metric: MetricId) -> Option<Chart> {
    let params = model_parameters(run);
    let has_warm = completed_summaries(cells).any(|c| c.cell.cache == CacheMode::Warm);
    let mut series: Vec<Series> = Vec::new();
    for c in completed_summaries(cells) {
        let key = &c.cell;
        let Some(&p) = params.get(&key.model) else { continue };
        if has_warm && key.cache != CacheMode::Warm {
            continue;
        }
        let Some(&median) = c.metrics.get(&metric) else { continue };
        let star = if key.device.disclaimer().is_some() { "*" } else { "" };
        let name = format!("{} {}{star} {}", key.pipeline, key.device, key.profile);
        let color = series.len();
        add_point(&mut series, name, color, key.pipeline.traits().chart_filled, (p / 1e6, median));
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let models: std::collections::BTreeSet<u64> =
        series.iter().flat_map(|s| s.points.iter().map(|p| p.0 as u64)).collect();
    (models.len() >= 2).then(|| {
        Chart::Trend(Trend {
            title: format!("{}: {what} against model size (median per cell)", run.scenario.name),
            x_label: "model size (millions of weight parameters)".into(),
            y_label: format!("{what} ({unit})"),
            series,
            levels: Vec::new(),
            band: None,
            note: note(
                run,
                &format!(
                    "{}One line per pipeline, device and profile; filled: kvcache, hollow: static128.",
                    if has_warm { "Warm-cache cells. " } else { "" }
                ),
            ),
        })
    })
}

/// The distinct prompt lengths a context chart needs before it is drawn: the scaling
/// table's rule, so the table and its charts come and go together.
pub const CONTEXT_LENGTHS: usize = 4;

/// TTFT, inter-token latency and per-generation peak memory against prompt length, one line
/// per cell that measured two lengths or more, from the scaling rows (never recomputed). None
/// below [`CONTEXT_LENGTHS`] lengths.
pub fn context_charts(run: &RunFolder, rows: &[LengthCost]) -> Vec<(&'static str, Chart)> {
    let lengths: std::collections::BTreeSet<usize> =
        rows.iter().filter(|r| r.ttft_ms.is_some()).map(|r| r.prompt_tokens).collect();
    if lengths.len() < CONTEXT_LENGTHS {
        return Vec::new();
    }
    let refused = rows.iter().any(|r| r.refused.is_some());
    let trend = |what: &str, unit: &str, value: &dyn Fn(&LengthCost) -> Option<f64>| {
        let mut series: Vec<Series> = Vec::new();
        for r in rows {
            let Some(y) = value(r) else { continue };
            let star = if r.cell.device.disclaimer().is_some() { "*" } else { "" };
            let name = format!("{} {}{star} {}", r.cell.pipeline, r.cell.device, r.cell.profile);
            let color = series.iter().position(|s| s.name == name).unwrap_or(series.len());
            add_point(&mut series, name, color, r.cell.pipeline.traits().chart_filled, (r.prompt_tokens as f64, y));
        }
        series.retain(|s| s.points.len() >= 2);
        let base = if refused {
            "One line per cell; a line ends where its pipeline refused longer prompts (summary.md says why)."
        } else {
            "One line per cell."
        };
        Chart::Trend(Trend {
            title: format!("{}: {what} against prompt length", run.scenario.name),
            x_label: "prompt length (tokens)".into(),
            y_label: format!("{what} ({unit})"),
            series,
            levels: Vec::new(),
            band: None,
            note: note(run, base),
        })
    };
    let mut charts = vec![
        ("chart_context_ttft", trend("median TTFT", "ms, lower is better", &|r| r.ttft_ms)),
        ("chart_context_itl", trend("median inter-token latency", "ms, lower is better", &|r| r.itl_ms)),
    ];
    if rows.iter().any(|r| r.peak_rss_mb.is_some()) {
        charts.push((
            "chart_context_memory",
            trend("peak resident memory of a length's first generation", "MiB, lower is better", &|r| r.peak_rss_mb),
        ));
    }
    charts
}

/// Each conversation turn's median TTFT, one line per cell and history mode, from the turn
/// rows (never recomputed): keeping the KV state shows as a flat line, recomputing the
/// history as a rising one. None without conversations.
pub fn turns_chart(run: &RunFolder, rows: &[TurnCost]) -> Option<Chart> {
    let mut series: Vec<Series> = Vec::new();
    for r in rows {
        let Some(ttft) = r.ttft_ms else { continue };
        let star = if r.cell.device.disclaimer().is_some() { "*" } else { "" };
        let name = format!("{} {}{star} {} {}", r.cell.pipeline, r.cell.device, r.cell.profile, r.history.name());
        let color = series.iter().position(|s| s.name == name).unwrap_or(series.len());
        add_point(&mut series, name, color, r.history == crate::scenario::HistoryMode::Keep, (r.turn as f64, ttft));
    }
    (!series.is_empty()).then(|| {
        Chart::Trend(Trend {
            title: format!("{}: TTFT per conversation turn", run.scenario.name),
            x_label: "turn".into(),
            y_label: "median TTFT (ms, lower is better)".into(),
            series,
            levels: Vec::new(),
            band: None,
            note: note(
                run,
                "One line per cell and history mode; filled: the KV state kept, hollow: the history recomputed.",
            ),
        })
    })
}

/// The charts of a run folder (the model-size charts only when it ran models of two sizes,
/// the context charts only when its prompts have [`CONTEXT_LENGTHS`] lengths or more).
pub fn run_charts(run: &RunFolder, cells: &[CellSummary], by_length: &[LengthCost]) -> Vec<(&'static str, Chart)> {
    let mut charts = vec![
        ("chart_tokens_per_s", tokens_per_s_chart(run, cells)),
        ("chart_itl", itl_chart(run, cells)),
        ("chart_cost", cost_chart(run)),
        ("chart_efficiency", efficiency_chart(run, cells)),
    ];
    let by_size = [
        ("chart_size_tokens_per_s", "decode tokens/s", "tokens/s, higher is better", MetricId::DecodeTokensPerS),
        ("chart_size_ttft", "TTFT", "ms, lower is better", MetricId::TtftP50Ms),
    ];
    for (stem, what, unit, metric) in by_size {
        charts.extend(model_size_chart(run, cells, what, unit, metric).map(|c| (stem, c)));
    }
    charts.extend(context_charts(run, by_length));
    charts
}

/// The metrics a comparison chart shows.
const COMPARE_METRICS: [MetricId; 4] =
    [MetricId::DecodeTokensPerS, MetricId::TtftP50Ms, MetricId::ItlP50Ms, MetricId::ItlP99Ms];

/// Relative change per cell and metric with its interval, colored by verdict.
pub fn compare_chart(c: &Comparison) -> Option<Chart> {
    let verdicts = [PerfVerdict::NoChange, PerfVerdict::Improved, PerfVerdict::Regressed];
    let rows: Vec<BarRow> = c
        .cells
        .iter()
        .flat_map(|cell| {
            cell.metrics.iter().filter(|m| COMPARE_METRICS.contains(&m.metric)).filter_map(move |m| {
                let change = m.change?;
                let series = verdicts.iter().position(|v| *v == m.verdict).unwrap_or(0);
                Some(BarRow {
                    label: format!("{} {} {}", cell_label(&cell.cell), cell.cell.pipeline, m.metric),
                    bars: vec![Bar {
                        series,
                        value: 100.0 * change.relative,
                        interval: Some((100.0 * change.ci_low, 100.0 * change.ci_high)),
                    }],
                })
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let host = c.cells.iter().any(|x| x.cell.device.disclaimer().is_some());
    Some(Chart::Bars(Bars {
        title: "Relative change, candidate against baseline".into(),
        x_label: "change (%)".into(),
        series: verdicts.iter().map(|v| v.name().to_string()).collect(),
        rows,
        note: format!(
            "Whiskers: 95% bootstrap interval. For tokens/s up is better; for latencies down is better.{}",
            if host { format!("  {HOST_NOTE}") } else { String::new() }
        ),
        colors: Some(VERDICT_COLORS.to_vec()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Record;

    /// The smoke example's run folder with each of its records also under a second model,
    /// `big`, four times the size at half the decode speed; `sizes` says whether the
    /// fingerprint knows the models' sizes.
    fn two_model_run(sizes: bool) -> RunFolder {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/examples/smoke");
        let mut run = RunFolder::open(&dir).expect("the tracked smoke example opens");
        let small = run.records.iter().find_map(|r| match r {
            Record::Cell(c) => Some(c.cell.model.clone()),
            _ => None,
        });
        let small = small.expect("the example has cells");
        let mut big: Vec<Record> = run.records.clone();
        for record in &mut big {
            match record {
                Record::Start(s) => s.cell.model = "big".into(),
                Record::Cell(c) => c.cell.model = "big".into(),
                Record::Sample(s) => {
                    s.cell.model = "big".into();
                    s.metrics.decode_tokens_per_s = s.metrics.decode_tokens_per_s.map(|v| v / 2.0);
                }
                Record::Ab(_) | Record::Round(_) => {}
            }
        }
        run.records.extend(big);
        if sizes {
            run.fingerprint["model_sizes"] = serde_json::json!({
                small: {"weight_parameters": 134_000_000u64, "weights_bytes": 140_000_000u64},
                "big": {"weight_parameters": 536_000_000u64, "weights_bytes": 380_000_000u64},
            });
        }
        run
    }

    #[test]
    fn model_size_charts_draw_one_line_per_cell_setting_across_the_models() {
        let run = two_model_run(true);
        let charts = run_charts(&run, &run.summaries(), &[]);
        let Some((_, chart)) = charts.iter().find(|(stem, _)| *stem == "chart_size_tokens_per_s") else {
            panic!("a run of two model sizes has the decode chart against size");
        };
        let Chart::Trend(t) = chart else { panic!("the size chart is a trend: {chart:?}") };
        assert!(charts.iter().any(|(stem, _)| *stem == "chart_size_ttft"));
        assert!(!t.series.is_empty());
        for s in &t.series {
            let xs: Vec<f64> = s.points.iter().map(|p| p.0).collect();
            assert_eq!(xs, [134.0, 536.0], "{}: one point per model, by size, in millions", s.name);
            assert!((s.points[1].1 * 2.0 - s.points[0].1).abs() < 1e-9, "{}: the big model's median is half", s.name);
            assert!(!s.name.contains("cold"), "one cache mode per line: {}", s.name);
        }
        let dir = tempfile::tempdir().unwrap();
        let drawn = write_chart(dir.path(), "size", chart);
        assert!(drawn.is_ok_and(|f| f.svg.contains("model size")), "the chart draws, its axis named");
    }

    #[test]
    fn model_size_charts_need_two_models_of_known_size() {
        let stems = |run: &RunFolder| {
            let by_length = crate::results::summary::cost_by_length(&run.attempts());
            run_charts(run, &run.summaries(), &by_length).into_iter().map(|(s, _)| s).collect::<Vec<_>>()
        };
        assert_eq!(stems(&two_model_run(false)).len(), 4, "no sizes in the fingerprint: no size charts");
        let one = RunFolder::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/examples/smoke")).unwrap();
        assert_eq!(stems(&one).len(), 4, "one model: no size charts");
    }
}
