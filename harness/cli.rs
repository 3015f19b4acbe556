//! The command line, parsed once into typed options (clap derive).

use crate::pipeline_kind::PipelineKind;
use crate::pipelines::window::{Overflow, Padding};
use crate::runtime::Device;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// bakeoff: benchmark and validate LLM inference with OpenVINO on Intel NPUs and CPUs.
#[derive(Debug, Parser)]
#[command(name = "bakeoff", version, about, propagate_version = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Print less: errors, warnings and results only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: each cell's properties, compile figures and log file.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl Cli {
    /// The verbosity the flags ask for.
    pub fn verbosity(&self) -> crate::ui::Verbosity {
        use crate::ui::Verbosity;
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }
}

/// Options shared by commands that load the OpenVINO runtime.
#[derive(Debug, Args, Clone, Default)]
pub struct RuntimeArgs {
    /// The libopenvino_c shared library (or its folder) to use instead of the project's venv.
    #[arg(long, env = "BAKEOFF_OPENVINO_LIB", global = true)]
    pub openvino_lib: Option<PathBuf>,
}

/// Output format of commands that print a result.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON on stdout.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the devices OpenVINO sees and the stack's fingerprint.
    Devices {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// Runtime options.
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Check a baked model folder (IR sizes, static shapes, KV variables, tokenizer).
    Lint {
        /// The model folder.
        model: PathBuf,
        /// The static window whose IR to check.
        #[arg(long, default_value_t = 128)]
        window: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Generate greedily with one pipeline on one device.
    Generate(GenerateArgs),
    /// Record golden greedy transcripts, or check against them.
    Golden(GoldenArgs),
    /// Compare a candidate run folder with a baseline: change, interval and verdict per metric.
    Compare {
        /// The baseline run folder.
        baseline: PathBuf,
        /// The candidate run folder.
        candidate: PathBuf,
        /// Output options.
        #[command(flatten)]
        out: DecisionOutput,
    },
    /// Qualify a stack upgrade: the same scenario's run on the old and the new stack.
    Qualify {
        /// The old stack's run folder.
        old: PathBuf,
        /// The new stack's run folder.
        new: PathBuf,
        /// Output options.
        #[command(flatten)]
        out: DecisionOutput,
    },
    /// Recommend the best profile per device and pipeline of a run, under constraints.
    Recommend(RecommendArgs),
    /// Show profiles and the properties they resolve to.
    Profiles(ProfilesArgs),
    /// Run a scenario: every cell in a process of its own; results, summaries, fingerprint.
    Run(RunArgs),
    /// A/B in one run: a baseline and a candidate side (another OpenVINO runtime, model
    /// folder, profile or environment) compiled once each and sampled in interleaved pairs,
    /// judged by the paired change with a 95% interval, until decided or a cap.
    Ab(Box<AbArgs>),
    /// How often `ab`'s verdicts fire, replayed from recorded A/A runs: thousands of trials
    /// of the real pair runner, length rule and verdict at injected changes, with the
    /// false-alarm and detection rates and the time per trial.
    Power(PowerArgs),
    /// Export a run folder for a tracker: bmf=FILE (Bencher Metric Format), gab=DIR
    /// (github-action-benchmark's bigger_is_better.json and smaller_is_better.json),
    /// llm-bench-csv=FILE (llm_bench's CSV report).
    Export {
        /// The run folder.
        run: PathBuf,
        /// What to write where.
        #[arg(required = true, value_name = "KIND=PATH")]
        exports: Vec<crate::reports::exports::Export>,
    },
    /// Make a bakeoff model folder from a stateful OpenVINO LLM folder (optimum-intel or
    /// openvino-genai layout), beside the untouched source: lm_head sliced to the last
    /// position, the static [1,W] IR for static128, tokenizer and chat template, bake.json;
    /// then lint it.
    Prepare {
        /// The source folder.
        src: PathBuf,
        /// The new folder.
        #[arg(long)]
        out: PathBuf,
        /// The static window W.
        #[arg(long, default_value_t = 128)]
        window: usize,
        /// Also keep the static IR with the full lm_head (`..._full.xml`).
        #[arg(long)]
        keep_full_lm_head: bool,
        /// Runtime options (the venv whose Python does the IR step).
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Join shard run folders (`run --shard K/N`) into one run folder.
    Merge {
        /// The output run folder.
        #[arg(long)]
        out: PathBuf,
        /// The shard run folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout,
    /// e.g. `bakeoff completions bash > ~/.local/share/bash-completion/completions/bakeoff`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Run one cell from a spec on stdin (used by `run`; not for people).
    #[command(hide = true)]
    Cell,
}

/// `bakeoff run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The run folder (default `reports/<scenario>-<UTC time>`).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue an interrupted run in this folder: completed cells are kept and skipped.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Run only shard K of N (cells whose index is K-1 modulo N).
    #[arg(long)]
    pub shard: Option<crate::plan::Shard>,
    /// Run only the cells this expression selects: comma-separated FIELD=GLOB terms, all of
    /// which must match (fields: model, pipeline, device, profile, cache; `|` separates
    /// alternatives; `*`, `?`, `[..]`; any case), e.g. `device=CPU,pipeline=kvcache` or
    /// `profile=bal*|cons*`. Given more than once, a cell any of them selects runs.
    #[arg(long = "filter", value_name = "EXPR")]
    pub filters: Vec<crate::plan::select::Filter>,
    /// Print the cells that would run (after --filter and --shard), one a line, and exit
    /// without running or writing anything.
    #[arg(long)]
    pub list: bool,
    /// Also export the run for a tracker, once it is summarized: bmf=FILE (Bencher),
    /// gab=DIR (github-action-benchmark's two custom-tool files), llm-bench-csv=FILE.
    #[arg(long = "export", value_name = "KIND=PATH")]
    pub exports: Vec<crate::reports::exports::Export>,
    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// The rules of a paired verdict and of a cell's length, shared by `bakeoff ab` (which
/// applies them) and `bakeoff power` (which replays them), so both read the same flags.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// The change that counts, as a fraction (default 0.02).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// One metric's own threshold, as METRIC=FRACTION (repeatable; as `[ab.noise]`).
    #[arg(long = "noise", value_name = "METRIC=FRACTION", value_parser = parse_noise)]
    pub noise: Vec<(String, f64)>,
    /// Pairs at least per cell before the length rule is consulted.
    #[arg(long)]
    pub min_pairs: Option<usize>,
    /// Pairs at most per cell.
    #[arg(long)]
    pub max_pairs: Option<usize>,
    /// Minutes at most per cell.
    #[arg(long)]
    pub max_minutes: Option<f64>,
}

impl RuleArgs {
    /// Write the flags given over `ab`'s rules (the metric names are checked where the
    /// table is validated).
    pub fn apply(&self, ab: &mut crate::scenario::ab::AbSettings) {
        if let Some(t) = self.threshold {
            ab.threshold = t;
        }
        for (metric, v) in &self.noise {
            ab.noise.insert(metric.clone(), *v);
        }
        if let Some(n) = self.min_pairs {
            ab.length.min_pairs = n;
        }
        if let Some(n) = self.max_pairs {
            ab.length.max_pairs = n;
        }
        if let Some(m) = self.max_minutes {
            ab.length.max_minutes = m;
        }
    }
}

/// `--noise METRIC=FRACTION`.
fn parse_noise(s: &str) -> Result<(String, f64), String> {
    let (metric, v) =
        s.split_once('=').ok_or_else(|| format!("expected METRIC=FRACTION (decode_tokens_per_s=0.01), got {s}"))?;
    let v = v
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{metric}: the threshold must be a fraction (0.01 = 1%), got {v}"))?;
    Ok((metric.trim().to_string(), v))
}

/// `bakeoff power`.
#[derive(Debug, Args)]
pub struct PowerArgs {
    /// A/A run folders of `bakeoff ab` (the same stack on both sides), their rounds pooled.
    #[arg(required = true)]
    pub from: Vec<PathBuf>,
    /// The cell to replay, as its key (default: the folders' only A/B cell).
    #[arg(long)]
    pub cell: Option<String>,
    /// Trials per injected change.
    #[arg(long, default_value_t = 1000)]
    pub trials: usize,
    /// The changes injected into the candidate, percent slower, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [0.0, 1.0, 2.0, 3.0, 5.0])]
    pub changes: Vec<f64>,
    /// The verdict and length rules replayed (default: `bakeoff ab`'s; minutes are on the
    /// recorded clock).
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Seed of the trials' draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the table as JSON to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `bakeoff ab`.
#[derive(Debug, Args)]
pub struct AbArgs {
    /// The scenario (its matrix, and its `[ab]` table if it has one). Without it, the
    /// one-cell form: --baseline-model, --pipeline, --device, --prompt.
    pub scenario: Option<PathBuf>,
    /// The baseline side's libopenvino_c (or its folder).
    #[arg(long)]
    pub baseline_lib: Option<PathBuf>,
    /// The candidate side's libopenvino_c (or its folder).
    #[arg(long)]
    pub candidate_lib: Option<PathBuf>,
    /// One-cell form: the baseline's model folder.
    #[arg(long)]
    pub baseline_model: Option<PathBuf>,
    /// One-cell form: the candidate's model folder (default: the baseline's).
    #[arg(long)]
    pub candidate_model: Option<PathBuf>,
    /// steps (default: both prefill, then decode steps alternate one by one), alternate
    /// (whole generations one after the other), mixed (each pair either way at random, both
    /// compared in ab.md) or duet (both at once, a core each).
    #[arg(long, value_enum)]
    pub schedule: Option<crate::scenario::ab::Schedule>,
    /// The verdict and length rules (default: the `[ab]` table's).
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Pairs per round (both processes restart after each round).
    #[arg(long)]
    pub pairs_per_round: Option<usize>,
    /// Seed of the order inside each pair.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The metrics that must be decided before a cell stops adding pairs (repeatable;
    /// default decode_tokens_per_s and ttft_p50_ms).
    #[arg(long = "judge", value_name = "METRIC")]
    pub judge: Vec<String>,
    /// Calibrate instead of judging: a short A/A of the baseline side against itself
    /// (`--calibrate-rounds` rounds a cell), then per cell and metric the smallest change
    /// `--budget-minutes` could flag and the minutes `--effect` needs (calibrate.md).
    #[arg(long, conflicts_with = "resume")]
    pub calibrate: bool,
    /// --calibrate: rounds of A/A pairs a cell (even, at least 10: five blocks of two).
    #[arg(long, default_value_t = 10, requires = "calibrate")]
    pub calibrate_rounds: usize,
    /// --calibrate: the time budget asked about, minutes a cell (default: [ab.length]
    /// max_minutes).
    #[arg(long, requires = "calibrate")]
    pub budget_minutes: Option<f64>,
    /// --calibrate: the change to be flagged nine times in ten, percent.
    #[arg(long, default_value_t = 3.0, requires = "calibrate")]
    pub effect: f64,
    /// The run folder (default `reports/ab-<scenario>-<UTC time>`).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue an interrupted A/B run: finished cells are kept, a cell cut short continues
    /// from its recorded pairs. The folder alone is enough (it keeps the scenario in force
    /// and where it came from); a SCENARIO or flags given with it must say the same.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Run only the cells this expression selects (as `run --filter`).
    #[arg(long = "filter", value_name = "EXPR")]
    pub filters: Vec<crate::plan::select::Filter>,
    /// One-cell form: the pipeline.
    #[arg(long, value_parser = parse_pipeline)]
    pub pipeline: Option<PipelineKind>,
    /// One-cell form: the device [default: CPU].
    #[arg(long, value_parser = parse_device)]
    pub device: Option<Device>,
    /// One-cell form: the profile [default: reference].
    #[arg(long)]
    pub profile: Option<String>,
    /// One-cell form: the user message (through the chat template unless --raw).
    #[arg(long)]
    pub prompt: Option<String>,
    /// One-cell form: send --prompt as it is.
    #[arg(long)]
    pub raw: bool,
    /// One-cell form: new tokens at most [default: 32].
    #[arg(long)]
    pub max_new_tokens: Option<usize>,
    /// One-cell form: keep generating past eos (equal work per sample).
    #[arg(long)]
    pub ignore_eos: bool,
    /// What to print: the verdicts as markdown, or ab.json's content.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

impl AbArgs {
    /// The first one-cell-form flag given (they make no sense with a scenario).
    pub fn one_cell_flag(&self) -> Option<&'static str> {
        [
            ("--baseline-model", self.baseline_model.is_some()),
            ("--candidate-model", self.candidate_model.is_some()),
            ("--pipeline", self.pipeline.is_some()),
            ("--device", self.device.is_some()),
            ("--profile", self.profile.is_some()),
            ("--prompt", self.prompt.is_some()),
            ("--max-new-tokens", self.max_new_tokens.is_some()),
            ("--raw", self.raw),
            ("--ignore-eos", self.ignore_eos),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

/// `bakeoff generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The baked model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// kvcache or static128.
    #[arg(long, value_parser = parse_pipeline)]
    pub pipeline: PipelineKind,
    /// CPU, NPU (silicon) or NPU:host (the NPUW pipeline executed by the host CPU).
    #[arg(long, default_value = "CPU", value_parser = parse_device)]
    pub device: Device,
    /// Profile name; `reference` pins the CPU settings that give exact parity with openvino-genai.
    #[arg(long, default_value = "reference")]
    pub profile: String,
    /// A profile file to add to the built-in profiles.
    #[arg(long)]
    pub profiles_file: Option<PathBuf>,
    /// A user message, rendered through the model's chat template (or sent as is with --raw).
    #[arg(long, conflicts_with = "prompt_ids", required_unless_present = "prompt_ids")]
    pub prompt: Option<String>,
    /// Send --prompt as it is, without the chat template.
    #[arg(long, requires = "prompt")]
    pub raw: bool,
    /// Qwen3 thinking switch for the chat template.
    #[arg(long, value_parser = parse_on_off)]
    pub thinking: Option<bool>,
    /// Prompt token ids, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub prompt_ids: Option<Vec<i64>>,
    /// New tokens at most.
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Generations run first and not reported (the first pays one-time costs).
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    /// Measured generations (the JSON lists each under `repeats`; the text is the first's).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Keep generating past eos.
    #[arg(long)]
    pub ignore_eos: bool,
    /// static128: stop at a full window, or drop the oldest tokens.
    #[arg(long, value_enum, default_value_t)]
    pub overflow: Overflow,
    /// static128: padding side.
    #[arg(long, value_enum, default_value_t)]
    pub padding: Padding,
    /// static128: window length W (the IR `openvino_model_static{W}.xml`).
    #[arg(long, default_value_t = 128)]
    pub window: usize,
    /// static128: run the unsliced static IR (`..._full.xml`, lm_head over all W rows).
    #[arg(long)]
    pub full_lm_head: bool,
    /// Compile cache folder (CACHE_DIR).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Reasoning between `<think>` and `</think>`: shown as text, hidden, or split out.
    #[arg(long, value_enum, default_value_t)]
    pub reasoning: crate::text::stream::ReasoningPolicy,
    /// Print the visible text as it is generated (text format).
    #[arg(long)]
    pub stream: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Where a decision command writes its files, and what it prints.
#[derive(Debug, Args, Clone)]
pub struct DecisionOutput {
    /// Folder for the .md, .json and chart files (default: the candidate / run folder).
    #[arg(long = "out")]
    pub dir: Option<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `bakeoff recommend`.
#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Median TTFT at most this many ms.
    #[arg(long)]
    pub max_ttft_ms: Option<f64>,
    /// Median decode tokens/s at least this.
    #[arg(long)]
    pub min_tokens_per_s: Option<f64>,
    /// Prompts of this many tokens must be accepted (NPUW MAX_PROMPT_LEN, the static window).
    #[arg(long)]
    pub max_prompt_len: Option<u64>,
    /// Peak memory at most this many MiB.
    #[arg(long)]
    pub max_rss_mb: Option<f64>,
    /// Outputs must not hard-mismatch the goldens.
    #[arg(long)]
    pub exact: bool,
    /// Median host CPU time per decode token at most this many ms.
    #[arg(long)]
    pub max_cpu_ms_per_token: Option<f64>,
    /// Median package energy per decode token at most this many joules (needs RAPL).
    #[arg(long)]
    pub max_joules_per_token: Option<f64>,
    /// Rank the profiles that meet the constraints by speed (decode tokens/s), energy
    /// (joules per token) or cpu (host CPU ms per token).
    #[arg(long, value_enum, default_value_t = PreferArg::Speed)]
    pub prefer: PreferArg,
    /// Output options.
    #[command(flatten)]
    pub out: DecisionOutput,
}

/// `recommend --prefer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreferArg {
    /// The highest decode tokens/s.
    Speed,
    /// The least package energy per decode token.
    Energy,
    /// The least host CPU time per decode token.
    Cpu,
}

impl From<PreferArg> for crate::decide::recommend::Prefer {
    fn from(p: PreferArg) -> Self {
        match p {
            PreferArg::Speed => Self::Speed,
            PreferArg::Energy => Self::Energy,
            PreferArg::Cpu => Self::Cpu,
        }
    }
}

/// `bakeoff golden`.
#[derive(Debug, Args)]
pub struct GoldenArgs {
    /// record or check.
    #[command(subcommand)]
    pub action: GoldenAction,
}

/// What generates the transcripts `golden record` writes and `golden check` checks.
#[derive(Debug, Args, Clone)]
pub struct GoldenSource {
    /// The scenario: its models, prompts, generation settings and `[golden] dir`.
    pub scenario: PathBuf,
    /// Device.
    #[arg(long, default_value = "CPU", value_parser = parse_device)]
    pub device: Device,
    /// Profile; `reference` pins the CPU settings that give exact parity with openvino-genai.
    #[arg(long, default_value = "reference")]
    pub profile: String,
    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// `bakeoff golden record | check`.
#[derive(Debug, Subcommand)]
pub enum GoldenAction {
    /// Generate every prompt of a scenario and write `<golden dir>/<model>.json`. Refuses
    /// to change an existing golden unless --force: recording is never implicit.
    Record {
        /// Scenario, device, profile.
        #[command(flatten)]
        source: GoldenSource,
        /// The pipeline that records.
        #[arg(long, default_value = "kvcache", value_parser = parse_pipeline)]
        pipeline: PipelineKind,
        /// Replace goldens that differ (another model, other ids, other recording settings).
        #[arg(long)]
        force: bool,
    },
    /// Generate every prompt of a scenario and check it against the goldens: identical,
    /// near tie or hard mismatch; with both pipelines, also each against the other.
    Check {
        /// Scenario, device, profile.
        #[command(flatten)]
        source: GoldenSource,
        /// Pipelines to check (default: the scenario's).
        #[arg(long, value_parser = parse_pipeline, value_delimiter = ',')]
        pipeline: Vec<PipelineKind>,
        /// Near-tie threshold in logits (default: the scenario's `golden.near_tie`).
        #[arg(long)]
        near_tie: Option<f32>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `bakeoff profiles`.
#[derive(Debug, Args)]
pub struct ProfilesArgs {
    /// `show NAME` resolves one profile; nothing lists them all.
    #[command(subcommand)]
    pub action: Option<ProfilesAction>,
    /// A profile file to add to the built-in profiles.
    #[arg(long, global = true)]
    pub profiles_file: Option<PathBuf>,
}

/// `bakeoff profiles show | import | keys`.
#[derive(Debug, Subcommand)]
pub enum ProfilesAction {
    /// Turn an llm_bench load config (`-lc FILE`, a JSON object of properties) into a
    /// bakeoff profile, printed as TOML to add to a profiles file or a scenario.
    Import {
        /// The llm_bench load config.
        file: PathBuf,
        /// The new profile's name.
        #[arg(long)]
        name: String,
        /// The device llm_bench ran it on (`-d`): NPU properties go to the kvcache table.
        #[arg(long, default_value = "NPU", value_parser = parse_device)]
        device: Device,
    },
    /// Print the properties a profile resolves to, and where each value came from.
    Show {
        /// Profile name.
        name: String,
        /// Device.
        #[arg(long, default_value = "CPU", value_parser = parse_device)]
        device: Device,
        /// Pipeline.
        #[arg(long, default_value = "kvcache", value_parser = parse_pipeline)]
        pipeline: PipelineKind,
        /// A model folder to derive NPUW_LLM_BATCH_DIM / NPUW_LLM_SEQ_LEN_DIM from.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// Runtime options (whose plugin's defaults are printed for the keys left).
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Every property key a profile may set on a device: its kind, the values allowed and
    /// the installed plugin's default.
    Keys {
        /// Device.
        #[arg(long, default_value = "NPU", value_parser = parse_device)]
        device: Device,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// Runtime options (whose plugin's defaults are printed).
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
}

fn parse_pipeline(s: &str) -> Result<PipelineKind, String> {
    s.parse()
}

fn parse_device(s: &str) -> Result<Device, String> {
    s.parse()
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("`{s}`: allowed: on, off")),
    }
}
