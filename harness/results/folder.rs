//! A run folder as the commands after a run see it (summaries, compare, qualify, recommend,
//! reports): the scenario as run, the stack's fingerprint, every record, and what follows
//! from them. (The goldens it was checked against are the correctness layer's to read.)

use super::summary::{summarize_records, CellSummary};
use super::{final_attempts, read_results, Attempt, Record};
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};

/// The files of a run folder, by name: the one place that knows them. A soak's folder holds
/// its scenario and report, and a run folder per round.
pub mod file {
    /// The scenario as run.
    pub const SCENARIO: &str = "scenario.toml";
    /// The stack's fingerprint.
    pub const FINGERPRINT: &str = "fingerprint.json";
    /// Every record, appended as it happens.
    pub const RESULTS: &str = "results.jsonl";
    /// `K/N` for a shard of a run.
    pub const SHARD: &str = "shard.txt";
    /// The `--filter` expressions the run was narrowed by, one a line (absent: every cell).
    pub const FILTER: &str = "filter.txt";
    /// The golden, pipeline and device verdicts.
    pub const CORRECTNESS: &str = "correctness.json";
    /// The folder of the goldens the run was checked against.
    pub const GOLDEN_SNAPSHOT: &str = "golden";
    /// The folder of each cell's stderr.
    pub const LOGS: &str = "logs";
    /// The folder of the compile caches.
    pub const CACHE: &str = "cache";
    /// A soak's report, JSON.
    pub const SOAK_JSON: &str = "soak.json";
    /// A soak's report, markdown.
    pub const SOAK_MD: &str = "soak.md";
    /// An A/B run's verdicts, JSON.
    pub const AB_JSON: &str = "ab.json";
    /// An A/B run's verdicts, markdown.
    pub const AB_MD: &str = "ab.md";
    /// `ab --calibrate`: what the machine can see, JSON.
    pub const CALIBRATE_JSON: &str = "calibrate.json";
    /// `ab --calibrate`: what the machine can see, markdown.
    pub const CALIBRATE_MD: &str = "calibrate.md";
    /// The scenario file an A/B run was made from (the one-cell form: none), whose folder
    /// its relative paths resolve in: with `scenario.toml` it lets `ab --resume DIR` go on
    /// from the folder alone.
    pub const AB_ORIGIN: &str = "ab-origin.txt";
    /// An A/B run's (or a run's) HTML report.
    pub const REPORT_HTML: &str = "report.html";
    /// A profile search's folder: the whole search (stages, keys, front, finalists, pick).
    pub const SEARCH_JSON: &str = "search.json";
    /// The same for people.
    pub const SEARCH_MD: &str = "search.md";
    /// The search's chosen profile as a bakeoff profile file.
    pub const WINNER_TOML: &str = "winner.toml";
    /// The same profile as openvino-genai's LLMPipeline and llm_bench `-lc` load it.
    pub const WINNER_GENAI: &str = "winner.genai.json";
    /// The search's front chart (`.svg` and `.png`).
    pub const FRONT_CHART: &str = "front";
}

/// Why a run folder could not be opened, made, written or locked. Every message names the
/// file or folder.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The folder (or a sub-folder of it) could not be made.
    #[error("{what} {path}: {source}")]
    Create {
        /// `output folder`, or empty for a sub-folder.
        what: &'static str,
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// One of its files could not be written.
    #[error(transparent)]
    Write(#[from] crate::io::FileError),
    /// A soak's folder where a run folder was expected.
    #[error("{dir}: a soak, not a run folder; its rounds are run folders ({first_round})")]
    Soak {
        /// The soak's folder.
        dir: String,
        /// Its first round.
        first_round: String,
    },
    /// A file every run folder has is missing or unreadable.
    #[error("{path}: not a run folder ({source})")]
    Missing {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// One of its files does not parse.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        reason: String,
    },
    /// results.jsonl could not be read.
    #[error(transparent)]
    Results(#[from] super::ResultsError),
    /// Another process writes the folder.
    #[error(
        "{dir}: another bakeoff is writing this run folder ({holder}); wait for it to finish, or choose another --out"
    )]
    Locked {
        /// The folder.
        dir: String,
        /// `pid N`, or `another process`.
        holder: String,
    },
    /// The lock file could not be opened, locked or written.
    #[error("{path}: {reason}")]
    Lock {
        /// The lock file.
        path: String,
        /// What failed.
        reason: String,
    },
}

/// A run folder being written: where each of its files goes, each written atomically.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The folder.
    pub dir: PathBuf,
}

impl RunDir {
    /// The run folder at `dir`, created if missing.
    pub fn create(dir: &Path) -> Result<RunDir, FolderError> {
        std::fs::create_dir_all(dir).map_err(|source| FolderError::Create {
            what: "output folder",
            path: dir.display().to_string(),
            source,
        })?;
        Ok(RunDir { dir: dir.to_path_buf() })
    }

    /// The path of one of its files ([`file`](mod@file)).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Write one of its files atomically; the error names the file.
    pub fn write(&self, name: &str, contents: &[u8]) -> Result<(), crate::io::FileError> {
        crate::io::write_named(&self.dir, name, contents)
    }

    /// Write one of its files as pretty JSON.
    pub fn write_json(&self, name: &str, value: &impl serde::Serialize) -> Result<(), crate::io::FileError> {
        // bakeoff's own records and reports: plain structs with string keys, which always
        // serialize.
        let text = serde_json::to_string_pretty(value).expect("run folder values serialize to JSON");
        self.write(name, text.as_bytes())
    }

    /// A sub-folder ([`file::LOGS`], [`file::GOLDEN_SNAPSHOT`], a soak round), created.
    pub fn folder(&self, name: &str) -> Result<PathBuf, FolderError> {
        let path = self.path(name);
        std::fs::create_dir_all(&path).map_err(|source| FolderError::Create {
            what: "",
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    }

    /// The compile cache of a cell: one shared by every warm cell, one per cold cell.
    pub fn cache(&self, cold_cell: Option<usize>) -> PathBuf {
        let cache = self.path(file::CACHE);
        match cold_cell {
            Some(index) => cache.join(format!("cold-{index}")),
            None => cache.join("warm"),
        }
    }
}

/// A run folder, read.
#[derive(Debug)]
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
    /// The scenario as run.
    pub scenario: Scenario,
    /// Its text.
    pub scenario_text: String,
    /// The stack's fingerprint.
    pub fingerprint: serde_json::Value,
    /// Every complete record of results.jsonl.
    pub records: Vec<Record>,
    /// results.jsonl ended in a torn line (ignored).
    pub torn_tail: bool,
}

impl RunFolder {
    /// Read a run folder; errors name the file and what is wrong.
    pub fn open(dir: &Path) -> Result<RunFolder, FolderError> {
        if dir.join(file::SOAK_JSON).exists() {
            return Err(FolderError::Soak {
                dir: dir.display().to_string(),
                first_round: dir.join("round-01").display().to_string(),
            });
        }
        let path = |name: &str| dir.join(name).display().to_string();
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|source| FolderError::Missing { path: path(name), source })
        };
        let parse = |name: &str, reason: String| FolderError::Parse { path: path(name), reason };
        let scenario_text = read(file::SCENARIO)?;
        let scenario: Scenario =
            toml::from_str(&scenario_text).map_err(|e| parse(file::SCENARIO, e.to_string().trim_end().to_string()))?;
        let fingerprint =
            serde_json::from_str(&read(file::FINGERPRINT)?).map_err(|e| parse(file::FINGERPRINT, e.to_string()))?;
        let results = read_results(&dir.join(file::RESULTS))?;
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            scenario,
            scenario_text,
            fingerprint,
            records: results.records,
            torn_tail: results.torn_tail,
        })
    }

    /// Each cell's final attempt.
    pub fn attempts(&self) -> Vec<Attempt<'_>> {
        final_attempts(&self.records)
    }

    /// Each cell's summary, in record order.
    pub fn summaries(&self) -> Vec<CellSummary> {
        summarize_records(&self.records)
    }
}

/// The file in a run folder whose lock marks its one writer.
pub const WRITER_LOCK: &str = ".bakeoff-writer.lock";

/// Held while a process writes a run folder: a second `bakeoff run --resume` (or `--out`) of
/// the same folder while the first still writes would append to the same results.jsonl and
/// record one cell twice, so it is refused, naming the holder. The lock is the kernel's
/// (released when the holder exits, however it exits), so a crashed run leaves none behind.
#[derive(Debug)]
pub struct WriterLock {
    _file: std::fs::File,
}

impl WriterLock {
    /// Take the lock of `dir` (created if missing), or say who holds it.
    pub fn acquire(dir: &Path) -> Result<WriterLock, FolderError> {
        use std::io::{Read, Seek, Write};
        let path = dir.join(WRITER_LOCK);
        let lock_error = |reason: String| FolderError::Lock { path: path.display().to_string(), reason };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| lock_error(format!("cannot open the run folder's lock: {e}")))?;
        let locked = crate::platform::try_lock_exclusive(&file)
            .map_err(|e| lock_error(format!("cannot lock the run folder: {e}")))?;
        if !locked {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { "another process".to_string() } else { format!("pid {holder}") };
            return Err(FolderError::Locked { dir: dir.display().to_string(), holder: who });
        }
        let me = std::process::id().to_string();
        let written = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(me.as_bytes()));
        written.map_err(|e| lock_error(e.to_string()))?;
        Ok(WriterLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_second_writer_is_refused_naming_the_holder_and_the_lock_ends_with_it() {
        let tmp = tempfile::tempdir().unwrap();
        let first = super::WriterLock::acquire(tmp.path()).unwrap();
        // flock locks belong to the open file, so a second open in this process conflicts
        // as a second process would.
        let e = super::WriterLock::acquire(tmp.path()).unwrap_err().to_string();
        assert!(e.contains(&format!("another bakeoff is writing this run folder (pid {})", std::process::id())), "{e}");
        drop(first);
        super::WriterLock::acquire(tmp.path()).expect("free again once the holder is gone");
    }
}
