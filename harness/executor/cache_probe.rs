//! The cache across stacks: the candidate's stack opening a compile cache the baseline's
//! stack wrote, as a machine upgraded in place with its cache folder kept does on its first
//! start. Run once per warm A/B cell after its pairs, in processes of its own, so that
//! neither the pairs nor the rounds' compiles see it.

use crate::executor::process::{Launch, ProcessExecutor};
use crate::executor::CellSpec;
use crate::results::pairs::CacheProbe;
use crate::results::CellStatus;
use crate::scenario::{CacheMode, Measure};
use std::path::Path;

/// Lines of the candidate's log kept as the plugin's word on the cache, at most.
const MESSAGES: usize = 5;

/// Words of a log line that speak of a compile cache.
const CACHE_WORDS: [&str; 6] = ["cache", "blob", "import", "export", "version", "incompatib"];

/// Probe the cell of `specs` (baseline, candidate), each side's process started with its
/// launch: the baseline compiles into an empty folder, the candidate compiles the same
/// model with that folder as its cache and generates the first prompt once.
pub fn probe(executor: &ProcessExecutor, specs: [&crate::executor::CellSpec; 2], launches: [&Launch; 2]) -> CacheProbe {
    if specs[0].model_dir != specs[1].model_dir || specs[0].properties != specs[1].properties {
        return CacheProbe::skipped(
            "the sides compile different model folders or properties: the candidate would not look for the \
             baseline's blob",
        );
    }
    let Some(dir) = specs[0].cache_dir.as_ref().map(|d| d.join("across-stacks")) else {
        return CacheProbe::skipped("the cell has no compile cache");
    };
    let _ = std::fs::remove_dir_all(&dir);
    let probe = run_probe(executor, specs, launches, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    probe
}

fn run_probe(executor: &ProcessExecutor, specs: [&CellSpec; 2], launches: [&Launch; 2], dir: &Path) -> CacheProbe {
    let baseline = probe_spec(specs[0], dir, 0);
    let launch = tagged(launches[0], ".baseline.cache-probe");
    let written = executor.run_with(&baseline, &launch, &mut |_| Ok(()));
    if written.status != CellStatus::Completed {
        let why = written.reason.unwrap_or_else(|| "no reason recorded".into());
        return CacheProbe::skipped(format!("the baseline's compile into an empty cache failed: {why}"));
    }
    let baseline_files = count_files(dir);
    if baseline_files == 0 {
        return CacheProbe::skipped("the baseline's compile wrote no cache (the plugin caches nothing of this model)");
    }
    let mut candidate = probe_spec(specs[1], dir, 1);
    candidate.prompts.truncate(1);
    let launch = tagged(launches[1], ".candidate.cache-probe");
    let mut generated = None;
    let opened = executor.run_with(&candidate, &launch, &mut |s| {
        generated.get_or_insert((s.prompt_id, s.metrics.output_ids));
        Ok(())
    });
    let (prompt_id, output_ids) = generated.unwrap_or_default();
    CacheProbe {
        skipped: None,
        baseline_files,
        status: opened.status,
        reason: opened.reason,
        from_cache: opened.from_cache,
        compile_ms: opened.compile_ms,
        files_added: count_files(dir).saturating_sub(baseline_files),
        prompt_id,
        output_ids,
        messages: cache_messages(&executor.log_path(&candidate, &launch)),
    }
}

/// A side's spec for the probe: one compile with `dir` as its cache (no priming), and
/// `repetitions` measured generations without warm-ups.
fn probe_spec(spec: &CellSpec, dir: &Path, repetitions: usize) -> CellSpec {
    let mut spec = spec.clone();
    spec.cache_dir = Some(dir.to_path_buf());
    spec.cache_mode = CacheMode::Cold;
    spec.driven = false;
    spec.measure = Measure { warmup: 0, repetitions };
    spec
}

fn tagged(launch: &Launch, tag: &str) -> Launch {
    Launch { log_tag: tag.to_string(), cpu: None, ..launch.clone() }
}

/// Files under `dir`, recursively (0 when it does not exist).
fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

/// The log's lines that speak of the cache, at most [`MESSAGES`], each cut to 300 chars.
fn cache_messages(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| {
            let lower = l.to_lowercase();
            CACHE_WORDS.iter().any(|w| lower.contains(w))
        })
        .take(MESSAGES)
        .map(|l| l.chars().take(300).collect())
        .collect()
}
