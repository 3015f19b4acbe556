//! `bakeoff export RUN KIND=PATH...` (and `run --export`): a run folder in the formats of
//! the trackers CI users keep history in.

use super::write_exports;
use crate::exit::{Failure, SUCCESS};
use crate::reports::exports::Export;
use std::path::Path;

/// Export the run folder `run`.
pub fn run(run: &Path, exports: &[Export]) -> Result<i32, Failure> {
    write_exports(run, exports)?;
    Ok(SUCCESS)
}
