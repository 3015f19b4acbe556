//! Reports of a run folder: one exporter per format behind one trait (hyperfine's
//! shape), all driven by the metric registry: summary.csv, summary.json, summary.md (a CI
//! step summary or PR comment), report.html (self-contained, charts inlined) and junit.xml
//! (one test case per cell and check). Charts are in [`charts`]; the decisions' markdown in
//! [`decisions`].

pub mod ab;
pub mod charts;
pub mod decisions;
pub mod document;
pub mod exports;
pub mod github;
pub mod html;
pub mod junit;
pub mod power;
pub mod search;
pub mod soak;

use crate::correctness::{CheckKind, Correctness};
use crate::io::FileError;
use crate::results::metrics::{Direction, MetricId, METRICS};
use crate::results::summary::{CellSummary, LengthCost, TurnCost};
use std::path::Path;

pub use document::{write_document, Exporter, ToMarkdown};

/// A run's summaries, the document every run exporter renders.
pub struct RunReport<'a> {
    /// Scenario name.
    pub scenario: &'a str,
    /// Summaries, in plan order.
    pub cells: &'a [CellSummary],
    /// The fingerprint, as JSON.
    pub fingerprint: &'a serde_json::Value,
    /// Golden and cross-pipeline verdicts.
    pub correctness: &'a Correctness,
    /// The charts written for the run.
    pub figures: &'a [charts::Figure],
    /// Per cell and prompt length, what a token cost.
    pub by_length: &'a [crate::results::summary::LengthCost],
    /// Per cell, history mode and conversation turn, what a turn cost.
    pub by_turn: &'a [crate::results::summary::TurnCost],
}

/// The key columns every tabular export starts with.
pub const KEY_COLUMNS: [&str; 9] =
    ["model", "pipeline", "device", "profile", "cache", "status", "reason", "warmup_samples", "measured_samples"];

/// The key column values of a cell, in [`KEY_COLUMNS`] order.
pub fn key_values(c: &CellSummary) -> [String; 9] {
    [
        c.cell.model.clone(),
        c.cell.pipeline.to_string(),
        c.cell.device.to_string(),
        c.cell.profile.clone(),
        c.cell.cache.name().to_string(),
        c.status.name().to_string(),
        c.reason.clone().unwrap_or_default(),
        c.warmup_samples.to_string(),
        c.measured_samples.to_string(),
    ]
}

fn metric_value(c: &CellSummary, id: MetricId) -> String {
    c.metrics.get(&id).map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// summary.csv: one row per cell, the key columns then every registry metric.
pub struct SummaryCsv;

impl Exporter<RunReport<'_>> for SummaryCsv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }
    fn render(&self, run: &RunReport) -> Result<Vec<u8>, ReportError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header: Vec<String> =
            KEY_COLUMNS.iter().map(|s| s.to_string()).chain(METRICS.iter().map(|m| m.name.to_string())).collect();
        w.write_record(&header).map_err(|e| ReportError::Render(e.to_string()))?;
        for c in run.cells {
            let row: Vec<String> =
                key_values(c).into_iter().chain(METRICS.iter().map(|m| metric_value(c, m.id))).collect();
            w.write_record(&row).map_err(|e| ReportError::Render(e.to_string()))?;
        }
        w.into_inner().map_err(|e| ReportError::Render(e.to_string()))
    }
}

/// summary.json: the metric registry, the fingerprint and every cell.
pub struct SummaryJson;

impl Exporter<RunReport<'_>> for SummaryJson {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }
    fn render(&self, run: &RunReport) -> Result<Vec<u8>, ReportError> {
        let mut value = serde_json::json!({
            "schema_version": crate::results::SCHEMA_VERSION,
            "scenario": run.scenario,
            "metrics": METRICS,
            "fingerprint": run.fingerprint,
            "cells": run.cells,
            "correctness": run.correctness,
            "cost_by_length": run.by_length,
        });
        if !run.by_turn.is_empty() {
            value["cost_by_turn"] = serde_json::json!(run.by_turn);
        }
        serde_json::to_vec_pretty(&value).map_err(|e| ReportError::Render(e.to_string()))
    }
}

/// A metric of a cell as the markdown and HTML tables show it: the value, and for a median
/// its interquartile range in parentheses (`116.2 (110.0-120.5)`), so the noise behind a
/// figure is in sight wherever the figure is.
pub fn table_value(c: &CellSummary, m: &crate::metrics::Metric) -> String {
    // Joules per token are small numbers: four decimals keep them readable.
    let digits = if m.unit == "J" { 4 } else { 1 };
    match (c.metrics.get(&m.id), c.spread.get(&m.id)) {
        (Some(v), Some((lo, hi))) => format!("{v:.digits$} ({lo:.digits$}-{hi:.digits$})"),
        (Some(v), None) => format!("{v:.digits$}"),
        (None, _) => "-".into(),
    }
}

/// What the tables say about their figures' spread, one sentence.
pub const SPREAD_NOTE: &str = "Medians show their interquartile range in parentheses (25th-75th percentile of the samples, or of the decode steps for inter-token latency; from 4 values).";

/// The cells whose samples are unstable, one line each (`CELL: why`).
pub fn unstable_lines(cells: &[CellSummary]) -> Vec<String> {
    cells.iter().flat_map(|c| c.unstable.iter().map(move |why| format!("{}: {why}", c.cell))).collect()
}

/// The properties a plugin reports otherwise than the profile set them, one line each
/// (`CELL: KEY set V, the compiled model reports W` or `... does not report it`).
pub fn property_change_lines(cells: &[CellSummary]) -> Vec<String> {
    cells
        .iter()
        .flat_map(|c| {
            c.property_changes.iter().map(move |p| match &p.effective {
                Some(e) => format!("{}: {} set {}, the compiled model reports {e}", c.cell, p.key, p.set),
                None => format!("{}: {} set {}, the compiled model does not report it", c.cell, p.key, p.set),
            })
        })
        .collect()
}

/// What the changed-properties section says before its lines.
pub const PROPERTY_CHANGES_NOTE: &str = "Read back from each compiled model: a value the plugin adjusted, or a key it does not report (ignored, or taken only at compile). Every setting it reports is in summary.json (`effective_properties`).";

/// summary.md: a table for a CI step summary or a PR comment.
pub struct SummaryMarkdown;

/// The metrics the markdown and HTML tables show (the CSV and JSON carry all of them).
pub const MD_METRICS: [MetricId; 9] = [
    MetricId::CompileMs,
    MetricId::TtftP50Ms,
    MetricId::ItlP50Ms,
    MetricId::ItlP99Ms,
    MetricId::DecodeTokensPerS,
    MetricId::CpuMsPerToken,
    MetricId::JoulesPerToken,
    MetricId::OverheadSharePct,
    MetricId::PeakRssMb,
];

impl Exporter<RunReport<'_>> for SummaryMarkdown {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }
    fn render(&self, run: &RunReport) -> Result<Vec<u8>, ReportError> {
        let mut s = format!("# bakeoff run: {}\n\n", run.scenario);
        let counts = |st| run.cells.iter().filter(|c| c.status == st).count();
        use crate::results::CellStatus::*;
        s += &format!(
            "{} cells: {} completed, {} failed, {} skipped, {} unsupported\n\n",
            run.cells.len(),
            counts(Completed),
            counts(Failed),
            counts(Skipped),
            counts(Unsupported)
        );
        let metrics: Vec<_> = METRICS.iter().filter(|m| MD_METRICS.contains(&m.id)).collect();
        s += "| model | pipeline | device | profile | cache | status | samples |";
        for m in &metrics {
            let arrow = match m.direction {
                Direction::Lower => " ↓",
                Direction::Higher => " ↑",
                Direction::Neither => "",
            };
            s += &format!(" {} ({}){arrow} |", m.name, m.unit);
        }
        s += "\n|---|---|---|---|---|---|---|";
        s += &"---:|".repeat(metrics.len());
        s += "\n";
        for c in run.cells {
            let k = key_values(c);
            s += &format!("| {} | {} | {} | {} | {} | {} | {} |", k[0], k[1], k[2], k[3], k[4], k[5], k[8]);
            for m in &metrics {
                s += &format!(" {} |", table_value(c, m));
            }
            s += "\n";
        }
        s += &format!("\n{SPREAD_NOTE}\n");
        let unstable = unstable_lines(run.cells);
        if !unstable.is_empty() {
            s += "\n## Unstable cells\n\nTheir figures move with the machine as much as with the stack: \
                  rerun them, or compare them only with thresholds beyond their spread.\n\n";
            s += &unstable.iter().map(|l| format!("- ⚠ {l}\n")).collect::<String>();
        }
        let changed = property_change_lines(run.cells);
        if !changed.is_empty() {
            s += &format!("\n## Properties the plugin changed or did not report\n\n{PROPERTY_CHANGES_NOTE}\n\n");
            s += &changed.iter().map(|l| format!("- {l}\n")).collect::<String>();
        }
        if let Some(why) = crate::fingerprint::energy_absence(run.fingerprint) {
            s += &format!("\n> joules_per_token is empty, never zero: package energy is {why}.\n");
        }
        s += &not_run_markdown(run);
        s += &scaling_markdown(run.by_length);
        s += &turns_markdown(run.by_turn);
        s += &correctness_markdown(run.correctness);
        if run.cells.iter().any(|c| c.cell.device.disclaimer().is_some()) {
            s += "\n> NPU:host cells: NPUW host execution: not NPU silicon. The NPU plugin's NPUW pipeline ran with the host CPU executing the parts; their speed says nothing about an NPU.\n";
        }
        s += "\nWarm-up samples are run and excluded from every metric.\n";
        Ok(s.into_bytes())
    }
}

/// The conversations' table, when the run has any: per turn, each cell and history mode's
/// median TTFT and inter-token latency, and the tokens its prefill fed of the history's.
fn turns_markdown(rows: &[TurnCost]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut columns: Vec<(&crate::plan::CellKey, crate::scenario::HistoryMode)> = Vec::new();
    for r in rows {
        if !columns.contains(&(&r.cell, r.history)) {
            columns.push((&r.cell, r.history));
        }
    }
    let mut s = String::from(
        "\n## Conversations: cost per turn\n\nPer cell and history mode (`keep`: the KV state kept between turns; `recompute`: the whole history every turn): median TTFT / median inter-token latency (ms), the tokens the turn's prefill fed of its history's, and the tokens it generated (medians over the conversations).\n\n| turn |",
    );
    for (c, history) in &columns {
        s += &format!(" {} {} {} {} |", c.pipeline, c.device, c.profile, history.name());
    }
    s += &format!("\n|---:|{}\n", "---|".repeat(columns.len()));
    let turns: std::collections::BTreeSet<usize> = rows.iter().map(|r| r.turn).collect();
    for turn in turns {
        s += &format!("| {turn} |");
        for (c, history) in &columns {
            match rows.iter().find(|r| r.turn == turn && &r.cell == *c && r.history == *history) {
                Some(r) => {
                    let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
                    s += &format!(
                        " {} / {}, {:.0} of {:.0}, {:.0} out |",
                        ms(r.ttft_ms),
                        ms(r.itl_ms),
                        r.prefilled_tokens,
                        r.history_tokens,
                        r.output_tokens
                    );
                }
                None => s += " - |",
            }
        }
        s += "\n";
    }
    s
}

/// The cells that did not complete, with their reasons, and the prompts the completed ones
/// refused.
fn not_run_markdown(run: &RunReport) -> String {
    let mut s = String::new();
    let notes: Vec<String> = run
        .cells
        .iter()
        .filter_map(|c| c.reason.as_ref().map(|r| format!("- `{}` {}: {r}", c.cell, c.status.name())))
        .collect();
    if !notes.is_empty() {
        s += "\n## Failed, skipped and unsupported cells\n\n";
        s += &notes.join("\n");
        s += "\n";
    }
    let refused = refused_lines(run.by_length);
    if !refused.is_empty() {
        s += &format!("\n## Refused prompts\n\n{REFUSED_NOTE}\n\n");
        s += &refused.iter().map(|l| format!("- {l}\n")).collect::<String>();
    }
    s
}

/// The scaling table, when the run has prompts of at least 4 lengths: per prompt length,
/// each cell's median TTFT and inter-token latency (ms), the tokens it generated and its
/// per-generation peak memory, or that it refused the length.
fn scaling_markdown(rows: &[LengthCost]) -> String {
    let mut lengths: Vec<usize> = rows.iter().map(|r| r.prompt_tokens).collect();
    lengths.sort_unstable();
    lengths.dedup();
    if lengths.len() < 4 {
        return String::new();
    }
    let mut cells: Vec<&crate::plan::CellKey> = Vec::new();
    for r in rows {
        if !cells.contains(&&r.cell) {
            cells.push(&r.cell);
        }
    }
    let mut s = String::from(
        "\n## Cost against prompt length\n\nPer cell: median TTFT / median inter-token latency (ms), tokens generated, and the peak resident memory of the cell's first generation of that length (MiB) where no longer prompt ran before it in its process (the plugin keeps buffers sized for the longest prompt it has seen); `refused`: the pipeline refused prompts of that length (the reasons below).\n\n| prompt tokens |",
    );
    for c in &cells {
        s += &format!(" {} {} {} |", c.pipeline, c.device, c.profile);
    }
    s += &format!("\n|---:|{}\n", "---|".repeat(cells.len()));
    for len in lengths {
        s += &format!("| {len} |");
        for c in &cells {
            match rows.iter().find(|r| r.prompt_tokens == len && &r.cell == *c) {
                Some(LengthCost { ttft_ms: Some(ttft), itl_ms, output_tokens, peak_rss_mb, .. }) => {
                    let itl = itl_ms.map_or("-".into(), |v| format!("{v:.1}"));
                    let memory = peak_rss_mb.map_or(String::new(), |m| format!(", {m:.0} MiB"));
                    s += &format!(" {ttft:.1} / {itl}, {output_tokens}{memory} |");
                }
                Some(_) => s += " refused |",
                None => s += " - |",
            }
        }
        s += "\n";
    }
    s
}

/// The prompts each cell's pipeline refused, one line each (`CELL at N tokens: why`): every
/// report lists them, so a length the run did not measure is never silent.
pub fn refused_lines(rows: &[LengthCost]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| Some(format!("`{}` at {} tokens: {}", r.cell, r.prompt_tokens, r.refused.as_ref()?)))
        .collect()
}

/// What a refused prompt means, one sentence.
pub const REFUSED_NOTE: &str = "The pipeline refused these prompts as asked (over the static window, or over the profile's NPUW_LLM_MAX_PROMPT_LEN, which the NPU plugin and openvino-genai both refuse); the cell ran its other prompts, and no figure of the refused ones exists.";

/// The correctness section: verdict counts, then every check that was not identical.
fn correctness_markdown(c: &Correctness) -> String {
    if c.golden.is_empty() && c.pipelines.is_empty() && c.devices.is_empty() {
        return String::new();
    }
    let mut s = format!("\n## Correctness\n\nNear tie: the expected top-2 margin below {} logits.\n\n", c.near_tie);
    s += "| verdict | golden checks | kvcache vs static128 | NPU vs CPU (reported) |\n|---|---:|---:|---:|\n";
    for (name, golden, pipelines, devices) in c.counts() {
        s += &format!("| {name} | {golden} | {pipelines} | {devices} |\n");
    }
    let lines: Vec<String> = c
        .findings()
        .filter(|f| f.verdict.severity() > 0)
        .map(|f| {
            let note = if f.enforced { "" } else { " (not enforced: reported only)" };
            match (f.kind, f.samples) {
                (CheckKind::Golden, Some((differing, samples))) => format!(
                    "- golden `{}` `{}` ({differing} of {samples} samples differ): {}{note}",
                    f.cell, f.prompt_id, f.verdict
                ),
                (CheckKind::Devices, _) => {
                    format!("- `{}` against its CPU cell `{}`: {} (reported only)", f.cell, f.prompt_id, f.verdict)
                }
                _ => format!("- static128 against kvcache `{}` `{}`: {}{note}", f.cell, f.prompt_id, f.verdict),
            }
        })
        .collect();
    if !lines.is_empty() {
        s += "\n";
        s += &lines.join("\n");
        s += "\n";
    }
    let short = c.short_outputs();
    if !short.is_empty() {
        s += &format!("\n### Outputs that end early\n\n{SHORT_NOTE}\n\n");
        s += &short.iter().map(|l| format!("- ⚠ {l}\n")).collect::<String>();
    }
    s
}

/// What the short-output flags mean, one sentence.
pub const SHORT_NOTE: &str = "An output that stops at eos before 90% of its reference's length (MLPerf's rule) is flagged, not failed: silent garbage often ends early, and a transcript that stops early is otherwise identical over the few steps it has.";

/// Every format of a run's summaries.
pub fn run_exporters<'a>() -> [&'a dyn Exporter<RunReport<'a>>; 5] {
    [&SummaryCsv, &SummaryJson, &SummaryMarkdown, &html::Html, &junit::Junit]
}

/// Write a decision's files into `dir`: each of its formats (`<stem>.json`, `<stem>.md`)
/// and its chart (`<stem>_chart`).
pub fn write_decision<D>(
    dir: &Path,
    doc: &D,
    exporters: &[&dyn Exporter<D>],
    chart: Option<(&str, charts::Chart)>,
) -> Result<(), ReportError> {
    write_document(dir, doc, exporters)?;
    if let Some((stem, chart)) = chart {
        charts::write_chart(dir, &format!("{stem}_chart"), &chart)?;
    }
    Ok(())
}

/// Write every format of a run's summaries into `dir`, each atomically.
pub fn write_all(dir: &Path, run: &RunReport) -> Result<(), ReportError> {
    write_document(dir, run, &run_exporters())
}

/// Why a run folder's reports could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder could not be read (not a run folder).
    #[error(transparent)]
    Read(#[from] crate::results::folder::FolderError),
    /// The goldens the run was checked against could not be read.
    #[error(transparent)]
    Golden(#[from] crate::golden::GoldenError),
    /// An output could not be written (a full disk); the records are untouched.
    #[error(transparent)]
    Write(#[from] FileError),
    /// An output could not be rendered (a chart's drawing, an exporter's serialization).
    #[error("{0}")]
    Render(String),
}

/// What a run folder's reports say.
pub struct WrittenRun {
    /// Every cell's summary.
    pub cells: Vec<CellSummary>,
    /// The correctness verdicts.
    pub correctness: Correctness,
}

/// Read a run folder and write everything that follows from its records: correctness.json,
/// the charts and every exporter's file, each atomically (a failed write leaves the previous
/// file whole).
pub fn write_run_reports(dir: &crate::results::folder::RunDir) -> Result<WrittenRun, ReportError> {
    use crate::results::folder::{file, RunFolder};
    let run = RunFolder::open(&dir.dir)?;
    let cells = run.summaries();
    let correctness = crate::correctness::run_correctness(&run)?;
    dir.write_json(file::CORRECTNESS, &crate::results::Versioned::new(&correctness))?;
    let by_length = crate::results::summary::cost_by_length(&run.attempts());
    let by_turn = crate::results::summary::cost_by_turn(&run.attempts());
    let figures = charts::run_charts(&run, &cells, &by_length)
        .into_iter()
        .chain(charts::turns_chart(&run, &by_turn).map(|c| ("chart_turns_ttft", c)))
        .collect::<Vec<_>>()
        .iter()
        .map(|(stem, chart)| charts::write_chart(&dir.dir, stem, chart))
        .collect::<Result<Vec<_>, _>>()?;
    let report = RunReport {
        scenario: &run.scenario.name,
        cells: &cells,
        fingerprint: &run.fingerprint,
        correctness: &correctness,
        figures: &figures,
        by_length: &by_length,
        by_turn: &by_turn,
    };
    write_all(&dir.dir, &report)?;
    Ok(WrittenRun { cells, correctness })
}
