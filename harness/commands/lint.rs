//! `bakeoff lint MODEL_DIR`.

use super::print_json;
use crate::cli::Format;
use crate::exit::{Failure, INPUT_ERROR, SUCCESS};
use crate::lint::{lint, Severity};
use crate::model::ModelDir;
use std::path::Path;

/// Lint a model folder; exit 2 when anything is an error.
pub fn run(model: &Path, window: usize, format: Format) -> Result<i32, Failure> {
    let dir = ModelDir::open(model).map_err(Failure::input)?;
    let report = lint(&dir, window);
    match format {
        Format::Json => print_json(&report)?,
        Format::Text => {
            for f in &report.findings {
                let tag = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Ok => "ok",
                };
                println!("{tag:<8} {}: {}", f.file, f.message);
            }
        }
    }
    if report.has_errors() {
        let n = report.findings.iter().filter(|f| f.severity == Severity::Error).count();
        eprintln!("bakeoff lint: {} has {n} error(s)", model.display());
        return Ok(INPUT_ERROR);
    }
    Ok(SUCCESS)
}
