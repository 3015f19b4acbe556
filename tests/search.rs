//! Budgeted profile searches (`[search]`): a tiny CPU search runs its stages on the real
//! runtime, records a candidate that crashes at compile and goes on, draws a front, decides
//! its finalists paired and exports the winner in both formats (read back equal by
//! `profiles import`); `recommend` chooses again from the front; a resume re-runs no
//! finished cell;
//! a search that cannot be one is refused naming the field.

mod common;

use serde_json::Value;
use std::path::Path;

/// The `[search]` of the CPU search: three keys from balanced, short paired finals.
const SEARCH: &str = r#"
[search]
base = "balanced"
device = "CPU"
section = "all"
budget_minutes = 10
[search.values]
INFERENCE_NUM_THREADS = [1]
KV_CACHE_PRECISION = ["u8", "f32"]
INFERENCE_PRECISION_HINT = ["f32"]
[search.pairs]
min_pairs = 10
max_pairs = 20
pairs_per_round = 5
max_minutes = 1.0
"#;

/// A CPU search on the SmolLM2 fixture (the fault scenario's cell with balanced alone,
/// warm caches, one repetition to screen). `threads=1` crashes at compile through the fault
/// hook where a test asks.
fn cpu_search(dir: &Path, extra: &str) -> std::path::PathBuf {
    let edits = [
        ("name = \"faults\"", "name = \"cpu-search\""),
        (common::ALL_PROFILES, "profiles = [\"balanced\"]"),
        ("repetitions = 2", "repetitions = 1"),
        ("policy = \"cold\"", "policy = \"warm\""),
    ];
    common::fault_scenario(dir, "cpu-search.toml", &edits, &format!("{SEARCH}{extra}"))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Lines of a results.jsonl other than the crashed candidate's (a resume retries a failed
/// cell, as `run --resume` does).
fn results_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.contains("threads=1")).count()
}

#[test]
fn a_tiny_search_finds_a_front_decides_its_finalists_paired_and_exports_the_winner() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = cpu_search(tmp.path(), "");
    let out = tmp.path().join("search");
    let (s, o) = (scenario.to_str().unwrap(), out.to_str().unwrap());
    let run = common::bakeoff_env(&["run", s, "--out", o], &[("BAKEOFF_FAULT", "abort@/balanced+threads=1/")]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");

    let report = json(&out.join("search.json"));
    let stages = report["stages"].as_array().unwrap();
    assert_eq!(stages[0]["folder"], "1-screen");
    assert_eq!(stages[0]["profiles"], 5, "the base and four one-factor profiles");
    // The crashed candidate is recorded with its reason, and the search went on.
    let candidates = report["candidates"].as_array().unwrap();
    let crashed = candidates.iter().find(|c| c[0]["profile"] == "balanced+threads=1").expect("recorded");
    let lost = crashed[0]["candidate"]["lost"].as_str().unwrap();
    assert!(lost.contains("failed") && lost.contains("crash"), "{lost}");
    assert_eq!(crashed[1], false, "a failed candidate is not on the front");
    let on_front: Vec<&str> =
        candidates.iter().filter(|c| c[1] == true).map(|c| c[0]["profile"].as_str().unwrap()).collect();
    assert!(!on_front.is_empty(), "{report:#}");
    // Every completed candidate has its cold (own cache) and warm compile measured.
    for c in candidates.iter().filter(|c| c[0]["candidate"]["lost"].is_null()) {
        let figures = &c[0]["figures"];
        assert!(figures["compile_cold_ms"].as_f64().unwrap() > 0.0, "{c}");
        assert!(figures["compile_warm_ms"].as_f64().unwrap() > 0.0, "{c}");
    }
    // Two finalists from the front, the leader measured paired against the other.
    let finalists: Vec<&str> = report["finalists"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(finalists.len(), 2, "{report:#}");
    assert!(finalists.iter().all(|f| on_front.contains(f)), "{finalists:?} {on_front:?}");
    let pair = &report["pairs"][0];
    assert_eq!((pair["leader"].as_str(), pair["challenger"].as_str()), (Some(finalists[0]), Some(finalists[1])));
    assert!(pair["pairs"].as_u64().unwrap() >= 10, "{pair}");
    let judged = &pair["judged"];
    assert_eq!(judged["metric"], "decode_tokens_per_s");
    assert!(judged["minimum_detectable_effect"].as_f64().is_some(), "{judged}");
    assert!(["improved", "regressed", "no_change"].contains(&judged["verdict"].as_str().unwrap()), "{judged}");
    let winner = report["pick"]["winner"].as_str().unwrap();
    assert!(finalists.contains(&winner));
    let statement = report["pick"]["statement"].as_str().unwrap();
    assert!(statement.contains("paired"), "{statement}");
    assert!(out.join("final-1/ab.json").exists() && out.join("front.svg").exists() && out.join("front.png").exists());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("search front") && html.contains(winner), "report.html names the front and the pick");

    // The exported profile, and its GenAI config imported back, compile with the same
    // properties.
    let show = |file: &Path, name: &str| -> Value {
        let f = file.to_str().unwrap();
        let o = common::bakeoff(&[
            "profiles",
            "--profiles-file",
            f,
            "show",
            name,
            "--device",
            "CPU",
            "--pipeline",
            "kvcache",
            "--format",
            "json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| serde_json::json!([p["key"], p["value"]]))
            .collect::<Vec<_>>()
            .into()
    };
    let genai = out.join("winner.genai.json");
    let import =
        common::bakeoff(&["profiles", "import", genai.to_str().unwrap(), "--name", "imported", "--device", "CPU"]);
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let imported = tmp.path().join("imported.toml");
    std::fs::write(&imported, &import.stdout).unwrap();
    assert_eq!(show(&out.join("winner.toml"), winner), show(&imported, "imported"));

    // recommend on the search folder chooses from the front: the leader under no
    // constraint, nothing under an impossible one, and every loser says why.
    let recommend = |extra: &[&str]| -> Value {
        let o = common::bakeoff(&[&["recommend", o, "--format", "json"][..], extra].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["recommendations"][0].clone()
    };
    let rec = recommend(&[]);
    assert_eq!(rec["best"], finalists[0], "{rec:#}");
    assert!(rec["candidates"].as_array().unwrap().iter().skip(1).all(|c| c["lost"].is_string()), "{rec:#}");
    let none = recommend(&["--max-ttft-ms", "0.001"]);
    assert!(none["best"].is_null(), "{none:#}");

    // A resume of the finished search re-runs no cell and picks the same.
    let screen_lines = results_lines(&out.join("1-screen/results.jsonl"));
    let final_lines = results_lines(&out.join("final-1/results.jsonl"));
    let again = common::bakeoff_env(&["run", s, "--resume", o], &[("BAKEOFF_FAULT", "abort@/balanced+threads=1/")]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(results_lines(&out.join("1-screen/results.jsonl")), screen_lines);
    assert_eq!(results_lines(&out.join("final-1/results.jsonl")), final_lines);
    assert_eq!(json(&out.join("search.json"))["pick"]["winner"], winner);
}

#[test]
fn a_search_that_cannot_be_one_is_refused_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 5] = [
        ("devices = [\"CPU\"]", "devices = [\"CPU\", \"NPU:host\"]", "matrix.devices"),
        ("budget_minutes = 10", "budget_minutes = 10\nfinalists = 5", "search.finalists: 5"),
        ("budget_minutes = 10", "budget_minutes = 0", "search.budget_minutes"),
        (
            "INFERENCE_NUM_THREADS = [1]",
            "INFERENCE_NUM_THREADS = [1]\nNPUW_LLM_PREFILL_HINT = [\"STATIC\"]",
            "NPUW_LLM_PREFILL_HINT",
        ),
        ("profiles = [\"balanced\"]", "profiles = [\"conservative\"]", "matrix.profiles"),
    ];
    for (from, to, named) in cases {
        let path = cpu_search(tmp.path(), "");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let o = common::bakeoff(&["run", path.to_str().unwrap(), "--list"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{to}: {stderr}");
        assert!(stderr.contains(named) && stderr.contains("cpu-search.toml"), "{named}: {stderr}");
    }
}

#[test]
fn the_shipped_npu_search_screens_eight_npuw_keys_from_balanced() {
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_copy("npu-search.toml", tmp.path(), "");
    let o = common::bakeoff(&["run", s.to_str().unwrap(), "--list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let profiles: Vec<&str> = out.lines().collect();
    assert_eq!(profiles[0], "balanced");
    let keys: std::collections::BTreeSet<&str> =
        profiles.iter().filter_map(|p| p.split_once('+')).map(|(_, d)| d.split('=').next().unwrap()).collect();
    assert!(keys.len() >= 8, "{keys:?}");
}
