//! The verdicts of an A/B run: every judged metric of every cell from its pairs (see
//! [`super::paired`]), with the interval, the minimum detectable effect and whether the
//! run settled it; and the length rule the runner consults while pairs arrive.

use super::ab_checks::{classify_cache, compare_outputs, AbOutputs, CacheReuse};
use super::qualify::{aspect_of, Aspect, Reason, Severity};
use super::verdict::decided;
use super::verdict::{decide, Change, PerfVerdict};
use crate::metrics::{CellField, Direction, Metric, MetricId, Statistic, METRICS};
use crate::plan::CellKey;
use crate::results::pairs::{block_of, AbCellRecord, AbRound, LengthEnd, Pair, Schedule, Side, ROUNDS_PER_BLOCK};
use crate::results::{CellStatus, SampleMetrics};
use crate::scenario::ab::AbSettings;
use crate::stats::paired::{minimum_detectable_effect, paired_ratio_change, paired_statistic_change};
use serde::Serialize;

/// One metric of one A/B cell.
#[derive(Debug, Clone, Serialize)]
pub struct AbMetric {
    /// Registry name.
    pub metric: MetricId,
    /// Unit.
    pub unit: &'static str,
    /// Which way is better.
    pub direction: Direction,
    /// The baseline side's value (median over pairs, or the statistic, or the single value).
    pub baseline: Option<f64>,
    /// The candidate side's value.
    pub candidate: Option<f64>,
    /// The paired change and its 95% interval (None: single values, or too few pairs).
    pub change: Option<Change>,
    /// How the change was computed: `pair ratios (Hodges-Lehmann)`, `round ratios
    /// (Hodges-Lehmann)` (per-process metrics, one pair a round), `paired resample`,
    /// `extreme (no interval)` or `single value` (a folder recorded before rounds were).
    pub method: &'static str,
    /// The threshold applied (fraction).
    pub threshold: f64,
    /// The verdict.
    pub verdict: PerfVerdict,
    /// The smallest change this run could have flagged (fraction).
    pub minimum_detectable_effect: Option<f64>,
    /// The interval settled the question (beyond the threshold or within it).
    pub decided: bool,
    /// The standard deviation of the pairs' log ratios (per-sample metrics): the per-pair
    /// noise left once drift cancels.
    pub pair_ratio_sd: Option<f64>,
}

impl AbMetric {
    /// Why a metric shown has no interval: a single value, an extreme, or too few pairs or
    /// rounds for one.
    fn why_no_interval(&self) -> &'static str {
        match self.method {
            "pair ratios (Hodges-Lehmann)" | "paired resample" => "too few pairs for an interval",
            "round ratios (Hodges-Lehmann)" => "too few rounds for an interval",
            other => other,
        }
    }

    /// `-3.1% [-4.0%, -2.2%]`, or `+4.0% (single value)`, or `-`.
    pub fn describe(&self) -> String {
        match (&self.change, self.baseline, self.candidate) {
            (Some(c), _, _) => {
                format!("{:+.1}% [{:+.1}%, {:+.1}%]", 100.0 * c.relative, 100.0 * c.ci_low, 100.0 * c.ci_high)
            }
            (None, Some(b), Some(c)) if b > 0.0 => {
                format!("{:+.1}% ({})", 100.0 * (c / b - 1.0), self.why_no_interval())
            }
            _ => "-".into(),
        }
    }
}

/// One A/B cell judged.
#[derive(Debug, Clone, Serialize)]
pub struct AbCell {
    /// The cell.
    pub cell: CellKey,
    /// Completed, failed, skipped or unsupported.
    pub status: CellStatus,
    /// Why it did not complete (the failing side's reason first).
    pub reason: Option<String>,
    /// Pairs judged.
    pub pairs: usize,
    /// Why it stopped adding pairs.
    pub end: Option<LengthEnd>,
    /// How the sides took turns.
    pub schedule: Option<Schedule>,
    /// Every judged metric.
    pub metrics: Vec<AbMetric>,
    /// The sides' outputs against each other, pair by pair.
    pub outputs: Option<AbOutputs>,
    /// The candidate's stack opening the baseline's compile cache (warm cells).
    pub cache: Option<CacheReuse>,
    /// A mixed-schedule cell: both schedules' per-pair noise and what interleaving steps
    /// costs a step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedules: Option<super::schedules::ScheduleComparison>,
}

impl AbCell {
    /// Metrics that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &AbMetric> {
        self.metrics.iter().filter(|m| m.verdict == PerfVerdict::Regressed)
    }

    /// The metric called `name`.
    pub fn metric(&self, id: MetricId) -> Option<&AbMetric> {
        self.metrics.iter().find(|m| m.metric == id)
    }
}

/// Quantiles over samples from which on no interval is given in an A/B run (p99, max).
const EXTREME_QUANTILE: f64 = 0.99;

/// A sample's value of one metric (None: the sample lacks it).
type PairValue = Box<dyn Fn(&SampleMetrics) -> Option<f64>>;

/// What one pair gives a metric judged by pair ratios: the sample's value of a per-sample
/// median metric, or the sample's own quantile of its inter-token latencies. None: the
/// metric is a statistic over samples (judged by a joint resample) or a single value.
fn pair_value(statistic: Statistic) -> Option<PairValue> {
    match statistic {
        Statistic::SampleQuantile { field, q: 0.5 } => Some(Box::new(move |s| field.of(s))),
        Statistic::StepQuantile { q } => Some(Box::new(move |s| s.own_step_quantile(q))),
        _ => None,
    }
}

/// What an A/B cell's metrics are judged from: its pairs (the per-sample metrics) and its
/// rounds (the per-process ones: compiles, memory, first inference), with the cell's outcome
/// record for a folder recorded before rounds were (its first round's single values).
#[derive(Clone, Copy)]
pub struct Evidence<'a> {
    /// The pairs, in order.
    pub pairs: &'a [Pair],
    /// The rounds, in order.
    pub rounds: &'a [AbRound],
    /// The cell's outcome.
    pub outcome: Option<&'a AbCellRecord>,
}

/// Judge one metric. A per-sample metric: each side's figure is the registry's statistic
/// over its samples (for an inter-token latency, the quantile over every step pooled, as in
/// a run's summary: one name, one definition), the change judged from the pairs. A
/// per-process metric: each side's figure is the median over its rounds' processes (a
/// run's cell has one process, whose value it is), the change judged from the rounds'
/// pairs.
pub fn judge_metric(m: &Metric, evidence: Evidence, settings: &AbSettings) -> AbMetric {
    let threshold = settings.threshold_of(m.id);
    let mut out = AbMetric {
        metric: m.id,
        unit: m.unit,
        direction: m.direction,
        baseline: None,
        candidate: None,
        change: None,
        method: "pair ratios (Hodges-Lehmann)",
        threshold,
        verdict: PerfVerdict::InsufficientData,
        minimum_detectable_effect: None,
        decided: false,
        pair_ratio_sd: None,
    };
    let pairs = evidence.pairs;
    let (b, c): (Vec<&SampleMetrics>, Vec<&SampleMetrics>) =
        pairs.iter().map(|p| (&p.baseline.metrics, &p.candidate.metrics)).unzip();
    (out.baseline, out.candidate) = (m.statistic.compute(&b), m.statistic.compute(&c));
    match (m.statistic, pair_value(m.statistic)) {
        (Statistic::Cell { field }, _) if evidence.rounds.is_empty() => {
            out.method = "single value";
            out.baseline = evidence.outcome.and_then(|o| field.of(&o.baseline.figures()));
            out.candidate = evidence.outcome.and_then(|o| field.of(&o.candidate.figures()));
            return out;
        }
        (Statistic::Cell { field }, _) => {
            out.method = "round ratios (Hodges-Lehmann)";
            let side = |side: Side| {
                let values: Vec<f64> = evidence.rounds.iter().filter_map(|r| field.of(r.side(side))).collect();
                crate::stats::median(&values)
            };
            (out.baseline, out.candidate) = (side(Side::Baseline), side(Side::Candidate));
            let (b, c, rounds) = round_values(evidence.rounds, field);
            out.change = paired_ratio_change(&b, &c, &rounds);
            out.pair_ratio_sd = log_ratio_sd(&b, &c);
        }
        (Statistic::SampleQuantile { q, .. }, None) if q >= EXTREME_QUANTILE => {
            // A bootstrap cannot put an interval on a maximum (or a p99 of a few hundred
            // samples, which is one): resamples never exceed the observed extreme, so the
            // interval is too narrow on one side and a verdict would be noise.
            out.method = "extreme (no interval)";
            return out;
        }
        (_, Some(value)) => {
            let (b, c, rounds) = pair_values(pairs, &value);
            out.change = paired_ratio_change(&b, &c, &rounds);
            out.pair_ratio_sd = log_ratio_sd(&b, &c);
        }
        (statistic, None) => {
            out.method = "paired resample";
            let rounds: Vec<usize> = pairs.iter().map(|p| block_of(p.round)).collect();
            out.change = paired_statistic_change(&b, &c, &rounds, |s: &[&SampleMetrics]| statistic.compute(s));
        }
    }
    if let Some(change) = &out.change {
        let lower = m.direction == Direction::Lower;
        out.verdict = decide(change, lower, threshold);
        out.minimum_detectable_effect = Some(minimum_detectable_effect(change, threshold));
        out.decided = decided(change, lower, threshold);
    }
    out
}

/// Each round's two values of a per-process quantity (rounds where a side lacks it or it
/// is not positive are left out), with each round's block (what the bootstrap resamples):
/// one pair a round.
fn round_values(rounds: &[AbRound], field: CellField) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for r in rounds {
        if let (Some(b), Some(c)) = (field.of(&r.baseline), field.of(&r.candidate)) {
            if b > 0.0 && c > 0.0 {
                out.0.push(b);
                out.1.push(c);
                out.2.push(block_of(r.round));
            }
        }
    }
    out
}

/// Each pair's two values of a metric judged by pair ratios (pairs where a side lacks it or
/// is not positive are left out), with each pair's block of rounds (what the bootstrap
/// resamples).
fn pair_values(pairs: &[Pair], value: &PairValue) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for p in pairs {
        if let (Some(b), Some(c)) = (value(&p.baseline.metrics), value(&p.candidate.metrics)) {
            if b > 0.0 && c > 0.0 {
                out.0.push(b);
                out.1.push(c);
                out.2.push(block_of(p.round));
            }
        }
    }
    out
}

fn log_ratio_sd(b: &[f64], c: &[f64]) -> Option<f64> {
    crate::stats::sample_sd(&b.iter().zip(c).map(|(&b, &c)| (c / b).ln()).collect::<Vec<_>>())
}

/// Every judged metric of a cell.
pub fn judge_pairs(evidence: Evidence, settings: &AbSettings) -> Vec<AbMetric> {
    METRICS
        .iter()
        .filter(|m| m.direction != Direction::Neither)
        .map(|m| judge_metric(m, evidence, settings))
        .filter(|m| m.baseline.is_some() || m.candidate.is_some())
        .collect()
}

/// The length rule: the pairs so far span enough blocks of rounds for their interval to
/// include each process's own speed ([`crate::stats::paired::MIN_ROUNDS`] blocks), every
/// block complete (both start orders: a cell never stops on half a block), and decide
/// every metric of `[ab.length] metrics` (a per-process one over the rounds so far).
pub fn length_decided(pairs: &[Pair], rounds: &[AbRound], settings: &AbSettings) -> bool {
    let pair_rounds: std::collections::BTreeSet<usize> = pairs.iter().map(|p| p.round).collect();
    let blocks: std::collections::BTreeSet<usize> = pair_rounds.iter().map(|&r| block_of(r)).collect();
    if blocks.len() < crate::stats::paired::MIN_ROUNDS || pair_rounds.len() % ROUNDS_PER_BLOCK != 0 {
        return false;
    }
    settings.length.metrics.iter().all(|name| {
        let evidence = Evidence { pairs, rounds, outcome: None };
        crate::metrics::metric(name).is_some_and(|m| judge_metric(m, evidence, settings).decided)
    })
}

/// Judge one cell from its outcome, pairs and rounds; `near_tie` is the margin below which
/// outputs that part are a precision flip.
pub fn judge_cell(
    outcome: &AbCellRecord,
    pairs: &[Pair],
    rounds: &[AbRound],
    settings: &AbSettings,
    near_tie: f32,
) -> AbCell {
    let reason = [&outcome.baseline, &outcome.candidate]
        .iter()
        .zip(Side::BOTH)
        .filter(|(r, _)| r.status != CellStatus::Completed)
        .find_map(|(r, side)| r.reason.as_ref().map(|why| format!("{side}: {why}")));
    AbCell {
        cell: outcome.cell.clone(),
        status: outcome.status,
        reason,
        pairs: pairs.len(),
        end: Some(outcome.end),
        schedule: Some(outcome.schedule),
        metrics: judge_pairs(Evidence { pairs, rounds, outcome: Some(outcome) }, settings),
        outputs: compare_outputs(pairs, near_tie),
        cache: outcome.cache_probe.as_ref().map(|p| classify_cache(p, pairs, near_tie)),
        schedules: super::schedules::compare_schedules(pairs),
    }
}

/// The A/B verdict's reasons, FAILs first: a cell that failed; a judged metric that
/// regressed (speed, compile, memory alike: each judged paired, beyond its threshold);
/// outputs that part with a clear margin (a FAIL in the cells `outputs_fail` says, else a
/// WARN), or at a near tie (WARN); a cache the candidate cannot open or opens into other outputs (FAIL), or
/// rebuilds (WARN: a first start after the upgrade pays a cold compile). Improvements and a
/// reused cache are notes.
pub fn verdict_reasons(cells: &[AbCell], outputs_fail: &dyn Fn(&CellKey) -> bool) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for c in cells {
        let mut add =
            |severity, aspect, what: String| reasons.push(Reason { severity, aspect, cell: c.cell.clone(), what });
        if c.status == CellStatus::Failed {
            add(
                Severity::Fail,
                Aspect::Status,
                format!("failed: {}", c.reason.as_deref().unwrap_or("no reason recorded")),
            );
        }
        for m in &c.metrics {
            let what = format!("{} {} (threshold {:.1}%)", m.metric, m.describe(), 100.0 * m.threshold);
            match m.verdict {
                PerfVerdict::Regressed => add(Severity::Fail, aspect_of(m.metric), format!("{what}: regressed")),
                PerfVerdict::Improved => add(Severity::Note, aspect_of(m.metric), format!("{what}: improved")),
                _ => {}
            }
        }
        if let Some(o) = &c.outputs {
            if o.hard_mismatches > 0 {
                let severity = if outputs_fail(&c.cell) { Severity::Fail } else { Severity::Warn };
                add(severity, Aspect::Outputs, o.describe());
            } else if o.near_ties > 0 {
                add(Severity::Warn, Aspect::Outputs, o.describe());
            }
        }
        match &c.cache {
            Some(r @ (CacheReuse::Failing { .. } | CacheReuse::ReusedWrongOutputs { .. })) => {
                add(Severity::Fail, Aspect::Cache, format!("across stacks: {}", r.describe()))
            }
            Some(r @ CacheReuse::Rebuilt { .. }) => {
                add(Severity::Warn, Aspect::Cache, format!("across stacks: {}", r.describe()))
            }
            Some(r @ CacheReuse::Reused { .. }) => {
                add(Severity::Note, Aspect::Cache, format!("across stacks: {}", r.describe()))
            }
            _ => {}
        }
    }
    reasons.sort_by_key(|r| r.severity);
    reasons
}

/// A whole A/B run judged.
#[derive(Debug, Clone, Serialize)]
pub struct AbReport {
    /// The scenario's name.
    pub scenario: String,
    /// The baseline side's label.
    pub baseline: String,
    /// The candidate side's label.
    pub candidate: String,
    /// The threshold applied unless a metric has its own.
    pub threshold: f64,
    /// Loud warnings (the sides measured different machines, ...).
    pub warnings: Vec<String>,
    /// Fingerprint fields that differ between the sides (what the A/B changes).
    pub fingerprint: Vec<crate::fingerprint::FieldDiff>,
    /// Every cell.
    pub cells: Vec<AbCell>,
    /// PASS (no FAIL reason) or FAIL.
    pub pass: bool,
    /// The verdict's reasons, FAILs first, then WARNs, then notes.
    pub reasons: Vec<Reason>,
}

impl AbReport {
    /// Regressed metrics and failed cells, as lines.
    pub fn regressions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.cells {
            for m in c.regressions() {
                out.push(format!("{}: {} {} (threshold {:.1}%)", c.cell, m.metric, m.describe(), 100.0 * m.threshold));
            }
        }
        out
    }

    /// Cells that failed.
    pub fn failures(&self) -> Vec<String> {
        self.cells
            .iter()
            .filter(|c| c.status == CellStatus::Failed)
            .map(|c| format!("{}: failed ({})", c.cell, c.reason.as_deref().unwrap_or("no reason recorded")))
            .collect()
    }

    /// The exit code of the verdict: success on PASS, else its worst FAIL's (outputs: a
    /// correctness failure; a regression; a failed cell: incomplete).
    pub fn exit_code(&self) -> i32 {
        super::qualify::exit_code(&self.reasons)
    }
}
