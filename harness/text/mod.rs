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
