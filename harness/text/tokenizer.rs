//! Tokenization with the `tokenizers` crate from the model folder's `tokenizer.json`
//! (the tokenizer travels with the baked model; nothing is ever fetched from a hub).

use std::path::Path;

/// The tokenizer could not be loaded or used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TokenizerError {
    /// The tokenizer file (or `<text>` for encode/decode failures).
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// A model's tokenizer.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    path: String,
}

impl Tokenizer {
    /// Load `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Tokenizer, TokenizerError> {
        let err = |reason: String| TokenizerError { path: path.display().to_string(), reason };
        let text = crate::io::read_text(path).map_err(|e| err(e.to_string()))?;
        let inner: tokenizers::Tokenizer =
            text.parse().map_err(|e| err(format!("not a usable tokenizer.json: {e}")))?;
        Ok(Tokenizer { inner, path: path.display().to_string() })
    }

    fn err(&self, reason: impl std::fmt::Display) -> TokenizerError {
        TokenizerError { path: self.path.clone(), reason: reason.to_string() }
    }

    /// Token ids of `text`, with no special tokens added around it (chat templates already
    /// write them as text, and they are matched whole).
    pub fn encode(&self, text: &str) -> Result<Vec<i64>, TokenizerError> {
        let enc = self.inner.encode(text, false).map_err(|e| self.err(e))?;
        Ok(enc.get_ids().iter().map(|&i| i64::from(i)).collect())
    }

    /// Text of `ids`; special tokens dropped when `skip_special` is set.
    pub fn decode(&self, ids: &[i64], skip_special: bool) -> Result<String, TokenizerError> {
        let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
        self.inner.decode(&ids, skip_special).map_err(|e| self.err(e))
    }

    /// Text of `ids` exactly as the tokenizer decodes them (nothing skipped).
    pub fn decode_raw(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        self.inner.decode(ids, false).map_err(|e| self.err(e))
    }

    /// Every added token (the tokenizer's special-token table): id, content, and whether
    /// the tokenizer marks it special. Sorted by id.
    pub fn added_tokens(&self) -> Vec<(u32, String, bool)> {
        let mut v: Vec<(u32, String, bool)> =
            self.inner.get_added_tokens_decoder().into_iter().map(|(id, t)| (id, t.content, t.special)).collect();
        v.sort_by_key(|t| t.0);
        v
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
