//! A baked model folder: one folder serves both pipelines and every device; each pipeline
//! picks its IR from it (kvcache the stateful IR, static128 the stateless static one). Layout written by `tools/bake/bake.py`:
//!
//! | file | what |
//! |---|---|
//! | `openvino_model.xml/.bin` | stateful IR (kvcache) |
//! | `openvino_model_static128.xml/.bin` | stateless static `[1,128]` IR (static128) |
//! | `tokenizer.json`, `tokenizer_config.json` | tokenizer and chat template |
//! | `generation_config.json`, `config.json` | eos ids, architecture |
//! | `bake.json` | the bake manifest (optional for a user's own model) |

pub mod ir;
pub mod prepare;

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The stateful IR's file name.
pub const STATEFUL_XML: &str = "openvino_model.xml";

/// A model folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The folder does not exist.
    #[error("model folder {0} does not exist (run `make setup` to bake the fixtures)")]
    Missing(String),
    /// A file the model needs is absent.
    #[error("{path}: missing; {why}")]
    MissingFile {
        /// The absent file.
        path: String,
        /// What it is needed for.
        why: String,
    },
    /// A JSON file is malformed.
    #[error("{path}: {reason}")]
    BadJson {
        /// The file.
        path: String,
        /// serde's message (line and column).
        reason: String,
    },
}

/// `generation_config.json` (the fields bakeoff reads).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct GenerationDefaults {
    /// One id or a list of ids that end generation.
    #[serde(default)]
    pub eos_token_id: Option<OneOrMany>,
    /// The padding id.
    #[serde(default)]
    pub pad_token_id: Option<i64>,
    /// The bos id.
    #[serde(default)]
    pub bos_token_id: Option<i64>,
}

/// A JSON field that is either one integer or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single id.
    One(i64),
    /// Several ids.
    Many(Vec<i64>),
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<i64> {
        match self {
            OneOrMany::One(i) => vec![*i],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `config.json` (the architecture fields lint checks the graph against).
#[derive(Debug, Clone, Deserialize)]
pub struct ArchConfig {
    /// e.g. `llama`, `qwen3`.
    pub model_type: Option<String>,
    /// Hidden size.
    pub hidden_size: u64,
    /// Feed-forward size.
    pub intermediate_size: u64,
    /// Decoder layers.
    pub num_hidden_layers: u64,
    /// Query heads.
    pub num_attention_heads: u64,
    /// KV heads.
    pub num_key_value_heads: Option<u64>,
    /// Head size.
    pub head_dim: Option<u64>,
    /// Vocabulary size (logits width).
    pub vocab_size: u64,
    /// Whether the lm_head shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
}

impl ArchConfig {
    /// Parameters a decoder-only transformer of this shape holds in its matrices
    /// (embedding, attention, MLP, lm_head), the number the graph's weights must reach.
    pub fn matrix_parameters(&self) -> u64 {
        let h = self.hidden_size;
        let heads = self.num_attention_heads;
        let kv = self.num_key_value_heads.unwrap_or(heads);
        let hd = self.head_dim.unwrap_or(h / heads.max(1));
        let attention = h * heads * hd * 2 + h * kv * hd * 2;
        let mlp = 3 * h * self.intermediate_size;
        let embed = self.vocab_size * h;
        let head = if self.tie_word_embeddings { 0 } else { embed };
        embed + head + self.num_hidden_layers * (attention + mlp)
    }
}

/// A baked model folder.
#[derive(Debug, Clone)]
pub struct ModelDir {
    /// The folder.
    pub root: PathBuf,
    /// `generation_config.json`, when present.
    pub generation: GenerationDefaults,
}

impl ModelDir {
    /// Open a model folder (checks only that it exists; `lint` checks the rest).
    pub fn open(root: &Path) -> Result<ModelDir, ModelError> {
        if !root.is_dir() {
            return Err(ModelError::Missing(root.display().to_string()));
        }
        let gen_path = root.join("generation_config.json");
        let generation = if gen_path.exists() { read_json(&gen_path)? } else { GenerationDefaults::default() };
        Ok(ModelDir { root: root.to_path_buf(), generation })
    }

    /// The stateful IR (kvcache).
    pub fn stateful_xml(&self) -> PathBuf {
        self.root.join(STATEFUL_XML)
    }

    /// The static IR for window `w` (static128 uses w = 128).
    pub fn static_xml(&self, window: usize) -> PathBuf {
        self.root.join(format!("openvino_model_static{window}.xml"))
    }

    /// The static IR whose lm_head computes every window row (the original static128
    /// design, before slicing), which the bake writes beside a sliced one.
    pub fn static_full_xml(&self, window: usize) -> PathBuf {
        self.root.join(format!("openvino_model_static{window}_full.xml"))
    }

    /// `tokenizer.json`.
    pub fn tokenizer_json(&self) -> PathBuf {
        self.root.join("tokenizer.json")
    }

    /// `tokenizer_config.json`.
    pub fn tokenizer_config(&self) -> PathBuf {
        self.root.join("tokenizer_config.json")
    }

    /// `config.json`, when present.
    pub fn arch_config(&self) -> Result<Option<ArchConfig>, ModelError> {
        let path = self.root.join("config.json");
        if path.exists() {
            read_json(&path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The batch and sequence axes of the stateful IR's KV-cache variables (what
    /// NPUW_LLM_BATCH_DIM and NPUW_LLM_SEQ_LEN_DIM must say).
    pub fn kv_layout(&self) -> Result<ir::KvLayout, ir::KvLayoutError> {
        let xml = self.stateful_xml();
        let summary = ir::IrSummary::read(&xml).map_err(|e| ir::KvLayoutError(e.to_string()))?;
        ir::kv_layout(&summary.variables).map_err(|e| ir::KvLayoutError(format!("{}: {e}", xml.display())))
    }

    /// The fingerprint of the weights, tokenizer and chat template (reads the whole
    /// weights file once).
    pub fn fingerprint(&self) -> Result<ModelFingerprint, ModelError> {
        let config = self.tokenizer_config();
        Ok(ModelFingerprint {
            weights_sha256: sha256_file(&bin_for(&self.stateful_xml()))?,
            tokenizer_sha256: sha256_file(&self.tokenizer_json())?,
            tokenizer_config_sha256: config.exists().then(|| sha256_file(&config)).transpose()?,
        })
    }

    /// How large the model is: its stateful IR's weight parameters and `.bin` bytes (None
    /// when the IR cannot be read; `lint` names why).
    pub fn size(&self) -> Option<ModelSize> {
        let xml = self.stateful_xml();
        let summary = ir::IrSummary::read(&xml).ok()?;
        let weights_bytes = std::fs::metadata(bin_for(&xml)).ok()?.len();
        Some(ModelSize { weight_parameters: summary.weight_elements, weights_bytes })
    }

    /// How many token ids the model takes: the width of the stateful IR's logits, which is
    /// the embedding table's row count of these LLMs (lint checks the tokenizer against it).
    /// None when the IR cannot be read or leaves that width dynamic: the compile then says
    /// what is wrong with the IR, and `lint` says the width is not checked.
    pub fn vocab_size(&self) -> Option<u64> {
        ir::IrSummary::read(&self.stateful_xml()).ok()?.logits_width.filter(|w| *w > 0)
    }

    /// The ids that end generation (from `generation_config.json`).
    pub fn eos_ids(&self) -> Vec<i64> {
        self.generation.eos_token_id.as_ref().map(OneOrMany::to_vec).unwrap_or_default()
    }

    /// The id static128 pads the window with (pad, else the first eos, else 0). Its value
    /// does not matter for the result: padded positions are masked out.
    pub fn pad_id(&self) -> i64 {
        self.generation.pad_token_id.or_else(|| self.eos_ids().first().copied()).unwrap_or(0)
    }
}

/// The longest context, in tokens, of the LLMs this harness targets (Qwen3 with YaRN
/// scaling): no generation, window or NPUW prompt or response length can go past its model's
/// context, so every size of that kind is bounded by it.
pub const MAX_CONTEXT_TOKENS: usize = 131_072;

/// A token id the model has no row for. The runtime does not check ids: an embedding lookup
/// past the table returns whatever memory holds and the generation goes on, so such an id
/// is refused before it reaches a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token id {id} at position {position} is outside the vocabulary: allowed 0 to {last} ({vocab} ids, the width of the model's logits)", last = vocab - 1)]
pub struct TokenIdError {
    /// The id.
    pub id: i64,
    /// Its position in the list it came in (0-based).
    pub position: usize,
    /// The model's vocabulary size.
    pub vocab: u64,
}

/// The first id of `ids` outside `[0, vocab)`, as an error naming it and its position.
pub fn check_token_ids(ids: &[i64], vocab: u64) -> Result<(), TokenIdError> {
    match ids.iter().position(|&id| u64::try_from(id).map_or(true, |id| id >= vocab)) {
        Some(position) => Err(TokenIdError { id: ids[position], position, vocab }),
        None => Ok(()),
    }
}

/// How large a model is, for charts and tables against model size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ModelSize {
    /// Weight parameters of the stateful IR (the elements of its weight constants).
    pub weight_parameters: u64,
    /// Bytes of its `.bin` (INT4 weights are half a byte each, INT8 one).
    pub weights_bytes: u64,
}

/// What identifies a model folder's weights and text layer: goldens record it, and a golden
/// is only checked against the model it was recorded from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ModelFingerprint {
    /// sha256 of the stateful IR's weights (`openvino_model.bin`).
    pub weights_sha256: String,
    /// sha256 of `tokenizer.json`.
    pub tokenizer_sha256: String,
    /// sha256 of `tokenizer_config.json` (the chat template), when present.
    pub tokenizer_config_sha256: Option<String>,
}

impl ModelFingerprint {
    /// What differs from `other`, by field name (empty: the same model).
    pub fn differences(&self, other: &ModelFingerprint) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.weights_sha256 != other.weights_sha256 {
            d.push("weights_sha256");
        }
        if self.tokenizer_sha256 != other.tokenizer_sha256 {
            d.push("tokenizer_sha256");
        }
        if self.tokenizer_config_sha256 != other.tokenizer_config_sha256 {
            d.push("tokenizer_config_sha256");
        }
        d
    }
}

fn sha256_file(path: &Path) -> Result<String, ModelError> {
    if !path.exists() {
        return Err(ModelError::MissingFile {
            path: path.display().to_string(),
            why: "needed for the model's fingerprint".into(),
        });
    }
    crate::io::sha256_file(path)
        .map_err(|e| ModelError::BadJson { path: path.display().to_string(), reason: format!("cannot read: {e}") })
}

/// The `.bin` beside an IR `.xml`.
pub fn bin_for(xml: &Path) -> PathBuf {
    xml.with_extension("bin")
}

/// Read and deserialize a JSON file, naming the file and position on error.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ModelError> {
    let text = crate::io::read_text(path)
        .map_err(|e| ModelError::BadJson { path: path.display().to_string(), reason: e.to_string() })?;
    serde_json::from_str(&text)
        .map_err(|e| ModelError::BadJson { path: path.display().to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::{check_token_ids, TokenIdError};

    #[test]
    fn ids_outside_the_vocabulary_are_named_with_their_position() {
        assert_eq!(check_token_ids(&[0, 1, 49_151], 49_152), Ok(()));
        assert_eq!(check_token_ids(&[], 49_152), Ok(()));
        let past = check_token_ids(&[1, 2, 99_999_999], 49_152).unwrap_err();
        assert_eq!(past, TokenIdError { id: 99_999_999, position: 2, vocab: 49_152 });
        assert_eq!(
            past.to_string(),
            "token id 99999999 at position 2 is outside the vocabulary: allowed 0 to 49151 (49152 ids, the width of \
             the model's logits)"
        );
        assert_eq!(check_token_ids(&[1, -5], 49_152).unwrap_err().position, 1);
        assert_eq!(check_token_ids(&[49_152], 49_152).unwrap_err().id, 49_152, "the first id past the table");
        assert_eq!(check_token_ids(&[i64::MIN], 49_152).unwrap_err().id, i64::MIN);
    }
}
