//! A run session: the stack's fingerprint and the goldens taken once ([`RunContext`]), then
//! a plan run into a run folder (resuming what it holds), recorded and summarized. A plain
//! `bakeoff run`, each round of a soak and each stage of a search are one such folder.

use super::folder::earlier_records;
use super::specs::{ModelCache, SpecMaker};
use crate::executor::process::ProcessExecutor;
use crate::executor::schedule::{finished_cells, run_cells, Progress};
use crate::exit::{Failure, CORRECTNESS_FAILURE, INCOMPLETE};
use crate::fingerprint::Fingerprint;
use crate::golden;
use crate::model::ModelDir;
use crate::plan::select::{select, Filter};
use crate::plan::{expand, shard as shard_plan, PlannedCell, Shard};
use crate::reports::exports::Export;
use crate::reports::github::Level;
use crate::results::folder::{file, RunDir, RunFolder};
use crate::results::soak::{SoakReport, SoakRound, StepLatencies};
use crate::results::{CellStatus, ResultsWriter};
use crate::scenario::{LoadedScenario, Soak};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the command line asks of a run session beyond its scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The OpenVINO library (else found as `runtime::locate` says).
    pub openvino_lib: Option<PathBuf>,
    /// `--shard K/N`, recorded in the folder.
    pub shard: Option<Shard>,
    /// `--filter` expressions, recorded in the folder.
    pub filters: Vec<Filter>,
    /// Tracker exports written after each folder is summarized.
    pub exports: Vec<Export>,
}

/// Open the OpenVINO runtime, mapping "not found" to an input error (the message says how
/// to fix it).
pub fn open_runtime(lib: Option<&Path>) -> Result<crate::runtime::Runtime, Failure> {
    use crate::runtime::{Runtime, RuntimeError};
    Runtime::open(lib).map_err(|e| match e {
        RuntimeError::NotFound(_) | RuntimeError::Load { .. } | RuntimeError::Conflict { .. } => Failure::input(e),
        RuntimeError::Ov(_) => Failure::harness(e),
    })
}

/// What every run folder of one `bakeoff run` shares, whatever scenario it runs (the one
/// given, or a search's stages): the stack's fingerprint, the goldens, the options.
pub struct RunContext {
    /// The stack, with the labels of host-executed devices.
    pub fingerprint: Fingerprint,
    /// The goldens the scenario checks against, checked usable.
    pub goldens: BTreeMap<String, golden::GoldenFile>,
    /// Whether an NPU is present (else NPU cells are skipped or run as NPU:host).
    pub npu_present: bool,
    /// The command line's options.
    pub options: RunOptions,
}

impl RunContext {
    /// Check the goldens, open the runtime and take the fingerprint, before any cell runs.
    pub fn open(scenario: &LoadedScenario, options: RunOptions) -> Result<RunContext, Failure> {
        // Goldens are checked usable before any cell runs: a wrong golden should cost
        // seconds, not a whole run.
        let goldens = golden::load_for_scenario(scenario).map_err(unusable_golden)?;
        let rt = open_runtime(options.openvino_lib.as_deref())?;
        let mut fingerprint = Fingerprint::collect(&rt).map_err(Failure::harness)?;
        for (name, path) in &scenario.models {
            // A missing model is the cells' error to report; the fingerprint just lacks it.
            let Ok(model) = ModelDir::open(path) else { continue };
            if let Ok(fp) = model.fingerprint() {
                fingerprint.models.insert(name.clone(), fp);
            }
            if let Some(size) = model.size() {
                fingerprint.model_sizes.insert(name.clone(), size);
            }
        }
        for device in &scenario.scenario.matrix.devices {
            if let Some(note) = device.disclaimer() {
                let what = format!("{note}: the NPU plugin's NPUW pipeline with NPUW_DEVICES=CPU");
                fingerprint.device_labels.insert(device.to_string(), what);
            }
        }
        let npu_present = rt.device_present("NPU").map_err(Failure::harness)?;
        Ok(RunContext { fingerprint, goldens, npu_present, options })
    }

    /// The cells of `scenario` this run runs: the matrix, `filters`, one `shard`.
    pub fn plan(
        &self,
        scenario: &LoadedScenario,
        filters: &[Filter],
        shard: Option<Shard>,
    ) -> Result<Vec<PlannedCell>, Failure> {
        let selected = select(expand(scenario, self.npu_present), filters).map_err(Failure::input)?;
        Ok(shard_plan(selected, shard))
    }

    /// Run every cell of `scenario` into the run folder `dir` (continuing what it holds),
    /// and summarize it: one stage of a search. Each warm cell primes a compile cache of its
    /// own, so every profile's first compile is measured.
    pub fn run_stage(&self, scenario: &LoadedScenario, dir: &Path) -> Result<i32, Failure> {
        let plan = self.plan(scenario, &[], None)?;
        let resume = dir.join(file::RESULTS).exists();
        let setup = RunSetup { scenario, context: self, plan: &plan, resume, own_warm_cache: true };
        setup.run_folder(&mut ModelCache::default(), dir)
    }
}

/// A golden that cannot check this scenario: bad input, or (same prompt and settings, other
/// ids) a text layer that changed, which is a correctness failure.
pub fn unusable_golden(u: golden::Unusable) -> Failure {
    match u {
        golden::Unusable::Input(e) => Failure::input(e),
        golden::Unusable::Prompt(e) => Failure { code: CORRECTNESS_FAILURE, message: e.to_string() },
    }
}

/// What every run folder of one scenario shares (one folder, or a soak's rounds).
pub struct RunSetup<'a> {
    /// The scenario.
    pub scenario: &'a LoadedScenario,
    /// The fingerprint, goldens and options.
    pub context: &'a RunContext,
    /// The cells to run.
    pub plan: &'a [PlannedCell],
    /// Continue what the folder holds.
    pub resume: bool,
    /// Each warm cell primes a cache of its own (a search stage: see `SpecMaker`).
    pub own_warm_cache: bool,
}

impl RunSetup<'_> {
    /// Run the plan into the folder `dir`, or (with `[soak]`) as a soak under it.
    pub fn run(&self, dir: &Path) -> Result<i32, Failure> {
        match self.scenario.scenario.soak {
            None => self.run_folder(&mut ModelCache::default(), dir),
            Some(soak) => self.run_soak(dir, soak),
        }
    }

    /// A soak: every round is a run folder of its own under `dir`, run by this one process;
    /// `soak.md` and `soak.json` say how bakeoff's own memory and the records held up. A
    /// leak beyond `max_harness_growth_mb` or a lost sample is a harness error.
    fn run_soak(&self, dir: &Path, soak: Soak) -> Result<i32, Failure> {
        let soak_dir = RunDir::create(dir).map_err(Failure::input)?;
        soak_dir.write(file::SCENARIO, self.scenario.text.as_bytes()).map_err(Failure::input)?;
        let mut codes = Vec::new();
        let mut rounds = Vec::new();
        // Models are prepared (tokenizer loaded, prompts tokenized) once for every round.
        let mut models = ModelCache::default();
        let mut steps = StepLatencies::default();
        for round in 1..=soak.rounds {
            crate::ui::note(format!("soak round {round}/{}", soak.rounds));
            let round_dir = dir.join(format!("round-{round:02}"));
            codes.push(self.run_folder(&mut models, &round_dir)?);
            let memory = crate::platform::own_memory_mb();
            let folder = RunFolder::open(&round_dir).map_err(Failure::input)?;
            rounds.push(SoakRound::of(round, &folder, self.scenario.prompts.len(), memory, &mut steps));
        }
        let report = SoakReport::new(rounds, &steps, soak.max_harness_growth_mb, self.resume);
        crate::reports::write_document(&soak_dir.dir, &report, &crate::reports::soak::SOAK)
            .map_err(Failure::harness)?;
        println!("{}", soak_dir.path(file::SOAK_MD).display());
        for problem in report.problems() {
            eprintln!("soak: {problem}");
            codes.push(crate::exit::HARNESS_ERROR);
        }
        Ok(crate::exit::worst(codes))
    }

    /// Run the plan into one run folder (resuming what it holds when resuming), then
    /// summarize it and write the exports.
    fn run_folder(&self, models: &mut ModelCache, dir: &Path) -> Result<i32, Failure> {
        let run = RunDir::create(dir).map_err(Failure::input)?;
        let results_path = run.path(file::RESULTS);
        let done = finished_cells(&earlier_records(&results_path, self.resume)?);
        self.write_inputs(&run)?;
        let plan = self.plan;
        crate::ui::note(format!(
            "bakeoff run {}: {} cells -> {}",
            self.scenario.scenario.name,
            plan.len(),
            super::folder::canonical(dir).display()
        ));
        let options = &self.context.options;
        let mut specs = SpecMaker {
            scenario: self.scenario,
            models,
            run_dir: &run,
            openvino_lib: options.openvino_lib.clone(),
            driven: false,
            cache_tag: None,
            own_warm_cache: self.own_warm_cache,
        };
        let mut make_spec = |cell: &PlannedCell| specs.make(cell);
        let exe = std::env::current_exe().map_err(Failure::harness)?;
        let genai_python = crate::runtime::locate::venv_python(Path::new(&self.context.fingerprint.openvino_library));
        let mut executor =
            ProcessExecutor { exe, log_dir: run.folder(file::LOGS).map_err(Failure::input)?, genai_python };
        let mut writer = ResultsWriter::append(&results_path)
            .map_err(|e| Failure::input(format!("{}: {e}", results_path.display())))?;
        let mut progress = Progress::new(plan.iter().filter(|c| !done.contains(&c.key)).count());
        run_cells(plan, &done, &mut make_spec, &mut executor, &mut writer, &mut progress).map_err(|e| {
            Failure::harness(format!(
                "{}: writing results failed: {e}. Every record before it is kept; make room, then \
                 `bakeoff run {} --resume {}` completes the run",
                results_path.display(),
                self.scenario.path.display(),
                dir.display()
            ))
        })?;
        let code = summarize(dir)?;
        write_exports(dir, &options.exports)?;
        Ok(code)
    }

    /// What a run folder keeps beside its records: the scenario, the fingerprint, the
    /// goldens, the shard and filters it ran.
    fn write_inputs(&self, run: &RunDir) -> Result<(), Failure> {
        let options = &self.context.options;
        run.write(file::SCENARIO, self.scenario.text.as_bytes()).map_err(Failure::input)?;
        run.write_json(file::FINGERPRINT, &self.context.fingerprint).map_err(Failure::input)?;
        write_golden_snapshot(run, &self.context.goldens)?;
        if let Some(s) = options.shard {
            run.write(file::SHARD, s.to_string().as_bytes()).map_err(Failure::harness)?;
        }
        if !options.filters.is_empty() {
            let lines: String = options.filters.iter().map(|f| format!("{f}\n")).collect();
            run.write(file::FILTER, lines.as_bytes()).map_err(Failure::harness)?;
        }
        Ok(())
    }
}

/// The golden files a run checks against, copied into the run folder, so the run's verdicts
/// can be re-derived from the folder alone (merge, later reports).
fn write_golden_snapshot(run: &RunDir, goldens: &BTreeMap<String, golden::GoldenFile>) -> Result<(), Failure> {
    let snapshot = run.folder(file::GOLDEN_SNAPSHOT).map_err(Failure::input)?;
    for (name, file) in goldens {
        file.clone().write(&golden::golden_path(&snapshot, name)).map_err(Failure::input)?;
    }
    Ok(())
}

/// Write every export of the run folder `dir` (run --export, export); nothing when none is
/// asked for.
pub fn write_exports(dir: &Path, exports: &[Export]) -> Result<(), Failure> {
    if exports.is_empty() {
        return Ok(());
    }
    let folder = RunFolder::open(dir).map_err(Failure::input)?;
    for e in exports {
        crate::reports::exports::write_export(e, &folder).map_err(Failure::harness)?;
    }
    Ok(())
}

/// Append a command's markdown to the GitHub Actions step summary when there is one. A
/// failed append is a warning: the run's own files are already written.
pub fn to_step_summary(markdown: &str) {
    if let Err(e) = crate::reports::github::append_step_summary(markdown) {
        crate::ui::warn(format!("WARNING: GITHUB_STEP_SUMMARY not written: {e}"));
    }
}

/// Write the summaries and the correctness verdicts of a run folder (run, merge) and say
/// what they hold. The exit code: a correctness failure first, then an incomplete run, else
/// success.
pub fn summarize(dir: &Path) -> Result<i32, Failure> {
    let run_dir = RunDir { dir: dir.to_path_buf() };
    use crate::reports::ReportError;
    let written = crate::reports::write_run_reports(&run_dir).map_err(|e| match e {
        ReportError::Read(_) | ReportError::Golden(_) => Failure::input(e),
        // A write that fails (a full disk) leaves the previous file whole; the records are
        // untouched, so resuming writes everything again.
        ReportError::Write(_) | ReportError::Render(_) => Failure::harness(format!(
            "{e}. results.jsonl is whole; make room, then `bakeoff run SCENARIO --resume {}` writes the \
             summaries again",
            dir.display()
        )),
    })?;
    let cells = &written.cells;
    announce(dir, cells);
    let wrong = written.correctness.failures();
    for line in &wrong {
        crate::reports::github::annotate(Level::Error, "bakeoff correctness", line);
        eprintln!("{}: {line}", crate::ui::paint(crate::ui::Tone::Bad, "correctness"));
    }
    let correctness_code = (!wrong.is_empty()).then_some(CORRECTNESS_FAILURE);
    let failed = cells.iter().any(|c| c.status == CellStatus::Failed);
    let incomplete_code = failed.then_some(INCOMPLETE);
    Ok(crate::exit::worst(correctness_code.into_iter().chain(incomplete_code)))
}

/// Tell the terminal and GitHub Actions what a summarized folder holds: unstable and failed
/// cells, the summary's path, the count of each status.
fn announce(dir: &Path, cells: &[crate::results::summary::CellSummary]) {
    let count = |status| cells.iter().filter(|c| c.status == status).count();
    for line in crate::reports::unstable_lines(cells) {
        crate::ui::warn(format!("unstable: {line}"));
        crate::reports::github::annotate(Level::Warning, "bakeoff: unstable cell", &line);
    }
    if let Ok(md) = std::fs::read_to_string(dir.join("summary.md")) {
        to_step_summary(&md);
    }
    for c in cells.iter().filter(|c| c.status == CellStatus::Failed) {
        let reason = c.reason.as_deref().unwrap_or("failed");
        crate::reports::github::annotate(Level::Error, &c.cell.to_string(), &format!("cell failed: {reason}"));
    }
    println!("{}", dir.join("summary.md").display());
    eprintln!(
        "{} cells: {} completed, {} failed, {} skipped, {} unsupported",
        cells.len(),
        count(CellStatus::Completed),
        count(CellStatus::Failed),
        count(CellStatus::Skipped),
        count(CellStatus::Unsupported)
    );
}
