//! A mixed-schedule A/B cell's two schedules compared, from one run: each pair was taken by
//! whole generations (`alternate`) or with its decode steps interleaved (`steps`), at
//! random, so both saw the same machine. Per schedule, the per-pair noise (the standard
//! deviation of the pairs' log ratios, what the interval of a verdict shrinks from); and
//! what interleaving steps does to the cost of a step, per side (the same side's figure
//! under `steps` against under `alternate`, with a bootstrap interval).

use crate::metrics::MetricId;
use crate::results::pairs::{Pair, Schedule, Side};
use crate::results::SampleMetrics;
use crate::stats::Change;
use serde::Serialize;

/// The per-sample metrics whose noise and cost are compared.
const COMPARED: [MetricId; 4] =
    [MetricId::DecodeTokensPerS, MetricId::TtftP50Ms, MetricId::ItlP50Ms, MetricId::CpuMsPerToken];

/// A sample's value of a compared metric.
fn value(metric: MetricId, m: &SampleMetrics) -> Option<f64> {
    match metric {
        MetricId::DecodeTokensPerS => m.decode_tokens_per_s,
        MetricId::TtftP50Ms => Some(m.ttft_ms),
        MetricId::ItlP50Ms => crate::stats::median(&m.itl_ms),
        MetricId::CpuMsPerToken => m.usage.cpu_ms_per_token,
        _ => None,
    }
    .filter(|v| v.is_finite() && *v > 0.0)
}

/// One metric's per-pair noise under one schedule.
#[derive(Debug, Clone, Serialize)]
pub struct PairNoise {
    /// The metric.
    pub metric: MetricId,
    /// Standard deviation of the pairs' log ratios (candidate over baseline).
    pub pair_ratio_sd: Option<f64>,
}

/// One schedule's pairs of a mixed cell.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleNoise {
    /// `alternate` or `steps`.
    pub schedule: Schedule,
    /// Its pairs.
    pub pairs: usize,
    /// Per compared metric.
    pub noise: Vec<PairNoise>,
}

/// What interleaving steps does to one side's figure: `steps` against `alternate`.
#[derive(Debug, Clone, Serialize)]
pub struct StepCost {
    /// The side.
    pub side: Side,
    /// The metric.
    pub metric: MetricId,
    /// The change of the side's median (steps over alternate) and its 95% interval.
    pub change: Option<Change>,
}

/// Both schedules of a mixed cell compared.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleComparison {
    /// Per schedule.
    pub schedules: Vec<ScheduleNoise>,
    /// Per side and metric.
    pub step_cost: Vec<StepCost>,
}

/// The comparison, when `pairs` hold pairs of both schedules.
pub fn compare_schedules(pairs: &[Pair]) -> Option<ScheduleComparison> {
    let (steps, alternate): (Vec<&Pair>, Vec<&Pair>) = pairs.iter().partition(|p| p.steps.is_some());
    if steps.is_empty() || alternate.is_empty() {
        return None;
    }
    let noise = |schedule, pairs: &[&Pair]| ScheduleNoise {
        schedule,
        pairs: pairs.len(),
        noise: COMPARED.iter().map(|&metric| PairNoise { metric, pair_ratio_sd: ratio_sd(metric, pairs) }).collect(),
    };
    let mut step_cost = Vec::new();
    for side in Side::BOTH {
        for metric in COMPARED {
            let of = |pairs: &[&Pair]| -> Vec<f64> {
                pairs.iter().filter_map(|p| value(metric, &p.side(side).metrics)).collect()
            };
            let change = crate::stats::bootstrap::bootstrap(&of(&alternate), &of(&steps), crate::stats::median);
            step_cost.push(StepCost { side, metric, change });
        }
    }
    Some(ScheduleComparison {
        schedules: vec![noise(Schedule::Alternate, &alternate), noise(Schedule::Steps, &steps)],
        step_cost,
    })
}

/// The standard deviation of the pairs' log ratios of `metric`.
fn ratio_sd(metric: MetricId, pairs: &[&Pair]) -> Option<f64> {
    let logs: Vec<f64> = pairs
        .iter()
        .filter_map(|p| Some((value(metric, &p.candidate.metrics)? / value(metric, &p.baseline.metrics)?).ln()))
        .collect();
    crate::stats::sample_sd(&logs)
}
