//! Quantiles of a stream of durations too long to hold (a soak's every decode step), in
//! bounded memory: an HDR histogram at microsecond resolution and 3 significant digits,
//! nearest rank. Its figures are approximations of their own and are never compared with
//! the exact quantiles of [`super::quantile`].

use hdrhistogram::Histogram;

/// A stream of durations in milliseconds.
#[derive(Debug, Clone)]
pub struct DurationStream {
    hist: Histogram<u64>,
}

impl Default for DurationStream {
    fn default() -> Self {
        // 1 us to an hour: a fixed size (about 200 KiB) however long the stream runs; a
        // duration beyond an hour counts as an hour.
        let hist = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds and 3 significant digits");
        DurationStream { hist }
    }
}

impl DurationStream {
    /// Count one duration of `ms` (below a microsecond counts as one).
    pub fn record(&mut self, ms: f64) {
        let us = (ms * 1000.0).round().max(1.0) as u64;
        self.hist.saturating_record(us);
    }

    /// Add another stream's durations.
    pub fn add(&mut self, other: &DurationStream) {
        self.hist.add(&other.hist).expect("histograms of the same bounds add");
    }

    /// Durations counted.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// Nothing counted yet.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The q-quantile, ms (nearest rank, 3 significant digits); None when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        (!self.is_empty()).then(|| self.hist.value_at_quantile(q) as f64 / 1000.0)
    }

    /// The longest duration, ms (3 significant digits); None when empty.
    pub fn max_ms(&self) -> Option<f64> {
        (!self.is_empty()).then(|| self.hist.max() as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_keeps_three_significant_digits_and_adds() {
        let mut a = DurationStream::default();
        assert_eq!(a.quantile_ms(0.5), None);
        (1..=100).for_each(|i| a.record(i as f64));
        let mut b = DurationStream::default();
        b.record(1234.5);
        a.add(&b);
        assert_eq!(a.len(), 101);
        let p50 = a.quantile_ms(0.5).unwrap();
        assert!((p50 - 51.0).abs() <= 0.051, "{p50}");
        let max = a.max_ms().unwrap();
        assert!((max - 1234.5).abs() / 1234.5 < 1e-3, "{max}");
    }
}
