//! Exporters, qualify and recommend on small synthetic run folders: no model, no runtime, no
//! `make setup`. Each exporter's output is read the way its consumer reads it (a CSV reader,
//! a JSON parser, an XML parser for JUnit, the markdown table's rows, the HTML's escaping)
//! and checked against figures this test computes itself from the samples it wrote; each
//! rule of qualify and recommend has a case that triggers it and one that does not.

use bakeoff::decide::qualify::{qualify, Aspect, Severity};
use bakeoff::decide::recommend::{recommend, Constraints, Prefer};
use bakeoff::golden::{GoldenFile, GoldenTranscript, Recorded};
use bakeoff::model::ModelFingerprint;
use bakeoff::pipeline_kind::PipelineKind;
use bakeoff::pipelines::{Step, StopReason, Transcript};
use bakeoff::plan::CellKey;
use bakeoff::profiles::ResolvedProfile;
use bakeoff::results::folder::RunFolder;
use bakeoff::results::{CellRecord, CellStatus, FailureClass, Record, ResultsWriter, SampleRecord, StartRecord};
use bakeoff::runtime::Device;
use bakeoff::scenario::CacheMode;
use serde_json::Value;
use std::path::Path;

const SCENARIO: &str = r#"
name = "synthetic"
[[models]]
path = "m"
[[prompts.inline]]
id = "p"
prompt = "hi"
[matrix]
pipelines = ["kvcache"]
devices = ["CPU", "NPU"]
profiles = ["balanced", "conservative", "aggressive"]
[generation]
max_new_tokens = 6
[compare.noise]
decode_tokens_per_s = 0.05
compile_ms = 0.25
peak_rss_mb = 0.10
"#;

/// The golden ids every healthy sample generates; its margins are wide.
const IDS: [i64; 6] = [11, 12, 13, 14, 15, 16];

/// One cell of a synthetic run.
#[derive(Clone)]
struct Cell {
    profile: &'static str,
    device: Device,
    status: CellStatus,
    reason: Option<&'static str>,
    /// Per sample: the inter-token latency of every step, ms (TTFT is 3x it).
    itl_ms: Vec<f64>,
    ids: Vec<i64>,
    compile_ms: f64,
    peak_rss_mb: f64,
    cpu_ms_per_token: f64,
    max_prompt_len: Option<u64>,
    /// What the compiled model reported (empty: a run made before bakeoff read it back).
    effective: Vec<(&'static str, &'static str)>,
}

fn cell(profile: &'static str, itl_ms: &[f64]) -> Cell {
    Cell {
        profile,
        device: Device::Cpu,
        status: CellStatus::Completed,
        reason: None,
        itl_ms: itl_ms.to_vec(),
        ids: IDS.to_vec(),
        compile_ms: 100.0,
        peak_rss_mb: 400.0,
        cpu_ms_per_token: 10.0,
        max_prompt_len: None,
        effective: Vec::new(),
    }
}

fn key(c: &Cell) -> CellKey {
    CellKey {
        model: "m".into(),
        pipeline: PipelineKind::Kvcache,
        device: c.device,
        profile: c.profile.into(),
        cache: CacheMode::Cold,
    }
}

/// A generation of `ids` whose steps after the first take `itl` ms (the first 3x that).
fn transcript(ids: &[i64], itl: f64) -> Transcript {
    let steps = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let ms = if i == 0 { 3.0 * itl } else { itl };
            Step { id, margin: 5.0, step_ms: ms, infer_ms: ms * 0.99 }
        })
        .collect();
    Transcript {
        prompt_ids: vec![1, 2, 3],
        output_ids: ids.to_vec(),
        steps,
        stop_reason: StopReason::MaxNewTokens,
        truncated: false,
    }
}

/// The wall time every synthetic cell took.
const WALL_S: f64 = 2.5;

/// Write a run folder of `cells` (and a golden snapshot of [`IDS`]) under `dir`.
fn write_run(dir: &Path, cells: &[Cell]) -> RunFolder {
    std::fs::create_dir_all(dir.join("golden")).unwrap();
    std::fs::write(dir.join("scenario.toml"), SCENARIO).unwrap();
    let fingerprint = serde_json::json!({"openvino_version": "2026.4.1", "host_cpu": "synthetic",
        "telemetry": {"energy": "not readable: synthetic", "npu_busy": "not readable: synthetic"}});
    std::fs::write(dir.join("fingerprint.json"), fingerprint.to_string()).unwrap();
    golden().write(&dir.join("golden/m.json")).unwrap();
    let mut w = ResultsWriter::append(&dir.join("results.jsonl")).unwrap();
    for c in cells {
        let k = key(c);
        w.write(&Record::Start(StartRecord { cell: k.clone() })).unwrap();
        if c.status == CellStatus::Completed {
            for (rep, &itl) in c.itl_ms.iter().enumerate() {
                let mut s = SampleRecord::from_transcript(&k, "p", rep, false, &transcript(&c.ids, itl));
                s.metrics.usage.cpu_ms_per_token = Some(c.cpu_ms_per_token);
                w.write(&Record::Sample(s)).unwrap();
            }
        }
        let mut r = CellRecord::new(&k, c.status);
        r.measured_samples = if c.status == CellStatus::Completed { c.itl_ms.len() } else { 0 };
        r.reason = c.reason.map(str::to_string);
        r.failure = (c.status == CellStatus::Failed).then_some(FailureClass::GenerateError);
        r.wall_s = WALL_S;
        if c.status == CellStatus::Completed {
            r.compile_ms = Some(c.compile_ms);
            r.peak_rss_mb = Some(c.peak_rss_mb);
        }
        if let Some(len) = c.max_prompt_len {
            let mut p = ResolvedProfile::default();
            p.set("NPUW_LLM_MAX_PROMPT_LEN", len.to_string(), "test".into());
            r.properties = Some(p);
        }
        r.effective_properties = c.effective.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        w.write(&Record::Cell(r)).unwrap();
    }
    RunFolder::open(dir).unwrap()
}

fn golden() -> GoldenFile {
    GoldenFile {
        bakeoff_golden: 1,
        model: "m".into(),
        fingerprint: ModelFingerprint {
            weights_sha256: "w".into(),
            tokenizer_sha256: "t".into(),
            tokenizer_config_sha256: None,
        },
        recorded: Recorded {
            pipeline: PipelineKind::Kvcache,
            device: Device::Cpu,
            profile: "reference".into(),
            properties: ResolvedProfile::default(),
            openvino_version: "2026.4.1".into(),
            harness_version: "0".into(),
        },
        transcripts: vec![GoldenTranscript {
            prompt_id: "p".into(),
            prompt: "hi".into(),
            system: None,
            chat_template: false,
            thinking: None,
            rendered_prompt: None,
            prompt_ids: vec![1, 2, 3],
            max_new_tokens: IDS.len(),
            ignore_eos: true,
            output_ids: IDS.to_vec(),
            text: String::new(),
            stop_reason: StopReason::MaxNewTokens,
            margins: vec![5.0; IDS.len()],
        }],
    }
}

/// Decode tokens/s of one sample with inter-token latency `itl` over [`IDS`].
fn tps(itl: f64) -> f64 {
    (IDS.len() - 1) as f64 * 1000.0 / ((IDS.len() - 1) as f64 * itl)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn every_exporter_writes_what_its_consumer_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let itl = [10.0, 12.0, 11.0, 9.0];
    let mut failed = cell("conservative", &[]);
    failed.status = CellStatus::Failed;
    // A plugin's stderr tail as it comes: markup, an ANSI colour escape and a NUL byte.
    failed.reason = Some("the plugin said <b>\"no\"</b> & stopped: \u{1b}[31mERROR\u{1b}[0m at\u{0}byte");
    let mut skipped = cell("balanced", &[]);
    skipped.device = Device::Npu;
    skipped.status = CellStatus::Skipped;
    skipped.reason = Some("NPU not present");
    write_run(tmp.path(), &[cell("balanced", &itl), failed, skipped]);
    let code = bakeoff::commands::summarize(tmp.path()).unwrap();
    assert_eq!(code, bakeoff::exit::INCOMPLETE, "a failed cell makes the run incomplete");
    let expected_tps = median(itl.iter().map(|&i| tps(i)).collect());

    // summary.json: every cell, the median computed here.
    let json: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 3);
    let got = cells[0]["metrics"]["decode_tokens_per_s"].as_f64().unwrap();
    assert!((got - expected_tps).abs() < 1e-9, "{got} against {expected_tps}");
    assert_eq!(cells[0]["metrics"]["cpu_ms_per_token"].as_f64(), Some(10.0));

    // summary.csv, as a CSV reader sees it: the key columns, then the registry's metrics.
    let mut reader = csv::Reader::from_path(tmp.path().join("summary.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.iter().take(9).collect::<Vec<_>>(), bakeoff::reports::KEY_COLUMNS);
    let column = header.iter().position(|h| h == "decode_tokens_per_s").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    // Three decimals, as the CSV writes them.
    assert!((rows[0][column].parse::<f64>().unwrap() - expected_tps).abs() <= 5e-4, "{}", &rows[0][column]);
    assert_eq!(&rows[1][5], "failed");
    assert!(rows[1][6].contains("<b>\"no\"</b> & stopped"), "the CSV carries the reason verbatim");

    // summary.md: a header with every table metric and a row per cell.
    let md = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    for m in bakeoff::reports::MD_METRICS {
        assert!(md.contains(m.name()), "{m} in the table header");
    }
    assert_eq!(md.lines().filter(|l| l.starts_with("| m |")).count(), 3, "{md}");
    assert!(md.contains("joules_per_token is empty, never zero: package energy is not readable: synthetic"));

    // junit.xml, as an XML parser sees it: a test case per cell and per golden check.
    let junit = std::fs::read_to_string(tmp.path().join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 3 + 1, "3 cells and the completed cell's one golden check");
    let failures: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("failure")).collect();
    assert_eq!(failures.len(), 1);
    let text = failures[0].attribute("message").unwrap_or_default().to_string() + failures[0].text().unwrap_or("");
    assert!(text.contains("<b>\"no\"</b> & stopped: ERROR at"), "the parsed XML gives the reason back: {text}");
    assert!(!junit.contains('\u{1b}') && !junit.contains('\u{0}'), "escapes and NUL are dropped: {junit:?}");
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("skipped")).count(), 1);
    // Every cell's status case carries its wall time, as CI test views show it.
    let status_times: Vec<f64> = cases
        .iter()
        .filter(|c| c.attribute("name") == Some("status"))
        .map(|c| c.attribute("time").expect("a time attribute").parse().unwrap())
        .collect();
    assert_eq!(status_times, [WALL_S; 3]);

    // report.html: hostile text escaped, every chart inline.
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(!html.contains("<b>\"no\"</b>") && html.contains("&lt;b&gt;"), "the reason is escaped");
    assert_eq!(html.matches("<figure").count(), 4);
    let correctness: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("correctness.json")).unwrap()).unwrap();
    assert_eq!(correctness["golden"][0]["verdict"]["verdict"], "identical");
}

#[test]
fn every_json_output_carries_its_schema_version_and_a_newer_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write_run(tmp.path(), &[cell("balanced", &[10.0, 11.0])]);
    bakeoff::commands::summarize(tmp.path()).unwrap();
    let version = Value::from(bakeoff::results::SCHEMA_VERSION);
    for file in ["summary.json", "correctness.json"] {
        let v: Value = serde_json::from_slice(&std::fs::read(tmp.path().join(file)).unwrap()).unwrap();
        assert_eq!(v["schema_version"], version, "{file}");
    }
    let results = tmp.path().join("results.jsonl");
    let text = std::fs::read_to_string(&results).unwrap();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["schema_version"], version, "{line}");
    }
    let other = tempfile::tempdir().unwrap();
    let (old, new) =
        (write_run(other.path(), &[cell("balanced", &[12.0, 13.0])]), RunFolder::open(tmp.path()).unwrap());
    let out = tempfile::tempdir().unwrap();
    let code = bakeoff::commands::compare::run(
        &old.dir,
        &new.dir,
        &bakeoff::cli::DecisionOutput { dir: Some(out.path().to_path_buf()), format: bakeoff::cli::Format::Json },
    )
    .unwrap();
    assert_eq!(code, bakeoff::exit::SUCCESS);
    let v: Value = serde_json::from_slice(&std::fs::read(out.path().join("compare.json")).unwrap()).unwrap();
    assert_eq!(v["schema_version"], version, "compare.json");

    // A record from a newer bakeoff (not the last line, which could be a torn write).
    let first = text.lines().next().unwrap().replacen("\"schema_version\":1", "\"schema_version\":99", 1);
    std::fs::write(&results, format!("{first}\n{text}")).unwrap();
    let err = bakeoff::results::read_results(&results).unwrap_err().to_string();
    assert!(err.contains("line 1") && err.contains("schema_version 99 is newer than this bakeoff's 1"), "{err}");
}

#[test]
fn inside_github_actions_compare_and_qualify_write_the_step_summary_and_annotate_regressions() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Every inter-token latency three times as long: decode tokens/s falls by two thirds.
    write_run(a.path(), &[cell("balanced", &[10.0, 11.0, 10.5, 9.5, 10.2, 10.8])]);
    write_run(b.path(), &[cell("balanced", &[30.0, 33.0, 31.5, 28.5, 30.6, 32.4])]);
    let summary = tempfile::NamedTempFile::new().unwrap();
    let bakeoff = |args: &[&str], actions: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bakeoff"));
        cmd.args(args).env("GITHUB_STEP_SUMMARY", summary.path()).env_remove("GITHUB_ACTIONS");
        if actions {
            cmd.env("GITHUB_ACTIONS", "true");
        }
        cmd.output().unwrap()
    };
    let dirs = [a.path().to_str().unwrap(), b.path().to_str().unwrap()];
    let out = tempfile::tempdir().unwrap();
    let o = bakeoff(&["compare", dirs[0], dirs[1], "--out", out.path().to_str().unwrap()], true);
    assert_eq!(o.status.code(), Some(bakeoff::exit::REGRESSION));
    let err = String::from_utf8_lossy(&o.stderr);
    let regressed: Vec<&str> =
        err.lines().filter(|l| l.starts_with("::error title=bakeoff compare%3A regressed::")).collect();
    assert!(regressed.iter().any(|l| l.contains("decode_tokens_per_s")), "{err}");
    let o = bakeoff(&["qualify", dirs[0], dirs[1], "--out", out.path().to_str().unwrap()], true);
    assert_eq!(o.status.code(), Some(bakeoff::exit::REGRESSION));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.lines().any(|l| l.starts_with("::error title=m/kvcache/CPU/balanced/cold::")), "{err}");
    // Both markdown summaries, one after the other, in the step summary.
    let md = std::fs::read_to_string(summary.path()).unwrap();
    let compare_md = std::fs::read_to_string(out.path().join("compare.md")).unwrap();
    let qualify_md = std::fs::read_to_string(out.path().join("qualify.md")).unwrap();
    assert!(md.starts_with(compare_md.trim_end()) && md.contains(qualify_md.trim_end()), "{md}");

    // Outside Actions: no annotations (the step summary follows its own variable).
    let o = bakeoff(&["compare", dirs[0], dirs[1], "--out", out.path().to_str().unwrap()], false);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("::error"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn summary_and_compare_give_every_statistic_the_same_value() {
    // Latencies that neither round to microseconds nor sit on a rank: a second percentile
    // definition (nearest rank, or a histogram's buckets) would show here.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_run(a.path(), &[cell("balanced", &[10.1234, 11.4321, 9.8765, 12.3456, 10.5555, 11.0007])]);
    write_run(b.path(), &[cell("balanced", &[10.2345, 11.5432, 9.9876, 12.4567, 10.6666, 11.1118, 10.7777])]);
    for dir in [a.path(), b.path()] {
        bakeoff::commands::summarize(dir).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let output =
        bakeoff::cli::DecisionOutput { dir: Some(out.path().to_path_buf()), format: bakeoff::cli::Format::Text };
    bakeoff::commands::compare::run(a.path(), b.path(), &output).unwrap();
    let json = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let cmp = json(&out.path().join("compare.json"));
    let (sa, sb) = (json(&a.path().join("summary.json")), json(&b.path().join("summary.json")));
    let mut checked = 0;
    for m in cmp["cells"][0]["metrics"].as_array().unwrap() {
        let name = m["metric"].as_str().unwrap();
        for (side, summary) in [("baseline", &sa), ("candidate", &sb)] {
            let in_summary = &summary["cells"][0]["metrics"][name];
            match (m[side].as_f64(), in_summary.as_f64()) {
                (Some(x), Some(y)) => {
                    assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{name} {side}: compare {x}, summary {y}");
                    checked += 1;
                }
                (None, None) => {}
                other => panic!("{name} {side}: {other:?}"),
            }
        }
    }
    assert!(checked >= 2 * 12, "every latency and throughput statistic on both sides: {checked}");
}

#[test]
fn summary_and_ab_give_every_statistic_the_same_value() {
    use bakeoff::decide::ab::judge_cell;
    use bakeoff::results::pairs::{AbCellRecord, AbRound, LengthEnd, Pair, Side};
    use bakeoff::results::read_results;
    // Samples whose steps differ from each other's: the quantile over every decode step
    // pooled and the median of each sample's own quantile part here, so a metric name
    // meaning one in summary.json and the other in ab.json would show.
    let itls = [10.1234, 11.4321, 9.8765, 12.3456, 10.5555, 11.0007, 14.2222];
    let c = cell("balanced", &itls);
    let tmp = tempfile::tempdir().unwrap();
    write_run(tmp.path(), std::slice::from_ref(&c));
    // The cell's process measured every per-process figure, as a real cell's does.
    let results = tmp.path().join("results.jsonl");
    let figures = serde_json::json!({"load_ms": 12.5, "cold_compile_ms": 900.25, "from_cache": true,
        "first_inference_ms": 41.75, "compile_peak_rss_mb": 250.5, "steady_peak_rss_mb": 380.125});
    let lines: Vec<String> = std::fs::read_to_string(&results)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["kind"] == "cell" {
                v.as_object_mut().unwrap().extend(figures.as_object().unwrap().clone());
            }
            v.to_string()
        })
        .collect();
    std::fs::write(&results, lines.join("\n") + "\n").unwrap();
    let record = read_results(&results)
        .unwrap()
        .records
        .into_iter()
        .find_map(|r| if let Record::Cell(c) = r { Some(c) } else { None })
        .unwrap();
    bakeoff::commands::summarize(tmp.path()).unwrap();
    let summary: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    let summary = &summary["cells"][0]["metrics"];
    let own_p90_median = median(itls.to_vec());
    let pooled_p90 = summary["itl_p90_ms"].as_f64().unwrap();
    assert!((pooled_p90 - own_p90_median).abs() > 0.1, "the data tells the two definitions apart");
    let k = key(&c);
    let sample = |rep: usize, itl: f64| {
        let mut s = SampleRecord::from_transcript(&k, "p", rep, false, &transcript(&IDS, itl));
        s.metrics.usage.cpu_ms_per_token = Some(c.cpu_ms_per_token);
        s
    };
    let pairs: Vec<Pair> = itls
        .iter()
        .enumerate()
        .map(|(i, &itl)| Pair {
            index: i,
            round: i / 2,
            first: Some(Side::Baseline),
            steps: None,
            baseline: sample(i, itl),
            candidate: sample(i, itl * 1.01),
        })
        .collect();
    let settings = bakeoff::scenario::ab::AbSettings::default();
    // Three rounds whose processes measured what the run's one process did: a side's
    // per-process figure (the median over its rounds) is that process's value.
    let rounds: Vec<AbRound> = (0..3)
        .map(|round| AbRound {
            cell: k.clone(),
            round,
            baseline: record.figures(),
            candidate: record.figures(),
            seconds: None,
            start_seconds: None,
            first: None,
        })
        .collect();
    let outcome = AbCellRecord {
        cell: k.clone(),
        status: CellStatus::Completed,
        baseline: record.clone(),
        candidate: record,
        pairs: pairs.len(),
        end: LengthEnd::MaxPairs,
        schedule: settings.schedule,
        seed: settings.seed,
        cache_probe: None,
    };
    let ab = serde_json::to_value(judge_cell(&outcome, &pairs, &rounds, &settings, 0.1)).unwrap();
    let mut checked = Vec::new();
    for m in ab["metrics"].as_array().unwrap() {
        let name = m["metric"].as_str().unwrap();
        match (m["baseline"].as_f64(), summary[name].as_f64()) {
            (Some(x), Some(y)) => {
                assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{name}: ab.json {x}, summary.json {y}");
                checked.push(name.to_string());
            }
            (None, None) => {}
            other => panic!("{name}: ab.json and summary.json disagree on having it: {other:?}"),
        }
    }
    let names = [
        "itl_p50_ms",
        "itl_p90_ms",
        "itl_p99_ms",
        "ttft_p50_ms",
        "decode_tokens_per_s",
        "compile_ms",
        "cold_compile_ms",
        "warm_compile_ms",
        "load_ms",
        "first_inference_ms",
        "compile_peak_rss_mb",
        "steady_peak_rss_mb",
        "peak_rss_mb",
    ];
    for name in names {
        assert!(checked.iter().any(|c| c == name), "{name} is compared: {checked:?}");
    }
}

#[test]
fn summaries_show_the_spread_behind_each_median_and_warn_about_unstable_cells() {
    let tmp = tempfile::tempdir().unwrap();
    // Steady within 2%, and one whose third sample took three times as long.
    let steady = [10.0, 10.2, 9.9, 10.1, 10.0, 9.8];
    write_run(tmp.path(), &[cell("balanced", &steady), cell("conservative", &[10.0, 10.1, 30.0, 9.9, 10.0, 10.2])]);
    bakeoff::commands::summarize(tmp.path()).unwrap();
    let json: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    let (calm, noisy) = (&json["cells"][0], &json["cells"][1]);
    // The spread of decode tokens/s is its samples' own quartiles, computed here.
    let mut tps: Vec<f64> = steady.iter().map(|&i| tps(i)).collect();
    tps.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (tps.len() - 1) as f64;
        tps[pos.floor() as usize] + (tps[pos.ceil() as usize] - tps[pos.floor() as usize]) * pos.fract()
    };
    let spread = &calm["spread"]["decode_tokens_per_s"];
    assert!(
        (spread[0].as_f64().unwrap() - q(0.25)).abs() < 1e-9 && (spread[1].as_f64().unwrap() - q(0.75)).abs() < 1e-9
    );
    assert_eq!(calm["unstable"].as_array().unwrap().len(), 0, "{calm}");
    let why: Vec<&str> = noisy["unstable"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(why.iter().any(|w| w.starts_with("decode tokens/s varies")), "{why:?}");
    assert!(why.iter().any(|w| w.starts_with("TTFT has 1 far-out outlier(s) of 6")), "{why:?}");

    let md = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    let row = md.lines().find(|l| l.contains("| balanced |")).unwrap();
    assert!(
        row.contains(&format!(
            "{:.1} ({:.1}-{:.1})",
            calm["metrics"]["decode_tokens_per_s"].as_f64().unwrap(),
            q(0.25),
            q(0.75)
        )),
        "{row}"
    );
    let section = md.split("## Unstable cells").nth(1).expect("an unstable-cells section");
    assert!(
        section.contains("m/kvcache/CPU/conservative/cold: decode tokens/s varies") && !section.contains("/balanced/"),
        "{section}"
    );
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("<h3>Unstable cells</h3>") && html.contains("conservative/cold: decode tokens/s varies"));
}

#[test]
fn exports_parse_as_bencher_github_action_benchmark_and_llm_bench_readers_parse_them() {
    let tmp = tempfile::tempdir().unwrap();
    let itl = [10.0, 12.0, 11.0, 9.0, 10.5];
    let mut failed = cell("conservative", &[]);
    failed.status = CellStatus::Failed;
    write_run(tmp.path(), &[cell("balanced", &itl), failed]);
    bakeoff::commands::summarize(tmp.path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = |name: &str| out.path().join(name).to_str().unwrap().to_string();
    let kinds = [
        format!("bmf={}", path("bmf.json")),
        format!("gab={}", path("gab")),
        format!("llm-bench-csv={}", path("llm.csv")),
    ];
    let mut args = vec!["export", tmp.path().to_str().unwrap()];
    args.extend(kinds.iter().map(String::as_str));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bakeoff")).args(&args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    let figures = &summary["cells"][0]["metrics"];
    let key = "m/kvcache/CPU/balanced/cold";

    // BMF, by its JSON schema: {benchmark: {measure: {value, lower_value?, upper_value?}}},
    // measure slugs of at most 64 characters; only the completed cell is a benchmark.
    let bmf: Value = serde_json::from_slice(&std::fs::read(path("bmf.json")).unwrap()).unwrap();
    let benchmarks = bmf.as_object().unwrap();
    assert_eq!(benchmarks.keys().collect::<Vec<_>>(), [key]);
    for (slug, m) in benchmarks[key].as_object().unwrap() {
        assert!(slug.len() <= 64 && !slug.contains('_'), "{slug}");
        let value = m["value"].as_f64().unwrap_or_else(|| panic!("{slug}: value is a number"));
        if let (Some(lo), Some(hi)) = (m.get("lower_value"), m.get("upper_value")) {
            assert!(lo.as_f64().unwrap() <= value && value <= hi.as_f64().unwrap(), "{slug}: {m}");
        }
        assert_eq!(value, figures[slug.replace('-', "_")].as_f64().unwrap(), "{slug} is the summary's figure");
    }
    assert!(benchmarks[key]["decode-tokens-per-s"]["lower_value"].is_number());

    // github-action-benchmark custom tools: arrays of {name: string, unit: string, value:
    // number, range?: string, extra?: string}; speed where bigger is better, times where
    // smaller is.
    for (file, expected, absent) in [
        ("bigger_is_better.json", "decode_tokens_per_s", "ttft_p50_ms"),
        ("smaller_is_better.json", "ttft_p50_ms", "decode_tokens_per_s"),
    ] {
        let entries: Value =
            serde_json::from_slice(&std::fs::read(out.path().join("gab").join(file)).unwrap()).unwrap();
        let entries = entries.as_array().unwrap();
        for e in entries {
            assert!(e["name"].is_string() && e["unit"].is_string() && e["value"].is_number(), "{file}: {e}");
            assert!(e.get("range").is_none_or(Value::is_string) && e["extra"].is_string(), "{file}: {e}");
        }
        let name = |m: &str| format!("{key} {m}");
        let found =
            entries.iter().find(|e| e["name"] == name(expected)).unwrap_or_else(|| panic!("{file}: {expected}"));
        assert_eq!(found["value"].as_f64(), figures[expected].as_f64());
        assert!(entries.iter().all(|e| e["name"] != name(absent)), "{file} has no {absent}");
    }

    // llm_bench's CSV, as a CSV reader with its header sees it: a row per generation, then
    // avg / mini / median per prompt; figures from the samples written here.
    let mut reader = csv::Reader::from_path(path("llm.csv")).unwrap();
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), bakeoff::reports::exports::LLM_BENCH_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let col = |name: &str| bakeoff::reports::exports::LLM_BENCH_HEADER.iter().position(|h| *h == name).unwrap();
    let iterations: Vec<&str> = rows.iter().map(|r| &r[col("iteration")]).collect();
    assert_eq!(iterations, ["1", "2", "3", "4", "5", "avg", "mini", "median"]);
    assert!(rows.iter().all(|r| &r[col("model")] == "m/kvcache/balanced/cold" && &r[col("device")] == "CPU"));
    let num = |r: &csv::StringRecord, c: &str| r[col(c)].parse::<f64>().unwrap();
    for (r, &i) in rows.iter().zip(&itl) {
        assert!((num(r, "1st_latency(ms)") - 3.0 * i).abs() < 1e-4, "TTFT of the sample: {r:?}");
        assert!((num(r, "2nd_avg_latency(ms)") - i).abs() < 1e-4, "its mean inter-token latency: {r:?}");
        assert_eq!(num(r, "output_size"), IDS.len() as f64);
        assert_eq!(num(r, "infer_count"), IDS.len() as f64, "the scenario's max_new_tokens");
    }
    assert!(!rows[0][col("pretrain_time(s)")].is_empty() && rows[1][col("pretrain_time(s)")].is_empty());
    assert!((num(&rows[6], "2nd_avg_latency(ms)") - 9.0).abs() < 1e-4, "mini");
    assert!((num(&rows[7], "2nd_avg_latency(ms)") - median(itl.to_vec())).abs() < 1e-4, "median");

    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bakeoff"))
        .args(["export", tmp.path().to_str().unwrap(), "bencher=x.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("unknown export `bencher`; allowed: bmf=FILE, gab=DIR, llm-bench-csv=FILE"));
}

/// qualify of a candidate folder against a baseline folder.
fn qualified(old: &[Cell], new: &[Cell]) -> bakeoff::decide::qualify::Qualification {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let q = qualify(&write_run(a.path(), old), &write_run(b.path(), new)).unwrap();
    eprintln!("{:#?}", q.reasons);
    q
}

fn has(q: &bakeoff::decide::qualify::Qualification, severity: Severity, aspect: Aspect, what: &str) -> bool {
    q.reasons.iter().any(|r| r.severity == severity && r.aspect == aspect && r.what.contains(what))
}

const STEADY: [f64; 6] = [10.0, 10.1, 9.9, 10.0, 10.05, 9.95];

#[test]
fn qualify_passes_the_same_figures_and_fails_a_cell_that_stopped_working() {
    let q = qualified(&[cell("balanced", &STEADY)], &[cell("balanced", &STEADY)]);
    assert!(q.pass && q.reasons.is_empty(), "{:?}", q.reasons);
    let mut broken = cell("balanced", &[]);
    broken.status = CellStatus::Failed;
    broken.reason = Some("compile failed");
    let q = qualified(&[cell("balanced", &STEADY)], &[broken.clone()]);
    assert!(!q.pass && has(&q, Severity::Fail, Aspect::Status, "worked before, failed now: compile failed"));
    assert_eq!(q.exit_code(), bakeoff::exit::INCOMPLETE);
    // The other way round is a note, not a failure.
    let q = qualified(&[broken], &[cell("balanced", &STEADY)]);
    assert!(q.pass && has(&q, Severity::Note, Aspect::Status, "failed before, works now"));
}

#[test]
fn qualify_fails_a_speed_regression_beyond_the_threshold_and_not_one_within_it() {
    let slower: Vec<f64> = STEADY.iter().map(|i| i * 1.25).collect();
    let q = qualified(&[cell("balanced", &STEADY)], &[cell("balanced", &slower)]);
    assert!(!q.pass && has(&q, Severity::Fail, Aspect::Speed, "decode_tokens_per_s regressed"));
    assert_eq!(q.exit_code(), bakeoff::exit::REGRESSION);
    let a_bit: Vec<f64> = STEADY.iter().map(|i| i * 1.01).collect();
    let q = qualified(&[cell("balanced", &STEADY)], &[cell("balanced", &a_bit)]);
    assert!(!has(&q, Severity::Fail, Aspect::Speed, "decode_tokens_per_s"), "1% is within the 5% threshold");
}

#[test]
fn qualify_warns_on_compile_time_and_memory_beyond_their_thresholds() {
    let mut heavier = cell("balanced", &STEADY);
    heavier.compile_ms = 150.0;
    heavier.peak_rss_mb = 500.0;
    let q = qualified(&[cell("balanced", &STEADY)], &[heavier]);
    assert!(q.pass, "warnings do not fail a qualification");
    assert!(has(&q, Severity::Warn, Aspect::CompileTime, "compile_ms (cold cache) +50.0%"));
    assert!(has(&q, Severity::Warn, Aspect::Memory, "peak_rss_mb (cold cache) +25.0%"));
    let mut lighter = cell("balanced", &STEADY);
    lighter.compile_ms = 110.0;
    let q = qualified(&[cell("balanced", &STEADY)], &[lighter]);
    assert!(!has(&q, Severity::Warn, Aspect::CompileTime, ""), "10% is within the 25% threshold");
}

#[test]
fn qualify_fails_outputs_that_became_a_hard_mismatch_and_a_cell_gone_missing() {
    let mut wrong = cell("balanced", &STEADY);
    wrong.ids[2] += 1;
    let q = qualified(&[cell("balanced", &STEADY)], &[wrong]);
    assert!(!q.pass && has(&q, Severity::Fail, Aspect::Golden, "outputs: identical before, now hard mismatch"));
    assert_eq!(q.exit_code(), bakeoff::exit::CORRECTNESS_FAILURE);
    let q = qualified(&[cell("balanced", &STEADY), cell("aggressive", &STEADY)], &[cell("balanced", &STEADY)]);
    assert!(!q.pass && has(&q, Severity::Fail, Aspect::Status, "absent from the new run"));
}

/// recommend over one run of these cells.
fn recommended(cells: &[Cell], k: &Constraints) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let recs = recommend(&write_run(tmp.path(), cells), k).unwrap();
    serde_json::to_value(&recs[0]).unwrap()
}

fn lost(r: &Value, profile: &str) -> String {
    let c = r["candidates"].as_array().unwrap().iter().find(|c| c["profile"] == profile).unwrap();
    c["lost"].as_str().unwrap_or("").to_string()
}

#[test]
fn recommend_picks_the_fastest_that_meets_every_constraint_and_says_why_others_lost() {
    let fast = cell("aggressive", &[5.0, 5.0, 5.0]);
    let mid = cell("balanced", &[8.0, 8.0, 8.0]);
    let slow = cell("conservative", &[20.0, 20.0, 20.0]);
    let all = [fast.clone(), mid.clone(), slow.clone()];
    let r = recommended(&all, &Constraints::default());
    assert_eq!(r["best"], "aggressive");
    assert!(lost(&r, "balanced").starts_with("slower: 125.0 tok/s against 200.0 tok/s of aggressive"), "{r:#}");

    // Each constraint, met by some and not by others.
    let mut heavy = fast.clone();
    heavy.peak_rss_mb = 2000.0;
    let r = recommended(
        &[heavy, mid.clone(), slow.clone()],
        &Constraints { max_rss_mb: Some(1000.0), ..Default::default() },
    );
    assert_eq!(r["best"], "balanced");
    assert!(lost(&r, "aggressive").contains("over --max-rss-mb 1000"), "{r:#}");
    let r = recommended(&all, &Constraints { max_ttft_ms: Some(20.0), ..Default::default() });
    assert!(lost(&r, "conservative").contains("over --max-ttft-ms 20"), "TTFT 60 ms: {r:#}");
    let r = recommended(&all, &Constraints { min_tokens_per_s: Some(100.0), ..Default::default() });
    assert!(lost(&r, "conservative").contains("under --min-tokens-per-s 100"), "{r:#}");
    let mut short = fast.clone();
    short.max_prompt_len = Some(512);
    let r = recommended(&[short, mid.clone()], &Constraints { max_prompt_len: Some(1024), ..Default::default() });
    assert_eq!(r["best"], "balanced");
    assert!(lost(&r, "aggressive").contains("accepts prompts up to 512 tokens"), "{r:#}");
    let mut inexact = fast.clone();
    inexact.ids[1] += 1;
    let r = recommended(&[inexact, mid.clone()], &Constraints { exact: true, ..Default::default() });
    assert_eq!(r["best"], "balanced");
    assert!(lost(&r, "aggressive").contains("hard_mismatch against the goldens (--exact)"), "{r:#}");
    let mut burner = fast.clone();
    burner.cpu_ms_per_token = 30.0;
    let cpu = Constraints { max_cpu_ms_per_token: Some(20.0), ..Default::default() };
    let r = recommended(&[burner.clone(), mid.clone()], &cpu);
    assert_eq!(r["best"], "balanced");
    assert!(lost(&r, "aggressive").contains("host CPU 30.00 ms/token over --max-cpu-ms-per-token 20"), "{r:#}");

    // Ranked by host CPU instead of speed: the frugal one wins, the fast one says why it lost.
    let r = recommended(&[burner, mid.clone()], &Constraints { prefer: Prefer::Cpu, ..Default::default() });
    assert_eq!(r["best"], "balanced");
    assert!(lost(&r, "aggressive").starts_with("more host CPU: 30.00 ms/token against 10.00"), "{r:#}");
    // By energy, in a run that could not read it: an error saying why.
    let tmp = tempfile::tempdir().unwrap();
    let e = recommend(&write_run(tmp.path(), &all), &Constraints { prefer: Prefer::Energy, ..Default::default() })
        .unwrap_err();
    assert!(e.to_string().contains("this run has no energy figures (package energy not readable: synthetic)"), "{e}");
}

#[test]
fn effective_properties_the_plugin_changed_and_that_differ_between_stacks_are_shown() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let itl = [10.0, 11.0, 10.5, 9.5];
    // The profile sets a 1024-token prompt window; the old stack reports it as set and its
    // default chunk size, the new one another default chunk size and a window it changed.
    let mut old = cell("balanced", &itl);
    old.max_prompt_len = Some(1024);
    old.effective = vec![("NPUW_LLM_MAX_PROMPT_LEN", "1024"), ("NPUW_LLM_PREFILL_CHUNK_SIZE", "1024")];
    let mut new = old.clone();
    new.effective = vec![("NPUW_LLM_MAX_PROMPT_LEN", "2048"), ("NPUW_LLM_PREFILL_CHUNK_SIZE", "512")];
    write_run(a.path(), &[old]);
    write_run(b.path(), &[new]);
    for dir in [a.path(), b.path()] {
        bakeoff::commands::summarize(dir).unwrap();
    }
    // The run's own summary: what the plugin made of the profile, and every setting.
    let summary: Value = serde_json::from_slice(&std::fs::read(b.path().join("summary.json")).unwrap()).unwrap();
    let c = &summary["cells"][0];
    assert_eq!(c["effective_properties"]["NPUW_LLM_PREFILL_CHUNK_SIZE"], "512");
    assert_eq!(c["property_changes"][0]["key"], "NPUW_LLM_MAX_PROMPT_LEN");
    assert_eq!(
        (&c["property_changes"][0]["set"], &c["property_changes"][0]["effective"]),
        (&"1024".into(), &"2048".into())
    );
    let md = std::fs::read_to_string(b.path().join("summary.md")).unwrap();
    assert!(md.contains("NPUW_LLM_MAX_PROMPT_LEN set 1024, the compiled model reports 2048"), "{md}");
    let unchanged = std::fs::read_to_string(a.path().join("summary.md")).unwrap();
    assert!(!unchanged.contains("Properties the plugin changed"), "{unchanged}");

    // compare and qualify list what differs between the two stacks' compiled models.
    let out = tempfile::tempdir().unwrap();
    let output =
        bakeoff::cli::DecisionOutput { dir: Some(out.path().to_path_buf()), format: bakeoff::cli::Format::Text };
    bakeoff::commands::compare::run(a.path(), b.path(), &output).unwrap();
    let cmp: Value = serde_json::from_slice(&std::fs::read(out.path().join("compare.json")).unwrap()).unwrap();
    let keys: Vec<&str> = cmp["cells"][0]["effective_properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["NPUW_LLM_MAX_PROMPT_LEN", "NPUW_LLM_PREFILL_CHUNK_SIZE"]);
    let md = std::fs::read_to_string(out.path().join("compare.md")).unwrap();
    assert!(md.contains("| `m/kvcache/CPU/balanced/cold` | NPUW_LLM_PREFILL_CHUNK_SIZE | 1024 | 512 |"), "{md}");
    bakeoff::commands::qualify::run(a.path(), b.path(), &output).unwrap();
    let md = std::fs::read_to_string(out.path().join("qualify.md")).unwrap();
    assert!(md.contains("## Effective properties that differ"), "{md}");
}

// Every document's formats, rendered in memory from fixed synthetic results and held
// against their snapshots (`tests/snapshots/`, made with `INSTA_UPDATE=always` and read
// before they were committed): a change to any document's text is a visible diff in review.
mod documents {
    use super::*;
    use bakeoff::decide::ab::{judge_cell, AbReport};
    use bakeoff::decide::comparison::compare_runs;
    use bakeoff::decide::pareto::ProfileFigure;
    use bakeoff::decide::recommend::{Candidate, RecommendDocument};
    use bakeoff::decide::search::{pick, FinalistPair, KeyGain, Measured, SearchReport, Stage};
    use bakeoff::metrics::MetricId;
    use bakeoff::reports::ab::{ab_exporters, AbDocument};
    use bakeoff::reports::charts::Figure;
    use bakeoff::reports::decisions::{COMPARE, QUALIFY, RECOMMEND};
    use bakeoff::reports::exports::{Bmf, GabBigger, GabSmaller, LlmBenchCsv, TrackerRun};
    use bakeoff::reports::search::{search_exporters, SearchDocument};
    use bakeoff::reports::{run_exporters, Exporter, RunReport};
    use bakeoff::results::pairs::{AbCellRecord, LengthEnd, Pair, Side};
    use bakeoff::results::soak::{SoakReport, SoakRound, StepLatencies, StepQuantiles};
    use bakeoff::scenario::ab::AbSettings;
    use std::collections::BTreeMap;

    /// Each format of `doc` as text, every folder of the fixture named by its role instead
    /// of its temporary path.
    fn snapshot<D: ?Sized>(what: &str, doc: &D, exporters: &[&dyn Exporter<D>], dirs: &[(&Path, &str)]) {
        for e in exporters {
            let mut text = String::from_utf8(e.render(doc).unwrap()).unwrap();
            for (dir, role) in dirs {
                text = text.replace(&dir.display().to_string(), role);
            }
            insta::assert_snapshot!(format!("{what}-{}", e.file_name()), text);
        }
    }

    fn runs(tmp: &Path) -> (RunFolder, RunFolder) {
        let itl = [10.0, 12.0, 11.0, 9.0];
        let mut failed = cell("conservative", &[]);
        failed.status = CellStatus::Failed;
        failed.reason = Some("the plugin said <b>\"no\"</b> & stopped");
        let mut npu = cell("balanced", &[]);
        npu.device = Device::Npu;
        npu.status = CellStatus::Skipped;
        npu.reason = Some("NPU not present");
        let mut slower = cell("balanced", &[15.0, 15.5, 14.8, 15.2]);
        slower.compile_ms = 180.0;
        let mut aggressive = cell("aggressive", &[9.0, 9.5, 9.2, 8.8]);
        aggressive.peak_rss_mb = 900.0;
        let old =
            write_run(&tmp.join("old"), &[cell("balanced", &itl), failed.clone(), npu.clone(), aggressive.clone()]);
        let new = write_run(&tmp.join("new"), &[slower, failed, npu, aggressive]);
        (old, new)
    }

    #[test]
    fn a_run_in_every_format() {
        let tmp = tempfile::tempdir().unwrap();
        let (run, _) = runs(tmp.path());
        let cells = run.summaries();
        let correctness = bakeoff::correctness::run_correctness(&run).unwrap();
        let by_length = bakeoff::results::summary::cost_by_length(&run.attempts());
        let figures = [Figure { stem: "chart".into(), title: "synthetic: a chart".into(), svg: "<svg/>".into() }];
        let report = RunReport {
            scenario: &run.scenario.name,
            cells: &cells,
            fingerprint: &run.fingerprint,
            correctness: &correctness,
            figures: &figures,
            by_length: &by_length,
            by_turn: &[],
        };
        snapshot("run", &report, &run_exporters(), &[(&run.dir, "<run>")]);
        let attempts = run.attempts();
        let trackers = TrackerRun { cells: &cells, attempts: &attempts, max_new_tokens: 6 };
        snapshot("export", &trackers, &[&Bmf, &GabBigger, &GabSmaller, &LlmBenchCsv], &[]);
    }

    #[test]
    fn the_decisions_in_every_format() {
        let tmp = tempfile::tempdir().unwrap();
        let (old, new) = runs(tmp.path());
        let dirs = [(old.dir.as_path(), "<old>"), (new.dir.as_path(), "<new>")];
        snapshot("compare", &compare_runs(&old, &new).unwrap(), &COMPARE, &dirs);
        snapshot("qualify", &qualify(&old, &new).unwrap(), &QUALIFY, &dirs);
        let constraints = Constraints { max_rss_mb: Some(800.0), ..Default::default() };
        let recommendations = recommend(&old, &constraints).unwrap();
        snapshot("recommend", &RecommendDocument { constraints, recommendations }, &RECOMMEND, &dirs);
    }

    /// Pairs whose candidate is `factor` times slower per step, 5 per round.
    fn pairs(n: usize, factor: f64) -> Vec<Pair> {
        let k = key(&cell("balanced", &[]));
        (0..n)
            .map(|i| {
                let itl = 10.0 + (i % 3) as f64 * 0.2;
                // The candidate's own noise, +-0.8%, deterministic.
                let jitter = 1.0 + ((i * 7) % 11) as f64 * 0.0016 - 0.008;
                let sample = |itl: f64| SampleRecord::from_transcript(&k, "p", i, false, &transcript(&IDS, itl));
                Pair {
                    index: i,
                    round: i / 5,
                    first: Some(if i % 2 == 0 { Side::Baseline } else { Side::Candidate }),
                    steps: None,
                    baseline: sample(itl),
                    candidate: sample(itl * factor * jitter),
                }
            })
            .collect()
    }

    #[test]
    fn an_ab_run_in_every_format() {
        let k = key(&cell("balanced", &[]));
        let settings = AbSettings::default();
        let record = |n: usize| {
            let mut r = CellRecord::new(&k, CellStatus::Completed);
            r.compile_ms = Some(100.0 + n as f64);
            r.peak_rss_mb = Some(400.0);
            r
        };
        let outcome = AbCellRecord {
            cell: k.clone(),
            status: CellStatus::Completed,
            baseline: record(0),
            candidate: record(20),
            pairs: 30,
            end: LengthEnd::MaxPairs,
            schedule: settings.schedule,
            seed: settings.seed,
            cache_probe: None,
        };
        let mut report = AbReport {
            scenario: "synthetic".into(),
            baseline: "baseline (OpenVINO 2026.3.1)".into(),
            candidate: "candidate (OpenVINO 2026.4.1)".into(),
            threshold: settings.threshold,
            warnings: vec!["the two sides ran on different hosts".into()],
            fingerprint: Vec::new(),
            cells: vec![judge_cell(&outcome, &pairs(30, 1.06), &[], &settings, 0.1)],
            pass: false,
            reasons: Vec::new(),
        };
        report.reasons = bakeoff::decide::ab::verdict_reasons(&report.cells, &|_| true);
        report.pass = report.reasons.iter().all(|r| r.severity != bakeoff::decide::qualify::Severity::Fail);
        let figures =
            vec![Figure { stem: "ab-1-raw".into(), title: format!("{k}: decode tokens/s"), svg: "<svg/>".into() }];
        snapshot("ab", &AbDocument { report: &report, figures }, &ab_exporters(), &[]);
    }

    fn round(n: usize, recorded: usize, peak: f64) -> SoakRound {
        let mut steps = StepLatencies::default();
        (1..=50).for_each(|i| steps.record(10.0 + i as f64 / 10.0));
        SoakRound {
            round: n,
            completed: 2,
            failed: 0,
            samples_recorded: recorded,
            samples_expected: 6,
            torn_lines: 0,
            harness_rss_range_mb: Some((peak - 3.0, peak - 2.0)),
            harness_rss_mb: Some(peak - 2.0),
            harness_peak_rss_mb: Some(peak),
            decode_steps: StepQuantiles::of(&steps),
        }
    }

    #[test]
    fn soaks_that_pass_and_fail_in_every_format() {
        let mut steps = StepLatencies::default();
        (1..=150).for_each(|i| steps.record(10.0 + (i % 50) as f64 / 10.0));
        let pass = SoakReport::new(vec![round(1, 6, 40.0), round(2, 6, 41.0), round(3, 6, 41.5)], &steps, 8.0, false);
        snapshot("soak-pass", &pass, &bakeoff::reports::soak::SOAK, &[]);
        let fail = SoakReport::new(vec![round(1, 6, 40.0), round(2, 5, 45.0), round(3, 6, 50.5)], &steps, 8.0, true);
        snapshot("soak-fail", &fail, &bakeoff::reports::soak::SOAK, &[]);
    }

    fn measured(profile: &str, settings: &[(&str, &str)], tps: f64, ttft: f64, stage: &str) -> Measured {
        let figures = BTreeMap::from([
            (ProfileFigure::Metric(MetricId::DecodeTokensPerS), tps),
            (ProfileFigure::Metric(MetricId::TtftP50Ms), ttft),
            (ProfileFigure::CompileCold, 900.0),
            (ProfileFigure::Metric(MetricId::PeakRssMb), 410.0),
        ]);
        Measured {
            profile: profile.into(),
            stage: stage.into(),
            repetitions: 2,
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            figures,
            candidate: Candidate {
                profile: profile.into(),
                tokens_per_s: Some(tps),
                ttft_ms: Some(ttft),
                peak_rss_mb: Some(410.0),
                cpu_ms_per_token: None,
                joules_per_token: None,
                max_prompt_len: None,
                golden: None,
                lost: None,
            },
            wall_s: 12.0,
        }
    }

    #[test]
    fn a_search_in_every_format() {
        let base = measured("balanced", &[], 40.0, 120.0, "1-screen");
        let shared = measured("balanced+shared_head=NO", &[("NPUW_LLM_SHARED_HEAD", "NO")], 54.0, 118.0, "2-grid");
        let chunk = measured("balanced+chunk=256", &[("NPUW_LLM_PREFILL_CHUNK_SIZE", "256")], 41.0, 95.0, "2-grid");
        let k = key(&cell("balanced", &[]));
        let settings = AbSettings::default();
        let outcome = AbCellRecord {
            cell: k.clone(),
            status: CellStatus::Completed,
            baseline: CellRecord::new(&k, CellStatus::Completed),
            candidate: CellRecord::new(&k, CellStatus::Completed),
            pairs: 30,
            end: LengthEnd::Decided,
            schedule: settings.schedule,
            seed: settings.seed,
            cache_probe: None,
        };
        let judged = judge_cell(&outcome, &pairs(30, 1.0 / 1.3), &[], &settings, 0.1)
            .metric(MetricId::DecodeTokensPerS)
            .cloned();
        let finalist = FinalistPair {
            leader: shared.profile.clone(),
            challenger: base.profile.clone(),
            folder: "4-final-1".into(),
            pairs: 30,
            judged,
            reason: None,
        };
        let report = SearchReport {
            scenario: "synthetic".into(),
            cell: "m/kvcache/NPU:host".into(),
            note: Device::NpuHost.disclaimer().map(str::to_string),
            budget_minutes: 6.0,
            used_minutes: 3.7,
            stages: vec![Stage {
                folder: "1-screen".into(),
                what: "one key at a time".into(),
                profiles: 3,
                repetitions: 1,
                wall_s: 80.0,
            }],
            stopped: "the next halving round would not fit the budget".into(),
            keys_that_helped: vec![KeyGain {
                key: "NPUW_LLM_SHARED_HEAD".into(),
                values: vec!["NO".into()],
                gain: 0.35,
                metric: ProfileFigure::Metric(MetricId::DecodeTokensPerS),
            }],
            candidates: vec![(shared.clone(), true), (chunk, true), (base, false)],
            constraints: Constraints::default(),
            finalists: vec![shared.profile.clone(), "balanced".into()],
            pick: Some(pick(&shared.profile, std::slice::from_ref(&finalist))),
            pairs: vec![finalist],
        };
        let front = Figure { stem: "front".into(), title: "synthetic: search front".into(), svg: "<svg/>".into() };
        snapshot("search", &SearchDocument { report: &report, front }, &search_exporters(), &[]);
    }
}
