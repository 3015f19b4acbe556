//! One module per subcommand. Each returns the exit code, or a [`Failure`] that carries one.

pub mod ab;
pub mod compare;
pub mod devices;
pub mod export;
pub mod generate;
pub mod golden;
pub mod lint;
pub mod merge;
pub mod prepare;
pub mod profiles;
pub mod qualify;
pub mod recommend;
pub mod run;
pub mod search;
pub mod specs;

use crate::cli::{Cli, Command};
use crate::exit::{Failure, CORRECTNESS_FAILURE, INCOMPLETE};
use crate::reports::github::Level;
use crate::results::CellStatus;
use std::path::Path;

/// Run the parsed command line.
pub fn dispatch(cli: Cli) -> Result<i32, Failure> {
    crate::ui::set_verbosity(cli.verbosity());
    match cli.command {
        Command::Devices { format, runtime } => devices::run(format, &runtime),
        Command::Lint { model, window, format } => lint::run(&model, window, format),
        Command::Generate(args) => generate::run(&args),
        Command::Golden(args) => golden::run(&args),
        Command::Compare { baseline, candidate, out } => compare::run(&baseline, &candidate, &out),
        Command::Qualify { old, new, out } => qualify::run(&old, &new, &out),
        Command::Recommend(args) => recommend::run(&args),
        Command::Profiles(args) => profiles::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Ab(args) => ab::run(&args),
        Command::Merge { out, dirs } => merge::run(&out, &dirs),
        Command::Export { run, exports } => export::run(&run, &exports),
        Command::Prepare { src, out, window, keep_full_lm_head, runtime } => {
            let options = crate::model::prepare::PrepareOptions { window, keep_full_lm_head };
            prepare::run(&src, &out, options, &runtime)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "bakeoff", &mut std::io::stdout());
            Ok(crate::exit::SUCCESS)
        }
        Command::Cell => Ok(crate::executor::child::run_from_stdin()),
    }
}

/// Open the runtime, mapping "not found" to an input error (the message says how to fix it).
pub fn open_runtime(args: &crate::cli::RuntimeArgs) -> Result<crate::runtime::Runtime, Failure> {
    use crate::runtime::{Runtime, RuntimeError};
    Runtime::open(args.openvino_lib.as_deref()).map_err(|e| match e {
        RuntimeError::NotFound(_) | RuntimeError::Load { .. } | RuntimeError::Conflict { .. } => Failure::input(e),
        RuntimeError::Ov(_) => Failure::harness(e),
    })
}

/// Compile `kind` of `model` on `device` with `properties` for an in-process command
/// (generate, golden): NPU silicon must be present; a missing IR or an unsupported key is
/// bad input, anything else a harness error.
pub fn compile_in_process(
    rt: &crate::runtime::Runtime,
    model: &crate::model::ModelDir,
    kind: crate::pipeline_kind::PipelineKind,
    device: crate::runtime::Device,
    properties: &[(String, String)],
    window: crate::pipelines::static128::WindowOptions,
) -> Result<crate::pipelines::load::Loaded, Failure> {
    use crate::pipelines::load::load;
    if device == crate::runtime::Device::Npu && !rt.device_present("NPU").map_err(Failure::harness)? {
        return Err(Failure::input("NPU not present: OpenVINO lists no NPU on this machine (use --device NPU:host to run the NPU plugin's NPUW pipeline on the host CPU)"));
    }
    load(rt, model, kind, device.ov_name(), properties, window).map_err(|e| {
        if e.is_input() {
            Failure::input(e)
        } else {
            Failure::harness(e)
        }
    })
}

/// A generation error of an in-process command: a prompt the pipeline cannot take is bad
/// input, anything else a harness error.
pub fn generate_failure(e: crate::pipelines::GenerateError) -> Failure {
    if e.is_unsupported() {
        Failure::input(e)
    } else {
        Failure::harness(e)
    }
}

/// Append a command's markdown to the GitHub Actions step summary when there is one. A
/// failed append is a warning: the run's own files are already written.
pub fn to_step_summary(markdown: &str) {
    if let Err(e) = crate::reports::github::append_step_summary(markdown) {
        crate::ui::warn(format!("WARNING: GITHUB_STEP_SUMMARY not written: {e}"));
    }
}

/// Write every export of the run folder `dir` (run --export, export); nothing when none is
/// asked for.
pub fn write_exports(dir: &Path, exports: &[crate::reports::exports::Export]) -> Result<(), Failure> {
    if exports.is_empty() {
        return Ok(());
    }
    let folder = crate::results::folder::RunFolder::open(dir).map_err(Failure::input)?;
    for e in exports {
        crate::reports::exports::write_export(e, &folder).map_err(Failure::harness)?;
    }
    Ok(())
}

/// Lint a model folder and print its findings as text (lint, prepare); true when nothing
/// is an error.
pub fn lint_report(model: &Path, window: usize) -> Result<bool, Failure> {
    use crate::lint::Severity;
    let dir = crate::model::ModelDir::open(model).map_err(Failure::input)?;
    let report = crate::lint::lint(&dir, window);
    for f in &report.findings {
        let tag = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Ok => "ok",
        };
        println!("{tag:<8} {}: {}", f.file, f.message);
    }
    if report.has_errors() {
        let n = report.findings.iter().filter(|f| f.severity == Severity::Error).count();
        eprintln!("bakeoff lint: {} has {n} error(s)", model.display());
    }
    Ok(!report.has_errors())
}

/// Print a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::harness)?;
    println!("{text}");
    Ok(())
}

/// Write the summaries and the correctness verdicts of a run folder (run, merge) and say
/// what they hold. The exit code: a correctness failure first, then an incomplete run, else
/// success.
pub fn summarize(dir: &Path) -> Result<i32, Failure> {
    let run_dir = crate::results::folder::RunDir { dir: dir.to_path_buf() };
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
    let wrong = written.correctness.failures();
    for line in &wrong {
        crate::reports::github::annotate(Level::Error, "bakeoff correctness", line);
        eprintln!("{}: {line}", crate::ui::paint(crate::ui::Tone::Bad, "correctness"));
    }
    let correctness_code = (!wrong.is_empty()).then_some(CORRECTNESS_FAILURE);
    let incomplete_code = (count(CellStatus::Failed) > 0).then_some(INCOMPLETE);
    Ok(crate::exit::worst(correctness_code.into_iter().chain(incomplete_code)))
}

/// A golden that cannot check this scenario: bad input, or (same prompt and settings, other
/// ids) a text layer that changed, which is a correctness failure.
pub fn unusable_golden(u: crate::golden::Unusable) -> Failure {
    match u {
        crate::golden::Unusable::Input(e) => Failure::input(e),
        crate::golden::Unusable::Prompt(e) => Failure { code: CORRECTNESS_FAILURE, message: e.to_string() },
    }
}

/// The built-in profiles plus an optional user file.
pub fn load_profiles(file: Option<&Path>) -> Result<crate::profiles::ProfileSet, Failure> {
    let mut set = crate::profiles::ProfileSet::builtin();
    if let Some(f) = file {
        set.add_file(f).map_err(Failure::input)?;
    }
    Ok(set)
}

/// Open a run folder for a decision command (bad folders are input errors).
pub fn open_run(dir: &Path) -> Result<crate::results::folder::RunFolder, Failure> {
    crate::results::folder::RunFolder::open(dir).map_err(Failure::input)
}

/// UTC `YYYYmmdd-HHMMSS` for run folder names.
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}
