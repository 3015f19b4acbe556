//! The text layer against its references: chat templates rendered by bakeoff (minijinja)
//! equal openvino-genai's renderer byte for byte on both fixtures' own templates (written at
//! setup by tools/references/reference.py from tests/data/chat_cases.json), over single-turn,
//! multi-turn, system prompts and Qwen3's thinking switch.

mod common;

use bakeoff::model::ModelDir;
use bakeoff::text::chat::{ChatTemplate, Message, RenderOptions};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    id: String,
    messages: Vec<Message>,
    add_generation_prompt: Option<bool>,
    enable_thinking: Option<bool>,
    rendered: String,
}

#[derive(Deserialize)]
struct Rendered {
    renderer: String,
    cases: Vec<Case>,
}

fn check_templates(model: &ModelDir) -> usize {
    let path = model.root.join("reference/chat-templates.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", path.display()));
    let reference: Rendered = serde_json::from_str(&text).unwrap();
    assert!(reference.renderer.contains("openvino_genai"));
    let template = ChatTemplate::from_tokenizer_config(&model.tokenizer_config()).unwrap();
    for case in &reference.cases {
        let options = RenderOptions {
            add_generation_prompt: case.add_generation_prompt.unwrap_or(true),
            enable_thinking: case.enable_thinking,
        };
        let ours = template.render(&case.messages, options).unwrap();
        assert_eq!(ours, case.rendered, "{}: case `{}`", model.root.display(), case.id);
    }
    reference.cases.len()
}

#[test]
fn chat_templates_render_like_openvino_genai_on_both_fixtures() {
    let cases_file: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(common::repo().join("tests/data/chat_cases.json")).unwrap())
            .unwrap();
    for model in [common::smollm2(), common::qwen3()] {
        assert_eq!(check_templates(&model), cases_file.len(), "every case was rendered by the reference");
    }
}

#[test]
fn qwen3_thinking_switch_changes_the_generation_prompt() {
    // The cases above prove equality; this pins what the switch does, so a template that
    // ignored `enable_thinking` (both renderers alike) would not pass unnoticed.
    let template = ChatTemplate::from_tokenizer_config(&common::qwen3().tokenizer_config()).unwrap();
    let msgs = [Message::user("Is 17 prime?")];
    let render = |t| template.render(&msgs, RenderOptions { add_generation_prompt: true, enable_thinking: t }).unwrap();
    assert!(render(Some(false)).ends_with("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    assert!(render(Some(true)).ends_with("<|im_start|>assistant\n"));
    assert_eq!(render(None), render(Some(true)), "Qwen3 thinks by default");
}
