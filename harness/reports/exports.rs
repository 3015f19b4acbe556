//! Exports to the trackers CI users keep their history in, each in its consumer's
//! documented format: Bencher's BMF JSON, github-action-benchmark's two custom-tool files
//! (`customBiggerIsBetter`, `customSmallerIsBetter`), and llm_bench's CSV (openvino.genai
//! `tools/llm_bench`, its `-r` report), so a run can sit beside history those tools made.
//! Every figure comes from the run's summaries and samples (the registry's statistics).

use super::document::{write_document, Exporter};
use super::ReportError;
use crate::io::FileError;
use crate::metrics::{Direction, Metric, MetricId, Statistic, METRICS};
use crate::results::folder::RunFolder;
use crate::results::summary::CellSummary;
use crate::results::{Attempt, CellStatus};
use crate::stats;
use std::path::{Path, PathBuf};

/// One export asked for: its kind and where it goes (`KIND=PATH` on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// Bencher Metric Format JSON, to a file.
    Bmf(PathBuf),
    /// github-action-benchmark's `bigger_is_better.json` and `smaller_is_better.json`, into
    /// a folder.
    Gab(PathBuf),
    /// llm_bench's CSV report, to a file.
    LlmBenchCsv(PathBuf),
}

/// The export kinds, as `KIND=PATH` names them.
pub const KINDS: &str = "bmf=FILE, gab=DIR, llm-bench-csv=FILE";

impl std::str::FromStr for Export {
    type Err = String;
    fn from_str(s: &str) -> Result<Export, String> {
        let (kind, path) = s.split_once('=').ok_or_else(|| format!("`{s}` is not KIND=PATH; kinds: {KINDS}"))?;
        if path.is_empty() {
            return Err(format!("`{s}`: no path after `=`"));
        }
        let path = PathBuf::from(path);
        match kind {
            "bmf" => Ok(Export::Bmf(path)),
            "gab" => Ok(Export::Gab(path)),
            "llm-bench-csv" => Ok(Export::LlmBenchCsv(path)),
            other => Err(format!("unknown export `{other}`; allowed: {KINDS}")),
        }
    }
}

/// The metrics the trackers get: the medians and tails a regression shows in, plus compile
/// time and memory (every judged metric of the registry that a cell has).
fn tracked() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().filter(|m| m.direction != Direction::Neither && !matches!(m.statistic, Statistic::Descriptive))
}

/// What the tracker exports render from: a run's summaries (computed once, as every other
/// document reads them) and its final attempts (llm_bench's CSV has a row per sample).
pub struct TrackerRun<'a> {
    /// The cells' summaries, in record order.
    pub cells: &'a [CellSummary],
    /// The final attempts, in the same order.
    pub attempts: &'a [Attempt<'a>],
    /// The scenario's `max_new_tokens`.
    pub max_new_tokens: usize,
}

/// Bencher Metric Format JSON.
pub struct Bmf;
/// github-action-benchmark's `customBiggerIsBetter` file.
pub struct GabBigger;
/// github-action-benchmark's `customSmallerIsBetter` file.
pub struct GabSmaller;
/// llm_bench's CSV report.
pub struct LlmBenchCsv;

impl Exporter<TrackerRun<'_>> for Bmf {
    fn file_name(&self) -> &'static str {
        "bmf.json"
    }
    fn render(&self, run: &TrackerRun<'_>) -> Result<Vec<u8>, ReportError> {
        Ok(bmf(run.cells))
    }
}

impl Exporter<TrackerRun<'_>> for GabBigger {
    fn file_name(&self) -> &'static str {
        "bigger_is_better.json"
    }
    fn render(&self, run: &TrackerRun<'_>) -> Result<Vec<u8>, ReportError> {
        Ok(gab(run.cells).0)
    }
}

impl Exporter<TrackerRun<'_>> for GabSmaller {
    fn file_name(&self) -> &'static str {
        "smaller_is_better.json"
    }
    fn render(&self, run: &TrackerRun<'_>) -> Result<Vec<u8>, ReportError> {
        Ok(gab(run.cells).1)
    }
}

impl Exporter<TrackerRun<'_>> for LlmBenchCsv {
    fn file_name(&self) -> &'static str {
        "llm_bench.csv"
    }
    fn render(&self, run: &TrackerRun<'_>) -> Result<Vec<u8>, ReportError> {
        llm_bench_csv(run.cells, run.attempts, run.max_new_tokens)
    }
}

/// Write one export of a run folder.
pub fn write_export(export: &Export, folder: &RunFolder) -> Result<(), ReportError> {
    let attempts = folder.attempts();
    let cells = folder.summaries();
    let run =
        TrackerRun { cells: &cells, attempts: &attempts, max_new_tokens: folder.scenario.generation.max_new_tokens };
    match export {
        Export::Bmf(path) => write_file(path, &Bmf.render(&run)?),
        Export::Gab(dir) => write_document(dir, &run, &[&GabBigger, &GabSmaller]),
        Export::LlmBenchCsv(path) => write_file(path, &LlmBenchCsv.render(&run)?),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ReportError::Render(format!("{}: an export path must end in a file name", path.display())))?;
    std::fs::create_dir_all(dir).map_err(|source| FileError::Write { path: dir.display().to_string(), source })?;
    Ok(crate::io::write_named(dir, name, bytes)?)
}

/// A metric name as a Bencher measure slug (lower-case, hyphens; at most 64 characters).
pub fn measure_slug(metric: &str) -> String {
    metric.replace('_', "-")
}

/// BMF: `{benchmark: {measure: {value, lower_value?, upper_value?}}}`, a benchmark per
/// completed cell (its key), a measure per metric; medians carry their interquartile range
/// as the lower and upper value.
pub fn bmf(cells: &[CellSummary]) -> Vec<u8> {
    let mut out = serde_json::Map::new();
    for c in cells.iter().filter(|c| c.status == CellStatus::Completed) {
        let mut measures = serde_json::Map::new();
        for m in tracked() {
            let Some(&value) = c.metrics.get(&m.id) else { continue };
            let mut metric = serde_json::json!({ "value": value });
            if let Some(&(lo, hi)) = c.spread.get(&m.id) {
                metric["lower_value"] = lo.into();
                metric["upper_value"] = hi.into();
            }
            measures.insert(measure_slug(m.name), metric);
        }
        out.insert(c.cell.to_string(), measures.into());
    }
    serde_json::to_vec_pretty(&out).expect("plain JSON values serialize")
}

/// github-action-benchmark's custom tools: arrays of `{name, unit, value, range?, extra}`,
/// one file for metrics where bigger is better and one where smaller is; `name` is
/// `CELL metric`, `range` the interquartile range (`±` half of it, as the action shows it).
pub fn gab(cells: &[CellSummary]) -> (Vec<u8>, Vec<u8>) {
    let (mut bigger, mut smaller) = (Vec::new(), Vec::new());
    for c in cells.iter().filter(|c| c.status == CellStatus::Completed) {
        for m in tracked() {
            let Some(&value) = c.metrics.get(&m.id) else { continue };
            let mut entry = serde_json::json!({
                "name": format!("{} {}", c.cell, m.name),
                "unit": m.unit,
                "value": value,
                "extra": format!("{} measured samples; {}", c.measured_samples, m.description),
            });
            if let Some(&(lo, hi)) = c.spread.get(&m.id) {
                entry["range"] = format!("± {:.3}", (hi - lo) / 2.0).into();
            }
            match m.direction {
                Direction::Higher => bigger.push(entry),
                _ => smaller.push(entry),
            }
        }
    }
    let json = |v: Vec<serde_json::Value>| serde_json::to_vec_pretty(&v).expect("plain JSON values serialize");
    (json(bigger), json(smaller))
}

/// llm_bench's report header, in its order (openvino.genai `llm_bench_utils/output_csv.py`).
pub const LLM_BENCH_HEADER: [&str; 26] = [
    "iteration",
    "model",
    "framework",
    "device",
    "pretrain_time(s)",
    "input_size",
    "infer_count",
    "generation_time(s)",
    "output_size",
    "latency(ms)",
    "1st_latency(ms)",
    "2nd_avg_latency(ms)",
    "precision",
    "max_rss_mem(MB)",
    "max_uss_mem(MB)",
    "max_shared_mem(MB)",
    "prompt_idx",
    "1st_infer_latency(ms)",
    "2nd_infer_avg_latency(ms)",
    "num_beams",
    "batch_size",
    "tokenization_time",
    "detokenization_time",
    "result_md5",
    "start",
    "end",
];

/// One generation as llm_bench reports it.
struct BenchRow {
    iteration: String,
    prompt_idx: usize,
    input_size: f64,
    generation_s: f64,
    output_size: f64,
    ms_per_token: f64,
    first_ms: f64,
    other_ms: Option<f64>,
}

/// llm_bench's CSV: per completed cell, a row per generation (`iteration` 0 for warm-ups,
/// then 1, 2, ... per prompt), then per prompt the `avg`, `mini` and `median` rows over the
/// measured ones, as llm_bench writes them. `model` is `MODEL/PIPELINE/PROFILE/CACHE` (what
/// makes a bakeoff cell), `framework` `ov`, `device` the cell's device label; what bakeoff
/// does not measure (USS, shared memory, tokenizer times, text md5) is empty, never made up.
/// `infer_count` is the scenario's `max_new_tokens`, the limit llm_bench reports there.
pub fn llm_bench_csv(
    cells: &[CellSummary],
    attempts: &[Attempt],
    max_new_tokens: usize,
) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| ReportError::Render(format!("llm_bench CSV: {e}"));
    w.write_record(LLM_BENCH_HEADER).map_err(err)?;
    for (a, c) in attempts.iter().zip(cells).filter(|(a, _)| a.cell.status == CellStatus::Completed) {
        let key = &a.cell.cell;
        let model = format!("{}/{}/{}/{}", key.model, key.pipeline, key.profile, key.cache.name());
        let pretrain_s = (a.cell.load_ms.unwrap_or(0.0) + a.cell.compile_ms.unwrap_or(0.0)) / 1000.0;
        let rows = bench_rows(a);
        let rss = c.metrics.get(&MetricId::PeakRssMb).map_or(String::new(), |v| fmt(*v));
        let write = |w: &mut csv::Writer<Vec<u8>>, r: &BenchRow, pretrain: String| {
            let fields: [String; 26] = [
                r.iteration.clone(),
                model.clone(),
                "ov".into(),
                key.device.to_string(),
                pretrain,
                fmt(r.input_size),
                max_new_tokens.to_string(),
                fmt(r.generation_s),
                fmt(r.output_size),
                fmt(r.ms_per_token),
                fmt(r.first_ms),
                r.other_ms.map_or("NA".into(), fmt),
                String::new(),
                rss.clone(),
                String::new(),
                String::new(),
                r.prompt_idx.to_string(),
                String::new(),
                String::new(),
                "1".into(),
                "1".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ];
            w.write_record(&fields).map_err(err)
        };
        for (i, r) in rows.iter().enumerate() {
            write(&mut w, r, if i == 0 { fmt(pretrain_s) } else { String::new() })?;
        }
        for r in summary_rows(&rows) {
            write(&mut w, &r, String::new())?;
        }
    }
    w.into_inner().map_err(|e| ReportError::Render(format!("llm_bench CSV: {e}")))
}

/// The generations of a cell's final attempt as llm_bench rows, in order.
fn bench_rows(a: &Attempt) -> Vec<BenchRow> {
    let mut prompts: Vec<&str> = Vec::new();
    let mut seen: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    a.samples
        .iter()
        .map(|s| {
            let idx = prompts.iter().position(|p| *p == s.prompt_id).unwrap_or_else(|| {
                prompts.push(&s.prompt_id);
                prompts.len() - 1
            });
            let iteration = if s.warmup {
                "0".to_string()
            } else {
                let n = seen.entry(idx).or_insert(0);
                *n += 1;
                n.to_string()
            };
            let m = &s.metrics;
            let out = m.output_tokens as f64;
            BenchRow {
                iteration,
                prompt_idx: idx,
                input_size: m.prompt_tokens as f64,
                generation_s: m.e2e_ms / 1000.0,
                output_size: out,
                ms_per_token: if out > 0.0 { m.e2e_ms / out } else { m.e2e_ms },
                first_ms: m.ttft_ms,
                other_ms: stats::mean(m.itl_ms.iter().copied()),
            }
        })
        .collect()
}

/// llm_bench's `avg`, `mini` and `median` rows per prompt, over its measured rows.
fn summary_rows(rows: &[BenchRow]) -> Vec<BenchRow> {
    let mut out = Vec::new();
    let mut prompts: Vec<usize> = rows.iter().map(|r| r.prompt_idx).collect();
    prompts.sort_unstable();
    prompts.dedup();
    for p in prompts {
        let measured: Vec<&BenchRow> = rows.iter().filter(|r| r.prompt_idx == p && r.iteration != "0").collect();
        if measured.is_empty() {
            continue;
        }
        type Stat = fn(&[f64]) -> f64;
        let stats: [(&str, Stat); 3] = [
            ("avg", |v| stats::mean(v.iter().copied()).unwrap_or(f64::NAN)),
            ("mini", |v| stats::min(v).unwrap_or(f64::NAN)),
            ("median", |v| stats::median(v).unwrap_or(f64::NAN)),
        ];
        for (name, stat) in stats {
            let of = |f: fn(&BenchRow) -> f64| stat(&measured.iter().map(|r| f(r)).collect::<Vec<_>>());
            let others: Vec<f64> = measured.iter().filter_map(|r| r.other_ms).collect();
            out.push(BenchRow {
                iteration: name.to_string(),
                prompt_idx: p,
                input_size: of(|r| r.input_size),
                generation_s: of(|r| r.generation_s),
                output_size: of(|r| r.output_size),
                ms_per_token: of(|r| r.ms_per_token),
                first_ms: of(|r| r.first_ms),
                other_ms: (!others.is_empty()).then(|| stat(&others)),
            });
        }
    }
    out
}

/// Five decimals, as llm_bench rounds.
fn fmt(v: f64) -> String {
    format!("{}", (v * 1e5).round() / 1e5)
}
