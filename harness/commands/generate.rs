//! `bakeoff generate`: one greedy generation with one pipeline on one device.

use super::{compile_in_process, generate_failure, load_profiles, open_runtime, print_json};
use crate::cli::{Format, GenerateArgs};
use crate::exit::{Failure, SUCCESS};
use crate::model::ModelDir;
use crate::pipeline_kind::PipelineKind;
use crate::pipelines::static128::WindowOptions;
use crate::pipelines::{GenerationConfig, NoObserver, Observer, Step};
use crate::profiles::ResolvedProfile;
use crate::results::SampleMetrics;
use crate::runtime::Device;
use crate::telemetry::{Probes, UsageMeter};
use crate::text::chat::Message;
use crate::text::stream::{starts_in_reasoning, Event, Shown, SpecialTokens, StreamFilter};
use crate::text::{PreparedPrompt, PromptInput, TextLayer};
use serde::Serialize;
use std::io::Write;

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
    /// What a user sees: the visible text, reasoning (policy `split`), tool calls and the
    /// control tokens dropped, from the streaming special-token filter.
    #[serde(flatten)]
    pub shown: Shown,
    /// read_model, ms.
    pub load_ms: f64,
    /// compile_model, ms.
    pub compile_ms: f64,
    /// EXECUTION_DEVICES of the compiled model.
    pub execution_devices: Option<String>,
    /// Every setting the compiled model reports.
    pub effective_properties: std::collections::BTreeMap<String, String>,
    /// The profile's properties the compiled model reports otherwise, or not at all.
    pub property_changes: Vec<crate::profiles::effective::PropertyChange>,
    /// Output ids, timings, margins and stop reason, as every run sample records them (the
    /// first measured generation).
    #[serde(flatten)]
    pub metrics: SampleMetrics,
    /// Every measured generation, when `--repeat` asks for more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<SampleMetrics>,
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

/// The size-like flags within the bounds scenarios have.
fn check_sizes(args: &GenerateArgs) -> Result<(), crate::scenario::bounds::OutOfBounds> {
    use crate::scenario::bounds::*;
    check("--max-new-tokens", args.max_new_tokens, 1, MAX_NEW_TOKENS, "the longest context of the models")?;
    check("--window", args.window, 1, MAX_WINDOW, "the longest context of the models")?;
    check("--warmup", args.warmup, 0, MAX_WARMUP, "warm-up needs a handful")?;
    check("--repeat", args.repeat as usize, 1, MAX_REPETITIONS, "days of generation")
}

/// Run one generation and print it.
pub fn run(args: &GenerateArgs) -> Result<i32, Failure> {
    check_sizes(args).map_err(Failure::input)?;
    let model = ModelDir::open(&args.model).map_err(Failure::input)?;
    let mut text = TextLayer::open(&model).map_err(Failure::input)?;
    let prompt = prepared_prompt(args, &model, &mut text)?;
    let resolved = resolved_properties(args, &model)?;
    let rt = open_runtime(&args.runtime)?;
    let key = format!("{}/{}/{}", args.pipeline, args.device, args.profile);
    crate::pipelines::apply_slowdown_env(&key).map_err(Failure::input)?;
    let resolved_pairs = resolved.compile_pairs(args.cache_dir.as_deref());
    let window = window_options(args, &model);
    let mut loaded = compile_in_process(&rt, &model, args.pipeline, args.device, &resolved_pairs, window)?;
    let config =
        GenerationConfig { max_new_tokens: args.max_new_tokens, eos_ids: model.eos_ids(), ignore_eos: args.ignore_eos };
    let pipeline = loaded.pipeline.as_mut();
    for _ in 0..args.warmup {
        pipeline.generate(&prompt.ids, &config, &mut NoObserver).map_err(generate_failure)?;
    }
    let specials = SpecialTokens::from_tokenizer(&text.tokenizer);
    let in_reasoning = starts_in_reasoning(&specials, &prompt.ids);
    let filter = StreamFilter::new(&text.tokenizer, &specials, args.reasoning, in_reasoning);
    let mut printer = StreamPrinter { filter: Some(filter), shown: Shown::default(), print: args.stream, error: None };
    let probes = Probes::open(args.device);
    let (transcript, metrics) = measured(pipeline, &prompt.ids, &config, &probes, &mut printer)?;
    let shown = printer.finish().map_err(Failure::harness)?;
    let mut repeats = Vec::new();
    if args.repeat > 1 {
        repeats.push(metrics.clone());
        for _ in 1..args.repeat {
            repeats.push(measured(pipeline, &prompt.ids, &config, &probes, &mut NoObserver)?.1);
        }
    }
    let output = GenerateOutput {
        model: model.root.display().to_string(),
        pipeline: args.pipeline,
        device: args.device,
        note: args.device.disclaimer(),
        profile: args.profile.clone(),
        properties: resolved,
        rendered_prompt: prompt.rendered,
        shown,
        load_ms: loaded.load_ms,
        compile_ms: loaded.compile_ms,
        execution_devices: loaded.execution_devices.take(),
        property_changes: crate::profiles::effective::changes(&resolved_pairs, &loaded.effective_properties),
        effective_properties: std::mem::take(&mut loaded.effective_properties),
        metrics,
        repeats,
        prompt_ids: transcript.prompt_ids,
    };
    match args.format {
        Format::Json => print_json(&output)?,
        Format::Text => print_text(&output, args.stream),
    }
    Ok(SUCCESS)
}

/// The prompt as the flags give it, its ids checked against the model's vocabulary.
fn prepared_prompt(args: &GenerateArgs, model: &ModelDir, text: &mut TextLayer) -> Result<PreparedPrompt, Failure> {
    let prompt = text.prepare(&prompt_input(args)).map_err(Failure::input)?;
    let source = if args.prompt_ids.is_some() { "--prompt-ids" } else { "the tokenized prompt" };
    if let Some(vocab) = model.vocab_size() {
        crate::model::check_token_ids(&prompt.ids, vocab).map_err(|e| Failure::input(format!("{source}: {e}")))?;
    }
    Ok(prompt)
}

/// The profile's properties for the device and pipeline.
fn resolved_properties(args: &GenerateArgs, model: &ModelDir) -> Result<ResolvedProfile, Failure> {
    let profiles = load_profiles(args.profiles_file.as_deref())?;
    profiles.resolve_for_model(&args.profile, args.device, args.pipeline, || model.kv_layout()).map_err(Failure::input)
}

fn window_options(args: &GenerateArgs, model: &ModelDir) -> WindowOptions {
    WindowOptions {
        window: args.window,
        pad_id: model.pad_id(),
        padding: args.padding,
        overflow: args.overflow,
        full_lm_head: args.full_lm_head,
    }
}

/// One measured generation: its transcript and its metrics with the usage around it.
fn measured(
    pipeline: &mut dyn crate::pipelines::Pipeline,
    ids: &[i64],
    config: &GenerationConfig,
    probes: &Probes,
    observer: &mut dyn Observer,
) -> Result<(crate::pipelines::Transcript, SampleMetrics), Failure> {
    let mut meter = UsageMeter::start(probes, observer);
    let transcript = pipeline.generate(ids, config, &mut meter).map_err(generate_failure)?;
    let mut metrics = SampleMetrics::from(&transcript);
    metrics.usage = meter.finish(transcript.steps.len().saturating_sub(1));
    Ok((transcript, metrics))
}

/// Feeds every generated token to the special-token filter, printing visible text as it
/// arrives with `--stream`.
struct StreamPrinter<'a> {
    filter: Option<StreamFilter<'a>>,
    shown: Shown,
    print: bool,
    error: Option<crate::text::tokenizer::TokenizerError>,
}

impl StreamPrinter<'_> {
    fn show(&mut self, events: Vec<Event>) {
        if self.print {
            let mut out = std::io::stdout().lock();
            for e in &events {
                if let Event::Text(t) = e {
                    // A closed stdout (a pipe into `head`) must not stop the generation.
                    let _ = out.write_all(t.as_bytes()).and_then(|()| out.flush());
                }
            }
        }
        self.shown.extend(&events);
    }

    fn finish(mut self) -> Result<Shown, crate::text::tokenizer::TokenizerError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let events = self.filter.take().expect("finished once").finish()?;
        self.show(events);
        if self.print {
            println!();
        }
        Ok(self.shown)
    }
}

impl Observer for StreamPrinter<'_> {
    fn on_token(&mut self, _index: usize, step: &Step) {
        let Some(filter) = self.filter.as_mut() else { return };
        match filter.push(&[step.id]) {
            Ok(events) => self.show(events),
            Err(e) => self.error = Some(e),
        }
    }
}

fn print_text(o: &GenerateOutput, streamed: bool) {
    let m = &o.metrics;
    if !streamed {
        println!("{}", o.shown.text);
    }
    if !o.shown.reasoning.is_empty() {
        eprintln!("[reasoning] {}", o.shown.reasoning.trim());
    }
    for call in &o.shown.tool_calls {
        eprintln!("[tool call] {}", call.trim());
    }
    let tps = m.decode_tokens_per_s.map_or("-".into(), |v| format!("{v:.1}"));
    eprintln!(
        "[{} {} {}] {} prompt + {} new tokens, stop: {:?}{}; compile {:.0} ms, TTFT {:.1} ms, decode {tps} tok/s",
        o.pipeline,
        o.device,
        o.profile,
        m.prompt_tokens,
        m.output_tokens,
        m.stop_reason,
        if m.truncated { ", window truncated" } else { "" },
        o.compile_ms,
        m.ttft_ms,
    );
    if let Some(note) = o.note {
        eprintln!("note: {note}");
    }
}
