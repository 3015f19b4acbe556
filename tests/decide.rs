//! Trust in the verdicts on real runs: two runs of the same build compared give no
//! regression; a run slowed by a known amount is flagged with the regression exit code, by
//! compare and by qualify; recommend picks the faster profile and says why the other lost;
//! a difference in the CPU's features is a loud "not comparable" warning.
//!
//! No assertion here depends on how fast the machine is. The slowdown is bakeoff's own
//! test-only hook (`BAKEOFF_TEST_SLOWDOWN`): at the end of every measured step the cell
//! busy-waits 9x that step's wall time, so every step takes 10x as long on any CPU and
//! decode tokens/s falls to a tenth. One test, alone in its binary, so no other test
//! competes for the cores while it measures.

mod common;

use bakeoff::exit::{REGRESSION, SUCCESS};
use bakeoff::fingerprint::ISA_FLAGS;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every step takes 1 + 9 = 10 times as long in a slowed cell.
const SLOWDOWN_PCT: f64 = 900.0;

/// The noise threshold of every median-like metric in this test. Two runs of one build a few
/// seconds apart on a 2-vCPU VM with noisy neighbours have drifted by up to 50% (the worst
/// seen); 60% stays clear of that, so the A/A side says "no change" on any such machine.
/// The slowed side falls by 90% (see [`EXPECTED_CHANGE`]), and stays beyond 60% even
/// when it catches a minute 50% faster than the baseline's (0.1 x 1.5 = 0.15: -85%).
const NOISE: f64 = 0.60;

const SCENARIO: &str = r#"
name = "ab"
description = "A/A and A/B experiment: kvcache on CPU"
[[models]]
path = "MODEL"
[prompts]
file = "PROMPTS"
[matrix]
pipelines = ["kvcache"]
devices = ["CPU"]
profiles = ["balanced"]
[generation]
max_new_tokens = 8
ignore_eos = true
[measure]
warmup = 1
repetitions = 4
[compare.noise]
decode_tokens_per_s = NOISE
itl_p50_ms = NOISE
itl_p90_ms = NOISE
e2e_p50_ms = NOISE
ttft_p50_ms = NOISE
ttft_p90_ms = NOISE
# Tails over 12 samples are single samples: one VM hiccup doubles them.
itl_p99_ms = 1.00
itl_max_ms = 2.00
ttft_p99_ms = 1.00
ttft_max_ms = 2.00
"#;

/// The ISA extensions of an AVX2-only host and of an AVX-512 one, derived from this host's
/// own (`host_isa`, as its fingerprint writes them), so the two differ from each other on
/// any machine and one of them is this host's kind: the AVX2-only one keeps the host's
/// flags up to `f16c` in bakeoff's flag order, the AVX-512 one adds every wider flag
/// (AVX-VNNI, AVX-512, AMX) to it.
fn narrow_and_wide_hosts(host_isa: &str) -> (String, String) {
    let last_narrow = ISA_FLAGS.iter().position(|f| *f == "f16c").expect("f16c is a known flag");
    let (narrow, wide) = ISA_FLAGS.split_at(last_narrow + 1);
    let narrow_host: Vec<&str> = host_isa.split(' ').filter(|f| narrow.contains(f)).collect();
    let wide_host: Vec<&str> = narrow_host.iter().chain(wide).copied().collect();
    (narrow_host.join(" "), wide_host.join(" "))
}

/// A copy of the run folder `run` at `to` whose fingerprint says it ran on a host with the
/// ISA extensions `isa`: its host fields are the ones `bakeoff devices` reports with the
/// test-only host ISA set, so the override is what is tested, not a hand-edited file.
fn as_host(run: &Path, to: &Path, isa: &str) -> PathBuf {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(run).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let o = common::bakeoff_env(&["devices", "--format", "json"], &[(bakeoff::fingerprint::HOST_ISA_ENV, isa)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let devices: Value = serde_json::from_slice(&o.stdout).unwrap();
    let host = &devices["fingerprint"];
    assert_eq!((host["host_cpu_isa"].as_str(), host["test_host_isa"].as_str()), (Some(isa), Some(isa)), "{host:#}");
    let path = to.join("fingerprint.json");
    let mut fp: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for field in ["host_cpu_isa", "test_host_isa"] {
        fp[field] = host[field].clone();
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&fp).unwrap()).unwrap();
    to.to_path_buf()
}

/// Write the experiment's scenario with `profiles`.
fn scenario(dir: &Path, name: &str, profiles: &str) -> PathBuf {
    let repo = common::repo();
    let text = SCENARIO
        .replace("MODEL", &repo.join("models/smollm2-135m").display().to_string())
        .replace("PROMPTS", &repo.join("scenarios/prompts/smoke.jsonl").display().to_string())
        .replace("NOISE", &NOISE.to_string())
        .replace(r#"["balanced"]"#, profiles);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The scenario file at `path`, edited in place to `n` measured repetitions.
fn with_repetitions(path: PathBuf, n: u32) -> PathBuf {
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("repetitions = 4"));
    std::fs::write(&path, text.replace("repetitions = 4", &format!("repetitions = {n}"))).unwrap();
    path
}

/// `bakeoff run`, with the test-only slowdown when `slowdown` is given (`PCT` or `PCT@MATCH`).
fn run(dir: &Path, scenario: &Path, out: &str, slowdown: Option<&str>) -> PathBuf {
    let out = dir.join(out);
    let args = ["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let env: Vec<(&str, &str)> = slowdown.map(|s| ("BAKEOFF_TEST_SLOWDOWN", s)).into_iter().collect();
    let o = common::bakeoff_env(&args, &env);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn decision(args: &[&str]) -> (i32, Value, String) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let o = common::bakeoff(&all);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap(), v, String::from_utf8_lossy(&o.stderr).into_owned())
}

fn metric<'a>(cmp: &'a Value, name: &str) -> &'a Value {
    cmp["cells"][0]["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == name).unwrap()
}

/// The change of decode tokens/s the slowdown causes: every step 1 + slowdown times as long.
const EXPECTED_CHANGE: f64 = 1.0 / (1.0 + SLOWDOWN_PCT / 100.0) - 1.0;

#[test]
fn a_a_is_no_change_and_a_known_slowdown_is_a_regression() {
    common::smollm2();
    let tmp = tempfile::tempdir().unwrap();
    let one = scenario(tmp.path(), "ab.toml", r#"["balanced"]"#);
    let a1 = run(tmp.path(), &one, "a1", None);
    let a2 = run(tmp.path(), &one, "a2", None);
    let b = run(tmp.path(), &one, "b", Some(&SLOWDOWN_PCT.to_string()));
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();

    // A/A: the same build twice: no regression, success.
    let (code, aa, err) = decision(&["compare", &s(&a1), &s(&a2)]);
    let tps = metric(&aa, "decode_tokens_per_s");
    eprintln!("A/A decode tokens/s: {tps}");
    assert_eq!(code, SUCCESS, "A/A must not regress: {err}\n{aa:#}");
    assert_ne!(tps["verdict"], "regressed");
    assert!(tps["change"]["ci_low"].as_f64().is_some(), "12 samples a side give an interval: {tps}");
    assert!(
        a2.join("compare.md").exists() && a2.join("compare.json").exists() && a2.join("compare_chart.svg").exists()
    );

    // A/B: every infer() 10x as long: regressed, exit 3, and the run says it was slowed.
    let (code, ab, err) = decision(&["compare", &s(&a1), &s(&b)]);
    let tps = metric(&ab, "decode_tokens_per_s");
    eprintln!("A/B decode tokens/s: {tps} (expected {EXPECTED_CHANGE:+.3})");
    assert_eq!(code, REGRESSION, "{err}");
    assert_eq!(tps["verdict"], "regressed", "{tps}");
    assert!(tps["change"]["relative"].as_f64().unwrap() < -NOISE && tps["change"]["ci_high"].as_f64().unwrap() < 0.0);
    assert!(err.contains("fingerprint test_slowdown differs: (absent) -> 900"), "the slowed run says so: {err}");

    // qualify: the same run pair is a FAIL with the speed reason first; A/A passes.
    let (code, q, _) = decision(&["qualify", &s(&a1), &s(&b), "--out", &s(&tmp.path().join("q"))]);
    assert_eq!(code, REGRESSION);
    assert_eq!(q["pass"], false);
    assert_eq!(q["reasons"][0]["severity"], "fail");
    assert!(q["reasons"][0]["what"].as_str().unwrap().contains("regressed"), "{q:#}");
    assert!(tmp.path().join("q/qualify.md").exists());
    let (code, q, _) = decision(&["qualify", &s(&a1), &s(&a2), "--out", &s(&tmp.path().join("qa"))]);
    assert_eq!((code, &q["pass"]), (SUCCESS, &Value::Bool(true)), "{q:#}");

    // Another CPU's run: this host's ISA made AVX2-only if it has more, AVX-512 if not.
    // compare and qualify say loudly that the figures are not comparable; the A/A pair, one
    // host, says nothing.
    let (_, _, err) = decision(&["compare", &s(&a1), &s(&a2)]);
    assert!(!err.contains("NOT COMPARABLE"), "one host: {err}");
    let fp: Value = serde_json::from_slice(&std::fs::read(a2.join("fingerprint.json")).unwrap()).unwrap();
    let host = fp["host_cpu_isa"].as_str().unwrap();
    let (narrow, wide) = narrow_and_wide_hosts(host);
    assert_ne!(narrow, wide);
    let other = if host == narrow { &wide } else { &narrow };
    let elsewhere = as_host(&a2, &tmp.path().join("other-cpu"), other);
    let (_, cmp, err) = decision(&["compare", &s(&a1), &s(&elsewhere)]);
    assert!(
        err.contains("WARNING: NOT COMPARABLE") && err.contains(&format!("host_cpu_isa: {host} -> {other}")),
        "{err}"
    );
    assert!(cmp["warnings"][0].as_str().unwrap().starts_with("NOT COMPARABLE"), "{cmp:#}");
    // And in both directions between the two kinds, whatever this host is (bakeoff's
    // test-only host ISA makes each run say it ran on that kind).
    let narrow_run = as_host(&a2, &tmp.path().join("narrow-host"), &narrow);
    let wide_run = as_host(&a2, &tmp.path().join("wide-host"), &wide);
    for (base, cand, from, to) in [(&narrow_run, &wide_run, &narrow, &wide), (&wide_run, &narrow_run, &wide, &narrow)] {
        let (_, cmp, err) = decision(&["compare", &s(base), &s(cand)]);
        let named = format!("host_cpu_isa: {from} -> {to}");
        assert!(err.contains("WARNING: NOT COMPARABLE") && err.contains(&named), "{named}: {err}");
        assert!(cmp["warnings"][0].as_str().unwrap().starts_with("NOT COMPARABLE"), "{cmp:#}");
        let out = tmp.path().join(format!("q-{}", cand.file_name().unwrap().to_string_lossy()));
        let (_, _, err) = decision(&["qualify", &s(base), &s(cand), "--out", &s(&out)]);
        assert!(err.contains("WARNING: NOT COMPARABLE") && err.contains(&named), "{err}");
    }

    // recommend over a run where one profile's cell is slowed: picks the other, and says why.
    // One repetition: a tenfold slowdown needs no interval to show, and the slowed cell is
    // the longest of this test.
    let mixed = with_repetitions(scenario(tmp.path(), "mixed.toml", r#"["balanced", "conservative"]"#), 1);
    let both = run(tmp.path(), &mixed, "mixed", Some("900@/conservative/"));
    let (code, rec, _) = decision(&["recommend", &s(&both), "--max-prompt-len", "100"]);
    assert_eq!(code, SUCCESS);
    let r = &rec["recommendations"][0];
    assert_eq!(r["best"], "balanced", "the slowed profile loses: {r:#}");
    let loser = r["candidates"].as_array().unwrap().iter().find(|c| c["profile"] == "conservative").unwrap();
    assert!(loser["lost"].as_str().unwrap().starts_with("slower"), "{loser}");
    let (_, rec, _) = decision(&["recommend", &s(&both), "--min-tokens-per-s", "100000000"]);
    assert_eq!(rec["recommendations"][0]["best"], Value::Null, "no profile is that fast");

    // By host CPU per token: a choice with its figures; a bound nothing meets says why.
    let (code, rec, _) = decision(&["recommend", &s(&both), "--prefer", "cpu"]);
    assert_eq!(code, SUCCESS);
    let r = &rec["recommendations"][0];
    let best = r["candidates"].as_array().unwrap().iter().find(|c| c["profile"] == r["best"]).unwrap();
    assert!(best["cpu_ms_per_token"].as_f64().unwrap() > 0.0, "{r:#}");
    let (_, rec, _) = decision(&["recommend", &s(&both), "--max-cpu-ms-per-token", "0.000001"]);
    let r = &rec["recommendations"][0];
    assert_eq!(r["best"], Value::Null);
    assert!(r["candidates"][0]["lost"].as_str().unwrap().contains("--max-cpu-ms-per-token"), "{r:#}");
    // By energy: only where this machine could read it; otherwise an input error saying why.
    let fp: Value = serde_json::from_slice(&std::fs::read(both.join("fingerprint.json")).unwrap()).unwrap();
    let o = common::bakeoff(&["recommend", &s(&both), "--prefer", "energy"]);
    if fp["telemetry"]["energy"].as_str().unwrap().starts_with("not readable") {
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("fingerprint.json: this run has no energy figures (package energy not readable"), "{err}");
    } else {
        assert_eq!(o.status.code(), Some(SUCCESS));
    }
}
