//! The best profile per (model, device, pipeline, cache) of one run under constraints:
//! among the profiles whose cell completed and meets every constraint, the one with the
//! highest decode tokens/s (ties: the lower TTFT), or with `prefer` the lowest energy or
//! host CPU time per decode token (ties: the faster). Every other candidate says why it
//! lost.

use crate::metrics::MetricId;
use crate::pipeline_kind::PipelineKind;
use crate::plan::CellKey;
use crate::results::folder::RunFolder;
use crate::results::summary::CellSummary;
use crate::results::CellStatus;
use crate::runtime::Device;
use serde::Serialize;

/// What `recommend` decided: the constraints and a recommendation per group of cells.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendDocument {
    /// What the deployment needs.
    pub constraints: Constraints,
    /// One per (model, device, pipeline, cache), best first within each.
    pub recommendations: Vec<Recommendation>,
}

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
    /// Median host CPU time per decode token at most this, ms.
    pub max_cpu_ms_per_token: Option<f64>,
    /// Median package energy per decode token at most this, J.
    pub max_joules_per_token: Option<f64>,
    /// What ranks the eligible profiles.
    pub prefer: Prefer,
}

/// What ranks the profiles that meet the constraints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    /// The highest decode tokens/s.
    #[default]
    Speed,
    /// The least package energy per decode token (needs readable RAPL counters).
    Energy,
    /// The least host CPU time per decode token.
    Cpu,
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
    /// Median host CPU time per decode token, ms.
    pub cpu_ms_per_token: Option<f64>,
    /// Median package energy per decode token, J (None: not measured).
    pub joules_per_token: Option<f64>,
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

/// The longest prompt a cell accepts: the window for a window-limited kind (static128),
/// NPUW's MAX_PROMPT_LEN for NPU kvcache, no limit for CPU kvcache (dynamic shapes).
fn prompt_limit(key: &CellKey, run: &RunFolder, attempts: &[crate::results::Attempt]) -> Option<u64> {
    if key.pipeline.traits().window_limited {
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
    if let Some(max) = k.max_cpu_ms_per_token {
        match c.cpu_ms_per_token {
            Some(v) if v > max => return Some(format!("host CPU {v:.2} ms/token over --max-cpu-ms-per-token {max}")),
            None => return Some("no host CPU time recorded (a run from before bakeoff measured it)".into()),
            _ => {}
        }
    }
    if let Some(max) = k.max_joules_per_token {
        match c.joules_per_token {
            Some(v) if v > max => return Some(format!("{v:.4} J/token over --max-joules-per-token {max}")),
            None => return Some("no energy figure (package energy was not readable in this run)".into()),
            _ => {}
        }
    }
    if k.exact && matches!(c.golden.as_deref(), Some("hard_mismatch" | "prompt_mismatch")) {
        return Some(format!("outputs: {} against the goldens (--exact)", c.golden.as_deref().unwrap_or("")));
    }
    None
}

/// A cell's summary as a candidate: its figures, the worst golden verdict of its outputs and
/// the longest prompt it accepts; `lost` says why when it did not complete.
pub fn candidate(s: &CellSummary, golden: Option<String>, max_prompt_len: Option<u64>) -> Candidate {
    let metric = |id: MetricId| s.metrics.get(&id).copied();
    Candidate {
        profile: s.cell.profile.clone(),
        tokens_per_s: metric(MetricId::DecodeTokensPerS),
        ttft_ms: metric(MetricId::TtftP50Ms),
        peak_rss_mb: metric(MetricId::PeakRssMb),
        cpu_ms_per_token: metric(MetricId::CpuMsPerToken),
        joules_per_token: metric(MetricId::JoulesPerToken),
        max_prompt_len,
        golden,
        lost: not_completed(s),
    }
}

/// Why a cell that did not complete cannot be chosen (None: it completed).
pub fn not_completed(s: &CellSummary) -> Option<String> {
    (s.status != CellStatus::Completed)
        .then(|| format!("{}: {}", s.status.name(), s.reason.as_deref().unwrap_or("no reason recorded")))
}

/// The ranking key of an eligible candidate: smaller first.
fn rank(c: &Candidate, prefer: Prefer) -> (f64, f64) {
    let faster = -c.tokens_per_s.unwrap_or(0.0);
    match prefer {
        Prefer::Speed => (faster, c.ttft_ms.unwrap_or(f64::MAX)),
        Prefer::Energy => (c.joules_per_token.unwrap_or(f64::MAX), faster),
        Prefer::Cpu => (c.cpu_ms_per_token.unwrap_or(f64::MAX), faster),
    }
}

/// Why a candidate that met every constraint lost to `best`.
fn lost_to(c: &Candidate, best: &Candidate, prefer: Prefer) -> String {
    let v = |x: Option<f64>| x.unwrap_or(0.0);
    match prefer {
        Prefer::Speed => format!(
            "slower: {:.1} tok/s against {:.1} tok/s of {}",
            v(c.tokens_per_s),
            v(best.tokens_per_s),
            best.profile
        ),
        Prefer::Energy => format!(
            "more energy: {:.4} J/token against {:.4} J/token of {}",
            v(c.joules_per_token),
            v(best.joules_per_token),
            best.profile
        ),
        Prefer::Cpu => format!(
            "more host CPU: {:.2} ms/token against {:.2} ms/token of {}",
            v(c.cpu_ms_per_token),
            v(best.cpu_ms_per_token),
            best.profile
        ),
    }
}

/// Mark the candidates that break a constraint, and sort: the eligible first, by what `k`
/// prefers. Returns how many are eligible.
pub fn order(candidates: &mut [Candidate], k: &Constraints) -> usize {
    for c in candidates.iter_mut().filter(|c| c.lost.is_none()) {
        c.lost = violation(c, k);
    }
    candidates.sort_by(|a, b| {
        (a.lost.is_some(), rank(a, k.prefer))
            .partial_cmp(&(b.lost.is_some(), rank(b, k.prefer)))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    candidates.iter().filter(|c| c.lost.is_none()).count()
}

/// Order `candidates` (each with `lost` set when it failed or broke a constraint): the
/// eligible ones first, by what `k` prefers; every eligible one but the first says why it
/// lost to it. Returns the chosen profile, if any candidate is eligible.
pub fn choose(candidates: &mut [Candidate], k: &Constraints) -> Option<String> {
    order(candidates, k);
    let best = candidates.first().filter(|c| c.lost.is_none()).cloned()?;
    for c in candidates.iter_mut().skip(1).filter(|c| c.lost.is_none()) {
        c.lost = Some(lost_to(c, &best, k.prefer));
    }
    Some(best.profile)
}

/// Recommend a profile per (model, device, pipeline, cache) of a run. Preferring energy in
/// a run that could not read package energy is an error saying why it could not.
pub fn recommend(run: &RunFolder, k: &Constraints) -> Result<Vec<Recommendation>, super::DecisionError> {
    if k.prefer == Prefer::Energy || k.max_joules_per_token.is_some() {
        if let Some(why) = crate::fingerprint::energy_absence(&run.fingerprint) {
            return Err(super::DecisionError::NoEnergy {
                fingerprint: run.dir.join(crate::results::folder::file::FINGERPRINT).display().to_string(),
                why,
            });
        }
    }
    recommend_all(run, k)
}

/// Every cell of a run as a candidate (each cell's summary with it), in record order: its
/// figures, the worst golden verdict of its outputs and the longest prompt it accepts.
pub fn run_candidates(run: &RunFolder) -> Result<Vec<(CellSummary, Candidate)>, super::DecisionError> {
    let correctness = crate::correctness::run_correctness(run)?;
    let attempts = run.attempts();
    Ok(run
        .summaries()
        .into_iter()
        .map(|s| {
            let golden = correctness
                .golden
                .iter()
                .filter(|g| g.cell == s.cell)
                .max_by_key(|g| g.verdict.severity())
                .map(|g| g.verdict.name().to_string());
            let c = candidate(&s, golden, prompt_limit(&s.cell, run, &attempts));
            (s, c)
        })
        .collect())
}

fn recommend_all(run: &RunFolder, k: &Constraints) -> Result<Vec<Recommendation>, super::DecisionError> {
    let mut groups: Vec<(CellKey, Vec<(CellSummary, Candidate)>)> = Vec::new();
    for (s, c) in run_candidates(run)? {
        let group = CellKey { profile: String::new(), ..s.cell.clone() };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push((s, c)),
            None => groups.push((group, vec![(s, c)])),
        }
    }
    let recommendations = groups
        .into_iter()
        .filter(|(_, members)| members.iter().any(|(s, _)| s.status != CellStatus::Skipped))
        .map(|(group, members)| {
            let mut candidates: Vec<Candidate> = members.into_iter().map(|(_, c)| c).collect();
            let best = choose(&mut candidates, k);
            Recommendation {
                model: group.model,
                device: group.device,
                pipeline: group.pipeline,
                cache: group.cache.name().to_string(),
                best,
                candidates,
            }
        })
        .collect::<Vec<_>>();
    Ok(recommendations)
}
