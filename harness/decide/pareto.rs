//! The Pareto front of measured profiles: the ones no other profile beats on every
//! objective at once. Choosing an NPU profile trades first-token latency against decode
//! speed, compile time against steady-state speed, memory against both; the front is every
//! profile that is the best at some trade, and everything off it is worse than some
//! profile on the front in every respect that was measured.

use crate::metrics::MetricId;
use serde::Serialize;

/// A figure of a measured profile: a cell metric of the registry, or one of the two compile
/// times a search tells apart (a cell records one compile; its warm-cache priming gives the
/// other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileFigure {
    /// A registry metric of the cell's summary.
    Metric(MetricId),
    /// Compile without a cache: what a first start pays.
    CompileCold,
    /// Compile from the cache: what every later start pays.
    CompileWarm,
}

impl ProfileFigure {
    /// Its name in every output (the metric's name where it is one).
    pub const fn name(self) -> &'static str {
        match self {
            ProfileFigure::Metric(id) => id.name(),
            ProfileFigure::CompileCold => "compile_cold_ms",
            ProfileFigure::CompileWarm => "compile_warm_ms",
        }
    }

    /// Its noise threshold: its metric's in the registry (a compile time's for the two
    /// compile figures).
    pub fn noise(self) -> f64 {
        match self {
            ProfileFigure::Metric(id) => id.metric().noise,
            ProfileFigure::CompileCold | ProfileFigure::CompileWarm => MetricId::CompileMs.metric().noise,
        }
    }
}

crate::named_identifier!(ProfileFigure);

/// One objective of the front: which figure, its unit, and which way is better.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Objective {
    /// The figure (serialized as its name).
    #[serde(rename = "name")]
    pub figure: ProfileFigure,
    /// Unit.
    pub unit: &'static str,
    /// Larger is better (else smaller is).
    pub higher_is_better: bool,
    /// What it is.
    pub description: &'static str,
}

const fn lower(figure: ProfileFigure, unit: &'static str, description: &'static str) -> Objective {
    Objective { figure, unit, higher_is_better: false, description }
}

/// Every objective of a search's front, in output order.
pub const OBJECTIVES: &[Objective] = &[
    lower(ProfileFigure::Metric(MetricId::TtftP50Ms), "ms", "time to first token at the workload's prompts, median"),
    Objective {
        figure: ProfileFigure::Metric(MetricId::DecodeTokensPerS),
        unit: "tok/s",
        higher_is_better: true,
        description: "decode throughput after the first token, median",
    },
    lower(ProfileFigure::Metric(MetricId::ItlP90Ms), "ms", "inter-token latency, 90th percentile of every decode step"),
    lower(ProfileFigure::CompileCold, "ms", "compile without a cache: what a first start pays"),
    lower(ProfileFigure::CompileWarm, "ms", "compile from the cache: what every later start pays"),
    lower(ProfileFigure::Metric(MetricId::PeakRssMb), "MiB", "peak resident memory of the cell's process"),
    lower(ProfileFigure::Metric(MetricId::CpuMsPerToken), "ms", "host CPU time per decode token, median"),
    lower(
        ProfileFigure::Metric(MetricId::JoulesPerToken),
        "J",
        "package energy per decode token, median (where RAPL is readable)",
    ),
];

/// A profile's figures, one per [`OBJECTIVES`] entry (None: not measured).
pub type Figures = Vec<Option<f64>>;

/// The objectives every profile has a figure for: the front is judged on those alone. An
/// objective only some measured (energy where RAPL was readable for part of the run, a cold
/// compile a failed priming did not give) cannot rank the others, and judging each pair on
/// what both have would not be transitive (three profiles could each dominate the next, and
/// the front be empty).
pub fn common_objectives(points: &[Figures]) -> Vec<bool> {
    (0..OBJECTIVES.len()).map(|i| points.iter().all(|p| p.get(i).copied().flatten().is_some())).collect()
}

/// Whether `a` dominates `b` on the objectives `judged`: at least as good on each and
/// better on one.
pub fn dominates(a: &[Option<f64>], b: &[Option<f64>], judged: &[bool]) -> bool {
    let mut better = false;
    for (((x, y), o), _) in a.iter().zip(b).zip(OBJECTIVES).zip(judged).filter(|(_, &j)| j) {
        let (Some(x), Some(y)) = (x, y) else { continue };
        let (x, y) = if o.higher_is_better { (*x, *y) } else { (-*x, -*y) };
        if x < y {
            return false;
        }
        better |= x > y;
    }
    better
}

/// For each profile, whether it is on the front (no other profile dominates it).
pub fn front(points: &[Figures]) -> Vec<bool> {
    let judged = common_objectives(points);
    points.iter().map(|p| !points.iter().any(|q| dominates(q, p, &judged))).collect()
}

/// For each profile off the front, one profile of the front that dominates it.
pub fn dominated_by(points: &[Figures]) -> Vec<Option<usize>> {
    let (on, judged) = (front(points), common_objectives(points));
    points.iter().map(|p| (0..points.len()).find(|&q| on[q] && dominates(&points[q], p, &judged))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn figures(ttft: f64, tps: f64) -> Figures {
        let mut f = vec![None; OBJECTIVES.len()];
        f[0] = Some(ttft);
        f[1] = Some(tps);
        f
    }

    #[test]
    fn a_trade_keeps_both_and_a_loser_on_everything_goes() {
        // fast first token, slow decode; slow first token, fast decode; worse than both.
        let points = [figures(100.0, 20.0), figures(300.0, 40.0), figures(310.0, 19.0)];
        assert_eq!(front(&points), [true, true, false]);
        assert_eq!(dominated_by(&points)[2], Some(0));
    }

    #[test]
    fn equal_figures_do_not_dominate_each_other() {
        let points = [figures(100.0, 20.0), figures(100.0, 20.0)];
        assert_eq!(front(&points), [true, true]);
    }

    #[test]
    fn an_objective_one_profile_lacks_does_not_count() {
        let mut a = figures(100.0, 20.0);
        let b = figures(120.0, 20.0);
        // a is far worse on energy, which b did not measure: a still dominates b.
        a[7] = Some(5.0);
        let points = [a, b];
        assert!(!common_objectives(&points)[7]);
        assert_eq!(front(&points), [true, false]);
    }

    proptest! {
        /// The front is never empty, nothing on it is dominated, and everything off it is
        /// dominated by something on it.
        #[test]
        fn the_front_is_exactly_the_undominated(points in proptest::collection::vec(
            proptest::collection::vec(proptest::option::of(0.0f64..10.0), OBJECTIVES.len()), 1..12)) {
            let (on, judged) = (front(&points), common_objectives(&points));
            prop_assert!(on.iter().any(|&x| x));
            let by = dominated_by(&points);
            for (i, p) in points.iter().enumerate() {
                prop_assert_eq!(on[i], !points.iter().any(|q| dominates(q, p, &judged)));
                if !on[i] {
                    let q = by[i].expect("something on the front dominates it");
                    prop_assert!(on[q] && dominates(&points[q], p, &judged));
                }
            }
        }
    }
}
