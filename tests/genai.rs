//! openvino-genai's LLMPipeline as a pipeline of the matrix (`genai`): its cells run in
//! GenAI's worker on the project's venv, speak the cell protocol, are timed with bakeoff's
//! clock around GenAI's streamer, keep GenAI's own PerfMetrics beside, and are checked
//! against the goldens like the others, on CPU and NPU:host.

mod common;

use serde_json::Value;

#[test]
fn static128_kvcache_and_genai_run_side_by_side_and_genai_is_checked_against_the_goldens() {
    common::smollm2();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = common::scenario_copy("pipelines.toml", tmp.path(), "");
    // 4 tokens, 1 repetition and one compile a cell (cold): what this test checks needs no
    // more, and static128 on one thread is the slowest cell of the suite per token.
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("max_new_tokens = 16", "max_new_tokens = 4")
        .replace("repetitions = 2", "repetitions = 1")
        .replace(r#"policy = "warm""#, r#"policy = "cold""#);
    std::fs::write(&scenario, text).unwrap();
    let out = tmp.path().join("run");
    // All three pipelines on CPU, and genai on NPU:host too (kvcache and static128 on
    // NPU:host are the smoke test's).
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--filter",
        "profile=conservative,device=CPU",
        "--filter",
        "profile=conservative,pipeline=genai",
    ];
    let o = common::bakeoff(&args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));

    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cells = summary["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "3 pipelines on CPU, genai on NPU:host");
    assert!(cells.iter().all(|c| c["status"] == "completed"), "{cells:#?}");
    for c in cells.iter().filter(|c| c["cell"]["pipeline"] == "genai") {
        let m = &c["metrics"];
        assert!(m["ttft_p50_ms"].as_f64().unwrap() > 0.0 && m["itl_p50_ms"].as_f64().unwrap() > 0.0, "{c}");
        assert!(m["decode_tokens_per_s"].as_f64().unwrap() > 0.0 && m["cpu_ms_per_token"].as_f64().unwrap() > 0.0);
        assert_eq!(m["output_tokens"], 4.0);
    }

    // Every genai sample: bakeoff's timing of each token and GenAI's own figures beside it.
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let samples: Vec<Value> = results
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "sample" && r["cell"]["pipeline"] == "genai")
        .collect();
    assert_eq!(samples.len(), 2 * 2 * 2, "2 cells x 2 prompts x (1 warm-up + 1 repetition)");
    for s in &samples {
        assert_eq!(s["output_ids"].as_array().unwrap().len(), 4);
        assert_eq!(s["itl_ms"].as_array().unwrap().len(), 3, "one inter-token time per token after the first");
        let genai = &s["genai_perf_metrics"];
        assert!(genai["ttft_ms"].as_f64().unwrap() > 0.0 && genai["throughput_tokens_per_s"].as_f64().unwrap() > 0.0);
    }

    // The goldens cover genai: on CPU with exact f32 settings (enforced) GenAI's ids are
    // the golden's, as bakeoff's own pipelines' are.
    let correctness: Value = serde_json::from_slice(&std::fs::read(out.join("correctness.json")).unwrap()).unwrap();
    let golden = correctness["golden"].as_array().unwrap();
    let genai_cpu: Vec<&Value> =
        golden.iter().filter(|g| g["cell"]["pipeline"] == "genai" && g["cell"]["device"] == "CPU").collect();
    assert_eq!(genai_cpu.len(), 2, "both prompts of the genai CPU cell: {golden:#?}");
    assert!(
        genai_cpu.iter().all(|g| g["enforced"] == true && g["verdict"]["verdict"] == "identical"),
        "{genai_cpu:#?}"
    );
    assert!(golden.iter().any(|g| g["cell"]["pipeline"] == "genai" && g["cell"]["device"] == "NPU:host"));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| smollm2-135m | genai | NPU:host | conservative | cold |"), "{md}");

    // In-process commands say where genai runs instead.
    let o = common::bakeoff(&["generate", "--model", "models/smollm2-135m", "--pipeline", "genai", "--prompt", "hi"]);
    assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR));
    assert!(String::from_utf8_lossy(&o.stderr).contains("runs only as a cell of `bakeoff run`"));
}
