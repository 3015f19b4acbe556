//! A/B pairs as results.jsonl holds them. In an A/B run both sides of a cell run at once,
//! each in a process of its own, and take turns: pair `n` is one generation of the same
//! prompt on each side, back to back in a random order (or at the same moment, duet). Each
//! sample carries its side and pair ([`AbTag`]); both samples of a pair are written together
//! once both exist, so an interrupted run never holds half a pair, and a resumed one
//! continues from the pairs already recorded. Both processes are restarted every round of
//! pairs (each process has a speed of its own, ±2% seen on one VM, which pairs inside one
//! process pair cannot cancel), so each pair also records its round. A cell's outcome is
//! one [`AbCellRecord`].

use super::{CellRecord, CellStatus, ProcessFigures, Record, SampleRecord};
use crate::plan::CellKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A side of an A/B comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// What is compared against (main's bake, the old stack).
    Baseline,
    /// What is judged (the PR's bake, the new stack).
    Candidate,
}

impl Side {
    /// Both sides, baseline first.
    pub const BOTH: [Side; 2] = [Side::Baseline, Side::Candidate];

    /// The side's name in every output.
    pub fn name(self) -> &'static str {
        match self {
            Side::Baseline => "baseline",
            Side::Candidate => "candidate",
        }
    }

    /// The side's letter in a pair's step order (`b`, `c`).
    pub fn letter(self) -> char {
        match self {
            Side::Baseline => 'b',
            Side::Candidate => 'c',
        }
    }

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Baseline => Side::Candidate,
            Side::Candidate => Side::Baseline,
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a sample of an A/B run belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbTag {
    /// Its side.
    pub side: Side,
    /// Its pair (None: a warm-up).
    pub pair: Option<usize>,
    /// 0 when this side ran first in its pair, 1 second; both 0 in a duet (same moment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u8>,
    /// The round: which pair of processes took it (both sides restart every round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<usize>,
    /// The pair's decode steps interleaved: which side took each step pair's first step
    /// (`b`, `c`), as [`Pair::steps`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<String>,
}

pub use crate::scenario::ab::Schedule;

/// Rounds come in blocks of two: the second round of a block starts its processes in the
/// other order than the first (see `executor::paired::PairOptions::round_first_side`), and a
/// verdict's bootstrap resamples blocks. The order in which a round's two processes start
/// changes their speed for their whole life: on a 2-vCPU VM the process started first ran
/// 4-5% slower than the second in 36 of 36 rounds of one A/A run (kvcache CPU, default CPU
/// pinning), which made each round's ratio about -5% or +5% and nothing in between. Inside
/// a block that cancels, so the interval is the width of what is left.
pub const ROUNDS_PER_BLOCK: usize = 2;

/// The block round `round` belongs to.
pub fn block_of(round: usize) -> usize {
    round / ROUNDS_PER_BLOCK
}

/// Why a cell stopped adding pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthEnd {
    /// Every judged metric's interval decided it (beyond the threshold, or within it).
    Decided,
    /// The pair cap was reached first.
    MaxPairs,
    /// The time cap was reached first.
    MaxTime,
    /// A side failed (its record says why); the pairs before it are kept.
    Failed,
}

impl LengthEnd {
    /// What it means, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            LengthEnd::Decided => "every judged metric decided",
            LengthEnd::MaxPairs => "pair cap reached before every judged metric decided",
            LengthEnd::MaxTime => "time cap reached before every judged metric decided",
            LengthEnd::Failed => "a side failed",
        }
    }
}

/// One pair: the same prompt on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Its index in the cell (0-based, in run order).
    pub index: usize,
    /// The round (the pair of processes) it was taken in.
    pub round: usize,
    /// The side that ran first (duet: None); with steps interleaved, the side that
    /// prefilled first.
    pub first: Option<Side>,
    /// With decode steps interleaved: which side took each step pair's first step, one
    /// letter per step pair (`b` baseline, `c` candidate). None: whole generations.
    pub steps: Option<String>,
    /// The baseline's sample.
    pub baseline: SampleRecord,
    /// The candidate's sample.
    pub candidate: SampleRecord,
}

impl Pair {
    /// The sample of `side`.
    pub fn side(&self, side: Side) -> &SampleRecord {
        match side {
            Side::Baseline => &self.baseline,
            Side::Candidate => &self.candidate,
        }
    }

    /// The two samples tagged for results.jsonl, in the order they ran.
    pub fn tagged(&self) -> Vec<SampleRecord> {
        let order = match self.first {
            Some(Side::Candidate) => [Side::Candidate, Side::Baseline],
            _ => [Side::Baseline, Side::Candidate],
        };
        order
            .iter()
            .enumerate()
            .map(|(i, &side)| {
                let mut s = self.side(side).clone();
                let position = if self.first.is_none() { 0 } else { i as u8 };
                s.ab = Some(AbTag {
                    side,
                    pair: Some(self.index),
                    position: Some(position),
                    round: Some(self.round),
                    steps: self.steps.clone(),
                });
                s
            })
            .collect()
    }
}

/// One round of an A/B cell: what each side's process measured once (its cold and warm
/// compile into a cache of the round's own, its first generation, its memory by phase).
/// Every round restarts both processes, so each round is one pair of these figures, and
/// they are judged over rounds as the samples are over pairs. Written once both sides
/// completed the round.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AbRound {
    /// The cell.
    pub cell: CellKey,
    /// The round.
    pub round: usize,
    /// The baseline's process.
    pub baseline: ProcessFigures,
    /// The candidate's process.
    pub candidate: ProcessFigures,
    /// The round's wall time, s: both processes started, its pairs taken, both ended
    /// (absent in folders recorded before rounds were timed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Of which starting both processes (each compiled and warmed up), s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_seconds: Option<f64>,
    /// The side whose process started first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Side>,
}

impl AbRound {
    /// The figures of `side`.
    pub fn side(&self, side: Side) -> &ProcessFigures {
        match side {
            Side::Baseline => &self.baseline,
            Side::Candidate => &self.candidate,
        }
    }
}

/// Every recorded round of every cell, by cell, in round order (a round recorded twice
/// keeps its last record).
pub fn rounds_by_cell(records: &[Record]) -> BTreeMap<CellKey, Vec<AbRound>> {
    let mut out: BTreeMap<CellKey, BTreeMap<usize, AbRound>> = BTreeMap::new();
    for r in records {
        if let Record::Round(round) = r {
            out.entry(round.cell.clone()).or_default().insert(round.round, (**round).clone());
        }
    }
    out.into_iter().map(|(cell, rounds)| (cell, rounds.into_values().collect())).collect()
}

/// The outcome of one A/B cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AbCellRecord {
    /// The cell.
    pub cell: CellKey,
    /// Completed when both sides completed, else failed or unsupported (the sides say why).
    pub status: CellStatus,
    /// The baseline process's outcome (compile, memory, samples).
    pub baseline: CellRecord,
    /// The candidate process's outcome.
    pub candidate: CellRecord,
    /// Pairs recorded for this cell, earlier attempts included.
    pub pairs: usize,
    /// Why it stopped adding pairs.
    pub end: LengthEnd,
    /// How the sides took turns.
    pub schedule: Schedule,
    /// The seed of the order inside each pair.
    pub seed: u64,
    /// The candidate's stack opening a compile cache the baseline's wrote (warm cells of
    /// the same model and properties on both sides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_probe: Option<CacheProbe>,
}

/// What happened when the candidate's stack opened a compile cache the baseline's stack
/// wrote: the case of a machine upgraded in place, its cache folder kept. The baseline
/// compiles the cell's model into an empty cache; the candidate compiles the same model
/// with that cache and generates the cell's first prompt once. Recorded as it happened;
/// `decide::ab` classifies it (reused, rebuilt, failing, or reused with other outputs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CacheProbe {
    /// Not probed, and why (the sides' models or properties differ, the baseline's compile
    /// failed or wrote nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Files the baseline's compile left in the cache.
    pub baseline_files: usize,
    /// The candidate process's status.
    pub status: CellStatus,
    /// Why it failed (the plugin's message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// LOADED_FROM_CACHE of the candidate's compile.
    pub from_cache: Option<bool>,
    /// The candidate's compile, ms.
    pub compile_ms: Option<f64>,
    /// New files the candidate's compile added to the cache (a rebuilt blob).
    pub files_added: usize,
    /// The prompt generated.
    pub prompt_id: String,
    /// The ids the candidate generated from that compile.
    pub output_ids: Vec<i64>,
    /// Lines of the candidate's log that speak of the cache (a plugin's message on a blob
    /// it rejects), at most a few.
    pub messages: Vec<String>,
}

impl CacheProbe {
    /// A probe that did not run, and why.
    pub fn skipped(why: impl Into<String>) -> CacheProbe {
        CacheProbe {
            skipped: Some(why.into()),
            baseline_files: 0,
            status: CellStatus::Skipped,
            reason: None,
            from_cache: None,
            compile_ms: None,
            files_added: 0,
            prompt_id: String::new(),
            output_ids: Vec::new(),
            messages: Vec::new(),
        }
    }
}

impl AbCellRecord {
    /// The record of `side`.
    pub fn side(&self, side: Side) -> &CellRecord {
        match side {
            Side::Baseline => &self.baseline,
            Side::Candidate => &self.candidate,
        }
    }
}

/// Every complete pair of every cell in `records`, by cell, in pair order. A pair index
/// recorded twice (never written so by bakeoff) keeps its last record.
pub fn pairs_by_cell(records: &[Record]) -> BTreeMap<CellKey, Vec<Pair>> {
    type Half = (SampleRecord, u8, usize);
    let mut halves: BTreeMap<(CellKey, usize), [Option<Half>; 2]> = BTreeMap::new();
    for r in records {
        let Record::Sample(s) = r else { continue };
        let Some(AbTag { side, pair: Some(index), position, round, .. }) = s.ab.clone() else { continue };
        let slot = halves.entry((s.cell.clone(), index)).or_default();
        slot[side as usize] = Some((s.clone(), position.unwrap_or(0), round.unwrap_or(0)));
    }
    let mut out: BTreeMap<CellKey, Vec<Pair>> = BTreeMap::new();
    for ((cell, index), [b, c]) in halves {
        let (Some((baseline, bp, round)), Some((candidate, cp, _))) = (b, c) else { continue };
        let first = match (bp, cp) {
            (0, 1) => Some(Side::Baseline),
            (1, 0) => Some(Side::Candidate),
            _ => None,
        };
        let steps = baseline.ab.as_ref().and_then(|t| t.steps.clone());
        out.entry(cell).or_default().push(Pair { index, round, first, steps, baseline, candidate });
    }
    out
}

/// The last outcome of every A/B cell, in the order cells first appear.
pub fn ab_outcomes(records: &[Record]) -> Vec<&AbCellRecord> {
    let mut out: Vec<&AbCellRecord> = Vec::new();
    for r in records {
        if let Record::Ab(a) = r {
            match out.iter_mut().find(|o| o.cell == a.cell) {
                Some(o) => *o = a,
                None => out.push(a),
            }
        }
    }
    out
}
