//! `bakeoff ab` on the real runtime and the SmolLM2 fixture: an A/A run is no change and a
//! known slowdown on the candidate side alone is a regression (exit 3), in the one-cell
//! form; a scenario's `[ab]` table with a static128 cell, the records of its pairs and a
//! resumed run that continues them (from the folder alone, in both forms); and the input
//! errors of the table. Thresholds hold on
//! any CPU: the slowdown is a multiple of each step's own time (900% makes decode about a
//! tenth as fast), and the A/A threshold (25%, decode's half of it) is far beyond any pair's
//! noise.

mod common;

use bakeoff::results::pairs::pairs_by_cell;
use bakeoff::results::{read_results, Record};
use serde_json::Value;
use std::path::Path;

const PROMPT: &str = "What is the capital of France?";

fn one_cell(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let model = common::repo().join("models/smollm2-135m");
    let mut args = vec![
        "ab",
        "--baseline-model",
        model.to_str().unwrap(),
        "--pipeline",
        "kvcache",
        "--device",
        "CPU",
        "--prompt",
        PROMPT,
        "--max-new-tokens",
        "12",
        "--ignore-eos",
        "--min-pairs",
        "6",
        "--max-pairs",
        "6",
        "--pairs-per-round",
        "3",
        "--threshold",
        "0.25",
        "--max-minutes",
        "60",
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend(extra);
    let o = common::bakeoff_env(&args, env);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (o.status.code().unwrap(), v, stderr)
}

fn metric<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["cells"][0]["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == name).unwrap()
}

#[test]
fn a_a_is_no_change_and_a_slowdown_on_the_candidate_alone_regresses() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, aa, stderr) = one_cell(&tmp.path().join("aa"), &[], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(aa["cells"][0]["status"], "completed");
    assert_eq!(aa["cells"][0]["pairs"], 6);
    let decode = metric(&aa, "decode_tokens_per_s");
    assert_eq!(decode["verdict"], "no_change", "{decode}");
    // --threshold 0.25 moves decode's built-in threshold (half of it) with it.
    assert_eq!(decode["threshold"].as_f64(), Some(0.125), "{decode}");
    assert!(decode["minimum_detectable_effect"].as_f64().unwrap() > 0.125);
    assert_a_a_checks(&aa, &tmp.path().join("aa"));
    // Interrupted, the one-cell form resumes from its folder alone, with no flag repeated.
    let aa_dir = tmp.path().join("aa");
    interrupt_after_four_pairs(&aa_dir);
    let o = common::bakeoff(&["ab", "--resume", aa_dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let resumed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(resumed["cells"][0]["pairs"], 6, "{resumed:#}");
    let cell = pairs_by_cell(&read_results(&aa_dir.join("results.jsonl")).unwrap().records).into_values().next();
    assert_eq!(cell.unwrap().iter().map(|p| p.index).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    assert_resume_refuses_other_flags(&aa_dir);

    let env = [("BAKEOFF_TEST_SLOWDOWN", "900"), ("BAKEOFF_TEST_SLOWDOWN_SIDE", "candidate")];
    let (code, ab, stderr) = one_cell(&tmp.path().join("ab"), &[], &env);
    let decode = metric(&ab, "decode_tokens_per_s");
    assert_eq!(code, bakeoff::exit::REGRESSION, "{stderr}\n{decode}\n{}", ab["cells"][0]["status"]);
    assert_eq!(decode["verdict"], "regressed", "{decode}");
    let change = decode["change"]["relative"].as_f64().unwrap();
    assert!(change < -0.5, "900% of every step's time added to the candidate only: {change}");
    // Only the candidate side was slowed: its fingerprint says so, the baseline's does not.
    let fp: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("ab/fingerprint.json")).unwrap()).unwrap();
    assert_eq!(fp["candidate"]["fingerprint"]["test_slowdown"], "900");
    assert!(fp["baseline"]["fingerprint"]["test_slowdown"].is_null(), "{}", fp["baseline"]);
    // The reports a person reads.
    for f in ["ab.md", "ab.json", "report.html", "ab-1-raw.svg", "ab-1-ratio.svg", "ab-1-ratio.png"] {
        assert!(tmp.path().join("ab").join(f).exists(), "{f}");
    }
    let md = std::fs::read_to_string(tmp.path().join("ab/ab.md")).unwrap();
    assert!(md.contains("**regressed**") && md.contains("min. detectable"), "{md}");
    assert_eq!(ab["pass"], false);
    assert!(md.contains("**Verdict: FAIL**") && md.contains("decode_tokens_per_s"), "{md}");
}

/// What an A/A run of one stack says beside speed: PASS; both processes of every round
/// measured their cold and warm compile, first inference and memory by phase; the same ids
/// in every pair; and the stack reuses the cache it wrote itself.
fn assert_a_a_checks(report: &Value, dir: &Path) {
    assert_eq!(report["pass"], true, "{:#}", report["reasons"]);
    let cell = &report["cells"][0];
    assert_eq!(cell["outputs"]["identical"], 6, "{:#}", cell["outputs"]);
    assert_eq!(cell["cache"]["outcome"], "reused", "{:#}", cell["cache"]);
    let read = read_results(&dir.join("results.jsonl")).unwrap();
    let rounds = bakeoff::results::pairs::rounds_by_cell(&read.records).into_values().next().unwrap();
    assert_eq!(rounds.iter().map(|r| r.round).collect::<Vec<_>>(), [0, 1]);
    for r in &rounds {
        for side in [&r.baseline, &r.candidate] {
            // A warm cell: a cold compile into the round's empty cache, then a cache hit.
            assert_eq!(side.from_cache, Some(true), "{r:?}");
            let figures = [side.cold_compile_ms, side.compile_ms, side.first_inference_ms, side.load_ms];
            assert!(figures.iter().all(|f| f.is_some_and(|v| v > 0.0)), "{r:?}");
            let (compile, steady, peak) = (side.compile_peak_rss_mb, side.steady_peak_rss_mb, side.peak_rss_mb);
            assert!(compile.is_some_and(|c| c > 0.0) && steady.is_some_and(|s| s > 0.0), "{r:?}");
            // The process's whole peak is at least either phase's.
            assert!(peak.unwrap() + 0.5 >= compile.unwrap().max(steady.unwrap()), "{r:?}");
        }
    }
    let cold = metric(report, "cold_compile_ms");
    assert_eq!(cold["method"], "round ratios (Hodges-Lehmann)", "{cold}");
    assert!(cold["baseline"].as_f64().is_some() && cold["candidate"].as_f64().is_some(), "{cold}");
}

const SCENARIO: &str = r#"
name = "ab-static"
[[models]]
path = "MODEL"
[[prompts.inline]]
id = "capital"
prompt = "What is the capital of France?"
[matrix]
pipelines = ["static128"]
devices = ["CPU"]
profiles = ["reference"]
[generation]
max_new_tokens = 6
ignore_eos = true
[measure]
warmup = 1
repetitions = 1
[ab]
threshold = 0.25
[ab.length]
max_minutes = 60
min_pairs = 6
max_pairs = 6
pairs_per_round = 3
[ab.baseline]
label = "main"
[ab.candidate]
label = "threads-1"
[ab.candidate.profiles.reference.CPU.all]
INFERENCE_NUM_THREADS = 1
"#;

#[test]
fn a_scenario_table_runs_its_sides_records_every_pair_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("ab.toml");
    // The model beside the scenario, by a relative path that means nothing from the
    // repository root, where every bakeoff here runs.
    std::os::unix::fs::symlink(common::repo().join("models/smollm2-135m"), tmp.path().join("fixture")).unwrap();
    std::fs::write(&scenario, SCENARIO.replace("MODEL", "fixture")).unwrap();
    let out = tmp.path().join("run");
    let args = ["ab", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let o = common::bakeoff(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{stderr}");
    let read = read_results(&out.join("results.jsonl")).unwrap();
    let pairs = pairs_by_cell(&read.records);
    let cell = pairs.values().next().expect("one cell's pairs");
    assert_eq!(
        cell.iter().map(|p| (p.index, p.round)).collect::<Vec<_>>(),
        [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1)]
    );
    // The candidate compiled with its own override, the baseline with the profile as is.
    let outcome =
        read.records.iter().find_map(|r| if let Record::Ab(a) = r { Some((**a).clone()) } else { None }).unwrap();
    let threads = |r: &bakeoff::results::CellRecord| {
        r.properties.as_ref().unwrap().get("INFERENCE_NUM_THREADS").map(str::to_string)
    };
    assert_eq!(threads(&outcome.candidate).as_deref(), Some("1"));
    assert_eq!(threads(&outcome.baseline).as_deref(), Some("0"));
    let md = std::fs::read_to_string(out.join("ab.md")).unwrap();
    assert!(md.contains("baseline **main**, candidate **threads-1**"), "{md}");

    // Interrupted after four pairs: the outcome and the last round's pairs are gone. A resume
    // keeps the four, and takes pairs 4 and 5 in a new round.
    // The folder alone is enough: it keeps the scenario in force and where it came from (the
    // model path is relative to the scenario file, not to where the resume runs).
    interrupt_after_four_pairs(&out);
    let o = common::bakeoff(&["ab", "--resume", out.to_str().unwrap()]);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", String::from_utf8_lossy(&o.stderr));
    let read = read_results(&out.join("results.jsonl")).unwrap();
    let cell = pairs_by_cell(&read.records).into_values().next().unwrap();
    assert_eq!(
        cell.iter().map(|p| (p.index, p.round)).collect::<Vec<_>>(),
        [(0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 2)]
    );
    let ab: Value = serde_json::from_str(&std::fs::read_to_string(out.join("ab.json")).unwrap()).unwrap();
    assert_eq!(ab["cells"][0]["pairs"], 6);
    // The scenario given again resumes too (nothing is left to run); a flag that changes the
    // [ab] table in force is refused, naming the folder.
    let o = common::bakeoff(&["ab", scenario.to_str().unwrap(), "--resume", out.to_str().unwrap()]);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", String::from_utf8_lossy(&o.stderr));
    assert_resume_refuses_other_flags(&out);
}

/// Drop an A/B run's outcome and every pair from the fifth on, as an interrupted run leaves
/// its folder.
fn interrupt_after_four_pairs(out: &Path) {
    let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["kind"] != "ab" && !(v["ab"]["pair"].as_u64().is_some_and(|p| p >= 4))
        })
        .collect();
    std::fs::write(out.join("results.jsonl"), kept.join("\n") + "\n").unwrap();
}

/// `ab --resume DIR` with a flag that changes what the folder ran is an input error that
/// says so, and changes nothing in the folder.
fn assert_resume_refuses_other_flags(out: &Path) {
    let before = std::fs::read(out.join("results.jsonl")).unwrap();
    let o = common::bakeoff(&["ab", "--resume", out.to_str().unwrap(), "--threshold", "0.5"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR), "{stderr}");
    assert!(stderr.contains(&format!("--resume {}", out.display())) && stderr.contains("differs"), "{stderr}");
    assert_eq!(std::fs::read(out.join("results.jsonl")).unwrap(), before);
}

#[test]
fn bad_ab_tables_and_flags_are_input_errors_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::repo().join("models/smollm2-135m");
    let base = SCENARIO.replace("MODEL", model.to_str().unwrap());
    let cases = [
        (
            base.replace("label = \"threads-1\"", "label = \"x\"\nenv = { BAKEOFF_TEST_SLOWDOWN = \"5\" }"),
            "ab.candidate.env.BAKEOFF_TEST_SLOWDOWN",
        ),
        (
            base.replace("pairs_per_round = 3", "pairs_per_round = 3\nmetrics = [\"speed\"]"),
            "ab.length.metrics: unknown or unjudged metric `speed`",
        ),
        (base.replace("min_pairs = 6", "min_pairs = 2"), "ab.length.min_pairs"),
        (base.replace("[ab.baseline]", "[ab.baseline.models]\nother = \"x\"\n[ab.unused]"), "ab"),
        (base.replace("pipelines = [\"static128\"]", "pipelines = [\"genai\"]"), "genai"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let o = common::bakeoff(&[
            "ab",
            path.to_str().unwrap(),
            "--out",
            tmp.path().join(format!("o{i}")).to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR), "{expected}: {stderr}");
        assert!(stderr.contains(expected) && stderr.contains(&format!("bad{i}.toml")), "{expected}: {stderr}");
    }
    let path = tmp.path().join("ok.toml");
    std::fs::write(&path, &base).unwrap();
    let o = common::bakeoff(&["ab", path.to_str().unwrap(), "--pipeline", "kvcache"]);
    assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--pipeline: a flag of the one-cell form"));
}

#[test]
fn a_mixed_run_takes_pairs_both_ways_with_the_same_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mixed");
    let (code, report, stderr) = one_cell(&dir, &["--schedule", "mixed"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let cell = &report["cells"][0];
    assert_eq!(
        (cell["schedule"].as_str(), cell["outputs"]["identical"].as_u64()),
        (Some("mixed"), Some(6)),
        "{cell:#}"
    );
    let pairs = pairs_by_cell(&read_results(&dir.join("results.jsonl")).unwrap().records).into_values().next().unwrap();
    let stepped: Vec<_> = pairs.iter().filter_map(|p| p.steps.as_deref()).collect();
    assert!(!stepped.is_empty() && stepped.len() < pairs.len(), "both schedules in 6 pairs: {stepped:?}");
    // A stepped pair asked each side for each of its 11 decode steps, and waiting between
    // them changed no token: every sample of either schedule has the same ids.
    assert!(
        stepped.iter().all(|order| order.len() == 11 && order.chars().all(|c| c == 'b' || c == 'c')),
        "{stepped:?}"
    );
    let ids = &pairs[0].baseline.metrics.output_ids;
    assert_eq!(ids.len(), 12);
    assert!(pairs.iter().all(|p| &p.baseline.metrics.output_ids == ids && &p.candidate.metrics.output_ids == ids));
    // Each stepped sample's step times are its own: no wait for the other side is in them.
    for p in pairs.iter().filter(|p| p.steps.is_some()) {
        for side in [&p.baseline, &p.candidate] {
            let m = &side.metrics;
            let e2e: f64 = m.ttft_ms + m.itl_ms.iter().sum::<f64>();
            assert!((m.e2e_ms - e2e).abs() < 1e-6, "{m:?}");
            assert!(m.infer_ms_per_token * m.output_tokens as f64 <= m.e2e_ms + 1e-6, "{m:?}");
        }
    }
    let md = std::fs::read_to_string(dir.join("ab.md")).unwrap();
    assert!(md.contains("### Schedules compared") && md.contains("| steps |") && md.contains("| alternate |"), "{md}");
}

#[test]
fn calibrate_projects_what_the_machine_can_see_and_its_recording_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("calibrate");
    let model = common::repo().join("models/smollm2-135m");
    let o = common::bakeoff(&[
        "ab",
        "--calibrate",
        "--calibrate-rounds",
        "10",
        "--pairs-per-round",
        "2",
        "--budget-minutes",
        "2.5",
        "--effect",
        "5",
        "--baseline-model",
        model.to_str().unwrap(),
        "--pipeline",
        "kvcache",
        "--device",
        "CPU",
        "--prompt",
        PROMPT,
        "--max-new-tokens",
        "8",
        "--ignore-eos",
        "--out",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let cell = &v["cells"][0];
    assert_eq!((cell["blocks"].as_u64(), cell["pairs"].as_u64()), (Some(5), Some(20)), "{cell:#}");
    let decode = cell["projections"].as_array().unwrap().iter().find(|p| p["metric"] == "decode_tokens_per_s").unwrap();
    let (detectable, at_90) = (decode["detectable"].as_f64().unwrap(), decode["detectable_90"].as_f64().unwrap());
    assert!(detectable > decode["threshold"].as_f64().unwrap() && at_90 > detectable, "{decode}");
    let minutes = decode["minutes_for_effect"].as_f64().unwrap();
    assert!(minutes > 0.0, "5% against decode's 1% threshold is reachable: {decode}");
    let md = std::fs::read_to_string(dir.join("calibrate.md")).unwrap();
    assert!(md.contains("decode_tokens_per_s") && md.contains("ISA:"), "{md}");
    // The A/A is the baseline against itself: a verdict on it is PASS.
    let ab: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("ab.json")).unwrap()).unwrap();
    assert_eq!(ab["pass"], true, "{:#}", ab["reasons"]);

    // Its recording replays: the real length rule and verdict over its rounds.
    let o =
        common::bakeoff(&["power", dir.to_str().unwrap(), "--trials", "20", "--changes", "0,50", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let power: Value = serde_json::from_slice(&o.stdout).unwrap();
    let conditions = power["conditions"].as_array().unwrap();
    assert_eq!(conditions.iter().map(|c| c["trials"].as_u64().unwrap()).collect::<Vec<_>>(), [20, 20]);
    assert_eq!(conditions[1]["fired"], 20, "every trial sees a candidate half again as slow: {:#}", conditions[1]);
    // Bad input names the flag.
    let o = common::bakeoff(&["power", dir.to_str().unwrap(), "--changes", "150"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--changes"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = common::bakeoff(&["ab", "--calibrate", "--calibrate-rounds", "7", "--baseline-model", "x"]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("--calibrate-rounds 7") && stderr.contains("at least 10"), "{stderr}");
}
