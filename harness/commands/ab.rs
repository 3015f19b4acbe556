//! `bakeoff ab`: a baseline and a candidate side run interleaved, pair by pair, in one run
//! (see `executor::paired`), and judged by their paired changes (`decide::ab`). The sides
//! come from the scenario's `[ab]` table and the command line; the one-cell form builds a
//! scenario of one cell from `generate`'s flags.

use super::specs::{ModelCache, SpecMaker};
use crate::cli::{AbArgs, Format};
use crate::decide::ab::{judge_cell, length_decided, AbReport};
use crate::executor::paired::{run_ab_cell, PairOptions, ProcessLauncher};
use crate::executor::process::{Launch, ProcessExecutor};
use crate::exit::Failure;
use crate::pipeline_kind::PipelineKind;
use crate::plan::select::select;
use crate::plan::{expand, PlannedCell};
use crate::results::folder::{file, RunDir, WriterLock};
use crate::results::pairs::{ab_outcomes, pairs_by_cell, AbCellRecord, AbTag, LengthEnd, Pair, Side};
use crate::results::{cut_torn_tail, read_results, CellRecord, CellStatus, Record, ResultsWriter, StartRecord};
use crate::scenario::ab::{AbSettings, SideSpec};
use crate::scenario::{LoadedScenario, Scenario};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The test-only hook that confines `BAKEOFF_TEST_SLOWDOWN` to one side (`baseline` or
/// `candidate`): the power script injects a known slowdown into one side of an A/A run.
/// Only the test suite and that script set it.
pub const SLOWDOWN_SIDE_ENV: &str = "BAKEOFF_TEST_SLOWDOWN_SIDE";

/// One side as this run uses it.
struct SideRun {
    side: Side,
    label: String,
    scenario: LoadedScenario,
    openvino_lib: Option<PathBuf>,
    launch: Launch,
    fingerprint: serde_json::Value,
}

/// Run an A/B comparison.
pub fn run(args: &AbArgs) -> Result<i32, Failure> {
    let scenario = load_scenario(args)?;
    let settings = scenario.scenario.ab.clone().expect("load_scenario sets [ab]");
    let exe = std::env::current_exe().map_err(Failure::harness)?;
    let sides = [
        side_run(&exe, &scenario, &settings.baseline, Side::Baseline)?,
        side_run(&exe, &scenario, &settings.candidate, Side::Candidate)?,
    ];
    let npu_present = sides.iter().all(|s| s.fingerprint["npu_present"].as_bool() == Some(true));
    let plan = select(expand(&scenario, npu_present), &args.filters).map_err(Failure::input)?;
    refuse_undrivable(&scenario, &plan)?;
    let dir = run_dir(args, &scenario)?;
    let _lock = WriterLock::acquire(&dir).map_err(Failure::input)?;
    let run = RunDir::create(&dir).map_err(Failure::input)?;
    let results_path = run.path(file::RESULTS);
    let (mut earlier, done) = prepare_results(&results_path, args.resume.is_some())?;
    run.write(file::SCENARIO, scenario.text.as_bytes()).map_err(Failure::input)?;
    run.write(file::AB_ORIGIN, format!("{}\n", origin_of(&scenario)).as_bytes()).map_err(Failure::input)?;
    let fingerprints = serde_json::json!({ "baseline": sides[0].fingerprint, "candidate": sides[1].fingerprint });
    run.write_json(file::FINGERPRINT, &fingerprints).map_err(Failure::input)?;
    let shown = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    crate::ui::note(format!(
        "bakeoff ab {}: {} cells, baseline `{}` vs candidate `{}`, {} pairs -> {}",
        scenario.scenario.name,
        plan.len(),
        sides[0].label,
        sides[1].label,
        settings.schedule.name(),
        shown.display()
    ));
    let log_dir = run.folder(file::LOGS).map_err(Failure::input)?;
    let writer =
        ResultsWriter::append(&results_path).map_err(|e| Failure::input(format!("{}: {e}", results_path.display())))?;
    let launcher = ProcessLauncher {
        executor: ProcessExecutor { exe, log_dir, genai_python: None },
        launches: [sides[0].launch.clone(), sides[1].launch.clone()],
    };
    let mut session =
        AbSession { sides: &sides, settings: &settings, run: &run, launcher, writer, models: Default::default() };
    let todo: Vec<&PlannedCell> = plan.iter().filter(|c| !done.contains(&c.key)).collect();
    for (n, cell) in todo.iter().enumerate() {
        let outcome = session.run_cell(cell, earlier.remove(&cell.key).unwrap_or_default()).map_err(|e| {
            Failure::harness(format!(
                "{}: writing results failed: {e}. Every pair before it is kept; `bakeoff ab ... --resume {}` continues",
                results_path.display(),
                dir.display()
            ))
        })?;
        crate::ui::note(format!(
            "[{}/{}] {}: {} ({} pairs, {})",
            n + 1,
            todo.len(),
            cell.key,
            outcome.status.name(),
            outcome.pairs,
            outcome.end.describe()
        ));
    }
    drop(session);
    report(&dir, &scenario, &settings, [&sides[0].label, &sides[1].label], &fingerprints, args.format)
}

/// A plan with a kind `ab` cannot drive pair by pair is refused before anything runs.
fn refuse_undrivable(scenario: &LoadedScenario, plan: &[PlannedCell]) -> Result<(), Failure> {
    let Some(cell) = plan.iter().find(|c| !c.key.pipeline.traits().ab_drivable) else { return Ok(()) };
    let drivable: Vec<&str> = PipelineKind::ALL.iter().filter(|k| k.traits().ab_drivable).map(|k| k.name()).collect();
    Err(Failure::input(format!(
        "{}: cell {}: ab runs {} cells (a {} cell cannot be driven pair by pair); drop {} from matrix.pipelines or \
         --filter it out",
        scenario.path.display(),
        cell.key,
        drivable.join(" and "),
        cell.key.pipeline,
        cell.key.pipeline
    )))
}

/// The scenario of this run with its effective `[ab]` table: the file's (or the one-cell
/// form's, or, resuming from a folder alone, the folder's) with the command line's changes.
/// Its text is what the run folder keeps and a resume must match.
fn load_scenario(args: &AbArgs) -> Result<LoadedScenario, Failure> {
    let (path, mut scenario) = match (&args.scenario, &args.resume) {
        (Some(path), _) => {
            if let Some(flag) = args.one_cell_flag() {
                return Err(Failure::input(format!(
                    "{flag}: a flag of the one-cell form (no SCENARIO); with {} the scenario's matrix is used",
                    path.display()
                )));
            }
            let loaded = LoadedScenario::load(path).map_err(Failure::input)?;
            (path.clone(), loaded.scenario)
        }
        (None, Some(dir)) if args.one_cell_flag().is_none() => from_folder(dir)?,
        (None, _) => (PathBuf::from(ONE_CELL), one_cell_scenario(args)?),
    };
    let ab = scenario.ab.get_or_insert_with(AbSettings::default);
    apply_flags(ab, args)?;
    let text = toml::to_string(&scenario).map_err(Failure::harness)?;
    let mut loaded = LoadedScenario::parse(&path, text).map_err(Failure::input)?;
    loaded.text = format!("{}\n", loaded.text.trim_end());
    Ok(loaded)
}

/// The name the one-cell form's scenario goes by (its paths are absolute).
const ONE_CELL: &str = "ab-one-cell.toml";

/// The scenario an A/B run folder keeps, with the path it came from (so its relative paths
/// resolve where they did).
fn from_folder(dir: &Path) -> Result<(PathBuf, Scenario), Failure> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name));
    let text = read(file::SCENARIO).map_err(|e| {
        Failure::input(format!("--resume {}: not an A/B run folder ({}: {e})", dir.display(), file::SCENARIO))
    })?;
    let origin = read(file::AB_ORIGIN).map_err(|e| {
        Failure::input(format!(
            "--resume {}: {}: {e}; a folder made before bakeoff kept it resumes with its SCENARIO or one-cell flags \
             given again",
            dir.display(),
            file::AB_ORIGIN
        ))
    })?;
    let origin = match origin.trim() {
        "" => PathBuf::from(ONE_CELL),
        path => PathBuf::from(path),
    };
    let loaded = LoadedScenario::parse(&origin, text)
        .map_err(|e| Failure::input(format!("--resume {}: {}: {e}", dir.display(), file::SCENARIO)))?;
    Ok((origin, loaded.scenario))
}

/// What [`file::AB_ORIGIN`] records for this run: the scenario file, absolute, or nothing
/// for the one-cell form.
fn origin_of(scenario: &LoadedScenario) -> String {
    match scenario.path == Path::new(ONE_CELL) {
        true => String::new(),
        false => absolute(&scenario.path),
    }
}

/// The command line's changes to the `[ab]` table.
fn apply_flags(ab: &mut AbSettings, args: &AbArgs) -> Result<(), Failure> {
    let lib = |side: &mut SideSpec, lib: &Option<PathBuf>| {
        if let Some(l) = lib {
            side.openvino_lib = Some(std::fs::canonicalize(l).unwrap_or_else(|_| l.clone()));
        }
    };
    lib(&mut ab.baseline, &args.baseline_lib);
    lib(&mut ab.candidate, &args.candidate_lib);
    if let Some(s) = args.schedule {
        ab.schedule = s;
    }
    if let Some(t) = args.threshold {
        ab.threshold = t;
    }
    if let Some(n) = args.min_pairs {
        ab.length.min_pairs = n;
    }
    if let Some(n) = args.max_pairs {
        ab.length.max_pairs = n;
    }
    if let Some(m) = args.max_minutes {
        ab.length.max_minutes = m;
    }
    if let Some(n) = args.pairs_per_round {
        ab.length.pairs_per_round = n;
    }
    if let Some(seed) = args.seed {
        ab.seed = seed;
    }
    if !args.judge.is_empty() {
        ab.length.metrics = args.judge.clone();
    }
    Ok(())
}

/// The one-cell form's scenario: `--baseline-model` as the model, `--candidate-model` as
/// the candidate's folder for it, one prompt, one pipeline, device and profile.
fn one_cell_scenario(args: &AbArgs) -> Result<Scenario, Failure> {
    let need = |flag: &str, v: bool| {
        if v {
            Ok(())
        } else {
            Err(Failure::input(format!("bakeoff ab without SCENARIO: {flag} is required (the one-cell form: --baseline-model, --pipeline, --device, --prompt, --max-new-tokens)")))
        }
    };
    need("--baseline-model", args.baseline_model.is_some())?;
    need("--pipeline", args.pipeline.is_some())?;
    need("--prompt", args.prompt.is_some())?;
    let baseline = args.baseline_model.clone().expect("checked");
    let mut text = String::from("name = \"ab\"\ndescription = \"bakeoff ab, one cell\"\n\n");
    text += &format!("[[models]]\nname = \"model\"\npath = {}\n\n", toml_string(&absolute(&baseline)));
    text += &format!(
        "[[prompts.inline]]\nid = \"prompt\"\nprompt = {}\n\n",
        toml_string(args.prompt.as_deref().unwrap_or_default())
    );
    text += &format!(
        "[matrix]\npipelines = [\"{}\"]\ndevices = [\"{}\"]\nprofiles = [{}]\n\n",
        args.pipeline.expect("checked"),
        args.device.unwrap_or(crate::runtime::Device::Cpu),
        toml_string(args.profile.as_deref().unwrap_or("reference"))
    );
    text += &format!(
        "[generation]\nmax_new_tokens = {}\nignore_eos = {}\nchat_template = {}\n\n[measure]\nwarmup = 1\nrepetitions = 1\n\n[npu]\nhost_fallback = false\n",
        args.max_new_tokens.unwrap_or(32),
        args.ignore_eos,
        !args.raw
    );
    if let Some(candidate) = &args.candidate_model {
        text += &format!("\n[ab.candidate.models]\nmodel = {}\n", toml_string(&absolute(candidate)));
    }
    let loaded = LoadedScenario::parse(Path::new(ONE_CELL), text).map_err(Failure::input)?;
    Ok(loaded.scenario)
}

fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A side's scenario (its models and profiles), runtime, launch options and fingerprint.
fn side_run(exe: &Path, scenario: &LoadedScenario, spec: &SideSpec, side: Side) -> Result<SideRun, Failure> {
    let mut s = scenario.clone();
    let base = scenario.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    for (name, path) in &spec.models {
        if let Some(entry) = s.models.iter_mut().find(|(n, _)| n == name) {
            entry.1 = base.join(path);
        }
    }
    s.profiles
        .add(spec.profiles.clone(), &format!("{} [ab.{side}.profiles]", scenario.path.display()))
        .map_err(Failure::input)?;
    let openvino_lib = spec.openvino_lib.as_ref().map(|l| if l.is_absolute() { l.clone() } else { base.join(l) });
    let mut launch = Launch { log_tag: format!(".{side}"), ..Launch::default() };
    launch.env = spec.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Ok(only) = std::env::var(SLOWDOWN_SIDE_ENV) {
        if only != Side::Baseline.name() && only != Side::Candidate.name() {
            return Err(Failure::input(format!("{SLOWDOWN_SIDE_ENV}={only}: allowed: baseline, candidate")));
        }
        if only != side.name() {
            launch.env_remove.push(crate::pipelines::SLOWDOWN_ENV.to_string());
        }
    }
    let fingerprint = side_fingerprint(exe, openvino_lib.as_deref(), &launch, side)?;
    let version = fingerprint["fingerprint"]["openvino_version"]
        .as_str()
        .unwrap_or("?")
        .split('-')
        .next()
        .unwrap_or("?")
        .to_string();
    let label = spec.label.clone().unwrap_or_else(|| {
        let models: Vec<String> = spec.models.values().map(|p| p.display().to_string()).collect();
        match models.is_empty() {
            true => format!("{side} (OpenVINO {version})"),
            false => format!("{side} (OpenVINO {version}, {})", models.join(", ")),
        }
    });
    Ok(SideRun { side, label, scenario: s, openvino_lib, launch, fingerprint })
}

/// The side's stack as its own cells see it: `bakeoff devices --format json` run with the
/// side's runtime and environment (one process loads one OpenVINO runtime, so the parent
/// cannot load both).
fn side_fingerprint(exe: &Path, lib: Option<&Path>, launch: &Launch, side: Side) -> Result<serde_json::Value, Failure> {
    let mut command = std::process::Command::new(exe);
    command.args(["devices", "--format", "json"]);
    if let Some(lib) = lib {
        command.arg("--openvino-lib").arg(lib);
    }
    command.envs(launch.env.iter().map(|(k, v)| (k, v)));
    launch.env_remove.iter().for_each(|k| {
        command.env_remove(k);
    });
    let out = command.output().map_err(Failure::harness)?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Failure::input(format!("ab.{side}: its OpenVINO runtime does not load: {why}")));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| Failure::harness(format!("ab.{side}: devices output: {e}")))
}

fn run_dir(args: &AbArgs, scenario: &LoadedScenario) -> Result<PathBuf, Failure> {
    let dir = match (&args.resume, &args.out) {
        (Some(dir), _) => {
            let previous = std::fs::read_to_string(dir.join(file::SCENARIO))
                .map_err(|e| Failure::input(format!("--resume {}: not an A/B run folder ({e})", dir.display())))?;
            if previous != scenario.text {
                return Err(Failure::input(format!(
                    "--resume {}: its scenario.toml (with the [ab] table in force) differs from this command's; resume \
                     with the same scenario and flags",
                    dir.display()
                )));
            }
            dir.clone()
        }
        (None, Some(dir)) => dir.clone(),
        (None, None) => PathBuf::from("reports").join(format!("ab-{}-{}", scenario.scenario.name, super::timestamp())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Failure::input(format!("output folder {}: {e}", dir.display())))?;
    Ok(dir)
}

type EarlierPairs = std::collections::BTreeMap<crate::plan::CellKey, Vec<crate::results::pairs::Pair>>;

/// The pairs already recorded per cell and the cells already final (resume).
fn prepare_results(
    path: &Path,
    resume: bool,
) -> Result<(EarlierPairs, std::collections::HashSet<crate::plan::CellKey>), Failure> {
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
    }
    let done = ab_outcomes(&read.records)
        .into_iter()
        .filter(|o| o.status != CellStatus::Failed)
        .map(|o| o.cell.clone())
        .collect();
    Ok((pairs_by_cell(&read.records), done))
}

/// What every cell of an A/B run shares: both sides, the `[ab]` table, the run folder, the
/// pair launcher, the results writer, and each side's prepared models.
struct AbSession<'a> {
    sides: &'a [SideRun; 2],
    settings: &'a AbSettings,
    run: &'a RunDir,
    launcher: ProcessLauncher,
    writer: ResultsWriter,
    models: [ModelCache; 2],
}

impl AbSession<'_> {
    /// Run one cell's pairs (continuing `pairs` from an earlier attempt) and record its
    /// outcome.
    fn run_cell(&mut self, cell: &PlannedCell, mut pairs: Vec<Pair>) -> std::io::Result<AbCellRecord> {
        if let Some(why) = &cell.skip {
            return self.record(self.not_run(cell, pairs.len(), CellStatus::Skipped, why.clone()));
        }
        let specs = match self.side_specs(cell) {
            Ok(specs) => specs,
            Err(why) => {
                let mut outcome = self.not_run(cell, pairs.len(), CellStatus::Failed, why);
                outcome.baseline.failure = Some(crate::results::FailureClass::InputError);
                outcome.candidate.failure = Some(crate::results::FailureClass::InputError);
                return self.record(outcome);
            }
        };
        self.writer.write(&Record::Start(StartRecord { cell: cell.key.clone() }))?;
        let options = self.pair_options(cell);
        let (settings, writer) = (self.settings, std::cell::RefCell::new(&mut self.writer));
        let mut on_warmup = |side: Side, mut s: crate::results::SampleRecord| {
            s.ab = Some(AbTag { side, pair: None, position: None, round: None });
            writer.borrow_mut().write(&Record::Sample(s))
        };
        let mut on_pair = |p: &Pair| {
            // Both halves in one go, so an interruption never records half a pair.
            p.tagged().into_iter().try_for_each(|s| writer.borrow_mut().write(&Record::Sample(s)))
        };
        let mut decided = |pairs: &[Pair]| length_decided(pairs, settings);
        let outcome = run_ab_cell(
            [&specs[0], &specs[1]],
            &mut self.launcher,
            &options,
            &mut pairs,
            &mut on_warmup,
            &mut on_pair,
            &mut decided,
        )?;
        self.record(outcome)
    }

    /// Each side's cell spec (its scenario's models and profiles), or why one cannot be made.
    fn side_specs(&mut self, cell: &PlannedCell) -> Result<[crate::executor::CellSpec; 2], String> {
        let [m0, m1] = &mut self.models;
        let spec = |s: &SideRun, cache: &mut ModelCache| {
            let mut maker = SpecMaker {
                scenario: &s.scenario,
                models: cache,
                run_dir: self.run,
                openvino_lib: s.openvino_lib.clone(),
                driven: true,
                cache_tag: Some(s.side.name()),
                own_warm_cache: false,
            };
            maker.make(cell).map_err(|e| format!("{}: {e}", s.side))
        };
        Ok([spec(&self.sides[0], m0)?, spec(&self.sides[1], m1)?])
    }

    /// How the pair runner takes this cell's pairs: the `[ab]` table's schedule and length.
    fn pair_options(&self, cell: &PlannedCell) -> PairOptions {
        let (settings, l) = (self.settings, &self.settings.length);
        PairOptions {
            schedule: settings.schedule,
            seed: settings.seed,
            cell_index: cell.index,
            min_pairs: l.min_pairs,
            max_pairs: l.max_pairs,
            max_time: Duration::from_secs_f64(l.max_minutes * 60.0),
            pairs_per_round: l.pairs_per_round,
        }
    }

    /// The outcome of a cell that took no pairs now (`pairs` from an earlier attempt).
    fn not_run(&self, cell: &PlannedCell, pairs: usize, status: CellStatus, reason: String) -> AbCellRecord {
        AbCellRecord {
            cell: cell.key.clone(),
            status,
            baseline: CellRecord::not_run(&cell.key, status, reason.clone()),
            candidate: CellRecord::not_run(&cell.key, status, reason),
            pairs,
            end: LengthEnd::Failed,
            schedule: self.settings.schedule,
            seed: self.settings.seed,
        }
    }

    /// Append a cell's outcome to results.jsonl.
    fn record(&mut self, outcome: AbCellRecord) -> std::io::Result<AbCellRecord> {
        self.writer.write(&Record::Ab(Box::new(outcome.clone())))?;
        Ok(outcome)
    }
}

/// Judge the folder's pairs, write ab.json, ab.md, the charts and report.html, print the
/// verdicts; the exit code says whether anything regressed or failed.
/// Every cell of the A/B run folder `dir` judged under `settings`, with its pairs.
pub fn judged_cells(
    dir: &Path,
    settings: &AbSettings,
) -> Result<(Vec<crate::decide::ab::AbCell>, EarlierPairs), Failure> {
    let read = read_results(&dir.join(file::RESULTS)).map_err(Failure::input)?;
    let pairs = pairs_by_cell(&read.records);
    let empty = Vec::new();
    let cells = ab_outcomes(&read.records)
        .into_iter()
        .map(|o| judge_cell(o, pairs.get(&o.cell).unwrap_or(&empty), settings))
        .collect();
    Ok((cells, pairs))
}

fn report(
    dir: &Path,
    scenario: &LoadedScenario,
    settings: &AbSettings,
    labels: [&str; 2],
    fingerprints: &serde_json::Value,
    format: Format,
) -> Result<i32, Failure> {
    let (cells, pairs) = judged_cells(dir, settings)?;
    let fingerprint = crate::fingerprint::differences(
        &fingerprints["baseline"]["fingerprint"],
        &fingerprints["candidate"]["fingerprint"],
    );
    let warnings = crate::fingerprint::host_warning(&fingerprint).into_iter().collect();
    let report = AbReport {
        scenario: scenario.scenario.name.clone(),
        baseline: labels[0].to_string(),
        candidate: labels[1].to_string(),
        threshold: settings.threshold,
        warnings,
        fingerprint,
        cells,
    };
    let markdown = crate::reports::ab::write_ab_reports(dir, &report, &pairs).map_err(Failure::harness)?;
    super::to_step_summary(&markdown);
    for line in report.regressions() {
        crate::reports::github::annotate(crate::reports::github::Level::Error, "bakeoff ab: regressed", &line);
    }
    for line in report.failures() {
        crate::reports::github::annotate(crate::reports::github::Level::Error, "bakeoff ab: cell failed", &line);
    }
    match format {
        Format::Json => super::print_json(&crate::results::Versioned::new(&report))?,
        Format::Text => print!("{markdown}"),
    }
    crate::ui::note(format!("{}", dir.join(file::AB_MD).display()));
    Ok(report.exit_code())
}
