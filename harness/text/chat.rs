//! Chat templates: the model's own Jinja `chat_template` from `tokenizer_config.json`,
//! rendered with minijinja, byte-identical to the Python jinja2 rendering the model was trained with. Python-isms the HF templates use
//! (`str.startswith`, `dict.items`, ...) come from minijinja-contrib's pycompat layer;
//! `tojson` matches Python's `json.dumps` spacing so tool schemas render byte-identical.

use serde::Serialize;
use std::path::Path;

/// One chat message.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message { role: "user".into(), content: content.into() }
    }
}

/// The template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ChatError {
    /// The tokenizer_config.json.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// A model's chat template with the special tokens it refers to.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
    path: String,
}

/// How many template instructions one rendering may execute. Chat templates come with model
/// folders from strangers, so they are untrusted code: a loop that never ends (nested
/// `range`s) would hang the run's parent while it prepares prompts, outside every cell
/// timeout. The real templates bakeoff renders (Qwen3's with tools and reasoning, SmolLM2's)
/// take a few thousand instructions; this is a thousand times that and stops a runaway
/// template in well under a second.
pub const TEMPLATE_FUEL: u64 = 5_000_000;

/// The longest rendered prompt accepted, bytes: 4 MiB is about a million tokens, far past
/// any context the pipelines can run; a template that writes more is broken or hostile.
pub const MAX_RENDERED_BYTES: usize = 4 << 20;

/// Options of one rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Append the assistant turn's opening (`<|im_start|>assistant\n`).
    pub add_generation_prompt: bool,
    /// Qwen3's thinking switch; `None` leaves the template's default.
    pub enable_thinking: Option<bool>,
}

fn token_text(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Object(o)) => o.get("content").and_then(|c| c.as_str()).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// The file current transformers and optimum-intel write a model's chat template to, beside
/// `tokenizer_config.json` (which then has none).
pub const JINJA_FILE: &str = "chat_template.jinja";

impl ChatTemplate {
    /// Load the template of the model folder whose `tokenizer_config.json` is `path`: from
    /// `chat_template.jinja` beside it when that file exists (transformers reads it first
    /// too), else from the config's `chat_template`. bos and eos tokens come from the config.
    pub fn from_tokenizer_config(path: &Path) -> Result<ChatTemplate, ChatError> {
        let err = |reason: String| ChatError { path: path.display().to_string(), reason };
        let text = crate::io::read_text(path).map_err(|e| err(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        let jinja = path.with_file_name(JINJA_FILE);
        if jinja.exists() {
            let jinja_err = |reason: String| ChatError { path: jinja.display().to_string(), reason };
            let source = crate::io::read_text(&jinja).map_err(|e| jinja_err(e.to_string()))?;
            return Ok(ChatTemplate {
                source,
                bos_token: token_text(json.get("bos_token")),
                eos_token: token_text(json.get("eos_token")),
                path: jinja.display().to_string(),
            });
        }
        let source = match json.get("chat_template") {
            Some(serde_json::Value::String(s)) => s.clone(),
            // The list form: [{"name": "default", "template": "..."}, ...]
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_string))
                .ok_or_else(|| err("chat_template list has no entry named \"default\"".into()))?,
            _ => {
                return Err(err(format!(
                    "no chat_template (a string or a list of named templates), and no {JINJA_FILE} beside it"
                )))
            }
        };
        Ok(ChatTemplate {
            source,
            bos_token: token_text(json.get("bos_token")),
            eos_token: token_text(json.get("eos_token")),
            path: path.display().to_string(),
        })
    }

    /// Render `messages` into the prompt text the model expects.
    pub fn render(&self, messages: &[Message], options: RenderOptions) -> Result<String, ChatError> {
        let err = |reason: String| ChatError { path: self.path.clone(), reason };
        let mut env = minijinja::Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        // HF renders with trim_blocks and lstrip_blocks on.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_fuel(Some(TEMPLATE_FUEL));
        env.add_template("chat", &self.source).map_err(|e| err(format!("chat_template does not parse: {e}")))?;
        let tmpl = env.get_template("chat").map_err(|e| err(e.to_string()))?;
        let mut ctx = serde_json::json!({
            "messages": messages,
            "add_generation_prompt": options.add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
        });
        if let Some(thinking) = options.enable_thinking {
            ctx["enable_thinking"] = serde_json::Value::Bool(thinking);
        }
        let mut out = BoundedWriter { bytes: Vec::new(), limit: MAX_RENDERED_BYTES };
        tmpl.render_captured_to(minijinja::Value::from_serialize(&ctx), &mut out).map_err(|e| {
            let reason = match e.kind() {
                minijinja::ErrorKind::OutOfFuel => format!(
                    "rendering chat_template stopped after {TEMPLATE_FUEL} template instructions: \
                     the template does not end (a loop without bound?); fix or replace the template"
                ),
                _ if out.bytes.len() >= out.limit => format!(
                    "rendering chat_template stopped at {} MiB of output: the template writes without bound",
                    MAX_RENDERED_BYTES >> 20
                ),
                _ => format!("rendering failed: {e}"),
            };
            err(reason)
        })?;
        String::from_utf8(out.bytes).map_err(|e| err(format!("rendering gave invalid UTF-8: {e}")))
    }
}

/// A writer that refuses to grow past `limit` bytes (a template's output is bounded).
struct BoundedWriter {
    bytes: Vec<u8>,
    limit: usize,
}

impl std::io::Write for BoundedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.bytes.resize(self.limit, 0);
            return Err(std::io::Error::other("rendered output over its limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `tojson` as transformers defines it: `json.dumps(x, ensure_ascii=False, indent=indent)`,
/// keys in insertion order, `", "` and `": "` separators when not indented.
fn tojson(value: minijinja::Value, indent: Option<usize>) -> Result<minijinja::Value, minijinja::Error> {
    let json = serde_json::to_value(&value)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))?;
    let text = match indent {
        Some(n) => {
            let pad = vec![b' '; n];
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(&pad);
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            json.serialize(&mut ser).expect("serializing a JSON value to memory cannot fail");
            String::from_utf8(buf).expect("serde_json writes UTF-8")
        }
        None => python_json(&json),
    };
    Ok(minijinja::Value::from_safe_string(text))
}

/// Python's `json.dumps` default spacing (`", "`, `": "`), non-ASCII kept.
fn python_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(items) => {
            format!("[{}]", items.iter().map(python_json).collect::<Vec<_>>().join(", "))
        }
        serde_json::Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", serde_json::Value::String(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(source: &str) -> ChatTemplate {
        ChatTemplate {
            source: source.into(),
            bos_token: String::new(),
            eos_token: String::new(),
            path: "t.json".into(),
        }
    }

    #[test]
    fn a_template_that_never_ends_is_stopped_by_its_fuel() {
        let looping = "{% for i in range(100000) %}{% for k in range(100000) %}x{% endfor %}{% endfor %}";
        let started = std::time::Instant::now();
        let e = template(looping).render(&[Message::user("hi")], RenderOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("t.json: rendering chat_template stopped after"), "{e}");
        eprintln!("stopped after {:?}", started.elapsed());
    }

    #[test]
    fn a_template_that_writes_without_bound_is_stopped_at_its_size() {
        let huge = "{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}";
        let e = template(huge).render(&[Message::user("hi")], RenderOptions::default()).unwrap_err();
        assert!(e.to_string().contains("stopped at 4 MiB of output"), "{e}");
        let fine = template("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}");
        assert_eq!(fine.render(&[Message::user("hi")], RenderOptions::default()).unwrap(), "<user>hi");
    }

    #[test]
    fn python_json_spacing_and_order() {
        let v: serde_json::Value = serde_json::from_str(r#"{"b": [1, 2], "a": {"x": "é"}}"#).unwrap();
        assert_eq!(python_json(&v), r#"{"b": [1, 2], "a": {"x": "é"}}"#);
    }
}
