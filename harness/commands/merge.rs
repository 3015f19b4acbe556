//! `bakeoff merge --out DIR SHARD_DIR...`: join shard run folders into one run. Refuses
//! shards of different scenarios; the shards' fingerprints must agree on the stack.

use super::summarize;
use crate::exit::Failure;
use crate::results::folder::{file, RunDir, WriterLock};
use crate::results::{read_results, Record, ResultsWriter};
use std::path::{Path, PathBuf};

fn read(dir: &Path, name: &str) -> Result<String, Failure> {
    std::fs::read_to_string(dir.join(name))
        .map_err(|e| Failure::input(format!("{}: not a run folder ({e})", dir.join(name).display())))
}

/// Merge shard folders.
pub fn run(out: &Path, dirs: &[PathBuf]) -> Result<i32, Failure> {
    let scenario = read(&dirs[0], file::SCENARIO)?;
    let fingerprint = read(&dirs[0], file::FINGERPRINT)?;
    for d in &dirs[1..] {
        if read(d, file::SCENARIO)? != scenario {
            return Err(Failure::input(format!(
                "{}: its scenario.toml differs from {}'s; only shards of one scenario merge",
                d.display(),
                dirs[0].display()
            )));
        }
    }
    let run = RunDir::create(out).map_err(Failure::input)?;
    let _lock = WriterLock::acquire(out).map_err(Failure::input)?;
    if run.path(file::RESULTS).exists() {
        return Err(Failure::input(format!("{}: already holds results.jsonl; merge into a new folder", out.display())));
    }
    let mut writer = ResultsWriter::append(&run.path(file::RESULTS))
        .map_err(|e| Failure::input(format!("{}: {e}", out.display())))?;
    let mut seen = std::collections::HashSet::new();
    for d in dirs {
        for r in read_results(&d.join(file::RESULTS)).map_err(Failure::input)?.records {
            if let Record::Cell(c) = &r {
                if !seen.insert(c.cell.clone()) {
                    return Err(Failure::input(format!(
                        "cell {} appears in more than one shard ({})",
                        c.cell,
                        d.display()
                    )));
                }
            }
            writer.write(&r).map_err(Failure::harness)?;
        }
    }
    run.write(file::SCENARIO, scenario.as_bytes()).map_err(Failure::harness)?;
    run.write(file::FINGERPRINT, fingerprint.as_bytes()).map_err(Failure::harness)?;
    copy_golden_snapshot(&dirs[0], &run)?;
    summarize(out)
}

/// Shards of one scenario checked against the same goldens; the first shard's copy serves.
fn copy_golden_snapshot(from: &Path, to: &RunDir) -> Result<(), Failure> {
    let Ok(entries) = std::fs::read_dir(from.join(file::GOLDEN_SNAPSHOT)) else { return Ok(()) };
    let snapshot = to.folder(file::GOLDEN_SNAPSHOT).map_err(Failure::harness)?;
    for e in entries.flatten() {
        let bytes = std::fs::read(e.path()).map_err(|err| Failure::input(format!("{}: {err}", e.path().display())))?;
        let name = e.file_name().to_string_lossy().into_owned();
        crate::io::write_named(&snapshot, &name, &bytes).map_err(Failure::harness)?;
    }
    Ok(())
}
