//! Computing the registry's statistics (see [`crate::metrics`]) from a cell's samples and
//! its record.

pub use crate::metrics::*;

use super::SampleMetrics;
use crate::stats;

impl SampleMetrics {
    /// The q-quantile of this sample's own inter-token latencies (None without a decode
    /// step): what one sample says of its steps, where the registry's `itl_*` metrics pool
    /// the steps of every sample.
    pub fn own_step_quantile(&self, q: f64) -> Option<f64> {
        stats::quantile(&self.itl_ms, q)
    }
}

impl SampleField {
    /// The field's value in one sample.
    pub fn of(self, s: &SampleMetrics) -> Option<f64> {
        match self {
            SampleField::Ttft => Some(s.ttft_ms),
            SampleField::DecodeTokensPerS => s.decode_tokens_per_s,
            SampleField::E2e => Some(s.e2e_ms),
            SampleField::PrefillCpu => s.usage.prefill_cpu_ms,
            SampleField::PeakRss => s.peak_rss_mb,
            SampleField::CpuPerToken => s.usage.cpu_ms_per_token,
            SampleField::PrefillJoules => s.usage.prefill_joules,
            SampleField::JoulesPerToken => s.usage.joules_per_token,
            SampleField::PrefillWatts => s.usage.prefill_watts,
            SampleField::DecodeWatts => s.usage.decode_watts,
            SampleField::PrefillNpuBusy => s.usage.prefill_npu_busy_pct,
            SampleField::DecodeNpuBusy => s.usage.decode_npu_busy_pct,
        }
    }
}

impl CellField {
    /// The field's value among a process's figures.
    pub fn of(self, p: &super::ProcessFigures) -> Option<f64> {
        match self {
            CellField::Load => p.load_ms,
            CellField::Compile => p.compile_ms,
            CellField::ColdCompile => p.cold_compile_ms,
            CellField::WarmCompile => p.compile_ms.filter(|_| p.from_cache == Some(true)),
            CellField::FirstInference => p.first_inference_ms,
            CellField::PeakRss => p.peak_rss_mb,
            CellField::CompilePeakRss => p.compile_peak_rss_mb,
            CellField::SteadyPeakRss => p.steady_peak_rss_mb,
        }
    }
}

impl Statistic {
    /// The values a quantile statistic is taken over: each sample's value of a per-sample
    /// quantity, or every decode step of every sample. None for the other statistics.
    fn values(&self, samples: &[&SampleMetrics]) -> Option<Vec<f64>> {
        match *self {
            Statistic::SampleQuantile { field, .. } => Some(samples.iter().filter_map(|s| field.of(s)).collect()),
            Statistic::StepQuantile { .. } => Some(samples.iter().flat_map(|s| s.itl_ms.iter().copied()).collect()),
            _ => None,
        }
    }

    /// The statistic over `samples` (exact quantiles). None for [`Statistic::Cell`] and
    /// [`Statistic::Descriptive`], or when the samples do not define it.
    pub fn compute(&self, samples: &[&SampleMetrics]) -> Option<f64> {
        match *self {
            Statistic::Cell { .. } | Statistic::Descriptive => None,
            Statistic::SampleQuantile { q, .. } | Statistic::StepQuantile { q } => {
                stats::quantile(&self.values(samples)?, q)
            }
            Statistic::OverheadShare => {
                let per_token: f64 = samples.iter().map(|s| s.overhead_ms_per_token + s.infer_ms_per_token).sum();
                let overhead: f64 = samples.iter().map(|s| s.overhead_ms_per_token).sum();
                (per_token > 0.0).then(|| 100.0 * overhead / per_token)
            }
        }
    }

    /// A median's values are what it summarizes; None for any other statistic.
    fn median_values(&self, samples: &[&SampleMetrics]) -> Option<Vec<f64>> {
        match *self {
            Statistic::SampleQuantile { q, .. } | Statistic::StepQuantile { q } if q == 0.5 => self.values(samples),
            _ => None,
        }
    }

    /// The interquartile range (25th and 75th percentile) of the quantity a median
    /// summarizes: how far the samples (or steps) behind the median spread. None for
    /// anything but a median, and below 4 values, where quartiles say nothing.
    pub fn spread(&self, samples: &[&SampleMetrics]) -> Option<(f64, f64)> {
        stats::quartiles(&self.median_values(samples)?)
    }

    /// The 10th and 90th percentile of the quantity a median summarizes (a chart's
    /// whiskers). None for anything but a median, and without values.
    pub fn whiskers(&self, samples: &[&SampleMetrics]) -> Option<(f64, f64)> {
        let values = self.median_values(samples)?;
        stats::quantile(&values, 0.1).zip(stats::quantile(&values, 0.9))
    }
}
