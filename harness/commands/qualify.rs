//! `bakeoff qualify OLD NEW`: the stack upgrade's PASS / FAIL with its reasons.

use super::{open_run as open, print_json};
use crate::cli::{DecisionOutput, Format};
use crate::decide::qualify::qualify;
use crate::decide::qualify::Severity;
use crate::exit::Failure;
use crate::reports::decisions::QUALIFY;
use crate::reports::github::{annotate, Level};
use crate::reports::{write_decision, ToMarkdown};
use std::path::Path;

/// Qualify the new stack's run against the old one's.
pub fn run(old: &Path, new: &Path, out: &DecisionOutput) -> Result<i32, Failure> {
    let q = qualify(&open(old)?, &open(new)?).map_err(Failure::input)?;
    let dir = out.dir.as_deref().unwrap_or(new);
    let md = q.markdown();
    let chart = crate::reports::charts::compare_chart(&q.comparison).map(|c| ("qualify", c));
    write_decision(dir, &q, &QUALIFY, chart).map_err(Failure::harness)?;
    match out.format {
        Format::Json => print_json(&q)?,
        Format::Text => println!("{md}"),
    }
    super::to_step_summary(&md);
    for w in &q.comparison.warnings {
        crate::ui::warn(format!("WARNING: {w}"));
        annotate(Level::Warning, "bakeoff qualify", w);
    }
    for r in &q.reasons {
        let level = match r.severity {
            Severity::Fail => Level::Error,
            Severity::Warn => Level::Warning,
            Severity::Note => continue,
        };
        annotate(level, &r.cell.to_string(), &r.what);
    }
    let verdict = match q.pass {
        true => crate::ui::paint(crate::ui::Tone::Good, "PASS"),
        false => crate::ui::paint(crate::ui::Tone::Bad, "FAIL"),
    };
    eprintln!("qualify: {verdict}");
    Ok(q.exit_code())
}
