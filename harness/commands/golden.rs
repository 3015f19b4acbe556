//! `bakeoff golden record | check SCENARIO`: generate every prompt of a scenario in this
//! process and write the golden files, or check the transcripts against them.

use super::{compile_in_process, generate_failure, open_runtime, print_json, unusable_golden};
use crate::cli::{Format, GoldenAction, GoldenArgs, GoldenSource};
use crate::correctness::{Correctness, GoldenCheck, PipelineCheck};
use crate::exit::{Failure, CORRECTNESS_FAILURE, SUCCESS};
use crate::golden::divergence::{compare, Side};
use crate::golden::{self, golden_path, GoldenFile, GoldenTranscript, Recorded, GOLDEN_FORMAT};
use crate::model::ModelDir;
use crate::pipeline_kind::PipelineKind;
use crate::pipelines::{NoObserver, Transcript};
use crate::plan::CellKey;
use crate::profiles::ResolvedProfile;
use crate::runtime::Runtime;
use crate::scenario::{default_near_tie, CacheMode, LoadedScenario, PromptEntry};
use crate::text::{Conversation, PreparedPrompt, TextLayer};
use std::path::Path;

/// Run `golden record` or `golden check`.
pub fn run(args: &GoldenArgs) -> Result<i32, Failure> {
    match &args.action {
        GoldenAction::Record { source, pipeline, force } => record(source, *pipeline, *force),
        GoldenAction::Check { source, pipeline, near_tie, format } => check(source, pipeline, *near_tie, *format),
    }
}

/// One model of the scenario with its prompts rendered and tokenized.
struct PreparedModel<'a> {
    name: &'a str,
    dir: ModelDir,
    text: TextLayer,
    prompts: Vec<(&'a PromptEntry, PreparedPrompt)>,
}

fn prepare_models(scenario: &LoadedScenario) -> Result<Vec<PreparedModel<'_>>, Failure> {
    scenario
        .models
        .iter()
        .map(|(name, path)| {
            let prepared = scenario.prepare_model(path).map_err(Failure::input)?;
            let prompts = scenario.prompts.iter().zip(prepared.prompts).collect();
            Ok(PreparedModel { name, dir: prepared.dir, text: prepared.text, prompts })
        })
        .collect()
}

/// One transcript a golden file holds: a prompt's, or a conversation turn's (`ID#N`, its
/// prompt the whole history with the answers generated before it).
struct Generated {
    id: String,
    /// The user message (a conversation's: this turn's).
    user: String,
    system: Option<String>,
    prompt: PreparedPrompt,
    transcript: Transcript,
    /// A conversation's turn after the first: its history holds earlier answers, so its
    /// prompt ids follow from them rather than from the scenario.
    later_turn: bool,
}

/// Compile `kind` for the source's device and profile and generate every prompt (each
/// conversation turn by turn, the pipeline's state kept between turns as openvino-genai's
/// chat mode keeps it).
fn transcripts(
    rt: &Runtime,
    scenario: &LoadedScenario,
    source: &GoldenSource,
    model: &mut PreparedModel,
    kind: PipelineKind,
) -> Result<(ResolvedProfile, Vec<Generated>), Failure> {
    let properties = scenario
        .profiles
        .resolve_for_model(&source.profile, source.device, kind, || model.dir.kv_layout())
        .map_err(Failure::input)?;
    let window = scenario.window_options(model.name, model.dir.pad_id());
    let mut loaded = compile_in_process(rt, &model.dir, kind, source.device, &properties.pairs(), window)?;
    let config = scenario.generation_config(model.dir.eos_ids());
    let failed = |id: &str, e| {
        let f = generate_failure(e);
        Failure { message: format!("prompt `{id}` on {kind}: {}", f.message), ..f }
    };
    let mut out = Vec::new();
    for (entry, prompt) in &model.prompts {
        if !entry.is_conversation() {
            let transcript =
                loaded.pipeline.generate(&prompt.ids, &config, &mut NoObserver).map_err(|e| failed(&entry.id, e))?;
            let (id, user, system) = (entry.id.clone(), entry.prompt.clone(), entry.system.clone());
            out.push(Generated { id, user, system, prompt: prompt.clone(), transcript, later_turn: false });
            continue;
        }
        let mut chat = Conversation::new(entry.system.as_deref(), scenario.scenario.generation.thinking);
        for (i, user) in entry.turns.iter().enumerate() {
            let id = crate::scenario::turn_id(&entry.id, i + 1);
            let prompt = chat.ask(&mut model.text, user).map_err(|e| Failure::input(format!("{id}: {e}")))?;
            let turn =
                loaded.pipeline.generate_turn(&prompt.ids, &config, &mut NoObserver).map_err(|e| failed(&id, e))?;
            chat.answer(&model.text, &turn.transcript.output_ids).map_err(Failure::harness)?;
            let system = entry.system.clone();
            out.push(Generated {
                id,
                user: user.clone(),
                system,
                prompt,
                transcript: turn.transcript,
                later_turn: i > 0,
            });
        }
        loaded.pipeline.end_conversation();
    }
    Ok((properties, out))
}

fn golden_dir(scenario: &LoadedScenario) -> Result<&Path, Failure> {
    scenario.golden_dir.as_deref().ok_or_else(|| {
        Failure::input(format!(
            "{}: names no golden folder; add `[golden]` with `dir = \"../golden\"` (relative to the scenario file)",
            scenario.path.display()
        ))
    })
}

fn record(source: &GoldenSource, kind: PipelineKind, force: bool) -> Result<i32, Failure> {
    let scenario = LoadedScenario::load(&source.scenario).map_err(Failure::input)?;
    let dir = golden_dir(&scenario)?;
    let rt = open_runtime(&source.runtime)?;
    let openvino_version = crate::runtime::ov::version().map_err(Failure::harness)?.0;
    for mut model in prepare_models(&scenario)? {
        let path = golden_path(dir, model.name);
        let fingerprint = model.dir.fingerprint().map_err(Failure::input)?;
        let (properties, ts) = transcripts(&rt, &scenario, source, &mut model, kind)?;
        let g = &scenario.scenario.generation;
        let mut fresh = Vec::new();
        for Generated { id, user, system, prompt, transcript: t, .. } in ts {
            fresh.push(GoldenTranscript {
                prompt_id: id,
                prompt: user,
                system,
                chat_template: g.chat_template,
                thinking: g.thinking,
                rendered_prompt: prompt.rendered,
                prompt_ids: prompt.ids,
                max_new_tokens: g.max_new_tokens,
                ignore_eos: g.ignore_eos,
                text: model.text.tokenizer.decode(&t.output_ids, true).map_err(Failure::harness)?,
                margins: t.steps.iter().map(|s| s.margin).collect(),
                output_ids: t.output_ids,
                stop_reason: t.stop_reason,
            });
        }
        let recorded = Recorded {
            pipeline: kind,
            device: source.device,
            profile: source.profile.clone(),
            properties,
            openvino_version: openvino_version.clone(),
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let fresh_file = GoldenFile {
            bakeoff_golden: GOLDEN_FORMAT,
            model: model.name.to_string(),
            fingerprint,
            recorded,
            transcripts: fresh,
        };
        let mut merged = merge_into_existing(&path, fresh_file, force)?;
        merged.write(&path).map_err(Failure::harness)?;
        println!("{}", path.display());
    }
    Ok(SUCCESS)
}

/// The file to write: the new transcripts merged into an existing golden file. Unchanged
/// transcripts are kept byte for byte; one that would change (other ids), or a file from
/// another model or recording setup, needs --force. Prompts the scenario does not have are
/// kept.
fn merge_into_existing(path: &Path, fresh: GoldenFile, force: bool) -> Result<GoldenFile, Failure> {
    if !path.exists() {
        for t in &fresh.transcripts {
            eprintln!("{}: `{}` recorded ({} tokens)", path.display(), t.prompt_id, t.output_ids.len());
        }
        return Ok(fresh);
    }
    let refuse = |what: String| {
        Failure::input(format!(
            "{}: {what}; a golden is never replaced silently: pass --force to replace it",
            path.display()
        ))
    };
    let mut old = match GoldenFile::read(path) {
        Ok(old) => old,
        Err(e) if force => {
            eprintln!("{e} (replaced: --force)");
            return Ok(fresh);
        }
        Err(e) => return Err(refuse(e.message)),
    };
    let differs = old.fingerprint.differences(&fresh.fingerprint);
    let setup = |r: &Recorded| (r.pipeline, r.device, r.profile.clone());
    if !differs.is_empty() || setup(&old.recorded) != setup(&fresh.recorded) {
        if !force {
            return Err(refuse(format!(
                "recorded for another model or setup (differs: {})",
                if differs.is_empty() { "pipeline, device or profile".into() } else { differs.join(", ") }
            )));
        }
        return Ok(fresh);
    }
    for t in fresh.transcripts {
        match old.transcripts.iter_mut().find(|o| o.prompt_id == t.prompt_id) {
            None => {
                eprintln!("{}: `{}` recorded ({} tokens)", path.display(), t.prompt_id, t.output_ids.len());
                old.transcripts.push(t);
            }
            Some(o) if o.prompt_ids == t.prompt_ids && o.output_ids == t.output_ids && same_settings(o, &t) => {
                crate::ui::note(format!("{}: `{}` unchanged", path.display(), t.prompt_id));
            }
            Some(o) => {
                let v = compare(o.side(), t.side(), default_near_tie());
                if !force {
                    return Err(refuse(format!("prompt `{}` would change ({v})", t.prompt_id)));
                }
                eprintln!("{}: `{}` replaced ({v})", path.display(), t.prompt_id);
                *o = t;
            }
        }
    }
    Ok(old)
}

fn same_settings(a: &GoldenTranscript, b: &GoldenTranscript) -> bool {
    (&a.prompt, &a.system, a.chat_template, a.thinking, a.max_new_tokens, a.ignore_eos)
        == (&b.prompt, &b.system, b.chat_template, b.thinking, b.max_new_tokens, b.ignore_eos)
}

fn check(
    source: &GoldenSource,
    pipelines: &[PipelineKind],
    near_tie: Option<f32>,
    format: Format,
) -> Result<i32, Failure> {
    let scenario = LoadedScenario::load(&source.scenario).map_err(Failure::input)?;
    golden_dir(&scenario)?;
    let goldens = golden::load_for_scenario(&scenario).map_err(unusable_golden)?;
    let near_tie = near_tie.or(scenario.scenario.golden.as_ref().map(|g| g.near_tie)).unwrap_or(default_near_tie());
    let pipelines = if pipelines.is_empty() { scenario.scenario.matrix.pipelines.clone() } else { pipelines.to_vec() };
    let rt = open_runtime(&source.runtime)?;
    let mut out = Correctness { near_tie, ..Default::default() };
    for mut model in prepare_models(&scenario)? {
        let key = |pipeline| CellKey {
            model: model.name.to_string(),
            pipeline,
            device: source.device,
            profile: source.profile.clone(),
            cache: CacheMode::Cold,
        };
        let mut by_pipeline = Vec::new();
        for &kind in &pipelines {
            let (_, ts) = transcripts(&rt, &scenario, source, &mut model, kind)?;
            for g in &ts {
                let t = &g.transcript;
                let expected = goldens[model.name].transcript(&g.id).expect("usable_for checked every prompt");
                let verdict = match g.later_turn {
                    // Its history holds earlier answers: an earlier turn's divergence is
                    // reported there, and this turn's outputs are what it adds.
                    true => compare(expected.side(), Side { ids: &t.output_ids, margins: &margins(t) }, near_tie),
                    false => expected.check(t, near_tie),
                };
                let differing = usize::from(verdict.severity() > 0);
                let cell = key(kind);
                out.golden.push(GoldenCheck {
                    cell,
                    prompt_id: g.id.clone(),
                    samples: 1,
                    differing,
                    verdict,
                    enforced: true,
                    short: crate::golden::divergence::short_output(
                        &expected.output_ids,
                        &t.output_ids,
                        t.stop_reason == crate::pipelines::StopReason::Eos,
                    ),
                });
            }
            by_pipeline.push((kind, ts));
        }
        let find = |k| by_pipeline.iter().find(|(kind, _)| *kind == k).map(|(_, ts)| ts);
        if let (Some(kv), Some(st)) = (find(PipelineKind::Kvcache), find(PipelineKind::Static128)) {
            for (ga, gb) in kv.iter().zip(st) {
                let (a, b) = (&ga.transcript, &gb.transcript);
                let (ma, mb) = (margins(a), margins(b));
                out.pipelines.push(PipelineCheck::judge(
                    key(PipelineKind::Kvcache),
                    ga.id.clone(),
                    [Side { ids: &a.output_ids, margins: &ma }, Side { ids: &b.output_ids, margins: &mb }],
                    a.prompt_ids.len(),
                    scenario.scenario.generation.window,
                    near_tie,
                    true,
                ));
            }
        }
    }
    report_checks(&out, format)
}

/// Print the checks; a failing one is exit 4 naming every failure.
fn report_checks(out: &Correctness, format: Format) -> Result<i32, Failure> {
    match format {
        Format::Json => print_json(out)?,
        Format::Text => print_checks(out),
    }
    let failures = out.failures();
    if failures.is_empty() {
        return Ok(SUCCESS);
    }
    Err(Failure { code: CORRECTNESS_FAILURE, message: format!("correctness failure:\n  {}", failures.join("\n  ")) })
}

fn margins(t: &Transcript) -> Vec<f32> {
    t.steps.iter().map(|s| s.margin).collect()
}

fn print_checks(c: &Correctness) {
    for g in &c.golden {
        println!("golden  {} {} {:<12} {}", g.cell.model, g.cell.pipeline, g.prompt_id, g.verdict);
    }
    for p in &c.pipelines {
        println!("static128 vs kvcache  {} {:<12} {}", p.cell.model, p.prompt_id, p.verdict);
    }
    for line in c.short_outputs() {
        println!("short   {line}");
    }
    let counts: Vec<String> = c.counts().iter().map(|(n, g, p, _)| format!("{n} {}", g + p)).collect();
    eprintln!("{} (near tie below {} logits)", counts.join(", "), c.near_tie);
}
