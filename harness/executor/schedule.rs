//! The scheduler: walk the plan in order, record every sample and every cell outcome in
//! results.jsonl as it happens, and never let one cell cost another.

use super::{CellSpec, Executor};
use crate::plan::{CellKey, PlannedCell};
use crate::results::{CellRecord, CellStatus, FailureClass, Record, ResultsWriter, StartRecord};
use std::collections::HashSet;

/// Reports progress: a bar on a terminal, plain lines otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: usize,
}

impl Progress {
    /// Progress over `total` cells; a bar only when stderr is a terminal.
    pub fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        Progress { bar, total, done: 0 }
    }

    /// A progress reporter that prints nothing (tests).
    pub fn hidden() -> Progress {
        Progress { bar: Some(indicatif::ProgressBar::hidden()), total: 0, done: 0 }
    }

    fn start(&self, key: &CellKey) {
        if let Some(bar) = &self.bar {
            bar.set_message(key.to_string());
        }
    }

    fn finish(&mut self, record: &CellRecord) {
        use crate::ui::{paint, verbosity, Tone, Verbosity};
        self.done += 1;
        let tone = match record.status {
            CellStatus::Completed => Tone::Good,
            CellStatus::Failed => Tone::Bad,
            CellStatus::Skipped | CellStatus::Unsupported => Tone::Warn,
        };
        let line = format!(
            "[{}/{}] {}: {}{} ({} samples, {:.1} s)",
            self.done,
            self.total,
            record.cell,
            paint(tone, record.status.name()),
            record.failure.as_ref().map(|f| format!(" ({f})")).unwrap_or_default(),
            record.measured_samples,
            record.wall_s
        );
        let mut lines = vec![line];
        if verbosity() >= Verbosity::Verbose {
            lines.extend(cell_details(record));
        }
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if record.status == CellStatus::Failed || verbosity() >= Verbosity::Verbose {
                    lines.iter().for_each(|l| bar.println(l));
                }
            }
            None if verbosity() >= Verbosity::Normal => lines.iter().for_each(|l| eprintln!("{l}")),
            None => {}
        }
    }

    /// Close the bar.
    pub fn close(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `-v`: what a cell compiled with and what it cost, beyond the progress line.
fn cell_details(record: &CellRecord) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(reason) = &record.reason {
        lines.push(format!("    reason: {reason}"));
    }
    if let (Some(load), Some(compile)) = (record.load_ms, record.compile_ms) {
        let cache = if record.from_cache == Some(true) { " (from the compile cache)" } else { "" };
        lines.push(format!("    read {load:.0} ms, compile {compile:.0} ms{cache}"));
    }
    if let Some(devices) = &record.execution_devices {
        lines.push(format!("    execution devices: {devices}"));
    }
    if let Some(rss) = record.peak_rss_mb {
        lines.push(format!("    cell peak RSS {rss:.0} MiB"));
    }
    if let Some(p) = &record.properties {
        let pairs: Vec<String> = p.pairs().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.push(format!("    properties: {}", pairs.join(" ")));
    }
    lines
}

/// Run every planned cell not in `done`, appending to `results`. `make_spec` prepares a
/// cell (resolving its profile, tokenizing prompts); an error there fails only that cell.
/// Returns the outcomes of the cells run now. An I/O error writing results stops the run
/// (nothing can be recorded any more), after everything before it was flushed.
pub fn run_cells(
    plan: &[PlannedCell],
    done: &HashSet<CellKey>,
    make_spec: &mut dyn FnMut(&PlannedCell) -> Result<CellSpec, String>,
    executor: &mut dyn Executor,
    results: &mut ResultsWriter,
    progress: &mut Progress,
) -> std::io::Result<Vec<CellRecord>> {
    let mut outcomes = Vec::new();
    for cell in plan.iter().filter(|c| !done.contains(&c.key)) {
        progress.start(&cell.key);
        let mut record = match &cell.skip {
            Some(reason) => CellRecord::not_run(&cell.key, CellStatus::Skipped, reason.clone()),
            None => match make_spec(cell) {
                Err(message) => {
                    let mut r = CellRecord::not_run(&cell.key, CellStatus::Failed, message);
                    r.failure = Some(FailureClass::InputError);
                    r
                }
                Ok(spec) => run_one(&spec, executor, results)?,
            },
        };
        (record.harness_rss_mb, record.harness_peak_rss_mb) = crate::platform::own_memory_mb();
        results.write(&Record::Cell(record.clone()))?;
        progress.finish(&record);
        outcomes.push(record);
    }
    progress.close();
    Ok(outcomes)
}

/// Run one cell, recording its start marker and every sample as it arrives.
fn run_one(spec: &CellSpec, executor: &mut dyn Executor, results: &mut ResultsWriter) -> std::io::Result<CellRecord> {
    results.write(&Record::Start(StartRecord { cell: spec.key.clone() }))?;
    let mut write_error = None;
    let record = executor.run(spec, &mut |s| {
        let r = results.write(&Record::Sample(s));
        if let Err(e) = &r {
            write_error.get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
        }
        r
    });
    match write_error {
        Some(e) => Err(e),
        None => Ok(record),
    }
}

/// Cells whose outcome is final in earlier results (completed, skipped, unsupported): a
/// resumed run skips them. Failed and interrupted cells run again.
pub fn finished_cells(records: &[Record]) -> HashSet<CellKey> {
    let mut done = HashSet::new();
    for r in records {
        if let Record::Cell(c) = r {
            if c.status == CellStatus::Failed {
                done.remove(&c.cell);
            } else {
                done.insert(c.cell.clone());
            }
        }
    }
    done
}
