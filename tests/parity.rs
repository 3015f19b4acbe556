//! Parity with openvino-genai: bakeoff's greedy ids equal LLMPipeline's on the same IR
//! (reference transcripts written at setup by tools/references/reference.py), for both pipelines and
//! both fixtures (SmolLM2, and the tiny Qwen3 with the real Qwen3 tokenizer), and the text
//! layer renders and tokenizes prompts exactly as GenAI does.

mod common;

use bakeoff::pipeline_kind::PipelineKind;
use bakeoff::pipelines::{GenerationConfig, NoObserver, StopReason};
use bakeoff::runtime::Device;
use bakeoff::text::chat::Message;
use bakeoff::text::{PromptInput, TextLayer};

use bakeoff::model::ModelDir;

fn fixtures() -> [ModelDir; 2] {
    [common::smollm2(), common::qwen3()]
}

#[test]
fn chat_template_and_tokenizer_match_genai_on_every_prompt() {
    for model in fixtures() {
        prompts_match_genai(&model);
    }
}

fn prompts_match_genai(model: &ModelDir) {
    let reference = common::reference(model, "genai-cpu.json");
    let mut text = TextLayer::open(model).unwrap();
    assert!(reference.prompts.len() >= 6);
    for p in &reference.prompts {
        let input = PromptInput::Chat { messages: vec![Message::user(p.prompt.clone())], enable_thinking: None };
        let prepared = text.prepare(&input).unwrap();
        assert_eq!(prepared.rendered.as_deref(), Some(p.rendered.as_str()), "rendered prompt of {}", p.id);
        assert_eq!(prepared.ids, p.prompt_ids, "prompt ids of {}", p.id);
    }
}

/// Which reference prompts a parity test generates.
#[derive(Clone, Copy)]
enum Prompts {
    /// Every one.
    All,
    /// Those that stop at eos within the budget (the natural-stop behaviour); the others'
    /// ids are checked on every prompt by golden.rs's `golden check` of both pipelines
    /// against the shipped goldens, which equal GenAI's ids (checked there too).
    StoppingEarly,
}

fn check_pipeline_against_genai(kind: PipelineKind, prompts: Prompts) {
    let rt = common::runtime();
    for model in fixtures() {
        pipeline_matches_genai(&rt, &model, kind, prompts);
    }
}

fn pipeline_matches_genai(rt: &bakeoff::runtime::Runtime, model: &ModelDir, kind: PipelineKind, prompts: Prompts) {
    let reference = common::reference(model, "genai-cpu.json");
    let mut loaded = common::pipeline(rt, model, kind, Device::Cpu, "reference");
    let stops_early = |p: &&common::RefPrompt| p.natural().len() < reference.max_new_tokens;
    let chosen: Vec<_> = match prompts {
        Prompts::All => reference.prompts.iter().collect(),
        Prompts::StoppingEarly => reference.prompts.iter().filter(stops_early).collect(),
    };
    assert!(!chosen.is_empty(), "{}: no reference prompt to check", model.root.display());
    for p in chosen {
        let forced =
            GenerationConfig { max_new_tokens: reference.max_new_tokens, eos_ids: model.eos_ids(), ignore_eos: true };
        let natural = GenerationConfig { ignore_eos: false, ..forced.clone() };
        let t = loaded.pipeline.generate(&p.prompt_ids, &natural, &mut NoObserver).unwrap();
        assert!(p.prompt_ids.len() + t.output_ids.len() <= 128 + 1, "{} must fit the window for parity", p.id);
        assert_eq!(t.output_ids, p.natural(), "{kind} natural ids of {}", p.id);
        if t.output_ids.len() == reference.max_new_tokens {
            // No eos within the budget: generating on past eos is this very run (greedy is
            // deterministic and nothing stopped it), so it is not generated twice. The
            // reference's own two runs must agree for that to hold.
            assert_eq!(t.stop_reason, StopReason::MaxNewTokens, "{}", p.id);
            assert_eq!(p.ignore_eos_ids, p.natural(), "the reference's two runs of {} agree", p.id);
            continue;
        }
        assert_eq!(t.stop_reason, StopReason::Eos, "{}", p.id);
        assert!(model.eos_ids().contains(t.output_ids.last().unwrap()), "{} stops at an eos id", p.id);
        let t = loaded.pipeline.generate(&p.prompt_ids, &forced, &mut NoObserver).unwrap();
        assert!(p.prompt_ids.len() + t.output_ids.len() <= 128 + 1, "{} must fit the window for parity", p.id);
        assert_eq!(t.output_ids, p.ignore_eos_ids, "{kind} ignore_eos ids of {} ({})", p.id, model.root.display());
        assert_eq!(t.stop_reason, StopReason::MaxNewTokens);
    }
}

#[test]
fn kvcache_equals_genai_token_for_token() {
    check_pipeline_against_genai(PipelineKind::Kvcache, Prompts::All);
}

#[test]
fn static128_equals_genai_token_for_token() {
    // Each static128 step re-runs the whole window: on SmolLM2 the prompts that run to the
    // budget are the golden check's (golden.rs: their first 24 steps against the goldens,
    // which equal openvino-genai's ids), not generated twice by the suite. The tiny
    // Qwen3 costs little and has no prompt that stops early: all of its prompts run here.
    let rt = common::runtime();
    let [smollm2, qwen3] = fixtures();
    pipeline_matches_genai(&rt, &smollm2, PipelineKind::Static128, Prompts::StoppingEarly);
    pipeline_matches_genai(&rt, &qwen3, PipelineKind::Static128, Prompts::All);
}

#[test]
fn some_reference_prompt_stops_naturally_at_im_end() {
    // Guards the natural-stop half of the parity tests against a prompt set where nothing stops.
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-cpu.json");
    let eos = model.eos_ids();
    assert!(reference.prompts.iter().any(|p| p.natural().last().is_some_and(|id| eos.contains(id))));
}

#[test]
fn pipelines_agree_inside_the_window_and_static128_stops_when_it_is_full() {
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-cpu.json");
    let prompt = &reference.prompts.iter().max_by_key(|p| p.prompt_ids.len()).unwrap().prompt_ids;
    let rt = common::runtime();
    let config = GenerationConfig { max_new_tokens: 120, eos_ids: model.eos_ids(), ignore_eos: true };
    let kv = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::Cpu, "reference")
        .pipeline
        .generate(prompt, &config, &mut NoObserver)
        .unwrap();
    let st = common::pipeline(&rt, &model, PipelineKind::Static128, Device::Cpu, "reference")
        .pipeline
        .generate(prompt, &config, &mut NoObserver)
        .unwrap();
    // A context of exactly W still runs, so the window yields W - prompt + 1 tokens.
    let fits = 128 - prompt.len() + 1;
    assert_eq!(st.stop_reason, StopReason::WindowFull);
    assert_eq!(st.output_ids.len(), fits);
    assert!(!st.truncated);
    assert_eq!(kv.output_ids.len(), 120);
    assert_eq!(st.output_ids[..], kv.output_ids[..fits], "static128 and kvcache agree while the context fits");
}

#[test]
fn sliced_and_full_lm_head_give_the_same_ids() {
    // The bake slices the lm_head to the last position (as openvino-genai does at load
    // time) and keeps the unsliced static IR beside it; right padding runs that one.
    let model = common::smollm2();
    assert!(model.static_full_xml(128).exists(), "the bake keeps the unsliced static IR");
    let reference = common::reference(&model, "genai-cpu.json");
    let rt = common::runtime();
    let kv =
        bakeoff::profiles::ProfileSet::builtin().resolve_for("reference", Device::Cpu, PipelineKind::Static128, None);
    let props = kv.unwrap().pairs();
    use bakeoff::pipelines::window::Padding;
    for (padding, full_lm_head) in [(Padding::Left, false), (Padding::Left, true), (Padding::Right, false)] {
        let window = bakeoff::pipelines::static128::WindowOptions {
            window: 128,
            pad_id: model.pad_id(),
            padding,
            overflow: Default::default(),
            full_lm_head,
        };
        let mut loaded = bakeoff::pipelines::load::load(&rt, &model, PipelineKind::Static128, "CPU", &props, window)
            .unwrap_or_else(|e| panic!("{padding:?}: {e}"));
        // Two prompts of different lengths, 8 tokens each: every window position the three
        // variants treat differently (padding side, lm_head rows) is exercised by each step,
        // and each step re-runs the whole window in f32 (the suite's costliest generation).
        for p in reference.prompts.iter().take(2) {
            let config = GenerationConfig { max_new_tokens: 8, eos_ids: model.eos_ids(), ignore_eos: true };
            let t = loaded.pipeline.generate(&p.prompt_ids, &config, &mut NoObserver).unwrap();
            assert_eq!(t.output_ids, p.ignore_eos_ids[..8], "{padding:?} full {full_lm_head} {}", p.id);
        }
    }
}
