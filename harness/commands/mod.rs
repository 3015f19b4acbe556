//! One module per subcommand. Each returns the exit code, or a [`Failure`] that carries one.

pub mod compare;
pub mod devices;
pub mod generate;
pub mod golden;
pub mod lint;
pub mod merge;
pub mod profiles;
pub mod qualify;
pub mod recommend;
pub mod run;

use crate::cli::{Cli, Command};
use crate::exit::Failure;

/// Run the parsed command line.
pub fn dispatch(cli: Cli) -> Result<i32, Failure> {
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
        Command::Merge { out, dirs } => merge::run(&out, &dirs),
        Command::Cell => Ok(crate::cells::child::run_from_stdin()),
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
    kind: crate::pipelines::PipelineKind,
    device: crate::runtime::Device,
    properties: &[(String, String)],
    window: crate::pipelines::static128::WindowOptions,
) -> Result<crate::pipelines::load::Loaded, Failure> {
    use crate::pipelines::load::{load, LoadError};
    if device == crate::runtime::Device::Npu && !rt.device_present("NPU").map_err(Failure::harness)? {
        return Err(Failure::input("NPU not present: OpenVINO lists no NPU on this machine (use --device NPU:host to run the NPU plugin's NPUW pipeline on the host CPU)"));
    }
    load(rt, model, kind, device.ov_name(), properties, window).map_err(|e| match e {
        LoadError::MissingIr(_) | LoadError::Unsupported(_) | LoadError::Read { .. } => Failure::input(e),
        _ => Failure::harness(e),
    })
}

/// A generation error of an in-process command: a prompt the pipeline cannot take is bad
/// input, anything else a harness error.
pub fn generate_failure(e: crate::pipelines::GenerateError) -> Failure {
    match e {
        crate::pipelines::GenerateError::Unsupported(_) => Failure::input(e),
        _ => Failure::harness(e),
    }
}

/// Print a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::harness)?;
    println!("{text}");
    Ok(())
}
