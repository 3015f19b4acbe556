//! The metric registry: every metric's name, unit, direction, description, how it is computed
//! from a cell's samples and its noise threshold, declared once. The CSV, JSON and markdown
//! summaries, the comparison, qualification, recommendation and the charts all read this
//! list, the way llama-bench drives every output format from one field list. It is data
//! with no dependency, so a scenario can check its `[compare.noise]` names when it loads;
//! how each statistic is computed from samples lives with the samples (`results::metrics`).
//! Code names a metric by its [`MetricId`], never by its string, so a renamed metric is a
//! compile error wherever it is used; strings are for outputs and for scenario keys, which
//! are checked against the registry when a scenario loads.

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
    /// Peak resident memory during the generation.
    PeakRss,
}

/// A value a cell's process measures once, not per sample (its compiles, memory, first
/// generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellField {
    /// read_model time.
    Load,
    /// compile_model time (a cache load for a warm cell).
    Compile,
    /// A compile that did not come from the cache (into an empty one).
    ColdCompile,
    /// A compile that came from the cache (a blob import).
    WarmCompile,
    /// The first generation's time to first token.
    FirstInference,
    /// Peak RSS of the cell's process.
    PeakRss,
    /// Peak RSS of the compile phase.
    CompilePeakRss,
    /// Peak RSS after the compile phase.
    SteadyPeakRss,
}

/// How a metric comes out of a cell's measured samples: what the comparison resamples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Statistic {
    /// One value per cell process (from its record). A run's cell has one process: its
    /// value, nothing to resample. An A/B side has one process per round: its figure is the
    /// median over rounds, and the change is judged from the rounds' pairs.
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

/// A metric of the registry, by identity: code names a metric by this, never by its string,
/// so renaming or removing a metric is a compile error wherever it is used. The string
/// ([`MetricId::name`]) is what every output and every scenario key says; maps keyed by
/// it sort by that string, as the summary files always have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricId {
    /// `load_ms`.
    LoadMs,
    /// `compile_ms`.
    CompileMs,
    /// `cold_compile_ms`.
    ColdCompileMs,
    /// `warm_compile_ms`.
    WarmCompileMs,
    /// `first_inference_ms`.
    FirstInferenceMs,
    /// `ttft_p50_ms`.
    TtftP50Ms,
    /// `ttft_p90_ms`.
    TtftP90Ms,
    /// `ttft_p99_ms`.
    TtftP99Ms,
    /// `ttft_max_ms`.
    TtftMaxMs,
    /// `itl_p50_ms`.
    ItlP50Ms,
    /// `itl_p90_ms`.
    ItlP90Ms,
    /// `itl_p99_ms`.
    ItlP99Ms,
    /// `itl_max_ms`.
    ItlMaxMs,
    /// `decode_tokens_per_s`.
    DecodeTokensPerS,
    /// `e2e_p50_ms`.
    E2eP50Ms,
    /// `prefill_cpu_ms`.
    PrefillCpuMs,
    /// `cpu_ms_per_token`.
    CpuMsPerToken,
    /// `prefill_joules`.
    PrefillJoules,
    /// `joules_per_token`.
    JoulesPerToken,
    /// `prefill_watts`.
    PrefillWatts,
    /// `decode_watts`.
    DecodeWatts,
    /// `prefill_npu_busy_pct`.
    PrefillNpuBusyPct,
    /// `decode_npu_busy_pct`.
    DecodeNpuBusyPct,
    /// `overhead_share_pct`.
    OverheadSharePct,
    /// `peak_rss_mb`.
    PeakRssMb,
    /// `compile_peak_rss_mb`.
    CompilePeakRssMb,
    /// `steady_peak_rss_mb`.
    SteadyPeakRssMb,
    /// `generation_peak_rss_mb`.
    GenerationPeakRssMb,
    /// `prompt_tokens`.
    PromptTokens,
    /// `output_tokens`.
    OutputTokens,
    /// `truncated_samples`.
    TruncatedSamples,
}

impl MetricId {
    /// Every metric, in the registry's order.
    pub const ALL: [MetricId; 31] = [
        MetricId::LoadMs,
        MetricId::CompileMs,
        MetricId::ColdCompileMs,
        MetricId::WarmCompileMs,
        MetricId::FirstInferenceMs,
        MetricId::TtftP50Ms,
        MetricId::TtftP90Ms,
        MetricId::TtftP99Ms,
        MetricId::TtftMaxMs,
        MetricId::ItlP50Ms,
        MetricId::ItlP90Ms,
        MetricId::ItlP99Ms,
        MetricId::ItlMaxMs,
        MetricId::DecodeTokensPerS,
        MetricId::E2eP50Ms,
        MetricId::PrefillCpuMs,
        MetricId::CpuMsPerToken,
        MetricId::PrefillJoules,
        MetricId::JoulesPerToken,
        MetricId::PrefillWatts,
        MetricId::DecodeWatts,
        MetricId::PrefillNpuBusyPct,
        MetricId::DecodeNpuBusyPct,
        MetricId::OverheadSharePct,
        MetricId::PeakRssMb,
        MetricId::CompilePeakRssMb,
        MetricId::SteadyPeakRssMb,
        MetricId::GenerationPeakRssMb,
        MetricId::PromptTokens,
        MetricId::OutputTokens,
        MetricId::TruncatedSamples,
    ];

    /// The name in every output and scenario.
    pub const fn name(self) -> &'static str {
        match self {
            MetricId::LoadMs => "load_ms",
            MetricId::CompileMs => "compile_ms",
            MetricId::ColdCompileMs => "cold_compile_ms",
            MetricId::WarmCompileMs => "warm_compile_ms",
            MetricId::FirstInferenceMs => "first_inference_ms",
            MetricId::TtftP50Ms => "ttft_p50_ms",
            MetricId::TtftP90Ms => "ttft_p90_ms",
            MetricId::TtftP99Ms => "ttft_p99_ms",
            MetricId::TtftMaxMs => "ttft_max_ms",
            MetricId::ItlP50Ms => "itl_p50_ms",
            MetricId::ItlP90Ms => "itl_p90_ms",
            MetricId::ItlP99Ms => "itl_p99_ms",
            MetricId::ItlMaxMs => "itl_max_ms",
            MetricId::DecodeTokensPerS => "decode_tokens_per_s",
            MetricId::E2eP50Ms => "e2e_p50_ms",
            MetricId::PrefillCpuMs => "prefill_cpu_ms",
            MetricId::CpuMsPerToken => "cpu_ms_per_token",
            MetricId::PrefillJoules => "prefill_joules",
            MetricId::JoulesPerToken => "joules_per_token",
            MetricId::PrefillWatts => "prefill_watts",
            MetricId::DecodeWatts => "decode_watts",
            MetricId::PrefillNpuBusyPct => "prefill_npu_busy_pct",
            MetricId::DecodeNpuBusyPct => "decode_npu_busy_pct",
            MetricId::OverheadSharePct => "overhead_share_pct",
            MetricId::PeakRssMb => "peak_rss_mb",
            MetricId::CompilePeakRssMb => "compile_peak_rss_mb",
            MetricId::SteadyPeakRssMb => "steady_peak_rss_mb",
            MetricId::GenerationPeakRssMb => "generation_peak_rss_mb",
            MetricId::PromptTokens => "prompt_tokens",
            MetricId::OutputTokens => "output_tokens",
            MetricId::TruncatedSamples => "truncated_samples",
        }
    }

    /// The metric called `name` (a scenario key, a column read back).
    pub fn parse(name: &str) -> Option<MetricId> {
        MetricId::ALL.into_iter().find(|id| id.name() == name)
    }

    /// Its entry in the registry.
    pub fn metric(self) -> &'static Metric {
        METRICS.iter().find(|m| m.id == self).expect("every metric id has a registry entry")
    }
}

/// Display, order and serialize an identifier by its `name()`: maps keyed by it sort and
/// print as their string keys always have, and an output shows the name, never the variant.
#[macro_export]
macro_rules! named_identifier {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Ord for $t {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.name().cmp(other.name())
            }
        }

        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

named_identifier!(MetricId);

impl<'de> serde::Deserialize<'de> for MetricId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        MetricId::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown metric `{name}`")))
    }
}

/// A metric of a cell summary.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Metric {
    /// Which metric.
    #[serde(skip)]
    pub id: MetricId,
    /// Column name in every output (`id.name()`).
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
    id: MetricId,
    unit: &'static str,
    direction: Direction,
    description: &'static str,
    statistic: Statistic,
    noise: f64,
) -> Metric {
    Metric { id, name: id.name(), unit, direction, description, statistic, noise }
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
    CpuPerToken, DecodeNpuBusy, DecodeTokensPerS, DecodeWatts, E2e, JoulesPerToken, PeakRss, PrefillCpu, PrefillJoules,
    PrefillNpuBusy, PrefillWatts, Ttft,
};

/// Every metric, in output order.
pub const METRICS: &[Metric] = &[
    m(MetricId::LoadMs, "ms", Lower, "read_model time of the cell's IR", cell(CellField::Load), 0.25),
    m(
        MetricId::CompileMs,
        "ms",
        Lower,
        "compile_model time (a cache load for warm cells)",
        cell(CellField::Compile),
        0.25,
    ),
    m(
        MetricId::ColdCompileMs,
        "ms",
        Lower,
        "compile_model into an empty cache: what a first start pays",
        cell(CellField::ColdCompile),
        0.25,
    ),
    m(
        MetricId::WarmCompileMs,
        "ms",
        Lower,
        "compile_model from a cache hit (the compiled blob imported)",
        cell(CellField::WarmCompile),
        0.25,
    ),
    m(
        MetricId::FirstInferenceMs,
        "ms",
        Lower,
        "time to first token of the process's first generation after compile (one-time setup included)",
        cell(CellField::FirstInference),
        0.25,
    ),
    m(MetricId::TtftP50Ms, "ms", Lower, "time to first token, median over samples", sq(Ttft, 0.5), 0.10),
    m(MetricId::TtftP90Ms, "ms", Lower, "time to first token, 90th percentile", sq(Ttft, 0.9), 0.15),
    m(MetricId::TtftP99Ms, "ms", Lower, "time to first token, 99th percentile", sq(Ttft, 0.99), 0.25),
    m(MetricId::TtftMaxMs, "ms", Lower, "time to first token, worst sample", sq(Ttft, 1.0), 0.50),
    m(MetricId::ItlP50Ms, "ms", Lower, "inter-token latency, median over every decode step", itl(0.5), 0.05),
    m(MetricId::ItlP90Ms, "ms", Lower, "inter-token latency, 90th percentile", itl(0.9), 0.10),
    m(MetricId::ItlP99Ms, "ms", Lower, "inter-token latency, 99th percentile", itl(0.99), 0.25),
    m(MetricId::ItlMaxMs, "ms", Lower, "inter-token latency, worst step", itl(1.0), 0.50),
    m(
        MetricId::DecodeTokensPerS,
        "tok/s",
        Higher,
        "decode throughput after the first token, median over samples",
        sq(DecodeTokensPerS, 0.5),
        0.05,
    ),
    m(MetricId::E2eP50Ms, "ms", Lower, "whole generation, median over samples", sq(E2e, 0.5), 0.05),
    m(
        MetricId::PrefillCpuMs,
        "ms",
        Lower,
        "host CPU time (every thread, user + system) of the prefill, median over samples",
        sq(PrefillCpu, 0.5),
        0.25,
    ),
    m(
        MetricId::CpuMsPerToken,
        "ms",
        Lower,
        "host CPU time per decode token (every thread, user + system), median over samples",
        sq(CpuPerToken, 0.5),
        0.25,
    ),
    m(
        MetricId::PrefillJoules,
        "J",
        Lower,
        "package energy (RAPL) of the prefill, median",
        sq(PrefillJoules, 0.5),
        0.25,
    ),
    m(
        MetricId::JoulesPerToken,
        "J",
        Lower,
        "package energy (RAPL) per decode token, median",
        sq(JoulesPerToken, 0.5),
        0.25,
    ),
    m(
        MetricId::PrefillWatts,
        "W",
        Lower,
        "average package power during the prefill, median",
        sq(PrefillWatts, 0.5),
        0.25,
    ),
    m(MetricId::DecodeWatts, "W", Lower, "average package power during the decode, median", sq(DecodeWatts, 0.5), 0.25),
    m(
        MetricId::PrefillNpuBusyPct,
        "%",
        Neither,
        "share of the prefill's wall time the NPU was busy (driver counter), median",
        sq(PrefillNpuBusy, 0.5),
        0.0,
    ),
    m(
        MetricId::DecodeNpuBusyPct,
        "%",
        Neither,
        "share of the decode's wall time the NPU was busy (driver counter), median",
        sq(DecodeNpuBusy, 0.5),
        0.0,
    ),
    m(
        MetricId::OverheadSharePct,
        "%",
        Lower,
        "harness time outside infer() as a share of the per-token time",
        Statistic::OverheadShare,
        1.0,
    ),
    m(MetricId::PeakRssMb, "MiB", Lower, "peak resident memory of the cell's process", cell(CellField::PeakRss), 0.10),
    m(
        MetricId::CompilePeakRssMb,
        "MiB",
        Lower,
        "peak resident memory of the compile phase (read_model and every compile)",
        cell(CellField::CompilePeakRss),
        0.10,
    ),
    m(
        MetricId::SteadyPeakRssMb,
        "MiB",
        Lower,
        "peak resident memory after the compile phase (warm-ups and generations)",
        cell(CellField::SteadyPeakRss),
        0.10,
    ),
    m(
        MetricId::GenerationPeakRssMb,
        "MiB",
        Lower,
        "peak resident memory during one generation (the high-water mark reset before it), largest over samples; \
         memory kept from an earlier, longer generation counts",
        sq(PeakRss, 1.0),
        0.10,
    ),
    m(MetricId::PromptTokens, "tokens", Neither, "mean prompt length", Statistic::Descriptive, 0.0),
    m(MetricId::OutputTokens, "tokens", Neither, "mean generated tokens per sample", Statistic::Descriptive, 0.0),
    m(
        MetricId::TruncatedSamples,
        "samples",
        Neither,
        "samples whose static window dropped older tokens",
        Statistic::Descriptive,
        0.0,
    ),
];

/// The metric of a name.
pub fn metric(name: &str) -> Option<&'static Metric> {
    MetricId::parse(name).map(MetricId::metric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_identifier_has_one_registry_entry_in_the_same_order() {
        let ids: Vec<MetricId> = METRICS.iter().map(|m| m.id).collect();
        assert_eq!(ids, MetricId::ALL, "METRICS lists every MetricId once, in ALL's order");
        for id in MetricId::ALL {
            assert_eq!(id.metric().name, id.name());
            assert_eq!(MetricId::parse(id.name()), Some(id));
            assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
        }
        assert_eq!(MetricId::parse("speed"), None);
    }

    #[test]
    fn maps_keyed_by_identifier_sort_by_name() {
        let map: std::collections::BTreeMap<MetricId, f64> =
            [(MetricId::TtftP50Ms, 1.0), (MetricId::CompileMs, 2.0), (MetricId::DecodeTokensPerS, 3.0)].into();
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"compile_ms":2.0,"decode_tokens_per_s":3.0,"ttft_p50_ms":1.0}"#
        );
    }
}
