//! The best profile per (model, device, pipeline, cache) of one run under constraints:
//! among the profiles whose cell completed and meets every constraint, the one with the
//! highest decode tokens/s (ties: the lower TTFT). Every other candidate says why it lost.

use crate::pipelines::PipelineKind;
use crate::plan::CellKey;
use crate::results::folder::RunFolder;
use crate::results::summary::CellSummary;
use crate::results::CellStatus;
use crate::runtime::Device;
use serde::Serialize;

/// What the deployment needs.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Constraints {
    /// Median TTFT at most this, ms.
    pub max_ttft_ms: Option<f64>,
    /// Median decode tokens/s at least this.
    pub min_tokens_per_s: Option<f64>,
    /// Prompts up to this many tokens must be accepted.
    pub max_prompt_len: Option<u64>,
    /// Peak memory at most this, MiB.
    pub max_rss_mb: Option<f64>,
    /// Outputs must not hard-mismatch the goldens.
    pub exact: bool,
}

/// One profile's cell as a candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The profile.
    pub profile: String,
    /// Median decode tokens/s.
    pub tokens_per_s: Option<f64>,
    /// Median TTFT, ms.
    pub ttft_ms: Option<f64>,
    /// Peak RSS, MiB.
    pub peak_rss_mb: Option<f64>,
    /// The longest prompt it accepts (None: no limit from the profile).
    pub max_prompt_len: Option<u64>,
    /// Worst golden verdict of its outputs.
    pub golden: Option<String>,
    /// None: chosen. Otherwise why it lost.
    pub lost: Option<String>,
}

/// The recommendation for one (model, device, pipeline, cache).
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Model.
    pub model: String,
    /// Device.
    pub device: Device,
    /// Pipeline.
    pub pipeline: PipelineKind,
    /// Cache mode of the cells.
    pub cache: String,
    /// The chosen profile (None: no candidate meets the constraints).
    pub best: Option<String>,
    /// Every candidate, best first.
    pub candidates: Vec<Candidate>,
}

/// The longest prompt a cell accepts: NPUW's MAX_PROMPT_LEN for NPU kvcache, the window for
/// static128, no limit for CPU kvcache (dynamic shapes).
fn prompt_limit(key: &CellKey, run: &RunFolder, attempts: &[crate::results::Attempt]) -> Option<u64> {
    if key.pipeline == PipelineKind::Static128 {
        return Some(run.scenario.generation.window as u64);
    }
    let attempt = attempts.iter().find(|a| a.cell.cell == *key)?;
    let props = attempt.cell.properties.as_ref()?;
    props.get("NPUW_LLM_MAX_PROMPT_LEN").and_then(|v| v.parse().ok())
}

fn violation(c: &Candidate, k: &Constraints) -> Option<String> {
    if let (Some(max), Some(v)) = (k.max_ttft_ms, c.ttft_ms) {
        if v > max {
            return Some(format!("TTFT {v:.1} ms over --max-ttft-ms {max}"));
        }
    }
    if let Some(min) = k.min_tokens_per_s {
        if c.tokens_per_s.map_or(true, |v| v < min) {
            return Some(format!("{:.1} tok/s under --min-tokens-per-s {min}", c.tokens_per_s.unwrap_or(0.0)));
        }
    }
    if let (Some(need), Some(limit)) = (k.max_prompt_len, c.max_prompt_len) {
        if limit < need {
            return Some(format!("accepts prompts up to {limit} tokens, under --max-prompt-len {need}"));
        }
    }
    if let (Some(max), Some(v)) = (k.max_rss_mb, c.peak_rss_mb) {
        if v > max {
            return Some(format!("peak RSS {v:.0} MiB over --max-rss-mb {max}"));
        }
    }
    if k.exact && matches!(c.golden.as_deref(), Some("hard_mismatch" | "prompt_mismatch")) {
        return Some(format!("outputs: {} against the goldens (--exact)", c.golden.as_deref().unwrap_or("")));
    }
    None
}

/// Recommend a profile per (model, device, pipeline, cache) of a run.
pub fn recommend(run: &RunFolder, k: &Constraints) -> Vec<Recommendation> {
    let summaries = run.summaries();
    let correctness = run.correctness();
    let attempts = run.attempts();
    let mut groups: Vec<(CellKey, Vec<&CellSummary>)> = Vec::new();
    for s in &summaries {
        let group = CellKey { profile: String::new(), ..s.cell.clone() };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(s),
            None => groups.push((group, vec![s])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, members)| members.iter().any(|s| s.status != CellStatus::Skipped))
        .map(|(group, members)| {
            let mut candidates: Vec<Candidate> = members
                .iter()
                .map(|s| {
                    let golden = correctness
                        .golden
                        .iter()
                        .filter(|g| g.cell == s.cell)
                        .max_by_key(|g| g.verdict.severity())
                        .map(|g| g.verdict.name().to_string());
                    let mut c = Candidate {
                        profile: s.cell.profile.clone(),
                        tokens_per_s: s.metrics.get("decode_tokens_per_s").copied(),
                        ttft_ms: s.metrics.get("ttft_p50_ms").copied(),
                        peak_rss_mb: s.metrics.get("peak_rss_mb").copied(),
                        max_prompt_len: prompt_limit(&s.cell, run, &attempts),
                        golden,
                        lost: None,
                    };
                    c.lost = if s.status != CellStatus::Completed {
                        Some(format!(
                            "{}: {}",
                            crate::cells::schedule::status_name(s.status),
                            s.reason.as_deref().unwrap_or("no reason recorded")
                        ))
                    } else {
                        violation(&c, k)
                    };
                    c
                })
                .collect();
            // Eligible first, fastest first, then the lower TTFT.
            candidates.sort_by(|a, b| {
                (a.lost.is_some(), -a.tokens_per_s.unwrap_or(0.0), a.ttft_ms.unwrap_or(f64::MAX))
                    .partial_cmp(&(b.lost.is_some(), -b.tokens_per_s.unwrap_or(0.0), b.ttft_ms.unwrap_or(f64::MAX)))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            let best = candidates.first().filter(|c| c.lost.is_none()).map(|c| c.profile.clone());
            let best_tps = candidates.first().and_then(|c| c.tokens_per_s).unwrap_or(0.0);
            for c in candidates.iter_mut().skip(1).filter(|c| c.lost.is_none()) {
                c.lost = Some(format!(
                    "slower: {:.1} tok/s against {best_tps:.1} tok/s of {}",
                    c.tokens_per_s.unwrap_or(0.0),
                    best.as_deref().unwrap_or("-")
                ));
            }
            Recommendation {
                model: group.model,
                device: group.device,
                pipeline: group.pipeline,
                cache: group.cache.name().to_string(),
                best,
                candidates,
            }
        })
        .collect()
}
