//! Golden greedy transcripts: one JSON file per model in a golden
//! folder (`golden/<model>.json`), holding the model's fingerprint, how the transcripts
//! were recorded, and per prompt the prompt, its rendering and ids, the output ids and text,
//! and the top-2 margin at every step. `bakeoff golden record` writes them (never anything
//! else: recording is its own command); `bakeoff golden check` and every `bakeoff run` whose
//! scenario names a golden folder check transcripts against them ([`divergence`], and `crate::correctness` for a run).

pub mod divergence;

use crate::model::ModelFingerprint;
use crate::pipeline_kind::PipelineKind;
use crate::pipelines::{StopReason, Transcript};
use crate::profiles::ResolvedProfile;
use crate::runtime::Device;
use crate::scenario::{LoadedScenario, PromptEntry};
use crate::text::PreparedPrompt;
use divergence::{compare_prompts, Side, Verdict};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The golden file format version this bakeoff reads and writes.
pub const GOLDEN_FORMAT: u32 = 1;

/// One golden file: every golden transcript of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenFile {
    /// Format version ([`GOLDEN_FORMAT`]).
    pub bakeoff_golden: u32,
    /// The model's name in scenarios.
    pub model: String,
    /// The model the transcripts belong to.
    pub fingerprint: ModelFingerprint,
    /// How they were recorded.
    pub recorded: Recorded,
    /// One transcript per prompt id, sorted by id.
    pub transcripts: Vec<GoldenTranscript>,
}

/// How a golden file was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// The pipeline that produced the transcripts.
    pub pipeline: PipelineKind,
    /// The device.
    pub device: Device,
    /// The profile name.
    pub profile: String,
    /// The properties compiled with.
    pub properties: ResolvedProfile,
    /// OpenVINO's build number.
    pub openvino_version: String,
    /// bakeoff's version.
    pub harness_version: String,
}

/// One prompt's golden transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenTranscript {
    /// The prompt's id in the scenario.
    pub prompt_id: String,
    /// The user message (or raw text).
    pub prompt: String,
    /// The system message, if any.
    pub system: Option<String>,
    /// Whether the chat template rendered the prompt.
    pub chat_template: bool,
    /// Qwen3's thinking switch (None: the template's default).
    pub thinking: Option<bool>,
    /// The text the tokenizer saw.
    pub rendered_prompt: Option<String>,
    /// Prompt ids.
    pub prompt_ids: Vec<i64>,
    /// max_new_tokens of the recording.
    pub max_new_tokens: usize,
    /// Whether generation went on past eos.
    pub ignore_eos: bool,
    /// The generated ids.
    pub output_ids: Vec<i64>,
    /// The generated text, special tokens dropped.
    pub text: String,
    /// Why generation ended.
    pub stop_reason: StopReason,
    /// Top-1 minus top-2 logit at every step.
    pub margins: Vec<f32>,
}

impl GoldenTranscript {
    /// The output side of a comparison.
    pub fn side(&self) -> Side<'_> {
        Side { ids: &self.output_ids, margins: &self.margins }
    }

    /// Check a transcript of the same prompt against this golden.
    pub fn check(&self, t: &Transcript, near_tie: f32) -> Verdict {
        if let Some(v) = compare_prompts(&self.prompt_ids, &t.prompt_ids) {
            return v;
        }
        let margins: Vec<f32> = t.steps.iter().map(|s| s.margin).collect();
        divergence::compare(self.side(), Side { ids: &t.output_ids, margins: &margins }, near_tie)
    }
}

/// A golden file or folder that cannot be used. Each names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct GoldenError {
    /// The golden file.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// The golden file of `model` in `dir`.
pub fn golden_path(dir: &Path, model: &str) -> PathBuf {
    dir.join(format!("{model}.json"))
}

/// The goldens a run folder was checked against, by model (none when it has no snapshot).
pub fn read_snapshot(run_dir: &Path) -> Result<std::collections::BTreeMap<String, GoldenFile>, GoldenError> {
    let mut out = std::collections::BTreeMap::new();
    let snapshot = run_dir.join(crate::results::folder::file::GOLDEN_SNAPSHOT);
    let Ok(entries) = std::fs::read_dir(snapshot) else { return Ok(out) };
    for path in entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let file = GoldenFile::read(&path)?;
        out.insert(file.model.clone(), file);
    }
    Ok(out)
}

impl GoldenFile {
    /// Read a golden file; a corrupted one is an error naming the line and column.
    pub fn read(path: &Path) -> Result<GoldenFile, GoldenError> {
        let err = |message: String| GoldenError { path: path.display().to_string(), message };
        if !path.exists() {
            return Err(err(
                "cannot read (it does not exist); record it with `bakeoff golden record SCENARIO` (recording is never \
                 implicit)"
                    .into(),
            ));
        }
        let text = crate::io::read_text(path).map_err(|e| err(e.to_string()))?;
        let file: GoldenFile =
            serde_json::from_str(&text).map_err(|e| err(format!("not a golden file: {e} (format {GOLDEN_FORMAT})")))?;
        if file.bakeoff_golden != GOLDEN_FORMAT {
            return Err(err(format!(
                "bakeoff_golden: format {} is not supported; this bakeoff reads format {GOLDEN_FORMAT}",
                file.bakeoff_golden
            )));
        }
        if let Some(t) = file.transcripts.iter().find(|t| t.margins.len() != t.output_ids.len()) {
            return Err(err(format!(
                "prompt `{}`: {} margins for {} output ids; each step has one margin",
                t.prompt_id,
                t.margins.len(),
                t.output_ids.len()
            )));
        }
        Ok(file)
    }

    /// Write the file atomically, transcripts sorted by prompt id.
    pub fn write(&mut self, path: &Path) -> Result<(), GoldenError> {
        self.transcripts.sort_by(|a, b| a.prompt_id.cmp(&b.prompt_id));
        let err = |message: String| GoldenError { path: path.display().to_string(), message };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        text.push('\n');
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| err(format!("cannot create the folder: {e}")))?;
        }
        crate::io::write_atomic(path, text.as_bytes()).map_err(|e| err(format!("cannot write: {e}")))
    }

    /// The golden transcript of a prompt id.
    pub fn transcript(&self, prompt_id: &str) -> Option<&GoldenTranscript> {
        self.transcripts.iter().find(|t| t.prompt_id == prompt_id)
    }
}

/// A scenario's prompt as it would be checked: the entry and its rendering for this model.
pub struct ScenarioPrompt<'a> {
    /// The prompt as written in the scenario.
    pub entry: &'a PromptEntry,
    /// Its rendering and ids for this model.
    pub prepared: &'a PreparedPrompt,
}

/// Why a golden file cannot check a scenario's prompts.
#[derive(Debug)]
pub enum Unusable {
    /// Bad input: another model, a prompt never recorded, different settings.
    Input(GoldenError),
    /// The same prompt with the same settings now tokenizes differently: the text layer
    /// changed (a correctness failure).
    Prompt(GoldenError),
}

impl GoldenFile {
    /// Check that this golden file can check `prompts` of `scenario` on a model with
    /// `fingerprint`: the same model, every prompt recorded with the same text and
    /// settings, and the same prompt ids.
    pub fn usable_for(
        &self,
        path: &Path,
        fingerprint: &ModelFingerprint,
        scenario: &LoadedScenario,
        prompts: &[ScenarioPrompt],
    ) -> Result<(), Unusable> {
        let err = |message: String| GoldenError { path: path.display().to_string(), message };
        let differs = self.fingerprint.differences(fingerprint);
        if !differs.is_empty() {
            return Err(Unusable::Input(err(format!(
                "golden from another model: {} differ from the model folder's (golden recorded for model `{}`); \
                 check against the model it was recorded from, or record a new golden",
                differs.join(", "),
                self.model
            ))));
        }
        let g = &scenario.scenario.generation;
        for p in prompts {
            self.turns_usable_for(&err, scenario, p)?;
            if p.entry.is_conversation() {
                continue;
            }
            let id = &p.entry.id;
            let Some(t) = self.transcript(id) else {
                return Err(Unusable::Input(err(format!(
                    "no golden transcript for prompt `{id}` (it has: {}); record it with `bakeoff golden record {}`",
                    self.transcripts.iter().map(|t| t.prompt_id.as_str()).collect::<Vec<_>>().join(", "),
                    scenario.path.display()
                ))));
            };
            let settings = [
                ("prompt", format!("{:?}", t.prompt), format!("{:?}", p.entry.prompt)),
                ("system", format!("{:?}", t.system), format!("{:?}", p.entry.system)),
                ("generation.chat_template", t.chat_template.to_string(), g.chat_template.to_string()),
                ("generation.thinking", format!("{:?}", t.thinking), format!("{:?}", g.thinking)),
            ];
            if let Some((field, golden, now)) = settings.iter().find(|(_, a, b)| a != b) {
                return Err(Unusable::Input(err(format!(
                    "prompt `{id}`: recorded with {field} = {golden}, the scenario has {now}; \
                     a golden only checks the prompt it was recorded for"
                ))));
            }
            if let Some(v) = compare_prompts(&t.prompt_ids, &p.prepared.ids) {
                return Err(Unusable::Prompt(err(format!("prompt `{id}`: {v}"))));
            }
        }
        Ok(())
    }
}

impl GoldenFile {
    /// A conversation's turns each have a transcript recorded with the same user turn and
    /// settings, and the first turn's prompt ids are the scenario's (later turns' histories
    /// hold the answers, which the checks compare).
    fn turns_usable_for(
        &self,
        err: &dyn Fn(String) -> GoldenError,
        scenario: &LoadedScenario,
        p: &ScenarioPrompt,
    ) -> Result<(), Unusable> {
        let g = &scenario.scenario.generation;
        for (i, user) in p.entry.turns.iter().enumerate() {
            let id = crate::scenario::turn_id(&p.entry.id, i + 1);
            let Some(t) = self.transcript(&id) else {
                return Err(Unusable::Input(err(format!(
                    "no golden transcript for turn `{id}` of conversation `{}`; record it with `bakeoff golden record {}`",
                    p.entry.id,
                    scenario.path.display()
                ))));
            };
            let settings = [
                ("turn", format!("{:?}", t.prompt), format!("{user:?}")),
                ("system", format!("{:?}", t.system), format!("{:?}", p.entry.system)),
                ("generation.thinking", format!("{:?}", t.thinking), format!("{:?}", g.thinking)),
            ];
            if let Some((field, golden, now)) = settings.iter().find(|(_, a, b)| a != b) {
                return Err(Unusable::Input(err(format!(
                    "turn `{id}`: recorded with {field} = {golden}, the scenario has {now}; \
                     a golden only checks the conversation it was recorded for"
                ))));
            }
            if i == 0 {
                if let Some(v) = compare_prompts(&t.prompt_ids, &p.prepared.ids) {
                    return Err(Unusable::Prompt(err(format!("turn `{id}`: {v}"))));
                }
            }
        }
        Ok(())
    }
}

/// The golden files a scenario names, each checked usable for its model and prompts (see
/// [`GoldenFile::usable_for`]); empty when the scenario names no golden folder.
pub fn load_for_scenario(
    scenario: &LoadedScenario,
) -> Result<std::collections::BTreeMap<String, GoldenFile>, Unusable> {
    let mut out = std::collections::BTreeMap::new();
    let Some(dir) = &scenario.golden_dir else { return Ok(out) };
    for (name, model_dir) in &scenario.models {
        let path = golden_path(dir, name);
        let input = |message: String| Unusable::Input(GoldenError { path: path.display().to_string(), message });
        let golden = GoldenFile::read(&path).map_err(Unusable::Input)?;
        let model = crate::model::ModelDir::open(model_dir).map_err(|e| input(e.to_string()))?;
        if let Some(vocab) = model.vocab_size() {
            for t in &golden.transcripts {
                for (field, ids) in [("prompt_ids", &t.prompt_ids), ("output_ids", &t.output_ids)] {
                    crate::model::check_token_ids(ids, vocab)
                        .map_err(|e| input(format!("prompt `{}`, {field}: {e}", t.prompt_id)))?;
                }
            }
        }
        let fingerprint = model.fingerprint().map_err(|e| input(e.to_string()))?;
        let mut text = crate::text::TextLayer::open(&model).map_err(|e| input(e.to_string()))?;
        let prepared = scenario
            .prompts
            .iter()
            .map(|p| text.prepare(&scenario.prompt_input(p)).map_err(|e| input(format!("prompt `{}`: {e}", p.id))))
            .collect::<Result<Vec<_>, _>>()?;
        let prompts: Vec<ScenarioPrompt> = scenario
            .prompts
            .iter()
            .zip(&prepared)
            .map(|(entry, prepared)| ScenarioPrompt { entry, prepared })
            .collect();
        golden.usable_for(&path, &fingerprint, scenario, &prompts)?;
        out.insert(name.clone(), golden);
    }
    Ok(out)
}
