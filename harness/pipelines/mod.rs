//! The two ways of running an LLM that bakeoff compares. Both are
//! greedy, batch 1, stop at the model's eos ids or at max_new_tokens, and produce the same
//! [`Transcript`] through the same [`Observer`], so metrics, goldens and filtering never
//! care which pipeline ran.

pub mod argmax;
pub mod kvcache;
pub mod load;
pub mod static128;
pub mod window;

use crate::pipeline_kind::PipelineKind;
use crate::runtime::InferRequest;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

pub use argmax::{top2, Top2};

/// Settings of one generation.
#[derive(Debug, Clone)]
pub struct GenerationConfig {
    /// Stop after this many new tokens.
    pub max_new_tokens: usize,
    /// Ids that end generation (the eos token is kept in the output).
    pub eos_ids: Vec<i64>,
    /// Generate max_new_tokens even past an eos id.
    pub ignore_eos: bool,
}

impl GenerationConfig {
    fn stops_at(&self, id: i64) -> bool {
        !self.ignore_eos && self.eos_ids.contains(&id)
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// An eos id was produced.
    Eos,
    /// max_new_tokens reached.
    MaxNewTokens,
    /// static128: the context filled the window and truncation was not chosen.
    WindowFull,
    /// kvcache on NPU: the KV cache NPUW allocates (MAX_PROMPT_LEN + MIN_RESPONSE_LEN, each
    /// rounded up to 64) is full.
    KvFull,
}

/// One generated token with its timings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Step {
    /// The token id chosen (argmax).
    pub id: i64,
    /// Top-1 minus top-2 logit at this step: small means a near tie.
    pub margin: f32,
    /// Wall time of the step from the previous token (or from the start, for the first).
    pub step_ms: f64,
    /// Of which inside `infer()`.
    pub infer_ms: f64,
}

/// The record of one generation: the same shape for both pipelines.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    /// The prompt's token ids.
    pub prompt_ids: Vec<i64>,
    /// Generated ids, eos included when it ended the generation.
    pub output_ids: Vec<i64>,
    /// Per-token record (same length as output_ids).
    pub steps: Vec<Step>,
    /// Why generation ended.
    pub stop_reason: StopReason,
    /// static128 only: older tokens were dropped from the window at some step.
    pub truncated: bool,
}

impl Transcript {
    /// Time to first token (prefill, or the first full window), ms.
    pub fn ttft_ms(&self) -> Option<f64> {
        self.steps.first().map(|s| s.step_ms)
    }

    /// Inter-token latencies (every step after the first), ms.
    pub fn itl_ms(&self) -> Vec<f64> {
        self.steps.iter().skip(1).map(|s| s.step_ms).collect()
    }

    /// Total generation time, ms.
    pub fn e2e_ms(&self) -> f64 {
        self.steps.iter().map(|s| s.step_ms).sum()
    }

    /// Tokens per second over the decode steps (after the first token).
    pub fn decode_tokens_per_s(&self) -> Option<f64> {
        let itl = self.itl_ms();
        let total: f64 = itl.iter().sum();
        (total > 0.0).then(|| itl.len() as f64 * 1000.0 / total)
    }

    /// Time spent outside `infer()` per token, ms: the harness's own overhead.
    pub fn overhead_ms_per_token(&self) -> Option<f64> {
        crate::stats::mean(self.steps.iter().map(|s| s.step_ms - s.infer_ms))
    }
}

/// Receives every token as it is produced (streaming display, progress, fault hooks).
pub trait Observer {
    /// Called once per generated token, in order.
    fn on_token(&mut self, _index: usize, _step: &Step) {}

    /// Called after token `index` when another step follows, before that step starts; the
    /// time spent here is returned and no step counts it. An A/B side whose decode steps
    /// alternate with the other side's waits here for its turn.
    fn before_next_step(&mut self, _index: usize) -> Duration {
        Duration::ZERO
    }
}

/// An observer that does nothing.
pub struct NoObserver;
impl Observer for NoObserver {}

/// Errors of a generation.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// An OpenVINO call failed.
    #[error(transparent)]
    Ov(#[from] crate::runtime::OvError),
    /// The prompt cannot be run as asked (too long for the window, empty, ...).
    #[error("{0}")]
    Unsupported(String),
    /// The model does not look like what the pipeline needs.
    #[error("{0}")]
    Model(String),
}

impl GenerateError {
    /// Whether the prompt cannot be run as asked: bakeoff's own refusal (over the static
    /// window, empty), or NPUW refusing a prompt longer than NPUW_LLM_MAX_PROMPT_LEN at infer
    /// time, which it reports as a plugin error. A limit of the configuration, not a fault.
    pub fn is_unsupported(&self) -> bool {
        let text = self.to_string();
        matches!(self, GenerateError::Unsupported(_))
            || text.contains("MAX_PROMPT_LEN")
            || text.contains("max prompt")
            || text.contains("prompt length")
    }
}

/// A pipeline ready to generate (its model compiled).
pub trait Pipeline {
    /// Which pipeline this is.
    fn kind(&self) -> PipelineKind;
    /// Generate greedily from `prompt_ids`.
    fn generate(
        &mut self,
        prompt_ids: &[i64],
        config: &GenerationConfig,
        observer: &mut dyn Observer,
    ) -> Result<Transcript, GenerateError>;

    /// One turn of a conversation: `history` is the whole conversation rendered (earlier
    /// turns, their answers, the new turn). A pipeline that keeps state between turns
    /// feeds only what its state lacks; by default every turn is generated anew from the
    /// whole history (the recompute baseline).
    fn generate_turn(
        &mut self,
        history: &[i64],
        config: &GenerationConfig,
        observer: &mut dyn Observer,
    ) -> Result<Turn, GenerateError> {
        self.recompute_turn(history, config, observer)
    }

    /// One turn generated anew from the whole history, whatever the pipeline keeps.
    fn recompute_turn(
        &mut self,
        history: &[i64],
        config: &GenerationConfig,
        observer: &mut dyn Observer,
    ) -> Result<Turn, GenerateError> {
        let transcript = self.generate(history, config, observer)?;
        Ok(Turn { prefilled: history.len(), transcript })
    }

    /// The conversation is over: drop any state kept for its next turn.
    fn end_conversation(&mut self) {}
}

/// One turn of a conversation, generated.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The turn's transcript (its prompt is the whole history).
    pub transcript: Transcript,
    /// Tokens this turn's prefill fed: the whole history when nothing was kept, the new
    /// turn's tokens when the KV state was.
    pub prefilled: usize,
}

/// Tensor names of the LLM IRs both pipelines run.
pub(crate) mod names {
    use std::ffi::CStr;
    pub(crate) const INPUT_IDS: &CStr = c"input_ids";
    pub(crate) const ATTENTION_MASK: &CStr = c"attention_mask";
    pub(crate) const POSITION_IDS: &CStr = c"position_ids";
    pub(crate) const BEAM_IDX: &CStr = c"beam_idx";
    pub(crate) const LOGITS: &CStr = c"logits";
}

/// Argmax and margin of one row of the request's logits after an infer (`None`: the last
/// row), read in place: one row, never a copy of the `[1, rows, vocab]` tensor. Asked of
/// the request every step rather than bound to a tensor of ours once: NPUW's LLM request
/// ignores a user-bound logits tensor (checked: it stays stale and decode repeats one id).
pub(crate) fn logits_top2(request: &InferRequest, row: Option<usize>) -> Result<Top2, GenerateError> {
    let logits = request.tensor(names::LOGITS)?;
    let (rows, vocab) = match logits.shape()?.as_slice() {
        [1, rows, vocab] if *rows > 0 && *vocab > 0 => (*rows as usize, *vocab as usize),
        other => return Err(GenerateError::Model(format!("logits have shape {other:?}, expected [1, rows, vocab]"))),
    };
    // An IR sliced to the last position at bake time returns one row whatever is asked.
    let row = if rows == 1 { 0 } else { row.unwrap_or(rows - 1) };
    let data: &[f32] = logits.data()?;
    Ok(top2(&data[row * vocab..(row + 1) * vocab]))
}

/// Environment variable of the test-only slowdown: `PCT` or `PCT@MATCH` (MATCH a substring
/// of the cell key, as for the fault hook). At the end of every measured step (prefill or
/// decode) the process busy-waits PCT percent of that step's own wall time, counted as
/// inference, so every step, TTFT included, takes exactly 1 + PCT/100 times as long and
/// decode tokens/s falls by exactly 1 - 1/(1 + PCT/100) on any CPU, however fast: the same
/// change `bakeoff power` injects by multiplying recorded timings, so real and replayed
/// trials test one thing. Only tests and `tools/` set it; a run made with it says so in its
/// fingerprint.
pub const SLOWDOWN_ENV: &str = "BAKEOFF_TEST_SLOWDOWN";

/// The injected slowdown, as a fraction of each step's wall time, in millionths (0: none).
static SLOWDOWN_PPM: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Parse a [`SLOWDOWN_ENV`] value: the fraction to add (3.0 for `300`) and the optional
/// cell-key pattern.
pub fn parse_slowdown(value: &str) -> Result<(f64, Option<&str>), SlowdownError> {
    let (pct, pattern) = match value.split_once('@') {
        Some((pct, pattern)) => (pct, Some(pattern)),
        None => (value, None),
    };
    match pct.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..=10_000.0).contains(&p) => Ok((p / 100.0, pattern)),
        _ => Err(SlowdownError(value.to_string())),
    }
}

/// A [`SLOWDOWN_ENV`] value that does not read as `PCT` or `PCT@MATCH`.
#[derive(Debug, thiserror::Error)]
#[error("BAKEOFF_TEST_SLOWDOWN={0}: expected PCT or PCT@MATCH, PCT a number from 0 to 10000")]
pub struct SlowdownError(pub String);

/// Turn the test-only slowdown on for this process (`fraction` of each step's wall time).
pub fn inject_slowdown(fraction: f64) {
    SLOWDOWN_PPM.store((fraction * 1e6).round() as u64, std::sync::atomic::Ordering::Relaxed);
}

/// Apply [`SLOWDOWN_ENV`] to this process if it is set and its pattern (if any) is part of
/// `key` (a cell key, `pipeline/device/profile/cache`). An unreadable value is an error, so
/// a test with a typo fails instead of measuring no slowdown.
pub fn apply_slowdown_env(key: &str) -> Result<(), SlowdownError> {
    let Ok(value) = std::env::var(SLOWDOWN_ENV) else { return Ok(()) };
    let (fraction, pattern) = parse_slowdown(&value)?;
    if pattern.map_or(true, |p| key.contains(p)) {
        inject_slowdown(fraction);
    }
    Ok(())
}

/// Busy-wait for `d`. Not a sleep: a sleep of a fraction of a millisecond oversleeps by the
/// kernel's timer slack and wake-up latency (50-100 µs, a third of a 3% slowdown of a 20 ms
/// step), and a sleeping thread lets the plugin's worker threads park, so a 3% sleep slowed
/// decode by about 6% (measured); spinning adds what it is asked to, as slower kernels would.
fn spin_for(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Times one step: wall time since the previous token and time inside infer.
pub(crate) struct StepClock {
    last: Instant,
    infer: Duration,
}

impl StepClock {
    pub(crate) fn start() -> StepClock {
        StepClock { last: Instant::now(), infer: Duration::ZERO }
    }

    /// Run `f` (an infer call), counting its time as inference.
    pub(crate) fn infer<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.infer += t.elapsed();
        out
    }

    /// Leave `waited` (time spent waiting between steps) out of the next step's wall time.
    pub(crate) fn exclude(&mut self, waited: Duration) {
        self.last += waited;
    }

    /// Close the step producing `id`; the next step starts now.
    pub(crate) fn finish(&mut self, id: i64, margin: f32) -> Step {
        let ppm = SLOWDOWN_PPM.load(std::sync::atomic::Ordering::Relaxed);
        if ppm > 0 {
            let t = Instant::now();
            spin_for((t - self.last).mul_f64(ppm as f64 / 1e6));
            self.infer += t.elapsed();
        }
        let now = Instant::now();
        let step = Step {
            id,
            margin,
            step_ms: (now - self.last).as_secs_f64() * 1e3,
            infer_ms: self.infer.as_secs_f64() * 1e3,
        };
        self.last = now;
        self.infer = Duration::ZERO;
        step
    }
}

/// Shared bookkeeping of the greedy loop: record a token, decide whether to go on.
pub(crate) struct Greedy<'a> {
    pub(crate) config: &'a GenerationConfig,
    pub(crate) observer: &'a mut dyn Observer,
    pub(crate) steps: Vec<Step>,
}

impl<'a> Greedy<'a> {
    pub(crate) fn new(config: &'a GenerationConfig, observer: &'a mut dyn Observer) -> Self {
        // Sized for a typical generation, never by max_new_tokens alone: a huge bound must
        // not allocate up front.
        Greedy { config, observer, steps: Vec::with_capacity(config.max_new_tokens.min(4096)) }
    }

    /// Close the clock's step producing `(id, margin)` and record it; returns the stop
    /// reason if generation ends with it. When it goes on, the observer may hold the next
    /// step back (its wait is left out of that step's time).
    pub(crate) fn push(&mut self, clock: &mut StepClock, id: i64, margin: f32) -> Option<StopReason> {
        let step = clock.finish(id, margin);
        let index = self.steps.len();
        self.observer.on_token(index, &step);
        self.steps.push(step);
        let stop = if self.config.stops_at(step.id) {
            Some(StopReason::Eos)
        } else if self.steps.len() >= self.config.max_new_tokens {
            Some(StopReason::MaxNewTokens)
        } else {
            None
        };
        if stop.is_none() {
            clock.exclude(self.observer.before_next_step(index));
        }
        stop
    }

    pub(crate) fn into_transcript(self, prompt_ids: &[i64], stop: StopReason, truncated: bool) -> Transcript {
        Transcript {
            prompt_ids: prompt_ids.to_vec(),
            output_ids: self.steps.iter().map(|s| s.id).collect(),
            steps: self.steps,
            stop_reason: stop,
            truncated,
        }
    }
}
