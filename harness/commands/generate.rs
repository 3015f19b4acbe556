//! `bakeoff generate`: one greedy generation with one pipeline on one device.

use super::profiles::{load_profiles, model_kv_layout};
use super::{open_runtime, print_json};
use crate::cli::{Format, GenerateArgs};
use crate::exit::{Failure, SUCCESS};
use crate::model::ModelDir;
use crate::pipelines::load::{load, LoadError};
use crate::pipelines::static128::WindowOptions;
use crate::pipelines::{GenerateError, GenerationConfig, NoObserver, PipelineKind};
use crate::profiles::ResolvedProfile;
use crate::runtime::Device;
use crate::text::chat::Message;
use crate::text::{PromptInput, TextLayer};
use serde::Serialize;

/// What `generate --format json` prints.
#[derive(Debug, Serialize)]
pub struct GenerateOutput {
    /// The model folder.
    pub model: String,
    /// kvcache or static128.
    pub pipeline: PipelineKind,
    /// Device label.
    pub device: Device,
    /// Set for NPU:host: these numbers are not NPU silicon numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    /// Profile name.
    pub profile: String,
    /// The properties compiled with.
    pub properties: ResolvedProfile,
    /// The prompt as rendered (None for --prompt-ids).
    pub rendered_prompt: Option<String>,
    /// Prompt token ids.
    pub prompt_ids: Vec<i64>,
    /// Generated token ids.
    pub output_ids: Vec<i64>,
    /// Generated text, special tokens dropped.
    pub text: String,
    /// Why generation ended.
    pub stop_reason: crate::pipelines::StopReason,
    /// static128: whether the window dropped older tokens.
    pub truncated: bool,
    /// read_model, ms.
    pub load_ms: f64,
    /// compile_model, ms.
    pub compile_ms: f64,
    /// Time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Inter-token latencies, ms.
    pub itl_ms: Vec<f64>,
    /// Decode tokens per second.
    pub decode_tokens_per_s: Option<f64>,
    /// Top-1 minus top-2 logit per step.
    pub margins: Vec<f32>,
    /// EXECUTION_DEVICES of the compiled model.
    pub execution_devices: Option<String>,
}

fn prompt_input(args: &GenerateArgs) -> PromptInput {
    match (&args.prompt, &args.prompt_ids) {
        (_, Some(ids)) => PromptInput::Ids(ids.clone()),
        (Some(text), None) if args.raw => PromptInput::Raw(text.clone()),
        (Some(text), None) => {
            PromptInput::Chat { messages: vec![Message::user(text.clone())], enable_thinking: args.thinking }
        }
        (None, None) => unreachable!("clap requires --prompt or --prompt-ids"),
    }
}

/// Run one generation and print it.
pub fn run(args: &GenerateArgs) -> Result<i32, Failure> {
    let model = ModelDir::open(&args.model).map_err(Failure::input)?;
    let mut text = TextLayer::open(&model).map_err(Failure::input)?;
    let prompt = text.prepare(&prompt_input(args)).map_err(Failure::input)?;
    let profiles = load_profiles(args.profiles_file.as_deref())?;
    let kv = (args.pipeline == PipelineKind::Kvcache && args.device != Device::Cpu)
        .then(|| model_kv_layout(&args.model))
        .transpose()?;
    let mut resolved = profiles.resolve_for(&args.profile, args.device, args.pipeline, kv).map_err(Failure::input)?;
    if let Some(dir) = &args.cache_dir {
        resolved.set("CACHE_DIR", dir.display().to_string(), "--cache-dir".into());
    }
    let rt = open_runtime(&args.runtime)?;
    if args.device == Device::Npu && !rt.device_present("NPU").map_err(Failure::harness)? {
        return Err(Failure::input("NPU not present: OpenVINO lists no NPU on this machine (use --device NPU:host to run the NPU plugin's NPUW pipeline on the host CPU)"));
    }
    let window = WindowOptions {
        window: args.window,
        pad_id: model.pad_id(),
        padding: args.padding.into(),
        overflow: args.overflow.into(),
    };
    let mut loaded =
        load(&rt, &model, args.pipeline, args.device.ov_name(), &resolved.pairs(), window).map_err(|e| match e {
            LoadError::MissingIr(_) | LoadError::Unsupported(_) => Failure::input(e),
            _ => Failure::harness(e),
        })?;
    let config =
        GenerationConfig { max_new_tokens: args.max_new_tokens, eos_ids: model.eos_ids(), ignore_eos: args.ignore_eos };
    let transcript = loaded.pipeline.generate(&prompt.ids, &config, &mut NoObserver).map_err(|e| match e {
        GenerateError::Unsupported(_) => Failure::input(e),
        _ => Failure::harness(e),
    })?;
    let output = GenerateOutput {
        model: model.root.display().to_string(),
        pipeline: args.pipeline,
        device: args.device,
        note: args.device.disclaimer(),
        profile: args.profile.clone(),
        properties: resolved,
        rendered_prompt: prompt.rendered,
        text: text.tokenizer.decode(&transcript.output_ids, true).map_err(Failure::harness)?,
        load_ms: loaded.load_ms,
        compile_ms: loaded.compile_ms,
        execution_devices: loaded.execution_devices.take(),
        ttft_ms: transcript.ttft_ms(),
        itl_ms: transcript.itl_ms(),
        decode_tokens_per_s: transcript.decode_tokens_per_s(),
        margins: transcript.steps.iter().map(|s| s.margin).collect(),
        prompt_ids: transcript.prompt_ids,
        output_ids: transcript.output_ids,
        stop_reason: transcript.stop_reason,
        truncated: transcript.truncated,
    };
    match args.format {
        Format::Json => print_json(&output)?,
        Format::Text => print_text(&output),
    }
    Ok(SUCCESS)
}

fn print_text(o: &GenerateOutput) {
    println!("{}", o.text);
    let tps = o.decode_tokens_per_s.map_or("-".into(), |v| format!("{v:.1}"));
    let ttft = o.ttft_ms.map_or("-".into(), |v| format!("{v:.1}"));
    eprintln!(
        "[{} {} {}] {} prompt + {} new tokens, stop: {:?}{}; compile {:.0} ms, TTFT {ttft} ms, decode {tps} tok/s",
        o.pipeline,
        o.device,
        o.profile,
        o.prompt_ids.len(),
        o.output_ids.len(),
        o.stop_reason,
        if o.truncated { ", window truncated" } else { "" },
        o.compile_ms,
    );
    if let Some(note) = o.note {
        eprintln!("note: {note}");
    }
}
