//! One module per subcommand. Each returns the exit code, or a [`Failure`] that carries one.

pub mod ab;
pub mod compare;
pub mod devices;
pub mod export;
pub mod generate;
pub mod golden;
pub mod lint;
pub mod merge;
pub mod power;
pub mod prepare;
pub mod profiles;
pub mod qualify;
pub mod recommend;
pub mod run;
pub mod search;

use crate::cli::{Cli, Command};
use crate::exit::Failure;
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
        Command::Run(args) => run_scenario(&args),
        Command::Ab(args) => ab::run(&args),
        Command::Power(args) => power::run(&args),
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

/// `bakeoff run`: the scenario loaded and the stack taken once, then a plain run or, for a
/// scenario with `[search]`, a profile search.
fn run_scenario(args: &crate::cli::RunArgs) -> Result<i32, Failure> {
    let scenario = crate::scenario::LoadedScenario::load(&args.scenario).map_err(Failure::input)?;
    let options = crate::session::run::RunOptions {
        openvino_lib: args.runtime.openvino_lib.clone(),
        shard: args.shard,
        filters: args.filters.clone(),
        exports: args.exports.clone(),
    };
    let context = crate::session::run::RunContext::open(&scenario, options)?;
    match scenario.scenario.search.is_some() {
        true => search::run(&context, &scenario, args),
        false => run::run(&context, &scenario, args),
    }
}

/// `--out` / `--resume` of `bakeoff run`.
pub fn folder_args(args: &crate::cli::RunArgs) -> crate::session::folder::FolderArgs<'_> {
    crate::session::folder::FolderArgs { resume: args.resume.as_deref(), out: args.out.as_deref() }
}

/// Open the runtime `--openvino-lib` names (or the one found).
pub fn open_runtime(args: &crate::cli::RuntimeArgs) -> Result<crate::runtime::Runtime, Failure> {
    crate::session::run::open_runtime(args.openvino_lib.as_deref())
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

pub use crate::session::run::{summarize, to_step_summary, unusable_golden, write_exports};

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
