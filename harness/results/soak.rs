//! What a soak shows: per round, the records it holds against what its completed cells
//! must hold, bakeoff's own memory once the round was over, and the latency of every decode
//! step, per round and over the whole soak. A harness that leaks across cells or drops a
//! sample fails the soak.

use super::folder::RunFolder;
use super::{CellStatus, Record};
use serde::Serialize;

/// Every decode step's latency of a soak, in bounded memory: a soak of thousands of rounds
/// makes a stream no summary should hold (its figures are the soak's own and are not
/// compared with the registry's exact per-cell percentiles).
pub type StepLatencies = crate::stats::stream::DurationStream;

/// Quantiles of a step-latency stream, ms.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct StepQuantiles {
    /// Decode steps counted.
    pub steps: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// The slowest step, ms.
    pub max_ms: f64,
}

impl StepQuantiles {
    /// A step stream's quantiles (None before any step).
    pub fn of(steps: &StepLatencies) -> Option<StepQuantiles> {
        Some(StepQuantiles {
            steps: steps.len(),
            p50_ms: steps.quantile_ms(0.5)?,
            p99_ms: steps.quantile_ms(0.99)?,
            p999_ms: steps.quantile_ms(0.999)?,
            max_ms: steps.max_ms()?,
        })
    }
}

/// One round of a soak.
#[derive(Debug, Clone, Serialize)]
pub struct SoakRound {
    /// 1-based.
    pub round: usize,
    /// Cells completed.
    pub completed: usize,
    /// Cells failed.
    pub failed: usize,
    /// Samples in results.jsonl for the completed cells' final attempts, warm-ups included.
    pub samples_recorded: usize,
    /// Samples those cells must have: prompts x (warm-up + repetitions) each.
    pub samples_expected: usize,
    /// Lines of results.jsonl that are not complete records (a torn last line; any other
    /// invalid line makes the folder unreadable).
    pub torn_lines: usize,
    /// The lowest and highest of bakeoff's resident memory after each of the round's cells,
    /// MiB: flat within a round means nothing accumulates from cell to cell.
    pub harness_rss_range_mb: Option<(f64, f64)>,
    /// bakeoff's resident memory once the round was over (its summaries written), MiB.
    pub harness_rss_mb: Option<f64>,
    /// bakeoff's peak resident memory so far once the round was over, MiB.
    pub harness_peak_rss_mb: Option<f64>,
    /// Latency of every measured decode step of the round's completed cells.
    pub decode_steps: Option<StepQuantiles>,
}

impl SoakRound {
    /// Read one round's run folder, whose scenario has `prompts` prompts; `memory` is
    /// bakeoff's (resident, peak) memory once the round was over. The round's decode steps
    /// are added to the soak's stream `steps`.
    pub fn of(
        round: usize,
        folder: &RunFolder,
        prompts: usize,
        memory: (Option<f64>, Option<f64>),
        steps: &mut StepLatencies,
    ) -> SoakRound {
        let per_cell = prompts * (folder.scenario.measure.warmup + folder.scenario.measure.repetitions);
        let attempts = folder.attempts();
        let completed: Vec<_> = attempts.iter().filter(|a| a.cell.status == CellStatus::Completed).collect();
        let range = folder
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Cell(c) => c.harness_rss_mb,
                _ => None,
            })
            .fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v)))));
        let mut round_steps = StepLatencies::default();
        for s in completed.iter().flat_map(|a| &a.samples).filter(|s| !s.warmup) {
            s.metrics.itl_ms.iter().for_each(|&ms| round_steps.record(ms));
        }
        steps.add(&round_steps);
        SoakRound {
            round,
            completed: completed.len(),
            failed: attempts.iter().filter(|a| a.cell.status == CellStatus::Failed).count(),
            samples_recorded: completed.iter().map(|a| a.samples.len()).sum(),
            samples_expected: completed.len() * per_cell,
            torn_lines: usize::from(folder.torn_tail),
            harness_rss_range_mb: range,
            harness_rss_mb: memory.0,
            harness_peak_rss_mb: memory.1,
            decode_steps: StepQuantiles::of(&round_steps),
        }
    }
}

/// A soak's rounds and what they add up to.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// Every round, in order.
    pub rounds: Vec<SoakRound>,
    /// Peak resident memory growth from the end of the first round to the end of the last, MiB.
    pub harness_peak_growth_mb: Option<f64>,
    /// Resident memory growth over the same span, MiB.
    pub harness_rss_growth_mb: Option<f64>,
    /// The growth allowed (`soak.max_harness_growth_mb`).
    pub max_harness_growth_mb: f64,
    /// Samples missing from completed cells, over all rounds.
    pub samples_lost: usize,
    /// Torn or invalid lines, over all rounds.
    pub torn_lines: usize,
    /// This soak was resumed: its rounds ran in more than one bakeoff process, so memory
    /// figures of different rounds come from different processes.
    pub resumed: bool,
    /// Latency of every measured decode step of the soak.
    pub decode_steps: Option<StepQuantiles>,
}

impl SoakReport {
    /// Sum up the rounds and the soak's decode steps (`resumed`: not all of them ran in
    /// this process).
    pub fn new(rounds: Vec<SoakRound>, steps: &StepLatencies, max_harness_growth_mb: f64, resumed: bool) -> SoakReport {
        let growth = |f: fn(&SoakRound) -> Option<f64>| Some(f(rounds.last()?)? - f(rounds.first()?)?);
        SoakReport {
            harness_peak_growth_mb: growth(|r| r.harness_peak_rss_mb),
            harness_rss_growth_mb: growth(|r| r.harness_rss_mb),
            max_harness_growth_mb,
            samples_lost: rounds.iter().map(|r| r.samples_expected.saturating_sub(r.samples_recorded)).sum(),
            torn_lines: rounds.iter().map(|r| r.torn_lines).sum(),
            resumed,
            decode_steps: StepQuantiles::of(steps),
            rounds,
        }
    }

    /// What fails the soak, one line each: a leak, a lost sample, a torn line.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, growth) in [("peak", self.harness_peak_growth_mb), ("resident", self.harness_rss_growth_mb)] {
            match growth {
                Some(g) if g > self.max_harness_growth_mb => out.push(format!(
                    "bakeoff's {what} memory grew {g:.1} MiB from the first round to the last \
                     (soak.max_harness_growth_mb = {})",
                    self.max_harness_growth_mb
                )),
                None => out.push(format!("bakeoff's {what} memory was not recorded")),
                _ => {}
            }
        }
        if self.samples_lost > 0 {
            out.push(format!("{} samples of completed cells are missing from results.jsonl", self.samples_lost));
        }
        if self.torn_lines > 0 {
            out.push(format!("{} lines of results.jsonl are torn or invalid", self.torn_lines));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(n: usize, recorded: usize, peak: f64) -> SoakRound {
        SoakRound {
            round: n,
            completed: 2,
            failed: 0,
            samples_recorded: recorded,
            samples_expected: 6,
            torn_lines: 0,
            harness_rss_range_mb: Some((peak - 3.0, peak - 2.0)),
            harness_rss_mb: Some(peak - 2.0),
            harness_peak_rss_mb: Some(peak),
            decode_steps: None,
        }
    }

    #[test]
    fn the_step_stream_adds_rounds_and_keeps_three_significant_digits() {
        let (mut soak, mut round) = (StepLatencies::default(), StepLatencies::default());
        assert_eq!(StepQuantiles::of(&soak), None);
        (1..=1000).for_each(|i| round.record(f64::from(i) / 100.0)); // 0.01 .. 10 ms
        soak.add(&round);
        soak.add(&round);
        let q = StepQuantiles::of(&soak).unwrap();
        assert_eq!(q.steps, 2000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 1e-3 + 1e-3;
        assert!(close(q.p50_ms, 5.0) && close(q.p99_ms, 9.9) && close(q.p999_ms, 9.99), "{q:?}");
        assert!(close(q.max_ms, 10.0), "{q:?}");
    }

    #[test]
    fn flat_memory_and_every_sample_pass() {
        let report = SoakReport::new(
            vec![round(1, 6, 40.0), round(2, 6, 41.0), round(3, 6, 41.5)],
            &StepLatencies::default(),
            8.0,
            false,
        );
        assert_eq!(report.harness_peak_growth_mb, Some(1.5));
        assert!(report.problems().is_empty(), "{:?}", report.problems());
    }

    #[test]
    fn growth_beyond_the_allowance_and_lost_samples_fail() {
        let report = SoakReport::new(
            vec![round(1, 6, 40.0), round(2, 5, 45.0), round(3, 6, 50.5)],
            &StepLatencies::default(),
            8.0,
            false,
        );
        let problems = report.problems();
        assert_eq!(report.samples_lost, 1);
        assert!(problems.iter().any(|p| p.contains("peak memory grew 10.5 MiB")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("1 samples of completed cells are missing")), "{problems:?}");
    }
}
