//! The metric registry: every metric's name, unit, direction, description, how it is computed
//! from a cell's samples and its noise threshold, declared once. The CSV, JSON and markdown
//! summaries, the comparison, qualification, recommendation and the charts all read this
//! list, the way llama-bench drives every output format from one field list. It is data
//! with no dependency, so a scenario can check its `[compare.noise]` names when it loads;
//! how each statistic is computed from samples lives with the samples (`results::metrics`).

use serde::Serialize;

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smaller is better (latencies, memory).
    Lower,
    /// Larger is better (throughput).
    Higher,
    /// Descriptive only (token counts).
    Neither,
}

/// A per-sample quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleField {
    /// Time to first token.
    Ttft,
    /// Decode tokens per second.
    DecodeTokensPerS,
    /// Whole generation time.
    E2e,
    /// Host CPU time of the prefill.
    PrefillCpu,
    /// Host CPU time per decode token.
    CpuPerToken,
    /// Package energy of the prefill.
    PrefillJoules,
    /// Package energy per decode token.
    JoulesPerToken,
    /// Average package power during the prefill.
    PrefillWatts,
    /// Average package power during the decode.
    DecodeWatts,
    /// NPU busy share of the prefill.
    PrefillNpuBusy,
    /// NPU busy share of the decode.
    DecodeNpuBusy,
}

/// A value the cell's outcome record holds once per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellField {
    /// read_model time.
    Load,
    /// compile_model time.
    Compile,
    /// Peak RSS of the cell's process.
    PeakRss,
}

/// How a metric comes out of a cell's measured samples: what the comparison resamples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Statistic {
    /// One value per cell (from the cell's record): nothing to resample.
    Cell {
        /// Which value.
        field: CellField,
    },
    /// A quantile (0.5 = median, 1 = max) of a per-sample quantity.
    SampleQuantile {
        /// The quantity.
        field: SampleField,
        /// The quantile.
        q: f64,
    },
    /// A quantile of every decode step of every sample (inter-token latency).
    StepQuantile {
        /// The quantile.
        q: f64,
    },
    /// Time outside infer() as a share of the per-token time.
    OverheadShare,
    /// Descriptive only (token counts): never judged.
    Descriptive,
}

/// A metric of a cell summary.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Metric {
    /// Column name in every output.
    pub name: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// Which way is better.
    pub direction: Direction,
    /// What it measures.
    pub description: &'static str,
    /// How it comes out of the samples.
    pub statistic: Statistic,
    /// Default noise threshold (fraction): a significant change smaller than this is no
    /// change. A scenario's `[compare] noise` overrides it per metric.
    pub noise: f64,
}

const fn m(
    name: &'static str,
    unit: &'static str,
    direction: Direction,
    description: &'static str,
    statistic: Statistic,
    noise: f64,
) -> Metric {
    Metric { name, unit, direction, description, statistic, noise }
}

const fn sq(field: SampleField, q: f64) -> Statistic {
    Statistic::SampleQuantile { field, q }
}

const fn cell(field: CellField) -> Statistic {
    Statistic::Cell { field }
}

const fn itl(q: f64) -> Statistic {
    Statistic::StepQuantile { q }
}

use Direction::{Higher, Lower, Neither};
use SampleField::{
    CpuPerToken, DecodeNpuBusy, DecodeTokensPerS, DecodeWatts, E2e, JoulesPerToken, PrefillCpu, PrefillJoules,
    PrefillNpuBusy, PrefillWatts, Ttft,
};

/// Every metric, in output order.
pub const METRICS: &[Metric] = &[
    m("load_ms", "ms", Lower, "read_model time of the cell's IR", cell(CellField::Load), 0.25),
    m("compile_ms", "ms", Lower, "compile_model time (a cache load for warm cells)", cell(CellField::Compile), 0.25),
    m("ttft_p50_ms", "ms", Lower, "time to first token, median over samples", sq(Ttft, 0.5), 0.10),
    m("ttft_p90_ms", "ms", Lower, "time to first token, 90th percentile", sq(Ttft, 0.9), 0.15),
    m("ttft_p99_ms", "ms", Lower, "time to first token, 99th percentile", sq(Ttft, 0.99), 0.25),
    m("ttft_max_ms", "ms", Lower, "time to first token, worst sample", sq(Ttft, 1.0), 0.50),
    m("itl_p50_ms", "ms", Lower, "inter-token latency, median over every decode step", itl(0.5), 0.05),
    m("itl_p90_ms", "ms", Lower, "inter-token latency, 90th percentile", itl(0.9), 0.10),
    m("itl_p99_ms", "ms", Lower, "inter-token latency, 99th percentile", itl(0.99), 0.25),
    m("itl_max_ms", "ms", Lower, "inter-token latency, worst step", itl(1.0), 0.50),
    m(
        "decode_tokens_per_s",
        "tok/s",
        Higher,
        "decode throughput after the first token, median over samples",
        sq(DecodeTokensPerS, 0.5),
        0.05,
    ),
    m("e2e_p50_ms", "ms", Lower, "whole generation, median over samples", sq(E2e, 0.5), 0.05),
    m(
        "prefill_cpu_ms",
        "ms",
        Lower,
        "host CPU time (every thread, user + system) of the prefill, median over samples",
        sq(PrefillCpu, 0.5),
        0.25,
    ),
    m(
        "cpu_ms_per_token",
        "ms",
        Lower,
        "host CPU time per decode token (every thread, user + system), median over samples",
        sq(CpuPerToken, 0.5),
        0.25,
    ),
    m("prefill_joules", "J", Lower, "package energy (RAPL) of the prefill, median", sq(PrefillJoules, 0.5), 0.25),
    m("joules_per_token", "J", Lower, "package energy (RAPL) per decode token, median", sq(JoulesPerToken, 0.5), 0.25),
    m("prefill_watts", "W", Lower, "average package power during the prefill, median", sq(PrefillWatts, 0.5), 0.25),
    m("decode_watts", "W", Lower, "average package power during the decode, median", sq(DecodeWatts, 0.5), 0.25),
    m(
        "prefill_npu_busy_pct",
        "%",
        Neither,
        "share of the prefill's wall time the NPU was busy (driver counter), median",
        sq(PrefillNpuBusy, 0.5),
        0.0,
    ),
    m(
        "decode_npu_busy_pct",
        "%",
        Neither,
        "share of the decode's wall time the NPU was busy (driver counter), median",
        sq(DecodeNpuBusy, 0.5),
        0.0,
    ),
    m(
        "overhead_share_pct",
        "%",
        Lower,
        "harness time outside infer() as a share of the per-token time",
        Statistic::OverheadShare,
        1.0,
    ),
    m("peak_rss_mb", "MiB", Lower, "peak resident memory of the cell's process", cell(CellField::PeakRss), 0.10),
    m("prompt_tokens", "tokens", Neither, "mean prompt length", Statistic::Descriptive, 0.0),
    m("output_tokens", "tokens", Neither, "mean generated tokens per sample", Statistic::Descriptive, 0.0),
    m(
        "truncated_samples",
        "samples",
        Neither,
        "samples whose static window dropped older tokens",
        Statistic::Descriptive,
        0.0,
    ),
];

/// The metric of a name.
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}
