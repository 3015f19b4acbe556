//! `bakeoff prepare` on a folder laid out as optimum-intel writes one (the stateful IR with
//! its full lm_head, the chat template in chat_template.jinja and none in
//! tokenizer_config.json): the prepared folder lints clean and both pipelines' greedy ids on
//! it equal openvino-genai's (kvcache on NPU:host too); what it cannot prepare is refused
//! naming the file; and the source works for kvcache without prepare.

mod common;

use bakeoff::model::ModelDir;
use bakeoff::pipeline_kind::PipelineKind;
use bakeoff::pipelines::{GenerationConfig, NoObserver};
use bakeoff::runtime::Device;
use std::path::Path;

/// The venv's Python (make setup's).
fn python() -> std::path::PathBuf {
    common::repo().join(".venv/bin/python")
}

/// An optimum-intel style folder at `dir` from the SmolLM2 fixture: its stateful IR with the
/// lm_head over every position again (the bake's slice bypassed: the graph as converted),
/// tokenizer files, the chat template moved to chat_template.jinja.
fn optimum_layout(dir: &Path) {
    let m = common::smollm2().root;
    std::fs::create_dir_all(dir).unwrap();
    let unslice = r#"
import sys, openvino as ov
m = ov.Core().read_model(sys.argv[1])
res = next(o for o in m.outputs if "logits" in o.get_names()).get_node()
node = res.input_value(0).get_node()
while node.get_type_name() != "MatMul":
    node = node.input_value(0).get_node()
port = next(i for i in node.inputs() if i.get_partial_shape().rank.get_length() == 3)
port.replace_source_output(port.get_source_output().get_node().input_value(0))
m.validate_nodes_and_infer_types()
ov.save_model(m, sys.argv[2], compress_to_fp16=False)
"#;
    let o = std::process::Command::new(python())
        .args([
            "-c",
            unslice,
            m.join("openvino_model.xml").to_str().unwrap(),
            dir.join("openvino_model.xml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["tokenizer.json", "generation_config.json", "config.json"] {
        std::fs::copy(m.join(f), dir.join(f)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("tokenizer_config.json")).unwrap()).unwrap();
    let template = config.as_object_mut().unwrap().remove("chat_template").unwrap();
    std::fs::write(dir.join("tokenizer_config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("chat_template.jinja"), template.as_str().unwrap()).unwrap();
}

fn sha(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

#[test]
fn a_prepared_optimum_layout_lints_clean_and_both_pipelines_equal_openvino_genai() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("export");
    optimum_layout(&src);
    let before = sha(&src.join("openvino_model.xml"));
    let out = tmp.path().join("prepared");
    let o = common::bakeoff(&["prepare", src.to_str().unwrap(), "--out", out.to_str().unwrap(), "--keep-full-lm-head"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("error "), "lint clean: {stdout}");
    assert_eq!(sha(&src.join("openvino_model.xml")), before, "the source is untouched");

    // bake.json: where it came from, what was done, every output's sha256.
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("bake.json")).unwrap()).unwrap();
    let steps = manifest["steps"].as_array().unwrap();
    assert!(
        steps.iter().any(|s| s["step"] == "slice_lm_head" && s["matmul"].is_string()),
        "the lm_head was sliced: {steps:?}"
    );
    for (name, digest) in manifest["outputs"].as_object().unwrap() {
        let got: String = sha(&out.join(name)).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(digest.as_str().unwrap(), got, "{name}");
    }
    assert!(out.join("chat_template.jinja").exists() && out.join("openvino_model_static128_full.xml").exists());

    // Greedy ids on the prepared folder equal GenAI's (its references on the same weights).
    let model = ModelDir::open(&out).unwrap();
    let rt = common::runtime();
    let reference = common::reference(&common::smollm2(), "genai-cpu.json");
    for kind in [PipelineKind::Kvcache, PipelineKind::Static128] {
        let mut loaded = common::pipeline(&rt, &model, kind, Device::Cpu, "reference");
        for p in reference.prompts.iter().take(2) {
            let config = GenerationConfig { max_new_tokens: 16, eos_ids: model.eos_ids(), ignore_eos: true };
            let t = loaded.pipeline.generate(&p.prompt_ids, &config, &mut NoObserver).unwrap();
            assert_eq!(t.output_ids, p.ignore_eos_ids[..16], "{kind} {}", p.id);
        }
    }
    let npu = common::reference(&common::smollm2(), "genai-npu-host.json");
    common::assert_npu_settings_agree(&npu, &model, PipelineKind::Kvcache, "conservative");
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::NpuHost, "conservative");
    let p = &npu.prompts[0];
    let config = GenerationConfig { max_new_tokens: 16, eos_ids: model.eos_ids(), ignore_eos: true };
    let t = loaded.pipeline.generate(&p.prompt_ids, &config, &mut NoObserver).unwrap();
    assert_eq!(t.output_ids, p.ignore_eos_ids[..16], "kvcache on NPU:host {}", p.id);

    // The export itself runs kvcache with a chat prompt (chat_template.jinja), no prepare.
    let o = common::bakeoff(&[
        "generate",
        "--model",
        src.to_str().unwrap(),
        "--pipeline",
        "kvcache",
        "--prompt",
        &reference.prompts[0].prompt,
        "--max-new-tokens",
        "16",
        "--ignore-eos",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<i64> = g["output_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(ids, reference.prompts[0].ignore_eos_ids[..16]);
}

#[test]
fn what_prepare_cannot_handle_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let m = common::smollm2().root;
    let case = |name: &str, setup: &dyn Fn(&Path), expected: &str| {
        let src = tmp.path().join(name);
        std::fs::create_dir_all(&src).unwrap();
        for f in [
            "openvino_model.xml",
            "openvino_model.bin",
            "tokenizer.json",
            "tokenizer_config.json",
            "generation_config.json",
        ] {
            std::fs::copy(m.join(f), src.join(f)).unwrap();
        }
        setup(&src);
        let out = tmp.path().join(format!("{name}-out"));
        let o = common::bakeoff(&["prepare", src.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(!out.exists(), "{name}: nothing written");
    };
    case(
        "stateless",
        &|s| {
            std::fs::copy(m.join("openvino_model_static128.xml"), s.join("openvino_model.xml")).unwrap();
            std::fs::copy(m.join("openvino_model_static128.bin"), s.join("openvino_model.bin")).unwrap();
        },
        "a stateless IR; export with --task text-generation-with-past",
    );
    case(
        "vlm",
        &|s| std::fs::write(s.join("openvino_vision_embeddings_model.xml"), "<net/>").unwrap(),
        "openvino_vision_embeddings_model.xml: a vision-language model's part",
    );
    case("no tokenizer", &|s| std::fs::remove_file(s.join("tokenizer.json")).unwrap(), "tokenizer.json: missing");
    case(
        "no ir",
        &|s| std::fs::remove_file(s.join("openvino_model.xml")).unwrap(),
        "openvino_model.xml: missing; prepare takes",
    );
}
