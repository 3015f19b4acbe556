//! Is a change real? Decided as criterion decides it: the whole 95% interval of the change
//! must lie beyond the noise threshold, on one side (`ci_low > +t` or `ci_high < -t`). An
//! interval that excludes zero but reaches into the threshold band is no change: the run
//! cannot tell it from noise. (A point estimate past the threshold is not enough.) The
//! same rule judges two separate runs (a bootstrap of each side's samples,
//! [`crate::stats::bootstrap`]) and an A/B run's pairs ([`crate::stats::paired`]).

pub use crate::stats::Change;
use serde::{Deserialize, Serialize};

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

/// Whether the interval settles the question at `threshold`: wholly beyond it (a verdict)
/// or wholly within it (no change of that size). An interval across the threshold needs
/// more pairs.
pub fn decided(change: &Change, lower_is_better: bool, threshold: f64) -> bool {
    decide(change, lower_is_better, threshold) != PerfVerdict::NoChange
        || (change.ci_low > -threshold && change.ci_high < threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::bootstrap::bootstrap;
    use crate::stats::bootstrap::tests::noisy;
    use crate::stats::median;
    use crate::stats::paired::{minimum_detectable_effect, paired_ratio_change};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn equal_distributions_give_no_change() {
        let c = bootstrap(&noisy(100.0, 30, 1), &noisy(100.0, 30, 2), median).unwrap();
        assert_eq!(decide(&c, false, 0.05), PerfVerdict::NoChange, "{c:?}");
    }

    #[test]
    fn a_shifted_distribution_is_detected_with_its_direction() {
        let c = bootstrap(&noisy(100.0, 30, 3), &noisy(80.0, 30, 4), median).unwrap();
        // Tokens/s (higher is better) fell 20%: a regression; a latency falling 20% is an improvement.
        assert_eq!(decide(&c, false, 0.05), PerfVerdict::Regressed);
        assert_eq!(decide(&c, true, 0.05), PerfVerdict::Improved);
    }

    #[test]
    fn significant_but_within_the_threshold_is_no_change() {
        let c = bootstrap(&noisy(100.0, 200, 5), &noisy(98.0, 200, 6), median).unwrap();
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
    fn a_paired_interval_within_the_band_is_decided_no_change() {
        // Pairs whose sides share a drift (a slow sine, +-25%) and carry +-2% noise each.
        let mut rng = SmallRng::seed_from_u64(2);
        let (b, c): (Vec<f64>, Vec<f64>) = (0..80)
            .map(|i| {
                let drift = 1.0 + 0.25 * (i as f64 / 7.0).sin();
                (
                    100.0 * drift * (1.0 + rng.random_range(-0.02..0.02)),
                    100.0 * drift * (1.0 + rng.random_range(-0.02..0.02)),
                )
            })
            .unzip();
        let rounds: Vec<usize> = (0..80).map(|i| i / 10).collect();
        let change = paired_ratio_change(&b, &c, &rounds).unwrap();
        assert_eq!(decide(&change, false, 0.02), PerfVerdict::NoChange, "{change:?}");
        assert!(decided(&change, false, 0.02), "the interval lies within +-2%: {change:?}");
        let mde = minimum_detectable_effect(&change, 0.02);
        assert!(mde > 0.02 && mde < 0.04, "{mde}");
    }
}
