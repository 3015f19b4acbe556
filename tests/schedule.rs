//! The scheduler with a mock executor: plan order, containment of crashes and hangs,
//! resume, shards, and results.jsonl staying valid line by line.

mod common;

use bakeoff::executor::mock::{MockExecutor, MockOutcome};
use bakeoff::executor::schedule::{finished_cells, run_cells, Progress};
use bakeoff::executor::{CellPrompt, CellSpec};
use bakeoff::metrics::MetricId;
use bakeoff::plan::{expand, shard, PlannedCell, Shard};
use bakeoff::results::summary::summarize_records;
use bakeoff::results::{read_results, CellStatus, FailureClass, Record, ResultsWriter};
use bakeoff::scenario::LoadedScenario;
use std::collections::HashSet;
use std::path::Path;

const SCENARIO: &str = r#"
name = "mock"
[[models]]
path = "no-model-needed"
[[prompts.inline]]
id = "a"
prompt = "one"
[[prompts.inline]]
id = "b"
prompt = "two"
[matrix]
pipelines = ["static128", "kvcache"]
devices = ["NPU", "CPU"]
profiles = ["balanced", "conservative", "aggressive"]
[measure]
warmup = 1
repetitions = 2
"#;

fn scenario(dir: &Path, text: &str) -> LoadedScenario {
    let path = dir.join("s.toml");
    std::fs::write(&path, text).unwrap();
    LoadedScenario::load(&path).unwrap()
}

fn spec(cell: &PlannedCell) -> Result<CellSpec, String> {
    let prompts = vec![
        CellPrompt { id: "a".into(), ids: vec![1, 2], conversation: None },
        CellPrompt { id: "b".into(), ids: vec![3], conversation: None },
    ];
    Ok(CellSpec {
        max_new_tokens: 4,
        measure: bakeoff::scenario::Measure { warmup: 1, repetitions: 2 },
        ..common::cell_spec(cell.key.clone(), "x".into(), prompts)
    })
}

fn run(plan: &[PlannedCell], mock: &mut MockExecutor, results: &Path, done: &HashSet<bakeoff::plan::CellKey>) {
    let mut writer = ResultsWriter::append(results).unwrap();
    run_cells(plan, done, &mut spec, mock, &mut writer, &mut Progress::hidden()).unwrap();
}

#[test]
fn cells_run_in_compile_order_and_npu_is_skipped_without_an_npu() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = expand(&scenario(tmp.path(), SCENARIO), false);
    assert_eq!(plan.len(), 12);
    let keys: Vec<String> = plan.iter().map(|c| c.key.to_string()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "model, pipeline, device, profile order");
    assert_eq!(keys[0], "no-model-needed/kvcache/CPU/aggressive/warm");
    let mut mock = MockExecutor::new(vec![]);
    let results = tmp.path().join("results.jsonl");
    run(&plan, &mut mock, &results, &HashSet::new());
    assert_eq!(mock.ran.len(), 6, "NPU cells never reach the executor");
    let summaries = summarize_records(&read_results(&results).unwrap().records);
    assert_eq!(summaries.iter().filter(|s| s.status == CellStatus::Skipped).count(), 6);
    assert!(summaries.iter().filter(|s| s.status == CellStatus::Skipped).all(|s| s
        .reason
        .as_deref()
        .unwrap()
        .contains("NPU not present")));
    let done = summaries.iter().find(|s| s.status == CellStatus::Completed).unwrap();
    assert_eq!((done.warmup_samples, done.measured_samples), (2, 4));
    assert!(done.metrics[&MetricId::ItlP50Ms] <= done.metrics[&MetricId::ItlP99Ms]);
}

#[test]
fn host_fallback_turns_npu_cells_into_npu_host_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("{SCENARIO}\n[npu]\nhost_fallback = true\n");
    let plan = expand(&scenario(tmp.path(), &text), false);
    assert!(plan.iter().all(|c| c.skip.is_none()));
    assert_eq!(plan.iter().filter(|c| c.key.device.label() == "NPU:host").count(), 6);
    assert!(expand(&scenario(tmp.path(), &text), true).iter().any(|c| c.key.device.label() == "NPU"));
}

#[test]
fn a_crash_and_a_hang_fail_only_their_cells_and_every_line_stays_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = expand(&scenario(tmp.path(), SCENARIO), false);
    let mut mock = MockExecutor::new(vec![
        ("kvcache/CPU/balanced".into(), MockOutcome::Crash { after: 3 }),
        ("static128/CPU/conservative".into(), MockOutcome::HangGenerate { after: 1 }),
        ("static128/CPU/aggressive".into(), MockOutcome::HangCompile),
    ]);
    let results = tmp.path().join("results.jsonl");
    run(&plan, &mut mock, &results, &HashSet::new());
    for (i, line) in std::fs::read_to_string(&results).unwrap().lines().enumerate() {
        serde_json::from_str::<Record>(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
    }
    let summaries = summarize_records(&read_results(&results).unwrap().records);
    let by = |k: &str| summaries.iter().find(|s| s.cell.to_string().contains(k)).unwrap();
    assert_eq!(by("kvcache/CPU/balanced").status, CellStatus::Failed);
    assert!(by("kvcache/CPU/balanced").reason.as_deref().unwrap().contains("signal 11"));
    assert!(by("static128/CPU/conservative").reason.as_deref().unwrap().contains("timeout_generate"));
    assert!(by("static128/CPU/aggressive").reason.as_deref().unwrap().contains("timeout_compile"));
    for ok in ["kvcache/CPU/aggressive", "kvcache/CPU/conservative", "static128/CPU/balanced"] {
        assert_eq!(by(ok).status, CellStatus::Completed, "{ok}");
        assert_eq!(by(ok).measured_samples, 4, "{ok}");
    }
    // The crashed cell's samples before the crash are kept in the file.
    let records = read_results(&results).unwrap().records;
    let crashed_samples = records
        .iter()
        .filter(|r| matches!(r, Record::Sample(s) if s.cell.to_string().contains("kvcache/CPU/balanced")))
        .count();
    assert_eq!(crashed_samples, 3);
    assert!(records
        .iter()
        .any(|r| matches!(r, Record::Cell(c) if c.failure == Some(FailureClass::Crashed { signal: 11 }))));
}

#[test]
fn resume_skips_final_cells_reruns_failed_ones_and_ignores_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = expand(&scenario(tmp.path(), SCENARIO), false);
    let results = tmp.path().join("results.jsonl");
    let mut first = MockExecutor::new(vec![("kvcache/CPU/balanced".into(), MockOutcome::Crash { after: 1 })]);
    run(&plan[..4], &mut first, &results, &HashSet::new());
    // A kill in the middle of a write leaves half a line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&results)
        .map(|mut f| std::io::Write::write_all(&mut f, b"{\"kind\":\"sam"))
        .unwrap()
        .unwrap();
    let read = read_results(&results).unwrap();
    assert!(read.torn_tail);
    let done = finished_cells(&read.records);
    assert_eq!(done.len(), 3, "the crashed cell is not final");
    bakeoff::results::cut_torn_tail(&results).unwrap();
    let mut second = MockExecutor::new(vec![]);
    run(&plan, &mut second, &results, &done);
    assert!(second.ran.iter().any(|k| k.contains("kvcache/CPU/balanced")), "failed cells run again");
    assert!(!second.ran.iter().any(|k| k.contains("kvcache/CPU/aggressive")), "completed cells are kept");
    let summaries = summarize_records(&read_results(&results).unwrap().records);
    assert_eq!(summaries.len(), 12);
    let rerun = summaries.iter().find(|s| s.cell.to_string().contains("kvcache/CPU/balanced")).unwrap();
    assert_eq!(
        (rerun.status, rerun.measured_samples),
        (CellStatus::Completed, 4),
        "only the final attempt's samples count"
    );
}

#[test]
fn every_cell_is_in_exactly_one_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = expand(&scenario(tmp.path(), SCENARIO), false);
    for n in 1..=5 {
        let mut seen: Vec<usize> =
            (1..=n).flat_map(|k| shard(plan.clone(), Some(Shard { k, n })).into_iter().map(|c| c.index)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..plan.len()).collect::<Vec<_>>(), "N = {n}");
    }
}
