//! The text layer: tokenizer, chat template, and turning what a user
//! asked for into prompt ids.

pub mod chat;
pub mod stream;
pub mod tokenizer;

use crate::model::ModelDir;
use chat::{ChatTemplate, Message, RenderOptions};
use tokenizer::Tokenizer;

/// What a prompt is given as.
#[derive(Debug, Clone)]
pub enum PromptInput {
    /// Messages rendered through the model's own chat template.
    Chat {
        /// The conversation so far.
        messages: Vec<Message>,
        /// Qwen3's thinking switch (None: the template's default).
        enable_thinking: Option<bool>,
    },
    /// Text sent as it is (no template).
    Raw(String),
    /// Token ids sent as they are.
    Ids(Vec<i64>),
}

/// A prompt ready for a pipeline.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PreparedPrompt {
    /// The text the tokenizer saw (None when ids were given).
    pub rendered: Option<String>,
    /// The prompt's token ids.
    pub ids: Vec<i64>,
}

/// Errors of the text layer.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// Tokenizer problem.
    #[error(transparent)]
    Tokenizer(#[from] tokenizer::TokenizerError),
    /// Chat template problem.
    #[error(transparent)]
    Chat(#[from] chat::ChatError),
}

/// A model's tokenizer and chat template.
pub struct TextLayer {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    template: Option<ChatTemplate>,
    config_path: std::path::PathBuf,
}

impl TextLayer {
    /// Load the tokenizer (required) and the chat template (loaded lazily, needed only for
    /// chat prompts) of a model folder.
    pub fn open(model: &ModelDir) -> Result<TextLayer, TextError> {
        Ok(TextLayer {
            tokenizer: Tokenizer::from_file(&model.tokenizer_json())?,
            template: None,
            config_path: model.tokenizer_config(),
        })
    }

    /// The chat template, loaded on first use (raw and id prompts never need it).
    fn template(&mut self) -> Result<&ChatTemplate, TextError> {
        if self.template.is_none() {
            self.template = Some(ChatTemplate::from_tokenizer_config(&self.config_path)?);
        }
        Ok(self.template.as_ref().expect("loaded just above"))
    }

    /// Render and tokenize a prompt.
    pub fn prepare(&mut self, input: &PromptInput) -> Result<PreparedPrompt, TextError> {
        match input {
            PromptInput::Ids(ids) => Ok(PreparedPrompt { rendered: None, ids: ids.clone() }),
            PromptInput::Raw(text) => {
                Ok(PreparedPrompt { rendered: Some(text.clone()), ids: self.tokenizer.encode(text)? })
            }
            PromptInput::Chat { messages, enable_thinking } => {
                let options = RenderOptions { add_generation_prompt: true, enable_thinking: *enable_thinking };
                let text = self.template()?.render(messages, options)?;
                let ids = self.tokenizer.encode(&text)?;
                Ok(PreparedPrompt { rendered: Some(text), ids })
            }
        }
    }
}

/// A conversation as a chat application holds it: the messages so far, each new user turn
/// rendered with the whole history through the model's chat template, and each answer
/// added back as the text it decodes to (special tokens skipped), as openvino-genai's chat
/// mode keeps its history.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The messages so far (an optional system message, then user and assistant turns).
    pub messages: Vec<Message>,
    /// Qwen3's thinking switch (None: the template's default).
    pub enable_thinking: Option<bool>,
}

impl Conversation {
    /// A conversation that starts with `system`, if any.
    pub fn new(system: Option<&str>, enable_thinking: Option<bool>) -> Conversation {
        let messages = system.map(|s| vec![Message { role: "system".into(), content: s.into() }]).unwrap_or_default();
        Conversation { messages, enable_thinking }
    }

    /// Add the user's next turn; the whole history rendered and tokenized, ready to
    /// generate the answer from.
    pub fn ask(&mut self, text: &mut TextLayer, user: &str) -> Result<PreparedPrompt, TextError> {
        self.messages.push(Message::user(user));
        text.prepare(&PromptInput::Chat { messages: self.messages.clone(), enable_thinking: self.enable_thinking })
    }

    /// Add the answer generated as `ids` (its eos included or not) to the history; returns
    /// its text.
    pub fn answer(&mut self, text: &TextLayer, ids: &[i64]) -> Result<String, TextError> {
        let content = text.tokenizer.decode(ids, true)?;
        self.messages.push(Message { role: "assistant".into(), content: content.clone() });
        Ok(content)
    }
}
