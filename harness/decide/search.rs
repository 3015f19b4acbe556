//! The decisions of a budgeted profile search (the stages are run by `bakeoff run` on a
//! scenario with `[search]`): which keys helped when varied alone, which candidates a
//! halving round keeps, the front and the finalists, and the winner from the finalists'
//! paired runs. Nothing here runs a cell: every function takes what the stages measured.

use super::ab::AbMetric;
use super::pareto::{self, Figures, ProfileFigure, OBJECTIVES};
use super::recommend::{order, Candidate, Constraints, Prefer};
use super::verdict::PerfVerdict;
use crate::metrics::MetricId;
use serde::Serialize;
use std::collections::BTreeMap;

/// A candidate as one stage measured it.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// The profile.
    pub profile: String,
    /// The stage's folder name (`1-screen`, `3-halving-1`).
    pub stage: String,
    /// Measured repetitions per prompt in that stage.
    pub repetitions: usize,
    /// The searched keys it sets differently from the base: key -> value.
    pub settings: BTreeMap<String, String>,
    /// Its figures by objective name (see [`OBJECTIVES`]); an objective not measured is
    /// absent.
    pub figures: BTreeMap<ProfileFigure, f64>,
    /// As `recommend` ranks it; `lost` says why it cannot be chosen (failed, a constraint).
    pub candidate: Candidate,
    /// The cell's wall time, s (what it cost of the budget).
    pub wall_s: f64,
}

impl Measured {
    /// The figures in [`OBJECTIVES`] order.
    pub fn figure_list(&self) -> Figures {
        OBJECTIVES.iter().map(|o| self.figures.get(&o.figure).copied()).collect()
    }

    /// Whether it completed and meets every constraint.
    pub fn eligible(&self) -> bool {
        self.candidate.lost.is_none()
    }
}

/// The figure `prefer` ranks by, and whether higher is better.
pub fn preferred_metric(prefer: Prefer) -> (MetricId, bool) {
    match prefer {
        Prefer::Speed => (MetricId::DecodeTokensPerS, true),
        Prefer::Cpu => (MetricId::CpuMsPerToken, false),
        Prefer::Energy => (MetricId::JoulesPerToken, false),
    }
}

/// How much better `m` is than `base` on `metric`, as a fraction (positive: better), when
/// both measured it.
pub fn improvement(m: &Measured, base: &Measured, figure: ProfileFigure, higher_is_better: bool) -> Option<f64> {
    let (x, b) = (*m.figures.get(&figure)?, *base.figures.get(&figure)?);
    if b <= 0.0 {
        return None;
    }
    Some(if higher_is_better { x / b - 1.0 } else { 1.0 - x / b })
}

/// A key that helped when varied alone: the values that did, and the best gain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyGain {
    /// The key.
    pub key: String,
    /// The values (as OpenVINO takes them) that helped, best first.
    pub values: Vec<String>,
    /// The best value's gain over the base, as a fraction of the figure it improved.
    pub gain: f64,
    /// That figure.
    pub metric: ProfileFigure,
}

/// What a one-factor candidate gained over the base: the preferred figure's or TTFT's
/// improvement beyond its noise threshold, without the preferred figure getting worse by
/// more than its own. None: it did not help (or is not eligible).
///
/// Each figure's noise threshold is its metric's in the registry (5% for decode speed, 10%
/// for TTFT), so a one-sample screen does not chase noise.
fn gain(m: &Measured, base: &Measured, prefer: Prefer) -> Option<(f64, ProfileFigure)> {
    if !m.eligible() {
        return None;
    }
    let (preferred, higher) = preferred_metric(prefer);
    let preferred = ProfileFigure::Metric(preferred);
    let main = improvement(m, base, preferred, higher)?;
    if main < -preferred.noise() {
        return None;
    }
    let ttft_figure = ProfileFigure::Metric(MetricId::TtftP50Ms);
    let ttft = improvement(m, base, ttft_figure, false).unwrap_or(0.0);
    [(main, preferred), (ttft, ttft_figure)]
        .into_iter()
        .filter(|(g, figure)| *g > figure.noise())
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// The keys that helped when varied alone from the base, the most helpful first, at most
/// `n`: the ones worth crossing in a grid. A screening candidate sets exactly one key.
pub fn keys_that_helped(base: &Measured, screen: &[Measured], prefer: Prefer, n: usize) -> Vec<KeyGain> {
    let mut keys: Vec<KeyGain> = Vec::new();
    let mut helpful: Vec<(&Measured, f64, ProfileFigure)> = screen
        .iter()
        .filter(|m| m.settings.len() == 1)
        .filter_map(|m| gain(m, base, prefer).map(|(g, metric)| (m, g, metric)))
        .collect();
    helpful.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (m, g, metric) in helpful {
        let (key, value) = m.settings.iter().next().expect("one setting");
        match keys.iter_mut().find(|k| &k.key == key) {
            Some(k) => k.values.push(value.clone()),
            None => keys.push(KeyGain { key: key.clone(), values: vec![value.clone()], gain: g, metric }),
        }
    }
    keys.truncate(n);
    keys
}

/// `pool` ranked as `recommend` would under `k`, the eligible first.
pub fn ranked(pool: &[Measured], k: &Constraints) -> Vec<String> {
    let mut candidates: Vec<Candidate> = pool.iter().map(|m| m.candidate.clone()).collect();
    let eligible = order(&mut candidates, k);
    candidates.into_iter().take(eligible).map(|c| c.profile).collect()
}

/// The candidates a halving round measures again: the better half of the eligible ones of
/// `pool` (rounded up), but never fewer than `keep_at_least`.
pub fn halve(pool: &[Measured], k: &Constraints, keep_at_least: usize) -> Vec<String> {
    let eligible = ranked(pool, k);
    let keep = eligible.len().div_ceil(2).max(keep_at_least).min(eligible.len());
    eligible.into_iter().take(keep).collect()
}

/// The front over every candidate's latest measurement: for each, whether it is on it.
pub fn front_of(latest: &[Measured]) -> Vec<bool> {
    let completed: Vec<usize> = (0..latest.len()).filter(|&i| latest[i].candidate.tokens_per_s.is_some()).collect();
    let figures: Vec<Figures> = completed.iter().map(|&i| latest[i].figure_list()).collect();
    let on = pareto::front(&figures);
    let mut out = vec![false; latest.len()];
    for (n, &i) in completed.iter().enumerate() {
        out[i] = on[n];
    }
    out
}

/// The finalists: the best `n` of the front's eligible members under `k`, the leader first,
/// then (when the front has fewer) the best of the others
/// (from each candidate's latest, most-sampled measurement).
pub fn finalists(latest: &[Measured], on_front: &[bool], k: &Constraints, n: usize) -> Vec<String> {
    let (front, rest): (Vec<_>, Vec<_>) = latest.iter().zip(on_front).partition(|(_, &on)| on);
    let take = |part: Vec<(&Measured, &bool)>| ranked(&part.into_iter().map(|(m, _)| m.clone()).collect::<Vec<_>>(), k);
    // A front of one (a profile best on every objective) still gets a paired check against
    // the best of the rest: unpaired medians of a few samples can make one look dominant.
    take(front).into_iter().chain(take(rest)).take(n).collect()
}

/// `recommend` on a search: the candidates off the front lose to a front member that
/// dominates them, and the front's members are ranked under `k`. Returns the choice and
/// every candidate, the chosen first.
pub fn recommend_from_front(latest: &[Measured], k: &Constraints) -> (Option<String>, Vec<Candidate>) {
    let completed: Vec<&Measured> = latest.iter().filter(|m| m.candidate.tokens_per_s.is_some()).collect();
    let figures: Vec<Figures> = completed.iter().map(|m| m.figure_list()).collect();
    let by = pareto::dominated_by(&figures);
    let mut candidates: Vec<Candidate> = latest.iter().map(|m| m.candidate.clone()).collect();
    for (m, dominator) in completed.iter().zip(by) {
        let Some(q) = dominator else { continue };
        if let Some(c) = candidates.iter_mut().find(|c| c.profile == m.profile && c.lost.is_none()) {
            c.lost = Some(format!("off the front: {} is as good or better on every objective", completed[q].profile));
        }
    }
    let best = super::recommend::choose(&mut candidates, k);
    (best, candidates)
}

/// One paired comparison of the leader (the A/B candidate side) with another finalist (the
/// baseline side) on the preferred figure.
#[derive(Debug, Clone, Serialize)]
pub struct FinalistPair {
    /// The front's leader.
    pub leader: String,
    /// The finalist it was measured against.
    pub challenger: String,
    /// Its A/B folder.
    pub folder: String,
    /// Pairs run.
    pub pairs: usize,
    /// The judged figure: the leader's change against the challenger, its interval, the
    /// verdict and the minimum detectable effect (None: the A/B cell failed).
    pub judged: Option<AbMetric>,
    /// Why the A/B cell did not judge, when it failed.
    pub reason: Option<String>,
}

/// The search's pick and how sure it is.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pick {
    /// The chosen profile.
    pub winner: String,
    /// One sentence: better by X% [interval], or a tie within the minimum detectable effect.
    pub statement: String,
}

/// The winner from the finalists' paired runs: a challenger the pairs found better than the
/// leader wins (the best of them, if several); otherwise the leader, as "better by" when
/// every pair found it better, or as a tie within what the pairs could resolve.
pub fn pick(leader: &str, pairs: &[FinalistPair]) -> Pick {
    let judged: Vec<(&FinalistPair, &AbMetric)> =
        pairs.iter().filter_map(|p| p.judged.as_ref().map(|m| (p, m))).collect();
    let beaten_by =
        judged.iter().filter(|(_, m)| m.verdict == PerfVerdict::Regressed).max_by(|a, b| gap(a.1).total_cmp(&gap(b.1)));
    if let Some((p, m)) = beaten_by {
        return Pick {
            winner: p.challenger.clone(),
            statement: format!(
                "{} wins: measured paired, the front's leader {} was worse on {} by {}; the ranking by unpaired medians \
                 was the drift between stages",
                p.challenger,
                leader,
                m.metric,
                m.describe()
            ),
        };
    }
    let lines: Vec<String> = judged.iter().map(|(p, m)| versus(p, m)).collect();
    let failed: Vec<String> = pairs
        .iter()
        .filter(|p| p.judged.is_none())
        .map(|p| format!("against {}: no paired verdict ({})", p.challenger, p.reason.as_deref().unwrap_or("failed")))
        .collect();
    let all_better = !judged.is_empty() && judged.iter().all(|(_, m)| m.verdict == PerfVerdict::Improved);
    let head = match (all_better, judged.is_empty()) {
        (true, _) => format!("{leader} wins, better measured paired"),
        (false, false) => format!("{leader} is kept: not beaten measured paired"),
        (false, true) => format!("{leader} is kept on unpaired figures only"),
    };
    let detail: Vec<String> = lines.into_iter().chain(failed).collect();
    Pick { winner: leader.to_string(), statement: format!("{head}: {}", detail.join("; ")) }
}

/// How far beyond the threshold a regression of the leader is (for choosing among several).
fn gap(m: &AbMetric) -> f64 {
    m.change.as_ref().map_or(0.0, |c| c.relative.abs())
}

/// The leader against one challenger, in words.
fn versus(p: &FinalistPair, m: &AbMetric) -> String {
    let mde = m.minimum_detectable_effect.map(|x| format!("{:.1}%", 100.0 * x)).unwrap_or_else(|| "-".into());
    match m.verdict {
        PerfVerdict::Improved => {
            format!("better than {} by {} on {} ({} pairs)", p.challenger, m.describe(), m.metric, p.pairs)
        }
        PerfVerdict::NoChange => format!(
            "a tie with {} within the minimum detectable effect {mde} on {} ({} {}, {} pairs)",
            p.challenger,
            m.metric,
            m.describe(),
            if m.decided { "decided" } else { "undecided" },
            p.pairs
        ),
        _ => format!("against {}: too few pairs to judge {} ({} pairs)", p.challenger, m.metric, p.pairs),
    }
}

/// One stage as it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Its folder.
    pub folder: String,
    /// What it did.
    pub what: String,
    /// Profiles measured.
    pub profiles: usize,
    /// Measured repetitions per prompt.
    pub repetitions: usize,
    /// Cell time it took, s.
    pub wall_s: f64,
}

/// The outcome of a search: what `search.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    /// The scenario.
    pub scenario: String,
    /// The cell searched (`model/pipeline/device`).
    pub cell: String,
    /// Device labels (NPU:host is host execution, not NPU silicon).
    pub note: Option<String>,
    /// The budget, minutes, and the cell time the measuring stages used.
    pub budget_minutes: f64,
    /// Minutes used by the screening, grid and halving stages.
    pub used_minutes: f64,
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// Why the search stopped adding stages.
    pub stopped: String,
    /// Keys that helped when varied alone (crossed in the grid).
    pub keys_that_helped: Vec<KeyGain>,
    /// Every profile's latest measurement, with whether it is on the front.
    pub candidates: Vec<(Measured, bool)>,
    /// The constraints and preference.
    pub constraints: Constraints,
    /// The finalists, the leader first.
    pub finalists: Vec<String>,
    /// The paired comparisons.
    pub pairs: Vec<FinalistPair>,
    /// The choice (None: no candidate met the constraints).
    pub pick: Option<Pick>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(profile: &str, settings: &[(&str, &str)], tps: f64, ttft: f64) -> Measured {
        let figures = BTreeMap::from([
            (ProfileFigure::Metric(MetricId::DecodeTokensPerS), tps),
            (ProfileFigure::Metric(MetricId::TtftP50Ms), ttft),
        ]);
        Measured {
            profile: profile.into(),
            stage: "1-screen".into(),
            repetitions: 1,
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            figures,
            candidate: Candidate {
                profile: profile.into(),
                tokens_per_s: Some(tps),
                ttft_ms: Some(ttft),
                peak_rss_mb: None,
                cpu_ms_per_token: None,
                joules_per_token: None,
                max_prompt_len: None,
                golden: None,
                lost: None,
            },
            wall_s: 10.0,
        }
    }

    #[test]
    fn keys_that_helped_beyond_noise_rank_by_gain_and_noise_is_not_help() {
        let base = measured("b", &[], 40.0, 500.0);
        let screen = [
            base.clone(),
            measured("b+chunk=0", &[("CHUNK", "0")], 40.0, 3700.0), // far worse TTFT
            measured("b+chunk=256", &[("CHUNK", "256")], 41.0, 300.0), // 40% better TTFT
            measured("b+pyramid=NO", &[("PYRAMID", "NO")], 46.0, 520.0), // 15% faster decode
            measured("b+opt_v=NO", &[("OPT_V", "NO")], 41.0, 490.0), // within noise
        ];
        let keys = keys_that_helped(&base, &screen, Prefer::Speed, 4);
        let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(names, ["CHUNK", "PYRAMID"]);
        assert_eq!(keys[0].values, ["256"]);
        assert_eq!(keys[0].metric, ProfileFigure::Metric(MetricId::TtftP50Ms));
        assert_eq!(keys_that_helped(&base, &screen, Prefer::Speed, 1).len(), 1);
    }

    #[test]
    fn a_faster_first_token_bought_with_slower_decode_is_no_help() {
        let base = measured("b", &[], 40.0, 500.0);
        let screen = [measured("b+x=1", &[("X", "1")], 30.0, 100.0)];
        assert!(keys_that_helped(&base, &screen, Prefer::Speed, 2).is_empty());
    }

    #[test]
    fn halving_keeps_the_better_half_of_the_eligible_and_never_fewer_than_asked() {
        let mut pool: Vec<Measured> = (0..5).map(|i| measured(&format!("p{i}"), &[], 10.0 + i as f64, 100.0)).collect();
        pool[4].candidate.lost = Some("failed: compile_error".into());
        let k = Constraints::default();
        assert_eq!(halve(&pool, &k, 2), ["p3", "p2"]);
        assert_eq!(halve(&pool, &k, 3), ["p3", "p2", "p1"]);
    }

    #[test]
    fn finalists_come_from_the_front_under_the_constraints() {
        let latest = [
            measured("fast", &[], 50.0, 900.0),
            measured("quick-start", &[], 40.0, 200.0),
            measured("worse", &[], 39.0, 950.0),
        ];
        let on = front_of(&latest);
        assert_eq!(on, [true, true, false]);
        assert_eq!(finalists(&latest, &on, &Constraints::default(), 2), ["fast", "quick-start"]);
        // Fewer on the front than asked for: the best of the rest joins, after the front.
        assert_eq!(finalists(&latest, &on, &Constraints::default(), 3), ["fast", "quick-start", "worse"]);
        let k = Constraints { max_ttft_ms: Some(500.0), ..Default::default() };
        assert_eq!(finalists(&latest, &on, &k, 3), ["quick-start"]);
    }
}
