//! A mock executor for testing the scheduler's logic without a model: each cell's outcome
//! is scripted by a rule on its key; and a mock pair launcher for the paired A/B runner,
//! whose generations run at a scripted speed.

use super::paired::{DrivenCell, PairLauncher, StepEnd};
use super::{CellSpec, DriveCommand, Executor};
use crate::pipelines::{Step, StopReason, Transcript};
use crate::results::pairs::Side;
use crate::results::{CellRecord, CellStatus, FailureClass, SampleRecord};

/// What the mock does for a cell.
#[derive(Debug, Clone, PartialEq)]
pub enum MockOutcome {
    /// Produce every sample.
    Complete,
    /// Produce `after` samples, then crash with a signal.
    Crash {
        /// Samples before the crash.
        after: usize,
    },
    /// Hang in compile (reported as the timeout the real executor would give).
    HangCompile,
    /// Produce `after` samples, then hang in generation.
    HangGenerate {
        /// Samples before the hang.
        after: usize,
    },
}

/// Scripted executor: the first rule whose pattern is in the cell key decides.
pub struct MockExecutor {
    /// (substring of the cell key, outcome); no match means Complete.
    pub rules: Vec<(String, MockOutcome)>,
    /// Cell keys in the order they ran.
    pub ran: Vec<String>,
}

impl MockExecutor {
    /// A mock with rules.
    pub fn new(rules: Vec<(String, MockOutcome)>) -> MockExecutor {
        MockExecutor { rules, ran: Vec::new() }
    }
}

fn fake_transcript(prompt: &[i64], n: usize) -> Transcript {
    let steps: Vec<Step> = (0..n)
        .map(|i| Step { id: i as i64, margin: 1.0, step_ms: 10.0 + i as f64, infer_ms: 9.0 + i as f64 })
        .collect();
    Transcript {
        prompt_ids: prompt.to_vec(),
        output_ids: steps.iter().map(|s| s.id).collect(),
        steps,
        stop_reason: StopReason::MaxNewTokens,
        truncated: false,
    }
}

impl Executor for MockExecutor {
    fn run(&mut self, spec: &CellSpec, on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>) -> CellRecord {
        let key = spec.key.to_string();
        self.ran.push(key.clone());
        let outcome =
            self.rules.iter().find(|(p, _)| key.contains(p.as_str())).map_or(MockOutcome::Complete, |(_, o)| o.clone());
        let mut record = CellRecord::new(&spec.key, CellStatus::Completed);
        if outcome == MockOutcome::HangCompile {
            record.status = CellStatus::Failed;
            record.failure = Some(FailureClass::TimeoutCompile);
            return record;
        }
        record.compile_ms = Some(100.0);
        record.load_ms = Some(10.0);
        let limit = match outcome {
            MockOutcome::Crash { after } | MockOutcome::HangGenerate { after } => after,
            _ => usize::MAX,
        };
        let mut produced = 0;
        'reps: for rep in 0..spec.measure.warmup + spec.measure.repetitions {
            for prompt in &spec.prompts {
                if produced == limit {
                    break 'reps;
                }
                let t = fake_transcript(&prompt.ids, spec.max_new_tokens);
                let warmup = rep < spec.measure.warmup;
                on_sample(SampleRecord::from_transcript(&spec.key, &prompt.id, rep, warmup, &t)).expect("mock sink");
                produced += 1;
                if warmup {
                    record.warmup_samples += 1;
                } else {
                    record.measured_samples += 1;
                }
            }
        }
        match outcome {
            MockOutcome::Crash { .. } => {
                record.status = CellStatus::Failed;
                record.failure = Some(FailureClass::Crashed { signal: 11 });
            }
            MockOutcome::HangGenerate { .. } => {
                record.status = CellStatus::Failed;
                record.failure = Some(FailureClass::TimeoutGenerate);
            }
            _ => {}
        }
        record
    }
}

/// A scripted pair launcher for testing the paired A/B runner without a model: every
/// generation's steps take `1000 / speed(side, round, pair)` ms (tokens/s = speed), and a
/// side may crash at a given pair. It logs every process start and every request in order.
pub struct MockPairLauncher {
    /// Decode tokens/s of a generation by side, round and pair index.
    pub speed: std::rc::Rc<dyn Fn(Side, usize, usize) -> f64>,
    /// The compile (into an empty cache) of a side's process in a round, ms.
    pub compile: std::rc::Rc<dyn Fn(Side, usize) -> f64>,
    /// (side, pair index): that side's process dies when asked for that pair.
    pub crash: Option<(Side, usize)>,
    /// Every start, in order: (side, round).
    pub starts: std::rc::Rc<std::cell::RefCell<Vec<(Side, usize)>>>,
    /// Every request, in order: (side, pair index).
    pub requests: std::rc::Rc<std::cell::RefCell<Vec<(Side, usize)>>>,
    /// Every decode step requested of a stepped generation, in order: (side, pair, step).
    pub step_requests: std::rc::Rc<std::cell::RefCell<Vec<(Side, usize, usize)>>>,
}

impl MockPairLauncher {
    /// A launcher whose generations run at `speed(side, round, pair)` tokens/s.
    pub fn new(speed: impl Fn(Side, usize, usize) -> f64 + 'static) -> MockPairLauncher {
        MockPairLauncher {
            speed: std::rc::Rc::new(speed),
            compile: std::rc::Rc::new(|_, _| 100.0),
            crash: None,
            starts: Default::default(),
            requests: Default::default(),
            step_requests: Default::default(),
        }
    }
}

struct MockDriven {
    side: Side,
    round: usize,
    spec: CellSpec,
    speed: std::rc::Rc<dyn Fn(Side, usize, usize) -> f64>,
    compile_ms: f64,
    crash: Option<usize>,
    requests: std::rc::Rc<std::cell::RefCell<Vec<(Side, usize)>>>,
    step_requests: std::rc::Rc<std::cell::RefCell<Vec<(Side, usize, usize)>>>,
    asked: Option<DriveCommand>,
    /// Tokens the stepped generation asked has produced.
    produced: usize,
    record: CellRecord,
}

fn timed_transcript(prompt: &[i64], n: usize, step_ms: f64) -> Transcript {
    let steps: Vec<Step> =
        (0..n).map(|i| Step { id: i as i64, margin: 1.0, step_ms, infer_ms: step_ms * 0.99 }).collect();
    Transcript {
        prompt_ids: prompt.to_vec(),
        output_ids: steps.iter().map(|s| s.id).collect(),
        steps,
        stop_reason: StopReason::MaxNewTokens,
        truncated: false,
    }
}

impl DrivenCell for MockDriven {
    fn ready(&mut self, on_warmup: &mut dyn FnMut(SampleRecord)) -> bool {
        self.record.compile_ms = Some(self.compile_ms);
        self.record.cold_compile_ms = Some(self.compile_ms);
        self.record.from_cache = Some(false);
        self.record.load_ms = Some(10.0);
        for rep in 0..self.spec.measure.warmup {
            for p in &self.spec.prompts {
                let t = timed_transcript(&p.ids, self.spec.max_new_tokens, 20.0);
                on_warmup(SampleRecord::from_transcript(&self.spec.key, &p.id, rep, true, &t));
                self.record.warmup_samples += 1;
            }
        }
        true
    }

    fn request(&mut self, command: DriveCommand) -> bool {
        self.requests.borrow_mut().push((self.side, command.pair));
        self.asked = Some(command);
        self.produced = 0;
        true
    }

    fn request_step(&mut self, step: usize) -> bool {
        let pair = self.asked.map_or(usize::MAX, |c| c.pair);
        self.step_requests.borrow_mut().push((self.side, pair, step));
        self.asked.is_some_and(|c| c.stepped) && step == self.produced
    }

    fn receive_step(&mut self) -> Option<StepEnd> {
        self.produced += 1;
        if self.produced < self.spec.max_new_tokens && self.crash != self.asked.map(|c| c.pair) {
            return Some(StepEnd::Waiting);
        }
        self.receive().map(|s| StepEnd::Done(Box::new(s)))
    }

    fn receive(&mut self) -> Option<SampleRecord> {
        let command = self.asked.take()?;
        if self.crash == Some(command.pair) {
            self.record.status = CellStatus::Failed;
            self.record.failure = Some(FailureClass::Crashed { signal: 11 });
            self.record.reason = Some("mock crash".into());
            return None;
        }
        let prompt = &self.spec.prompts[command.prompt];
        let step_ms = 1000.0 / (self.speed)(self.side, self.round, command.pair);
        let t = timed_transcript(&prompt.ids, self.spec.max_new_tokens, step_ms);
        self.record.measured_samples += 1;
        Some(SampleRecord::from_transcript(&self.spec.key, &prompt.id, command.pair, false, &t))
    }

    fn finish(mut self: Box<Self>) -> CellRecord {
        if self.record.failure.is_none() {
            self.record.status = CellStatus::Completed;
        }
        self.record
    }
}

impl PairLauncher for MockPairLauncher {
    fn start(
        &mut self,
        spec: &CellSpec,
        side: Side,
        _cpu: Option<usize>,
    ) -> Result<Box<dyn DrivenCell>, Box<CellRecord>> {
        let round = self.starts.borrow().iter().filter(|(s, _)| *s == side).count();
        self.starts.borrow_mut().push((side, round));
        Ok(Box::new(MockDriven {
            side,
            round,
            spec: spec.clone(),
            speed: self.speed.clone(),
            compile_ms: (self.compile)(side, round),
            crash: self.crash.filter(|(s, _)| *s == side).map(|(_, pair)| pair),
            requests: self.requests.clone(),
            step_requests: self.step_requests.clone(),
            asked: None,
            produced: 0,
            record: CellRecord::new(&spec.key, CellStatus::Failed),
        }))
    }
}
