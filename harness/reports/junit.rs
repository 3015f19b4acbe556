//! junit.xml for CI test views: one test case per cell for its status (with the cell's wall
//! time), and one per cell and prompt for its golden verdict (and per cell pair for kvcache
//! against static128). Failed cells and enforced correctness failures are failures; skipped
//! and unsupported cells are skipped; near ties and unenforced mismatches pass with the
//! verdict in system-out. Written by quick-junit (nextest's writer), whose strings drop
//! ANSI escapes and characters XML cannot hold (a plugin's stderr tail may carry both).

use super::{Exporter, ReportError, RunReport};
use crate::correctness::CheckKind;
use crate::results::CellStatus;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The JUnit exporter.
pub struct Junit;

/// A failure whose message and text are both `text`.
fn failure(text: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(text).set_description(text);
    s
}

/// The test case of a cell's status.
fn status_case(c: &crate::results::summary::CellSummary) -> TestCase {
    let reason = c.reason.clone().unwrap_or_default();
    let status = match c.status {
        CellStatus::Failed => failure(&reason),
        CellStatus::Skipped | CellStatus::Unsupported => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("{}: {reason}", c.status.name()));
            s
        }
        CellStatus::Completed => TestCaseStatus::success(),
    };
    let mut case = TestCase::new("status", status);
    case.set_classname(c.cell.to_string()).set_time(Duration::from_secs_f64(c.wall_s.max(0.0)));
    if let Some(note) = c.cell.device.disclaimer() {
        case.set_system_out(note);
    }
    case
}

fn cases(run: &RunReport) -> Vec<TestCase> {
    let mut out: Vec<TestCase> = run.cells.iter().map(status_case).collect();
    // Device checks are reported in the other outputs, not as test cases: never enforced.
    for f in run.correctness.findings().filter(|f| f.kind != CheckKind::Devices) {
        let unenforced = if f.enforced || f.kind != CheckKind::Golden { "" } else { " (not enforced)" };
        let verdict = f.verdict.to_string();
        let status = if f.fails() { failure(&verdict) } else { TestCaseStatus::success() };
        let mut case = TestCase::new(format!("{} {}", f.kind.label(), f.prompt_id), status);
        case.set_classname(f.cell.to_string());
        if !f.fails() {
            case.set_system_out(format!("{verdict}{unenforced}"));
        }
        out.push(case);
    }
    out
}

impl Exporter<RunReport<'_>> for Junit {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }

    fn render(&self, run: &RunReport) -> Result<Vec<u8>, ReportError> {
        let mut suite = TestSuite::new(format!("bakeoff run: {}", run.scenario));
        suite.add_test_cases(cases(run));
        suite.set_time(Duration::from_secs_f64(run.cells.iter().map(|c| c.wall_s.max(0.0)).sum()));
        let mut report = Report::new("bakeoff");
        report.add_test_suite(suite);
        let mut bytes = Vec::new();
        report.serialize(&mut bytes).map_err(|e| ReportError::Render(format!("junit.xml: {e}")))?;
        Ok(bytes)
    }
}
