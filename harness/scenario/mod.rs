//! Scenario files (TOML in `scenarios/`): models, prompt sets, the matrix
//! (pipelines x devices x profiles), generation settings, repetitions, timeouts, the
//! compile-cache policy and optional profile overrides. Unknown fields are rejected; errors
//! name the file, line and column, the field and what is allowed.

pub mod ab;
pub mod bounds;
pub mod search;

use crate::model::ir::KvLayout;
use crate::model::ModelDir;
use crate::pipeline_kind::PipelineKind;
use crate::pipelines::static128::WindowOptions;
use crate::pipelines::window::Overflow;
use crate::pipelines::GenerationConfig;
use crate::profiles::{Profile, ProfileSet};
use crate::runtime::Device;
use crate::text::chat::Message;
use crate::text::{PreparedPrompt, PromptInput, TextLayer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scenario as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in run folder names.
    pub name: String,
    /// What the scenario is for.
    #[serde(default)]
    pub description: String,
    /// Models to run (folders, relative to the scenario file).
    pub models: Vec<ModelEntry>,
    /// Prompts.
    pub prompts: PromptSet,
    /// The matrix.
    pub matrix: Matrix,
    /// Generation settings.
    #[serde(default)]
    pub generation: Generation,
    /// Warm-up and repetitions.
    #[serde(default)]
    pub measure: Measure,
    /// Per-cell timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Per-cell resource limits.
    #[serde(default)]
    pub limits: Limits,
    /// Compile-cache policy.
    #[serde(default)]
    pub cache: CachePolicy,
    /// NPU options.
    #[serde(default)]
    pub npu: NpuOptions,
    /// Profile overrides and user profiles (same format as the built-in profiles.toml).
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Profiles generated from a base and value lists (`[[sweep]]`), each added to the
    /// matrix's profiles (see `profiles::sweep`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<crate::profiles::sweep::Sweep>,
    /// Golden transcripts every sample is checked against (optional).
    pub golden: Option<GoldenRef>,
    /// How `compare` and `qualify` judge changes of this scenario's runs.
    #[serde(default)]
    pub compare: CompareSettings,
    /// Run the whole matrix several times in one bakeoff process (optional).
    pub soak: Option<Soak>,
    /// Two sides run interleaved by `bakeoff ab` (optional: without it, both sides are the
    /// scenario as written unless the command line changes one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<ab::AbSettings>,
    /// A budgeted search for the best profile (optional; see [`search`]): `bakeoff run`
    /// then runs its stages instead of the matrix's profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<search::Search>,
}

/// A soak: the matrix run `rounds` times by one bakeoff process, each round a run folder of
/// its own (`round-01/`, ...), to show that the harness holds up over hours: its own memory
/// stays flat across cells and every sample is recorded.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Soak {
    /// How many times the matrix runs (at least 2).
    pub rounds: usize,
    /// How much bakeoff's own peak resident memory may grow from the end of the first round
    /// to the end of the last, MiB, before the soak fails as a leak.
    #[serde(default = "default_max_harness_growth_mb")]
    pub max_harness_growth_mb: f64,
}

fn default_max_harness_growth_mb() -> f64 {
    8.0
}

/// Comparison settings of a scenario.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompareSettings {
    /// Noise thresholds by metric name, as fractions (`decode_tokens_per_s = 0.03`): a
    /// significant change smaller than this is no change. Unset metrics use the registry's.
    pub noise: BTreeMap<String, f64>,
}

/// The golden set a scenario is checked against.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenRef {
    /// The folder of golden files, one `<model name>.json` per model, relative to the
    /// scenario file.
    pub dir: PathBuf,
    /// A divergence is a near tie when the golden's top-1 minus top-2 logit at that step is
    /// below this (a precision flip); at or above it, a hard mismatch.
    #[serde(default = "default_near_tie")]
    pub near_tie: f32,
    /// The cells whose hard mismatches fail the run (empty lists: every cell). The verdicts
    /// of other cells are reported but do not fail it: a golden recorded with exact f32
    /// settings is expected to part from a bf16 or u8-KV cell somewhere.
    #[serde(default)]
    pub enforce: CellFilter,
}

/// A set of cells by pipeline, device and profile; an empty list matches everything.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CellFilter {
    /// Pipelines (empty: all).
    pub pipelines: Vec<PipelineKind>,
    /// Devices (empty: all).
    pub devices: Vec<Device>,
    /// Profiles (empty: all).
    pub profiles: Vec<String>,
}

impl CellFilter {
    /// Whether a cell of this pipeline, device and profile is in the set.
    pub fn matches(&self, pipeline: PipelineKind, device: Device, profile: &str) -> bool {
        (self.pipelines.is_empty() || self.pipelines.contains(&pipeline))
            && (self.devices.is_empty() || self.devices.contains(&device))
            && (self.profiles.is_empty() || self.profiles.iter().any(|p| p == profile))
    }
}

/// The default near-tie threshold, in logits: the precision flips seen on the fixtures
/// (u8 against f32 KV cache, NPUW host path against CPU) had margins of 0.02 to 0.03, and
/// margins under 0.1 are common on tiny models.
pub fn default_near_tie() -> f32 {
    0.1
}

/// One model of the scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The name in cell keys (defaults to the folder's name).
    pub name: Option<String>,
    /// The baked model folder, relative to the scenario file.
    pub path: PathBuf,
    /// static128 runs the folder's unsliced static IR (`openvino_model_static{W}_full.xml`:
    /// the lm_head over all W rows, the original design). List the same folder twice, once
    /// with this and another name, to measure what slicing buys.
    #[serde(default)]
    pub static_full_lm_head: bool,
}

/// Prompts: a JSONL file (`{"id": ..., "prompt": ...}` per line) and/or inline ones.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PromptSet {
    /// A JSONL file relative to the scenario file.
    pub file: Option<PathBuf>,
    /// Inline prompts.
    #[serde(default)]
    pub inline: Vec<PromptEntry>,
}

/// One prompt, or one conversation (`turns`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PromptEntry {
    /// A stable id (used in results and goldens; a conversation's turns are `ID#1`, `ID#2`,
    /// ...).
    pub id: String,
    /// The user message (or raw text when the chat template is off); empty for a
    /// conversation.
    #[serde(default)]
    pub prompt: String,
    /// An optional system message.
    #[serde(default)]
    pub system: Option<String>,
    /// A conversation's user turns, in order: each is generated with the whole history
    /// (the earlier turns and their answers) rendered through the chat template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<String>,
}

/// A conversation turn's prompt id: `ID#N`, N from 1.
pub fn turn_id(conversation: &str, turn: usize) -> String {
    format!("{conversation}#{turn}")
}

/// How a conversation's turns reach the pipeline (`[generation] history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryMode {
    /// The pipeline keeps its state between turns (kvcache on CPU: only the new turn is
    /// prefilled, as openvino-genai's chat mode keeps its KV cache).
    Keep,
    /// Every turn is generated anew from the whole history (the baseline).
    Recompute,
}

impl HistoryMode {
    /// How outputs name it.
    pub fn name(self) -> &'static str {
        match self {
            HistoryMode::Keep => "keep",
            HistoryMode::Recompute => "recompute",
        }
    }
}

impl PromptEntry {
    /// The chat messages of this prompt (a conversation's first turn).
    pub fn messages(&self) -> Vec<Message> {
        let mut m = Vec::new();
        if let Some(s) = &self.system {
            m.push(Message { role: "system".into(), content: s.clone() });
        }
        m.push(Message::user(self.turns.first().unwrap_or(&self.prompt).clone()));
        m
    }

    /// Whether this entry is a conversation.
    pub fn is_conversation(&self) -> bool {
        !self.turns.is_empty()
    }
}

/// The matrix: every combination is a cell (per model).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    /// kvcache and/or static128.
    pub pipelines: Vec<PipelineKind>,
    /// CPU, NPU, NPU:host.
    pub devices: Vec<Device>,
    /// Profile names (built-in or defined under `[profiles]`).
    pub profiles: Vec<String>,
    /// Combinations left out of the cross product, each a set of cells
    /// (`{ pipelines = ["static128"], profiles = ["balanced"] }`): a profile that differs
    /// from another only in NPU keys need not run its CPU cells twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<CellFilter>,
}

impl Matrix {
    /// Whether the matrix leaves this combination out (an `NPU` in an exclusion also
    /// matches the `NPU:host` cells it falls back to).
    pub fn excludes(&self, pipeline: PipelineKind, device: Device, profile: &str) -> bool {
        self.exclude.iter().any(|f| {
            f.matches(pipeline, device, profile)
                || (device == Device::NpuHost && f.matches(pipeline, Device::Npu, profile))
        })
    }
}

/// Generation settings shared by every cell.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Generation {
    /// New tokens at most.
    pub max_new_tokens: usize,
    /// Generate max_new_tokens even past eos (equal work per sample).
    pub ignore_eos: bool,
    /// Render prompts through the model's chat template (else send them raw).
    pub chat_template: bool,
    /// Qwen3 thinking switch (unset: the template's default).
    pub thinking: Option<bool>,
    /// static128 at a full window: stop, or truncate_left.
    pub overflow: Overflow,
    /// static128 window length.
    pub window: usize,
    /// How conversations run, each in every mode listed: `keep` (the pipeline's state
    /// between turns) and/or `recompute` (the whole history every turn).
    pub history: Vec<HistoryMode>,
}

impl Default for Generation {
    fn default() -> Self {
        Generation {
            max_new_tokens: 32,
            ignore_eos: false,
            chat_template: true,
            thinking: None,
            overflow: Overflow::Stop,
            window: 128,
            history: vec![HistoryMode::Keep],
        }
    }
}

/// Warm-up and repetitions per cell.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Measure {
    /// Warm-up generations per prompt, run and excluded.
    pub warmup: usize,
    /// Measured generations per prompt.
    pub repetitions: usize,
}

impl Default for Measure {
    fn default() -> Self {
        Measure { warmup: 1, repetitions: 3 }
    }
}

/// Per-cell timeouts, seconds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// From the cell's start to a compiled model.
    pub compile_s: f64,
    /// One generation.
    pub generate_s: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { compile_s: 300.0, generate_s: 120.0 }
    }
}

/// Per-cell resource limits, enforced on the cell's process.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Address space of the cell's process, MiB (RLIMIT_AS; OpenVINO reserves several GiB
    /// of address space beyond what it touches, so leave room). An allocation past it fails
    /// and the cell is `out_of_memory` instead of the machine swapping or the kernel's OOM
    /// killer picking a process.
    pub memory_mb: Option<u64>,
}

/// How cells use the compile cache (CACHE_DIR).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CachePolicy {
    /// cold, warm or both.
    pub policy: CacheMode,
}

/// Cold: a fresh CACHE_DIR per cell (compile_ms is a first compile). Warm: a shared
/// CACHE_DIR, compiled once before measuring (compile_ms is a cache load). Both: a cell
/// of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// Fresh cache per cell.
    Cold,
    /// Shared, primed cache.
    #[default]
    Warm,
    /// One cell of each.
    Both,
}

impl CacheMode {
    /// The cache modes cells are made for.
    pub fn cells(self) -> Vec<CacheMode> {
        match self {
            CacheMode::Both => vec![CacheMode::Cold, CacheMode::Warm],
            m => vec![m],
        }
    }

    /// The name in cell keys.
    pub fn name(self) -> &'static str {
        match self {
            CacheMode::Cold => "cold",
            CacheMode::Warm => "warm",
            CacheMode::Both => "both",
        }
    }
}

/// NPU options.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NpuOptions {
    /// Where no NPU is present, run `NPU` cells as `NPU:host` (NPUW host execution)
    /// instead of skipping them.
    pub host_fallback: bool,
}

/// A scenario file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ScenarioError {
    /// The file.
    pub path: String,
    /// What is wrong, with line/column and what is allowed.
    pub message: String,
}

/// A scenario with its paths resolved, its prompts loaded and its profiles merged.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file it came from.
    pub path: PathBuf,
    /// The scenario as written.
    pub scenario: Scenario,
    /// Models: (name, absolute folder).
    pub models: Vec<(String, PathBuf)>,
    /// Every prompt, file first then inline.
    pub prompts: Vec<PromptEntry>,
    /// Built-in profiles plus the scenario's, and the ones its sweeps generate.
    pub profiles: ProfileSet,
    /// The profiles the matrix runs: `matrix.profiles`, then every profile the sweeps
    /// generate (each once). The scenario as written keeps only its own list.
    pub matrix_profiles: Vec<String>,
    /// The file's text, kept for the run folder.
    pub text: String,
    /// The golden folder (absolute), when the scenario names one.
    pub golden_dir: Option<PathBuf>,
}

impl LoadedScenario {
    /// Read, parse and validate a scenario file.
    pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError { path: path.display().to_string(), message: format!("cannot read: {e}") })?;
        LoadedScenario::parse(path, text)
    }

    /// Parse and validate a scenario's `text` as if read from `path` (relative paths in it
    /// are relative to `path`'s folder).
    pub fn parse(path: &Path, text: String) -> Result<LoadedScenario, ScenarioError> {
        let err = |message: String| ScenarioError { path: path.display().to_string(), message };
        let scenario: Scenario = toml::from_str(&text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let models = resolve_models(&scenario, base).map_err(err)?;
        let prompts = load_prompts(&scenario.prompts, base).map_err(err)?;
        let mut profiles = ProfileSet::builtin();
        profiles
            .add(scenario.profiles.clone(), &format!("{} [profiles]", path.display()))
            .map_err(|e| err(e.message))?;
        validate(&scenario, &profiles, &prompts).map_err(err)?;
        let generated = crate::profiles::sweep::expand_all(&scenario.sweep, &mut profiles, &path.display().to_string())
            .map_err(err)?;
        let mut matrix_profiles = scenario.matrix.profiles.clone();
        matrix_profiles.extend(generated.into_iter().filter(|g| !scenario.matrix.profiles.contains(g)));
        let golden_dir = scenario.golden.as_ref().map(|g| base.join(&g.dir));
        Ok(LoadedScenario {
            path: path.to_path_buf(),
            scenario,
            models,
            prompts,
            profiles,
            matrix_profiles,
            text,
            golden_dir,
        })
    }

    /// Whether the model named `name` runs static128 on its unsliced static IR.
    pub fn static_full_lm_head(&self, name: &str) -> bool {
        self.scenario.models.iter().zip(&self.models).any(|(entry, (n, _))| n == name && entry.static_full_lm_head)
    }

    /// How a prompt of this scenario reaches the tokenizer: through the chat template (with
    /// the thinking switch) or raw.
    pub fn prompt_input(&self, p: &PromptEntry) -> PromptInput {
        let g = &self.scenario.generation;
        if g.chat_template {
            PromptInput::Chat { messages: p.messages(), enable_thinking: g.thinking }
        } else {
            PromptInput::Raw(p.prompt.clone())
        }
    }

    /// The generation settings for a model with these eos ids.
    pub fn generation_config(&self, eos_ids: Vec<i64>) -> GenerationConfig {
        let g = &self.scenario.generation;
        GenerationConfig { max_new_tokens: g.max_new_tokens, eos_ids, ignore_eos: g.ignore_eos }
    }

    /// static128's window for the model called `name` (whose pad id is `pad_id`): the
    /// scenario's window and overflow, left padding, and the unsliced lm_head when the
    /// scenario asks for it.
    pub fn window_options(&self, name: &str, pad_id: i64) -> WindowOptions {
        let g = &self.scenario.generation;
        WindowOptions {
            window: g.window,
            pad_id,
            padding: Default::default(),
            overflow: g.overflow,
            full_lm_head: self.static_full_lm_head(name),
        }
    }

    /// Open the model at `path` and prepare every prompt of the scenario for it (rendered
    /// through its chat template, tokenized), in scenario order: what every command that
    /// generates from a scenario starts with. The error names the model file or the prompt.
    pub fn prepare_model(&self, path: &Path) -> Result<PreparedModel, PrepareError> {
        let dir = ModelDir::open(path)?;
        let mut text = TextLayer::open(&dir)?;
        let prompts = self
            .prompts
            .iter()
            .map(|p| {
                text.prepare(&self.prompt_input(p)).map_err(|source| PrepareError::Prompt { id: p.id.clone(), source })
            })
            .collect::<Result<Vec<_>, PrepareError>>()?;
        let kv = dir.kv_layout();
        Ok(PreparedModel { dir, text, prompts, kv })
    }
}

/// Why a model could not be prepared for a scenario.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The model folder (missing, unreadable files).
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Its text layer (tokenizer, chat template).
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    /// One prompt (its template rendering or tokenization).
    #[error("prompt `{id}`: {source}")]
    Prompt {
        /// The prompt's id.
        id: String,
        /// Why.
        source: crate::text::TextError,
    },
}

/// A model of a scenario, opened, with every prompt prepared for it.
pub struct PreparedModel {
    /// The model folder.
    pub dir: ModelDir,
    /// Its text layer (tokenizer, chat template).
    pub text: TextLayer,
    /// The scenario's prompts, rendered and tokenized, in scenario order.
    pub prompts: Vec<PreparedPrompt>,
    /// The KV layout NPUW needs (an error where the IR has none).
    pub kv: Result<KvLayout, crate::model::ir::KvLayoutError>,
}

fn resolve_models(s: &Scenario, base: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    if s.models.is_empty() {
        return Err("models: at least one [[models]] entry with a `path` is required".into());
    }
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for m in &s.models {
        let path = base.join(&m.path);
        let name = m.name.clone().unwrap_or_else(|| folder_name(&path));
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("models: the name `{name}` is used twice; give each model a distinct `name`"));
        }
        out.push((name, path));
    }
    Ok(out)
}

fn load_prompts(set: &PromptSet, base: &Path) -> Result<Vec<PromptEntry>, String> {
    let mut prompts = Vec::new();
    if let Some(file) = &set.file {
        let path = base.join(file);
        // Bounded: a prompts file is read whole, and /dev/zero or a runaway generated file
        // would otherwise take all memory before any prompt's own limit is checked.
        let text =
            crate::io::read_text(&path).map_err(|e| format!("prompts.file {}: cannot read: {e}", path.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let p: PromptEntry = serde_json::from_str(line).map_err(|e| {
                format!(
                    "prompts.file {} line {}: {e} (each line is {{\"id\": ..., \"prompt\": ...}})",
                    path.display(),
                    i + 1
                )
            })?;
            prompts.push(p);
        }
    }
    prompts.extend(set.inline.iter().cloned());
    Ok(prompts)
}

fn validate(s: &Scenario, profiles: &ProfileSet, prompts: &[PromptEntry]) -> Result<(), String> {
    if prompts.is_empty() {
        return Err("prompts: no prompts (give `file` or `[[prompts.inline]]` entries)".into());
    }
    let mut ids: Vec<&str> = prompts.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("prompts: the id `{}` is used twice; ids must be unique", w[0]));
    }
    let m = &s.matrix;
    for (field, empty) in
        [("pipelines", m.pipelines.is_empty()), ("devices", m.devices.is_empty()), ("profiles", m.profiles.is_empty())]
    {
        if empty {
            return Err(format!("matrix.{field}: empty; the matrix needs at least one"));
        }
    }
    for p in &m.profiles {
        if profiles.get(p).is_none() {
            return Err(format!("matrix.profiles: unknown profile `{p}`; allowed: {}", profiles.names().join(", ")));
        }
    }
    validate_exclusions(m)?;
    validate_conversations(s, prompts)?;
    if let Some(g) = &s.golden {
        if g.near_tie.is_nan() || g.near_tie < 0.0 {
            return Err(format!("golden.near_tie: must be a number of logits >= 0, got {}", g.near_tie));
        }
        if let Some(p) = g.enforce.profiles.iter().find(|p| !m.profiles.contains(p)) {
            return Err(format!(
                "golden.enforce.profiles: `{p}` is not in matrix.profiles; allowed: {}",
                m.profiles.join(", ")
            ));
        }
    }
    for (name, v) in &s.compare.noise {
        if crate::metrics::metric(name).is_none() {
            let names: Vec<&str> = crate::metrics::METRICS.iter().map(|m| m.name).collect();
            return Err(format!("compare.noise: unknown metric `{name}`; allowed: {}", names.join(", ")));
        }
        if v.is_nan() || *v < 0.0 {
            return Err(format!("compare.noise.{name}: must be a fraction >= 0 (0.05 = 5%), got {v}"));
        }
    }
    if let Some(soak) = &s.soak {
        if soak.rounds < 2 {
            return Err(format!("soak.rounds: must be at least 2 (a soak repeats the matrix), got {}", soak.rounds));
        }
        if soak.max_harness_growth_mb.is_nan() || soak.max_harness_growth_mb < 0.0 {
            return Err(format!("soak.max_harness_growth_mb: must be MiB >= 0, got {}", soak.max_harness_growth_mb));
        }
    }
    if let Some(ab) = &s.ab {
        let names: Vec<String> =
            s.models.iter().map(|m| m.name.clone().unwrap_or_else(|| folder_name(&m.path))).collect();
        ab.validate(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    if let Some(search) = &s.search {
        validate_search(s, search, profiles)?;
    }
    validate_sizes(s, prompts)
}

/// A prompt is a message or a conversation, never both; a conversation needs the chat
/// template (its history is rendered through it) and is not for A/B pairs (a pair is one
/// generation a side).
fn validate_conversations(s: &Scenario, prompts: &[PromptEntry]) -> Result<(), String> {
    for p in prompts {
        let what = format!("prompts: `{}`", p.id);
        match (p.prompt.is_empty(), p.turns.is_empty()) {
            (true, true) => return Err(format!("{what} has neither `prompt` nor `turns`; give one")),
            (false, false) => return Err(format!("{what} has both `prompt` and `turns`; give one")),
            _ => {}
        }
        if p.turns.is_empty() {
            continue;
        }
        if p.id.contains('#') {
            return Err(format!("{what}: a conversation's id may not contain `#` (its turns are `ID#N`)"));
        }
        if !s.generation.chat_template {
            return Err(format!("{what} is a conversation, which needs `generation.chat_template = true`"));
        }
        if s.ab.is_some() {
            return Err(format!("{what} is a conversation; [ab] pairs single generations, so give it prompts"));
        }
        if s.matrix.pipelines.contains(&PipelineKind::Genai) {
            return Err(format!(
                "{what} is a conversation, which the genai worker does not run; matrix.pipelines: kvcache and static128 \
                 run conversations"
            ));
        }
        if p.turns.len() > bounds::MAX_TURNS {
            return Err(format!("{what}: {} turns; allowed: up to {}", p.turns.len(), bounds::MAX_TURNS));
        }
    }
    if s.generation.history.is_empty() {
        return Err("generation.history: empty; allowed: [\"keep\"], [\"recompute\"] or both".into());
    }
    Ok(())
}

/// Each exclusion names something, and only what the matrix has: an empty one would drop
/// every cell, and a misspelt profile would drop none without a word.
fn validate_exclusions(m: &Matrix) -> Result<(), String> {
    for (i, f) in m.exclude.iter().enumerate() {
        let what = format!("matrix.exclude[{i}]");
        if f.pipelines.is_empty() && f.devices.is_empty() && f.profiles.is_empty() {
            return Err(format!("{what}: names no pipeline, device or profile, so it would exclude every cell"));
        }
        if let Some(p) = f.profiles.iter().find(|p| !m.profiles.contains(p)) {
            return Err(format!(
                "{what}.profiles: `{p}` is not in matrix.profiles; allowed: {}",
                m.profiles.join(", ")
            ));
        }
        if let Some(p) = f.pipelines.iter().find(|p| !m.pipelines.contains(p)) {
            let names: Vec<String> = m.pipelines.iter().map(ToString::to_string).collect();
            return Err(format!("{what}.pipelines: `{p}` is not in matrix.pipelines; allowed: {}", names.join(", ")));
        }
        let listed = |d: &Device| m.devices.contains(d) || (*d == Device::Npu && m.devices.contains(&Device::NpuHost));
        if let Some(d) = f.devices.iter().find(|d| !listed(d)) {
            let names: Vec<String> = m.devices.iter().map(ToString::to_string).collect();
            return Err(format!("{what}.devices: `{d}` is not in matrix.devices; allowed: {}", names.join(", ")));
        }
    }
    Ok(())
}

/// A search runs one (model, pipeline, device) and its own stages: it takes no other way of
/// choosing the matrix's profiles or repeating it.
fn validate_search(s: &Scenario, search: &search::Search, profiles: &ProfileSet) -> Result<(), String> {
    search.check()?;
    let m = &s.matrix;
    let one = |field: &str, n: usize| {
        match n {
        1 => Ok(()),
        _ => Err(format!(
            "matrix.{field}: a search runs one model, one pipeline and one device, got {n} {field}; a scenario per              combination"
        )),
    }
    };
    one("pipelines", m.pipelines.len())?;
    one("devices", m.devices.len())?;
    if s.models.len() != 1 {
        return Err(format!("models: a search runs one model, got {}", s.models.len()));
    }
    if m.profiles != [search.base.clone()] {
        return Err(format!(
            "matrix.profiles: with [search], the matrix runs the search's base only: profiles = [\"{}\"]",
            search.base
        ));
    }
    if m.devices[0].ov_name() != search.device {
        return Err(format!(
            "search.device: `{}` is not the matrix's device {} (whose keys the search varies)",
            search.device, m.devices[0]
        ));
    }
    for (table, present) in [("[[sweep]]", !s.sweep.is_empty()), ("[soak]", s.soak.is_some()), ("[ab]", s.ab.is_some())]
    {
        if present {
            return Err(format!("search: a scenario with [search] has no {table}; the search makes its own stages"));
        }
    }
    // The screening sweep resolves every one-factor profile: a wrong key or value is refused
    // here, before any stage runs.
    let mut check = profiles.clone();
    crate::profiles::sweep::expand_all(&[search.screen_sweep()], &mut check, "search")
        .map(|_| ())
        .map_err(|e| e.replacen("sweep[0]", "search", 1))
}

fn folder_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Every size-like field within its bound (see [`bounds`] for the reasons).
fn validate_sizes(s: &Scenario, prompts: &[PromptEntry]) -> Result<(), String> {
    use bounds::*;
    let g = &s.generation;
    check("generation.max_new_tokens", g.max_new_tokens, 1, MAX_NEW_TOKENS, "the longest context of the models")?;
    check("generation.window", g.window, 1, MAX_WINDOW, "the longest context of the models")?;
    check("measure.repetitions", s.measure.repetitions, 1, MAX_REPETITIONS, "days of generation")?;
    check("measure.warmup", s.measure.warmup, 0, MAX_WARMUP, "warm-up needs a handful")?;
    check("models", s.models.len(), 1, MAX_MODELS, "a matrix of thousands of cells already")?;
    check("prompts", prompts.len(), 1, MAX_PROMPTS, "a larger set is a generated file gone wrong")?;
    if let Some(p) = prompts.iter().find(|p| {
        p.prompt.len() + p.system.as_ref().map_or(0, String::len) + p.turns.iter().map(String::len).sum::<usize>()
            > MAX_PROMPT_BYTES
    }) {
        return Err(format!(
            "prompts: prompt `{}` has {} bytes; allowed: up to {MAX_PROMPT_BYTES} (1 MiB, about 250,000 tokens, past \
             any model's context)",
            p.id,
            p.prompt.len()
        ));
    }
    check_seconds("timeouts.compile_s", s.timeouts.compile_s)?;
    check_seconds("timeouts.generate_s", s.timeouts.generate_s)?;
    if let Some(mb) = s.limits.memory_mb {
        check("limits.memory_mb", mb, 1, MAX_MEMORY_MB, "16 TiB, past any machine")?;
    }
    if let Some(soak) = &s.soak {
        check("soak.rounds", soak.rounds, 2, MAX_SOAK_ROUNDS, "weeks of the smallest matrix")?;
    }
    Ok(())
}
