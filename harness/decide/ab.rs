//! The verdicts of an A/B run: every judged metric of every cell from its pairs (see
//! [`super::paired`]), with the interval, the minimum detectable effect and whether the
//! run settled it; and the length rule the runner consults while pairs arrive.

use super::verdict::decided;
use super::verdict::{decide, Change, PerfVerdict};
use crate::metrics::{Direction, Metric, MetricId, Statistic, METRICS};
use crate::plan::CellKey;
use crate::results::pairs::{AbCellRecord, LengthEnd, Pair, Schedule, Side};
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
    /// How the change was computed: `pair ratios (Hodges-Lehmann)`, `paired resample` or
    /// `single value`.
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
    /// `-3.1% [-4.0%, -2.2%]`, or `+4.0% (single value)`, or `-`.
    pub fn describe(&self) -> String {
        match (&self.change, self.baseline, self.candidate) {
            (Some(c), _, _) => {
                format!("{:+.1}% [{:+.1}%, {:+.1}%]", 100.0 * c.relative, 100.0 * c.ci_low, 100.0 * c.ci_high)
            }
            (None, Some(b), Some(c)) if b > 0.0 => format!("{:+.1}% ({})", 100.0 * (c / b - 1.0), self.method),
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

/// Judge one metric over `pairs` (`outcome`: the cell's record, for single values). Each
/// side's figure is the registry's statistic over its samples (for an inter-token latency,
/// the quantile over every step pooled, as in a run's summary): one name, one definition.
/// The change is judged from the pairs.
pub fn judge_metric(m: &Metric, pairs: &[Pair], outcome: Option<&AbCellRecord>, settings: &AbSettings) -> AbMetric {
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
    let (b, c): (Vec<&SampleMetrics>, Vec<&SampleMetrics>) =
        pairs.iter().map(|p| (&p.baseline.metrics, &p.candidate.metrics)).unzip();
    (out.baseline, out.candidate) = (m.statistic.compute(&b), m.statistic.compute(&c));
    match (m.statistic, pair_value(m.statistic)) {
        (Statistic::Cell { field }, _) => {
            out.method = "single value";
            out.baseline = outcome.and_then(|o| field.of(&o.baseline));
            out.candidate = outcome.and_then(|o| field.of(&o.candidate));
            return out;
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
            let rounds: Vec<usize> = pairs.iter().map(|p| p.round).collect();
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

/// Each pair's two values of a metric judged by pair ratios (pairs where a side lacks it or
/// is not positive are left out), with each pair's round.
fn pair_values(pairs: &[Pair], value: &PairValue) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for p in pairs {
        if let (Some(b), Some(c)) = (value(&p.baseline.metrics), value(&p.candidate.metrics)) {
            if b > 0.0 && c > 0.0 {
                out.0.push(b);
                out.1.push(c);
                out.2.push(p.round);
            }
        }
    }
    out
}

fn log_ratio_sd(b: &[f64], c: &[f64]) -> Option<f64> {
    crate::stats::sample_sd(&b.iter().zip(c).map(|(&b, &c)| (c / b).ln()).collect::<Vec<_>>())
}

/// Every judged metric of a cell's pairs.
pub fn judge_pairs(pairs: &[Pair], outcome: Option<&AbCellRecord>, settings: &AbSettings) -> Vec<AbMetric> {
    METRICS
        .iter()
        .filter(|m| m.direction != Direction::Neither)
        .map(|m| judge_metric(m, pairs, outcome, settings))
        .filter(|m| m.baseline.is_some() || m.candidate.is_some())
        .collect()
}

/// The length rule: the pairs so far span enough rounds for their interval to include
/// each process's own speed ([`crate::stats::paired::MIN_ROUNDS`]), and decide every metric of
/// `[ab.length] metrics`.
pub fn length_decided(pairs: &[Pair], settings: &AbSettings) -> bool {
    let rounds: std::collections::BTreeSet<usize> = pairs.iter().map(|p| p.round).collect();
    if rounds.len() < crate::stats::paired::MIN_ROUNDS {
        return false;
    }
    settings
        .length
        .metrics
        .iter()
        .all(|name| crate::metrics::metric(name).is_some_and(|m| judge_metric(m, pairs, None, settings).decided))
}

/// Judge one cell from its outcome and pairs.
pub fn judge_cell(outcome: &AbCellRecord, pairs: &[Pair], settings: &AbSettings) -> AbCell {
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
        metrics: judge_pairs(pairs, Some(outcome), settings),
    }
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

    /// The exit code: a regression, else an incomplete run, else success.
    pub fn exit_code(&self) -> i32 {
        let regression = (!self.regressions().is_empty()).then_some(crate::exit::REGRESSION);
        let incomplete = (!self.failures().is_empty()).then_some(crate::exit::INCOMPLETE);
        crate::exit::worst(regression.into_iter().chain(incomplete))
    }
}
