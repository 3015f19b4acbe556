//! Results: what a run records. `results.jsonl` is append-only, one complete JSON line per
//! sample or cell outcome, flushed as soon as it exists, so a crash, a kill or a full disk
//! never costs what was already recorded; a torn last line is detected and ignored.

pub mod folder;
pub mod metrics;
pub mod pairs;
pub mod soak;
pub mod summary;

use crate::pipelines::{StopReason, Transcript};
use crate::plan::CellKey;
use crate::profiles::ResolvedProfile;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// What one generation measured: the fields every output about a generation carries
/// (`generate --format json` and every sample of a run), derived from its transcript once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleMetrics {
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Generated tokens.
    pub output_tokens: usize,
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Inter-token latencies, ms.
    pub itl_ms: Vec<f64>,
    /// Whole generation, ms.
    pub e2e_ms: f64,
    /// Decode tokens per second (after the first token).
    pub decode_tokens_per_s: Option<f64>,
    /// Time outside infer() per token, ms.
    pub overhead_ms_per_token: f64,
    /// Time inside infer() per token, ms.
    pub infer_ms_per_token: f64,
    /// static128: the window dropped older tokens.
    pub truncated: bool,
    /// Why generation ended.
    pub stop_reason: StopReason,
    /// The generated ids.
    pub output_ids: Vec<i64>,
    /// Top-1 minus top-2 logit per step.
    pub margins: Vec<f32>,
    /// Host CPU time, energy and NPU busy time by phase (each absent where not measured).
    #[serde(flatten, default)]
    pub usage: crate::telemetry::Usage,
    /// Peak resident memory of the cell's process during this generation, MiB (the
    /// high-water mark reset just before it): how memory grows with the prompt. Absent where
    /// the kernel cannot reset the mark, and for the genai worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    /// genai cells: openvino-genai's own PerfMetrics of this generation (ttft_ms, tpot_ms,
    /// throughput_tokens_per_s, generate_ms, inference_ms), kept beside bakeoff's figures
    /// and never used in its metrics.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub genai_perf_metrics: std::collections::BTreeMap<String, f64>,
}

impl From<&Transcript> for SampleMetrics {
    fn from(t: &Transcript) -> SampleMetrics {
        SampleMetrics {
            prompt_tokens: t.prompt_ids.len(),
            output_tokens: t.output_ids.len(),
            ttft_ms: t.ttft_ms().unwrap_or(0.0),
            itl_ms: t.itl_ms(),
            e2e_ms: t.e2e_ms(),
            decode_tokens_per_s: t.decode_tokens_per_s(),
            overhead_ms_per_token: t.overhead_ms_per_token().unwrap_or(0.0),
            infer_ms_per_token: crate::stats::mean(t.steps.iter().map(|s| s.infer_ms)).unwrap_or(0.0),
            truncated: t.truncated,
            stop_reason: t.stop_reason,
            output_ids: t.output_ids.clone(),
            margins: t.steps.iter().map(|s| s.margin).collect(),
            usage: Default::default(),
            peak_rss_mb: None,
            genai_perf_metrics: Default::default(),
        }
    }
}

/// One generation of one prompt in one cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleRecord {
    /// The cell.
    pub cell: CellKey,
    /// The prompt's id.
    pub prompt_id: String,
    /// Repetition number (warm-ups count from 0 too).
    pub rep: usize,
    /// Warm-up samples are recorded but excluded from metrics.
    pub warmup: bool,
    /// What it measured.
    #[serde(flatten)]
    pub metrics: SampleMetrics,
    /// A/B runs: the sample's side and pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<pairs::AbTag>,
    /// A conversation's turn: where the sample sits in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<TurnInfo>,
}

/// Where a sample sits in a conversation (its prompt id is `ID#N`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnInfo {
    /// The conversation's id.
    pub conversation: String,
    /// The turn, from 1.
    pub turn: usize,
    /// Whether the pipeline kept its state from the previous turn or recomputed the history.
    pub history: crate::scenario::HistoryMode,
    /// Tokens this turn's prefill fed (the whole history, or only what a kept state lacked).
    pub prefilled_tokens: usize,
}

impl SampleRecord {
    /// The record of one transcript.
    pub fn from_transcript(cell: &CellKey, prompt_id: &str, rep: usize, warmup: bool, t: &Transcript) -> SampleRecord {
        SampleRecord {
            cell: cell.clone(),
            prompt_id: prompt_id.to_string(),
            rep,
            warmup,
            metrics: t.into(),
            ab: None,
            turn: None,
        }
    }
}

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// Every sample ran.
    Completed,
    /// It started and failed; see the failure class.
    Failed,
    /// It could not run here (device not present).
    Skipped,
    /// It cannot run as asked: every prompt was refused (over the window or
    /// MAX_PROMPT_LEN), or a driven cell's prompt was.
    Unsupported,
}

impl CellStatus {
    /// The lower-case name of the status, as every output writes it.
    pub fn name(self) -> &'static str {
        match self {
            CellStatus::Completed => "completed",
            CellStatus::Failed => "failed",
            CellStatus::Skipped => "skipped",
            CellStatus::Unsupported => "unsupported",
        }
    }
}

impl std::fmt::Display for CellStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a cell failed, classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// compile_model (or reading the model) failed.
    CompileError,
    /// No compiled model before the compile timeout.
    TimeoutCompile,
    /// A generation ran past the generation timeout.
    TimeoutGenerate,
    /// The cell's process died from a signal.
    Crashed {
        /// The signal number.
        signal: i32,
    },
    /// The cell's process exited without a result.
    Exited {
        /// Its exit code.
        code: i32,
    },
    /// A generation failed in the runtime.
    GenerateError,
    /// An allocation failed at the cell's memory limit (`[limits] memory_mb`).
    OutOfMemory {
        /// The limit, MiB.
        limit_mb: u64,
    },
    /// Bad input the cell found (profile, model files).
    InputError,
}

impl std::fmt::Display for FailureClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureClass::CompileError => f.write_str("compile_error"),
            FailureClass::TimeoutCompile => f.write_str("timeout_compile"),
            FailureClass::TimeoutGenerate => f.write_str("timeout_generate"),
            FailureClass::Crashed { signal } => write!(f, "crashed (signal {signal})"),
            FailureClass::Exited { code } => write!(f, "exited (code {code})"),
            FailureClass::GenerateError => f.write_str("generate_error"),
            FailureClass::OutOfMemory { limit_mb } => write!(f, "out_of_memory (limit {limit_mb} MiB)"),
            FailureClass::InputError => f.write_str("input_error"),
        }
    }
}

/// The outcome of one cell, written after its samples.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellRecord {
    /// The cell.
    pub cell: CellKey,
    /// How it ended.
    pub status: CellStatus,
    /// For failed cells: the class.
    pub failure: Option<FailureClass>,
    /// For failed, skipped and unsupported cells: the message (the plugin's own where it has one).
    pub reason: Option<String>,
    /// read_model, ms.
    pub load_ms: Option<f64>,
    /// compile_model, ms (measured after priming for a warm cache).
    pub compile_ms: Option<f64>,
    /// A compile that did not come from the cache, ms: a warm cell's priming compile, or a
    /// cold cell's own compile (then equal to `compile_ms`): the compile a first start pays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_compile_ms: Option<f64>,
    /// LOADED_FROM_CACHE of the measured compile.
    pub from_cache: Option<bool>,
    /// EXECUTION_DEVICES of the compiled model.
    pub execution_devices: Option<String>,
    /// Peak resident memory of the cell's process, MiB.
    pub peak_rss_mb: Option<f64>,
    /// Peak resident memory of the cell's process up to the end of its compile phase
    /// (read_model and every compile), MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_peak_rss_mb: Option<f64>,
    /// Peak resident memory of the cell's process after its compile phase (warm-ups and
    /// generations), MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady_peak_rss_mb: Option<f64>,
    /// Time to first token of the process's first generation (a warm-up where there is
    /// one), ms: what the first request after a start waits, one-time initialization
    /// included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_inference_ms: Option<f64>,
    /// NPU cells: the NPU plugin's memory figures after compile and after generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npu_memory: Option<crate::telemetry::NpuMemory>,
    /// Resident memory of bakeoff's own (parent) process once the cell was over, MiB: what
    /// a soak watches for a leak across cells.
    #[serde(default)]
    pub harness_rss_mb: Option<f64>,
    /// bakeoff's own peak resident memory so far (VmHWM) once the cell was over, MiB.
    #[serde(default)]
    pub harness_peak_rss_mb: Option<f64>,
    /// Warm-up samples run and excluded.
    pub warmup_samples: usize,
    /// Measured samples.
    pub measured_samples: usize,
    /// The properties compiled with, with their origins.
    pub properties: Option<ResolvedProfile>,
    /// Every setting the compiled model reported once compiled: the plugin's defaults for
    /// what the profile left, and what it made of what the profile set.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub effective_properties: std::collections::BTreeMap<String, String>,
    /// Prompts the pipeline refused while the cell ran its other prompts (over the static
    /// window, or over NPUW_LLM_MAX_PROMPT_LEN, which the plugin and openvino-genai both
    /// refuse), each with the reason; no sample of them is a measurement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedPrompt>,
    /// The cell's wall time, s.
    pub wall_s: f64,
}

/// A prompt a cell's pipeline refused to run as asked, and why (in the plugin's words where
/// it has them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedPrompt {
    /// The prompt.
    pub prompt_id: String,
    /// Its length, tokens.
    pub prompt_tokens: usize,
    /// Why it was refused.
    pub reason: String,
}

/// What one cell process measures once rather than per sample: its compiles, its memory
/// and its first generation. A run's cell has one process; an A/B side has one per round
/// (both sides restart every round), so these are paired samples there, one per round.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessFigures {
    /// read_model, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_ms: Option<f64>,
    /// The measured compile_model, ms (a cache load for a warm cell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_ms: Option<f64>,
    /// A compile that did not come from the cache, ms (a warm cell's priming compile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_compile_ms: Option<f64>,
    /// LOADED_FROM_CACHE of the measured compile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_cache: Option<bool>,
    /// The first generation's time to first token, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_inference_ms: Option<f64>,
    /// Peak resident memory of the compile phase, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_peak_rss_mb: Option<f64>,
    /// Peak resident memory after the compile phase, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady_peak_rss_mb: Option<f64>,
    /// Peak resident memory of the whole process, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
}

impl CellRecord {
    /// The figures its process measured once (see [`ProcessFigures`]).
    pub fn figures(&self) -> ProcessFigures {
        ProcessFigures {
            load_ms: self.load_ms,
            compile_ms: self.compile_ms,
            cold_compile_ms: self.cold_compile_ms,
            from_cache: self.from_cache,
            first_inference_ms: self.first_inference_ms,
            compile_peak_rss_mb: self.compile_peak_rss_mb,
            steady_peak_rss_mb: self.steady_peak_rss_mb,
            peak_rss_mb: self.peak_rss_mb,
        }
    }

    /// A record with nothing measured yet.
    pub fn new(cell: &CellKey, status: CellStatus) -> CellRecord {
        CellRecord {
            cell: cell.clone(),
            status,
            failure: None,
            reason: None,
            load_ms: None,
            compile_ms: None,
            cold_compile_ms: None,
            from_cache: None,
            execution_devices: None,
            peak_rss_mb: None,
            compile_peak_rss_mb: None,
            steady_peak_rss_mb: None,
            first_inference_ms: None,
            npu_memory: None,
            harness_rss_mb: None,
            harness_peak_rss_mb: None,
            warmup_samples: 0,
            measured_samples: 0,
            properties: None,
            effective_properties: Default::default(),
            refused: Vec::new(),
            wall_s: 0.0,
        }
    }

    /// A cell that did not run (skipped, or refused before starting), with the reason.
    pub fn not_run(cell: &CellKey, status: CellStatus, reason: String) -> CellRecord {
        CellRecord { reason: Some(reason), ..CellRecord::new(cell, status) }
    }
}

/// The start of one attempt at a cell: samples after it belong to this attempt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartRecord {
    /// The cell.
    pub cell: CellKey,
}

/// The shape version of every JSON file bakeoff writes: each results.jsonl record,
/// summary.json, correctness.json, soak.json and the decision files (compare.json,
/// qualify.json, recommend.json) carry it as `schema_version`. It grows when a field is
/// renamed or removed or its meaning changes (adding a field does not), so a consumer can
/// refuse what it does not understand instead of misreading it. Files without it were
/// written before it existed and read as version 0.
pub const SCHEMA_VERSION: u32 = 1;

/// A value written with [`SCHEMA_VERSION`] beside its own fields.
#[derive(Debug, Serialize)]
pub struct Versioned<'a, T: Serialize> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The value, its fields flattened beside `schema_version`.
    #[serde(flatten)]
    pub value: &'a T,
}

impl<'a, T: Serialize> Versioned<'a, T> {
    /// `value` at this bakeoff's [`SCHEMA_VERSION`].
    pub fn new(value: &'a T) -> Self {
        Versioned { schema_version: SCHEMA_VERSION, value }
    }
}

/// One line of results.jsonl.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Record {
    /// An attempt at a cell begins.
    Start(StartRecord),
    /// A sample.
    Sample(SampleRecord),
    /// A cell outcome.
    Cell(CellRecord),
    /// An A/B cell's outcome (both sides).
    Ab(Box<pairs::AbCellRecord>),
    /// One round of an A/B cell: each side's process figures.
    Round(Box<pairs::AbRound>),
}

/// A cell's final attempt: its outcome and the samples recorded in that attempt.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The outcome.
    pub cell: &'a CellRecord,
    /// The samples of this attempt, warm-ups included, in order.
    pub samples: Vec<&'a SampleRecord>,
}

/// The final attempt of every cell that has an outcome record, in the order cells first
/// appear. For a cell recorded more than once (a resumed run), the last outcome counts,
/// with the samples after its start marker (an interrupted earlier attempt may have left
/// samples with no outcome).
pub fn final_attempts(records: &[Record]) -> Vec<Attempt<'_>> {
    let mut order: Vec<&CellKey> = Vec::new();
    let mut last: std::collections::HashMap<&CellKey, usize> = Default::default();
    for (i, r) in records.iter().enumerate() {
        if let Record::Cell(c) = r {
            if last.insert(&c.cell, i).is_none() {
                order.push(&c.cell);
            }
        }
    }
    order
        .into_iter()
        .map(|key| {
            let end = last[key];
            let Record::Cell(cell) = &records[end] else { unreachable!("indexed outcome records only") };
            let start = records[..end]
                .iter()
                .rposition(|r| {
                    matches!(r, Record::Start(s) if s.cell == *key) || matches!(r, Record::Cell(c) if c.cell == *key)
                })
                .map_or(0, |p| p + 1);
            let samples = records[start..end]
                .iter()
                .filter_map(|r| match r {
                    Record::Sample(s) if s.cell == *key => Some(s),
                    _ => None,
                })
                .collect();
            Attempt { cell, samples }
        })
        .collect()
}

/// Appends records to results.jsonl, one flushed line each.
pub struct ResultsWriter {
    file: std::fs::File,
}

impl ResultsWriter {
    /// Open (creating or appending to) a results file.
    pub fn append(path: &Path) -> std::io::Result<ResultsWriter> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(ResultsWriter { file })
    }

    /// Write one record as one line and push it to the disk. The line is written with a
    /// single write call so a kill cannot interleave it with another.
    pub fn write(&mut self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&Versioned::new(record)).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

/// Why results.jsonl could not be read. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Missing or unreadable.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A device, a FIFO or a folder.
    #[error("{path}: not a regular file")]
    NotRegular {
        /// The file.
        path: String,
    },
    /// A line longer than any record bakeoff writes.
    #[error("{path}: line {line} is longer than {limit_mib} MiB: not a results file bakeoff wrote")]
    LongLine {
        /// The file.
        path: String,
        /// The line's number.
        line: usize,
        /// The bound, MiB.
        limit_mib: u64,
    },
    /// A line before the last that is not a record.
    #[error("{path}: line {line}: not a result record: {reason}")]
    BadRecord {
        /// The file.
        path: String,
        /// The line's number.
        line: usize,
        /// The parser's message.
        reason: String,
    },
}

/// What reading results.jsonl found.
#[derive(Debug, Default)]
pub struct ReadResults {
    /// Every complete, valid record.
    pub records: Vec<Record>,
    /// A torn or invalid last line was ignored.
    pub torn_tail: bool,
}

/// Read results.jsonl. Only the last line may be torn (a kill mid-write: no newline, or
/// not valid JSON); it is ignored. An invalid line anywhere else is an error naming it.
pub fn read_results(path: &Path) -> Result<ReadResults, ResultsError> {
    use std::io::{BufRead, Read};
    let shown = || path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| ResultsError::Read { path: shown(), source })?;
    if !meta.is_file() {
        return Err(ResultsError::NotRegular { path: shown() });
    }
    let file = std::fs::File::open(path).map_err(|source| ResultsError::Read { path: shown(), source })?;
    let mut reader = std::io::BufReader::new(file);
    let mut out = ReadResults::default();
    let mut line = Vec::new();
    let mut pending: Option<(usize, Vec<u8>)> = None;
    for number in 1.. {
        line.clear();
        let read = (&mut reader).take(MAX_RECORD_BYTES + 1).read_until(b'\n', &mut line);
        let n = read.map_err(|source| ResultsError::Read { path: shown(), source })?;
        if n == 0 {
            break;
        }
        if line.len() as u64 > MAX_RECORD_BYTES && !line.ends_with(b"\n") {
            return Err(ResultsError::LongLine { path: shown(), line: number, limit_mib: MAX_RECORD_BYTES >> 20 });
        }
        // A line is judged once the next exists: only the last one may be torn.
        if let Some((i, previous)) = pending.replace((number, line.clone())) {
            let record =
                parse_record(&previous).map_err(|reason| ResultsError::BadRecord { path: shown(), line: i, reason })?;
            out.records.push(record);
        }
    }
    if let Some((_, last)) = pending {
        match last.ends_with(b"\n").then(|| parse_record(&last)) {
            Some(Ok(r)) => out.records.push(r),
            _ => out.torn_tail = true,
        }
    }
    Ok(out)
}

/// The longest line of results.jsonl read: 64 MiB. The longest real record, a sample of
/// 131,072 tokens with its ids, margins and latencies, is about 10 MiB; a longer line is
/// not a record (a file of gigabytes without newlines would otherwise be read whole).
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

fn parse_record(line: &[u8]) -> Result<Record, String> {
    /// A line as written: the record and the version of its shape (0: before versions).
    #[derive(Deserialize)]
    struct Line {
        #[serde(default)]
        schema_version: u32,
        #[serde(flatten)]
        record: Record,
    }
    let text = std::str::from_utf8(line).map_err(|e| e.to_string())?;
    let line: Line = serde_json::from_str(text.trim_end_matches(['\n', '\r'])).map_err(|e| e.to_string())?;
    if line.schema_version > SCHEMA_VERSION {
        return Err(format!(
            "schema_version {} is newer than this bakeoff's {SCHEMA_VERSION}: read it with the bakeoff that wrote it",
            line.schema_version
        ));
    }
    Ok(line.record)
}

/// Cut a torn last line off results.jsonl, so records appended on resume start on a line
/// of their own.
pub fn cut_torn_tail(path: &Path) -> std::io::Result<()> {
    let text = std::fs::read(path)?;
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    std::fs::OpenOptions::new().write(true).open(path)?.set_len(keep as u64)
}
