//! `bakeoff merge --out DIR SHARD_DIR...`: join shard run folders into one run. Refuses
//! shards of different scenarios; the shards' fingerprints must agree on the stack.

use super::run::summarize;
use crate::exit::Failure;
use crate::golden::GOLDEN_SNAPSHOT;
use crate::results::{read_results, write_atomic, Record, ResultsWriter};
use std::path::{Path, PathBuf};

fn read(dir: &Path, name: &str) -> Result<String, Failure> {
    std::fs::read_to_string(dir.join(name))
        .map_err(|e| Failure::input(format!("{}: not a run folder ({e})", dir.join(name).display())))
}

/// Merge shard folders.
pub fn run(out: &Path, dirs: &[PathBuf]) -> Result<i32, Failure> {
    let scenario = read(&dirs[0], "scenario.toml")?;
    let fingerprint = read(&dirs[0], "fingerprint.json")?;
    for d in &dirs[1..] {
        if read(d, "scenario.toml")? != scenario {
            return Err(Failure::input(format!(
                "{}: its scenario.toml differs from {}'s; only shards of one scenario merge",
                d.display(),
                dirs[0].display()
            )));
        }
    }
    if out.join("results.jsonl").exists() {
        return Err(Failure::input(format!("{}: already holds results.jsonl; merge into a new folder", out.display())));
    }
    std::fs::create_dir_all(out).map_err(|e| Failure::input(format!("{}: {e}", out.display())))?;
    let _lock = crate::results::folder::WriterLock::acquire(out).map_err(Failure::input)?;
    let mut writer = ResultsWriter::append(&out.join("results.jsonl"))
        .map_err(|e| Failure::input(format!("{}: {e}", out.display())))?;
    let mut seen = std::collections::HashSet::new();
    for d in dirs {
        for r in read_results(&d.join("results.jsonl")).map_err(Failure::input)?.records {
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
    write_atomic(&out.join("scenario.toml"), scenario.as_bytes()).map_err(Failure::harness)?;
    write_atomic(&out.join("fingerprint.json"), fingerprint.as_bytes()).map_err(Failure::harness)?;
    copy_golden_snapshot(&dirs[0], out)?;
    summarize(out)
}

/// Shards of one scenario checked against the same goldens; the first shard's copy serves.
fn copy_golden_snapshot(from: &Path, to: &Path) -> Result<(), Failure> {
    let Ok(entries) = std::fs::read_dir(from.join(GOLDEN_SNAPSHOT)) else { return Ok(()) };
    std::fs::create_dir_all(to.join(GOLDEN_SNAPSHOT)).map_err(Failure::harness)?;
    for e in entries.flatten() {
        let bytes = std::fs::read(e.path()).map_err(|err| Failure::input(format!("{}: {err}", e.path().display())))?;
        write_atomic(&to.join(GOLDEN_SNAPSHOT).join(e.file_name()), &bytes).map_err(Failure::harness)?;
    }
    Ok(())
}
