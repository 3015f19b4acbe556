//! `bakeoff power`'s table: per injected change, how often the verdict fired over the
//! replayed trials, with its Wilson interval, and what a trial cost.

use crate::decide::power::Condition;
use crate::results::pairs::Schedule;
use crate::scenario::ab::AbSettings;
use serde::Serialize;

/// A replay's outcome, as printed and as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct PowerReport {
    /// The A/A run folders replayed.
    pub sources: Vec<String>,
    /// The cell.
    pub cell: String,
    /// How the recording's sides took turns.
    pub schedule: Schedule,
    /// Complete rounds in the pool.
    pub rounds: usize,
    /// Pairs per round.
    pub pairs_per_round: usize,
    /// The rules each trial ran under.
    pub settings: AbSettings,
    /// One row per injected change.
    pub conditions: Vec<Condition>,
    /// How long the replay took here, s.
    pub replay_seconds: f64,
}

/// The thresholds in force: the default, then each deciding metric's own where it differs
/// (`2.0% (decode_tokens_per_s 1.0%)`).
fn thresholds(settings: &crate::scenario::ab::AbSettings) -> String {
    let own: Vec<String> = settings
        .length
        .metrics
        .iter()
        .filter_map(|name| crate::metrics::MetricId::parse(name))
        .map(|id| (id, settings.threshold_of(id)))
        .filter(|(_, t)| *t != settings.threshold)
        .map(|(id, t)| format!("{} {:.1}%", id.name(), 100.0 * t))
        .collect();
    let default = format!("{:.1}%", 100.0 * settings.threshold);
    if own.is_empty() {
        default
    } else {
        format!("{default} ({})", own.join(", "))
    }
}

/// The table, in markdown.
pub fn markdown(report: &PowerReport) -> String {
    let l = &report.settings.length;
    let mut s = format!(
        "# Operating characteristics of `bakeoff ab`, replayed\n\n`{}`, schedule {}: {} recorded A/A rounds of {} pairs \
         from {}.\nRules: threshold {}, at least {} pairs, at most {} pairs or {} minutes, decided on {}.\n\n",
        report.cell,
        report.schedule.name(),
        report.rounds,
        report.pairs_per_round,
        report.sources.join(", "),
        thresholds(&report.settings),
        l.min_pairs,
        l.max_pairs,
        l.max_minutes,
        l.metrics.join(", ")
    );
    s += "| injected change | trials | fired | rate [95% interval] | exit 3 | decided | median pairs | median minutes | median decode change |\n";
    s += "|---:|---:|---:|---|---:|---:|---:|---:|---:|\n";
    for c in &report.conditions {
        let what = if c.change == 0.0 { "false alarms" } else { "detected" };
        s += &format!(
            "| {:.1}% | {} | {} {what} | {:.1}% [{:.1}%, {:.1}%] | {} | {} | {:.0} | {:.2} | {} |\n",
            100.0 * c.change,
            c.trials,
            c.fired,
            100.0 * c.rate,
            100.0 * c.rate_interval.0,
            100.0 * c.rate_interval.1,
            c.exit_regressed,
            c.decided,
            c.median_pairs,
            c.median_seconds / 60.0,
            c.median_decode_change.map_or("-".into(), |d| format!("{:+.2}%", 100.0 * d)),
        );
    }
    s += "\nA false alarm: any judged metric flagged (regressed or improved) with no change injected. A detection: \
          decode_tokens_per_s flagged regressed. exit 3: any metric regressed (what a CI gate on the exit code sees). \
          Minutes are on the recorded clock (each round's start and pairs as measured).\n";
    s
}

/// `bakeoff ab --calibrate`'s outcome: the machine and each cell's projections.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationReport {
    /// The host, as its fingerprint describes it.
    pub machine: String,
    /// One per cell.
    pub cells: Vec<crate::decide::power::Calibration>,
}

/// `bakeoff ab --calibrate`'s tables, one per cell.
pub fn calibration_markdown(report: &CalibrationReport) -> String {
    let mut s = format!("# What this machine can see: `bakeoff ab --calibrate`\n\n{}\n", report.machine);
    for c in &report.cells {
        s += &format!(
            "\n## `{}`\n\nA/A: {} pairs in {} blocks of two rounds, {:.1} s a round. Budget {:.1} minutes a cell = {} \
             blocks; effect asked about {:.1}%.\n\n",
            c.cell,
            c.pairs,
            c.blocks,
            c.round_seconds,
            c.budget_minutes,
            c.budget_blocks,
            100.0 * c.effect
        );
        s += &format!(
            "| metric | threshold | pair-ratio sd | A/A half-width | detectable in {:.1} min | flagged 9 in 10 in {:.1} min | minutes for {:.1}% (9 in 10) |\n",
            c.budget_minutes, c.budget_minutes, 100.0 * c.effect
        );
        s += "|---|---:|---:|---:|---:|---:|---:|\n";
        for p in &c.projections {
            s += &format!(
                "| {} | {:.1}% | {} | {:.2}% | {:.2}% | {:.2}% | {} |\n",
                p.metric,
                100.0 * p.threshold,
                p.pair_ratio_sd.map_or("-".into(), |v| format!("{v:.4}")),
                100.0 * p.half_width,
                100.0 * p.detectable,
                100.0 * p.detectable_90,
                p.minutes_for_effect.map_or("never at this threshold".into(), |m| format!("{m:.1}")),
            );
        }
    }
    s += "\nProjected from the A/A's intervals: a half-width shrinks as the square root of the blocks of rounds (and \
          with the few-blocks widening). A change is flagged when its whole interval clears the threshold, so nothing at or \
          below the threshold is ever flagged: to see 1%, lower the metric's threshold (`--noise METRIC=FRACTION`). Set `[ab.length] max_minutes` (or \
          `--max-minutes`) from the last column.\n";
    s
}
