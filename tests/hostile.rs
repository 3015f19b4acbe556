//! Hostile and careless inputs, and a hostile machine: a chat template that never ends or
//! recurses, a parent (of a run or of an A/B run) killed under its cell, two writers of one
//! run or A/B folder, absurd sizes, a 10 MB prompt, invalid UTF-8, a cell that closes its
//! output and lives on, files that are not files or are links to unrelated ones, truncated
//! weights in a run, a torn last record. Each case fails cleanly with a message naming what
//! is wrong, within a bound, and loses nothing recorded before it.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The shared fault scenario on `model` (two profiles, balanced and reference), each edit
/// applied, written to `dir/name`.
fn scenario(dir: &Path, name: &str, model: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut all = vec![(common::ALL_PROFILES, r#"profiles = ["balanced", "reference"]"#)];
    all.extend_from_slice(edits);
    common::fault_scenario_for(model, dir, name, &all, "")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `bakeoff ARGS` with a hard deadline: a hang fails the test instead of hanging it.
fn bakeoff_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bakeoff"));
    cmd.args(args).current_dir(common::repo()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("bakeoff {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A `bakeoff run` in the background, its stderr to a file.
fn spawn_run(args: &[&str], env: &[(&str, &str)], log: &Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bakeoff"));
    cmd.args(args).current_dir(common::repo()).stdout(Stdio::null()).stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// The pids of `parent`'s children (every thread's).
fn children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{parent}/task")).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    out
}

/// Whether `pid` still runs (a zombie waiting for its new parent to reap it has ended).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // The state follows the command name, which is in parentheses.
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some(Some('Z' | 'X')))
}

/// Wait until `f` holds, or fail naming `what` after `limit`.
fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Start a run whose balanced cell hangs in generation, and wait until that cell's process
/// runs. Returns the run and the cell's pid.
fn run_with_a_hanging_cell(dir: &Path, out: &Path) -> (Child, u32) {
    let model = common::smollm2().root;
    // The hung cell must outlive the test's signals: a generation timeout well past them.
    let s = scenario(dir, "hang.toml", &model, &[("generate_s = 10", "generate_s = 60")]);
    let log = dir.join(format!("{}.log", out.file_name().unwrap().to_string_lossy()));
    let run = spawn_run(
        &["run", s.to_str().unwrap(), "--out", out.to_str().unwrap()],
        &[("BAKEOFF_FAULT", "hang_generate@/balanced/")],
        &log,
    );
    let parent = run.id();
    let mut cell = None;
    wait_for("the cell's process started", Duration::from_secs(120), || {
        cell = children(parent).first().copied();
        cell.is_some()
    });
    (run, cell.unwrap())
}

#[test]
fn a_chat_template_that_never_ends_is_an_input_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::linked_copy(&common::smollm2().root, tmp.path());
    let config = model.join("tokenizer_config.json");
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    json["chat_template"] = "{% for i in range(100000) %}{% for k in range(100000) %}x{% endfor %}{% endfor %}".into();
    std::fs::remove_file(&config).unwrap();
    std::fs::write(&config, json.to_string()).unwrap();

    let started = Instant::now();
    let args = [
        "generate",
        "--pipeline",
        "kvcache",
        "--model",
        model.to_str().unwrap(),
        "--prompt",
        "hi",
        "--max-new-tokens",
        "4",
    ];
    let o = bakeoff_within(&args, &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tokenizer_config.json") && stderr(&o).contains("does not end"), "{}", stderr(&o));
    eprintln!("generate stopped the template in {:?}", started.elapsed());

    // In a run, the parent prepares prompts: the model's cells fail with the reason, the run ends.
    let s = scenario(tmp.path(), "loop.toml", &model, &[]);
    let out = tmp.path().join("run");
    let o = bakeoff_within(&["run", s.to_str().unwrap(), "--out", out.to_str().unwrap()], &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for c in summary["cells"].as_array().unwrap() {
        let reason = c["reason"].as_str().unwrap();
        assert!(c["status"] == "failed" && reason.contains("tokenizer_config.json: rendering chat_template"), "{c}");
    }
}

#[test]
fn no_cell_outlives_its_parent_killed_by_sigkill_or_sigterm() {
    for (signal, name) in [(libc::SIGKILL, "SIGKILL"), (libc::SIGTERM, "SIGTERM")] {
        let tmp = tempfile::tempdir().unwrap();
        let (mut run, cell) = run_with_a_hanging_cell(tmp.path(), &tmp.path().join("run"));
        assert!(alive(cell));
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(run.id() as i32, signal);
        }
        let status = run.wait().unwrap();
        assert!(!status.success(), "{name}");
        // The kernel kills the cell at its parent's death (PR_SET_PDEATHSIG); tearing down a
        // process with a model mapped can take a loaded VM a while, so the wait is generous
        // and ends as soon as the cell is gone.
        wait_for(&format!("the cell {cell} gone after {name} of its parent"), Duration::from_secs(10), || !alive(cell));
    }
}

#[test]
fn a_run_folder_has_one_writer_and_a_second_is_refused_naming_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let (mut first, _) = run_with_a_hanging_cell(tmp.path(), &out);
    let s = tmp.path().join("hang.toml");
    let holder = format!("another bakeoff is writing this run folder (pid {})", first.id());
    for mode in ["--resume", "--out"] {
        let o =
            bakeoff_within(&["run", s.to_str().unwrap(), mode, out.to_str().unwrap()], &[], Duration::from_secs(60));
        assert_eq!(o.status.code(), Some(2), "{mode}: {}", stderr(&o));
        assert!(stderr(&o).contains(&holder), "{mode}: {}", stderr(&o));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // The holder is gone: the folder can be resumed, and every cell ends with its samples once.
    let o =
        bakeoff_within(&["run", s.to_str().unwrap(), "--resume", out.to_str().unwrap()], &[], Duration::from_secs(300));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for c in summary["cells"].as_array().unwrap() {
        assert_eq!((c["status"].as_str(), c["measured_samples"].as_u64()), (Some("completed"), Some(2)), "{c}");
    }
}

#[test]
fn absurd_sizes_are_input_errors_naming_the_field_and_the_range() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::smollm2().root;
    let cases = [
        (
            "max_new_tokens = 8",
            "max_new_tokens = 100000000000",
            "generation.max_new_tokens: 100000000000 is out of range",
        ),
        ("repetitions = 2", "repetitions = 100000000000", "measure.repetitions: 100000000000 is out of range"),
        ("compile_s = 60", "compile_s = 1e30", "timeouts.compile_s: must be a positive number of seconds up to"),
        ("generate_s = 10", "generate_s = inf", "timeouts.generate_s: must be a positive number of seconds up to"),
        (
            "[timeouts]",
            "[limits]\nmemory_mb = 18446744073709551615\n[timeouts]",
            "limits.memory_mb: 18446744073709551615",
        ),
        ("ignore_eos = true", "ignore_eos = true\nwindow = 0", "generation.window: 0 is out of range"),
    ];
    for (from, to, expected) in cases {
        let s = scenario(tmp.path(), "sizes.toml", &model, &[(from, to)]);
        let never = tmp.path().join("never");
        let o = bakeoff_within(
            &["run", s.to_str().unwrap(), "--out", never.to_str().unwrap()],
            &[],
            Duration::from_secs(60),
        );
        assert_eq!(o.status.code(), Some(2), "{to}: {}", stderr(&o));
        assert!(stderr(&o).contains("sizes.toml") && stderr(&o).contains(expected), "{to}: {}", stderr(&o));
        assert!(!tmp.path().join("never/results.jsonl").exists(), "no cell ran for {to}");
    }
    let m = model.to_str().unwrap();
    let o = bakeoff_within(
        &["generate", "--pipeline", "kvcache", "--model", m, "--prompt", "hi", "--max-new-tokens", "100000000000"],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--max-new-tokens: 100000000000 is out of range; allowed: 1 to 131072"),
        "{}",
        stderr(&o)
    );
    // A large but allowed bound generates what the prompt needs, allocating nothing by it.
    let o = bakeoff_within(
        &[
            "generate",
            "--pipeline",
            "kvcache",
            "--model",
            m,
            "--prompt",
            "hi",
            "--max-new-tokens",
            "131072",
            "--format",
            "json",
        ],
        &[],
        Duration::from_secs(120),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_cell_that_closes_its_output_and_lives_on_is_a_timeout_and_the_others_run() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "close.toml", &common::smollm2().root, &[]);
    let out = tmp.path().join("run");
    let o = bakeoff_within(
        &["run", s.to_str().unwrap(), "--out", out.to_str().unwrap()],
        &[("BAKEOFF_FAULT", "close_stdout@/balanced/")],
        Duration::from_secs(180),
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cells = summary["cells"].as_array().unwrap();
    let by = |p: &str| cells.iter().find(|c| c["cell"]["profile"] == p).unwrap();
    let closed = by("balanced");
    assert!(closed["reason"].as_str().unwrap().contains("closed its output and did not exit"), "{closed}");
    assert_eq!(by("reference")["status"], "completed");
}

#[test]
fn model_files_that_are_not_files_are_refused_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::linked_copy(&common::smollm2().root, tmp.path());
    // A tokenizer.json that is a link to a device that never ends.
    std::fs::remove_file(model.join("tokenizer.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", model.join("tokenizer.json")).unwrap();
    let m = model.to_str().unwrap();
    let o = bakeoff_within(
        &["generate", "--pipeline", "kvcache", "--model", m, "--prompt", "hi"],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tokenizer.json: not a regular file"), "{}", stderr(&o));
    // A tokenizer.json nested deeper than any parser should follow.
    std::fs::remove_file(model.join("tokenizer.json")).unwrap();
    std::fs::write(model.join("tokenizer.json"), format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))).unwrap();
    let o = bakeoff_within(
        &["generate", "--pipeline", "kvcache", "--model", m, "--prompt", "hi"],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tokenizer.json: not a usable tokenizer.json"), "{}", stderr(&o));
}

#[test]
fn an_ir_declaring_entities_is_never_expanded() {
    // A "billion laughs" DTD in the IR: bakeoff's own XML reader refuses a DTD, and OpenVINO's
    // reader does not expand declared entities, so the model runs as if it were not there.
    let tmp = tempfile::tempdir().unwrap();
    let model = common::linked_copy(&common::smollm2().root, tmp.path());
    let xml = model.join("openvino_model.xml");
    let text = std::fs::read_to_string(&xml).unwrap();
    std::fs::remove_file(&xml).unwrap();
    let mut dtd = String::from("<!DOCTYPE net [<!ENTITY e0 \"lol\">");
    for i in 1..10 {
        dtd += &format!("<!ENTITY e{i} \"{}\">", format!("&e{};", i - 1).repeat(10));
    }
    dtd += "]>";
    let header_end = text.find("?>").unwrap() + 2;
    let bomb =
        format!("{}\n{dtd}{}", &text[..header_end], text[header_end..].replacen("<net name=\"", "<net name=\"&e9;", 1));
    std::fs::write(&xml, bomb).unwrap();
    let m = model.to_str().unwrap();
    let o = bakeoff_within(&["lint", m], &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("openvino_model.xml: not valid XML: XML with DTD detected"));
    let args = ["generate", "--pipeline", "kvcache", "--model", m, "--prompt", "hi", "--max-new-tokens", "4"];
    let o = bakeoff_within(&args, &[], Duration::from_secs(120));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn golden_and_results_files_of_gigabytes_are_refused_without_reading_them() {
    let tmp = tempfile::tempdir().unwrap();
    // Sparse files: gigabytes long, no disk used.
    let golden = tmp.path().join("golden");
    std::fs::create_dir_all(&golden).unwrap();
    std::fs::File::create(golden.join("smollm2-135m.json")).unwrap().set_len(3 << 30).unwrap();
    let s = scenario(tmp.path(), "g.toml", &common::smollm2().root, &[]);
    std::fs::write(&s, format!("{}\n[golden]\ndir = \"{}\"\n", std::fs::read_to_string(&s).unwrap(), golden.display()))
        .unwrap();
    let o = bakeoff_within(&["golden", "check", s.to_str().unwrap()], &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("smollm2-135m.json: 3221225472 bytes, over the 512 MiB"), "{}", stderr(&o));

    // A run folder whose results.jsonl is gigabytes without a newline.
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(&s, run.join("scenario.toml")).unwrap();
    std::fs::write(run.join("fingerprint.json"), "{}").unwrap();
    std::fs::File::create(run.join("results.jsonl")).unwrap().set_len(3 << 30).unwrap();
    let r = run.to_str().unwrap();
    let o = bakeoff_within(&["compare", r, r], &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("results.jsonl: line 1 is longer than 64 MiB"), "{}", stderr(&o));
}

/// Start `bakeoff ab` on the fault scenario whose balanced cell hangs in its warm-up, and
/// wait until a side's cell process runs. Returns the A/B run and the scenario.
fn ab_with_a_hanging_cell(dir: &Path, out: &Path) -> (Child, PathBuf) {
    let s = scenario(dir, "ab-hang.toml", &common::smollm2().root, &[("generate_s = 10", "generate_s = 60")]);
    let log = dir.join("ab-hang.log");
    let ab = Command::new(env!("CARGO_BIN_EXE_bakeoff"))
        .args(["ab", s.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .env("BAKEOFF_FAULT", "hang_generate@/balanced/")
        .current_dir(common::repo())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Its own `bakeoff devices` children come and go first: wait for a cell's, which stays.
    let parent = ab.id();
    wait_for("an A/B cell's process started", Duration::from_secs(120), || {
        out.join("results.jsonl").exists() && !children(parent).is_empty()
    });
    (ab, s)
}

#[test]
fn a_live_ab_folder_has_one_writer_and_sigterm_of_its_parent_leaves_no_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ab");
    let (mut ab, s) = ab_with_a_hanging_cell(tmp.path(), &out);
    let holder = format!("another bakeoff is writing this run folder (pid {})", ab.id());
    let o = bakeoff_within(&["ab", "--resume", out.to_str().unwrap()], &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&holder), "{}", stderr(&o));
    let o = bakeoff_within(&["ab", s.to_str().unwrap(), "--out", out.to_str().unwrap()], &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&holder), "{}", stderr(&o));

    let cells = children(ab.id());
    assert!(!cells.is_empty());
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(ab.id() as i32, libc::SIGTERM);
    }
    assert!(!ab.wait().unwrap().success());
    for cell in cells {
        wait_for(&format!("the A/B cell {cell} gone after SIGTERM of its parent"), Duration::from_secs(10), || {
            !alive(cell)
        });
    }
}

#[test]
fn held_out_inputs_are_refused_naming_the_file_and_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let inline = "[[prompts.inline]]\nid = \"capital\"\nprompt = \"What is the capital of France?\"";
    let from_file = |name: &str, contents: &[u8]| {
        std::fs::write(tmp.path().join(format!("{name}.jsonl")), contents).unwrap();
        let prompts = format!("[prompts]\nfile = \"{name}.jsonl\"");
        scenario(tmp.path(), &format!("{name}.toml"), &common::smollm2().root, &[(inline, &prompts)])
    };
    let refused = |s: &Path, expected: &[&str]| {
        let never = tmp.path().join("never");
        let o = bakeoff_within(
            &["run", s.to_str().unwrap(), "--out", never.to_str().unwrap()],
            &[],
            Duration::from_secs(60),
        );
        assert_eq!(o.status.code(), Some(2), "{expected:?}: {}", stderr(&o));
        assert!(expected.iter().all(|e| stderr(&o).contains(e)), "{expected:?}: {}", stderr(&o));
        assert!(!never.join("results.jsonl").exists(), "no cell ran");
    };
    // A 10 MB prompt: refused with the limit, before anything runs.
    let big = format!("{{\"id\": \"big\", \"prompt\": \"{}\"}}\n", "word ".repeat(2 << 20));
    let s = from_file("big", big.as_bytes());
    refused(&s, &["big.toml", "prompt `big` has 10485760 bytes; allowed: up to 1048576"]);
    // Invalid UTF-8 in a prompts file: the file named.
    let s = from_file("latin1", b"{\"id\": \"caf\", \"prompt\": \"caf\xe9\"}\n");
    refused(&s, &["latin1.jsonl"]);

    // A chat template whose macro calls itself: stopped at minijinja's recursion limit.
    let model = common::linked_copy(&common::smollm2().root, tmp.path());
    let config = model.join("tokenizer_config.json");
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    json["chat_template"] = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}".into();
    std::fs::remove_file(&config).unwrap();
    std::fs::write(&config, json.to_string()).unwrap();
    let m = model.to_str().unwrap();
    let args = ["generate", "--pipeline", "kvcache", "--model", m, "--prompt", "hi", "--max-new-tokens", "2"];
    let o = bakeoff_within(&args, &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tokenizer_config.json") && stderr(&o).contains("recursion"), "{}", stderr(&o));

    // tokenizer.json a link to an unrelated file (JSON, not a tokenizer): lint fails on it.
    let model = common::linked_copy(&common::smollm2().root, &tmp.path().join("linked"));
    std::fs::remove_file(model.join("tokenizer.json")).unwrap();
    std::os::unix::fs::symlink(model.join("generation_config.json"), model.join("tokenizer.json")).unwrap();
    let o = bakeoff_within(&["lint", model.to_str().unwrap()], &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("tokenizer.json"), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn truncated_weights_fail_the_cells_keeping_every_record_and_a_torn_last_line_is_repaired_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::truncated_weights_copy(&common::smollm2().root, tmp.path());
    let s = scenario(tmp.path(), "truncated.toml", &model, &[]);
    let out = tmp.path().join("run");
    let o =
        bakeoff_within(&["run", s.to_str().unwrap(), "--out", out.to_str().unwrap()], &[], Duration::from_secs(120));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cells = summary["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "both cells recorded");
    for c in cells {
        let reason = c["reason"].as_str().unwrap();
        assert!(c["status"] == "failed" && reason.contains("Incorrect weights in bin file"), "{c}");
    }
    // A torn last line (a write cut short) is cut on resume, said, and every whole record kept.
    let results = out.join("results.jsonl");
    let whole = std::fs::read(&results).unwrap();
    std::fs::write(&results, [&whole[..], b"{\"kind\":\"sam"].concat()).unwrap();
    let o =
        bakeoff_within(&["run", s.to_str().unwrap(), "--resume", out.to_str().unwrap()], &[], Duration::from_secs(120));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("ignored a torn last line"), "{}", stderr(&o));
    let after = std::fs::read(&results).unwrap();
    assert_eq!(after[..whole.len()], whole[..], "the records before the torn line are kept byte for byte");
    assert!(!bakeoff::results::read_results(&results).unwrap().torn_tail);
}
