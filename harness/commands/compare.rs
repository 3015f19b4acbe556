//! `bakeoff compare BASELINE CANDIDATE`: every cell's metrics, change, interval, verdict.

use super::{open_run as open, print_json};
use crate::cli::{DecisionOutput, Format};
use crate::decide::comparison::compare_runs;
use crate::exit::{Failure, REGRESSION, SUCCESS};
use crate::reports::decisions::COMPARE;
use crate::reports::github::{annotate, Level};
use crate::reports::{write_decision, ToMarkdown};
use std::path::Path;

/// Compare two run folders; exit 3 on a regression.
pub fn run(baseline: &Path, candidate: &Path, out: &DecisionOutput) -> Result<i32, Failure> {
    let (b, c) = (open(baseline)?, open(candidate)?);
    let comparison = compare_runs(&b, &c).map_err(Failure::input)?;
    let dir = out.dir.as_deref().unwrap_or(candidate);
    let md = comparison.markdown();
    let chart = crate::reports::charts::compare_chart(&comparison).map(|c| ("compare", c));
    write_decision(dir, &comparison, &COMPARE, chart).map_err(Failure::harness)?;
    match out.format {
        Format::Json => print_json(&comparison)?,
        Format::Text => println!("{md}"),
    }
    super::to_step_summary(&md);
    for w in &comparison.warnings {
        crate::ui::warn(format!("WARNING: {w}"));
        annotate(Level::Warning, "bakeoff compare", w);
    }
    let regressions = comparison.regressions();
    for r in &regressions {
        annotate(Level::Error, "bakeoff compare: regressed", r);
        eprintln!("{}: {r}", crate::ui::paint(crate::ui::Tone::Bad, "regressed"));
    }
    Ok(if regressions.is_empty() { SUCCESS } else { REGRESSION })
}
