//! A mock executor for testing the scheduler's logic without a model: each cell's outcome
//! is scripted by a rule on its key.

use super::{CellSpec, Executor};
use crate::pipelines::{Step, StopReason, Transcript};
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
