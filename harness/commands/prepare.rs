//! `bakeoff prepare SRC --out DIR`: a user's stateful OpenVINO folder made a bakeoff model
//! folder, then linted.

use super::lint_report;
use crate::cli::RuntimeArgs;
use crate::exit::{Failure, INPUT_ERROR, SUCCESS};
use crate::model::prepare::{prepare, PrepareError, PrepareOptions};
use crate::runtime::locate::{locate, venv_python};
use std::path::Path;

/// Prepare `src` into `out`; exit 2 when the source cannot be prepared or the result lints
/// with errors.
pub fn run(src: &Path, out: &Path, options: PrepareOptions, runtime: &RuntimeArgs) -> Result<i32, Failure> {
    let python = || {
        let located = locate(runtime.openvino_lib.as_deref()).map_err(|e| PrepareError::Input(e.to_string()))?;
        venv_python(&located.path).ok_or_else(|| {
            PrepareError::Input(format!(
                "prepare runs its IR step with the Python of the venv OpenVINO comes from, and {} is in none \
                 (make setup makes .venv)",
                located.path.display()
            ))
        })
    };
    let manifest = prepare(src, out, options, python).map_err(|e| match e {
        PrepareError::Input(_) => Failure::input(e),
        PrepareError::Tool(_) | PrepareError::Write(_) => Failure::harness(e),
    })?;
    let steps = manifest["steps"].as_array().map_or(0, Vec::len);
    crate::ui::note(format!(
        "{}: prepared from {} ({steps} IR steps, bake.json written)",
        out.display(),
        src.display()
    ));
    Ok(if lint_report(out, options.window)? { SUCCESS } else { INPUT_ERROR })
}
