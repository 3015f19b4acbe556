//! The `bakeoff` binary end to end: devices, generate's JSON, profiles, and input errors
//! that name what is wrong.

mod common;

use common::bakeoff;
use serde_json::Value;
use std::process::Output;

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn devices_prints_the_fingerprint() {
    let v = json(&bakeoff(&["devices", "--format", "json"]));
    let fp = &v["fingerprint"];
    assert!(fp["openvino_version"].as_str().unwrap().starts_with("2026.4.1"), "{fp}");
    assert!(fp["openvino_library"].as_str().unwrap().contains("libopenvino_c.so"));
    assert!(fp["devices"].as_array().unwrap().iter().any(|d| d["name"] == "CPU" && d["full_name"].is_string()));
    assert!(!fp["host_cpu"].as_str().unwrap().is_empty());
    assert_eq!(fp["harness_version"], env!("CARGO_PKG_VERSION"));
    let text = bakeoff(&["devices"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("NPU      not present"));
}

#[test]
fn generate_json_has_every_field_and_the_reference_ids() {
    let model = common::smollm2();
    let reference = common::reference(&model, "genai-cpu.json");
    let p = &reference.prompts[0];
    for pipeline in ["kvcache", "static128"] {
        let out = bakeoff(&[
            "generate",
            "--model",
            "models/smollm2-135m",
            "--pipeline",
            pipeline,
            "--prompt",
            &p.prompt,
            "--max-new-tokens",
            "48",
            "--format",
            "json",
        ]);
        let v = json(&out);
        for key in
            ["prompt_ids", "output_ids", "text", "ttft_ms", "itl_ms", "pipeline", "device", "profile", "stop_reason"]
        {
            assert!(v.get(key).is_some(), "{pipeline}: no `{key}` in {v}");
        }
        let ids: Vec<i64> = serde_json::from_value(v["output_ids"].clone()).unwrap();
        assert_eq!(ids, p.natural(), "{pipeline}");
        assert_eq!(v["stop_reason"], "eos");
        assert_eq!(v["profile"], "reference");
        assert_eq!(v["itl_ms"].as_array().unwrap().len(), ids.len() - 1);
        assert!(v["ttft_ms"].as_f64().unwrap() > 0.0);
        assert!(v["text"].as_str().unwrap().contains("Paris"), "{}", v["text"]);
    }
}

#[test]
fn generate_from_ids_with_ignore_eos_runs_to_max_new_tokens() {
    let model = common::smollm2();
    let p = &common::reference(&model, "genai-cpu.json").prompts[1];
    let ids: Vec<String> = p.prompt_ids.iter().map(i64::to_string).collect();
    let v = json(&bakeoff(&[
        "generate",
        "--model",
        "models/smollm2-135m",
        "--pipeline",
        "kvcache",
        "--prompt-ids",
        &ids.join(","),
        "--max-new-tokens",
        "48",
        "--ignore-eos",
        "--format",
        "json",
    ]));
    let out: Vec<i64> = serde_json::from_value(v["output_ids"].clone()).unwrap();
    assert_eq!(out, p.ignore_eos_ids);
    assert_eq!(v["stop_reason"], "max_new_tokens");
    assert!(v["rendered_prompt"].is_null());
}

#[test]
fn static128_prompt_over_the_window_is_an_input_error_unless_truncating() {
    let long = "word ".repeat(200);
    let args = [
        "generate",
        "--model",
        "models/smollm2-135m",
        "--pipeline",
        "static128",
        "--raw",
        "--prompt",
        &long,
        "--max-new-tokens",
        "4",
        "--format",
        "json",
    ];
    let out = bakeoff(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("prompt over window"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut truncating = args.to_vec();
    truncating.extend(["--overflow", "truncate-left"]);
    let v = json(&bakeoff(&truncating));
    assert_eq!(v["truncated"], true);
    assert_eq!(v["output_ids"].as_array().unwrap().len(), 4);
}

#[test]
fn npu_without_an_npu_is_a_clear_error() {
    let out = bakeoff(&[
        "generate",
        "--model",
        "models/smollm2-135m",
        "--pipeline",
        "kvcache",
        "--device",
        "NPU",
        "--prompt",
        "hi",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NPU not present"));
}

#[test]
fn missing_model_and_unknown_profile_name_what_is_wrong() {
    let out = bakeoff(&["generate", "--model", "models/nope", "--pipeline", "kvcache", "--prompt", "hi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("models/nope does not exist"));
    let out = bakeoff(&[
        "generate",
        "--model",
        "models/smollm2-135m",
        "--pipeline",
        "kvcache",
        "--profile",
        "turbo",
        "--prompt",
        "hi",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown profile `turbo`") && err.contains("conservative"), "{err}");
}

#[test]
fn profiles_show_derives_the_kv_dims_from_the_model() {
    let v = json(&bakeoff(&[
        "profiles",
        "show",
        "balanced",
        "--device",
        "NPU",
        "--pipeline",
        "kvcache",
        "--model",
        "models/smollm2-135m",
        "--format",
        "json",
    ]));
    let props = v["properties"].as_array().unwrap();
    let get = |k: &str| props.iter().find(|p| p["key"] == k).map(|p| p["value"].as_str().unwrap().to_string());
    assert_eq!(get("NPUW_LLM_SEQ_LEN_DIM").as_deref(), Some("2"));
    assert_eq!(get("NPUW_LLM_BATCH_DIM").as_deref(), Some("0"));
    assert_eq!(get("NPUW_LLM_MAX_PROMPT_LEN").as_deref(), Some("2048"));
}
