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

#[test]
fn a_chat_template_in_chat_template_jinja_renders_like_the_config_one() {
    // The layout current transformers and optimum-intel write: the template in
    // chat_template.jinja and none in tokenizer_config.json. Same renders as the references.
    for model in [common::smollm2(), common::qwen3()] {
        let tmp = tempfile::tempdir().unwrap();
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(model.tokenizer_config()).unwrap()).unwrap();
        let source = config.as_object_mut().unwrap().remove("chat_template").unwrap();
        std::fs::write(tmp.path().join("tokenizer_config.json"), config.to_string()).unwrap();
        std::fs::write(tmp.path().join("chat_template.jinja"), source.as_str().unwrap()).unwrap();
        for f in ["tokenizer.json", "generation_config.json"] {
            std::fs::copy(model.root.join(f), tmp.path().join(f)).unwrap();
        }
        std::fs::create_dir(tmp.path().join("reference")).unwrap();
        std::fs::copy(
            model.root.join("reference/chat-templates.json"),
            tmp.path().join("reference/chat-templates.json"),
        )
        .unwrap();
        let moved = ModelDir::open(tmp.path()).unwrap();
        assert!(check_templates(&moved) > 0);
        // A prompt of a scenario goes through it too (the text layer's path).
        let mut text = bakeoff::text::TextLayer::open(&moved).unwrap();
        let input = bakeoff::text::PromptInput::Chat { messages: vec![Message::user("hi")], enable_thinking: None };
        assert!(text.prepare(&input).unwrap().rendered.unwrap().contains("hi"));

        // Neither: the error names both places.
        std::fs::remove_file(tmp.path().join("chat_template.jinja")).unwrap();
        let e = ChatTemplate::from_tokenizer_config(&moved.tokenizer_config()).unwrap_err().to_string();
        assert!(
            e.contains("tokenizer_config.json") && e.contains("no chat_template") && e.contains("chat_template.jinja"),
            "{e}"
        );
    }
}
