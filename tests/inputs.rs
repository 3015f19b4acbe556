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
    let model = common::linked_copy(&common::smollm2().root, tmp.path());
    let bin = model.join("openvino_model.bin");
    let full = std::fs::read(std::fs::canonicalize(&bin).unwrap()).unwrap();
    std::fs::remove_file(&bin).unwrap();
    std::fs::write(&bin, &full[..full.len() / 100]).unwrap();
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
