//! An A/B session: a baseline and a candidate side (each its own scenario, runtime, launch
//! environment and fingerprint) run interleaved, pair by pair, over the plan's cells (see
//! `executor::paired`), every pair recorded as it comes, then judged by their paired
//! changes (`decide::ab`) and written as ab.json, ab.md, the charts and report.html.
//! `bakeoff ab` and a search's finalist pairs both run one.

use super::folder::{canonical, earlier_records, FolderArgs, AB};
use super::specs::{ModelCache, SpecMaker};
use crate::decide::ab::{judge_cell, length_decided, verdict_reasons, AbCell, AbReport};
use crate::decide::qualify::Severity;
use crate::executor::cache_probe;
use crate::executor::paired::{run_ab_cell, CellProgress, PairOptions, PairSink, ProcessLauncher};
use crate::executor::process::{Launch, ProcessExecutor};
use crate::exit::Failure;
use crate::pipeline_kind::PipelineKind;
use crate::plan::select::{select, Filter};
use crate::plan::{expand, CellKey, PlannedCell};
use crate::results::folder::{file, RunDir, WriterLock};
use crate::results::pairs::{
    ab_outcomes, pairs_by_cell, rounds_by_cell, AbCellRecord, AbRound, AbTag, LengthEnd, Pair, Side,
};
use crate::results::{read_results, CellRecord, CellStatus, Record, ResultsWriter, SampleRecord, StartRecord};
use crate::scenario::ab::{AbSettings, OutputsRule, SideSpec};
use crate::scenario::{CacheMode, LoadedScenario, Scenario};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The test-only hook that confines `BAKEOFF_TEST_SLOWDOWN` to one side (`baseline` or
/// `candidate`): the power script injects a known slowdown into one side of an A/A run.
/// Only the test suite and that script set it.
pub const SLOWDOWN_SIDE_ENV: &str = "BAKEOFF_TEST_SLOWDOWN_SIDE";

/// Each cell's recorded pairs.
pub type PairsByCell = BTreeMap<CellKey, Vec<Pair>>;

/// What an A/B session runs.
pub struct AbRequest<'a> {
    /// The scenario with its effective `[ab]` table ([`effective_scenario`]).
    pub scenario: &'a LoadedScenario,
    /// `--filter` expressions.
    pub filters: &'a [Filter],
    /// `--out` / `--resume`.
    pub folder: FolderArgs<'a>,
    /// Where the scenario came from, kept in the folder so that `--resume DIR` alone finds
    /// its relative paths again (`None`: it has none, as the one-cell form's).
    pub origin: Option<&'a Path>,
}

/// A finished A/B session: its folder, its judged report and the report's markdown.
pub struct AbOutcome {
    /// The run folder.
    pub dir: PathBuf,
    /// Every cell judged.
    pub report: AbReport,
    /// ab.md's text.
    pub markdown: String,
}

/// `scenario` as an A/B run keeps it: serialized with its `[ab]` table in force and parsed
/// again from `path`, so that the folder's `scenario.toml` is exactly what a resume must
/// match, whichever way (a file, flags, a search) the table was made.
pub fn effective_scenario(path: &Path, scenario: &Scenario) -> Result<LoadedScenario, Failure> {
    let text = toml::to_string(scenario).map_err(Failure::harness)?;
    let mut loaded = LoadedScenario::parse(path, text).map_err(Failure::input)?;
    loaded.text = format!("{}\n", loaded.text.trim_end());
    Ok(loaded)
}

/// Run an A/B session to its end: both sides' stacks taken, every selected cell's pairs
/// (continuing a resumed folder), then the judged report written.
pub fn run(request: &AbRequest) -> Result<AbOutcome, Failure> {
    let scenario = request.scenario;
    let settings = scenario.scenario.ab.clone().expect("an A/B scenario has [ab]");
    let exe = std::env::current_exe().map_err(Failure::harness)?;
    let sides = [
        side_run(&exe, scenario, &settings.baseline, Side::Baseline)?,
        side_run(&exe, scenario, &settings.candidate, Side::Candidate)?,
    ];
    let npu_present = sides.iter().all(|s| s.fingerprint["npu_present"].as_bool() == Some(true));
    let plan = select(expand(scenario, npu_present), request.filters).map_err(Failure::input)?;
    refuse_undrivable(scenario, &plan)?;
    let dir = super::folder::choose(request.folder, AB, scenario)?;
    let _lock = WriterLock::acquire(&dir).map_err(Failure::input)?;
    let run = RunDir::create(&dir).map_err(Failure::input)?;
    let earlier = earlier_records(&run.path(file::RESULTS), request.folder.resume.is_some())?;
    let origin = request.origin.map(|p| canonical(p).display().to_string()).unwrap_or_default();
    run.write(file::SCENARIO, scenario.text.as_bytes()).map_err(Failure::input)?;
    run.write(file::AB_ORIGIN, format!("{origin}\n").as_bytes()).map_err(Failure::input)?;
    let fingerprints = serde_json::json!({ "baseline": sides[0].fingerprint, "candidate": sides[1].fingerprint });
    run.write_json(file::FINGERPRINT, &fingerprints).map_err(Failure::input)?;
    crate::ui::note(format!(
        "bakeoff ab {}: {} cells, baseline `{}` vs candidate `{}`, {} pairs -> {}",
        scenario.scenario.name,
        plan.len(),
        sides[0].label,
        sides[1].label,
        settings.schedule.name(),
        canonical(&dir).display()
    ));
    let log_dir = run.folder(file::LOGS).map_err(Failure::input)?;
    let results_path = run.path(file::RESULTS);
    let writer =
        ResultsWriter::append(&results_path).map_err(|e| Failure::input(format!("{}: {e}", results_path.display())))?;
    let launcher = ProcessLauncher {
        executor: ProcessExecutor { exe, log_dir, genai_python: None },
        launches: [sides[0].launch.clone(), sides[1].launch.clone()],
    };
    let mut session =
        AbSession { sides: &sides, settings: &settings, run: &run, launcher, writer, models: Default::default() };
    session.run_plan(&plan, &earlier)?;
    drop(session);
    let (pairs, report) = judged_report(&dir, scenario, &settings, &sides, &fingerprints)?;
    let markdown = crate::reports::ab::write_ab_reports(&dir, &report, &pairs).map_err(Failure::harness)?;
    Ok(AbOutcome { dir, report, markdown })
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

/// One side as this run uses it.
struct SideRun {
    side: Side,
    label: String,
    scenario: LoadedScenario,
    openvino_lib: Option<PathBuf>,
    launch: Launch,
    fingerprint: serde_json::Value,
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
    let launch = side_launch(spec, side)?;
    let fingerprint = side_fingerprint(exe, openvino_lib.as_deref(), &launch, side)?;
    let label = spec.label.clone().unwrap_or_else(|| default_label(spec, side, &fingerprint));
    Ok(SideRun { side, label, scenario: s, openvino_lib, launch, fingerprint })
}

/// How a side's cell processes are launched: its environment, and the test-only slowdown
/// removed from the other side when [`SLOWDOWN_SIDE_ENV`] confines it.
fn side_launch(spec: &SideSpec, side: Side) -> Result<Launch, Failure> {
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
    Ok(launch)
}

/// A side's label when the scenario gives none: its OpenVINO version and model folders.
fn default_label(spec: &SideSpec, side: Side, fingerprint: &serde_json::Value) -> String {
    let version = fingerprint["fingerprint"]["openvino_version"].as_str().unwrap_or("?");
    let version = version.split('-').next().unwrap_or("?");
    let models: Vec<String> = spec.models.values().map(|p| p.display().to_string()).collect();
    match models.is_empty() {
        true => format!("{side} (OpenVINO {version})"),
        false => format!("{side} (OpenVINO {version}, {})", models.join(", ")),
    }
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
    /// Run the cells of `plan` not final in the `earlier` records, each continuing the
    /// pairs an earlier attempt recorded for it.
    fn run_plan(&mut self, plan: &[PlannedCell], earlier: &[Record]) -> Result<(), Failure> {
        let done: HashSet<&CellKey> =
            ab_outcomes(earlier).into_iter().filter(|o| o.status != CellStatus::Failed).map(|o| &o.cell).collect();
        let (mut pairs, mut rounds) = (pairs_by_cell(earlier), rounds_by_cell(earlier));
        let todo: Vec<&PlannedCell> = plan.iter().filter(|c| !done.contains(&c.key)).collect();
        for (n, cell) in todo.iter().enumerate() {
            let progress = CellProgress {
                pairs: pairs.remove(&cell.key).unwrap_or_default(),
                rounds: rounds.remove(&cell.key).unwrap_or_default(),
            };
            let outcome = self.run_cell(cell, progress).map_err(|e| {
                Failure::harness(format!(
                    "{}: writing results failed: {e}. Every pair before it is kept; `bakeoff ab ... --resume {}` \
                     continues",
                    self.run.path(file::RESULTS).display(),
                    self.run.dir.display()
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
        Ok(())
    }

    /// Run one cell's pairs and rounds (continuing `progress` from an earlier attempt), probe
    /// a warm cell's cache across the stacks, and record its outcome.
    fn run_cell(&mut self, cell: &PlannedCell, mut progress: CellProgress) -> std::io::Result<AbCellRecord> {
        if let Some(why) = &cell.skip {
            return self.record(self.not_run(cell, progress.pairs.len(), CellStatus::Skipped, why.clone()));
        }
        let specs = match self.side_specs(cell) {
            Ok(specs) => specs,
            Err(why) => {
                let mut outcome = self.not_run(cell, progress.pairs.len(), CellStatus::Failed, why);
                outcome.baseline.failure = Some(crate::results::FailureClass::InputError);
                outcome.candidate.failure = Some(crate::results::FailureClass::InputError);
                return self.record(outcome);
            }
        };
        self.writer.write(&Record::Start(StartRecord { cell: cell.key.clone() }))?;
        let options = self.pair_options(cell);
        let mut sink = RecordingSink { writer: &mut self.writer, settings: self.settings };
        let mut outcome = run_ab_cell([&specs[0], &specs[1]], &mut self.launcher, &options, &mut progress, &mut sink)?;
        if outcome.status == CellStatus::Completed && cell.key.cache == CacheMode::Warm {
            let launches = [&self.launcher.launches[0], &self.launcher.launches[1]];
            outcome.cache_probe = Some(cache_probe::probe(&self.launcher.executor, [&specs[0], &specs[1]], launches));
        }
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
            cache_probe: None,
        }
    }

    /// Append a cell's outcome to results.jsonl.
    fn record(&mut self, outcome: AbCellRecord) -> std::io::Result<AbCellRecord> {
        self.writer.write(&Record::Ab(Box::new(outcome.clone())))?;
        Ok(outcome)
    }
}

/// Where an A/B cell's pairs, rounds and warm-ups go as they come: results.jsonl, each
/// written at once (a pair's two halves in one go, so an interruption never records half a
/// pair); its length is the `[ab]` table's rule.
struct RecordingSink<'a> {
    writer: &'a mut ResultsWriter,
    settings: &'a AbSettings,
}

impl PairSink for RecordingSink<'_> {
    fn warmup(&mut self, side: Side, mut sample: SampleRecord) -> std::io::Result<()> {
        sample.ab = Some(AbTag { side, pair: None, position: None, round: None, steps: None });
        self.writer.write(&Record::Sample(sample))
    }

    fn pair(&mut self, pair: &Pair) -> std::io::Result<()> {
        pair.tagged().into_iter().try_for_each(|s| self.writer.write(&Record::Sample(s)))
    }

    fn round(&mut self, round: &AbRound) -> std::io::Result<()> {
        self.writer.write(&Record::Round(Box::new(round.clone())))
    }

    fn decided(&mut self, progress: &CellProgress) -> bool {
        length_decided(&progress.pairs, &progress.rounds, self.settings)
    }
}

/// Every cell of the A/B run folder `dir` judged under `settings`, with its pairs.
fn judged_cells(dir: &Path, settings: &AbSettings, near_tie: f32) -> Result<(Vec<AbCell>, PairsByCell), Failure> {
    let read = read_results(&dir.join(file::RESULTS)).map_err(Failure::input)?;
    let (pairs, rounds) = (pairs_by_cell(&read.records), rounds_by_cell(&read.records));
    let cells = ab_outcomes(&read.records)
        .into_iter()
        .map(|o| {
            let cell_rounds = rounds.get(&o.cell).map_or(&[][..], Vec::as_slice);
            judge_cell(o, pairs.get(&o.cell).map_or(&[][..], Vec::as_slice), cell_rounds, settings, near_tie)
        })
        .collect();
    Ok((cells, pairs))
}

/// The folder's cells judged, with what the sides' fingerprints say differs between them.
fn judged_report(
    dir: &Path,
    scenario: &LoadedScenario,
    settings: &AbSettings,
    sides: &[SideRun; 2],
    fingerprints: &serde_json::Value,
) -> Result<(PairsByCell, AbReport), Failure> {
    let golden = scenario.scenario.golden.as_ref();
    let near_tie = golden.map_or_else(crate::scenario::default_near_tie, |g| g.near_tie);
    let (cells, pairs) = judged_cells(dir, settings, near_tie)?;
    // A hard mismatch between the sides fails the cells whose goldens the scenario enforces
    // (all of them without a [golden] table), as it would fail a run of them.
    let outputs_fail = |k: &CellKey| {
        settings.outputs == OutputsRule::Fail
            && golden.map_or(true, |g| g.enforce.matches(k.pipeline, k.device, &k.profile))
    };
    let reasons = verdict_reasons(&cells, &outputs_fail);
    let fingerprint = crate::fingerprint::differences(
        &fingerprints["baseline"]["fingerprint"],
        &fingerprints["candidate"]["fingerprint"],
    );
    let warnings = crate::fingerprint::host_warning(&fingerprint).into_iter().collect();
    let report = AbReport {
        scenario: scenario.scenario.name.clone(),
        baseline: sides[0].label.clone(),
        candidate: sides[1].label.clone(),
        threshold: settings.threshold,
        warnings,
        fingerprint,
        cells,
        pass: !reasons.iter().any(|r| r.severity == Severity::Fail),
        reasons,
    };
    Ok((pairs, report))
}
