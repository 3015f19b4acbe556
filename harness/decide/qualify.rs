//! The verdict on a stack upgrade (NPU driver, OpenVINO): the same scenario run on the old
//! and the new stack, judged cell by cell. FAIL reasons: a cell that worked and fails now;
//! outputs that got worse against the goldens (to a hard mismatch); a significant speed
//! regression beyond noise. WARN reasons: outputs that moved to a near tie; compile time
//! (cold or warm cache) and peak memory beyond their thresholds (single values per cell:
//! reported, not tested).

use super::comparison::{compare_runs, describe, CellComparison, Comparison};
use crate::correctness::{run_correctness, Correctness};
use crate::exit;
use crate::golden::divergence::Verdict;
use crate::metrics::MetricId;
use crate::plan::CellKey;
use crate::results::folder::RunFolder;
use crate::results::CellStatus;
use serde::Serialize;

/// How bad a reason is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the upgrade.
    Fail,
    /// Someone should look.
    Warn,
    /// Better than before, or informational.
    Note,
}

/// What a reason is about (and which exit code a FAIL of it maps to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// Compile / run status.
    Status,
    /// Outputs against the goldens.
    Golden,
    /// Latency and throughput.
    Speed,
    /// Compile time.
    CompileTime,
    /// Peak memory.
    Memory,
    /// Outputs of the two sides against each other (an A/B run).
    Outputs,
    /// A compile cache written by the old stack, opened by the new.
    Cache,
}

/// One reason of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// How bad.
    pub severity: Severity,
    /// About what.
    pub aspect: Aspect,
    /// The cell.
    pub cell: CellKey,
    /// What changed, in words and numbers.
    pub what: String,
}

/// One cell on both stacks.
#[derive(Debug, Clone, Serialize)]
pub struct CellVerdict {
    /// The cell.
    pub cell: CellKey,
    /// Worst reason's severity (None: nothing to say).
    pub worst: Option<Severity>,
    /// Status on the old stack.
    pub old_status: CellStatus,
    /// Status on the new stack.
    pub new_status: CellStatus,
    /// Worst golden verdict on the old stack (None: not checked).
    pub old_golden: Option<String>,
    /// On the new stack.
    pub new_golden: Option<String>,
}

/// The qualification of a stack upgrade.
#[derive(Debug, Clone, Serialize)]
pub struct Qualification {
    /// PASS or FAIL.
    pub pass: bool,
    /// Every reason, FAILs first, then WARNs, then notes.
    pub reasons: Vec<Reason>,
    /// Per cell.
    pub cells: Vec<CellVerdict>,
    /// Both fingerprints' fields side by side: (field, old, new).
    pub fingerprints: Vec<(String, Option<String>, Option<String>)>,
    /// The underlying comparison.
    pub comparison: Comparison,
}

impl Qualification {
    /// The exit code: success on PASS; else the code of the worst FAIL aspect.
    pub fn exit_code(&self) -> i32 {
        exit_code(&self.reasons)
    }
}

/// What a metric's change is about in a verdict: compile time, memory or speed.
pub fn aspect_of(metric: MetricId) -> Aspect {
    match metric {
        MetricId::LoadMs | MetricId::CompileMs | MetricId::ColdCompileMs | MetricId::WarmCompileMs => {
            Aspect::CompileTime
        }
        MetricId::PeakRssMb
        | MetricId::CompilePeakRssMb
        | MetricId::SteadyPeakRssMb
        | MetricId::GenerationPeakRssMb => Aspect::Memory,
        _ => Aspect::Speed,
    }
}

/// The exit code of a verdict's reasons: success without a FAIL; else the worst FAIL's
/// (outputs: a correctness failure; a cell that stopped working: incomplete; anything
/// else: a regression).
pub fn exit_code(reasons: &[Reason]) -> i32 {
    let codes = reasons.iter().filter(|r| r.severity == Severity::Fail).map(|r| match r.aspect {
        Aspect::Golden | Aspect::Outputs => exit::CORRECTNESS_FAILURE,
        Aspect::Status => exit::INCOMPLETE,
        _ => exit::REGRESSION,
    });
    exit::worst(codes)
}

/// The worst golden verdict of a cell over its prompts.
fn worst_golden<'a>(c: &'a Correctness, cell: &CellKey) -> Option<&'a Verdict> {
    c.golden.iter().filter(|g| &g.cell == cell).map(|g| &g.verdict).max_by_key(|v| v.severity())
}

/// Qualify `new` against `old`.
pub fn qualify(old: &RunFolder, new: &RunFolder) -> Result<Qualification, super::DecisionError> {
    let comparison = compare_runs(old, new)?;
    let (old_c, new_c) = (run_correctness(old)?, run_correctness(new)?);
    let mut reasons = Vec::new();
    let mut cells = Vec::new();
    for c in &comparison.cells {
        let (og, ng) = (worst_golden(&old_c, &c.cell), worst_golden(&new_c, &c.cell));
        let mut add =
            |severity, aspect, what: String| reasons.push(Reason { severity, aspect, cell: c.cell.clone(), what });
        status_reasons(c, &mut add);
        golden_reasons(og, ng, &mut add);
        metric_reasons(c, &mut add);
        cells.push(CellVerdict {
            cell: c.cell.clone(),
            worst: None,
            old_status: c.baseline_status,
            new_status: c.candidate_status,
            old_golden: og.map(|v| v.name().to_string()),
            new_golden: ng.map(|v| v.name().to_string()),
        });
    }
    for key in &comparison.only_in_baseline {
        reasons.push(Reason {
            severity: Severity::Fail,
            aspect: Aspect::Status,
            cell: key.clone(),
            what: "ran on the old stack, absent from the new run".into(),
        });
    }
    reasons.sort_by_key(|r| r.severity);
    for cell in &mut cells {
        cell.worst = reasons.iter().filter(|r| r.cell == cell.cell).map(|r| r.severity).min();
    }
    Ok(Qualification {
        pass: !reasons.iter().any(|r| r.severity == Severity::Fail),
        reasons,
        cells,
        fingerprints: side_by_side(&old.fingerprint, &new.fingerprint),
        comparison,
    })
}

/// How a reason of one cell is added: its severity, aspect and what happened.
type AddReason<'a> = dyn FnMut(Severity, Aspect, String) + 'a;

/// A cell that stopped working fails; one that works now and did not before is a note.
fn status_reasons(c: &CellComparison, add: &mut AddReason) {
    if c.status_regressed() {
        let why = c.candidate_reason.as_deref().unwrap_or("no reason recorded");
        add(Severity::Fail, Aspect::Status, format!("worked before, {} now: {why}", c.candidate_status.name()));
    } else if c.candidate_status == CellStatus::Completed && c.baseline_status != CellStatus::Completed {
        add(Severity::Note, Aspect::Status, format!("{} before, works now", c.baseline_status.name()));
    }
}

/// Outputs that got worse against the goldens fail (a hard mismatch) or warn (a near tie);
/// better ones are a note.
fn golden_reasons(old: Option<&Verdict>, new: Option<&Verdict>, add: &mut AddReason) {
    let (Some(o), Some(n)) = (old, new) else { return };
    if n.severity() > o.severity() {
        let severity = if n.is_failure() { Severity::Fail } else { Severity::Warn };
        add(severity, Aspect::Golden, format!("outputs: {} before, now {n}", o.name()));
    } else if n.severity() < o.severity() {
        add(Severity::Note, Aspect::Golden, format!("outputs: {} before, {} now", o.name(), n.name()));
    }
}

/// A speed regression fails; a single value (compile time, memory) beyond its threshold warns.
fn metric_reasons(c: &CellComparison, add: &mut AddReason) {
    for m in c.regressions() {
        add(Severity::Fail, Aspect::Speed, format!("{} regressed {}", m.metric, describe(m)));
    }
    for m in &c.metrics {
        let Some(r) = m.single_value_change() else { continue };
        if r > m.threshold {
            let aspect = aspect_of(m.metric);
            let what = format!(
                "{} ({} cache) {} beyond {:.0}%",
                m.metric,
                c.cell.cache.name(),
                describe(m),
                100.0 * m.threshold
            );
            add(Severity::Warn, aspect, what);
        }
    }
}

/// Every fingerprint field of both stacks, old beside new.
fn side_by_side(old: &serde_json::Value, new: &serde_json::Value) -> Vec<(String, Option<String>, Option<String>)> {
    let (o, n) = (crate::fingerprint::fields(old), crate::fingerprint::fields(new));
    let keys: std::collections::BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    keys.into_iter().map(|k| (k.clone(), o.get(k).cloned(), n.get(k).cloned())).collect()
}
