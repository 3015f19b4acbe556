//! The A/B checks beside speed: each pair's outputs compared across the sides (the same
//! prompt, greedy, on both stacks at once), and the cache across stacks classified from
//! its probe. Both become reasons of the A/B verdict (`decide::ab`).

use crate::golden::divergence::{compare, Side as Transcript, Verdict};
use crate::results::pairs::{CacheProbe, Pair};
use crate::results::CellStatus;
use serde::Serialize;

/// One cell's outputs across the sides: every pair's candidate ids judged against its
/// baseline ids, as a run judges a transcript against its golden (the baseline's margin at
/// the first divergent step decides near tie or hard mismatch).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AbOutputs {
    /// Pairs compared.
    pub pairs: usize,
    /// Pairs whose ids are the same.
    pub identical: usize,
    /// Pairs that part at a near tie.
    pub near_ties: usize,
    /// Pairs that part with a clear margin.
    pub hard_mismatches: usize,
    /// The worst divergence, at its first pair: (pair, prompt, verdict).
    pub worst: Option<OutputDivergence>,
}

/// Where one pair's outputs part.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutputDivergence {
    /// The pair.
    pub pair: usize,
    /// Its prompt.
    pub prompt_id: String,
    /// The candidate's ids against the baseline's.
    pub verdict: Verdict,
}

impl AbOutputs {
    /// `identical in 91 of 91 pairs`, or the counts and the worst divergence.
    pub fn describe(&self) -> String {
        match &self.worst {
            None => format!("identical in {} of {} pairs", self.identical, self.pairs),
            Some(w) => format!(
                "{} of {} pairs identical, {} near tie(s), {} hard mismatch(es); worst: pair {} (prompt `{}`): {}",
                self.identical, self.pairs, self.near_ties, self.hard_mismatches, w.pair, w.prompt_id, w.verdict
            ),
        }
    }
}

/// Compare every pair's outputs (None without pairs). `near_tie`: the margin below which a
/// divergence is a precision flip (the scenario's golden setting).
pub fn compare_outputs(pairs: &[Pair], near_tie: f32) -> Option<AbOutputs> {
    if pairs.is_empty() {
        return None;
    }
    let mut out = AbOutputs { pairs: pairs.len(), identical: 0, near_ties: 0, hard_mismatches: 0, worst: None };
    for p in pairs {
        let verdict = compare(transcript(&p.baseline), transcript(&p.candidate), near_tie);
        match &verdict {
            Verdict::Identical { .. } => out.identical += 1,
            Verdict::NearTie(_) => out.near_ties += 1,
            _ => out.hard_mismatches += 1,
        }
        if verdict.severity() > out.worst.as_ref().map_or(0, |w| w.verdict.severity()) {
            out.worst = Some(OutputDivergence { pair: p.index, prompt_id: p.baseline.prompt_id.clone(), verdict });
        }
    }
    Some(out)
}

fn transcript(s: &crate::results::SampleRecord) -> Transcript<'_> {
    Transcript { ids: &s.metrics.output_ids, margins: &s.metrics.margins }
}

/// The cache across stacks, classified.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CacheReuse {
    /// The candidate loaded the baseline's blob and generated what one side's own compile
    /// generates.
    Reused {
        /// The candidate's compile (a blob import), ms.
        compile_ms: Option<f64>,
    },
    /// The candidate loaded the baseline's blob and generated ids neither side's own compile
    /// does: a stale blob in use.
    ReusedWrongOutputs {
        /// How its ids part from the candidate's own.
        verdict: Verdict,
    },
    /// The candidate compiled anew: the blob was ignored or rejected, and a first start
    /// after the upgrade pays a cold compile.
    Rebuilt {
        /// The candidate's compile, ms.
        compile_ms: Option<f64>,
        /// The plugin's words on it, if its log has any.
        messages: Vec<String>,
    },
    /// The candidate's compile or generation failed with the baseline's cache in place.
    Failing {
        /// Why.
        reason: String,
    },
    /// Not probed.
    NotProbed {
        /// Why.
        why: String,
    },
}

impl CacheReuse {
    /// In words, for reports.
    pub fn describe(&self) -> String {
        let ms = |v: &Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
        match self {
            CacheReuse::Reused { compile_ms } => {
                format!("reused: the candidate imported the baseline's blob ({}), same outputs", ms(compile_ms))
            }
            CacheReuse::ReusedWrongOutputs { verdict } => {
                format!("reused, but the outputs differ from the candidate's own compile: {verdict}")
            }
            CacheReuse::Rebuilt { compile_ms, messages } => {
                let said = match messages.first() {
                    Some(m) => format!("the plugin said: {m}"),
                    None => "without a message".to_string(),
                };
                format!(
                    "rebuilt: the candidate ignored the baseline's blob and compiled anew ({}), {said}",
                    ms(compile_ms)
                )
            }
            CacheReuse::Failing { reason } => format!("failing: with the baseline's cache in place, {reason}"),
            CacheReuse::NotProbed { why } => format!("not probed: {why}"),
        }
    }
}

/// Classify a cell's probe. `own`: the candidate's own generation of the probed prompt in
/// the pairs (its ids and margins), which a reused blob must reproduce, or the baseline's.
pub fn classify_cache(probe: &CacheProbe, pairs: &[Pair], near_tie: f32) -> CacheReuse {
    if let Some(why) = &probe.skipped {
        return CacheReuse::NotProbed { why: why.clone() };
    }
    if probe.status != CellStatus::Completed || probe.output_ids.is_empty() {
        let reason = probe.reason.clone().unwrap_or_else(|| format!("the cell {}", probe.status.name()));
        return CacheReuse::Failing { reason };
    }
    if probe.from_cache != Some(true) {
        return CacheReuse::Rebuilt { compile_ms: probe.compile_ms, messages: probe.messages.clone() };
    }
    let Some(pair) = pairs.iter().find(|p| p.candidate.prompt_id == probe.prompt_id) else {
        return CacheReuse::Reused { compile_ms: probe.compile_ms };
    };
    let got = Transcript { ids: &probe.output_ids, margins: &[] };
    let against_candidate = compare(transcript(&pair.candidate), got, near_tie);
    let against_baseline = compare(transcript(&pair.baseline), got, near_tie);
    match (against_candidate, against_baseline) {
        (Verdict::Identical { .. }, _) | (_, Verdict::Identical { .. }) => {
            CacheReuse::Reused { compile_ms: probe.compile_ms }
        }
        (verdict, _) => CacheReuse::ReusedWrongOutputs { verdict },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::pairs::CacheProbe;
    use crate::results::{SampleMetrics, SampleRecord};

    fn sample(ids: &[i64], margins: &[f32]) -> SampleRecord {
        let metrics: SampleMetrics = serde_json::from_value(serde_json::json!({
            "prompt_tokens": 3, "output_tokens": ids.len(), "ttft_ms": 10.0, "itl_ms": [], "e2e_ms": 20.0,
            "decode_tokens_per_s": null, "overhead_ms_per_token": 0.0, "infer_ms_per_token": 1.0,
            "truncated": false, "stop_reason": "max_new_tokens", "output_ids": ids, "margins": margins,
        }))
        .unwrap();
        let key = crate::plan::CellKey {
            model: "m".into(),
            pipeline: crate::pipeline_kind::PipelineKind::Kvcache,
            device: crate::runtime::Device::Cpu,
            profile: "p".into(),
            cache: crate::scenario::CacheMode::Warm,
        };
        SampleRecord { cell: key, prompt_id: "q".into(), rep: 0, warmup: false, metrics, ab: None, turn: None }
    }

    fn pair(index: usize, b: SampleRecord, c: SampleRecord) -> Pair {
        Pair { index, round: 0, first: None, steps: None, baseline: b, candidate: c }
    }

    #[test]
    fn pairs_parting_at_a_clear_margin_are_hard_mismatches_and_at_a_small_one_near_ties() {
        let same = pair(0, sample(&[1, 2, 3], &[2.0, 2.0, 2.0]), sample(&[1, 2, 3], &[2.0, 2.0, 2.0]));
        let flip = pair(1, sample(&[1, 2, 3], &[2.0, 0.05, 2.0]), sample(&[1, 7, 3], &[2.0, 0.01, 2.0]));
        let clear = pair(2, sample(&[1, 2, 3], &[2.0, 2.0, 3.0]), sample(&[1, 2, 9], &[2.0, 2.0, 1.0]));
        let o = compare_outputs(&[same.clone(), flip.clone()], 0.1).unwrap();
        assert_eq!((o.pairs, o.identical, o.near_ties, o.hard_mismatches), (2, 1, 1, 0));
        assert!(matches!(&o.worst, Some(w) if w.pair == 1 && matches!(w.verdict, Verdict::NearTie(_))), "{o:?}");
        let o = compare_outputs(&[same, flip, clear], 0.1).unwrap();
        assert_eq!((o.identical, o.near_ties, o.hard_mismatches), (1, 1, 1));
        let worst = o.worst.as_ref().unwrap();
        assert_eq!(worst.pair, 2);
        assert!(o.describe().contains("hard mismatch at step 2"), "{}", o.describe());
        assert_eq!(compare_outputs(&[], 0.1), None);
    }

    fn probe(from_cache: Option<bool>, ids: &[i64]) -> CacheProbe {
        CacheProbe {
            skipped: None,
            baseline_files: 1,
            status: CellStatus::Completed,
            reason: None,
            from_cache,
            compile_ms: Some(50.0),
            files_added: 0,
            prompt_id: "q".into(),
            output_ids: ids.to_vec(),
            messages: vec!["blob version mismatch".into()],
        }
    }

    #[test]
    fn a_probe_is_reused_rebuilt_failing_or_reused_into_other_outputs() {
        let pairs = [pair(0, sample(&[1, 2, 3], &[2.0; 3]), sample(&[1, 2, 4], &[2.0; 3]))];
        // Reused: the ids of either side's own compile.
        assert!(matches!(classify_cache(&probe(Some(true), &[1, 2, 4]), &pairs, 0.1), CacheReuse::Reused { .. }));
        assert!(matches!(classify_cache(&probe(Some(true), &[1, 2, 3]), &pairs, 0.1), CacheReuse::Reused { .. }));
        // A stale blob in use: ids neither side makes.
        let wrong = classify_cache(&probe(Some(true), &[5, 2, 3]), &pairs, 0.1);
        assert!(matches!(&wrong, CacheReuse::ReusedWrongOutputs { verdict: Verdict::HardMismatch(d) } if d.step == 0));
        // Rebuilt, with the plugin's words.
        let rebuilt = classify_cache(&probe(Some(false), &[1, 2, 4]), &pairs, 0.1);
        assert!(rebuilt.describe().contains("the plugin said: blob version mismatch"), "{}", rebuilt.describe());
        let mut failed = probe(None, &[]);
        (failed.status, failed.reason) = (CellStatus::Failed, Some("import failed".into()));
        assert_eq!(classify_cache(&failed, &pairs, 0.1), CacheReuse::Failing { reason: "import failed".into() });
        let skipped = CacheProbe::skipped("different models");
        assert_eq!(classify_cache(&skipped, &pairs, 0.1), CacheReuse::NotProbed { why: "different models".into() });
    }
}
