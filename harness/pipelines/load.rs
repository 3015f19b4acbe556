//! Reading and compiling a pipeline's IR from a model folder, timed: load_ms (read_model)
//! and compile_ms, and whether the compile came from the cache (LOADED_FROM_CACHE).

use super::kvcache::KvCache;
use super::static128::{Static128, WindowOptions};
use super::{GenerateError, Pipeline};
use crate::model::{bin_for, ModelDir};
use crate::pipeline_kind::{IrInput, PipelineKind};
use crate::runtime::{OvError, Runtime};
use std::time::Instant;

/// A pipeline ready to generate, with what it cost to get there.
pub struct Loaded {
    /// The pipeline.
    pub pipeline: Box<dyn Pipeline>,
    /// read_model time, ms.
    pub load_ms: f64,
    /// compile_model time, ms.
    pub compile_ms: f64,
    /// LOADED_FROM_CACHE of the compiled model, when the device reports it.
    pub from_cache: Option<bool>,
    /// EXECUTION_DEVICES of the compiled model.
    pub execution_devices: Option<String>,
    /// Every setting the compiled model reports (see `profiles::effective`).
    pub effective_properties: std::collections::BTreeMap<String, String>,
}

/// Why a pipeline could not be made ready; the stage tells how a cell failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The IR file is absent.
    #[error("{0}: missing; bake the model folder (`make setup`) or pick the other pipeline")]
    MissingIr(String),
    /// read_model failed.
    #[error("reading {path} failed: {source} (is the .bin beside it complete? `bakeoff lint` the folder)")]
    Read {
        /// The IR.
        path: String,
        /// OpenVINO's error.
        source: OvError,
    },
    /// A property the device's plugin does not list in SUPPORTED_PROPERTIES.
    #[error("{0}")]
    Unsupported(String),
    /// compile_model failed (the plugin rejected a property, the graph, ...).
    #[error("compiling for {device} failed: {source}")]
    Compile {
        /// The device.
        device: String,
        /// OpenVINO's error.
        source: OvError,
    },
    /// The pipeline does not run in this process (genai runs in openvino-genai's worker).
    #[error("the {0} pipeline runs only as a cell of `bakeoff run` (openvino-genai's worker); in-process commands run kvcache and static128")]
    NotInProcess(PipelineKind),
    /// The compiled model could not be prepared for generation.
    #[error(transparent)]
    Prepare(#[from] GenerateError),
}

impl LoadError {
    /// Whether the model folder or the profile is at fault (bad input: a missing or
    /// unreadable IR, a property the plugin does not list), rather than the plugin's compile.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            LoadError::MissingIr(_) | LoadError::Unsupported(_) | LoadError::Read { .. } | LoadError::NotInProcess(_)
        )
    }
}

/// Read the pipeline's IR from `model`, compile it for `device` with `properties`.
pub fn load(
    rt: &Runtime,
    model: &ModelDir,
    kind: PipelineKind,
    device: &str,
    properties: &[(String, String)],
    window: WindowOptions,
) -> Result<Loaded, LoadError> {
    if !kind.in_process() {
        return Err(LoadError::NotInProcess(kind));
    }
    let xml = match kind.traits().ir {
        IrInput::Stateful => model.stateful_xml(),
        IrInput::StatelessWindow => static_xml_for(model, &window),
    };
    if !xml.exists() {
        return Err(LoadError::MissingIr(xml.display().to_string()));
    }
    if rt.device_present(device).unwrap_or(false) {
        rt.check_supported(device, properties).map_err(|e| LoadError::Unsupported(e.to_string()))?;
    }
    let t = Instant::now();
    let ir = rt
        .core
        .read_model(&xml, &bin_for(&xml))
        .map_err(|source| LoadError::Read { path: xml.display().to_string(), source })?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let compiled = rt
        .core
        .compile_model(&ir, device, properties)
        .map_err(|source| LoadError::Compile { device: device.into(), source })?;
    let compile_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(ir);
    let from_cache =
        compiled.property("LOADED_FROM_CACHE").ok().map(|v| v.eq_ignore_ascii_case("YES") || v == "true" || v == "1");
    let execution_devices = compiled.property("EXECUTION_DEVICES").ok();
    let effective_properties = crate::profiles::effective::read(&compiled, device, properties);
    let pipeline: Box<dyn Pipeline> = match kind {
        PipelineKind::Kvcache => Box::new(KvCache::new(compiled, super::kvcache::NpuwLimits::of(properties))),
        PipelineKind::Static128 => Box::new(Static128::new(compiled, window)?),
        PipelineKind::Genai => return Err(LoadError::NotInProcess(kind)),
    };
    Ok(Loaded { pipeline, load_ms, compile_ms, from_cache, execution_devices, effective_properties })
}

/// The static IR static128 runs: the unsliced variant when asked for, or for right padding
/// (which needs every row's logits) when the folder has one; else the bake's sliced one.
pub fn static_xml_for(model: &ModelDir, options: &WindowOptions) -> std::path::PathBuf {
    let full = model.static_full_xml(options.window);
    let right = options.padding == super::window::Padding::Right;
    if options.full_lm_head || (right && full.exists()) {
        full
    } else {
        model.static_xml(options.window)
    }
}
