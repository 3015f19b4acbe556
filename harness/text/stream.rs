//! The streaming special-token filter: turns generated ids,
//! as they arrive and in chunks of any size, into what a user sees: visible text, reasoning
//! text between `<think>` and `</think>` (shown, hidden or split out), tool-call blocks
//! between `<tool_call>` and `</tool_call>` as their own events, and dropped control tokens.
//!
//! It is driven by the tokenizer's own special-token table ([`SpecialTokens`]): every added
//! token is a control token (never visible) unless it is one of the four block markers, or
//! an added token the tokenizer does not mark special and that is not shaped like a tag
//! (plain words some tokenizers add). Detokenization is incremental and never emits a
//! partial UTF-8 character: text is decoded with a little context from before it and held
//! back while it ends in an incomplete sequence (the TGI / vLLM offset technique).

use super::tokenizer::{Tokenizer, TokenizerError};
use serde::Serialize;
use std::collections::HashMap;

/// What an added token means to the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `<think>`: reasoning starts.
    ReasoningOpen,
    /// `</think>`: reasoning ends.
    ReasoningClose,
    /// `<tool_call>`: a tool-call block starts.
    ToolCallOpen,
    /// `</tool_call>`: it ends.
    ToolCallClose,
    /// Anything else the tokenizer adds as a tag: `<|im_end|>`, `<|endoftext|>`, vision and
    /// FIM tokens. Never visible.
    Control,
}

/// The block markers, by the text they have in every tokenizer that uses them.
const MARKERS: [(&str, Role); 4] = [
    ("<think>", Role::ReasoningOpen),
    ("</think>", Role::ReasoningClose),
    ("<tool_call>", Role::ToolCallOpen),
    ("</tool_call>", Role::ToolCallClose),
];

/// A tokenizer's special-token table: the role of every added token.
#[derive(Debug, Clone, Default)]
pub struct SpecialTokens {
    roles: HashMap<u32, (Role, String)>,
}

impl SpecialTokens {
    /// The table of `tokenizer`'s added tokens.
    pub fn from_tokenizer(tokenizer: &Tokenizer) -> SpecialTokens {
        SpecialTokens::from_added(tokenizer.added_tokens())
    }

    /// The table of (id, content, special) entries.
    pub fn from_added(added: impl IntoIterator<Item = (u32, String, bool)>) -> SpecialTokens {
        let mut roles = HashMap::new();
        for (id, content, special) in added {
            let role = MARKERS.iter().find(|(text, _)| *text == content).map(|(_, role)| *role);
            let tag_shaped = content.starts_with('<') && content.ends_with('>') && content.len() > 2;
            match role {
                Some(role) => roles.insert(id, (role, content)),
                None if special || tag_shaped => roles.insert(id, (Role::Control, content)),
                // A plain word the tokenizer adds (not special, not a tag): ordinary text.
                None => None,
            };
        }
        SpecialTokens { roles }
    }

    /// The role of `id`, if it is a special token.
    pub fn role(&self, id: u32) -> Option<Role> {
        self.roles.get(&id).map(|(r, _)| *r)
    }

    /// The text of a special token.
    pub fn content(&self, id: u32) -> Option<&str> {
        self.roles.get(&id).map(|(_, c)| c.as_str())
    }

    /// Every special token: (id, role, content), sorted by id.
    pub fn entries(&self) -> Vec<(u32, Role, &str)> {
        let mut v: Vec<_> = self.roles.iter().map(|(id, (r, c))| (*id, *r, c.as_str())).collect();
        v.sort_by_key(|e| e.0);
        v
    }
}

/// What happens to reasoning text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningPolicy {
    /// Reasoning is part of the visible text (the markers are not).
    Show,
    /// Reasoning is dropped.
    Hide,
    /// Reasoning comes out as its own events.
    #[default]
    Split,
}

/// One thing the filter lets out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", content = "value", rename_all = "snake_case")]
pub enum Event {
    /// Text the user sees.
    Text(String),
    /// Reasoning text (policy `split`).
    Reasoning(String),
    /// A whole tool-call block's text, when it closes (or, unclosed, when the stream ends).
    ToolCall {
        /// The text between the markers.
        text: String,
        /// The closing marker came.
        complete: bool,
    },
    /// A control token, dropped from the text.
    Control {
        /// Its id.
        id: u32,
        /// Its text.
        token: String,
    },
}

/// Where in the stream the filter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Answer,
    Reasoning,
    ToolCall,
}

/// Incremental decoding of one run of ordinary ids.
#[derive(Debug, Default)]
struct Run {
    ids: Vec<u32>,
    /// Start of the context decoded with the new ids (so merges and leading spaces decode
    /// as they would in the whole text).
    prefix: usize,
    /// End of what has been emitted.
    read: usize,
}

impl Run {
    /// Text that became complete with `new` ids, if any.
    fn push(&mut self, tok: &Tokenizer, new: &[u32]) -> Result<Option<String>, TokenizerError> {
        self.ids.extend_from_slice(new);
        let before = tok.decode_raw(&self.ids[self.prefix..self.read])?;
        let now = tok.decode_raw(&self.ids[self.prefix..])?;
        // Held back: nothing new yet, or a multi-byte character still incomplete.
        if now.len() <= before.len() || now.ends_with('\u{FFFD}') {
            return Ok(None);
        }
        let Some(fresh) = now.strip_prefix(before.as_str()) else { return Ok(None) };
        let fresh = fresh.to_string();
        self.prefix = self.read;
        self.read = self.ids.len();
        Ok(Some(fresh))
    }

    /// Whatever is held back, as the whole run decodes it (the run is over).
    fn finish(&mut self, tok: &Tokenizer) -> Result<String, TokenizerError> {
        let before = tok.decode_raw(&self.ids[self.prefix..self.read])?;
        let now = tok.decode_raw(&self.ids[self.prefix..])?;
        let rest = match now.strip_prefix(before.as_str()) {
            Some(rest) => rest.to_string(),
            // Context that decodes differently once the run is complete: decode what was
            // never emitted on its own.
            None => tok.decode_raw(&self.ids[self.read..])?,
        };
        *self = Run::default();
        Ok(rest)
    }
}

/// The streaming filter for one generation.
pub struct StreamFilter<'a> {
    tokenizer: &'a Tokenizer,
    specials: &'a SpecialTokens,
    policy: ReasoningPolicy,
    block: Block,
    run: Run,
    tool_call: String,
}

impl<'a> StreamFilter<'a> {
    /// A filter at the start of a generation. `in_reasoning`: the prompt already opened a
    /// `<think>` block (templates that put it in the generation prompt).
    pub fn new(
        tokenizer: &'a Tokenizer,
        specials: &'a SpecialTokens,
        policy: ReasoningPolicy,
        in_reasoning: bool,
    ) -> StreamFilter<'a> {
        let block = if in_reasoning { Block::Reasoning } else { Block::Answer };
        StreamFilter { tokenizer, specials, policy, block, run: Run::default(), tool_call: String::new() }
    }

    /// Feed the next ids (any number); returns the events they complete.
    pub fn push(&mut self, ids: &[i64]) -> Result<Vec<Event>, TokenizerError> {
        let mut events = Vec::new();
        let mut ordinary: Vec<u32> = Vec::new();
        for &id in ids {
            let id = id as u32;
            match self.specials.role(id) {
                None => ordinary.push(id),
                Some(role) => {
                    self.decode(&ordinary, &mut events)?;
                    ordinary.clear();
                    self.end_run(&mut events)?;
                    self.special(id, role, &mut events);
                }
            }
        }
        self.decode(&ordinary, &mut events)?;
        Ok(events)
    }

    /// The stream ended: flush held-back text and an unclosed tool call.
    pub fn finish(mut self) -> Result<Vec<Event>, TokenizerError> {
        let mut events = Vec::new();
        self.end_run(&mut events)?;
        if self.block == Block::ToolCall {
            events.push(Event::ToolCall { text: std::mem::take(&mut self.tool_call), complete: false });
        }
        Ok(events)
    }

    fn decode(&mut self, ids: &[u32], events: &mut Vec<Event>) -> Result<(), TokenizerError> {
        if ids.is_empty() {
            return Ok(());
        }
        if let Some(text) = self.run.push(self.tokenizer, ids)? {
            self.text(text, events);
        }
        Ok(())
    }

    fn end_run(&mut self, events: &mut Vec<Event>) -> Result<(), TokenizerError> {
        let rest = self.run.finish(self.tokenizer)?;
        self.text(rest, events);
        Ok(())
    }

    /// Route text of the current block.
    fn text(&mut self, text: String, events: &mut Vec<Event>) {
        if text.is_empty() {
            return;
        }
        match (self.block, self.policy) {
            (Block::Answer, _) | (Block::Reasoning, ReasoningPolicy::Show) => events.push(Event::Text(text)),
            (Block::Reasoning, ReasoningPolicy::Split) => events.push(Event::Reasoning(text)),
            (Block::Reasoning, ReasoningPolicy::Hide) => {}
            (Block::ToolCall, _) => self.tool_call.push_str(&text),
        }
    }

    /// A special token: a marker moves between blocks; anything else (or a marker that
    /// makes no sense where it stands) is a dropped control token.
    fn special(&mut self, id: u32, role: Role, events: &mut Vec<Event>) {
        self.block = match (self.block, role) {
            (Block::Answer, Role::ReasoningOpen) => Block::Reasoning,
            (Block::Reasoning, Role::ReasoningClose) => Block::Answer,
            (Block::Answer, Role::ToolCallOpen) => Block::ToolCall,
            (Block::ToolCall, Role::ToolCallClose) => {
                events.push(Event::ToolCall { text: std::mem::take(&mut self.tool_call), complete: true });
                Block::Answer
            }
            (block, _) => {
                let token = self.specials.content(id).unwrap_or_default().to_string();
                events.push(Event::Control { id, token });
                block
            }
        };
    }
}

/// Whether generation starts inside a reasoning block: the prompt opened `<think>` and did
/// not close it (templates that put the opening marker in the generation prompt).
pub fn starts_in_reasoning(specials: &SpecialTokens, prompt_ids: &[i64]) -> bool {
    let last_marker = prompt_ids
        .iter()
        .rev()
        .filter_map(|&id| specials.role(id as u32))
        .find(|r| matches!(r, Role::ReasoningOpen | Role::ReasoningClose));
    last_marker == Some(Role::ReasoningOpen)
}

/// Everything a generation showed, gathered: what `generate` prints and records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// Visible text.
    pub text: String,
    /// Reasoning text (policy `split`).
    pub reasoning: String,
    /// Tool-call blocks.
    pub tool_calls: Vec<String>,
    /// Control tokens dropped.
    pub dropped: Vec<String>,
}

impl Shown {
    /// Add events.
    pub fn extend(&mut self, events: &[Event]) {
        for e in events {
            match e {
                Event::Text(t) => self.text.push_str(t),
                Event::Reasoning(t) => self.reasoning.push_str(t),
                Event::ToolCall { text, .. } => self.tool_calls.push(text.clone()),
                Event::Control { token, .. } => self.dropped.push(token.clone()),
            }
        }
    }
}
