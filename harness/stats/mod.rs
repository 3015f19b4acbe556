//! Statistics that know nothing of metrics, samples or verdicts: the one home of every
//! quantile, mean, spread and resampling bakeoff computes, as criterion keeps its own
//! `stats/`. Everything above hands this module plain numbers and reads plain numbers back:
//!
//! - here: quantiles (one definition, linear interpolation between closest ranks), the
//!   median, the mean, the sample standard deviation and coefficient of variation, the
//!   quartiles and Tukey's far-out fence;
//! - [`bootstrap`]: the percentile bootstrap of a relative change between two independent
//!   sets of values;
//! - [`paired`]: paired changes (Hodges-Lehmann of log ratios, the bootstrap over clusters,
//!   the widening for few clusters, the minimum detectable effect);
//! - [`stream`]: quantiles of a stream too long to hold (an HDR histogram);
//! - here too: the Wilson interval of a rate (how often a verdict fired over trials).
//!
//! Which statistic a metric uses, and what a change means for a release, live above
//! (`metrics.rs`, `results/`, `decide/`).

pub mod bootstrap;
pub mod paired;
pub mod stream;

pub use bootstrap::Change;

/// The Wilson score 95% interval of a rate of `k` successes in `n` trials (0 to 1 each):
/// unlike the normal approximation it stays within [0, 1] and is honest at 0 of 10 or 10
/// of 10 (0 of 10: [0, 0.28]). None when `n` is 0.
pub fn wilson_interval(k: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (z, n, p) = (1.959_964, n as f64, k as f64 / n as f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The q-quantile of sorted values, linear interpolation between closest ranks (type 7 of
/// Hyndman and Fan, numpy's default): the one percentile definition of bakeoff. `q` is
/// clamped to [0, 1]; `sorted` must not be empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The q-quantile of unsorted values (None when empty).
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(quantile_sorted(&sorted(values), q))
}

/// The median (the 0.5-quantile; the mean of the middle two of an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// A sorted copy (total order: NaN sorts last).
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of `v`, reordering it (linear-time selection); `v` must not be empty. The
/// same value as [`median`], without the copy and the sort: for the large sets of the
/// Hodges-Lehmann estimate.
pub fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (_, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

/// The arithmetic mean (None when empty).
pub fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.into_iter().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The smallest value (None when empty).
pub fn min(values: &[f64]) -> Option<f64> {
    values.iter().copied().reduce(f64::min)
}

/// The sample standard deviation (n - 1 in the denominator; None below two values).
pub fn sample_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values.iter().copied())?;
    Some((values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt())
}

/// The coefficient of variation, sample standard deviation over the mean (None below two
/// values or for a mean that is not positive).
pub fn coefficient_of_variation(values: &[f64]) -> Option<f64> {
    let m = mean(values.iter().copied())?;
    let sd = sample_sd(values)?;
    (m > 0.0).then(|| sd / m)
}

/// The first and third quartile (the same quantile definition). None below 4 values, where
/// quartiles say nothing.
pub fn quartiles(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 4 {
        return None;
    }
    let s = sorted(values);
    Some((quantile_sorted(&s, 0.25), quantile_sorted(&s, 0.75)))
}

/// Values beyond Tukey's upper fence `Q3 + k * IQR` (k = 3: "far out"): the fence and the
/// values past it, in their order. None below 4 values.
pub fn beyond_upper_fence(values: &[f64], k: f64) -> Option<(f64, Vec<f64>)> {
    let (q1, q3) = quartiles(values)?;
    let fence = q3 + k * (q3 - q1);
    Some((fence, values.iter().copied().filter(|&v| v > fence).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_the_published_values() {
        // 0 of 10: [0, 0.2775]; 9 of 10: [0.5958, 0.9821]; 50 of 1000: [0.0381, 0.0653].
        let close = |(lo, hi): (f64, f64), (a, b): (f64, f64)| (lo - a).abs() < 5e-4 && (hi - b).abs() < 5e-4;
        assert!(close(wilson_interval(0, 10).unwrap(), (0.0, 0.2775)), "{:?}", wilson_interval(0, 10));
        assert!(close(wilson_interval(9, 10).unwrap(), (0.5958, 0.9821)), "{:?}", wilson_interval(9, 10));
        assert!(close(wilson_interval(50, 1000).unwrap(), (0.0381, 0.0653)), "{:?}", wilson_interval(50, 1000));
        assert_eq!(wilson_interval(0, 0), None);
    }

    #[test]
    fn quantiles_interpolate_between_closest_ranks() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0], 0.5), Some(1.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 1.0), Some(4.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.9), Some(4.6));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn the_median_in_place_is_the_median() {
        for v in [vec![5.0, 1.0, 3.0], vec![4.0, 1.0, 3.0, 2.0], vec![7.0]] {
            assert_eq!(median_in_place(&mut v.clone()), median(&v).unwrap(), "{v:?}");
        }
    }

    #[test]
    fn spread_figures() {
        assert_eq!(mean([1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(mean([]), None);
        assert_eq!(sample_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).map(|s| (s * 1e4).round()), Some(21381.0));
        assert_eq!(sample_sd(&[1.0]), None);
        assert_eq!(coefficient_of_variation(&[9.0, 11.0]).map(|c| (c * 1e4).round()), Some(1414.0));
        assert_eq!(quartiles(&[1.0, 2.0, 3.0]), None);
        assert_eq!(quartiles(&[1.0, 2.0, 3.0, 4.0, 5.0]), Some((2.0, 4.0)));
        assert_eq!(min(&[3.0, -1.0, 2.0]), Some(-1.0));
    }

    #[test]
    fn the_far_out_fence_flags_only_what_lies_past_it() {
        let (fence, far) = beyond_upper_fence(&[10.0, 11.0, 10.5, 10.2, 10.8, 40.0], 3.0).unwrap();
        assert!(fence > 11.0 && fence < 40.0, "{fence}");
        assert_eq!(far, vec![40.0]);
        assert_eq!(beyond_upper_fence(&[1.0, 2.0, 3.0], 3.0), None);
    }
}
