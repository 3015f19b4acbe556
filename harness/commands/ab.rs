//! `bakeoff ab`: a baseline and a candidate side run interleaved, pair by pair, in one run
//! (see `executor::paired`), and judged by their paired changes (`decide::ab`). The sides
//! come from the scenario's `[ab]` table and the command line; the one-cell form builds a
//! scenario of one cell from `generate`'s flags.

use crate::cli::{AbArgs, Format};
use crate::decide::qualify::Severity;
use crate::exit::Failure;
use crate::reports::github::Level;
use crate::results::folder::file;
use crate::scenario::ab::{AbSettings, SideSpec};
use crate::scenario::{LoadedScenario, Scenario};
use crate::session::ab::{effective_scenario, AbOutcome, AbRequest};
use crate::session::folder::canonical;
use crate::session::folder::FolderArgs;
use std::path::{Path, PathBuf};

/// Run an A/B comparison (or, with `--calibrate`, an A/A that says what this machine can
/// see).
pub fn run(args: &AbArgs) -> Result<i32, Failure> {
    if args.calibrate {
        return calibrate(args);
    }
    let (scenario, origin) = load_scenario(args)?;
    let request = AbRequest {
        scenario: &scenario,
        filters: &args.filters,
        folder: FolderArgs { resume: args.resume.as_deref(), out: args.out.as_deref() },
        origin: origin.as_deref(),
    };
    let AbOutcome { dir, report, markdown } = crate::session::ab::run(&request)?;
    crate::session::run::to_step_summary(&markdown);
    for r in &report.reasons {
        let level = match r.severity {
            Severity::Fail => Level::Error,
            Severity::Warn => Level::Warning,
            Severity::Note => continue,
        };
        crate::reports::github::annotate(
            level,
            &format!("bakeoff ab: {:?}", r.aspect),
            &format!("{}: {}", r.cell, r.what),
        );
    }
    match args.format {
        Format::Json => super::print_json(&crate::results::Versioned::new(&report))?,
        Format::Text => print!("{markdown}"),
    }
    crate::ui::note(format!("{}", dir.join(file::AB_MD).display()));
    Ok(report.exit_code())
}

/// `--calibrate`: the baseline side against itself for a fixed number of rounds a cell, then
/// each cell's projections (`decide::power::calibrate`) printed and kept in the folder.
fn calibrate(args: &AbArgs) -> Result<i32, Failure> {
    let least = crate::stats::paired::MIN_ROUNDS * crate::results::pairs::ROUNDS_PER_BLOCK;
    if args.calibrate_rounds < least || args.calibrate_rounds % crate::results::pairs::ROUNDS_PER_BLOCK != 0 {
        return Err(Failure::input(format!(
            "--calibrate-rounds {}: an even number, at least {least} (the blocks of two rounds a verdict's interval \
             resamples)",
            args.calibrate_rounds
        )));
    }
    if !(args.effect.is_finite() && args.effect > 0.0 && args.effect <= 100.0) {
        return Err(Failure::input(format!("--effect {}: a percentage above 0, at most 100", args.effect)));
    }
    let (mut scenario, origin) = load_scenario(args)?;
    let mut ab = scenario.scenario.ab.clone().expect("load_scenario sets [ab]");
    let budget_minutes = args.budget_minutes.unwrap_or(ab.length.max_minutes);
    ab.candidate = SideSpec { label: Some("A/A".into()), ..ab.baseline.clone() };
    let pairs = args.calibrate_rounds * ab.length.pairs_per_round.max(1);
    (ab.length.min_pairs, ab.length.max_pairs, ab.length.max_minutes) = (pairs, pairs, 24.0 * 60.0);
    let rules = scenario.scenario.ab.clone().expect("load_scenario sets [ab]");
    scenario.scenario.ab = Some(ab);
    let path = origin.clone().unwrap_or_else(|| PathBuf::from(ONE_CELL));
    let scenario = effective_scenario(&path, &scenario.scenario)?;
    let request = AbRequest {
        scenario: &scenario,
        filters: &args.filters,
        folder: FolderArgs { resume: None, out: args.out.as_deref() },
        origin: origin.as_deref(),
    };
    let AbOutcome { dir, .. } = crate::session::ab::run(&request)?;
    let folder = crate::results::folder::RunFolder::open(&dir).map_err(Failure::input)?;
    let mut pairs = crate::results::pairs::pairs_by_cell(&folder.records);
    let mut rounds = crate::results::pairs::rounds_by_cell(&folder.records);
    let calibrations = pairs
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .iter()
        .map(|cell| {
            let (p, r) = (pairs.remove(cell).unwrap_or_default(), rounds.remove(cell).unwrap_or_default());
            crate::decide::power::calibrate(cell, &p, &r, &rules, (budget_minutes, args.effect / 100.0))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::input)?;
    let machine = crate::fingerprint::describe_host(&folder.fingerprint["baseline"]["fingerprint"]);
    let report = crate::reports::power::CalibrationReport { machine, cells: calibrations };
    let markdown = crate::reports::power::calibration_markdown(&report);
    crate::io::write_atomic(&dir.join(file::CALIBRATE_MD), markdown.as_bytes()).map_err(Failure::harness)?;
    let json = serde_json::to_string_pretty(&crate::results::Versioned::new(&report)).map_err(Failure::harness)?;
    crate::io::write_atomic(&dir.join(file::CALIBRATE_JSON), json.as_bytes()).map_err(Failure::harness)?;
    match args.format {
        Format::Json => super::print_json(&crate::results::Versioned::new(&report))?,
        Format::Text => print!("{markdown}"),
    }
    crate::ui::note(format!("{}", dir.join(file::CALIBRATE_MD).display()));
    Ok(crate::exit::SUCCESS)
}

/// The scenario of this run with its effective `[ab]` table: the file's (or the one-cell
/// form's, or, resuming from a folder alone, the folder's) with the command line's changes;
/// and the file it came from (none for the one-cell form). Its text is what the run folder
/// keeps and a resume must match.
fn load_scenario(args: &AbArgs) -> Result<(LoadedScenario, Option<PathBuf>), Failure> {
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
    let loaded = effective_scenario(&path, &scenario)?;
    let origin = (path != Path::new(ONE_CELL)).then_some(path);
    Ok((loaded, origin))
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
    args.rules.apply(ab);
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
    text += &format!(
        "[[models]]\nname = \"model\"\npath = {}\n\n",
        toml_string(&canonical(&baseline).display().to_string())
    );
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
        text +=
            &format!("\n[ab.candidate.models]\nmodel = {}\n", toml_string(&canonical(candidate).display().to_string()));
    }
    let loaded = LoadedScenario::parse(Path::new(ONE_CELL), text).map_err(Failure::input)?;
    Ok(loaded.scenario)
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
