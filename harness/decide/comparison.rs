//! Comparing two run folders cell by cell: for every registry metric, the change of its
//! statistic with a bootstrap interval and a verdict (see [`super::verdict`]); cells matched
//! by key (an `NPU:host` cell never matches an `NPU` one: the device label is in the key).

use super::verdict::{decide, Change, PerfVerdict};
use crate::fingerprint::{differences, host_warning, is_host_field, FieldDiff};
use crate::plan::CellKey;
use crate::results::folder::RunFolder;
use crate::results::metrics::{Direction, Metric, MetricId, Statistic, METRICS};
use crate::results::{Attempt, CellStatus, SampleMetrics};
use crate::stats::bootstrap::bootstrap;
use serde::Serialize;
use std::collections::BTreeMap;

/// One metric of one cell compared.
#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    /// Registry name.
    pub metric: MetricId,
    /// Unit.
    pub unit: &'static str,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// The candidate's value.
    pub candidate: Option<f64>,
    /// The relative change and its interval (None: fewer than 3 samples a side, or a single
    /// value per cell).
    pub change: Option<Change>,
    /// The noise threshold applied (fraction).
    pub threshold: f64,
    /// The verdict.
    pub verdict: PerfVerdict,
    /// The smallest change these two runs could have flagged (threshold plus half the
    /// interval's width; see [`crate::stats::paired::minimum_detectable_effect`]).
    pub minimum_detectable_effect: Option<f64>,
}

impl MetricComparison {
    /// The relative change of single values (compile time, memory), when both exist: no
    /// interval, so never a verdict, but qualify reports it against the threshold.
    pub fn single_value_change(&self) -> Option<f64> {
        match (self.baseline, self.candidate) {
            (Some(b), Some(c)) if self.change.is_none() && b > 0.0 => Some(c / b - 1.0),
            _ => None,
        }
    }
}

/// One cell in both runs.
#[derive(Debug, Clone, Serialize)]
pub struct CellComparison {
    /// The cell.
    pub cell: CellKey,
    /// Its status in the baseline.
    pub baseline_status: CellStatus,
    /// Its status in the candidate.
    pub candidate_status: CellStatus,
    /// The candidate's failure or skip reason.
    pub candidate_reason: Option<String>,
    /// Every judged metric.
    pub metrics: Vec<MetricComparison>,
    /// Settings the two compiled models report differently: a plugin default that moved
    /// between releases shows here (empty when either run did not read them back).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effective_properties: Vec<crate::profiles::effective::EffectiveDifference>,
}

impl CellComparison {
    /// The cell completed before and does not now.
    pub fn status_regressed(&self) -> bool {
        self.baseline_status == CellStatus::Completed && self.candidate_status != CellStatus::Completed
    }

    /// Metrics that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics.iter().filter(|m| m.verdict == PerfVerdict::Regressed)
    }
}

/// Two runs compared.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The baseline folder.
    pub baseline: String,
    /// The candidate folder.
    pub candidate: String,
    /// Fingerprint fields that differ.
    pub fingerprint: Vec<FieldDiff>,
    /// Loud warnings: the two runs differ in what matters.
    pub warnings: Vec<String>,
    /// Cells in both.
    pub cells: Vec<CellComparison>,
    /// Cells only the baseline has.
    pub only_in_baseline: Vec<CellKey>,
    /// Cells only the candidate has.
    pub only_in_candidate: Vec<CellKey>,
}

impl Comparison {
    /// Metric regressions and cells that stopped completing, as lines.
    pub fn regressions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.cells {
            if c.status_regressed() {
                out.push(format!(
                    "{}: completed in the baseline, {} now ({})",
                    c.cell,
                    c.candidate_status.name(),
                    c.candidate_reason.as_deref().unwrap_or("no reason recorded")
                ));
            }
            for m in c.regressions() {
                out.push(format!("{}: {} {}", c.cell, m.metric, describe(m)));
            }
        }
        out
    }
}

/// `+12.3% [+8.1%, +16.0%]` or `+12.3% (single value)`.
pub fn describe(m: &MetricComparison) -> String {
    match (&m.change, m.single_value_change()) {
        (Some(c), _) => format!("{:+.1}% [{:+.1}%, {:+.1}%]", 100.0 * c.relative, 100.0 * c.ci_low, 100.0 * c.ci_high),
        (None, Some(r)) => format!("{:+.1}% (single value)", 100.0 * r),
        _ => "-".into(),
    }
}

/// The noise threshold of a metric: the candidate scenario's `[compare] noise`, else the
/// registry's default.
fn threshold(metric: &Metric, overrides: &BTreeMap<String, f64>) -> f64 {
    overrides.get(metric.name).copied().unwrap_or(metric.noise)
}

fn measured<'a>(a: &Attempt<'a>) -> Vec<&'a SampleMetrics> {
    a.samples.iter().filter(|s| !s.warmup).map(|s| &s.metrics).collect()
}

/// Compare every judged metric of one cell.
pub fn compare_cell(base: &Attempt, cand: &Attempt, overrides: &BTreeMap<String, f64>) -> CellComparison {
    let (bs, cs) = (measured(base), measured(cand));
    let metrics = METRICS
        .iter()
        .filter(|m| m.direction != Direction::Neither)
        .map(|m| {
            let threshold = threshold(m, overrides);
            let (baseline, candidate, change) = match m.statistic {
                Statistic::Cell { field } => (field.of(&base.cell.figures()), field.of(&cand.cell.figures()), None),
                stat => {
                    let change = bootstrap(&bs, &cs, |s: &[&SampleMetrics]| stat.compute(s));
                    (stat.compute(&bs), stat.compute(&cs), change)
                }
            };
            let verdict = change
                .as_ref()
                .map_or(PerfVerdict::InsufficientData, |c| decide(c, m.direction == Direction::Lower, threshold));
            let minimum_detectable_effect =
                change.as_ref().map(|c| crate::stats::paired::minimum_detectable_effect(c, threshold));
            MetricComparison {
                metric: m.id,
                unit: m.unit,
                baseline,
                candidate,
                change,
                threshold,
                verdict,
                minimum_detectable_effect,
            }
        })
        .collect();
    CellComparison {
        cell: cand.cell.cell.clone(),
        baseline_status: base.cell.status,
        candidate_status: cand.cell.status,
        candidate_reason: cand.cell.reason.clone(),
        metrics,
        effective_properties: crate::profiles::effective::differences(
            &base.cell.effective_properties,
            &cand.cell.effective_properties,
        ),
    }
}

/// Compare two run folders. Refuses runs of different scenarios (by name): their cells
/// would not mean the same thing.
pub fn compare_runs(baseline: &RunFolder, candidate: &RunFolder) -> Result<Comparison, super::DecisionError> {
    if baseline.scenario.name != candidate.scenario.name {
        return Err(super::DecisionError::OtherScenario {
            candidate_file: candidate.dir.join(crate::results::folder::file::SCENARIO).display().to_string(),
            candidate: candidate.scenario.name.clone(),
            baseline: baseline.scenario.name.clone(),
            baseline_dir: baseline.dir.display().to_string(),
        });
    }
    let overrides = &candidate.scenario.compare.noise;
    let (ba, ca) = (baseline.attempts(), candidate.attempts());
    let mut cells = Vec::new();
    let mut only_in_candidate = Vec::new();
    let mut warnings = Vec::new();
    for c in &ca {
        match ba.iter().find(|b| b.cell.cell == c.cell.cell) {
            Some(b) => {
                if let (Some(bp), Some(cp)) = (&b.cell.properties, &c.cell.properties) {
                    if bp.pairs() != cp.pairs() {
                        warnings.push(format!("{}: compiled with other properties than in the baseline", c.cell.cell));
                    }
                }
                cells.push(compare_cell(b, c, overrides));
            }
            None => only_in_candidate.push(c.cell.cell.clone()),
        }
    }
    let only_in_baseline =
        ba.iter().filter(|b| !ca.iter().any(|c| c.cell.cell == b.cell.cell)).map(|b| b.cell.cell.clone()).collect();
    let fingerprint = differences(&baseline.fingerprint, &candidate.fingerprint);
    warnings.extend(host_warning(&fingerprint));
    for d in fingerprint.iter().filter(|d| d.matters && !is_host_field(&d.field)) {
        warnings.push(format!(
            "fingerprint {} differs: {} -> {}",
            d.field,
            d.baseline.as_deref().unwrap_or("(absent)"),
            d.candidate.as_deref().unwrap_or("(absent)")
        ));
    }
    if baseline.scenario_text != candidate.scenario_text {
        warnings.push("the two runs' scenario files differ (same name): check that the cells mean the same".into());
    }
    Ok(Comparison {
        baseline: baseline.dir.display().to_string(),
        candidate: candidate.dir.display().to_string(),
        fingerprint,
        warnings,
        cells,
        only_in_baseline,
        only_in_candidate,
    })
}
