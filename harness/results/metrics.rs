//! The metric registry: every metric's name, unit, direction and description, declared once.
//! The CSV, JSON and markdown summaries (and later the comparison and charts) all read this
//! list, the way llama-bench drives every output format from one field list.

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
}

const fn m(name: &'static str, unit: &'static str, direction: Direction, description: &'static str) -> Metric {
    Metric { name, unit, direction, description }
}

/// Every metric, in output order.
pub const METRICS: &[Metric] = &[
    m("load_ms", "ms", Direction::Lower, "read_model time of the cell's IR"),
    m("compile_ms", "ms", Direction::Lower, "compile_model time (a cache load for warm cells)"),
    m("ttft_p50_ms", "ms", Direction::Lower, "time to first token, median over samples"),
    m("ttft_p90_ms", "ms", Direction::Lower, "time to first token, 90th percentile"),
    m("ttft_p99_ms", "ms", Direction::Lower, "time to first token, 99th percentile"),
    m("ttft_max_ms", "ms", Direction::Lower, "time to first token, worst sample"),
    m("itl_p50_ms", "ms", Direction::Lower, "inter-token latency, median over every decode step"),
    m("itl_p90_ms", "ms", Direction::Lower, "inter-token latency, 90th percentile"),
    m("itl_p99_ms", "ms", Direction::Lower, "inter-token latency, 99th percentile"),
    m("itl_max_ms", "ms", Direction::Lower, "inter-token latency, worst step"),
    m(
        "decode_tokens_per_s",
        "tok/s",
        Direction::Higher,
        "decode throughput after the first token, median over samples",
    ),
    m("e2e_p50_ms", "ms", Direction::Lower, "whole generation, median over samples"),
    m("overhead_share_pct", "%", Direction::Lower, "harness time outside infer() as a share of the per-token time"),
    m("peak_rss_mb", "MiB", Direction::Lower, "peak resident memory of the cell's process"),
    m("prompt_tokens", "tokens", Direction::Neither, "mean prompt length"),
    m("output_tokens", "tokens", Direction::Neither, "mean generated tokens per sample"),
    m("truncated_samples", "samples", Direction::Neither, "samples whose static window dropped older tokens"),
];
