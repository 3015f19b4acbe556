//! Real `optimum-cli export openvino` folders of the SmolLM2 fixture (INT8, and the
//! NPU-recommended INT4 symmetric channel-wise), made by `make setup-export` with
//! optimum-intel in a venv of its own: `bakeoff prepare` turns each into a folder that
//! lints clean and on which both pipelines' greedy ids equal openvino-genai's on the export
//! itself (kvcache on NPU:host too for INT4), and the export runs kvcache with a chat prompt
//! (its `chat_template.jinja`) without prepare. Missing exports fail, naming the make target.

mod common;

use bakeoff::model::ModelDir;
use bakeoff::pipeline_kind::PipelineKind;
use bakeoff::pipelines::{GenerationConfig, NoObserver};
use bakeoff::runtime::Device;
use std::path::{Path, PathBuf};

/// The export of `format` (`int8`, `int4-sym`).
fn export(format: &str) -> PathBuf {
    let dir = common::repo().join("models/exports").join(format);
    assert!(dir.join("openvino_model.xml").exists(), "{} missing: run `make setup-export`", dir.display());
    dir
}

/// openvino-genai's transcripts on the export, on `device` (`cpu`, `npu-host`).
fn genai(format: &str, device: &str) -> common::Reference {
    let path = common::repo().join(format!("models/exports/{format}.genai-{device}.json"));
    common::reference_file(&path, "make setup-export")
}

/// `bakeoff prepare` of the export into `out`: clean, lint included, the source untouched.
fn prepare(src: &Path, out: &Path) -> ModelDir {
    let listing = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d).unwrap().flatten().map(|e| e.file_name()).collect();
        v.sort();
        v
    };
    let before = listing(src);
    let o = common::bakeoff(&["prepare", src.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("error ") && !stdout.contains("warning "), "lint clean: {stdout}");
    assert_eq!(listing(src), before, "nothing written into the export");
    ModelDir::open(out).unwrap()
}

/// The first `n` ids of greedy generation of `kind` on `device` for the reference's first
/// two prompts equal GenAI's.
fn assert_equal_ids(
    model: &ModelDir,
    kind: PipelineKind,
    device: Device,
    profile: &str,
    reference: &common::Reference,
) {
    if device == Device::NpuHost {
        common::assert_npu_settings_agree(reference, model, kind, profile);
    }
    let rt = common::runtime();
    let mut loaded = common::pipeline(&rt, model, kind, device, profile);
    let n = reference.max_new_tokens;
    for p in reference.prompts.iter().take(2) {
        let config = GenerationConfig { max_new_tokens: n, eos_ids: model.eos_ids(), ignore_eos: true };
        let t = loaded.pipeline.generate(&p.prompt_ids, &config, &mut NoObserver).unwrap();
        assert_eq!(t.output_ids, p.ignore_eos_ids[..n], "{kind} on {device} {}: {}", p.id, model.root.display());
    }
}

#[test]
fn the_int8_export_prepared_equals_openvino_genai_on_both_pipelines_and_runs_as_is() {
    let tmp = tempfile::tempdir().unwrap();
    let src = export("int8");
    assert!(src.join("chat_template.jinja").exists(), "optimum writes the template beside the config");
    let model = prepare(&src, &tmp.path().join("prepared"));
    let reference = genai("int8", "cpu");
    for kind in [PipelineKind::Kvcache, PipelineKind::Static128] {
        assert_equal_ids(&model, kind, Device::Cpu, "reference", &reference);
    }
    // The export as optimum wrote it: kvcache with a chat prompt, rendered from its
    // chat_template.jinja, gives GenAI's ids (whose prompt ids GenAI rendered itself).
    let p = &reference.prompts[0];
    let n = reference.max_new_tokens.to_string();
    let args = [
        "generate",
        "--model",
        src.to_str().unwrap(),
        "--pipeline",
        "kvcache",
        "--prompt",
        &p.prompt,
        "--max-new-tokens",
        &n,
    ];
    let o = common::bakeoff(&[&args[..], &["--ignore-eos", "--format", "json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<i64> = g["output_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(ids, p.ignore_eos_ids[..reference.max_new_tokens], "{g}");
}

#[test]
fn the_int4_sym_export_prepared_equals_openvino_genai_on_cpu_and_npu_host() {
    let tmp = tempfile::tempdir().unwrap();
    let model = prepare(&export("int4-sym"), &tmp.path().join("prepared"));
    let reference = genai("int4-sym", "cpu");
    for kind in [PipelineKind::Kvcache, PipelineKind::Static128] {
        assert_equal_ids(&model, kind, Device::Cpu, "reference", &reference);
    }
    assert_equal_ids(&model, PipelineKind::Kvcache, Device::NpuHost, "conservative", &genai("int4-sym", "npu-host"));
}
