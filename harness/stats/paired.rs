//! Paired changes. Each pair is two positive values taken back to back (in an A/B run, one
//! generation of the same prompt on each side), so whatever the machine did in those
//! seconds hit both; the pair's own ratio (candidate / baseline) is what is estimated, and
//! the drift between pairs, which is many times larger on a shared VM, cancels.
//!
//! - For a per-sample quantity (TTFT, decode tokens/s, a sample's own median or p99
//!   inter-token latency, CPU time per token, ...), the estimate is the Hodges-Lehmann
//!   estimate of the pairs' log ratios (the median of all pairwise means: robust to the
//!   odd burst like a median, nearly as efficient as a mean on clean data), and the 95%
//!   interval is the percentile bootstrap of that estimate.
//! - The bootstrap resamples groups of pairs, not single pairs, once there are
//!   [`MIN_ROUNDS`] groups: each process has a speed of its own, so pairs of one round (one
//!   pair of processes) are not independent, and an interval that ignored that would be too
//!   narrow (A/A runs in one process pair showed ±2% "changes" with intervals excluding 0).
//!   An A/B run's groups are its blocks of rounds (two rounds of opposite start order, see
//!   `results::pairs::ROUNDS_PER_BLOCK`); the caller says which group each pair is in.
//! - For a statistic over samples that no single pair has (a TTFT p99, the overhead share),
//!   pairs are resampled jointly and the statistic is recomputed on each side.
//! - A bootstrap over few groups is too narrow: with `k` rounds its spread underestimates
//!   the estimate's by `sqrt((k-1)/k)`, and its quantiles are the normal's where Student's
//!   t with `k-1` degrees of freedom is right. So each interval is widened about its
//!   estimate by `sqrt(k/(k-1)) * t(k-1) / 1.96` (1.35x at 7 rounds, 1.13x at 15; negligible
//!   when single pairs are resampled). Without it, A/A runs of 7-9 rounds gave intervals
//!   excluding zero (-2.6% [-4.7%, -0.1%]; a TTFT p90 "regressed" +7.6% [+2.4%, +23.1%]).
//!
//! A run also says what it could see: its minimum detectable effect, the smallest true
//! change whose interval would have cleared a threshold: `threshold + half the interval's
//! width`.

use super::bootstrap::{resampled_changes, Change, RESAMPLES, SEED};
use super::{median, median_in_place, quantile_sorted};
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

/// The groups of one bootstrap resample: as many as there are, drawn with replacement.
fn drawn_groups<'r, 'g: 'r>(rng: &'r mut SmallRng, groups: &'g [Vec<usize>]) -> impl Iterator<Item = &'g [usize]> + 'r {
    (0..groups.len()).map(move |_| groups[rng.random_range(0..groups.len())].as_slice())
}

/// One bootstrap resample: its groups' members' indices in `into`.
fn resample_clusters(rng: &mut SmallRng, groups: &[Vec<usize>], into: &mut Vec<usize>) {
    into.clear();
    drawn_groups(rng, groups).for_each(|g| into.extend_from_slice(g));
}

/// The same resample as [`resample_clusters`] (the same draws of `rng`), as how many times
/// each index was picked.
fn resample_cluster_counts(rng: &mut SmallRng, groups: &[Vec<usize>], counts: &mut [u64]) {
    counts.fill(0);
    drawn_groups(rng, groups).flatten().for_each(|&i| counts[i] += 1);
}

/// Every Walsh average `(v[i] + v[j]) / 2`, `i <= j`, of a set of values, sorted once, so
/// that the Hodges-Lehmann estimate of any resample of those values is one pass over it.
/// A resample holds value `i` `c[i]` times; its Walsh averages are these, the pair `i < j`
/// `c[i] * c[j]` times and `i == j` `c[i] * (c[i] + 1) / 2` times. The bootstrap needs the
/// estimate of thousands of resamples: this pass is a few times faster than building each
/// resample's averages and selecting their median (it was most of `bakeoff power`'s time),
/// and gives exactly the same value (the same sums of the same two values).
struct WalshAverages {
    /// (average, i, j), sorted by average.
    sorted: Vec<(f64, u32, u32)>,
}

impl WalshAverages {
    fn of(values: &[f64]) -> Self {
        let mut sorted = Vec::with_capacity(values.len() * (values.len() + 1) / 2);
        for (i, &a) in values.iter().enumerate() {
            sorted.extend(values[i..].iter().enumerate().map(|(k, &b)| ((a + b) / 2.0, i as u32, (i + k) as u32)));
        }
        sorted.sort_by(|x, y| x.0.total_cmp(&y.0));
        WalshAverages { sorted }
    }

    /// The Hodges-Lehmann estimate of the resample holding value `i` `counts[i]` times: the
    /// median of its Walsh averages (of the two middle ones when their number is even).
    fn resample_estimate(&self, counts: &[u64]) -> Option<f64> {
        let picked: u64 = counts.iter().sum();
        let total = picked * (picked + 1) / 2;
        if total == 0 {
            return None;
        }
        // The sorted positions of the upper middle average and, for an even count, the lower.
        let (upper, lower) = (total / 2, (total - 1) / 2);
        let (mut seen, mut lower_value) = (0u64, None);
        for &(average, i, j) in &self.sorted {
            let (ci, cj) = (counts[i as usize], counts[j as usize]);
            seen += if i == j { ci * (ci + 1) / 2 } else { ci * cj };
            if lower_value.is_none() && seen > lower {
                lower_value = Some(average);
            }
            if seen > upper {
                return Some(match (total % 2, lower_value) {
                    (0, Some(lower)) => (lower + average) / 2.0,
                    _ => average,
                });
            }
        }
        None
    }
}

/// Student's t 97.5% quantiles for 1 to 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// How much wider than the percentile bootstrap a 95% interval over `groups` resampled
/// groups must be: `sqrt(k/(k-1)) * t(k-1) / 1.96` (past 30 degrees of freedom, t is
/// taken as `1.96 + 2.4/df`, within 0.1% of the table).
pub fn few_groups_widening(groups: usize) -> f64 {
    let df = groups.saturating_sub(1).max(1);
    let t = T_975.get(df - 1).copied().unwrap_or(1.96 + 2.4 / df as f64);
    (groups.max(2) as f64 / df as f64).sqrt() * t / 1.96
}

/// `estimate`'s interval from the sorted bootstrap `resamples`, widened for `groups`
/// resampled groups about the estimate.
fn widened_interval(estimate: f64, resamples: &[f64], groups: usize) -> (f64, f64) {
    let w = few_groups_widening(groups);
    let lo = quantile_sorted(resamples, 0.025);
    let hi = quantile_sorted(resamples, 0.975);
    (estimate - w * (estimate - lo).max(0.0), estimate + w * (hi - estimate).max(0.0))
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
    let walsh = WalshAverages::of(&logs);
    let mut counts = vec![0u64; n];
    let mut estimates: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            resample_cluster_counts(&mut rng, &groups, &mut counts);
            walsh.resample_estimate(&counts)
        })
        .collect();
    estimates.sort_by(f64::total_cmp);
    let (lo, hi) = widened_interval(estimate, &estimates, groups.len());
    Some(Change {
        baseline: median(baseline)?,
        candidate: median(candidate)?,
        relative: estimate.exp_m1(),
        ci_low: lo.exp_m1(),
        ci_high: hi.exp_m1(),
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
    let mut picked = Vec::new();
    let changes = resampled_changes(
        |rng, rb, rc| {
            resample_clusters(rng, &groups, &mut picked);
            rb.clear();
            rc.clear();
            rb.extend(picked.iter().map(|&i| baseline[i]));
            rc.extend(picked.iter().map(|&i| candidate[i]));
        },
        statistic,
    )?;
    let (ci_low, ci_high) = widened_interval(c / b - 1.0, &changes, groups.len());
    Some(Change { baseline: b, candidate: c, relative: c / b - 1.0, ci_low, ci_high })
}

/// The half-width an interval of `half_width`, from `rounds` resampled rounds, would have
/// from `more` rounds of the same kind: the spread shrinks as the square root of the
/// rounds, and the few-groups widening changes with their number. A projection: it
/// assumes the later rounds are as noisy as the measured ones.
pub fn projected_half_width(half_width: f64, rounds: usize, more: usize) -> f64 {
    let (k0, k) = (rounds.max(2), more.max(2));
    half_width * (k0 as f64 / k as f64).sqrt() * few_groups_widening(k) / few_groups_widening(k0)
}

/// How far past the threshold, in interval half-widths, a true change must lie to be
/// flagged nine times in ten: the estimate must clear `threshold + half-width` with
/// probability 0.9, so the change lies one half-width plus 1.2816 standard errors (a
/// half-width is 1.96 of them) past the threshold.
pub const HALF_WIDTHS_FOR_90: f64 = 1.0 + 1.2816 / 1.96;

/// The smallest true change this interval would have flagged at `threshold`: the
/// threshold plus half the interval's width (an interval of that width centred on a
/// change that large just clears the threshold).
pub fn minimum_detectable_effect(change: &Change, threshold: f64) -> f64 {
    threshold + change.half_width()
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
    fn few_rounds_widen_the_interval_and_many_pairs_hardly() {
        // 7 rounds: sqrt(7/6) * 2.447 / 1.96 = 1.349.
        assert!((few_groups_widening(7) - 1.349).abs() < 0.001, "{}", few_groups_widening(7));
        assert!((few_groups_widening(15) - 1.133).abs() < 0.001, "{}", few_groups_widening(15));
        assert!(few_groups_widening(200) < 1.01);
        assert!(few_groups_widening(5) > few_groups_widening(6));
        // The interval stays about the estimate, each side scaled.
        let (lo, hi) = widened_interval(0.0, &[-0.02, -0.01, 0.0, 0.01, 0.03], 7);
        assert!(lo < -0.02 && hi > 0.03, "{lo} {hi}");
    }

    /// A/A coverage: over many simulated A/A runs of 8 rounds, each with its own process
    /// offsets, the widened interval excludes zero about 5% of the time, as a 95% interval
    /// must (19 of these 300; the plain percentile bootstrap over 8 groups, 38).
    #[test]
    fn a_a_intervals_over_few_rounds_cover_zero_as_often_as_they_claim() {
        let mut rng = SmallRng::seed_from_u64(11);
        let runs = 300;
        let mut excluded = 0;
        for _ in 0..runs {
            let offsets: Vec<f64> = (0..8).map(|_| rng.random_range(-0.02..0.02)).collect();
            let b: Vec<f64> = (0..80).map(|_| 100.0 * (1.0 + rng.random_range(-0.05..0.05))).collect();
            let c: Vec<f64> =
                (0..80).map(|i| 100.0 * (1.0 + offsets[i / 10]) * (1.0 + rng.random_range(-0.05..0.05))).collect();
            let change = paired_ratio_change(&b, &c, &rounds(80, 10)).unwrap();
            if change.ci_low > 0.0 || change.ci_high < 0.0 {
                excluded += 1;
            }
        }
        assert!(excluded <= runs * 9 / 100, "{excluded} of {runs} A/A intervals excluded zero");
    }

    #[test]
    fn a_projected_half_width_shrinks_with_the_square_root_of_the_rounds_and_the_widening() {
        // Four times the rounds: half the spread, and a smaller widening (1.35 at 7 rounds
        // against 1.06 at 28).
        let h = projected_half_width(0.02, 7, 28);
        let expected = 0.02 * 0.5 * few_groups_widening(28) / few_groups_widening(7);
        assert!((h - expected).abs() < 1e-12 && h < 0.01 * 0.85, "{h}");
        assert_eq!(projected_half_width(0.02, 7, 7), 0.02);
    }

    proptest::proptest! {
        #[test]
        fn a_resample_estimate_from_the_sorted_walsh_averages_equals_the_resamples_own(
            values in proptest::collection::vec(-3.0f64..3.0, 1..40),
            picks in proptest::collection::vec(0usize..1000, 1..60),
        ) {
            // Ties too: a third of the values repeat an earlier one.
            let values: Vec<f64> = values.iter().enumerate().map(|(i, &v)| if i % 3 == 2 { values[i / 2] } else { v }).collect();
            let mut counts = vec![0u64; values.len()];
            let resample: Vec<f64> = picks.iter().map(|&p| { counts[p % values.len()] += 1; values[p % values.len()] }).collect();
            let walsh = WalshAverages::of(&values);
            proptest::prop_assert_eq!(walsh.resample_estimate(&counts), hodges_lehmann(&resample));
        }
    }

    #[test]
    fn an_empty_resample_has_no_estimate() {
        assert_eq!(WalshAverages::of(&[1.0, 2.0]).resample_estimate(&[0, 0]), None);
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
        // The same samples unpaired cannot tell: the drift is ten times the change, and
        // the interval reaches from below -2% to above it.
        let unpaired = super::super::bootstrap::bootstrap(&b, &c, super::super::median).unwrap();
        assert!(unpaired.ci_low < -0.02 && unpaired.ci_high > -0.02, "{unpaired:?}");
    }

    #[test]
    fn equal_sides_under_drift_give_a_narrow_interval_about_zero() {
        let (b, c) = drifting_pairs(80, 1.0, 0.02, 2);
        let change = paired_ratio_change(&b, &c, &rounds(80, 10)).unwrap();
        assert!(change.ci_low > -0.02 && change.ci_high < 0.02, "the interval lies within +-2%: {change:?}");
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
        let change = paired_statistic_change(&b, &c, &rounds(60, 10), |s| super::super::quantile(s, 0.9)).unwrap();
        assert!(change.ci_low > 0.05 && change.ci_high < 0.15, "{change:?}");
    }
}
