//! Bad input gets a clear error: the exit code is the input error's, the message names the
//! file, field or key and what is wrong, and nothing is half-written. (More of the
//! catalogue lives beside the features: scenario errors in run.rs, profiles and models in
//! cli.rs, goldens in golden.rs, prompt limits in cli.rs and npu_host.rs.)

mod common;

use bakeoff::exit::INPUT_ERROR;
use std::path::Path;

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn generate(model: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["generate", "--model", model.to_str().unwrap(), "--pipeline", "kvcache", "--prompt", "hi"];
    args.extend(["--max-new-tokens", "2"]);
    args.extend(extra);
    common::bakeoff(&args)
}

#[test]
fn a_truncated_bin_is_an_input_error_naming_the_ir() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::truncated_weights_copy(&common::smollm2().root, tmp.path());
    let o = generate(&model, &[]);
    assert_eq!(o.status.code(), Some(INPUT_ERROR), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("openvino_model.xml") && e.contains("Incorrect weights in bin file"), "{e}");
    assert!(e.contains("bakeoff lint"), "says what to do: {e}");
}

#[test]
fn a_missing_tokenizer_json_is_an_input_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::linked_copy(&common::smollm2().root, tmp.path());
    std::fs::remove_file(model.join("tokenizer.json")).unwrap();
    let o = generate(&model, &[]);
    assert_eq!(o.status.code(), Some(INPUT_ERROR));
    assert!(err(&o).contains("tokenizer.json: cannot read: No such file or directory"), "{}", err(&o));
}

#[test]
fn profile_values_of_the_wrong_type_and_invented_keys_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::smollm2().root;
    for (toml, expected) in [
        (
            "[reference.CPU.all]\nINFERENCE_NUM_THREADS = \"many\"\n",
            "profile `reference` [CPU.all]: INFERENCE_NUM_THREADS must be a non-negative integer, got \"many\"",
        ),
        ("[reference.NPU.kvcache]\nNPU_LOW_MEMORY_MODE = \"YES\"\n", "NPU_LOW_MEMORY_MODE"),
    ] {
        let file = tmp.path().join("profiles.toml");
        std::fs::write(&file, toml).unwrap();
        let o = generate(&model, &["--profiles-file", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(INPUT_ERROR), "{}", err(&o));
        assert!(err(&o).contains("profiles.toml") && err(&o).contains(expected), "{}", err(&o));
    }
}

#[test]
fn an_output_folder_that_cannot_be_made_is_an_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out = file.join("run");
    let o = common::bakeoff(&["run", "scenarios/golden.toml", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(INPUT_ERROR), "{}", err(&o));
    assert!(err(&o).contains(&format!("output folder {}", out.display())), "{}", err(&o));
}

#[test]
fn comparing_runs_of_different_scenarios_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for name in ["alpha", "beta"] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("scenario.toml"),
            format!(
                "name = \"{name}\"\n[[models]]\npath = \"m\"\n[prompts]\ninline = [{{ id = \"a\", prompt = \"b\" }}]\n\
             [matrix]\npipelines = [\"kvcache\"]\ndevices = [\"CPU\"]\nprofiles = [\"balanced\"]\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("fingerprint.json"), "{}").unwrap();
        std::fs::write(dir.join("results.jsonl"), "").unwrap();
        dirs.push(dir);
    }
    let o = common::bakeoff(&["compare", dirs[0].to_str().unwrap(), dirs[1].to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(INPUT_ERROR), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("scenario `beta` is not the baseline's `alpha`") && e.contains("scenario.toml"), "{e}");
    assert!(!dirs[1].join("compare.md").exists(), "nothing written");
}

#[test]
fn token_ids_outside_the_vocabulary_are_refused_naming_the_id_its_position_and_the_size() {
    let model = common::smollm2().root;
    for (ids, id, position) in [("1,2,99999999", "99999999", 2), ("1,-5", "-5", 1), ("49152", "49152", 0)] {
        let args = ["generate", "--model", model.to_str().unwrap(), "--pipeline", "kvcache"];
        let o = common::bakeoff(&[&args[..], &["--prompt-ids", ids, "--max-new-tokens", "2"]].concat());
        assert_eq!(o.status.code(), Some(INPUT_ERROR), "{ids}: {}", err(&o));
        let expected = format!(
            "--prompt-ids: token id {id} at position {position} is outside the vocabulary: allowed 0 to 49151 \
             (49152 ids"
        );
        assert!(err(&o).contains(&expected), "{ids}: {}", err(&o));
    }
    // The last id of the table is a token like any other.
    let args = ["generate", "--model", model.to_str().unwrap(), "--pipeline", "kvcache", "--prompt-ids", "1,49151"];
    let o = common::bakeoff(&[&args[..], &["--max-new-tokens", "2"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

#[test]
fn a_cell_spec_with_an_id_outside_the_vocabulary_fails_as_input_before_compiling() {
    use bakeoff::executor::{CellPrompt, CellSpec};
    use std::io::Write;
    // What a driver speaking the cell protocol sends: a spec whose second prompt has an id
    // past the 49,152-row table.
    let model = common::smollm2().root;
    let key = bakeoff::plan::CellKey {
        model: "smollm2-135m".into(),
        pipeline: bakeoff::pipeline_kind::PipelineKind::Kvcache,
        device: bakeoff::runtime::Device::Cpu,
        profile: "reference".into(),
        cache: Default::default(),
    };
    let prompts = vec![
        CellPrompt { id: "fine".into(), ids: vec![1, 2], conversation: None },
        CellPrompt { id: "past".into(), ids: vec![1, 99_999_999], conversation: None },
    ];
    let spec = CellSpec {
        max_new_tokens: 2,
        eos_ids: vec![2],
        measure: bakeoff::scenario::Measure { warmup: 0, repetitions: 1 },
        ..common::cell_spec(key, model.clone(), prompts)
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bakeoff"))
        .arg("cell")
        .current_dir(common::repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = serde_json::to_string(&spec).unwrap() + "\n";
    child.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let events: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 1, "nothing compiled or generated: {events:?}");
    let failed = &events[0];
    assert_eq!((&failed["event"], &failed["class"]), (&"failed".into(), &"input_error".into()), "{events:?}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("prompt `past`: token id 99999999 at position 1 is outside the vocabulary"), "{message}");
}
