//! Helpers shared by the integration tests: the baked fixture, the runtime, pipelines and
//! the openvino-genai reference transcripts written at setup (`make setup`).
#![allow(dead_code)]

use bakeoff::model::ModelDir;
use bakeoff::pipeline_kind::PipelineKind;
use bakeoff::pipelines::load::{load, Loaded};
use bakeoff::pipelines::static128::WindowOptions;
use bakeoff::profiles::ProfileSet;
use bakeoff::runtime::{Device, Runtime};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The baked SmolLM2 fixture. Missing fixtures fail loudly: tests never skip them.
pub fn smollm2() -> ModelDir {
    let dir = repo().join("models/smollm2-135m");
    assert!(dir.join("bake.json").exists(), "{} is not baked: run `make setup` first", dir.display());
    ModelDir::open(&dir).unwrap()
}

/// The baked tiny Qwen3 fixture (the real Qwen3 tokenizer, seeded weights).
pub fn qwen3() -> ModelDir {
    let dir = repo().join("models/qwen3-tiny");
    assert!(dir.join("bake.json").exists(), "{} is not baked: run `make setup` first", dir.display());
    ModelDir::open(&dir).unwrap()
}

/// The OpenVINO runtime from the project's venv.
pub fn runtime() -> Runtime {
    Runtime::open(None).expect("OpenVINO runtime (run `make setup`)")
}

/// Compile `kind` of `model` for `device` under a built-in profile.
pub fn pipeline(rt: &Runtime, model: &ModelDir, kind: PipelineKind, device: Device, profile: &str) -> Loaded {
    pipeline_with(rt, model, kind, device, profile, &[])
}

/// Compile `kind` of `model` for `device` under a built-in profile with some keys overridden.
pub fn pipeline_with(
    rt: &Runtime,
    model: &ModelDir,
    kind: PipelineKind,
    device: Device,
    profile: &str,
    overrides: &[(&str, &str)],
) -> Loaded {
    let kv = bakeoff::profiles::needs_kv_layout(device, kind).then(|| model.kv_layout().unwrap());
    let mut props = ProfileSet::builtin().resolve_for(profile, device, kind, kv).unwrap();
    for (k, v) in overrides {
        props.set(k, v.to_string(), "test override".into());
    }
    let window = WindowOptions {
        window: 128,
        pad_id: model.pad_id(),
        padding: Default::default(),
        overflow: Default::default(),
        full_lm_head: false,
    };
    match load(rt, model, kind, device.ov_name(), &props.pairs(), window) {
        Ok(l) => l,
        Err(e) => panic!("{kind} on {device} ({profile}) did not load: {e}"),
    }
}

/// One prompt of a reference file written by tools/reference.py.
#[derive(Debug, Deserialize)]
pub struct RefPrompt {
    pub id: String,
    pub prompt: String,
    pub rendered: String,
    pub prompt_ids: Vec<i64>,
    #[serde(default)]
    pub ignore_eos_ids: Vec<i64>,
    /// The generation that stops at eos (None: made with `--ignore-eos-only`).
    #[serde(default)]
    pub natural_ids: Option<Vec<i64>>,
    /// GenAI refused the prompt (written with `--record-refusals`): its message.
    #[serde(default)]
    pub refused: Option<String>,
}

impl RefPrompt {
    /// The ids of the generation that stopped at eos; panics for a reference made without it.
    pub fn natural(&self) -> &[i64] {
        self.natural_ids.as_deref().unwrap_or_else(|| panic!("{}: the reference has no natural_ids", self.id))
    }
}

/// A reference file.
#[derive(Debug, Deserialize)]
pub struct Reference {
    pub device: String,
    /// The properties GenAI's pipeline was made with.
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, serde_json::Value>,
    pub max_new_tokens: usize,
    pub prompts: Vec<RefPrompt>,
}

/// Read a reference file under the fixture's `reference/` folder.
pub fn reference(model: &ModelDir, name: &str) -> Reference {
    reference_file(&model.root.join("reference").join(name), "make setup")
}

/// Panics unless every NPU setting `reference` was made with is what `profile` resolves to on
/// NPU:host for `kind` (GenAI's MAX_PROMPT_LEN and MIN_RESPONSE_LEN are NPUW_LLM_ keys), so
/// that an id comparison compares pipelines compiled alike.
pub fn assert_npu_settings_agree(reference: &Reference, model: &ModelDir, kind: PipelineKind, profile: &str) {
    let kv = Some(model.kv_layout().unwrap());
    let resolved = ProfileSet::builtin().resolve_for(profile, Device::NpuHost, kind, kv).unwrap();
    for (key, value) in &reference.settings {
        let key = if key.starts_with("NPU") { key.clone() } else { format!("NPUW_LLM_{key}") };
        let value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        assert_eq!(resolved.get(&key), Some(value.as_str()), "{key}: GenAI's reference against {profile}");
    }
}

/// Read the reference file at `path`, which `setup` (the make target that writes it) makes.
pub fn reference_file(path: &Path, setup: &str) -> Reference {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e} (run `{setup}`)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A copy of a model folder made of symlinks, so one file can be replaced cheaply.
pub fn linked_copy(model: &Path, into: &Path) -> PathBuf {
    let dst = into.join(model.file_name().unwrap());
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(model).unwrap().flatten() {
        if entry.path().is_file() {
            std::os::unix::fs::symlink(entry.path(), dst.join(entry.file_name())).unwrap();
        }
    }
    dst
}

/// A linked copy of `model` in `into` whose weights file holds only its first 1%: a download
/// or copy cut short.
pub fn truncated_weights_copy(model: &Path, into: &Path) -> PathBuf {
    let copy = linked_copy(model, into);
    let bin = copy.join("openvino_model.bin");
    let full = std::fs::read(std::fs::canonicalize(&bin).unwrap()).unwrap();
    std::fs::remove_file(&bin).unwrap();
    std::fs::write(&bin, &full[..full.len() / 100]).unwrap();
    copy
}

/// A cell spec for `key` on `model_dir` with `prompts`: a 128-token left-padded window, no
/// properties, cache or limits, 8 new tokens past eos, 1 warm-up and 1 repetition, not
/// driven. Tests change what they are about with struct-update syntax.
pub fn cell_spec(
    key: bakeoff::plan::CellKey,
    model_dir: PathBuf,
    prompts: Vec<bakeoff::executor::CellPrompt>,
) -> bakeoff::executor::CellSpec {
    bakeoff::executor::CellSpec {
        genai_config: Default::default(),
        key,
        model_dir,
        properties: Default::default(),
        prompts,
        max_new_tokens: 8,
        ignore_eos: true,
        eos_ids: vec![],
        window: bakeoff::pipelines::static128::WindowOptions {
            window: 128,
            pad_id: 0,
            padding: Default::default(),
            overflow: Default::default(),
            full_lm_head: false,
        },
        measure: bakeoff::scenario::Measure { warmup: 1, repetitions: 1 },
        timeouts: Default::default(),
        limits: Default::default(),
        cache_dir: None,
        cache_mode: Default::default(),
        openvino_lib: None,
        history: vec![bakeoff::scenario::HistoryMode::Keep],
        driven: false,
    }
}

/// Run the `bakeoff` binary from the repository root, with extra environment variables.
pub fn bakeoff_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bakeoff"));
    cmd.args(args).current_dir(repo());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Run the `bakeoff` binary from the repository root.
pub fn bakeoff(args: &[&str]) -> std::process::Output {
    bakeoff_env(args, &[])
}

/// A copy of a shipped scenario in `dir` with its relative paths made absolute (models,
/// prompt file, golden folder), `extra` TOML appended.
pub fn scenario_copy(name: &str, dir: &Path, extra: &str) -> PathBuf {
    let scenarios = repo().join("scenarios");
    let text = std::fs::read_to_string(scenarios.join(name)).unwrap();
    let text = text
        .replace("\"../", &format!("\"{}/", repo().display()))
        .replace("\"prompts/", &format!("\"{}/prompts/", scenarios.display()));
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n{extra}\n")).unwrap();
    path
}

/// A small kvcache CPU scenario for fault and hostile-input tests: one prompt, 8 tokens,
/// two repetitions, cold caches.
pub const FAULT_SCENARIO: &str = r#"
name = "faults"
[[models]]
path = "MODEL"
[[prompts.inline]]
id = "capital"
prompt = "What is the capital of France?"
[matrix]
pipelines = ["kvcache"]
devices = ["CPU"]
profiles = ["aggressive", "balanced", "conservative", "reference"]
[generation]
max_new_tokens = 8
ignore_eos = true
[measure]
warmup = 0
repetitions = 2
# A healthy cold compile of the 135M fixture takes 1-3 s and a generation of 8 tokens well
# under a second on any x86-64 CPU the plugin supports (AVX2 included); these timeouts are
# ten times that and more, so only the fault hook's hangs reach them.
[timeouts]
compile_s = 60
generate_s = 10
[cache]
policy = "cold"
"#;

/// The matrix line of FAULT_SCENARIO: its four profiles.
pub const ALL_PROFILES: &str = r#"profiles = ["aggressive", "balanced", "conservative", "reference"]"#;

/// FAULT_SCENARIO on the SmolLM2 fixture, written to `dir/name`: each (from, to) of `edits`
/// replaced (every `from` must be there), then `extra` TOML appended.
pub fn fault_scenario(dir: &Path, name: &str, edits: &[(&str, &str)], extra: &str) -> PathBuf {
    fault_scenario_for(&smollm2().root, dir, name, edits, extra)
}

/// FAULT_SCENARIO on the model folder `model`, as [`fault_scenario`] writes it.
pub fn fault_scenario_for(model: &Path, dir: &Path, name: &str, edits: &[(&str, &str)], extra: &str) -> PathBuf {
    let mut text = FAULT_SCENARIO.replace("MODEL", model.to_str().unwrap());
    for (from, to) in edits {
        assert!(text.contains(from), "FAULT_SCENARIO has no `{from}`");
        text = text.replace(from, to);
    }
    text.push_str(extra);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A scenario of one kvcache cell on CPU `reference` on the SmolLM2 fixture: `prompt` is
/// the body of its one `[[prompts.inline]]` entry, `generation` that of `[generation]`, and
/// `rest` follows (a `[golden]` table, say).
pub fn kvcache_cpu_scenario(name: &str, prompt: &str, generation: &str, rest: &str) -> String {
    format!(
        "name = \"{name}\"\n[[models]]\npath = \"{model}\"\n[[prompts.inline]]\n{prompt}\n[matrix]\n\
         pipelines = [\"kvcache\"]\ndevices = [\"CPU\"]\nprofiles = [\"reference\"]\n[generation]\n{generation}\n{rest}\n",
        model = smollm2().root.display()
    )
}
