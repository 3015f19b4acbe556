//! A scenario's `[ab]` table: two sides, `baseline` and `candidate`, run interleaved in one
//! run (`bakeoff ab`). Each side may change the OpenVINO runtime, a model's folder, profile
//! settings and the environment of its cell processes; everything else of the matrix is
//! shared. The rest of the table says how the sides take turns, how a change is judged and
//! how long each cell runs.

use crate::metrics::MetricId;
use crate::profiles::Profile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How the two sides of a pair take turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Whole generations one after the other, the order inside each pair random (seeded).
    Alternate,
    /// Both sides prefill one after the other, then take their decode steps alternately,
    /// one step each, the order inside each step pair random (seeded): the two sides' steps
    /// are tens of milliseconds apart instead of a generation apart, so they see the same
    /// machine speed. The default: on a 2-vCPU VM it cut the per-pair noise of decode
    /// tokens/s from 0.110 to 0.047 (standard deviation of the pairs' log ratios, one
    /// mixed A/A run of 230 pairs).
    #[default]
    Steps,
    /// Each pair taken by `alternate` or by `steps`, at random (seeded): both schedules'
    /// per-pair noise and what interleaving steps costs a step, measured in one run.
    Mixed,
    /// Both at the same moment, each side pinned to a core of its own (duet benchmarking).
    Duet,
}

impl Schedule {
    /// The schedule's name in every output.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Alternate => "alternate",
            Schedule::Steps => "steps",
            Schedule::Mixed => "mixed",
            Schedule::Duet => "duet",
        }
    }
}

/// What the sides' outputs parting with a clear margin (a hard mismatch) makes of the A/B
/// verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputsRule {
    /// A FAIL (an upgrade or a bake that changes greedy outputs is a correctness change).
    #[default]
    Fail,
    /// A WARN: the sides are expected to part (two quantizations, two precisions).
    Warn,
}

/// What one side changes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SideSpec {
    /// A name for reports (`2026.3.1`, `main`).
    pub label: Option<String>,
    /// The libopenvino_c (or its folder, or a venv) this side's cells load.
    pub openvino_lib: Option<PathBuf>,
    /// Model folders by model name, replacing the scenario's (relative to the scenario file).
    pub models: BTreeMap<String, PathBuf>,
    /// Environment variables of this side's cell processes.
    pub env: BTreeMap<String, String>,
    /// Profile overrides for this side, in the profiles file's format (a profile of an
    /// existing name overrides single keys of it).
    pub profiles: BTreeMap<String, Profile>,
}

/// How long each A/B cell runs: pairs are added until every metric of `metrics` is decided
/// (its interval wholly beyond the threshold, or wholly within it), or a cap is reached.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AbLength {
    /// Pairs at least before the rule is consulted.
    pub min_pairs: usize,
    /// Pairs at most.
    pub max_pairs: usize,
    /// Minutes at most per cell (its rounds: the processes' starts and the pairs).
    pub max_minutes: f64,
    /// Pairs per round: both sides' processes are restarted after this many, so that each
    /// process's own speed averages out over the rounds (the rule is consulted at the end
    /// of each block of rounds). Default 5: inside a round the pairs agree closely (a
    /// pair-ratio spread of 1.5% with steps interleaved, against 5% between rounds), so a
    /// verdict's interval narrows with rounds, not with more pairs in each.
    pub pairs_per_round: usize,
    /// The metrics that must be decided.
    pub metrics: Vec<String>,
}

impl Default for AbLength {
    fn default() -> Self {
        AbLength {
            min_pairs: 50,
            max_pairs: 400,
            // Three minutes: replayed from a recorded A/A run on a 2-vCPU VM, a 3% slowdown
            // was flagged in 92% of trials within 3 minutes and 81% within 2.5.
            max_minutes: 3.0,
            pairs_per_round: 5,
            metrics: vec![MetricId::DecodeTokensPerS.name().into(), MetricId::TtftP50Ms.name().into()],
        }
    }
}

/// The `[ab]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbSettings {
    /// steps (the default), alternate, mixed or duet.
    pub schedule: Schedule,
    /// Seed of the order inside each pair.
    pub seed: u64,
    /// The change that counts, as a fraction (0.02 = 2%): a verdict needs the whole 95%
    /// interval of the paired change beyond it.
    pub threshold: f64,
    /// Per-metric thresholds overriding `threshold`.
    pub noise: BTreeMap<String, f64>,
    /// How long each cell runs.
    pub length: AbLength,
    /// What a hard mismatch between the sides' outputs makes of the verdict.
    pub outputs: OutputsRule,
    /// The baseline side.
    pub baseline: SideSpec,
    /// The candidate side.
    pub candidate: SideSpec,
}

/// The default threshold of a paired A/B verdict: 2%. Pairing cancels the machine's drift,
/// so what is left is each pair's own noise, which shrinks with more pairs; 2% is a change
/// worth a release note and within what a 2-vCPU VM resolves in a few minutes.
pub const DEFAULT_THRESHOLD: f64 = 0.02;

impl Default for AbSettings {
    fn default() -> Self {
        AbSettings {
            schedule: Schedule::Steps,
            seed: 0x6162_2d70_6169_7273,
            threshold: DEFAULT_THRESHOLD,
            noise: BTreeMap::new(),
            length: AbLength::default(),
            outputs: OutputsRule::Fail,
            baseline: SideSpec::default(),
            candidate: SideSpec::default(),
        }
    }
}

/// Environment variables a side may not set: the test-only hooks, which a scenario must
/// never turn on (a run measured with them is not a measurement of the stack).
pub const RESERVED_ENV_PREFIX: &str = "BAKEOFF_TEST_";

/// A metric's built-in A/B threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BuiltInNoise {
    /// A multiple of `[ab] threshold`, so that setting the threshold moves it too.
    OfThreshold(f64),
    /// A fixed fraction, whatever the threshold.
    Fixed(f64),
}

/// Metrics whose built-in A/B threshold is not `threshold`. `[ab.noise]` overrides.
///
/// - `decode_tokens_per_s`: half the threshold (1% by default). With decode steps
///   interleaved and rounds in balanced blocks its paired noise is the smallest of any
///   metric (on a 2-vCPU VM a block's log ratio varied by 0.8%, TTFT's by about twice
///   that), so at 1% A/A false alarms stayed near 2% (replayed) while a 3% decode
///   regression was flagged almost always and a 2% one nine times in ten within the default
///   three minutes; at 2% a 3% regression was flagged nine times in ten and a 2% one almost
///   never.
/// - the per-process times (`load_ms`, `compile_ms`, `cold_compile_ms`,
///   `warm_compile_ms`, `first_inference_ms`): five times the threshold (10% by default).
///   Each round gives one value a side, and a cold compile on a 2-vCPU VM varies by 10-20%
///   from one process to the next, so a few rounds' interval can clear 2% by chance: in a
///   real A/A trial of seven blocks, cold compile came out -6.3% [-10.0%, -2.4%]. A compile
///   10% slower is worth a verdict; a few percent is not a release question.
/// - `overhead_share_pct`: 100%, fixed. The harness's own time outside `infer()` (under 1%
///   of a token's time) is a check of bakeoff rather than of either side; a relative change
///   of it (0.42% to 0.45% is +7%) says nothing about the stack, so, as in `compare`, only
///   a doubling counts.
pub const BUILT_IN_NOISE: &[(MetricId, BuiltInNoise)] = &[
    (MetricId::DecodeTokensPerS, BuiltInNoise::OfThreshold(0.5)),
    (MetricId::LoadMs, PER_PROCESS_NOISE),
    (MetricId::CompileMs, PER_PROCESS_NOISE),
    (MetricId::ColdCompileMs, PER_PROCESS_NOISE),
    (MetricId::WarmCompileMs, PER_PROCESS_NOISE),
    (MetricId::FirstInferenceMs, PER_PROCESS_NOISE),
    (MetricId::OverheadSharePct, BuiltInNoise::Fixed(1.0)),
];

/// The built-in threshold of a per-process time (see [`BUILT_IN_NOISE`]).
const PER_PROCESS_NOISE: BuiltInNoise = BuiltInNoise::OfThreshold(5.0);

impl AbSettings {
    /// The threshold of `metric`: `[ab.noise]`, else the built-in one, else `threshold`.
    pub fn threshold_of(&self, metric: MetricId) -> f64 {
        let built_in = || {
            BUILT_IN_NOISE.iter().find(|(id, _)| *id == metric).map(|(_, v)| match *v {
                BuiltInNoise::OfThreshold(k) => k * self.threshold,
                BuiltInNoise::Fixed(f) => f,
            })
        };
        self.noise.get(metric.name()).copied().or_else(built_in).unwrap_or(self.threshold)
    }

    /// Check every field; the message names it and what is allowed.
    pub fn validate(&self, model_names: &[&str]) -> Result<(), String> {
        let fraction = |field: &str, v: f64| {
            if v.is_nan() || !(0.0..=10.0).contains(&v) {
                Err(format!("{field}: must be a fraction from 0 to 10 (0.02 = 2%), got {v}"))
            } else {
                Ok(())
            }
        };
        fraction("ab.threshold", self.threshold)?;
        for (name, v) in &self.noise {
            known_metric("ab.noise", name)?;
            fraction(&format!("ab.noise.{name}"), *v)?;
        }
        let l = &self.length;
        if l.min_pairs < 5 {
            return Err(format!(
                "ab.length.min_pairs: at least 5 (a bootstrap of fewer pairs says nothing), got {}",
                l.min_pairs
            ));
        }
        if l.max_pairs < l.min_pairs || l.max_pairs > MAX_PAIRS {
            return Err(format!(
                "ab.length.max_pairs: from min_pairs ({}) to {MAX_PAIRS}, got {}",
                l.min_pairs, l.max_pairs
            ));
        }
        if l.max_minutes.is_nan() || l.max_minutes <= 0.0 || l.max_minutes > 7.0 * 24.0 * 60.0 {
            return Err(format!(
                "ab.length.max_minutes: more than 0 and at most 10080 (a week), got {}",
                l.max_minutes
            ));
        }
        if l.pairs_per_round == 0 || l.pairs_per_round > l.max_pairs {
            return Err(format!("ab.length.pairs_per_round: from 1 to max_pairs, got {}", l.pairs_per_round));
        }
        if l.metrics.is_empty() {
            return Err("ab.length.metrics: at least one metric decides a cell's length".into());
        }
        for name in &l.metrics {
            known_metric("ab.length.metrics", name)?;
        }
        for (side, spec) in [("baseline", &self.baseline), ("candidate", &self.candidate)] {
            for name in spec.models.keys() {
                if !model_names.contains(&name.as_str()) {
                    return Err(format!(
                        "ab.{side}.models: no model called `{name}` in the scenario; allowed: {}",
                        model_names.join(", ")
                    ));
                }
            }
            if let Some(key) = spec.env.keys().find(|k| k.starts_with(RESERVED_ENV_PREFIX)) {
                return Err(format!(
                    "ab.{side}.env.{key}: {RESERVED_ENV_PREFIX}* variables are the test suite's hooks and never \
                     set by a scenario"
                ));
            }
        }
        Ok(())
    }
}

/// Pairs per cell at most: 100,000 pairs is a day of the smallest model.
pub const MAX_PAIRS: usize = 100_000;

fn known_metric(field: &str, name: &str) -> Result<(), String> {
    match crate::metrics::metric(name) {
        Some(m) if m.direction != crate::metrics::Direction::Neither => Ok(()),
        _ => {
            let names: Vec<&str> = crate::metrics::METRICS
                .iter()
                .filter(|m| m.direction != crate::metrics::Direction::Neither)
                .map(|m| m.name)
                .collect();
            Err(format!("{field}: unknown or unjudged metric `{name}`; allowed: {}", names.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_takes_its_noise_entry_then_the_built_in_then_the_threshold() {
        let mut s = AbSettings::default();
        assert_eq!(s.threshold_of(MetricId::TtftP50Ms), DEFAULT_THRESHOLD);
        assert_eq!(s.threshold_of(MetricId::DecodeTokensPerS), 0.01);
        assert!((s.threshold_of(MetricId::ColdCompileMs) - 0.10).abs() < 1e-12);
        s.threshold = 0.04;
        assert_eq!(s.threshold_of(MetricId::DecodeTokensPerS), 0.02, "half the threshold, moved with it");
        assert!((s.threshold_of(MetricId::ColdCompileMs) - 0.2).abs() < 1e-12);
        assert_eq!(s.threshold_of(MetricId::OverheadSharePct), 1.0, "fixed");
        assert_eq!(s.threshold_of(MetricId::OverheadSharePct), 1.0);
        s.noise.insert("overhead_share_pct".into(), 0.1);
        s.noise.insert("ttft_p50_ms".into(), 0.05);
        assert_eq!(s.threshold_of(MetricId::OverheadSharePct), 0.1);
        assert_eq!(s.threshold_of(MetricId::TtftP50Ms), 0.05);
    }
}
