//! `bakeoff run` end to end on the real model: the shipped smoke scenario, and a cell that
//! crashes or hangs (the test-only fault hook) leaving every other cell's results intact,
//! Ctrl-C and a full disk mid-run.

mod common;

use bakeoff::results::{read_results, CellStatus, Record};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn bakeoff(args: &[&str], fault: Option<&str>) -> Output {
    match fault {
        Some(f) => common::bakeoff_env(args, &[("BAKEOFF_FAULT", f)]),
        None => common::bakeoff(args),
    }
}

fn summary(dir: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    v["cells"].as_array().unwrap().clone()
}

fn cell<'a>(cells: &'a [Value], key: &str) -> &'a Value {
    cells
        .iter()
        .find(|c| {
            format!(
                "{}/{}/{}/{}",
                c["cell"]["pipeline"].as_str().unwrap(),
                c["cell"]["device"].as_str().unwrap(),
                c["cell"]["profile"].as_str().unwrap(),
                c["cell"]["cache"].as_str().unwrap()
            ) == key
        })
        .unwrap_or_else(|| panic!("no cell {key}"))
}

#[test]
fn smoke_scenario_runs_every_cell_and_writes_the_run_folder() {
    common::smollm2();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("smoke");
    let o = bakeoff(&["run", "scenarios/smoke.toml", "--out", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["results.jsonl", "summary.csv", "summary.json", "summary.md", "fingerprint.json", "scenario.toml"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let cells = summary(&out);
    assert_eq!(cells.len(), 18);
    let weights = std::fs::metadata(common::smollm2().root.join("openvino_model.bin")).unwrap().len();
    let weights_mib = weights as f64 / f64::from(1 << 20);
    let fp: Value = serde_json::from_slice(&std::fs::read(out.join("fingerprint.json")).unwrap()).unwrap();
    let energy = fp["telemetry"]["energy"].as_str().unwrap();
    let energy_readable = energy.starts_with("readable");
    assert!(energy_readable || energy.starts_with("not readable: "), "{energy}");
    assert!(fp["telemetry"]["npu_busy"].as_str().unwrap().starts_with("not readable: "), "no NPU here");
    let count = |device: &str, status: &str| {
        cells.iter().filter(|c| c["cell"]["device"] == device && c["status"] == status).count()
    };
    assert_eq!(count("CPU", "completed"), 6);
    assert_eq!(count("NPU", "skipped"), 6);
    assert_eq!(count("NPU:host", "completed"), 6);
    for c in cells.iter().filter(|c| c["status"] == "completed") {
        let m = &c["metrics"];
        let f = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {c}"));
        assert!(f("ttft_p50_ms") > 0.0);
        assert!(f("itl_p50_ms") > 0.0 && f("itl_p50_ms") <= f("itl_p99_ms") && f("itl_p99_ms") <= f("itl_max_ms"));
        assert!(f("decode_tokens_per_s") > 0.0);
        // Every weight is read by a generation, so its pages were resident at some point:
        // a fact of the model's size, not of the machine's speed.
        assert!(f("peak_rss_mb") > weights_mib, "peak RSS below the weights' {weights_mib:.0} MiB: {c}");
        assert_eq!(f("output_tokens"), 8.0);
        assert_eq!(c["measured_samples"], 4);
        assert_eq!(c["warmup_samples"], 2);
        assert_eq!(c["from_cache"], true, "warm cells load from the primed cache: {c}");
        // Every measured cell says how much host CPU its prefill and each decode token took.
        assert!(f("prefill_cpu_ms") > 0.0 && f("cpu_ms_per_token") > 0.0, "{c}");
        // Energy is there exactly where the machine lets bakeoff read it; never a zero.
        match energy_readable {
            true => assert!(f("joules_per_token") > 0.0, "{c}"),
            false => assert!(m.get("joules_per_token").is_none(), "absent, not zero: {c}"),
        }
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("NPUW host execution: not NPU silicon"));
    // Every completed cell's samples were checked against the shipped goldens; the enforced
    // cells (CPU, conservative: exact f32) are identical.
    assert!(out.join("golden/smollm2-135m.json").exists(), "the goldens checked are kept in the run folder");
    let correctness: Value = serde_json::from_slice(&std::fs::read(out.join("correctness.json")).unwrap()).unwrap();
    let checks = correctness["golden"].as_array().unwrap();
    assert_eq!(checks.len(), 12 * 2, "12 completed cells x 2 prompts");
    let enforced: Vec<&Value> = checks.iter().filter(|c| c["enforced"] == true).collect();
    assert_eq!(enforced.len(), 2 * 2);
    for c in enforced {
        assert_eq!(c["verdict"]["verdict"], "identical", "{c}");
        assert_eq!(c["samples"], 3, "warm-ups are checked too: {c}");
    }
    assert!(md.contains("## Correctness"));
    check_reports(&out);
}

/// The run folder's charts, junit.xml and report.html, the last rendered in headless
/// Chromium (the screenshot is kept under target/test-artifacts/).
fn check_reports(out: &Path) {
    for stem in ["chart_tokens_per_s", "chart_itl", "chart_cost", "chart_efficiency"] {
        let png = image::open(out.join(format!("{stem}.png"))).unwrap().to_rgb8();
        let inked = png.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(inked * 20 > png.pixels().len(), "{stem}.png has something drawn");
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("smoke"), "{stem}.svg has a title that says what was run");
    }
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    // 18 cell statuses + 12 completed cells x 2 prompts golden + 6 pipeline pairs x 2 prompts.
    assert_eq!(cases.len(), 18 + 24 + 12);
    assert_eq!(cases.iter().filter(|c| c.children().any(|x| x.has_tag_name("skipped"))).count(), 6);
    assert_eq!(cases.iter().filter(|c| c.children().any(|x| x.has_tag_name("failure"))).count(), 0);

    let html = out.join("report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(!text.contains("<script") && !text.contains("<link"), "self-contained: no script, no external resource");
    let artifacts = common::repo().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report-smoke.png");
    let chromium = |extra: &[&str]| {
        let mut args = vec!["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"];
        args.extend(extra);
        let url = format!("file://{}", html.display());
        args.push(&url);
        std::process::Command::new("chromium")
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("chromium: {e} (make setup installs Debian's chromium)"))
    };
    let dom = String::from_utf8(chromium(&["--dump-dom"]).stdout).unwrap();
    let parsed = dom.to_lowercase();
    assert_eq!(parsed.matches("<figure").count(), 4, "four charts in the rendered page");
    assert!(parsed.matches("<svg").count() >= 4, "the charts are inline SVG");
    assert!(parsed.matches("<table").count() >= 4, "summary, correctness, not-completed and fingerprint tables");
    assert!(dom.contains("NPUW host execution: not NPU silicon"));
    let shot_arg = format!("--screenshot={}", shot.display());
    let o = chromium(&[&shot_arg, "--window-size=1400,2400"]);
    assert!(shot.exists(), "chromium wrote no screenshot: {}", String::from_utf8_lossy(&o.stderr));
    let img = image::open(&shot).unwrap().to_rgb8();
    let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(inked * 10 > img.pixels().len(), "the screenshot shows the report ({inked} inked pixels)");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 19);
    assert!(csv.lines().next().unwrap().contains("decode_tokens_per_s"));
}

/// Every line of a run's results.jsonl read on its own: valid JSON, newline-terminated (no
/// torn line), and `profile`'s healthy cell holding `samples` samples.
fn assert_every_line_intact(out: &Path, profile: &str, samples: usize) {
    let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert!(text.ends_with('\n'), "the last line is torn");
    for (i, line) in text.lines().enumerate() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("line {}: {e}: {line}", i + 1));
    }
    let read = read_results(&out.join("results.jsonl")).unwrap();
    assert!(!read.torn_tail);
    let healthy = read.records.iter().filter(|r| matches!(r, Record::Sample(s) if s.cell.profile == profile)).count();
    assert_eq!(healthy, samples, "the healthy {profile} cell's samples");
}

#[test]
fn a_cell_that_allocates_until_its_memory_limit_is_out_of_memory_and_the_others_run() {
    let tmp = tempfile::tempdir().unwrap();
    let edits =
        [(common::ALL_PROFILES, r#"profiles = ["balanced", "conservative"]"#), ("generate_s = 10", "generate_s = 30")];
    let scenario = common::fault_scenario(tmp.path(), "oom.toml", &edits, "[limits]\nmemory_mb = 4000\n");
    let out = tmp.path().join("run");
    let o = bakeoff(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()], Some("oom@/balanced/"));
    assert_eq!(o.status.code(), Some(5), "incomplete run: {}", String::from_utf8_lossy(&o.stderr));
    let cells = summary(&out);
    let oom = cell(&cells, "kvcache/CPU/balanced/cold");
    assert_eq!(oom["status"], "failed");
    assert!(oom["reason"].as_str().unwrap().starts_with("out_of_memory (limit 4000 MiB)"), "{oom}");
    assert_eq!(cell(&cells, "kvcache/CPU/conservative/cold")["status"], "completed", "under the same limit");
    assert_every_line_intact(&out, "conservative", 2);
}

#[test]
fn crashing_and_hanging_cells_are_classified_and_the_others_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = common::fault_scenario(tmp.path(), "faults.toml", &[], "");
    let out = tmp.path().join("run");
    let o = bakeoff(
        &["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()],
        Some("segfault@/aggressive/,hang_generate@/balanced/,abort@/reference/"),
    );
    assert_eq!(o.status.code(), Some(5), "incomplete run: {}", String::from_utf8_lossy(&o.stderr));
    let cells = summary(&out);
    let reason = |k: &str| cell(&cells, k)["reason"].as_str().unwrap_or("").to_string();
    assert!(
        reason("kvcache/CPU/aggressive/cold").contains("crashed (signal 11)"),
        "{}",
        reason("kvcache/CPU/aggressive/cold")
    );
    assert!(reason("kvcache/CPU/balanced/cold").contains("timeout_generate"));
    assert!(reason("kvcache/CPU/reference/cold").contains("crashed (signal 6)"));
    let ok = cell(&cells, "kvcache/CPU/conservative/cold");
    assert_eq!(ok["status"], "completed");
    assert_eq!(ok["measured_samples"], 2);
    assert_every_line_intact(&out, "conservative", 2);
    let read = read_results(&out.join("results.jsonl")).unwrap();
    assert!(read.records.iter().any(|r| matches!(r, Record::Cell(c) if c.status == CellStatus::Failed)));

    // Resume without the faults completes the failed cells and keeps the healthy one.
    let o = bakeoff(&["run", scenario.to_str().unwrap(), "--resume", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let cells = summary(&out);
    assert!(cells.iter().all(|c| c["status"] == "completed"), "{cells:?}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("[3/3]") && !stderr.contains("conservative"), "only the 3 failed cells rerun: {stderr}");
}

#[test]
fn hang_in_compile_is_a_compile_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let edits =
        [("compile_s = 60", "compile_s = 20"), (common::ALL_PROFILES, r#"profiles = ["balanced", "reference"]"#)];
    let scenario = common::fault_scenario(tmp.path(), "hang.toml", &edits, "");
    let out = tmp.path().join("run");
    let o =
        bakeoff(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()], Some("hang_compile@/balanced/"));
    assert_eq!(o.status.code(), Some(5));
    let cells = summary(&out);
    assert!(cell(&cells, "kvcache/CPU/balanced/cold")["reason"].as_str().unwrap().contains("timeout_compile"));
    assert_eq!(cell(&cells, "kvcache/CPU/reference/cold")["status"], "completed");
    assert_every_line_intact(&out, "reference", 2);
}

#[test]
fn scenario_errors_name_the_file_line_and_what_is_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        common::FAULT_SCENARIO.replace("MODEL", "m").replace("devices = [\"CPU\"]", "devices = [\"GPU\"]"),
    )
    .unwrap();
    let o = bakeoff(&["run", bad.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("line 10") && err.contains("GPU") && err.contains("NPU:host"),
        "{err}"
    );
    std::fs::write(
        &bad,
        common::FAULT_SCENARIO.replace("MODEL", "m").replace("max_new_tokens = 8", "max_new_tokens = "),
    )
    .unwrap();
    let err = String::from_utf8_lossy(&bakeoff(&["run", bad.to_str().unwrap()], None).stderr).to_string();
    assert!(err.contains("bad.toml") && err.contains("line 13, column 18") && err.contains("max_new_tokens"), "{err}");
    std::fs::write(&bad, common::FAULT_SCENARIO.replace("MODEL", "m").replace("[measure]", "[measure]\nwarmups = 1"))
        .unwrap();
    let err = String::from_utf8_lossy(&bakeoff(&["run", bad.to_str().unwrap()], None).stderr).to_string();
    assert!(err.contains("unknown field `warmups`") && err.contains("repetitions"), "{err}");
    std::fs::write(&bad, common::FAULT_SCENARIO.replace("MODEL", "m").replace("\"reference\"]", "\"turbo\"]")).unwrap();
    let err = String::from_utf8_lossy(&bakeoff(&["run", bad.to_str().unwrap()], None).stderr).to_string();
    assert!(err.contains("unknown profile `turbo`") && err.contains("balanced"), "{err}");
    // A profile inheriting from nowhere is refused when the scenario loads, before any compile.
    std::fs::write(&bad, common::FAULT_SCENARIO.replace("MODEL", "m") + "[profiles.mine]\ninherits = \"ghost\"\n")
        .unwrap();
    let o = bakeoff(&["run", bad.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("bad.toml") && err.contains("[mine] inherits: unknown profile `ghost`"), "{err}");
}

#[test]
fn shards_merge_into_one_run_and_mismatched_scenarios_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = common::fault_scenario(tmp.path(), "s.toml", &[("repetitions = 2", "repetitions = 1")], "");
    let dir = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    for k in ["1/2", "2/2"] {
        let o = bakeoff(&["run", scenario.to_str().unwrap(), "--shard", k, "--out", &dir(&k.replace('/', "of"))], None);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(summary(Path::new(&dir(&k.replace('/', "of")))).len(), 2);
    }
    let o = bakeoff(&["merge", "--out", &dir("merged"), &dir("1of2"), &dir("2of2")], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let cells = summary(Path::new(&dir("merged")));
    assert_eq!(cells.len(), 4);
    assert!(cells.iter().all(|c| c["status"] == "completed"));

    let edits = [("repetitions = 2", "repetitions = 1"), ("max_new_tokens = 8", "max_new_tokens = 9")];
    let other = common::fault_scenario(tmp.path(), "other.toml", &edits, "");
    let o = bakeoff(&["run", other.to_str().unwrap(), "--shard", "1/2", "--out", &dir("other")], None);
    assert_eq!(o.status.code(), Some(0));
    let o = bakeoff(&["merge", "--out", &dir("bad"), &dir("1of2"), &dir("other")], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("only shards of one scenario merge"));
}

#[test]
fn ctrl_c_mid_run_keeps_what_was_recorded_and_resume_completes_it() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let scenario = common::fault_scenario(tmp.path(), "interrupt.toml", &[], "");
    let out = tmp.path().join("run");
    // Its own process group, as a shell gives a foreground job: Ctrl-C reaches the parent
    // and its cell process alike.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bakeoff"));
    child
        .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .current_dir(common::repo())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    // A shell's foreground job gets Ctrl-C's default action even when this test runs under a
    // non-interactive shell's background job, which starts with SIGINT ignored (inherited).
    // SAFETY: signal() is async-signal-safe; nothing else is touched between fork and exec.
    unsafe {
        child.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = child.spawn().unwrap();
    let results = out.join("results.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(&results).map_or(0, |t| t.matches("\"kind\":\"cell\"").count()) < 1 {
        assert!(std::time::Instant::now() < deadline, "no cell finished in 2 minutes");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: signalling the process group of our own child.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "interrupted");
    let read = read_results(&results).unwrap();
    let done: Vec<_> =
        read.records.iter().filter(|r| matches!(r, Record::Cell(c) if c.status == CellStatus::Completed)).collect();
    assert!(!done.is_empty() && done.len() < 4, "some but not all cells recorded before Ctrl-C: {}", done.len());
    // Every line complete and valid but perhaps the last (a write cut by the signal).
    let text = std::fs::read_to_string(&results).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[..lines.len().saturating_sub(1)] {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("a torn line before the end: {e}: {line}"));
    }

    let o = bakeoff(&["run", scenario.to_str().unwrap(), "--resume", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let cells = summary(&out);
    assert_eq!(cells.len(), 4);
    assert!(cells.iter().all(|c| c["status"] == "completed" && c["measured_samples"] == 2), "{cells:?}");
}

/// The scenario of the full-disk tests: 4 warm CPU cells of 2 prompts x 2 repetitions.
fn full_disk_scenario(dir: &Path) -> std::path::PathBuf {
    let edits = [(r#"policy = "cold""#, r#"policy = "warm""#), ("generate_s = 10", "generate_s = 30")];
    let sky = "[[prompts.inline]]\nid = \"sky\"\nprompt = \"Why is the sky blue?\"\n";
    common::fault_scenario(dir, "full.toml", &edits, sky)
}

/// Run `tests/data/disk_full.sh` in a private mount namespace: the run folder on a tmpfs with
/// `free_kib` free (see the script). Returns (the tmpfs mount point, the folder of copies).
fn on_a_full_disk(dir: &Path, scenario: &Path, free_kib: u32, mode: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (mnt, keep) = (dir.join("mnt"), dir.join("keep"));
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::create_dir_all(&keep).unwrap();
    let status = std::process::Command::new("unshare")
        .args(["-rm", "sh", common::repo().join("tests/data/disk_full.sh").to_str().unwrap()])
        .args([&mnt, &keep, Path::new(env!("CARGO_BIN_EXE_bakeoff")), scenario])
        .args([free_kib.to_string().as_str(), mode])
        .current_dir(common::repo())
        .status()
        .expect("this test needs unshare (util-linux) to mount a private tmpfs");
    assert!(status.success(), "a private tmpfs (unshare -rm, mount -t tmpfs) is needed: {status}");
    (mnt, keep)
}

/// Files a failed atomic write would leave behind.
fn temporaries(dir: &Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string());
    names.filter(|n| n.ends_with(".tmp")).collect()
}

#[test]
fn a_full_disk_stops_the_run_keeping_every_complete_record_and_resume_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = full_disk_scenario(tmp.path());
    // Nothing free once the first of the 4 cells is recorded: the disk fills mid-run by
    // construction, whatever a record, a page or a fingerprint measures on this machine.
    let (mnt, keep) = on_a_full_disk(tmp.path(), &scenario, 0, "records");
    let read = |name: &str| std::fs::read_to_string(keep.join(name)).unwrap();

    // The full disk: a harness error naming the file, the cause and the way out.
    let err = read("full.err");
    assert_eq!(read("full.rc").trim(), "1", "{err}");
    let results = keep.join("full/results.jsonl");
    let named = format!("{}: writing results failed: No space left on device", mnt.join("run/results.jsonl").display());
    assert!(err.contains(&named) && err.contains("--resume"), "{err}");
    let full = read_results(&results).unwrap();
    let cells_before = full.records.iter().filter(|r| matches!(r, Record::Cell(_))).count();
    assert!((1..4).contains(&cells_before), "the disk filled mid-run: {cells_before} cells recorded before it");
    let full_bytes = std::fs::read(&results).unwrap();
    let complete = full_bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);

    // Resumed with room: every record from before is there unchanged, byte for byte, the
    // torn line is gone, and every cell has all its samples.
    assert_eq!(read("resumed.rc").trim(), "0", "{}", read("resumed.err"));
    if full.torn_tail {
        assert!(read("resumed.err").contains("ignored a torn last line"), "{}", read("resumed.err"));
    }
    let resumed_bytes = std::fs::read(keep.join("resumed/results.jsonl")).unwrap();
    assert_eq!(resumed_bytes[..complete], full_bytes[..complete], "records before the full disk are kept");
    let resumed = read_results(&keep.join("resumed/results.jsonl")).unwrap();
    assert!(!resumed.torn_tail);
    let cells = summary(&keep.join("resumed"));
    assert_eq!(cells.len(), 4);
    assert!(cells.iter().all(|c| c["status"] == "completed" && c["measured_samples"] == 4), "{cells:?}");
}

#[test]
fn a_full_disk_while_writing_summaries_keeps_the_previous_ones_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = full_disk_scenario(tmp.path());
    // One page free (this host's page size): the small files are rewritten (each replaces
    // its own page), the charts and reports are not.
    // SAFETY: sysconf reads a constant of the running kernel.
    let page_kib = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) } / 1024).max(1) as u32;
    let (_, keep) = on_a_full_disk(tmp.path(), &scenario, page_kib, "summaries");
    let read = |name: &str| std::fs::read_to_string(keep.join(name)).unwrap();
    assert_eq!(read("before.rc").trim(), "0", "{}", read("before.err"));

    let err = read("full.err");
    assert_eq!(read("full.rc").trim(), "1", "{err}");
    assert!(
        err.contains("No space left on device (os error 28). results.jsonl is whole") && err.contains("--resume"),
        "{err}"
    );
    // Nothing half-written: no temporary file left, and every output of the first summary
    // is still there, byte for byte, records included.
    assert_eq!(temporaries(&keep.join("full")), Vec::<String>::new());
    for name in ["results.jsonl", "summary.md", "summary.json", "report.html", "chart_itl.svg", "chart_itl.png"] {
        let (before, after) =
            (std::fs::read(keep.join("before").join(name)), std::fs::read(keep.join("full").join(name)));
        assert_eq!(before.unwrap(), after.unwrap(), "{name} is whole after the full disk");
    }

    // With room again, resume writes them anew and the run is whole.
    assert_eq!(read("resumed.rc").trim(), "0", "{}", read("resumed.err"));
    assert!(temporaries(&keep.join("resumed")).is_empty());
    let cells = summary(&keep.join("resumed"));
    assert!(cells.iter().all(|c| c["status"] == "completed" && c["measured_samples"] == 4), "{cells:?}");
}

#[test]
fn a_soak_runs_every_round_in_one_process_and_accounts_for_every_sample_and_its_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let edits = [
        (common::ALL_PROFILES, r#"profiles = ["balanced", "reference"]"#),
        (r#"policy = "cold""#, r#"policy = "warm""#),
        ("generate_s = 10", "generate_s = 30"),
    ];
    let scenario = common::fault_scenario(tmp.path(), "soak.toml", &edits, "[soak]\nrounds = 3\n");
    let out = tmp.path().join("run");
    let o = bakeoff(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for round in ["round-01", "round-02", "round-03"] {
        let cells = summary(&out.join(round));
        assert!(cells.iter().all(|c| c["status"] == "completed" && c["measured_samples"] == 2), "{round}: {cells:?}");
    }
    let soak: Value = serde_json::from_slice(&std::fs::read(out.join("soak.json")).unwrap()).unwrap();
    let rounds = soak["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3);
    // Every measured decode step is in the round's stream and the soak's: 8 tokens make 7
    // steps a sample, 2 measured samples a cell.
    let steps_per_round = summary(&out.join("round-01")).len() as u64 * 2 * 7;
    for r in rounds {
        assert_eq!(r["samples_recorded"], 4, "{r}");
        assert_eq!(r["samples_expected"], 4, "{r}");
        assert!(r["harness_peak_rss_mb"].as_f64().unwrap() > 1.0, "{r}");
        assert_eq!(r["decode_steps"]["steps"].as_u64(), Some(steps_per_round), "{r}");
        assert!(r["decode_steps"]["p50_ms"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert_eq!(soak["decode_steps"]["steps"].as_u64(), Some(3 * steps_per_round), "{soak}");
    assert_eq!(soak["samples_lost"], 0);
    assert!(soak["harness_peak_growth_mb"].as_f64().unwrap() <= 8.0, "{soak}");
    assert!(std::fs::read_to_string(out.join("soak.md")).unwrap().contains("**Verdict: pass.**"));

    // A soak of one round is no soak.
    common::fault_scenario(tmp.path(), "soak.toml", &edits, "[soak]\nrounds = 1\n");
    let o = bakeoff(&["run", scenario.to_str().unwrap(), "--out", tmp.path().join("one").to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("soak.toml") && err.contains("soak.rounds: must be at least 2"), "{err}");
}

#[test]
fn a_compile_failure_is_a_failed_cell_with_the_plugins_message_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    // NPUW refuses a zero prompt window when it builds its prefill model: a real compile
    // failure in the plugin, past every check bakeoff makes of the profile.
    let edits = [
        (r#"devices = ["CPU"]"#, r#"devices = ["CPU", "NPU:host"]"#),
        (common::ALL_PROFILES, r#"profiles = ["broken"]"#),
        ("generate_s = 10", "generate_s = 60"),
    ];
    let broken =
        "[profiles.broken]\ninherits = \"reference\"\n[profiles.broken.NPU.kvcache]\nNPUW_LLM_MAX_PROMPT_LEN = 0\n";
    let scenario = common::fault_scenario(tmp.path(), "compile.toml", &edits, broken);
    let out = tmp.path().join("run");
    let o = bakeoff(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(5), "incomplete run: {}", String::from_utf8_lossy(&o.stderr));
    let cells = summary(&out);
    let failed = cell(&cells, "kvcache/NPU:host/broken/cold");
    assert_eq!(failed["status"], "failed");
    let reason = failed["reason"].as_str().unwrap();
    assert!(reason.starts_with("compile_error") && reason.contains("compiling for NPU failed"), "{reason}");
    assert_eq!(cell(&cells, "kvcache/CPU/broken/cold")["status"], "completed");
}
