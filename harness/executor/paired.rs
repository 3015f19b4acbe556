//! The paired A/B runner. For one cell, both sides are compiled once, each in a long-lived
//! process of its own (the cell isolation, timeouts and crash classification of every
//! cell hold), warm-ups are run and excluded, and then measured generations are taken in
//! pairs: pair `n` runs the same prompt on both sides, either one after the other in a
//! random order (seeded per cell and pair, so a resumed run orders its pairs the same way)
//! or at the same moment on a core each (duet). Machine drift between minutes then hits
//! both halves of a pair alike, and the paired statistics above cancel it.
//!
//! Pairs are taken in rounds: both processes are started afresh for each round of
//! `pairs_per_round` pairs. A process has a speed of its own (memory placement, which pages
//! got huge pages, thread placement: on a 2-vCPU VM two processes of the same build differed
//! by up to 2% for their whole life), which pairing inside one process pair cannot cancel;
//! over many rounds it averages out, and the statistics resample rounds, so the interval
//! includes it.
//!
//! How long a cell runs is the caller's rule (`decided`, consulted at each round's end),
//! within a pair cap and a time cap. Both samples of a pair are handed on together, so a
//! kill never leaves half a pair recorded.

use super::process::{absorb, Absorbed, CellProcess, Launch, Next, ProcessExecutor};
use super::{CellSpec, DriveCommand, StepCommand};
use crate::results::pairs::{block_of, AbCellRecord, AbRound, LengthEnd, Pair, Schedule, Side, ROUNDS_PER_BLOCK};
use crate::results::{CellRecord, CellStatus, FailureClass, SampleRecord};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

/// One side's driven cell as the pair runner uses it: a real process or a mock.
pub trait DrivenCell {
    /// Wait until the model is compiled and the warm-ups ran (each warm-up sample handed to
    /// `on_warmup`). False: the cell ended instead ([`DrivenCell::finish`] says why).
    fn ready(&mut self, on_warmup: &mut dyn FnMut(SampleRecord)) -> bool;
    /// Ask for one measured generation; false when the process is gone.
    fn request(&mut self, command: DriveCommand) -> bool;
    /// Wait for the requested generation's sample (None: the cell ended instead).
    fn receive(&mut self) -> Option<SampleRecord>;
    /// Ask a stepped generation in progress for its next decode step (token `step`);
    /// false when the process is gone.
    fn request_step(&mut self, step: usize) -> bool;
    /// Wait for a stepped generation's next token: it waits for another step, or it ended
    /// (its sample). None: the cell ended instead.
    fn receive_step(&mut self) -> Option<StepEnd>;
    /// End the process; its outcome.
    fn finish(self: Box<Self>) -> CellRecord;
}

/// What a stepped generation did on a command: produced a token and waits for the next
/// step, or ended with its sample.
#[derive(Debug)]
pub enum StepEnd {
    /// Another step follows; the side waits for its command.
    Waiting,
    /// The generation ended.
    Done(Box<SampleRecord>),
}

/// Starts the driven cells of both sides.
pub trait PairLauncher {
    /// Start `side`'s process for `spec`, pinned to `cpu` when given. Err: the failed record
    /// (boxed: a record is large beside the cell handle).
    fn start(
        &mut self,
        spec: &CellSpec,
        side: Side,
        cpu: Option<usize>,
    ) -> Result<Box<dyn DrivenCell>, Box<CellRecord>>;

    /// The time since `started`, as the time cap counts it: the wall clock, or a replay's
    /// clock of the recorded times.
    fn elapsed(&self, started: Instant) -> Duration {
        started.elapsed()
    }
}

/// How long a cell runs and how its pairs are ordered.
#[derive(Debug, Clone, Copy)]
pub struct PairOptions {
    /// Alternate or duet.
    pub schedule: Schedule,
    /// Seed of the order inside each pair.
    pub seed: u64,
    /// The cell's index in the plan (part of each pair's order seed).
    pub cell_index: usize,
    /// Pairs at least, before the length rule is consulted.
    pub min_pairs: usize,
    /// Pairs at most (earlier attempts' pairs included).
    pub max_pairs: usize,
    /// Time at most for this attempt's pairs.
    pub max_time: Duration,
    /// Pairs per round: both processes are restarted after this many (the length rule is
    /// consulted at the end of each round).
    pub pairs_per_round: usize,
}

impl PairOptions {
    /// Which side runs first in pair `index` (alternate schedule): a fair coin, seeded by
    /// the run's seed, the cell and the pair, so a resumed run orders its pairs as the first
    /// attempt would have.
    pub fn first_side(&self, index: usize) -> Side {
        self.coin(index as u64)
    }

    /// Which side starts (compiles) first in round `round`: a coin per block of rounds
    /// ([`ROUNDS_PER_BLOCK`]) for its first round, the other side first in its second, so
    /// that whatever the start order does to a process's speed cancels inside each block.
    pub fn round_first_side(&self, round: usize) -> Side {
        let first = self.coin((block_of(round) as u64) | (1 << 31));
        match round % ROUNDS_PER_BLOCK {
            0 => first,
            _ => first.other(),
        }
    }

    /// Whether pair `index` interleaves decode steps (`steps`; `mixed`: a coin of its own).
    pub fn pair_by_steps(&self, index: usize) -> bool {
        match self.schedule {
            Schedule::Steps => true,
            Schedule::Mixed => self.coin((index as u64) | (1 << 30)) == Side::Baseline,
            Schedule::Alternate | Schedule::Duet => false,
        }
    }

    /// Which side takes the first step of step pair `step` (1 for the first decode step)
    /// in pair `index`: a coin per step, so neither side always steps right after the other
    /// (the one stepping second finds the caches as the first left them).
    pub fn step_first_side(&self, index: usize, step: usize) -> Side {
        self.coin((index as u64) | ((step as u64) << 40) | (1 << 29))
    }

    fn coin(&self, index: u64) -> Side {
        let seed = self.seed ^ ((self.cell_index as u64) << 32) ^ index;
        if SmallRng::seed_from_u64(seed).random_bool(0.5) {
            Side::Baseline
        } else {
            Side::Candidate
        }
    }
}

/// What an A/B cell has recorded so far (earlier attempts included): its pairs and its
/// rounds. Both grow as the cell runs.
#[derive(Debug, Default)]
pub struct CellProgress {
    /// The pairs, in order.
    pub pairs: Vec<Pair>,
    /// The rounds both sides completed, in order.
    pub rounds: Vec<AbRound>,
}

impl CellProgress {
    /// The number of the next round: one past the last any pair or round recorded.
    fn next_round(&self) -> usize {
        let pairs = self.pairs.iter().map(|p| p.round + 1);
        pairs.chain(self.rounds.iter().map(|r| r.round + 1)).max().unwrap_or(0)
    }
}

/// Where an A/B cell's results go as they come, and the rule of its length.
pub trait PairSink {
    /// A side's warm-up sample.
    fn warmup(&mut self, side: Side, sample: SampleRecord) -> std::io::Result<()>;
    /// A new pair (both halves at once).
    fn pair(&mut self, pair: &Pair) -> std::io::Result<()>;
    /// A round both sides completed, with their process figures.
    fn round(&mut self, round: &AbRound) -> std::io::Result<()>;
    /// Whether the pairs and rounds so far decide every judged metric (asked at the end of
    /// each round once `min_pairs` exist).
    fn decided(&mut self, progress: &CellProgress) -> bool;
}

/// Run one A/B cell in rounds: each round starts both sides' processes one after the other
/// (each compiles into an empty cache of the round's own, so every round measures a cold
/// compile, and a warm cell's measured compile is that cache's hit), waits for both to
/// warm up, takes up to `pairs_per_round` pairs and ends both. `progress` holds what earlier
/// attempts recorded and grows with every new pair and round, each handed to `sink` at once
/// (Err there: the results file failed; the run stops).
pub fn run_ab_cell(
    specs: [&CellSpec; 2],
    launcher: &mut dyn PairLauncher,
    options: &PairOptions,
    progress: &mut CellProgress,
    sink: &mut dyn PairSink,
) -> std::io::Result<AbCellRecord> {
    let mut round = progress.next_round();
    let started = Instant::now();
    let mut records: Option<[CellRecord; 2]> = None;
    let end = loop {
        if progress.pairs.len() >= options.max_pairs {
            break LengthEnd::MaxPairs;
        }
        if launcher.elapsed(started) >= options.max_time {
            break LengthEnd::MaxTime;
        }
        let taking = RoundContext { options, round, started };
        let round_started = Instant::now();
        let (round_records, complete, start_seconds) = run_round(specs, launcher, &taking, progress, sink)?;
        if complete {
            let [b, c] = &round_records;
            let figures = AbRound {
                cell: specs[0].key.clone(),
                round,
                baseline: b.figures(),
                candidate: c.figures(),
                seconds: Some(round_started.elapsed().as_secs_f64()),
                start_seconds,
                first: Some(options.round_first_side(round)),
            };
            sink.round(&figures)?;
            progress.rounds.push(figures);
        }
        merge(&mut records, round_records);
        if !complete {
            break LengthEnd::Failed;
        }
        round += 1;
        if progress.pairs.len() >= options.min_pairs && sink.decided(progress) {
            break LengthEnd::Decided;
        }
    };
    let [baseline, candidate] = records.unwrap_or_else(|| {
        let none =
            || CellRecord::not_run(&specs[0].key, CellStatus::Completed, "no round ran: a cap was reached".into());
        [none(), none()]
    });
    let status = match (baseline.status, candidate.status) {
        (CellStatus::Completed, CellStatus::Completed) => CellStatus::Completed,
        (CellStatus::Unsupported, _) | (_, CellStatus::Unsupported) => CellStatus::Unsupported,
        _ => CellStatus::Failed,
    };
    let (schedule, seed) = (options.schedule, options.seed);
    Ok(AbCellRecord {
        cell: specs[0].key.clone(),
        status,
        baseline,
        candidate,
        pairs: progress.pairs.len(),
        end,
        schedule,
        seed,
        cache_probe: None,
    })
}

/// Fold a round's two records into the cell's: the first round's compile, load and memory
/// figures stand (every round's own are its [`AbRound`]), samples and wall time add up, the
/// peak memory is the largest, and a failing round's status and reason win.
fn merge(total: &mut Option<[CellRecord; 2]>, round: [CellRecord; 2]) {
    let Some(total) = total else {
        *total = Some(round);
        return;
    };
    for (t, r) in total.iter_mut().zip(round) {
        t.measured_samples += r.measured_samples;
        t.warmup_samples += r.warmup_samples;
        t.wall_s += r.wall_s;
        t.peak_rss_mb = super::process::larger(t.peak_rss_mb, r.peak_rss_mb);
        if r.status != CellStatus::Completed {
            (t.status, t.failure, t.reason) = (r.status, r.failure, r.reason);
        }
    }
}

/// Which round this is, under which options, and when the cell's attempt started.
struct RoundContext<'a> {
    options: &'a PairOptions,
    round: usize,
    started: Instant,
}

/// A round's spec of a side: its cache a folder of the round's own (`round-N` under the
/// cell's), empty, so that the round's first compile is a cold one.
fn round_spec(spec: &CellSpec, round: usize) -> CellSpec {
    let mut spec = spec.clone();
    if let Some(dir) = &spec.cache_dir {
        let dir = dir.join(format!("round-{round}"));
        // A resumed round, or a crash's leftovers: the cache starts empty either way.
        let _ = std::fs::remove_dir_all(&dir);
        spec.cache_dir = Some(dir);
    }
    spec
}

/// Start both sides' processes of a round, one after the other in the round's order, each
/// compiled and warmed up before the next starts (so that neither's compile time or memory
/// is measured beside the other's compile). Err: the records of a round that could not
/// start (both sides'; the one that did start is ended).
fn start_sides(
    specs: &[CellSpec; 2],
    launcher: &mut dyn PairLauncher,
    taking: &RoundContext,
    sink: &mut dyn PairSink,
    write_error: &mut Option<std::io::Error>,
) -> Result<Vec<Box<dyn DrivenCell>>, Box<[CellRecord; 2]>> {
    let cpus = duet_cpus(taking.options.schedule);
    let first = taking.options.round_first_side(taking.round);
    let mut started: [Option<Box<dyn DrivenCell>>; 2] = [None, None];
    let mut failed: [Option<CellRecord>; 2] = [None, None];
    for side in [first, first.other()] {
        let i = side as usize;
        match launcher.start(&specs[i], side, cpus.map(|c| c[i])) {
            Ok(mut cell) => {
                let ready = cell.ready(&mut |s| {
                    if let Err(e) = sink.warmup(side, s) {
                        write_error.get_or_insert(e);
                    }
                });
                if !ready {
                    failed[i] = Some(cell.finish());
                    break;
                }
                started[i] = Some(cell);
            }
            Err(record) => {
                failed[i] = Some(*record);
                break;
            }
        }
    }
    if failed.iter().all(Option::is_none) {
        return Ok(started.into_iter().flatten().collect());
    }
    // One side could not start or warm up: the other is ended at once (or never started),
    // and the cell has failed.
    let records = [0, 1].map(|i| {
        let not_started = || {
            let why = "not started: the other side failed first".to_string();
            CellRecord::not_run(&specs[i].key, CellStatus::Completed, why)
        };
        failed[i].take().or_else(|| started[i].take().map(|c| c.finish())).unwrap_or_else(not_started)
    });
    Err(Box::new(records))
}

/// One round: both processes started and warmed up, asked for pairs until the round, the
/// pair cap or the time cap is full, and ended; the round's cache folders removed. Returns
/// both records, whether the round completed (no side failed) and how long starting both
/// sides took (s).
fn run_round(
    specs: [&CellSpec; 2],
    launcher: &mut dyn PairLauncher,
    taking: &RoundContext,
    progress: &mut CellProgress,
    sink: &mut dyn PairSink,
) -> std::io::Result<([CellRecord; 2], bool, Option<f64>)> {
    let options = taking.options;
    let specs = [round_spec(specs[0], taking.round), round_spec(specs[1], taking.round)];
    let mut write_error = None;
    let starting = Instant::now();
    let mut cells = match start_sides(&specs, launcher, taking, sink, &mut write_error) {
        Ok(cells) => cells,
        Err(records) => {
            remove_caches(&specs);
            return write_error.map_or(Ok((*records, false, None)), Err);
        }
    };
    let start_seconds = Some(starting.elapsed().as_secs_f64());
    let mut complete = true;
    let mut taken = 0;
    while complete && write_error.is_none() && taken < options.pairs_per_round.max(1) {
        if progress.pairs.len() >= options.max_pairs || launcher.elapsed(taking.started) >= options.max_time {
            break;
        }
        let index = progress.pairs.len();
        let prompt = index % specs[0].prompts.len();
        match take_pair(&mut cells, options, index, taking.round, prompt) {
            Some(pair) => {
                if let Err(e) = sink.pair(&pair) {
                    write_error = Some(e);
                }
                progress.pairs.push(pair);
                taken += 1;
            }
            None => complete = false,
        }
    }
    let records: Vec<CellRecord> = cells.into_iter().map(|c| c.finish()).collect();
    remove_caches(&specs);
    if let Some(e) = write_error {
        return Err(e);
    }
    let complete = complete && records.iter().all(|r| r.status == CellStatus::Completed);
    Ok((records.try_into().expect("one record a side"), complete, start_seconds))
}

/// Remove a round's cache folders: each round compiles into an empty one, and a model's
/// compiled blobs for every round would fill the disk.
fn remove_caches(specs: &[CellSpec; 2]) {
    for dir in specs.iter().filter_map(|s| s.cache_dir.as_ref()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The two cores of a duet: the first two this process may use (None: alternate, or fewer
/// than two cores, where a duet cannot give each side its own).
fn duet_cpus(schedule: Schedule) -> Option<[usize; 2]> {
    if schedule != Schedule::Duet {
        return None;
    }
    let cpus = crate::platform::allowed_cpus();
    (cpus.len() >= 2).then(|| [cpus[0], cpus[1]])
}

/// One pair: both sides generate prompt `prompt`, in the order the options give.
fn take_pair(
    cells: &mut [Box<dyn DrivenCell>],
    options: &PairOptions,
    index: usize,
    round: usize,
    prompt: usize,
) -> Option<Pair> {
    let stepped = options.pair_by_steps(index);
    let command = DriveCommand { prompt, pair: index, stepped };
    let (first, steps, samples) = match options.schedule {
        Schedule::Duet => {
            let asked = cells.iter_mut().all(|c| c.request(command));
            if !asked {
                return None;
            }
            let b = cells[0].receive();
            let c = cells[1].receive();
            (None, None, [b?, c?])
        }
        _ if stepped => {
            let first = options.first_side(index);
            let (order, samples) = take_stepped(cells, options, command, first)?;
            (Some(first), Some(order), samples)
        }
        Schedule::Alternate | Schedule::Steps | Schedule::Mixed => {
            let first = options.first_side(index);
            let mut got: [Option<SampleRecord>; 2] = [None, None];
            for side in [first, first.other()] {
                let cell = &mut cells[side as usize];
                if !cell.request(command) {
                    return None;
                }
                got[side as usize] = Some(cell.receive()?);
            }
            let [b, c] = got;
            (Some(first), None, [b?, c?])
        }
    };
    let [baseline, candidate] = samples;
    Some(Pair { index, round, first, steps, baseline, candidate })
}

/// A pair with its decode steps interleaved: both sides prefill one after the other
/// (`first` first), then each step pair gives each side still generating one step, the
/// side going first chosen by a coin per step. Returns the step order (`b`/`c` per step
/// pair) and both samples.
fn take_stepped(
    cells: &mut [Box<dyn DrivenCell>],
    options: &PairOptions,
    command: DriveCommand,
    first: Side,
) -> Option<(String, [SampleRecord; 2])> {
    let mut done: [Option<SampleRecord>; 2] = [None, None];
    for side in [first, first.other()] {
        let cell = &mut cells[side as usize];
        if !cell.request(command) {
            return None;
        }
        if let StepEnd::Done(sample) = cell.receive_step()? {
            done[side as usize] = Some(*sample);
        }
    }
    let mut order = String::new();
    let mut step = 1;
    while done.iter().any(Option::is_none) {
        let lead = options.step_first_side(command.pair, step);
        order.push(lead.letter());
        for side in [lead, lead.other()] {
            if done[side as usize].is_some() {
                continue;
            }
            let cell = &mut cells[side as usize];
            if !cell.request_step(step) {
                return None;
            }
            if let StepEnd::Done(sample) = cell.receive_step()? {
                done[side as usize] = Some(*sample);
            }
        }
        step += 1;
    }
    let [b, c] = done;
    Some((order, [b?, c?]))
}

/// A side's driven `bakeoff cell` process.
pub struct ProcessCell {
    process: Option<CellProcess>,
    spec: CellSpec,
    record: CellRecord,
    timeout: Option<FailureClass>,
}

impl ProcessCell {
    fn deadline(&self, compiled: bool) -> Instant {
        let t = &self.spec.timeouts;
        Instant::now() + Duration::from_secs_f64(if compiled { t.generate_s } else { t.compile_s })
    }

    /// The next event absorbed into the record; what it was, or None when the cell ended
    /// (closed, timed out or unable to record).
    fn step(&mut self, compiled: bool, sink: &mut dyn FnMut(SampleRecord)) -> Option<Absorbed> {
        let deadline = self.deadline(compiled);
        let process = self.process.as_ref()?;
        match process.next(deadline) {
            Next::Event(event) => {
                let mut forward = |s: SampleRecord| {
                    sink(s);
                    Ok(())
                };
                absorb(&self.spec, event, &mut self.record, &mut forward).ok()
            }
            Next::Closed => None,
            Next::TimedOut => {
                self.timeout =
                    Some(if compiled { FailureClass::TimeoutGenerate } else { FailureClass::TimeoutCompile });
                None
            }
        }
    }
}

impl DrivenCell for ProcessCell {
    fn ready(&mut self, on_warmup: &mut dyn FnMut(SampleRecord)) -> bool {
        let mut compiled = false;
        loop {
            match self.step(compiled, on_warmup) {
                Some(Absorbed::Compiled) => compiled = true,
                Some(Absorbed::Ready) => return true,
                Some(Absorbed::Sample | Absorbed::Stepped | Absorbed::Other) => {}
                None => return false,
            }
        }
    }

    fn request(&mut self, command: DriveCommand) -> bool {
        let line = serde_json::to_string(&command).expect("commands serialize");
        self.process.as_mut().is_some_and(|p| p.send(&line))
    }

    fn receive(&mut self) -> Option<SampleRecord> {
        let mut got = None;
        loop {
            match self.step(true, &mut |s| got = Some(s)) {
                Some(Absorbed::Sample) => return got,
                Some(_) => {}
                None => return None,
            }
        }
    }

    fn request_step(&mut self, step: usize) -> bool {
        let line = serde_json::to_string(&StepCommand { step }).expect("commands serialize");
        self.process.as_mut().is_some_and(|p| p.send(&line))
    }

    fn receive_step(&mut self) -> Option<StepEnd> {
        let mut got = None;
        loop {
            match self.step(true, &mut |s| got = Some(s)) {
                Some(Absorbed::Stepped) => return Some(StepEnd::Waiting),
                Some(Absorbed::Sample) => return got.map(|s| StepEnd::Done(Box::new(s))),
                Some(_) => {}
                None => return None,
            }
        }
    }

    fn finish(mut self: Box<Self>) -> CellRecord {
        if let Some(process) = self.process.as_mut() {
            process.close_input();
        }
        // What a driven cell reports once its commands end (its steady-state memory, the
        // NPU's memory) is read before the process is ended.
        while self.timeout.is_none() && self.step(true, &mut |_| {}).is_some() {}
        if let Some(process) = self.process.take() {
            process.end(self.timeout.clone(), &mut self.record, &self.spec);
        }
        self.record
    }
}

/// Starts each side as a driven `bakeoff cell` process with that side's launch options.
pub struct ProcessLauncher {
    /// The executor whose processes these are.
    pub executor: ProcessExecutor,
    /// Per side (baseline, candidate): environment and log name.
    pub launches: [Launch; 2],
}

impl PairLauncher for ProcessLauncher {
    fn start(
        &mut self,
        spec: &CellSpec,
        side: Side,
        cpu: Option<usize>,
    ) -> Result<Box<dyn DrivenCell>, Box<CellRecord>> {
        let mut launch = self.launches[side as usize].clone();
        launch.cpu = cpu;
        let process = self.executor.spawn(spec, &launch)?;
        let mut record = CellRecord::new(&spec.key, CellStatus::Failed);
        record.properties = Some(spec.properties.clone());
        Ok(Box::new(ProcessCell { process: Some(process), spec: spec.clone(), record, timeout: None }))
    }
}
