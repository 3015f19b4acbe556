//! Long contexts: the ladder of scenarios/long-context.toml (real prose at 229 to 3987
//! prompt tokens). Its goldens equal openvino-genai's ids at every rung; the CI-sized part
//! generates the 2047-token rung on CPU and one NPU:host rung against GenAI's own NPU path;
//! a rung over a profile's prompt window is refused as GenAI refuses it, and a run goes on
//! with the shorter rungs. The whole ladder on every profile is the scenario (opt-in: about
//! 10 minutes), and `cargo test --test long_context -- --ignored` generates every rung here.

mod common;

use bakeoff::golden::GoldenFile;
use bakeoff::pipeline_kind::PipelineKind;
use bakeoff::pipelines::{GenerateError, GenerationConfig, NoObserver};
use bakeoff::runtime::Device;
use bakeoff::scenario::LoadedScenario;
use bakeoff::text::chat::Message;
use bakeoff::text::{PromptInput, TextLayer};

/// The rungs' token budgets (tools/prompts/long_context.py).
const RUNGS: [usize; 5] = [256, 512, 1024, 2048, 4000];

fn golden() -> GoldenFile {
    GoldenFile::read(&common::repo().join("golden/long-context/smollm2-135m.json")).unwrap()
}

fn config(max_new_tokens: usize) -> GenerationConfig {
    GenerationConfig { max_new_tokens, eos_ids: common::smollm2().eos_ids(), ignore_eos: true }
}

#[test]
fn the_ladder_is_real_prose_rendered_and_tokenized_as_genai_does_at_its_stated_lengths() {
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-cpu-long.json");
    let scenario = LoadedScenario::load(&common::repo().join("scenarios/long-context.toml")).unwrap();
    let mut text = TextLayer::open(&model).unwrap();
    assert_eq!(scenario.prompts.len(), RUNGS.len());
    for ((entry, rung), genai) in scenario.prompts.iter().zip(RUNGS).zip(&reference.prompts) {
        assert_eq!(entry.id, genai.id);
        let input = PromptInput::Chat { messages: vec![Message::user(entry.prompt.clone())], enable_thinking: None };
        let ids = text.prepare(&input).unwrap().ids;
        assert_eq!(ids, genai.prompt_ids, "prompt ids of {}", entry.id);
        // The longest sentence-bounded excerpt within the rung: within a sentence of it.
        assert!(ids.len() <= rung && ids.len() + 60 > rung, "{}: {} tokens for a {rung} rung", entry.id, ids.len());
    }
    // No filler: every sentence of the longest rung is there once.
    let longest = &scenario.prompts.last().unwrap().prompt;
    let sentences: Vec<&str> = longest.split(". ").filter(|s| s.len() > 20).collect();
    let distinct: std::collections::BTreeSet<&&str> = sentences.iter().collect();
    assert!(sentences.len() > 100, "{} sentences", sentences.len());
    assert_eq!(distinct.len(), sentences.len(), "a sentence repeats in the ladder's text");
}

#[test]
fn the_goldens_at_length_equal_genai_and_kvcache_on_cpu_generates_the_2047_token_rung_alike() {
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-cpu-long.json");
    let golden = golden();
    for genai in &reference.prompts {
        let t = golden.transcript(&genai.id).unwrap();
        assert_eq!(t.prompt_ids, genai.prompt_ids, "{}", genai.id);
        assert_eq!(t.output_ids, genai.ignore_eos_ids, "the golden of {} is GenAI's ids", genai.id);
    }
    let rt = common::runtime();
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::Cpu, "reference");
    let rung = reference.prompts.iter().find(|p| p.id == "ctx2048").unwrap();
    let t = loaded.pipeline.generate(&rung.prompt_ids, &config(reference.max_new_tokens), &mut NoObserver).unwrap();
    assert_eq!(t.prompt_ids.len(), 2047);
    assert_eq!(t.output_ids, rung.ignore_eos_ids, "kvcache CPU at 2047 prompt tokens equals GenAI");
}

#[test]
#[ignore = "opt-in: every rung on CPU (about a minute); the CI part is the 2047-token rung"]
fn kvcache_on_cpu_equals_genai_at_every_rung() {
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-cpu-long.json");
    let rt = common::runtime();
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::Cpu, "reference");
    for p in &reference.prompts {
        let t = loaded.pipeline.generate(&p.prompt_ids, &config(reference.max_new_tokens), &mut NoObserver).unwrap();
        assert_eq!(t.output_ids, p.ignore_eos_ids, "{}", p.id);
    }
}

/// kvcache on NPU:host with the 4096-token prompt window of `aggressive` (the NPUW lengths
/// GenAI's reference was made with) on every rung of `reference`, against GenAI's NPU path on
/// the host.
fn npu_host_equals_genai(reference: common::Reference) {
    let model = common::smollm2();
    assert_eq!(reference.device, "NPU:host");
    common::assert_npu_settings_agree(&reference, &model, PipelineKind::Kvcache, "aggressive");
    let rt = common::runtime();
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::NpuHost, "aggressive");
    assert!(!reference.prompts.is_empty());
    for p in &reference.prompts {
        let t = loaded.pipeline.generate(&p.prompt_ids, &config(reference.max_new_tokens), &mut NoObserver).unwrap();
        let margins: Vec<f32> = t.steps.iter().map(|s| s.margin).collect();
        let got = bakeoff::golden::divergence::Side { ids: &t.output_ids, margins: &margins };
        let genai = bakeoff::golden::divergence::Side { ids: &p.ignore_eos_ids, margins: &[] };
        let verdict = bakeoff::golden::divergence::compare(genai, got, 0.1);
        assert_eq!(t.output_ids, p.ignore_eos_ids, "NPU:host {} against GenAI's NPU path: {verdict}", p.id);
    }
}

#[test]
fn kvcache_on_npu_host_equals_genai_npu_path_at_1024_prompt_tokens() {
    // `make setup` makes GenAI's NPU:host reference at this rung alone.
    let reference = common::reference(&common::smollm2(), "genai-npu-host-long.json");
    assert_eq!(reference.prompts.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["ctx1024"]);
    npu_host_equals_genai(reference);
}

#[test]
#[ignore = "opt-in: every rung on NPU:host (about two minutes), after `make npu-host-long-reference`"]
fn kvcache_on_npu_host_equals_genai_npu_path_at_every_rung() {
    let path = common::smollm2().root.join("reference/genai-npu-host-long-all.json");
    let reference = common::reference_file(&path, "make npu-host-long-reference");
    assert_eq!(reference.prompts.len(), RUNGS.len());
    npu_host_equals_genai(reference);
}

#[test]
fn a_rung_over_the_prompt_window_is_refused_exactly_where_genai_refuses_it() {
    // GenAI's NPU path on the host with MAX_PROMPT_LEN 1024 (written at setup) and bakeoff's
    // `reference` profile on NPU:host (conservative's NPUW_LLM_MAX_PROMPT_LEN 1024).
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-npu-host-limit.json");
    common::assert_npu_settings_agree(&reference, &model, PipelineKind::Kvcache, "reference");
    let rt = common::runtime();
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::NpuHost, "reference");
    let mut refused = Vec::new();
    for p in &reference.prompts {
        match loaded.pipeline.generate(&p.prompt_ids, &config(1), &mut NoObserver) {
            Ok(t) => assert_eq!(t.output_ids, p.ignore_eos_ids, "{}", p.id),
            Err(e @ GenerateError::Unsupported(_)) => {
                let message = e.to_string();
                assert!(message.contains("over NPUW_LLM_MAX_PROMPT_LEN"), "{message}");
                assert!(
                    message.contains(&format!("{} tokens, the profile allows 1024", p.prompt_ids.len())),
                    "{message}"
                );
                assert!(message.contains("Input prompt is longer than configured"), "the plugin's words: {message}");
                refused.push(p.id.clone());
            }
            Err(e) => panic!("{}: {e}", p.id),
        }
    }
    let genai_refused: Vec<String> =
        reference.prompts.iter().filter(|p| p.refused.is_some()).map(|p| p.id.clone()).collect();
    assert_eq!(refused, ["ctx2048", "ctx4000"]);
    assert_eq!(refused, genai_refused, "bakeoff refuses what GenAI refuses");
}

#[test]
fn an_edited_long_golden_fails_golden_check_naming_the_step() {
    let tmp = tempfile::tempdir().unwrap();
    let mut golden = golden();
    golden.transcripts.retain(|t| t.prompt_id == "ctx2048");
    let t = &mut golden.transcripts[0];
    let step = (30..t.output_ids.len()).find(|&i| t.margins[i] > 0.5).expect("a clear step past 30");
    t.output_ids[step] = if t.output_ids[step] == 42 { 43 } else { 42 };
    std::fs::create_dir(tmp.path().join("golden")).unwrap();
    golden.write(&tmp.path().join("golden/smollm2-135m.json")).unwrap();
    let prompt = &LoadedScenario::load(&common::repo().join("scenarios/long-context.toml")).unwrap().prompts[3];
    let scenario = tmp.path().join("one-rung.toml");
    let text = common::kvcache_cpu_scenario(
        "one-rung",
        &format!("id = \"ctx2048\"\nprompt = {}", toml::Value::String(prompt.prompt.clone())),
        "max_new_tokens = 48\nignore_eos = true",
        "[golden]\ndir = \"golden\"",
    );
    std::fs::write(&scenario, text).unwrap();
    let o = common::bakeoff(&["golden", "check", scenario.to_str().unwrap(), "--pipeline", "kvcache"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(bakeoff::exit::CORRECTNESS_FAILURE), "{err}");
    assert!(err.contains(&format!("hard mismatch at step {step}")), "names the step: {err}");
}
