//! Cell specs from a scenario: each model prepared once (tokenizer, prompt ids, KV layout),
//! each planned cell's profile resolved, and everything a cell's process needs put in its
//! [`CellSpec`]. Every session (a run, a soak's rounds, a search's stages, both sides of an
//! A/B run) makes its cells here.

use crate::executor::{CellConversation, CellPrompt, CellSpec};
use crate::model::ModelDir;
use crate::pipeline_kind::PipelineKind;
use crate::plan::PlannedCell;
use crate::results::folder::RunDir;
use crate::scenario::{CacheMode, LoadedScenario};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per model name: its folder, prompts tokenized, KV layout (prepared once per run).
pub type ModelCache = BTreeMap<String, Result<PreparedModel, String>>;

/// A model prepared for the run's cells: its folder, the prompts as cells take them, and
/// its KV layout. (The text layer is dropped: cells need only the ids.)
pub struct PreparedModel {
    dir: ModelDir,
    prompts: Vec<CellPrompt>,
    kv: Result<crate::model::ir::KvLayout, crate::model::ir::KvLayoutError>,
}

fn prepare_model(scenario: &LoadedScenario, path: &Path) -> Result<PreparedModel, String> {
    let prepared = scenario.prepare_model(path).map_err(|e| e.to_string())?;
    let prompts = scenario
        .prompts
        .iter()
        .zip(prepared.prompts)
        .map(|(p, prompt)| CellPrompt {
            id: p.id.clone(),
            ids: prompt.ids,
            conversation: p.is_conversation().then(|| CellConversation {
                system: p.system.clone(),
                turns: p.turns.clone(),
                enable_thinking: scenario.scenario.generation.thinking,
            }),
        })
        .collect();
    Ok(PreparedModel { dir: prepared.dir, prompts, kv: prepared.kv })
}

/// Makes the specs of one run's cells (one side's, in an A/B run).
pub struct SpecMaker<'a> {
    /// The scenario (an A/B side's: its models and profiles).
    pub scenario: &'a LoadedScenario,
    /// Models prepared so far.
    pub models: &'a mut ModelCache,
    /// The run folder (compile caches).
    pub run_dir: &'a RunDir,
    /// The OpenVINO library the cells use.
    pub openvino_lib: Option<PathBuf>,
    /// Driven cells (A/B sides).
    pub driven: bool,
    /// A sub-folder of every compile cache (an A/B side's name: two runtimes never share one).
    pub cache_tag: Option<&'static str>,
    /// Warm cells prime a cache of their own instead of the run's shared one, so that every
    /// cell's priming compile is a first compile (a profile search records each profile's
    /// cold compile; with a shared cache, a plugin whose cache key leaves out runtime
    /// properties would load the first profile's blob for the others).
    pub own_warm_cache: bool,
}

impl SpecMaker<'_> {
    /// The spec of `cell`; the error (an unusable model, profile or KV layout) fails only it.
    pub fn make(&mut self, cell: &PlannedCell) -> Result<CellSpec, String> {
        let scenario = self.scenario;
        let key = &cell.key;
        let path = &scenario.models.iter().find(|(n, _)| *n == key.model).expect("planned models exist").1;
        let prepared = self.models.entry(key.model.clone()).or_insert_with(|| prepare_model(scenario, path));
        let model = prepared.as_ref().map_err(|e| format!("model {}: {e}", key.model))?;
        let properties = scenario
            .profiles
            .resolve_for_model(&key.profile, key.device, key.pipeline, || model.kv.clone())
            .map_err(|e| e.to_string())?;
        let mut cache_dir = self.run_dir.cache((key.cache == CacheMode::Cold).then_some(cell.index));
        if self.own_warm_cache && key.cache == CacheMode::Warm {
            cache_dir = cache_dir.join(format!("cell-{}", cell.index));
        }
        if let Some(tag) = self.cache_tag {
            cache_dir = cache_dir.join(tag);
        }
        let genai_config = match key.pipeline {
            PipelineKind::Genai => crate::profiles::keys::genai_config(&properties.compile_pairs(Some(&cache_dir))),
            _ => Default::default(),
        };
        let g = &scenario.scenario.generation;
        Ok(CellSpec {
            key: key.clone(),
            model_dir: std::fs::canonicalize(&model.dir.root).unwrap_or_else(|_| model.dir.root.clone()),
            properties,
            prompts: model.prompts.clone(),
            max_new_tokens: g.max_new_tokens,
            ignore_eos: g.ignore_eos,
            eos_ids: model.dir.eos_ids(),
            window: scenario.window_options(&key.model, model.dir.pad_id()),
            measure: scenario.scenario.measure,
            timeouts: scenario.scenario.timeouts,
            limits: scenario.scenario.limits,
            cache_dir: Some(cache_dir),
            cache_mode: key.cache,
            openvino_lib: self.openvino_lib.clone(),
            genai_config,
            history: g.history.clone(),
            driven: self.driven,
        })
    }
}
