//! How often `bakeoff ab`'s verdicts fire, replayed from recorded pairs: its false-alarm
//! rate under no change and its detection rate under a known one, from thousands of trials
//! that would cost days on the machine.
//!
//! A trial replays a recorded A/A run (the same stack on both sides) through the real pair
//! runner ([`run_ab_cell`]) with the real length rule ([`length_decided`]) and the real
//! verdict ([`judge_pairs`]): each of its rounds is a round of the recording drawn at random
//! (with replacement), whole, so each process's own speed and the drift inside a round stay
//! as they were measured, and each block of rounds is balanced as a real run's is (one
//! round of each start order); the candidate's timings are multiplied by `1 + change` (time to
//! first token, inter-token latencies, end-to-end, time inside infer, CPU time; decode
//! tokens/s divided by it; each round's first inference too), as the test-only slowdown
//! does on a real run. The time cap runs on the recorded times: each round costs the time
//! its processes took to start, and each pair its round's time per pair.
//!
//! A trial counts as a false alarm (no change injected) when any judged metric is flagged
//! regressed or improved, as a CI gate reading `ab.json` would see it; as a detection (a
//! change injected) when `decode_tokens_per_s` is flagged regressed.

use super::ab::{judge_pairs, length_decided, Evidence};
use super::verdict::PerfVerdict;
use crate::executor::paired::{run_ab_cell, CellProgress, DrivenCell, PairLauncher, PairOptions, PairSink, StepEnd};
use crate::executor::{CellPrompt, CellSpec, DriveCommand};
use crate::metrics::MetricId;
use crate::plan::CellKey;
use crate::results::pairs::{AbRound, LengthEnd, Pair, Schedule, Side};
use crate::results::{CellRecord, CellStatus, ProcessFigures, Record, SampleRecord};
use crate::scenario::ab::AbSettings;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One recorded round as a replay draws it: its pairs, both processes' figures and its
/// times.
#[derive(Debug, Clone)]
pub struct RecordedRound {
    /// The round's pairs, in order.
    pub pairs: Vec<Pair>,
    /// Both processes' figures.
    pub figures: AbRound,
    /// Seconds to start both processes (compile, warm-ups).
    pub start_s: f64,
    /// Seconds per pair (the rest of the round's time over its pairs).
    pub pair_s: f64,
    /// The side whose process started first.
    pub first: Side,
}

/// The recorded rounds of one cell's A/A runs: what a replay resamples.
#[derive(Debug, Clone)]
pub struct ReplayPool {
    /// The cell.
    pub cell: CellKey,
    /// Its complete rounds (each with the full `pairs_per_round`), shared by the trials'
    /// threads.
    pub rounds: Vec<Arc<RecordedRound>>,
    /// Pairs per round of the recording (the replay takes rounds of this size).
    pub pairs_per_round: usize,
    /// How the recording's sides took turns.
    pub schedule: Schedule,
}

impl ReplayPool {
    /// The complete, timed rounds of `cell` in `records` (an A/B run's results.jsonl; the
    /// only A/B cell when `cell` is None). Err: why they cannot be replayed.
    pub fn of(records: &[Record], cell: Option<&CellKey>) -> Result<ReplayPool, String> {
        let outcomes = crate::results::pairs::ab_outcomes(records);
        let outcome = match cell {
            Some(key) => outcomes.iter().find(|o| &o.cell == key).ok_or_else(|| format!("no A/B cell `{key}`"))?,
            None if outcomes.len() == 1 => &outcomes[0],
            None => return Err(format!("{} A/B cells: name one with --cell", outcomes.len())),
        };
        if outcome.schedule == Schedule::Mixed {
            return Err("a mixed run's rounds hold both schedules: record with --schedule alternate or steps".into());
        }
        let pairs = crate::results::pairs::pairs_by_cell(records).remove(&outcome.cell).unwrap_or_default();
        let rounds = crate::results::pairs::rounds_by_cell(records).remove(&outcome.cell).unwrap_or_default();
        let mut by_round: std::collections::BTreeMap<usize, Vec<Pair>> = Default::default();
        for p in pairs {
            by_round.entry(p.round).or_default().push(p);
        }
        let pairs_per_round = by_round.values().map(Vec::len).max().unwrap_or(0);
        let recorded: Vec<Arc<RecordedRound>> = rounds
            .into_iter()
            .filter_map(|figures| {
                let pairs = by_round.remove(&figures.round).filter(|p| p.len() == pairs_per_round)?;
                let (seconds, start_s, first) = (figures.seconds?, figures.start_seconds?, figures.first?);
                let pair_s = (seconds - start_s).max(0.0) / pairs.len() as f64;
                Some(Arc::new(RecordedRound { pairs, figures, start_s, pair_s, first }))
            })
            .collect();
        let fewest = Side::BOTH.map(|side| recorded.iter().filter(|r| r.first == side).count()).into_iter().min();
        if fewest.unwrap_or(0) < crate::stats::paired::MIN_ROUNDS {
            return Err(format!(
                "{} complete timed rounds of {pairs_per_round} pairs, {} of the rarer start order; a replay needs at \
                 least {} of each (rounds record their times and start order from this version on)",
                recorded.len(),
                fewest.unwrap_or(0),
                crate::stats::paired::MIN_ROUNDS
            ));
        }
        Ok(ReplayPool { cell: outcome.cell.clone(), rounds: recorded, pairs_per_round, schedule: outcome.schedule })
    }

    /// Both pools' rounds in one (the same cell and round size). Err: they differ.
    pub fn merge(mut self, other: ReplayPool) -> Result<ReplayPool, String> {
        if other.cell != self.cell || other.pairs_per_round != self.pairs_per_round || other.schedule != self.schedule {
            return Err(format!(
                "recordings differ: {} ({} pairs a round, {}) and {} ({} pairs a round, {})",
                self.cell,
                self.pairs_per_round,
                self.schedule.name(),
                other.cell,
                other.pairs_per_round,
                other.schedule.name()
            ));
        }
        self.rounds.extend(other.rounds);
        Ok(self)
    }
}

/// What one replayed trial ended with.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Pairs taken.
    pub pairs: usize,
    /// Its time on the recorded clock, s (rounds' starts and pairs).
    pub seconds: f64,
    /// Why it stopped adding pairs.
    pub end: LengthEnd,
    /// Some judged metric was flagged, regressed or improved.
    pub flagged: bool,
    /// Some judged metric regressed (`bakeoff ab` exits 3).
    pub regressed: bool,
    /// decode_tokens_per_s: its verdict and estimated change.
    pub decode: Option<(PerfVerdict, f64)>,
}

/// One trial: `pool`'s rounds drawn by `seed`, the candidate slowed by `change` (0.03:
/// every timing 3% longer), run and judged by `settings`' rules.
pub fn replay_trial(pool: &ReplayPool, settings: &AbSettings, change: f64, seed: u64) -> Trial {
    let clock = Rc::new(Cell::new(0.0));
    let mut launcher = ReplayLauncher {
        pool,
        rng: SmallRng::seed_from_u64(seed),
        factor: 1.0 + change,
        clock: clock.clone(),
        starts: 0,
        block: 0,
        lead: Side::Baseline,
    };
    let options = PairOptions {
        schedule: Schedule::Alternate,
        seed,
        cell_index: 0,
        min_pairs: settings.length.min_pairs,
        max_pairs: settings.length.max_pairs,
        max_time: Duration::from_secs_f64(settings.length.max_minutes * 60.0),
        pairs_per_round: pool.pairs_per_round,
    };
    let spec = replay_spec(&pool.cell);
    let mut progress = CellProgress::default();
    let mut sink = RuleSink { settings };
    let outcome = run_ab_cell([&spec, &spec], &mut launcher, &options, &mut progress, &mut sink)
        .expect("a replay writes nothing that can fail");
    let evidence = Evidence { pairs: &progress.pairs, rounds: &progress.rounds, outcome: None };
    let metrics = judge_pairs(evidence, settings);
    let flagged = |v: PerfVerdict| matches!(v, PerfVerdict::Regressed | PerfVerdict::Improved);
    Trial {
        pairs: progress.pairs.len(),
        seconds: clock.get(),
        end: outcome.end,
        flagged: metrics.iter().any(|m| flagged(m.verdict)),
        regressed: metrics.iter().any(|m| m.verdict == PerfVerdict::Regressed),
        decode: metrics
            .iter()
            .find(|m| m.metric == MetricId::DecodeTokensPerS)
            .and_then(|m| m.change.as_ref().map(|c| (m.verdict, c.relative))),
    }
}

/// The spec the pair runner is handed in a replay: the cell's key and one prompt (the
/// replayed cells never read the rest).
fn replay_spec(cell: &CellKey) -> CellSpec {
    CellSpec {
        key: cell.clone(),
        model_dir: Default::default(),
        properties: Default::default(),
        prompts: vec![CellPrompt { id: "replayed".into(), ids: vec![0], conversation: None }],
        max_new_tokens: 1,
        ignore_eos: true,
        eos_ids: Vec::new(),
        window: crate::pipelines::static128::WindowOptions {
            window: 1,
            pad_id: 0,
            padding: Default::default(),
            overflow: Default::default(),
            full_lm_head: false,
        },
        measure: Default::default(),
        timeouts: Default::default(),
        limits: Default::default(),
        cache_dir: None,
        cache_mode: Default::default(),
        openvino_lib: None,
        genai_config: Default::default(),
        history: Vec::new(),
        driven: true,
    }
}

/// The length rule of a real run; nothing is written.
struct RuleSink<'a> {
    settings: &'a AbSettings,
}

impl PairSink for RuleSink<'_> {
    fn warmup(&mut self, _side: Side, _sample: SampleRecord) -> std::io::Result<()> {
        Ok(())
    }

    fn pair(&mut self, _pair: &Pair) -> std::io::Result<()> {
        Ok(())
    }

    fn round(&mut self, _round: &AbRound) -> std::io::Result<()> {
        Ok(())
    }

    fn decided(&mut self, progress: &CellProgress) -> bool {
        length_decided(&progress.pairs, &progress.rounds, self.settings)
    }
}

/// Starts each round's two sides on one recorded round, drawn when the round's first side
/// starts (see [`ReplayLauncher::draw_round`]), and keeps the recorded clock.
struct ReplayLauncher<'a> {
    pool: &'a ReplayPool,
    rng: SmallRng,
    factor: f64,
    clock: Rc<Cell<f64>>,
    starts: usize,
    block: usize,
    /// The side starting first in the current block's first round.
    lead: Side,
}

impl PairLauncher for ReplayLauncher<'_> {
    fn start(
        &mut self,
        _spec: &CellSpec,
        side: Side,
        _cpu: Option<usize>,
    ) -> Result<Box<dyn DrivenCell>, Box<CellRecord>> {
        if self.starts % 2 == 0 {
            self.block = self.draw_round(self.starts / 2);
            self.clock.set(self.clock.get() + self.pool.rounds[self.block].start_s);
        }
        self.starts += 1;
        let round = self.pool.rounds[self.block].clone();
        let factor = if side == Side::Candidate { self.factor } else { 1.0 };
        Ok(Box::new(ReplayCell { round, side, factor, clock: self.clock.clone(), next: 0, asked: false }))
    }

    fn elapsed(&self, _started: Instant) -> Duration {
        Duration::from_secs_f64(self.clock.get())
    }
}

impl ReplayLauncher<'_> {
    /// The recorded round replayed as round `round`: blocks are balanced as in a real run,
    /// the first round of each block started by a side drawn at random and the second by
    /// the other, each a random recorded round of that start order.
    fn draw_round(&mut self, round: usize) -> usize {
        use crate::results::pairs::ROUNDS_PER_BLOCK;
        if round % ROUNDS_PER_BLOCK == 0 {
            self.lead = if self.rng.random_bool(0.5) { Side::Baseline } else { Side::Candidate };
        }
        let first = if round % ROUNDS_PER_BLOCK == 0 { self.lead } else { self.lead.other() };
        let of_order: Vec<usize> =
            (0..self.pool.rounds.len()).filter(|&i| self.pool.rounds[i].first == first).collect();
        of_order[self.rng.random_range(0..of_order.len())]
    }
}

/// One side of a replayed round: its recorded samples in order, slowed by `factor`.
struct ReplayCell {
    round: Arc<RecordedRound>,
    side: Side,
    factor: f64,
    clock: Rc<Cell<f64>>,
    next: usize,
    asked: bool,
}

impl DrivenCell for ReplayCell {
    fn ready(&mut self, _on_warmup: &mut dyn FnMut(SampleRecord)) -> bool {
        true
    }

    fn request(&mut self, _command: DriveCommand) -> bool {
        self.asked = true;
        true
    }

    fn receive(&mut self) -> Option<SampleRecord> {
        let pair = self.round.pairs.get(self.next).filter(|_| std::mem::take(&mut self.asked))?;
        self.next += 1;
        if self.side == Side::Baseline {
            self.clock.set(self.clock.get() + self.round.pair_s);
        }
        Some(slowed(pair.side(self.side).clone(), self.factor))
    }

    fn request_step(&mut self, _step: usize) -> bool {
        false
    }

    fn receive_step(&mut self) -> Option<StepEnd> {
        None
    }

    fn finish(self: Box<Self>) -> CellRecord {
        let mut figures = self.round.figures.side(self.side).clone();
        figures.first_inference_ms = figures.first_inference_ms.map(|v| v * self.factor);
        record_of(&self.round.figures.cell, &figures)
    }
}

/// A completed record whose process figures are `figures`.
fn record_of(cell: &CellKey, figures: &ProcessFigures) -> CellRecord {
    let mut record = CellRecord::new(cell, CellStatus::Completed);
    record.load_ms = figures.load_ms;
    record.compile_ms = figures.compile_ms;
    record.cold_compile_ms = figures.cold_compile_ms;
    record.from_cache = figures.from_cache;
    record.first_inference_ms = figures.first_inference_ms;
    record.compile_peak_rss_mb = figures.compile_peak_rss_mb;
    record.steady_peak_rss_mb = figures.steady_peak_rss_mb;
    record.peak_rss_mb = figures.peak_rss_mb;
    record
}

/// `sample` with every timing `factor` times as long (decode tokens/s divided by it).
fn slowed(mut sample: SampleRecord, factor: f64) -> SampleRecord {
    if factor == 1.0 {
        return sample;
    }
    let m = &mut sample.metrics;
    m.ttft_ms *= factor;
    m.itl_ms.iter_mut().for_each(|v| *v *= factor);
    m.e2e_ms *= factor;
    m.infer_ms_per_token *= factor;
    m.decode_tokens_per_s = m.decode_tokens_per_s.map(|v| v / factor);
    m.usage.prefill_cpu_ms = m.usage.prefill_cpu_ms.map(|v| v * factor);
    m.usage.cpu_ms_per_token = m.usage.cpu_ms_per_token.map(|v| v * factor);
    sample
}

/// The trials of one injected change, summarized.
#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    /// The change injected into the candidate (0.03: 3% slower).
    pub change: f64,
    /// Trials run.
    pub trials: usize,
    /// Trials that fired: with no change, any metric flagged (a false alarm); with a
    /// change, decode_tokens_per_s regressed (a detection).
    pub fired: usize,
    /// `fired / trials` and its Wilson 95% interval.
    pub rate: f64,
    /// The interval's ends.
    pub rate_interval: (f64, f64),
    /// Trials where some metric regressed (what a CI gate on the exit code sees).
    pub exit_regressed: usize,
    /// Trials that stopped because every judged metric was decided.
    pub decided: usize,
    /// Median pairs per trial.
    pub median_pairs: f64,
    /// Median time per trial on the recorded clock, s.
    pub median_seconds: f64,
    /// Median estimated decode_tokens_per_s change.
    pub median_decode_change: Option<f64>,
}

/// Run `trials` trials of each change in `changes` over `threads` threads; trial `i` of
/// change `j` is seeded by `(seed, j, i)`, so the table is the same on every machine.
pub fn replay(
    pool: &ReplayPool,
    settings: &AbSettings,
    changes: &[f64],
    trials: usize,
    seed: u64,
    threads: usize,
) -> Vec<Condition> {
    changes
        .iter()
        .enumerate()
        .map(|(j, &change)| {
            let seeds: Vec<u64> = (0..trials).map(|i| seed ^ ((j as u64) << 48) ^ i as u64).collect();
            let run =
                |chunk: &[u64]| chunk.iter().map(|&s| replay_trial(pool, settings, change, s)).collect::<Vec<_>>();
            let chunk = trials.div_ceil(threads.max(1)).max(1);
            let done: Vec<Trial> = std::thread::scope(|scope| {
                let handles: Vec<_> = seeds.chunks(chunk).map(|c| scope.spawn(move || run(c))).collect();
                handles.into_iter().flat_map(|h| h.join().expect("a replay trial panicked")).collect()
            });
            summarize(change, &done)
        })
        .collect()
}

/// One change's trials, summarized.
pub fn summarize(change: f64, trials: &[Trial]) -> Condition {
    let fired = trials
        .iter()
        .filter(|t| match change == 0.0 {
            true => t.flagged,
            false => t.decode.is_some_and(|(v, _)| v == PerfVerdict::Regressed),
        })
        .count();
    let n = trials.len();
    let median = |v: Vec<f64>| crate::stats::median(&v);
    Condition {
        change,
        trials: n,
        fired,
        rate: if n == 0 { 0.0 } else { fired as f64 / n as f64 },
        rate_interval: crate::stats::wilson_interval(fired, n).unwrap_or((0.0, 1.0)),
        exit_regressed: trials.iter().filter(|t| t.regressed).count(),
        decided: trials.iter().filter(|t| t.end == LengthEnd::Decided).count(),
        median_pairs: median(trials.iter().map(|t| t.pairs as f64).collect()).unwrap_or(0.0),
        median_seconds: median(trials.iter().map(|t| t.seconds).collect()).unwrap_or(0.0),
        median_decode_change: median(trials.iter().filter_map(|t| t.decode.map(|d| d.1)).collect()),
    }
}

/// What one metric of a cell can see on this machine, projected from a short A/A run.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    /// The metric.
    pub metric: MetricId,
    /// Its threshold (fraction).
    pub threshold: f64,
    /// The per-pair noise measured (standard deviation of the pairs' log ratios).
    pub pair_ratio_sd: Option<f64>,
    /// The A/A interval's half-width measured (fraction).
    pub half_width: f64,
    /// The smallest change the budget could flag (threshold plus the projected
    /// half-width; a change this size is flagged about half the time).
    pub detectable: f64,
    /// The change the budget flags nine times in ten.
    pub detectable_90: f64,
    /// Minutes a cell needs to flag the asked-for effect nine times in ten (None: the
    /// effect is at or below the threshold, which no length can clear).
    pub minutes_for_effect: Option<f64>,
}

/// A cell's calibration: what its metrics can see within a time budget, and the time an
/// effect needs.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// The cell.
    pub cell: CellKey,
    /// Blocks of rounds the A/A measured (each two rounds of opposite start order).
    pub blocks: usize,
    /// Pairs measured.
    pub pairs: usize,
    /// Median time of a round here (start both sides, take its pairs), s.
    pub round_seconds: f64,
    /// The budget asked about, minutes per cell.
    pub budget_minutes: f64,
    /// Blocks of rounds that fit the budget (and the pair cap).
    pub budget_blocks: usize,
    /// The effect asked about (fraction).
    pub effect: f64,
    /// Every judged metric with an interval.
    pub projections: Vec<Projection>,
}

/// The calibration of `cell` from its A/A `pairs` and `rounds`, for `budget_minutes` per
/// cell and an `effect` (fraction) to be flagged nine times in ten, under `settings`' rules.
/// Each interval's half-width over the measured blocks is projected to other block counts
/// ([`crate::stats::paired::projected_half_width`]). Err: too few rounds or no round times.
pub fn calibrate(
    cell: &CellKey,
    pairs: &[Pair],
    rounds: &[AbRound],
    settings: &AbSettings,
    (budget_minutes, effect): (f64, f64),
) -> Result<Calibration, String> {
    use crate::results::pairs::{block_of, ROUNDS_PER_BLOCK};
    use crate::stats::paired::{projected_half_width, HALF_WIDTHS_FOR_90, MIN_ROUNDS};
    let measured: std::collections::BTreeSet<usize> = pairs.iter().map(|p| block_of(p.round)).collect();
    if measured.len() < MIN_ROUNDS {
        return Err(format!(
            "{cell}: {} blocks of rounds measured; a calibration needs at least {MIN_ROUNDS} ({} rounds)",
            measured.len(),
            MIN_ROUNDS * ROUNDS_PER_BLOCK
        ));
    }
    let times: Vec<f64> = rounds.iter().filter_map(|r| r.seconds).collect();
    let round_seconds = crate::stats::median(&times).ok_or_else(|| format!("{cell}: no timed round"))?;
    let block_seconds = round_seconds * ROUNDS_PER_BLOCK as f64;
    let per_block = pairs.len().div_ceil(measured.len()).max(1);
    let cap = (settings.length.max_pairs / per_block).max(1);
    let budget_blocks = ((budget_minutes * 60.0 / block_seconds).floor() as usize).min(cap);
    let k0 = measured.len();
    let evidence = Evidence { pairs, rounds, outcome: None };
    let projections = judge_pairs(evidence, settings)
        .into_iter()
        .filter_map(|m| {
            let half_width = m.change.as_ref()?.half_width();
            let at = |k: usize| projected_half_width(half_width, k0, k);
            let minutes_for_effect = (effect > m.threshold)
                .then(|| (MIN_ROUNDS..=100_000).find(|&k| m.threshold + HALF_WIDTHS_FOR_90 * at(k) <= effect))
                .flatten()
                .map(|k| k as f64 * block_seconds / 60.0);
            Some(Projection {
                metric: m.metric,
                threshold: m.threshold,
                pair_ratio_sd: m.pair_ratio_sd,
                half_width,
                detectable: m.threshold + at(budget_blocks),
                detectable_90: m.threshold + HALF_WIDTHS_FOR_90 * at(budget_blocks),
                minutes_for_effect,
            })
        })
        .collect();
    Ok(Calibration {
        cell: cell.clone(),
        blocks: k0,
        pairs: pairs.len(),
        round_seconds,
        budget_minutes,
        budget_blocks,
        effect,
        projections,
    })
}
