//! The percentile bootstrap of a relative change between two independent sets of values:
//! resample each side with replacement, recompute the statistic on both, take the relative
//! change; repeat; the 2.5th and 97.5th percentiles of those changes are the 95% interval.
//! It puts an interval on the very statistic a report shows (a p99, a median tokens/s),
//! where a rank test would only say "one distribution tends to be larger", and works the
//! same for every statistic. A fixed seed makes the same inputs give the same interval.

use super::quantile_sorted;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Fewer values than this on either side: no interval.
pub const MIN_SAMPLES: usize = 3;
/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;
/// The seed of every bootstrap (reproducible intervals).
pub const SEED: u64 = 0x6261_6b65_6f66_6621;

/// A relative change with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The statistic on the baseline values.
    pub baseline: f64,
    /// The statistic on the candidate values.
    pub candidate: f64,
    /// The estimated relative change (candidate / baseline - 1 for an unpaired change).
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

    /// Half the interval's width: how far the estimate may be off either way.
    pub fn half_width(&self) -> f64 {
        (self.ci_high - self.ci_low) / 2.0
    }
}

/// The bootstrap interval of the relative change of `statistic` from `baseline` to
/// `candidate` (any items; the statistic sees a resampled slice). None when either side has
/// fewer than [`MIN_SAMPLES`] or the statistic is undefined (zero baseline).
pub fn bootstrap<T: Copy>(baseline: &[T], candidate: &[T], statistic: impl Fn(&[T]) -> Option<f64>) -> Option<Change> {
    if baseline.len() < MIN_SAMPLES || candidate.len() < MIN_SAMPLES {
        return None;
    }
    let b = statistic(baseline)?;
    let c = statistic(candidate)?;
    if b == 0.0 || !b.is_finite() || !c.is_finite() {
        return None;
    }
    let changes = resampled_changes(
        |rng, rb, rc| {
            resample(rng, baseline, rb);
            resample(rng, candidate, rc);
        },
        statistic,
    )?;
    Some(Change {
        baseline: b,
        candidate: c,
        relative: c / b - 1.0,
        ci_low: quantile_sorted(&changes, 0.025),
        ci_high: quantile_sorted(&changes, 0.975),
    })
}

/// The relative changes `y / x - 1` of `statistic` over [`RESAMPLES`] resamples, sorted:
/// `draw` fills the baseline's and the candidate's resample from the seeded generator (the
/// unpaired and the paired bootstrap differ only there). None when fewer than half the
/// resamples define the statistic.
pub(crate) fn resampled_changes<T: Copy>(
    mut draw: impl FnMut(&mut SmallRng, &mut Vec<T>, &mut Vec<T>),
    statistic: impl Fn(&[T]) -> Option<f64>,
) -> Option<Vec<f64>> {
    let mut rng = SmallRng::seed_from_u64(SEED);
    let (mut rb, mut rc) = (Vec::new(), Vec::new());
    let mut changes = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        draw(&mut rng, &mut rb, &mut rc);
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
    Some(changes)
}

fn resample<T: Copy>(rng: &mut SmallRng, from: &[T], into: &mut Vec<T>) {
    into.clear();
    into.extend((0..from.len()).map(|_| from[rng.random_range(0..from.len())]));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::median;
    use super::*;

    /// Deterministic noisy values around `center` (a fixed pseudo-random jitter of +-2%).
    pub(crate) fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n).map(|_| center * (1.0 + rng.random_range(-0.02..0.02))).collect()
    }

    #[test]
    fn equal_distributions_give_an_interval_about_zero() {
        let c = bootstrap(&noisy(100.0, 30, 1), &noisy(100.0, 30, 2), median).unwrap();
        assert!(c.relative.abs() < 0.02 && c.ci_low < 0.0 && c.ci_high > 0.0, "{c:?}");
    }

    #[test]
    fn a_shifted_distribution_gives_an_interval_past_the_shift() {
        let c = bootstrap(&noisy(100.0, 30, 3), &noisy(80.0, 30, 4), median).unwrap();
        assert!(c.significant() && c.ci_high < -0.1, "{c:?}");
    }

    #[test]
    fn too_few_samples_is_no_interval() {
        assert!(bootstrap(&[1.0, 2.0], &[1.0, 2.0, 3.0], median).is_none());
        assert!(bootstrap(&[0.0; 5], &[1.0; 5], median).is_none(), "zero baseline: no relative change");
    }

    #[test]
    fn the_same_inputs_give_the_same_interval() {
        let a = noisy(50.0, 10, 7);
        let b = noisy(55.0, 10, 8);
        assert_eq!(bootstrap(&a, &b, median), bootstrap(&a, &b, median));
    }
}
