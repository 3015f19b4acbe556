//! Is a change real? Decided as criterion decides it: the whole 95% interval of the change
//! must lie beyond the noise threshold, on one side (`ci_low > +t` or `ci_high < -t`). An
//! interval that excludes zero but reaches into the threshold band is no change: the run
//! cannot tell it from noise. (A point estimate past the threshold is not enough.)
//!
//! The interval is a bootstrap confidence interval of the relative change of the metric's
//! statistic (median, a percentile, ...): resample each side's samples with replacement,
//! recompute the statistic on both, take the relative change; repeat; the 2.5th and 97.5th
//! percentiles of those changes are the 95% interval. The bootstrap was chosen over Mann-Whitney because it tests the very
//! statistic the report shows (a p99 or a median tokens/s, not "one distribution tends to
//! be larger"), gives the interval the report prints, and works the same for every metric.
//! A fixed seed makes a comparison of the same two folders give the same answer every time.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Fewer samples than this on either side: insufficient data.
pub const MIN_SAMPLES: usize = 3;
/// Bootstrap resamples per comparison.
pub const RESAMPLES: usize = 2000;
/// The seed of every bootstrap (reproducible verdicts).
pub const SEED: u64 = 0x6261_6b65_6f66_6621;

/// A relative change with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The statistic on the baseline samples.
    pub baseline: f64,
    /// The statistic on the candidate samples.
    pub candidate: f64,
    /// candidate / baseline - 1.
    pub relative: f64,
    /// Lower end of the 95% interval of the relative change.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
}

impl Change {
    /// The interval excludes zero.
    pub fn significant(&self) -> bool {
        self.ci_low > 0.0 || self.ci_high < 0.0
    }
}

/// The bootstrap interval of the relative change of `statistic` from `baseline` to
/// `candidate` (any per-sample items; the statistic sees a resampled slice). None when
/// either side has fewer than [`MIN_SAMPLES`] or the statistic is undefined (zero baseline).
pub fn bootstrap<T: Copy>(baseline: &[T], candidate: &[T], statistic: impl Fn(&[T]) -> Option<f64>) -> Option<Change> {
    if baseline.len() < MIN_SAMPLES || candidate.len() < MIN_SAMPLES {
        return None;
    }
    let b = statistic(baseline)?;
    let c = statistic(candidate)?;
    if b == 0.0 || !b.is_finite() || !c.is_finite() {
        return None;
    }
    let mut rng = SmallRng::seed_from_u64(SEED);
    let mut rb = Vec::with_capacity(baseline.len());
    let mut rc = Vec::with_capacity(candidate.len());
    let mut changes = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        resample(&mut rng, baseline, &mut rb);
        resample(&mut rng, candidate, &mut rc);
        if let (Some(x), Some(y)) = (statistic(&rb), statistic(&rc)) {
            if x != 0.0 {
                changes.push(y / x - 1.0);
            }
        }
    }
    if changes.len() < RESAMPLES / 2 {
        return None;
    }
    changes.sort_by(f64::total_cmp);
    Some(Change {
        baseline: b,
        candidate: c,
        relative: c / b - 1.0,
        ci_low: quantile_sorted(&changes, 0.025),
        ci_high: quantile_sorted(&changes, 0.975),
    })
}

fn resample<T: Copy>(rng: &mut SmallRng, from: &[T], into: &mut Vec<T>) {
    into.clear();
    into.extend((0..from.len()).map(|_| from[rng.random_range(0..from.len())]));
}

pub use crate::results::metrics::{quantile, quantile_sorted};

/// A metric's verdict between two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerfVerdict {
    /// Significant and beyond the threshold, the good way.
    Improved,
    /// Significant and beyond the threshold, the bad way.
    Regressed,
    /// Not significant, or within the threshold.
    NoChange,
    /// Too few samples on a side (or a single value per cell: nothing to test).
    InsufficientData,
}

impl PerfVerdict {
    /// The verdict's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            PerfVerdict::Improved => "improved",
            PerfVerdict::Regressed => "regressed",
            PerfVerdict::NoChange => "no change",
            PerfVerdict::InsufficientData => "insufficient data",
        }
    }
}

/// Decide a change: `lower_is_better` gives the direction, `threshold` the noise level as
/// a fraction (0.05 = 5%). A verdict other than no change needs the whole interval beyond
/// the threshold (which also makes it significant).
pub fn decide(change: &Change, lower_is_better: bool, threshold: f64) -> PerfVerdict {
    let up = change.ci_low > threshold;
    let down = change.ci_high < -threshold;
    if !(up || down) {
        return PerfVerdict::NoChange;
    }
    let worse = if lower_is_better { up } else { down };
    if worse {
        PerfVerdict::Regressed
    } else {
        PerfVerdict::Improved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn median(v: &[f64]) -> Option<f64> {
        quantile(v, 0.5)
    }

    /// Deterministic noisy samples around `center` (a fixed pseudo-random jitter of +-2%).
    fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n).map(|_| center * (1.0 + rng.random_range(-0.02..0.02))).collect()
    }

    #[test]
    fn equal_distributions_give_no_change() {
        let a = noisy(100.0, 30, 1);
        let b = noisy(100.0, 30, 2);
        let c = bootstrap(&a, &b, median).unwrap();
        assert!(c.relative.abs() < 0.02, "{c:?}");
        assert_eq!(decide(&c, false, 0.05), PerfVerdict::NoChange);
    }

    #[test]
    fn a_shifted_distribution_is_detected_with_its_direction() {
        let base = noisy(100.0, 30, 3);
        let slower = noisy(80.0, 30, 4);
        let c = bootstrap(&base, &slower, median).unwrap();
        assert!(c.significant() && c.ci_high < -0.1, "{c:?}");
        // Tokens/s (higher is better) fell 20%: a regression; a latency falling 20% is an improvement.
        assert_eq!(decide(&c, false, 0.05), PerfVerdict::Regressed);
        assert_eq!(decide(&c, true, 0.05), PerfVerdict::Improved);
    }

    #[test]
    fn significant_but_within_the_threshold_is_no_change() {
        let base = noisy(100.0, 200, 5);
        let bit_slower = noisy(98.0, 200, 6);
        let c = bootstrap(&base, &bit_slower, median).unwrap();
        assert!(c.significant(), "{c:?}");
        assert_eq!(decide(&c, false, 0.05), PerfVerdict::NoChange, "2% is below the 5% noise threshold");
        assert_eq!(decide(&c, false, 0.01), PerfVerdict::Regressed, "but beyond a 1% one");
    }

    #[test]
    fn the_whole_interval_must_lie_beyond_the_threshold() {
        let change = |low: f64, high: f64| Change {
            baseline: 100.0,
            candidate: 100.0 * (1.0 + (low + high) / 2.0),
            relative: (low + high) / 2.0,
            ci_low: low,
            ci_high: high,
        };
        // Significant, the estimate (-6%) past the 5% threshold, but the interval reaches
        // into the band: no change.
        assert_eq!(decide(&change(-0.08, -0.04), false, 0.05), PerfVerdict::NoChange);
        // Just beyond on both ends: regressed (tokens/s down), improved (a latency down).
        assert_eq!(decide(&change(-0.08, -0.0501), false, 0.05), PerfVerdict::Regressed);
        assert_eq!(decide(&change(-0.08, -0.0501), true, 0.05), PerfVerdict::Improved);
        // At the threshold exactly: not beyond it.
        assert_eq!(decide(&change(0.05, 0.09), true, 0.05), PerfVerdict::NoChange);
        assert_eq!(decide(&change(0.0501, 0.09), true, 0.05), PerfVerdict::Regressed);
        // Not significant at all.
        assert_eq!(decide(&change(-0.2, 0.1), false, 0.0), PerfVerdict::NoChange);
    }

    #[test]
    fn too_few_samples_is_insufficient() {
        assert!(bootstrap(&[1.0, 2.0], &[1.0, 2.0, 3.0], median).is_none());
        assert!(bootstrap(&[0.0; 5], &[1.0; 5], median).is_none(), "zero baseline: no relative change");
    }

    #[test]
    fn the_same_inputs_give_the_same_interval() {
        let a = noisy(50.0, 10, 7);
        let b = noisy(55.0, 10, 8);
        assert_eq!(bootstrap(&a, &b, median), bootstrap(&a, &b, median));
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0], 0.5), Some(1.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 1.0), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
