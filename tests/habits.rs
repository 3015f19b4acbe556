//! The command-line habits users bring from other tools: selecting cells at run time
//! (`--filter`, `--list`), `-q` / `-v`, colour on a terminal but never with `NO_COLOR` or in
//! a pipe, and shell completions.

mod common;

use common::{bakeoff, bakeoff_env};
use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The cell keys `run --list` prints (the second column of each line).
fn listed(o: &Output) -> Vec<String> {
    stdout(o).lines().map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string()).collect()
}

#[test]
fn list_prints_the_plan_and_filters_select_cells_by_glob() {
    let all = bakeoff(&["run", "scenarios/smoke.toml", "--list"]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let every = listed(&all);
    assert_eq!(every.len(), 18, "{}", stdout(&all));
    assert!(stdout(&all).contains("(skipped: NPU not present"), "the skip reason is shown: {}", stdout(&all));

    // Terms of one expression must all match; the case of a value does not matter.
    let o = bakeoff(&["run", "scenarios/smoke.toml", "--list", "--filter", "device=cpu,pipeline=kvcache"]);
    let expected: Vec<String> = every.iter().filter(|k| k.contains("/kvcache/CPU/")).cloned().collect();
    assert_eq!((listed(&o).len(), listed(&o)), (3, expected));

    // Alternatives and globs; two expressions select what either selects.
    let o = bakeoff(&[
        "run",
        "scenarios/smoke.toml",
        "--list",
        "--filter",
        "profile=bal*|cons*,device=NPU:host",
        "--filter",
        "pipeline=static128,device=CPU,profile=aggressive",
    ]);
    let got = listed(&o);
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(got.iter().all(|k| !k.contains("/aggressive/") || k.contains("static128/CPU")), "{got:?}");

    // --shard slices what the filter selected; the index printed is the full plan's.
    let o = bakeoff(&["run", "scenarios/smoke.toml", "--list", "--filter", "device=CPU", "--shard", "1/2"]);
    assert_eq!(listed(&o).len(), 3, "{}", stdout(&o));
}

#[test]
fn bad_filters_name_the_field_and_what_is_allowed() {
    let o = bakeoff(&["run", "scenarios/smoke.toml", "--list", "--filter", "devise=CPU"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("unknown field `devise`; allowed: model, pipeline, device, profile, cache"), "{err}");

    let o = bakeoff(&["run", "scenarios/smoke.toml", "--list", "--filter", "CPU"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`CPU` is not FIELD=GLOB"), "{}", stderr(&o));

    // A filter that selects nothing is an error, never an empty passing run.
    let o = bakeoff(&["run", "scenarios/smoke.toml", "--filter", "device=GPU"]);
    assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR));
    let err = stderr(&o);
    assert!(err.contains("selects none of the plan's cells") && err.contains("kvcache/CPU/aggressive"), "{err}");
}

#[test]
fn a_filtered_run_runs_only_its_cells_and_quiet_and_verbose_change_only_what_is_said() {
    common::smollm2();
    let tmp = tempfile::tempdir().unwrap();
    let edits = [(common::ALL_PROFILES, r#"profiles = ["balanced", "conservative", "reference"]"#)];
    let scenario = common::fault_scenario(tmp.path(), "s.toml", &edits, "");
    let scenario = scenario.to_str().unwrap();

    let out = tmp.path().join("verbose");
    let o = bakeoff(&["-v", "run", scenario, "--out", out.to_str().unwrap(), "--filter", "profile=bal*"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("[1/1] smollm2-135m/kvcache/CPU/balanced/cold: completed"), "{err}");
    assert!(err.contains("compile ") && err.contains("properties: ") && err.contains("INFERENCE_NUM_THREADS"), "{err}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cells = summary["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "only the selected cell is in the run: {cells:?}");
    assert_eq!(std::fs::read_to_string(out.join("filter.txt")).unwrap(), "profile=bal*\n");

    // -q: no progress, no notes; the result (summary path on stdout) and the outcome stay.
    let out = tmp.path().join("quiet");
    let bmf = tmp.path().join("bmf.json");
    let export = format!("bmf={}", bmf.display());
    let args = [
        "-q",
        "run",
        scenario,
        "--out",
        out.to_str().unwrap(),
        "--filter",
        "profile=conservative",
        "--export",
        &export,
    ];
    let o = bakeoff(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bmf: serde_json::Value = serde_json::from_slice(&std::fs::read(bmf).unwrap()).unwrap();
    assert!(bmf["smollm2-135m/kvcache/CPU/conservative/cold"]["decode-tokens-per-s"]["value"].is_number(), "{bmf}");
    let err = stderr(&o);
    assert!(!err.contains("[1/1]") && !err.contains("bakeoff run "), "{err}");
    assert!(stdout(&o).trim_end().ends_with("summary.md"), "{}", stdout(&o));

    // Default: the progress line, and no details.
    let out = tmp.path().join("normal");
    let o = bakeoff(&["run", scenario, "--out", out.to_str().unwrap(), "--filter", "profile=reference"]);
    let err = stderr(&o);
    assert!(err.contains("[1/1]") && !err.contains("properties: "), "{err}");

    let o = bakeoff(&["-q", "-v", "run", scenario, "--list"]);
    assert_eq!(o.status.code(), Some(2), "-q and -v together are refused: {}", stderr(&o));
}

#[test]
fn colour_only_where_asked_and_never_with_no_color() {
    // A plan with a skipped cell (no NPU here) prints a coloured status when colour is on.
    // Tests run in a pipe, so colour is off unless CLICOLOR_FORCE forces it; NO_COLOR wins.
    let tmp = tempfile::tempdir().unwrap();
    let scenario =
        common::fault_scenario(tmp.path(), "npu.toml", &[(r#"devices = ["CPU"]"#, r#"devices = ["NPU"]"#)], "");
    let run = |env: &[(&str, &str)], out: &str| {
        let out = tmp.path().join(out);
        let o = bakeoff_env(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()], env);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stderr(&o)
    };
    let escape = '\u{1b}';
    let piped = run(&[], "piped");
    assert!(piped.contains("skipped") && !piped.contains(escape), "no colour in a pipe: {piped:?}");
    let forced = run(&[("CLICOLOR_FORCE", "1")], "forced");
    assert!(forced.contains(&format!("{escape}[33mskipped")), "yellow when forced: {forced:?}");
    let no_color = run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], "no-color");
    assert!(no_color.contains("skipped") && !no_color.contains(escape), "NO_COLOR wins: {no_color:?}");
}

#[test]
fn completions_cover_the_subcommands_and_their_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = bakeoff(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        // Flags as each shell spells them (fish: `-l filter`, the others `--filter`).
        let flag = |name: &str| match shell {
            "fish" => format!("-l {name}"),
            _ => format!("--{name}"),
        };
        for word in ["run".to_string(), "compare".to_string(), flag("filter"), flag("list"), flag("quiet")] {
            assert!(script.contains(&word), "{shell} completion has {word}");
        }
    }
    let o = bakeoff(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("possible values: bash"), "{}", stderr(&o));
}

#[test]
fn a_run_inside_github_actions_writes_the_step_summary_and_annotates_a_failed_cell() {
    common::smollm2();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = common::fault_scenario(tmp.path(), "s.toml", &[], "");
    let summary = tmp.path().join("step-summary.md");
    let out = tmp.path().join("run");
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ("BAKEOFF_FAULT", "abort@/balanced/"),
    ];
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--filter",
        "profile=balanced|conservative",
    ];
    let o = bakeoff_env(&args, &env);
    assert_eq!(o.status.code(), Some(bakeoff::exit::INCOMPLETE), "{}", stderr(&o));
    let err = stderr(&o);
    let annotation = err
        .lines()
        .find(|l| l.starts_with("::error title=smollm2-135m/kvcache/CPU/balanced/cold::cell failed: "))
        .unwrap_or_else(|| panic!("an annotation for the failed cell: {err}"));
    assert!(annotation.contains("crashed (signal 6)"), "{annotation}");
    assert_eq!(err.matches("::error").count(), 1, "only the failed cell: {err}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert_eq!(std::fs::read_to_string(&summary).unwrap().trim_end(), md.trim_end(), "summary.md in the step summary");
}
