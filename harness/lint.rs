//! Bake lint: catch broken bakes that teams running these pipelines have hit, before a
//! compile or a run trusts them.
//!
//! - a graph truncated during export (500 MB for a 5 GB model) compiled, hung or
//!   produced garbage. Caught two ways: the graph's weights fall short of what config.json's
//!   architecture needs, or the `.bin` is shorter than the constants the graph reads.
//! - a "static" IR with a dynamic input fails on the NPU at compile time.
//! - a tokenizer from another model (vocab not matching the logits width).
//! - a stateful IR without usable KV variables (the kvcache pipeline needs them; NPUW also
//!   needs their names distinct and their layout derivable).

use crate::model::ir::{kv_layout, shape_string, Dim, IrSummary};
use crate::model::{bin_for, ModelDir};
use crate::text::tokenizer::Tokenizer;
use serde::Serialize;
use std::path::Path;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The model cannot be trusted; lint exits non-zero.
    Error,
    /// Something is missing that limits what can run (e.g. no static IR).
    Warning,
    /// A fact worth printing.
    Ok,
}

/// One lint result.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Error, warning or ok.
    pub severity: Severity,
    /// The file concerned.
    pub file: String,
    /// What was found.
    pub message: String,
}

/// All findings of one lint run.
#[derive(Debug, Default, Serialize)]
pub struct LintReport {
    /// In the order checked.
    pub findings: Vec<Finding>,
}

impl LintReport {
    fn push(&mut self, severity: Severity, file: &Path, message: impl Into<String>) {
        self.findings.push(Finding { severity, file: file.display().to_string(), message: message.into() });
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Bytes per weight a plausible IR holds: INT4 with group scales (~0.5) to f32 (4).
const BYTES_PER_WEIGHT: (f64, f64) = (0.45, 4.6);
/// A graph whose weights fall below this share of the architecture's is truncated.
const MIN_WEIGHT_SHARE: f64 = 0.9;
/// A tokenizer whose vocabulary is below this share of the logits width is another model's.
const MIN_VOCAB_SHARE: f64 = 0.95;

/// Lint a model folder: both IRs, the tokenizer files and their agreement.
pub fn lint(model: &ModelDir, window: usize) -> LintReport {
    let mut report = LintReport::default();
    let arch = match model.arch_config() {
        Ok(a) => a,
        Err(e) => {
            report.push(Severity::Error, &model.root.join("config.json"), e.to_string());
            None
        }
    };
    let expected_weights = arch.as_ref().map(|a| a.matrix_parameters());
    let stateful = check_ir(&mut report, &model.stateful_xml(), expected_weights, true);
    if let Some(s) = &stateful {
        check_stateful(&mut report, &model.stateful_xml(), s);
    }
    let static_xml = model.static_xml(window);
    let static_ir = check_ir(&mut report, &static_xml, expected_weights, false);
    if let Some(s) = &static_ir {
        check_static(&mut report, &static_xml, s, window);
    }
    let logits = stateful.as_ref().or(static_ir.as_ref()).and_then(|s| s.logits_width);
    check_tokenizer(&mut report, model, logits);
    report
}

/// Parse one IR and check its `.bin` against it. Returns the summary when it parsed.
fn check_ir(report: &mut LintReport, xml: &Path, expected: Option<u64>, required: bool) -> Option<IrSummary> {
    if !xml.exists() {
        let (sev, why) = if required {
            (Severity::Error, "the kvcache pipeline needs the stateful IR")
        } else {
            (Severity::Warning, "the static128 pipeline cannot run on this model without it")
        };
        report.push(sev, xml, format!("missing: {why}"));
        return None;
    }
    let summary = match IrSummary::read(xml) {
        Ok(s) => s,
        Err(e) => {
            report.push(Severity::Error, xml, e.reason);
            return None;
        }
    };
    let bin = bin_for(xml);
    let Ok(meta) = std::fs::metadata(&bin) else {
        report.push(Severity::Error, &bin, "missing: the weights of this IR");
        return Some(summary);
    };
    let size = meta.len();
    if size < summary.bin_bytes_needed {
        report.push(
            Severity::Error,
            &bin,
            format!(
                "truncated: the graph reads constants up to byte {} but the file has {size} bytes",
                summary.bin_bytes_needed
            ),
        );
    }
    if let Some(expected) = expected {
        let share = summary.weight_elements as f64 / expected as f64;
        if share < MIN_WEIGHT_SHARE {
            report.push(
                Severity::Error,
                xml,
                format!(
                    "truncated graph: its weight constants hold {} parameters but config.json's architecture needs about {expected} ({:.0}%); layers were dropped during export",
                    summary.weight_elements,
                    share * 100.0
                ),
            );
        }
    }
    let per_weight = size as f64 / summary.weight_elements.max(1) as f64;
    if !(BYTES_PER_WEIGHT.0..=BYTES_PER_WEIGHT.1).contains(&per_weight) {
        report.push(
            Severity::Error,
            &bin,
            format!(
                "implausible size: {size} bytes for {} weight parameters ({per_weight:.2} bytes each; INT4 to f32 is {}..{})",
                summary.weight_elements, BYTES_PER_WEIGHT.0, BYTES_PER_WEIGHT.1
            ),
        );
    } else {
        report.push(
            Severity::Ok,
            &bin,
            format!("{size} bytes for {} weight parameters ({per_weight:.2} bytes each)", summary.weight_elements),
        );
    }
    Some(summary)
}

fn check_stateful(report: &mut LintReport, xml: &Path, s: &IrSummary) {
    for name in ["input_ids", "attention_mask", "position_ids", "beam_idx"] {
        if s.input(name).is_none() {
            report.push(Severity::Error, xml, format!("stateful IR has no `{name}` input"));
        }
    }
    if s.variables.is_empty() {
        report.push(Severity::Error, xml, "stateful IR has no KV-cache variables (ReadValue): it cannot run kvcache");
        return;
    }
    if s.assigns != s.variables.len() {
        report.push(
            Severity::Error,
            xml,
            format!("{} ReadValue but {} Assign: the KV cache would not be written back", s.variables.len(), s.assigns),
        );
    }
    let mut ids: Vec<&str> = s.variables.iter().map(|v| v.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(dup) = ids.windows(2).find(|w| w[0] == w[1]) {
        report.push(
            Severity::Error,
            xml,
            format!("duplicate KV variable id `{}`: NPUW fails with \"Duplicate generate output tensor name\"", dup[0]),
        );
    }
    match kv_layout(&s.variables) {
        Ok(l) => report.push(
            Severity::Ok,
            xml,
            format!(
                "{} KV variables {}, batch axis {}, sequence axis {}",
                s.variables.len(),
                shape_string(&s.variables[0].shape),
                l.batch_dim,
                l.seq_len_dim
            ),
        ),
        Err(e) => report.push(Severity::Error, xml, e.to_string()),
    }
}

fn check_static(report: &mut LintReport, xml: &Path, s: &IrSummary, window: usize) {
    if s.is_stateful() {
        report.push(Severity::Error, xml, "the static IR still has state variables (ReadValue)");
    }
    for name in ["input_ids", "attention_mask", "position_ids"] {
        match s.input(name) {
            None => report.push(Severity::Error, xml, format!("static IR has no `{name}` input")),
            Some(input) if input.shape != [Dim::Static(1), Dim::Static(window as u64)] => report.push(
                Severity::Error,
                xml,
                format!(
                    "input `{name}` has shape {}, expected the static [1,{window}]; a dynamic shape fails NPU compilation",
                    shape_string(&input.shape)
                ),
            ),
            Some(_) => {}
        }
    }
    for input in &s.inputs {
        if input.shape.contains(&Dim::Dynamic) {
            report.push(
                Severity::Error,
                xml,
                format!(
                    "input `{}` is dynamic {}: the static IR must be fully static",
                    input.name,
                    shape_string(&input.shape)
                ),
            );
        }
    }
}

fn check_tokenizer(report: &mut LintReport, model: &ModelDir, logits: Option<u64>) {
    let path = model.tokenizer_json();
    if !path.exists() {
        report.push(Severity::Error, &path, "missing: bakeoff tokenizes prompts and decodes output with it");
    } else {
        match Tokenizer::from_file(&path) {
            Err(e) => report.push(Severity::Error, &path, e.to_string()),
            Ok(tok) => check_vocab(report, &path, tok.vocab_size() as u64, logits),
        }
    }
    let config = model.tokenizer_config();
    if !config.exists() {
        report.push(Severity::Error, &config, "missing: it holds the chat template");
    }
    if model.eos_ids().is_empty() {
        report.push(
            Severity::Warning,
            &model.root.join("generation_config.json"),
            "no eos_token_id: generation stops only at max_new_tokens",
        );
    }
}

fn check_vocab(report: &mut LintReport, path: &Path, vocab: u64, logits: Option<u64>) {
    let Some(width) = logits else {
        report.push(Severity::Warning, path, "the logits width is not static in the IR; vocab not checked");
        return;
    };
    if vocab > width || (vocab as f64) < width as f64 * MIN_VOCAB_SHARE {
        report.push(
            Severity::Error,
            path,
            format!(
                "vocabulary of {vocab} tokens does not match the model's logits width {width}: this tokenizer belongs to another model"
            ),
        );
    } else {
        report.push(Severity::Ok, path, format!("{vocab} tokens for logits width {width}"));
    }
}
