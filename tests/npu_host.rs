//! The NPU plugin's NPUW LLM pipeline executed by the host CPU (NPUW_DEVICES=CPU): the
//! baked stateful IR compiles on "NPU" with NPUW_DEVICES=CPU and generates; its ids equal
//! openvino-genai's own NPU path; its limits (MAX_PROMPT_LEN, the KV capacity) are handled
//! as on silicon.

mod common;

use bakeoff::pipeline_kind::PipelineKind;
use bakeoff::pipelines::{GenerationConfig, NoObserver, StopReason};
use bakeoff::runtime::Device;
use serde_json::Value;

#[test]
fn stateful_ir_compiles_on_npu_with_npuw_on_the_host_and_generates() {
    let model = common::smollm2();
    let rt = common::runtime();
    assert!(!rt.device_present("NPU").unwrap(), "this test is about machines without an NPU");
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::NpuHost, "conservative");
    assert_eq!(loaded.execution_devices.as_deref(), Some("NPU"));
    let prompt = &common::reference(&model, "genai-cpu.json").prompts[0].prompt_ids;
    let config = GenerationConfig { max_new_tokens: 8, eos_ids: model.eos_ids(), ignore_eos: true };
    let t = loaded.pipeline.generate(prompt, &config, &mut NoObserver).unwrap();
    assert_eq!(t.output_ids.len(), 8);
}

#[test]
fn kvcache_on_npu_host_equals_openvino_genai_npu_path() {
    // GenAI: LLMPipeline(dir, "NPU", MAX_PROMPT_LEN=1024, MIN_RESPONSE_LEN=128, and the
    // host execution settings) (tools/references/reference.py --device NPU:host, written at
    // setup); bakeoff: the conservative profile, whose NPU:host properties are the same.
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-npu-host.json");
    assert_eq!(reference.device, "NPU:host");
    assert!(reference.prompts.len() >= 6 && reference.max_new_tokens >= 48);
    common::assert_npu_settings_agree(&reference, &model, PipelineKind::Kvcache, "conservative");
    let rt = common::runtime();
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::NpuHost, "conservative");
    for p in &reference.prompts {
        let config =
            GenerationConfig { max_new_tokens: reference.max_new_tokens, eos_ids: model.eos_ids(), ignore_eos: true };
        let t = loaded.pipeline.generate(&p.prompt_ids, &config, &mut NoObserver).unwrap();
        assert_eq!(t.output_ids, p.ignore_eos_ids, "NPU:host ids of `{}` equal GenAI's NPU path", p.id);
    }
}

#[test]
fn generating_past_the_kv_capacity_stops_with_kv_full() {
    // MAX_PROMPT_LEN 64 + MIN_RESPONSE_LEN 64: NPUW holds 127 tokens; a 40-token prompt gets
    // 88 new tokens (the last one is produced, not stored) and the stop reason says why.
    let model = common::smollm2();
    let rt = common::runtime();
    let limits = [("NPUW_LLM_MAX_PROMPT_LEN", "64"), ("NPUW_LLM_MIN_RESPONSE_LEN", "64")];
    let mut loaded =
        common::pipeline_with(&rt, &model, PipelineKind::Kvcache, Device::NpuHost, "conservative", &limits);
    let prompt: Vec<i64> = (100..140).collect();
    let config = GenerationConfig { max_new_tokens: 120, eos_ids: model.eos_ids(), ignore_eos: true };
    let t = loaded.pipeline.generate(&prompt, &config, &mut NoObserver).unwrap();
    assert_eq!(t.stop_reason, StopReason::KvFull);
    assert_eq!(t.output_ids.len(), 127 - 40 + 1);
    // The same pipeline runs the next generation normally.
    let short = GenerationConfig { max_new_tokens: 4, ..config };
    assert_eq!(loaded.pipeline.generate(&prompt, &short, &mut NoObserver).unwrap().output_ids.len(), 4);
}

#[test]
fn a_prompt_over_max_prompt_len_is_refused_with_the_plugins_message_and_the_cell_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "Repeat after me: ".to_string() + &"the quick brown fox jumps over the lazy dog ".repeat(14);
    let scenario = tmp.path().join("limits.toml");
    // Two new tokens: the run also cross-checks static128 against kvcache, and on a host
    // computing in bf16 (AVX512-BF16) "Bye" meets a one-ulp tie between them at step 2,
    // which is not what this test is about.
    let text = format!(
        r#"
name = "limits"
[[models]]
path = "{model}"
[prompts]
inline = [{{ id = "short", prompt = "Hi" }}, {{ id = "long", prompt = "{long}" }}, {{ id = "again", prompt = "Hello" }}, {{ id = "more", prompt = "Bye" }}]
[matrix]
pipelines = ["kvcache", "static128"]
devices = ["NPU:host"]
profiles = ["conservative"]
[generation]
max_new_tokens = 2
[measure]
warmup = 0
repetitions = 2
[profiles.conservative.NPU.kvcache]
NPUW_LLM_MAX_PROMPT_LEN = 64
"#,
        model = common::repo().join("models/smollm2-135m").display()
    );
    std::fs::write(&scenario, text).unwrap();
    let out = tmp.path().join("run");
    let o = common::bakeoff(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "a refused prompt is not a failure: {}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cells = summary["cells"].as_array().unwrap();
    let kv = cells.iter().find(|c| c["cell"]["pipeline"] == "kvcache").unwrap();
    // Three prompts fit: two measured samples each; the long one is refused once, not retried.
    assert_eq!((kv["status"].as_str(), kv["measured_samples"].as_u64()), (Some("completed"), Some(6)), "{kv}");
    let rows = summary["cost_by_length"].as_array().unwrap();
    let refused: Vec<&Value> =
        rows.iter().filter(|r| r["cell"]["pipeline"] == "kvcache" && r["refused"].is_string()).collect();
    assert_eq!(refused.len(), 1, "{rows:?}");
    let reason = refused[0]["refused"].as_str().unwrap();
    assert!(reason.contains("over NPUW_LLM_MAX_PROMPT_LEN") && reason.contains("the profile allows 64"), "{reason}");
    assert!(reason.contains("Input prompt is longer than configured \"NPUW_LLM_MAX_PROMPT_LEN\": 64"), "{reason}");
    assert!(refused[0]["ttft_ms"].is_null(), "a refused prompt has no figures: {}", refused[0]);
    let records = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert_eq!(records.matches("\"prompt_id\":\"long\"").count(), 2, "one refusal per cell, no sample of it");
    // static128's 128-token window refuses the long prompt too, and runs the rest.
    let st = cells.iter().find(|c| c["cell"]["pipeline"] == "static128").unwrap();
    assert_eq!((st["status"].as_str(), st["measured_samples"].as_u64()), (Some("completed"), Some(6)), "{st}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("## Refused prompts") && md.contains("kvcache/NPU:host/conservative"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<h2>Refused prompts</h2>"), "report.html lists it too");
    assert!(md.contains("NPUW host execution: not NPU silicon"));
}

#[test]
fn a_cell_whose_every_prompt_is_refused_is_unsupported() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "Repeat after me: ".to_string() + &"the quick brown fox jumps over the lazy dog ".repeat(14);
    let path = common::fault_scenario(
        tmp.path(),
        "window.toml",
        &[
            (common::ALL_PROFILES, r#"profiles = ["reference"]"#),
            (r#"pipelines = ["kvcache"]"#, r#"pipelines = ["static128"]"#),
            ("What is the capital of France?", &long),
        ],
        "",
    );
    let out = tmp.path().join("run");
    let o = common::bakeoff(&["run", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cell = &summary["cells"][0];
    assert_eq!(cell["status"], "unsupported", "{cell}");
    assert!(cell["reason"].as_str().unwrap().contains("every prompt was refused"), "{cell}");
    let row = &summary["cost_by_length"][0];
    assert!(row["refused"].as_str().unwrap().contains("prompt over window"), "{row}");
}

#[test]
fn every_setting_is_read_back_after_the_compile_on_npu_host_and_cpu() {
    let model = common::smollm2();
    let generate = |device: &str, profile: &str| -> Value {
        let m = model.root.to_str().unwrap();
        let args = ["generate", "--model", m, "--pipeline", "kvcache", "--device", device, "--profile", profile];
        let o = common::bakeoff(
            &[&args[..], &["--prompt-ids", "1,2,3", "--max-new-tokens", "2", "--format", "json"]].concat(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // NPU:host, conservative: what the profile set reads back as set, and the NPUW keys it
    // leaves are reported with the plugin's own defaults.
    let out = generate("NPU:host", "conservative");
    let effective = &out["effective_properties"];
    for (key, value) in
        [("NPUW_LLM_MAX_PROMPT_LEN", "1024"), ("NPUW_LLM_PREFILL_HINT", "STATIC"), ("NPUW_DEVICES", "CPU")]
    {
        assert_eq!(effective[key], value, "{key}: {effective:#}");
    }
    let attention = effective["NPUW_LLM_PREFILL_ATTENTION_HINT"].as_str().expect("a default the profile leaves");
    assert!(["DYNAMIC", "STATIC", "PYRAMID", "HFA"].contains(&attention), "{attention}");
    assert!(effective["NPUW_LLM_PREFILL_CHUNK_SIZE"].as_str().unwrap().parse::<u64>().is_ok(), "{effective:#}");
    assert!(effective.get("NPUW_WEIGHTS_BANK").is_none(), "a name made up per compile is not a setting");
    assert_eq!(out["property_changes"], serde_json::json!([]), "{:#}", out["property_changes"]);
    // CPU, reference: f32 inference and KV cache read back in the plugin's own words.
    let out = generate("CPU", "reference");
    let effective = &out["effective_properties"];
    assert_eq!(
        (&effective["INFERENCE_PRECISION_HINT"], &effective["KV_CACHE_PRECISION"]),
        (&"f32".into(), &"f32".into())
    );
    assert_eq!(effective["DYNAMIC_QUANTIZATION_GROUP_SIZE"], "0", "{effective:#}");
}
