//! `bakeoff lint MODEL_DIR`.

use super::lint_report;
use crate::cli::Format;
use crate::exit::{Failure, INPUT_ERROR, SUCCESS};
use crate::lint::lint;
use crate::model::ModelDir;
use std::path::Path;

/// Lint a model folder; exit 2 when anything is an error.
pub fn run(model: &Path, window: usize, format: Format) -> Result<i32, Failure> {
    if format == Format::Json {
        let dir = ModelDir::open(model).map_err(Failure::input)?;
        let report = lint(&dir, window);
        super::print_json(&report)?;
        return Ok(if report.has_errors() { INPUT_ERROR } else { SUCCESS });
    }
    Ok(if lint_report(model, window)? { SUCCESS } else { INPUT_ERROR })
}
