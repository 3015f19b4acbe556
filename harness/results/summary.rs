//! Per-cell summaries: the cell's outcome plus every registry metric computed from its
//! measured (non-warm-up) samples by the registry's own statistic ([`Statistic::compute`]),
//! the same code compare, qualify and recommend use, so a figure is the same number in
//! every output.

use super::metrics::{MetricId, Statistic, METRICS};
use super::{final_attempts, CellRecord, CellStatus, Record, SampleMetrics, SampleRecord};
use crate::plan::CellKey;
use crate::stats;
use serde::Serialize;
use std::collections::BTreeMap;

/// One row of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct CellSummary {
    /// The cell.
    pub cell: CellKey,
    /// Its outcome.
    pub status: CellStatus,
    /// Failure class or skip reason, for the table.
    pub reason: Option<String>,
    /// Warm-up samples excluded.
    pub warmup_samples: usize,
    /// Measured samples.
    pub measured_samples: usize,
    /// Whether the measured compile came from the cache.
    pub from_cache: Option<bool>,
    /// The cell's wall time in seconds, compile and warm-up included (0 for a skipped cell).
    pub wall_s: f64,
    /// Metric values by registry name (absent when not measurable).
    pub metrics: BTreeMap<MetricId, f64>,
    /// For each median: the 25th and 75th percentile of the same quantity, so a reader sees
    /// how far the figures behind it spread (absent below 4 values).
    pub spread: BTreeMap<MetricId, (f64, f64)>,
    /// For each median: the 10th and 90th percentile of the same quantity (a chart's
    /// whiskers). Held for the charts, not written: the summary files show the spread.
    #[serde(skip)]
    pub whiskers: BTreeMap<MetricId, (f64, f64)>,
    /// Why this cell's figures are unstable, one line each (empty: stable).
    pub unstable: Vec<String>,
    /// Every setting the compiled model reported (empty for a run made before bakeoff read
    /// them back, and for cells that never compiled).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub effective_properties: BTreeMap<String, String>,
    /// The profile's properties the compiled model reports otherwise, or not at all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub property_changes: Vec<crate::profiles::effective::PropertyChange>,
}

/// Decode tokens/s whose samples vary by more than this (coefficient of variation) make a
/// cell unstable: on a quiet machine the samples of a cell stay within a few percent, and a
/// cell beyond 10% is measuring its neighbours as much as itself.
pub const UNSTABLE_CV: f64 = 0.10;

/// Tukey's far-out fence: a value beyond the third quartile plus this many interquartile
/// ranges is an outlier no ordinary spread explains (a VM hiccup, a page-cache miss).
pub const FAR_OUT_IQR: f64 = 3.0;

/// Why a cell's measured samples are unstable, one line each: decode tokens/s varying
/// beyond [`UNSTABLE_CV`], and TTFT with far-out outliers (beyond [`FAR_OUT_IQR`]
/// interquartile ranges above the third quartile), as hyperfine and criterion warn about
/// theirs. Judged per sample, as they judge per run: single decode steps are not, because
/// their spread has a structure of its own (the first step after the prefill is regularly
/// slower than the rest) that would flag every healthy cell.
pub fn stability(measured: &[&SampleMetrics]) -> Vec<String> {
    let mut out = Vec::new();
    let tps: Vec<f64> = measured.iter().filter_map(|s| s.decode_tokens_per_s).collect();
    match stats::coefficient_of_variation(&tps) {
        Some(cv) if tps.len() >= 3 && cv > UNSTABLE_CV => out.push(format!(
            "decode tokens/s varies {:.0}% (coefficient of variation over {} samples; stable cells stay under {:.0}%)",
            100.0 * cv,
            tps.len(),
            100.0 * UNSTABLE_CV
        )),
        _ => {}
    }
    let ttft: Vec<f64> = measured.iter().map(|s| s.ttft_ms).collect();
    out.extend(far_outliers("TTFT", &ttft));
    out
}

/// The far-out outliers of `values`, described, if any (needs 4 values for quartiles).
fn far_outliers(what: &str, values: &[f64]) -> Option<String> {
    let (fence, far) = stats::beyond_upper_fence(values, FAR_OUT_IQR)?;
    let worst = far.iter().copied().fold(f64::MIN, f64::max);
    (!far.is_empty()).then(|| {
        format!(
            "{what} has {} far-out outlier(s) of {} (beyond Q3 + {FAR_OUT_IQR} IQR = {fence:.2} ms; worst {worst:.2} ms, median {:.2} ms)",
            far.len(),
            values.len(),
            stats::median(values).unwrap_or(f64::NAN)
        )
    })
}

/// Summarize one cell from its record and its samples.
pub fn summarize(cell: &CellRecord, samples: &[&SampleRecord]) -> CellSummary {
    let measured: Vec<&SampleMetrics> = samples.iter().filter(|s| !s.warmup).map(|s| &s.metrics).collect();
    let mut m = BTreeMap::new();
    let mut put = |id: MetricId, v: Option<f64>| {
        if let Some(v) = v {
            m.insert(id, v);
        }
    };
    for metric in METRICS {
        if let Statistic::Cell { field } = metric.statistic {
            put(metric.id, field.of(&cell.figures()));
        }
    }
    let (mut spread, mut whiskers) = (BTreeMap::new(), BTreeMap::new());
    for metric in METRICS {
        // Every per-sample metric (quantiles of per-sample values or of every decode step,
        // the overhead share) from the registry's statistic.
        if !matches!(metric.statistic, Statistic::Cell { .. } | Statistic::Descriptive) {
            put(metric.id, metric.statistic.compute(&measured));
        }
        if let Some(iqr) = metric.statistic.spread(&measured) {
            spread.insert(metric.id, iqr);
        }
        if let Some(range) = metric.statistic.whiskers(&measured) {
            whiskers.insert(metric.id, range);
        }
    }
    put(MetricId::PromptTokens, stats::mean(measured.iter().map(|s| s.prompt_tokens as f64)));
    put(MetricId::OutputTokens, stats::mean(measured.iter().map(|s| s.output_tokens as f64)));
    if !measured.is_empty() {
        m.insert(MetricId::TruncatedSamples, measured.iter().filter(|s| s.truncated).count() as f64);
    }
    CellSummary {
        cell: cell.cell.clone(),
        status: cell.status,
        reason: match (&cell.failure, &cell.reason) {
            (Some(f), Some(r)) => Some(format!("{f}: {r}")),
            (Some(f), None) => Some(f.to_string()),
            (None, r) => r.clone(),
        },
        warmup_samples: samples.len() - measured.len(),
        measured_samples: measured.len(),
        from_cache: cell.from_cache,
        wall_s: cell.wall_s,
        metrics: m,
        spread,
        whiskers,
        unstable: stability(&measured),
        property_changes: property_changes(cell),
        effective_properties: cell.effective_properties.clone(),
    }
}

/// What the plugin made of the cell's properties: nothing to say when it reported none.
fn property_changes(cell: &CellRecord) -> Vec<crate::profiles::effective::PropertyChange> {
    match (&cell.properties, cell.effective_properties.is_empty()) {
        (Some(set), false) => crate::profiles::effective::changes(&set.pairs(), &cell.effective_properties),
        _ => Vec::new(),
    }
}

/// Summaries of every cell that has an outcome record, in record order (the final attempt
/// of each, see [`final_attempts`]).
pub fn summarize_records(records: &[Record]) -> Vec<CellSummary> {
    final_attempts(records).iter().map(|a| summarize(a.cell, &a.samples)).collect()
}

/// One prompt length of one cell: what a token cost there (the scaling table), or why the
/// pipeline refused prompts of that length.
#[derive(Debug, Clone, Serialize)]
pub struct LengthCost {
    /// The cell.
    pub cell: CellKey,
    /// Prompt length, tokens.
    pub prompt_tokens: usize,
    /// Median time to first token, ms (the registry's `ttft_p50_ms`; None: refused).
    pub ttft_ms: Option<f64>,
    /// Median inter-token latency, ms (the registry's `itl_p50_ms`; None: one token only).
    pub itl_ms: Option<f64>,
    /// Tokens generated (the fewest over the samples: a full window or KV cache shows here).
    pub output_tokens: usize,
    /// Peak resident memory of the cell process's first generation of this length, MiB
    /// (warm-ups included), when no longer prompt ran before it in the process: the plugin
    /// keeps buffers sized for the longest prompt it has seen, so a later generation's peak
    /// says what came before it, not what this length needs. None where not measured, or
    /// where a longer prompt came first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    /// Why the pipeline refused prompts of this length (no sample then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Per length, the peak memory of the process's first generation of it, where every
/// generation before it was shorter (see [`LengthCost::peak_rss_mb`]).
fn first_peaks(samples: &[&SampleRecord]) -> BTreeMap<usize, f64> {
    let (mut out, mut longest) = (BTreeMap::new(), 0);
    for s in samples {
        let n = s.metrics.prompt_tokens;
        if n > longest {
            if let Some(peak) = s.metrics.peak_rss_mb {
                out.insert(n, peak);
            }
        }
        longest = longest.max(n);
    }
    out
}

/// Per cell and prompt length, the registry's median TTFT and median inter-token latency
/// over the measured samples and the memory its first generation needed (how each
/// pipeline's cost grows with the context), and the lengths it refused, with the reason.
pub fn cost_by_length(attempts: &[super::Attempt]) -> Vec<LengthCost> {
    let of = |id: MetricId, samples: &[&SampleMetrics]| id.metric().statistic.compute(samples);
    let mut out = Vec::new();
    // An unsupported cell refused every prompt: its rows say so (static128 past its window).
    for a in attempts.iter().filter(|a| matches!(a.cell.status, CellStatus::Completed | CellStatus::Unsupported)) {
        let mut by_len: BTreeMap<usize, Vec<&SampleMetrics>> = BTreeMap::new();
        for s in a.samples.iter().filter(|s| !s.warmup) {
            by_len.entry(s.metrics.prompt_tokens).or_default().push(&s.metrics);
        }
        let refused = a.cell.refused.iter().filter(|r| !by_len.contains_key(&r.prompt_tokens));
        let peaks = first_peaks(&a.samples);
        let mut rows: Vec<LengthCost> = by_len
            .iter()
            .map(|(&prompt_tokens, samples)| LengthCost {
                cell: a.cell.cell.clone(),
                prompt_tokens,
                ttft_ms: of(MetricId::TtftP50Ms, samples),
                itl_ms: of(MetricId::ItlP50Ms, samples),
                output_tokens: samples.iter().map(|s| s.output_tokens).min().unwrap_or(0),
                peak_rss_mb: peaks.get(&prompt_tokens).copied(),
                refused: None,
            })
            .chain(refused.map(|r| LengthCost {
                cell: a.cell.cell.clone(),
                prompt_tokens: r.prompt_tokens,
                ttft_ms: None,
                itl_ms: None,
                output_tokens: 0,
                peak_rss_mb: None,
                refused: Some(r.reason.clone()),
            }))
            .collect();
        rows.sort_by_key(|r| r.prompt_tokens);
        out.extend(rows);
    }
    out
}

/// One turn of a cell's conversations in one history mode: the registry's median TTFT and
/// inter-token latency over every conversation's samples of that turn, and what its prefill
/// fed (a kept state feeds only the new turn; a recompute feeds the whole history).
#[derive(Debug, Clone, Serialize)]
pub struct TurnCost {
    /// The cell.
    pub cell: CellKey,
    /// Kept state or recomputed history.
    pub history: crate::scenario::HistoryMode,
    /// The turn, from 1.
    pub turn: usize,
    /// Measured samples (conversations times repetitions).
    pub samples: usize,
    /// Median history length, tokens (the whole prompt of the turn).
    pub history_tokens: f64,
    /// Median tokens the turn's prefill fed.
    pub prefilled_tokens: f64,
    /// Median tokens the turn generated (its answer).
    pub output_tokens: f64,
    /// Median time to first token, ms (the registry's `ttft_p50_ms`).
    pub ttft_ms: Option<f64>,
    /// Median inter-token latency, ms (the registry's `itl_p50_ms`).
    pub itl_ms: Option<f64>,
}

/// Per cell, history mode and turn, what a conversation's turn cost: how keeping the KV
/// state shows in each turn's TTFT.
pub fn cost_by_turn(attempts: &[super::Attempt]) -> Vec<TurnCost> {
    let mut out = Vec::new();
    for a in attempts.iter().filter(|a| a.cell.status == CellStatus::Completed) {
        let mut by_turn: BTreeMap<(crate::scenario::HistoryMode, usize), Vec<&SampleRecord>> = BTreeMap::new();
        for s in a.samples.iter().filter(|s| !s.warmup) {
            if let Some(t) = &s.turn {
                by_turn.entry((t.history, t.turn)).or_default().push(s);
            }
        }
        for ((history, turn), samples) in by_turn {
            let metrics: Vec<&SampleMetrics> = samples.iter().map(|s| &s.metrics).collect();
            let median = |f: &dyn Fn(&SampleRecord) -> usize| {
                stats::median(&samples.iter().map(|s| f(s) as f64).collect::<Vec<_>>()).unwrap_or(0.0)
            };
            out.push(TurnCost {
                cell: a.cell.cell.clone(),
                history,
                turn,
                samples: samples.len(),
                history_tokens: median(&|s| s.metrics.prompt_tokens),
                prefilled_tokens: median(&|s| s.turn.as_ref().map_or(0, |t| t.prefilled_tokens)),
                output_tokens: median(&|s| s.metrics.output_tokens),
                ttft_ms: MetricId::TtftP50Ms.metric().statistic.compute(&metrics),
                itl_ms: MetricId::ItlP50Ms.metric().statistic.compute(&metrics),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipelines::{Step, StopReason, Transcript};
    use crate::results::{Attempt, SampleRecord};

    fn sample(key: &CellKey, prompt: usize, steps: &[f64], warmup: bool) -> SampleRecord {
        let steps: Vec<Step> = steps
            .iter()
            .enumerate()
            .map(|(i, &ms)| Step { id: i as i64, margin: 1.0, step_ms: ms, infer_ms: ms })
            .collect();
        let t = Transcript {
            prompt_ids: vec![0; prompt],
            output_ids: steps.iter().map(|s| s.id).collect(),
            steps,
            stop_reason: StopReason::MaxNewTokens,
            truncated: false,
        };
        SampleRecord::from_transcript(key, "p", 0, warmup, &t)
    }

    #[test]
    fn cost_by_length_groups_measured_samples_by_prompt_length() {
        let key: CellKey = serde_json::from_value(serde_json::json!({
            "model": "m", "pipeline": "kvcache", "device": "CPU", "profile": "p", "cache": "warm"
        }))
        .unwrap();
        let samples = [
            sample(&key, 16, &[99.0, 99.0], true), // warm-up: excluded
            sample(&key, 16, &[20.0, 8.0, 9.0], false),
            sample(&key, 16, &[22.0, 8.0, 8.0], false),
            sample(&key, 64, &[50.0, 8.0], false),
        ];
        let cell = CellRecord::new(&key, CellStatus::Completed);
        let attempt = Attempt { cell: &cell, samples: samples.iter().collect() };
        let rows = cost_by_length(&[attempt]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].prompt_tokens, rows[0].ttft_ms, rows[0].itl_ms, rows[0].output_tokens),
            (16, Some(21.0), Some(8.0), 3)
        );
        assert_eq!(
            (rows[1].prompt_tokens, rows[1].ttft_ms, rows[1].itl_ms, rows[1].output_tokens),
            (64, Some(50.0), Some(8.0), 2)
        );
    }

    #[test]
    fn refused_lengths_are_rows_without_figures_and_memory_is_the_first_generation_of_a_length() {
        let key: CellKey = serde_json::from_value(serde_json::json!({
            "model": "m", "pipeline": "kvcache", "device": "NPU:host", "profile": "p", "cache": "warm"
        }))
        .unwrap();
        let mut samples = [
            sample(&key, 500, &[40.0, 8.0], false),
            sample(&key, 900, &[60.0, 8.0], false),
            sample(&key, 500, &[42.0, 8.0], false),
            sample(&key, 100, &[10.0, 8.0], false),
        ];
        for (s, peak) in samples.iter_mut().zip([300.0, 380.0, 390.0, 395.0]) {
            s.metrics.peak_rss_mb = Some(peak);
        }
        let mut cell = CellRecord::new(&key, CellStatus::Completed);
        cell.refused.push(crate::results::RefusedPrompt {
            prompt_id: "long".into(),
            prompt_tokens: 2000,
            reason: "prompt over NPUW_LLM_MAX_PROMPT_LEN".into(),
        });
        let attempt = Attempt { cell: &cell, samples: samples.iter().collect() };
        let rows = cost_by_length(&[attempt]);
        assert_eq!(rows.len(), 4);
        // The first generation of each length, unless a longer one ran before it.
        let peaks: Vec<(usize, Option<f64>)> = rows.iter().map(|r| (r.prompt_tokens, r.peak_rss_mb)).collect();
        assert_eq!(peaks[..3], [(100, None), (500, Some(300.0)), (900, Some(380.0))]);
        assert_eq!((rows[3].prompt_tokens, rows[3].ttft_ms, rows[3].refused.is_some()), (2000, None, true));
    }
}
