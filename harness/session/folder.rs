//! Where a session writes: the run folder the command line names (`--resume DIR`, `--out
//! DIR`, or a new one under `reports/`), and what an earlier attempt left in its
//! `results.jsonl`. A plain run, a soak, a search and an A/B run all choose and resume
//! their folders here, so they refuse the same mistakes with the same words.

use crate::exit::Failure;
use crate::results::folder::file;
use crate::results::{cut_torn_tail, read_results, Record};
use crate::scenario::LoadedScenario;
use std::path::{Path, PathBuf};

/// How the command line names the folder.
#[derive(Debug, Clone, Copy, Default)]
pub struct FolderArgs<'a> {
    /// `--resume DIR`: continue that folder (its scenario must be this run's).
    pub resume: Option<&'a Path>,
    /// `--out DIR`: a new folder there.
    pub out: Option<&'a Path>,
}

/// A kind of run folder: how a new one is named, and what a resume that does not match
/// is told.
#[derive(Debug, Clone, Copy)]
pub struct FolderKind {
    /// Prefix of a new folder's name, before the scenario's name.
    pub prefix: &'static str,
    /// What the folder is called in an error ("a run folder").
    pub noun: &'static str,
    /// What must match to resume it.
    pub same: &'static str,
}

/// A plain run's folder (`bakeoff run`, soaks, searches).
pub const RUN: FolderKind = FolderKind {
    prefix: "",
    noun: "a run folder",
    same: "its scenario.toml differs from {scenario}; resume with the same scenario",
};

/// An A/B run's folder (`bakeoff ab`).
pub const AB: FolderKind = FolderKind {
    prefix: "ab-",
    noun: "an A/B run folder",
    same: "its scenario.toml (with the [ab] table in force) differs from this command's; resume with the same \
           scenario and flags",
};

/// The folder this run writes, created: `--resume`'s (whose `scenario.toml` must be this
/// run's text, byte for byte), `--out`'s, or `reports/<prefix><name>-<UTC time>`.
pub fn choose(args: FolderArgs, kind: FolderKind, scenario: &LoadedScenario) -> Result<PathBuf, Failure> {
    let dir = match (args.resume, args.out) {
        (Some(dir), _) => {
            let previous = std::fs::read_to_string(dir.join(file::SCENARIO))
                .map_err(|e| Failure::input(format!("--resume {}: not {} ({e})", dir.display(), kind.noun)))?;
            if previous != scenario.text {
                let why = kind.same.replace("{scenario}", &scenario.path.display().to_string());
                return Err(Failure::input(format!("--resume {}: {why}", dir.display())));
            }
            dir.to_path_buf()
        }
        (None, Some(dir)) => dir.to_path_buf(),
        (None, None) => {
            PathBuf::from("reports").join(format!("{}{}-{}", kind.prefix, scenario.scenario.name, timestamp()))
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| Failure::input(format!("output folder {}: {e}", dir.display())))?;
    Ok(dir)
}

/// The records an earlier attempt left in `results.jsonl` at `path` (none when there is no
/// file), after cutting a torn last line so new records start on a fresh line. A file that
/// exists without `resume` is refused: a run never appends to another run's records.
pub fn earlier_records(path: &Path, resume: bool) -> Result<Vec<Record>, Failure> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    if !resume {
        return Err(Failure::input(format!(
            "{} exists: pass --resume to continue that run, or another --out",
            path.display()
        )));
    }
    let read = read_results(path).map_err(Failure::input)?;
    if read.torn_tail {
        cut_torn_tail(path).map_err(|e| Failure::harness(format!("{}: {e}", path.display())))?;
        crate::ui::note(format!("{}: ignored a torn last line (an interrupted write)", path.display()));
    }
    Ok(read.records)
}

/// A path as the file system resolves it (unchanged when it does not exist): how a run
/// folder is shown (a `--out` with `..`, or an absolute path into a system folder, is
/// allowed, and the user sees exactly where everything is written) and how a path a folder
/// keeps stays valid from any working directory.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// UTC `YYYYmmdd-HHMMSS` for run folder names.
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}
