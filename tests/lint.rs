//! `bakeoff lint` on the real bake and on broken copies of it: a truncated .bin, a graph
//! that lost layers, a "static" IR with a dynamic input, a tokenizer
//! from another model, duplicated KV variable names.

mod common;

use std::path::Path;
use std::process::Command;

fn lint(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bakeoff")).arg("lint").arg(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

/// Replace `name` in the linked copy by a real file holding `contents`.
fn replace(dir: &Path, name: &str, contents: &[u8]) {
    let path = dir.join(name);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn edited(dir: &Path, name: &str, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let new = edit(text.clone());
    assert_ne!(new, text, "the edit of {name} must change it");
    replace(dir, name, new.as_bytes());
}

#[test]
fn the_baked_fixture_lints_clean() {
    let (code, text) = lint(&common::smollm2().root);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("60 KV variables [?,3,?,64], batch axis 0, sequence axis 2"), "{text}");
}

#[test]
fn truncated_bin_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::linked_copy(&common::smollm2().root, tmp.path());
    let bin = dir.join("openvino_model.bin");
    let size = std::fs::metadata(&bin).unwrap().len();
    std::fs::remove_file(&bin).unwrap();
    // Sparse: only the length matters to lint.
    std::fs::File::create(&bin).unwrap().set_len(size / 2).unwrap();
    let (code, text) = lint(&dir);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("openvino_model.bin: truncated: the graph reads constants up to byte"), "{text}");
}

#[test]
fn graph_missing_layers_is_caught() {
    // A truncated export: config.json's architecture needs far more weights than the graph has.
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::linked_copy(&common::smollm2().root, tmp.path());
    edited(&dir, "config.json", |t| t.replace("\"num_hidden_layers\": 30", "\"num_hidden_layers\": 300"));
    let (code, text) = lint(&dir);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("truncated graph"), "{text}");
}

#[test]
fn dynamic_input_in_static_ir_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::linked_copy(&common::smollm2().root, tmp.path());
    edited(&dir, "openvino_model_static128.xml", |t| t.replacen("shape=\"1,128\"", "shape=\"1,-1\"", 1));
    let (code, text) = lint(&dir);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("input `input_ids` has shape [1,?], expected the static [1,128]"), "{text}");
}

#[test]
fn tokenizer_of_another_model_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::linked_copy(&common::smollm2().root, tmp.path());
    let small = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,
        "pre_tokenizer":null,"post_processor":null,"decoder":null,
        "model":{"type":"WordLevel","vocab":{"a":0,"b":1,"[UNK]":2},"unk_token":"[UNK]"}}"#;
    replace(&dir, "tokenizer.json", small.as_bytes());
    let (code, text) = lint(&dir);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("vocabulary of 3 tokens does not match the model's logits width 49152"), "{text}");
}

#[test]
fn missing_tokenizer_and_duplicate_kv_names_are_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::linked_copy(&common::smollm2().root, tmp.path());
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    // Undo the bake's rename: the value variables take the key's name again, as GenAI wrote them.
    edited(&dir, "openvino_model.xml", |t| t.replace("valuepresent.0.value", "keypresent.0.key"));
    let (code, text) = lint(&dir);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("tokenizer.json: missing"), "{text}");
    assert!(text.contains("duplicate KV variable id `past_key_values.0.keypresent.0.key`"), "{text}");
}
