//! junit.xml for CI test views: one test case per cell for its status, and one per cell and
//! prompt for its golden verdict (and per cell pair for kvcache against static128). Failed
//! cells and enforced correctness failures are failures; skipped and unsupported cells are
//! skipped; near ties and unenforced mismatches pass with the verdict in system-out.

use super::html::esc;
use super::{Exporter, ReportError, RunReport};
use crate::correctness::CheckKind;
use crate::results::CellStatus;

/// The JUnit exporter.
pub struct Junit;

/// One test case.
struct Case {
    class: String,
    name: String,
    failure: Option<String>,
    skipped: Option<String>,
    out: Option<String>,
}

impl Case {
    fn xml(&self) -> String {
        let mut s = format!("    <testcase classname=\"{}\" name=\"{}\">", esc(&self.class), esc(&self.name));
        if let Some(f) = &self.failure {
            s += &format!("<failure message=\"{}\">{}</failure>", esc(f), esc(f));
        }
        if let Some(r) = &self.skipped {
            s += &format!("<skipped message=\"{}\"/>", esc(r));
        }
        if let Some(o) = &self.out {
            s += &format!("<system-out>{}</system-out>", esc(o));
        }
        s + "</testcase>\n"
    }
}

fn cases(run: &RunReport) -> Vec<Case> {
    let mut out = Vec::new();
    for c in run.cells {
        let reason = c.reason.clone().unwrap_or_default();
        let (failure, skipped) = match c.status {
            CellStatus::Failed => (Some(reason), None),
            CellStatus::Skipped | CellStatus::Unsupported => (None, Some(format!("{}: {reason}", c.status.name()))),
            CellStatus::Completed => (None, None),
        };
        let out_text = c.cell.device.disclaimer().map(str::to_string);
        out.push(Case { class: c.cell.to_string(), name: "status".into(), failure, skipped, out: out_text });
    }
    // Device checks are reported in the other outputs, not as test cases: never enforced.
    for f in run.correctness.findings().filter(|f| f.kind != CheckKind::Devices) {
        let failing = f.fails();
        let unenforced = if f.enforced || f.kind != CheckKind::Golden { "" } else { " (not enforced)" };
        out.push(Case {
            class: f.cell.to_string(),
            name: format!("{} {}", f.kind.label(), f.prompt_id),
            failure: failing.then(|| f.verdict.to_string()),
            skipped: None,
            out: (!failing).then(|| format!("{}{unenforced}", f.verdict)),
        });
    }
    out
}

impl Exporter for Junit {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }

    fn render(&self, run: &RunReport) -> Result<Vec<u8>, ReportError> {
        let cases = cases(run);
        let failures = cases.iter().filter(|c| c.failure.is_some()).count();
        let skipped = cases.iter().filter(|c| c.skipped.is_some()).count();
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s += &format!(
            "<testsuites name=\"bakeoff\" tests=\"{0}\" failures=\"{failures}\">\n  <testsuite name=\"bakeoff run: {1}\" \
             tests=\"{0}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
            cases.len(),
            esc(run.scenario)
        );
        for c in &cases {
            s += &c.xml();
        }
        s += "  </testsuite>\n</testsuites>\n";
        Ok(s.into_bytes())
    }
}
