//! `bakeoff prepare SRC --out DIR`: a user's own stateful OpenVINO LLM folder (what
//! `optimum-cli export openvino --task text-generation-with-past` or openvino-genai writes)
//! made into a bakeoff model folder beside it, the source untouched: the stateful IR with
//! the lm_head fed only the last position (as openvino-genai does at load time, so kvcache's
//! TTFT is not biased against GenAI's), the stateless static `[1, W]` IR derived from it for
//! static128, the tokenizer, chat template and generation files as they are, and `bake.json`
//! with where it came from and every output's sha256. The IR surgery runs in the Python of
//! the venv whose OpenVINO the harness uses (`prepare_ir.py`, embedded).

use super::ModelDir;
use crate::io::FileError;
use std::path::{Path, PathBuf};

/// The IR step, run with `python -c`.
const PREPARE_IR: &str = include_str!("prepare_ir.py");

/// Files copied as they are when the source has them (tokenizers, chat template, configs).
const COPIED: [&str; 10] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "special_tokens_map.json",
    "generation_config.json",
    "config.json",
    "openvino_tokenizer.xml",
    "openvino_tokenizer.bin",
    "openvino_detokenizer.xml",
    "openvino_detokenizer.bin",
];

/// IR files of the other parts of a vision-language model: a folder with one is refused.
const VLM_PARTS: [&str; 3] =
    ["openvino_vision_embeddings_model.xml", "openvino_text_embeddings_model.xml", "openvino_resampler_model.xml"];

/// What `prepare` makes.
#[derive(Debug, Clone, Copy)]
pub struct PrepareOptions {
    /// The static window W of the stateless IR.
    pub window: usize,
    /// Also write the static IR with the full lm_head (`openvino_model_static{W}_full.xml`).
    pub keep_full_lm_head: bool,
}

/// Why a folder could not be prepared; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The source is not something bakeoff can prepare (stateless, a VLM, no tokenizer, ...).
    #[error("{0}")]
    Input(String),
    /// The IR step failed.
    #[error("preparing the IR failed: {0}")]
    Tool(String),
    /// Writing the output failed.
    #[error(transparent)]
    Write(#[from] FileError),
}

/// Check `src` can be prepared: a stateful LLM IR, a tokenizer, not a vision-language model.
pub fn check_source(src: &Path) -> Result<(), PrepareError> {
    let input = |m: String| PrepareError::Input(m);
    if !src.is_dir() {
        return Err(input(format!("{}: not a folder", src.display())));
    }
    let xml = src.join(super::STATEFUL_XML);
    if !xml.exists() {
        return Err(input(format!(
            "{}: missing; prepare takes the folder `optimum-cli export openvino --task text-generation-with-past` \
             or openvino-genai writes",
            xml.display()
        )));
    }
    if let Some(part) = VLM_PARTS.iter().map(|p| src.join(p)).find(|p| p.exists()) {
        return Err(input(format!(
            "{}: a vision-language model's part; bakeoff measures text LLMs (openvino_model.xml alone)",
            part.display()
        )));
    }
    let config = src.join("config.json");
    if let Ok(text) = std::fs::read_to_string(&config) {
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if json.get("vision_config").is_some() {
            return Err(input(format!("{}: has vision_config: a vision-language model", config.display())));
        }
    }
    let tokenizer = src.join("tokenizer.json");
    if !tokenizer.exists() {
        return Err(input(format!(
            "{}: missing; bakeoff tokenizes with the Hugging Face tokenizer",
            tokenizer.display()
        )));
    }
    let dir = ModelDir::open(src).map_err(|e| input(e.to_string()))?;
    dir.kv_layout().map_err(|e| {
        input(format!(
            "{}: no KV cache variables ({e}): a stateless IR; export with --task text-generation-with-past",
            xml.display()
        ))
    })?;
    Ok(())
}

/// Prepare `src` into `out` (which must not exist yet). The source is checked first, then
/// `python` is asked for the venv Python that runs the IR step, so a source bakeoff cannot
/// use is refused before any runtime is looked for. Returns the manifest written as
/// `bake.json`.
pub fn prepare(
    src: &Path,
    out: &Path,
    options: PrepareOptions,
    python: impl FnOnce() -> Result<PathBuf, PrepareError>,
) -> Result<serde_json::Value, PrepareError> {
    check_source(src)?;
    let python = python()?;
    if out.exists() {
        return Err(PrepareError::Input(format!(
            "{}: exists; prepare writes a new folder (the source stays untouched)",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|source| FileError::Write { path: out.display().to_string(), source })?;
    let started = std::time::Instant::now();
    let ir = run_ir_step(src, out, options, &python)?;
    let mut copied = Vec::new();
    for name in COPIED {
        let from = src.join(name);
        if from.exists() {
            let to = out.join(name);
            std::fs::copy(&from, &to).map_err(|source| FileError::Write { path: to.display().to_string(), source })?;
            copied.push(name);
        }
    }
    let mut outputs = serde_json::Map::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| PrepareError::Tool(format!("{}: {e}", out.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names {
        let digest = sha256(&path)?;
        outputs.insert(path.file_name().unwrap_or_default().to_string_lossy().into_owned(), digest.into());
    }
    let static_name = format!("openvino_model_static{}.xml", options.window);
    let mut files =
        serde_json::json!({ "kvcache": super::STATEFUL_XML, "static": { options.window.to_string(): static_name } });
    if options.keep_full_lm_head {
        files["static_full"] = serde_json::json!({ options.window.to_string(): format!("openvino_model_static{}_full.xml", options.window) });
    }
    let manifest = serde_json::json!({
        "bakeoff_bake": 1,
        "prepared_from": {
            "folder": std::fs::canonicalize(src).unwrap_or_else(|_| src.to_path_buf()),
            "openvino_model.xml": sha256(&src.join(super::STATEFUL_XML))?,
            "openvino_model.bin": sha256(&src.join("openvino_model.bin")).ok(),
        },
        "files": files,
        "copied": copied,
        "openvino": ir["openvino"],
        "steps": ir["steps"],
        "outputs": outputs,
        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    let text = serde_json::to_string_pretty(&manifest).expect("plain JSON values serialize");
    crate::io::write_named(out, "bake.json", text.as_bytes())?;
    Ok(manifest)
}

fn run_ir_step(
    src: &Path,
    out: &Path,
    options: PrepareOptions,
    python: &Path,
) -> Result<serde_json::Value, PrepareError> {
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(PREPARE_IR)
        .arg(src.join(super::STATEFUL_XML))
        .arg(out)
        .arg(options.window.to_string())
        .arg(if options.keep_full_lm_head { "1" } else { "0" })
        .output()
        .map_err(|e| PrepareError::Tool(format!("could not start {}: {e}", python.display())))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(PrepareError::Tool(last.trim().to_string()));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| PrepareError::Tool(format!("the IR step printed no report: {e}")))
}

fn sha256(path: &Path) -> Result<String, PrepareError> {
    crate::io::sha256_file(path).map_err(|e| PrepareError::Tool(format!("{}: cannot read: {e}", path.display())))
}
