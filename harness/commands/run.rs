//! `bakeoff run SCENARIO`: expand, run every cell in its own process, record, summarize.

use super::specs::{ModelCache, SpecMaker};
use super::{open_runtime, summarize, unusable_golden, write_exports};
use crate::cli::RunArgs;
use crate::executor::process::ProcessExecutor;
use crate::executor::schedule::{finished_cells, run_cells, Progress};
use crate::exit::Failure;
use crate::fingerprint::Fingerprint;
use crate::golden;
use crate::model::ModelDir;
use crate::plan::select::select;
use crate::plan::{expand, shard as shard_plan, PlannedCell};
use crate::results::folder::{file, RunDir, RunFolder, WriterLock};
use crate::results::soak::{SoakReport, SoakRound, StepLatencies};
use crate::results::{cut_torn_tail, read_results, ResultsWriter};
use crate::scenario::{LoadedScenario, Soak};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Run a scenario.
pub fn run(args: &RunArgs) -> Result<i32, Failure> {
    let scenario = LoadedScenario::load(&args.scenario).map_err(Failure::input)?;
    let context = RunContext::open(&scenario, args)?;
    if scenario.scenario.search.is_some() {
        return super::search::run(&context, &scenario);
    }
    let plan = context.plan(&scenario, &args.filters, args.shard)?;
    if args.list {
        print_plan(&plan);
        return Ok(crate::exit::SUCCESS);
    }
    let dir = run_dir(args, &scenario)?;
    // One writer per run folder for as long as this run lives.
    let _lock = WriterLock::acquire(&dir).map_err(Failure::input)?;
    let setup = RunSetup {
        scenario: &scenario,
        context: &context,
        plan: &plan,
        resume: args.resume.is_some(),
        own_warm_cache: false,
    };
    match scenario.scenario.soak {
        None => run_folder(&setup, &mut ModelCache::default(), &dir),
        Some(soak) => run_soak(&setup, &dir, soak),
    }
}

/// What every run folder of one `bakeoff run` shares, whatever scenario it runs (the one
/// given, or a search's stages): the stack's fingerprint, the goldens, the command line.
pub struct RunContext<'a> {
    /// The stack, with the labels of host-executed devices.
    pub fingerprint: Fingerprint,
    /// The goldens the scenario checks against, checked usable.
    pub goldens: BTreeMap<String, golden::GoldenFile>,
    /// Whether an NPU is present (else NPU cells are skipped or run as NPU:host).
    pub npu_present: bool,
    /// The command line.
    pub args: &'a RunArgs,
}

impl<'a> RunContext<'a> {
    /// Check the goldens, open the runtime and take the fingerprint, before any cell runs.
    fn open(scenario: &LoadedScenario, args: &'a RunArgs) -> Result<RunContext<'a>, Failure> {
        // Goldens are checked usable before any cell runs: a wrong golden should cost
        // seconds, not a whole run.
        let goldens = golden::load_for_scenario(scenario).map_err(unusable_golden)?;
        let rt = open_runtime(&args.runtime)?;
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
        Ok(RunContext { fingerprint, goldens, npu_present, args })
    }

    /// The cells of `scenario` this run runs.
    pub fn plan(
        &self,
        scenario: &LoadedScenario,
        filters: &[crate::plan::select::Filter],
        shard: Option<crate::plan::Shard>,
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
        run_folder(&setup, &mut ModelCache::default(), dir)
    }
}

/// `run --list`: the plan's cells on stdout, one a line (index in the full plan, key, and
/// why a cell would be skipped), so a filter can be tried before anything runs.
fn print_plan(plan: &[PlannedCell]) {
    for cell in plan {
        match &cell.skip {
            None => println!("{:>4}  {}", cell.index + 1, cell.key),
            Some(why) => println!("{:>4}  {}  (skipped: {why})", cell.index + 1, cell.key),
        }
    }
    crate::ui::note(format!("{} cells", plan.len()));
}

/// What every run folder of one scenario shares (one folder, or a soak's rounds).
struct RunSetup<'a> {
    scenario: &'a LoadedScenario,
    context: &'a RunContext<'a>,
    plan: &'a [PlannedCell],
    resume: bool,
    /// Each warm cell primes a cache of its own (a search stage: see `SpecMaker`).
    own_warm_cache: bool,
}

/// A soak: every round is a run folder of its own under `dir`, run by this one process;
/// `soak.md` and `soak.json` say how bakeoff's own memory and the records held up. A leak
/// beyond `max_harness_growth_mb` or a lost sample is a harness error.
fn run_soak(setup: &RunSetup, dir: &Path, soak: Soak) -> Result<i32, Failure> {
    let soak_dir = RunDir::create(dir).map_err(Failure::input)?;
    soak_dir.write(file::SCENARIO, setup.scenario.text.as_bytes()).map_err(Failure::input)?;
    let mut codes = Vec::new();
    let mut rounds = Vec::new();
    // Models are prepared (tokenizer loaded, prompts tokenized) once for every round.
    let mut models = ModelCache::default();
    let mut steps = StepLatencies::default();
    for round in 1..=soak.rounds {
        crate::ui::note(format!("soak round {round}/{}", soak.rounds));
        let round_dir = dir.join(format!("round-{round:02}"));
        codes.push(run_folder(setup, &mut models, &round_dir)?);
        let memory = crate::platform::own_memory_mb();
        let folder = RunFolder::open(&round_dir).map_err(Failure::input)?;
        rounds.push(SoakRound::of(round, &folder, setup.scenario.prompts.len(), memory, &mut steps));
    }
    let report = SoakReport::new(rounds, &steps, soak.max_harness_growth_mb, setup.resume);
    crate::reports::write_document(&soak_dir.dir, &report, &crate::reports::soak::SOAK).map_err(Failure::harness)?;
    println!("{}", soak_dir.path(file::SOAK_MD).display());
    for problem in report.problems() {
        eprintln!("soak: {problem}");
        codes.push(crate::exit::HARNESS_ERROR);
    }
    Ok(crate::exit::worst(codes))
}

/// Run the plan into one run folder (resuming what it holds when `--resume` was given),
/// then summarize it.
fn run_folder(setup: &RunSetup, models: &mut ModelCache, dir: &Path) -> Result<i32, Failure> {
    let RunSetup { scenario, context, plan, resume, .. } = *setup;
    let RunContext { fingerprint, goldens, args, .. } = context;
    let run = RunDir::create(dir).map_err(Failure::input)?;
    let results_path = run.path(file::RESULTS);
    let done = prepare_results(&results_path, resume)?;
    run.write(file::SCENARIO, scenario.text.as_bytes()).map_err(Failure::input)?;
    run.write_json(file::FINGERPRINT, fingerprint).map_err(Failure::input)?;
    write_golden_snapshot(&run, goldens)?;
    if let Some(s) = args.shard {
        run.write(file::SHARD, s.to_string().as_bytes()).map_err(Failure::harness)?;
    }
    if !args.filters.is_empty() {
        let lines: String = args.filters.iter().map(|f| format!("{f}\n")).collect();
        run.write(file::FILTER, lines.as_bytes()).map_err(Failure::harness)?;
    }
    // The folder as the file system resolves it: a `--out` with `..` or an absolute path into
    // a system folder is allowed, and the user sees exactly where everything is written.
    let shown = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    crate::ui::note(format!("bakeoff run {}: {} cells -> {}", scenario.scenario.name, plan.len(), shown.display()));
    let log_dir = run.folder(file::LOGS).map_err(Failure::input)?;
    let mut specs = SpecMaker {
        scenario,
        models,
        run_dir: &run,
        openvino_lib: args.runtime.openvino_lib.clone(),
        driven: false,
        cache_tag: None,
        own_warm_cache: setup.own_warm_cache,
    };
    let mut make_spec = |cell: &PlannedCell| specs.make(cell);
    let exe = std::env::current_exe().map_err(Failure::harness)?;
    let genai_python = crate::runtime::locate::venv_python(std::path::Path::new(&fingerprint.openvino_library));
    let mut executor = ProcessExecutor { exe, log_dir, genai_python };
    let mut writer =
        ResultsWriter::append(&results_path).map_err(|e| Failure::input(format!("{}: {e}", results_path.display())))?;
    let mut progress = Progress::new(plan.iter().filter(|c| !done.contains(&c.key)).count());
    run_cells(plan, &done, &mut make_spec, &mut executor, &mut writer, &mut progress).map_err(|e| {
        Failure::harness(format!(
            "{}: writing results failed: {e}. Every record before it is kept; make room, then \
             `bakeoff run {} --resume {}` completes the run",
            results_path.display(),
            scenario.path.display(),
            dir.display()
        ))
    })?;
    let code = summarize(dir)?;
    write_exports(dir, &args.exports)?;
    Ok(code)
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

pub(super) fn run_dir(args: &RunArgs, scenario: &LoadedScenario) -> Result<PathBuf, Failure> {
    let dir = match (&args.resume, &args.out) {
        (Some(dir), _) => {
            let previous = std::fs::read_to_string(dir.join(file::SCENARIO))
                .map_err(|e| Failure::input(format!("--resume {}: not a run folder ({e})", dir.display())))?;
            if previous != scenario.text {
                return Err(Failure::input(format!(
                    "--resume {}: its scenario.toml differs from {}; resume with the same scenario",
                    dir.display(),
                    scenario.path.display()
                )));
            }
            dir.clone()
        }
        (None, Some(dir)) => dir.clone(),
        (None, None) => PathBuf::from("reports").join(format!("{}-{}", scenario.scenario.name, super::timestamp())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Failure::input(format!("output folder {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Cells already final in results.jsonl (resume), after cutting a torn last line so new
/// records start on a fresh line.
fn prepare_results(path: &Path, resume: bool) -> Result<std::collections::HashSet<crate::plan::CellKey>, Failure> {
    if !path.exists() {
        return Ok(Default::default());
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
    Ok(finished_cells(&read.records))
}
