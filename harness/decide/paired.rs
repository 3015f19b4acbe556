//! Paired statistics of an A/B run. Each pair is one generation of the same prompt on both
//! sides, taken back to back, so whatever the machine did in those seconds hit both; the
//! pair's own ratio (candidate / baseline) is what is judged, and the drift between pairs,
//! which is many times larger on a shared VM, cancels.
//!
//! - For a per-sample quantity (TTFT, decode tokens/s, a sample's own median or p99
//!   inter-token latency, CPU time per token, ...), the estimate is the Hodges-Lehmann
//!   estimate of the pairs' log ratios (the median of all pairwise means: robust to the
//!   odd burst like a median, nearly as efficient as a mean on clean data), and the 95%
//!   interval is the percentile bootstrap of that estimate.
//! - The bootstrap resamples rounds (the pairs one pair of processes took), not single
//!   pairs, once there are [`MIN_ROUNDS`] of them: each process has a speed of its own, so
//!   pairs of one round are not independent, and an interval that ignored that would be too
//!   narrow (A/A runs in one process pair showed ±2% "changes" with intervals excluding 0).
//! - For a statistic over samples that no single pair has (a TTFT p99, the overhead share),
//!   pairs are resampled jointly and the statistic is recomputed on each side.
//!
//! The verdict rule is criterion's, as for two separate runs ([`super::stats::decide`]):
//! regressed or improved only when the whole interval lies beyond the threshold. A run also
//! says what it could see: its minimum detectable effect, the smallest true change whose
//! interval would have cleared the threshold, `threshold + half the interval's width`.

use super::stats::{decide, quantile, Change, PerfVerdict, RESAMPLES, SEED};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Fewer pairs than this: insufficient data.
pub const MIN_PAIRS: usize = 5;
/// From this many rounds on, the bootstrap resamples rounds; below, pairs.
pub const MIN_ROUNDS: usize = 5;

/// The groups a bootstrap resamples: each round's pair indices, or each pair on its own
/// when there are too few rounds for rounds to be resampled.
fn clusters(rounds: &[usize]) -> Vec<Vec<usize>> {
    let mut by_round: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, &r) in rounds.iter().enumerate() {
        by_round.entry(r).or_default().push(i);
    }
    if by_round.len() >= MIN_ROUNDS {
        by_round.into_values().collect()
    } else {
        (0..rounds.len()).map(|i| vec![i]).collect()
    }
}

/// One bootstrap resample: as many groups as there are, drawn with replacement, their
/// members' indices in `into`.
fn resample_clusters(rng: &mut SmallRng, groups: &[Vec<usize>], into: &mut Vec<usize>) {
    into.clear();
    for _ in 0..groups.len() {
        into.extend_from_slice(&groups[rng.random_range(0..groups.len())]);
    }
}

/// The Hodges-Lehmann estimate of `values`: the median of the means of every pair `i <= j`.
pub fn hodges_lehmann(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut walsh = Vec::with_capacity(values.len() * (values.len() + 1) / 2);
    for (i, &a) in values.iter().enumerate() {
        walsh.extend(values[i..].iter().map(|&b| (a + b) / 2.0));
    }
    Some(median_in_place(&mut walsh))
}

/// The median of `v`, reordering it (linear-time selection).
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (_, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

/// The paired change of a per-sample quantity: `baseline[i]` and `candidate[i]` are pair
/// `i`'s two values (positive), `rounds[i]` its round. The change and its interval are
/// relative (`candidate / baseline - 1`); `baseline` and `candidate` in the result are each
/// side's median, for display.
pub fn paired_ratio_change(baseline: &[f64], candidate: &[f64], rounds: &[usize]) -> Option<Change> {
    let n = baseline.len().min(candidate.len()).min(rounds.len());
    if n < MIN_PAIRS {
        return None;
    }
    let logs: Vec<f64> = baseline.iter().zip(candidate).take(n).map(|(&b, &c)| (c / b).ln()).collect();
    if logs.iter().any(|l| !l.is_finite()) {
        return None;
    }
    let estimate = hodges_lehmann(&logs)?;
    let groups = clusters(&rounds[..n]);
    let mut rng = SmallRng::seed_from_u64(SEED);
    let (mut picked, mut resample) = (Vec::with_capacity(2 * n), Vec::with_capacity(2 * n));
    let mut estimates: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            resample_clusters(&mut rng, &groups, &mut picked);
            resample.clear();
            resample.extend(picked.iter().map(|&i| logs[i]));
            hodges_lehmann(&resample)
        })
        .collect();
    estimates.sort_by(f64::total_cmp);
    Some(Change {
        baseline: quantile(baseline, 0.5)?,
        candidate: quantile(candidate, 0.5)?,
        relative: estimate.exp_m1(),
        ci_low: super::stats::quantile_sorted(&estimates, 0.025).exp_m1(),
        ci_high: super::stats::quantile_sorted(&estimates, 0.975).exp_m1(),
    })
}

/// The paired change of a statistic over samples: pairs (`baseline[i]`, `candidate[i]`,
/// of round `rounds[i]`) are resampled together, by round, and `statistic` recomputed on
/// each side.
pub fn paired_statistic_change<T: Copy>(
    baseline: &[T],
    candidate: &[T],
    rounds: &[usize],
    statistic: impl Fn(&[T]) -> Option<f64>,
) -> Option<Change> {
    let n = baseline.len().min(candidate.len()).min(rounds.len());
    if n < MIN_PAIRS {
        return None;
    }
    let (b, c) = (statistic(&baseline[..n])?, statistic(&candidate[..n])?);
    if b == 0.0 || !b.is_finite() || !c.is_finite() {
        return None;
    }
    let groups = clusters(&rounds[..n]);
    let mut rng = SmallRng::seed_from_u64(SEED);
    let (mut picked, mut rb, mut rc) = (Vec::new(), Vec::with_capacity(2 * n), Vec::with_capacity(2 * n));
    let mut changes = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        resample_clusters(&mut rng, &groups, &mut picked);
        rb.clear();
        rc.clear();
        rb.extend(picked.iter().map(|&i| baseline[i]));
        rc.extend(picked.iter().map(|&i| candidate[i]));
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
        ci_low: super::stats::quantile_sorted(&changes, 0.025),
        ci_high: super::stats::quantile_sorted(&changes, 0.975),
    })
}

/// The smallest true change this interval would have flagged at `threshold`: the
/// threshold plus half the interval's width (an interval of that width centred on a
/// change that large just clears the threshold).
pub fn minimum_detectable_effect(change: &Change, threshold: f64) -> f64 {
    threshold + (change.ci_high - change.ci_low) / 2.0
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

    /// Pairs whose sides share a drift (a slow sine, +-25%) and carry their own noise
    /// (+-`noise`), the candidate `slower` times the baseline.
    fn drifting_pairs(n: usize, slower: f64, noise: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let drift = 1.0 + 0.25 * (i as f64 / 7.0).sin();
                let b = 100.0 * drift * (1.0 + rng.random_range(-noise..noise));
                let c = 100.0 * drift * slower * (1.0 + rng.random_range(-noise..noise));
                (b, c)
            })
            .unzip()
    }

    fn rounds(n: usize, per_round: usize) -> Vec<usize> {
        (0..n).map(|i| i / per_round).collect()
    }

    #[test]
    fn a_round_effect_widens_the_interval_as_it_should() {
        // Each round (a pair of processes) carries its own +-2% offset of the candidate:
        // pairs inside a round agree closely, rounds do not.
        let mut rng = SmallRng::seed_from_u64(9);
        let offsets: Vec<f64> = (0..8).map(|_| rng.random_range(-0.02..0.02)).collect();
        let n = 80;
        let b: Vec<f64> = (0..n).map(|_| 100.0 * (1.0 + rng.random_range(-0.003..0.003))).collect();
        let c: Vec<f64> =
            (0..n).map(|i| b[i] * (1.0 + offsets[i / 10]) * (1.0 + rng.random_range(-0.003..0.003))).collect();
        let by_pair = paired_ratio_change(&b, &c, &vec![0; n]).unwrap();
        let by_round = paired_ratio_change(&b, &c, &rounds(n, 10)).unwrap();
        let width = |c: &Change| c.ci_high - c.ci_low;
        assert!(width(&by_round) > 2.0 * width(&by_pair), "{by_pair:?} {by_round:?}");
    }

    #[test]
    fn hodges_lehmann_is_the_median_of_walsh_averages() {
        assert_eq!(hodges_lehmann(&[1.0, 2.0, 3.0]), Some(2.0));
        // Walsh averages of [0, 10]: 0, 5, 10.
        assert_eq!(hodges_lehmann(&[0.0, 10.0]), Some(5.0));
        // One wild value moves it less than a mean.
        let est = hodges_lehmann(&[1.0, 1.1, 0.9, 1.0, 50.0]).unwrap();
        assert!(est < 1.6, "{est}");
        assert_eq!(hodges_lehmann(&[]), None);
    }

    #[test]
    fn a_shared_drift_cancels_and_a_three_percent_change_is_seen() {
        let (b, c) = drifting_pairs(80, 0.97, 0.02, 1);
        let change = paired_ratio_change(&b, &c, &rounds(80, 10)).unwrap();
        assert!((change.relative + 0.03).abs() < 0.01, "{change:?}");
        assert!(change.ci_high < -0.02, "the interval clears a 2% threshold: {change:?}");
        assert_eq!(decide(&change, false, 0.02), PerfVerdict::Regressed);
        // The same samples unpaired cannot tell: the drift is ten times the change.
        let unpaired = super::super::stats::bootstrap(&b, &c, |s| quantile(s, 0.5)).unwrap();
        assert_eq!(decide(&unpaired, false, 0.02), PerfVerdict::NoChange, "{unpaired:?}");
    }

    #[test]
    fn equal_sides_under_drift_are_no_change_and_decided_within() {
        let (b, c) = drifting_pairs(80, 1.0, 0.02, 2);
        let change = paired_ratio_change(&b, &c, &rounds(80, 10)).unwrap();
        assert_eq!(decide(&change, false, 0.02), PerfVerdict::NoChange, "{change:?}");
        assert!(decided(&change, false, 0.02), "the interval lies within +-2%: {change:?}");
        let mde = minimum_detectable_effect(&change, 0.02);
        assert!(mde > 0.02 && mde < 0.04, "{mde}");
    }

    #[test]
    fn too_few_pairs_or_a_zero_value_is_insufficient() {
        assert!(paired_ratio_change(&[1.0; 4], &[1.0; 4], &[0; 4]).is_none());
        assert!(paired_ratio_change(&[1.0, 1.0, 0.0, 1.0, 1.0], &[1.0; 5], &[0; 5]).is_none());
    }

    #[test]
    fn a_joint_resample_keeps_pairs_together() {
        let (b, c) = drifting_pairs(60, 1.10, 0.01, 3);
        let change = paired_statistic_change(&b, &c, &rounds(60, 10), |s| quantile(s, 0.9)).unwrap();
        assert!(change.ci_low > 0.05 && change.ci_high < 0.15, "{change:?}");
    }
}
