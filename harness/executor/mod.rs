//! Executing cells. The scheduler ([`schedule`]) walks the plan and hands each cell to an
//! [`Executor`]: the real one runs it in a child process of its own (`bakeoff cell`) with
//! the timeouts enforced, so a plugin crash or a compile hang is a failed cell with a
//! classified reason and the run goes on; the mock one lets the scheduler be tested
//! without a model.

pub mod cache_probe;
pub mod child;
pub mod mock;
pub mod paired;
pub mod process;
pub mod schedule;

use crate::pipelines::static128::WindowOptions;
use crate::pipelines::{Step, StopReason, Transcript};
use crate::plan::CellKey;
use crate::profiles::ResolvedProfile;
use crate::results::{CellRecord, FailureClass, SampleRecord};
use crate::scenario::{CacheMode, Limits, Measure, Timeouts};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A prompt ready for a cell: its id and token ids.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellPrompt {
    /// Prompt id.
    pub id: String,
    /// Token ids (a conversation's: its first turn's, rendered).
    pub ids: Vec<i64>,
    /// A conversation: the cell renders each turn itself, since each one's history holds
    /// the answers it generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<CellConversation>,
}

/// A conversation as a cell runs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellConversation {
    /// The system message, if any.
    pub system: Option<String>,
    /// The user turns, in order.
    pub turns: Vec<String>,
    /// Qwen3's thinking switch (None: the template's default).
    pub enable_thinking: Option<bool>,
}

/// Everything a cell's process needs, passed as JSON on its stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellSpec {
    /// The cell.
    pub key: CellKey,
    /// The model folder.
    pub model_dir: PathBuf,
    /// The properties to compile with.
    pub properties: ResolvedProfile,
    /// The prompts, tokenized.
    pub prompts: Vec<CellPrompt>,
    /// New tokens at most.
    pub max_new_tokens: usize,
    /// Generate past eos.
    pub ignore_eos: bool,
    /// The model's eos ids.
    pub eos_ids: Vec<i64>,
    /// static128 window options.
    pub window: WindowOptions,
    /// Warm-up and repetitions.
    pub measure: Measure,
    /// Timeouts (enforced by the parent).
    pub timeouts: Timeouts,
    /// Resource limits (set on the child before it starts).
    #[serde(default)]
    pub limits: Limits,
    /// The CACHE_DIR of this cell, and whether to prime it before the measured compile.
    pub cache_dir: Option<PathBuf>,
    /// Warm cells compile once before the measured compile.
    pub cache_mode: CacheMode,
    /// The OpenVINO library the run uses.
    pub openvino_lib: Option<PathBuf>,
    /// genai cells: the properties as openvino-genai takes them (see
    /// [`crate::profiles::keys::genai_config`]), CACHE_DIR included; empty otherwise.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub genai_config: serde_json::Map<String, serde_json::Value>,
    /// How conversations run (each in every mode listed).
    #[serde(default = "keep_history")]
    pub history: Vec<crate::scenario::HistoryMode>,
    /// A driven cell (one side of an A/B pair): after compiling and its warm-ups it says
    /// [`ChildEvent::Ready`] and then runs one generation per [`DriveCommand`] line on its
    /// stdin, until stdin closes, instead of its own repetitions.
    #[serde(default)]
    pub driven: bool,
}

fn keep_history() -> Vec<crate::scenario::HistoryMode> {
    vec![crate::scenario::HistoryMode::Keep]
}

/// One command to a driven cell: generate prompt `prompt` (an index into the spec's
/// prompts) as measured sample `pair`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct DriveCommand {
    /// Index of the prompt in the spec.
    pub prompt: usize,
    /// The pair this generation belongs to (its sample's `rep`).
    pub pair: usize,
    /// Take the decode steps one at a time: after each token that another follows, say
    /// [`ChildEvent::Stepped`] and wait for a [`StepCommand`] line (the first token, the
    /// prefill, runs at once). The waits count in no step's time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stepped: bool,
}

/// The go-ahead for one decode step of a stepped generation: produce token `step`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct StepCommand {
    /// The index of the token to produce (1 for the first decode step).
    pub step: usize,
}

/// One generation of a worker that reports when each token arrived rather than a
/// transcript (openvino-genai's): bakeoff derives the sample from these times with the same
/// formulas as its own pipelines' ([`TimedSample::into_record`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimedSample {
    /// Prompt id.
    pub prompt_id: String,
    /// Repetition number (warm-ups count from 0 too).
    pub rep: usize,
    /// A warm-up generation.
    pub warmup: bool,
    /// Prompt length, tokens.
    pub prompt_tokens: usize,
    /// The generated ids.
    pub output_ids: Vec<i64>,
    /// Milliseconds from the start of the generation to each streamed token, in order.
    pub token_ms: Vec<f64>,
    /// Milliseconds from the start to generate()'s return: the time of any generated token
    /// the streamer was not given (GenAI does not stream an eos it stops at).
    pub end_ms: f64,
    /// Why generation ended.
    pub stop_reason: StopReason,
    /// The worker process's CPU time at the first token and at the end, ms from the start.
    pub cpu_ms: Option<(f64, f64)>,
    /// The worker's own figures.
    #[serde(default)]
    pub genai_perf_metrics: std::collections::BTreeMap<String, f64>,
}

impl TimedSample {
    /// The sample of `cell` these times make: each token's step is the time since the one
    /// before (the first's is the TTFT), all of it inference (the worker cannot split its
    /// own overhead out); no margins (GenAI returns no logits).
    pub fn into_record(self, cell: &CellKey) -> SampleRecord {
        let TimedSample {
            prompt_id,
            rep,
            warmup,
            prompt_tokens,
            output_ids,
            mut token_ms,
            end_ms,
            stop_reason,
            cpu_ms,
            genai_perf_metrics,
        } = self;
        token_ms.resize(output_ids.len(), end_ms);
        let mut previous = 0.0;
        let steps = output_ids
            .iter()
            .zip(&token_ms)
            .map(|(&id, &at)| {
                let step_ms = (at - previous).max(0.0);
                previous = at;
                Step { id, margin: 0.0, step_ms, infer_ms: step_ms }
            })
            .collect();
        let decode_steps = output_ids.len().saturating_sub(1);
        let t = Transcript { prompt_ids: vec![0; prompt_tokens], output_ids, steps, stop_reason, truncated: false };
        let mut record = SampleRecord::from_transcript(cell, &prompt_id, rep, warmup, &t);
        record.metrics.margins.clear();
        if let Some((first, end)) = cpu_ms {
            record.metrics.usage.prefill_cpu_ms = Some(first);
            record.metrics.usage.cpu_ms_per_token = (decode_steps > 0).then(|| (end - first) / decode_steps as f64);
        }
        record.metrics.genai_perf_metrics = genai_perf_metrics;
        record
    }
}

/// What a cell's process reports on stdout, one JSON line each.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChildEvent {
    /// The model is compiled; generation starts.
    Compiled {
        /// read_model, ms.
        load_ms: f64,
        /// compile_model, ms.
        compile_ms: f64,
        /// A warm cell's priming compile, ms, when it did not come from the cache.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cold_compile_ms: Option<f64>,
        /// The process's peak resident memory up to the end of the compile phase
        /// (read_model and every compile), MiB.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compile_peak_rss_mb: Option<f64>,
        /// LOADED_FROM_CACHE.
        from_cache: Option<bool>,
        /// EXECUTION_DEVICES.
        execution_devices: Option<String>,
        /// NPU cells: the plugin's memory figures once compiled.
        #[serde(default)]
        npu_memory: Option<crate::telemetry::NpuMemory>,
        /// Every setting the compiled model reports (none from the genai worker).
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        effective_properties: std::collections::BTreeMap<String, String>,
    },
    /// The last generation is over: the NPU's memory now (NPU cells).
    NpuMemory(crate::telemetry::NpuMemory),
    /// The last generation is over: the process's peak resident memory since the compile
    /// phase ended (warm-ups and generations), MiB; None where the kernel could not reset
    /// the high-water mark after the compile.
    SteadyMemory {
        /// The peak, MiB.
        peak_rss_mb: Option<f64>,
    },
    /// One generation finished.
    Sample(Box<SampleRecord>),
    /// One generation of a timing-only worker (genai) finished.
    TimedSample(Box<TimedSample>),
    /// The cell failed; the process exits after this.
    Failed {
        /// Classification.
        class: FailureClass,
        /// The message (OpenVINO's own where it has one).
        message: String,
    },
    /// One prompt cannot run as asked (over the window or MAX_PROMPT_LEN): the cell goes
    /// on with its other prompts and never retries this one.
    Refused(crate::results::RefusedPrompt),
    /// The cell cannot run as asked: every prompt was refused, or a driven cell's was.
    Unsupported {
        /// Why, in the plugin's words where it has them.
        message: String,
    },
    /// A driven cell compiled and ran its warm-ups: it waits for commands.
    Ready,
    /// A stepped generation produced token `index` and waits for the [`StepCommand`] of the
    /// next.
    Stepped {
        /// The token just produced (0: the prefill's).
        index: usize,
    },
}

/// Runs one cell, reporting each sample as soon as it exists.
pub trait Executor {
    /// Run `spec`; call `on_sample` for every sample (the scheduler records it at once)
    /// and return the cell's outcome. Never panics on a cell failure: it classifies it.
    fn run(&mut self, spec: &CellSpec, on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>) -> CellRecord;
}
