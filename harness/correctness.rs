//! Correctness of a run: every sample against its prompt's golden transcript, the two
//! pipelines against each other inside the static window, and NPU (or NPU:host) cells
//! against their CPU twins. Goldens are one source of truth among these checks, which is why
//! this lives beside, not inside, the golden files' module.

use crate::golden::divergence::{compare, short_output, ShortOutput, Side, Verdict};
use crate::golden::GoldenFile;
use crate::pipeline_kind::PipelineKind;
use crate::plan::CellKey;
use crate::results::{Attempt, CellStatus, SampleRecord};
use crate::scenario::CellFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One prompt of one cell checked against its golden (every sample, warm-ups included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldenCheck {
    /// The cell.
    pub cell: CellKey,
    /// The prompt.
    pub prompt_id: String,
    /// Samples checked.
    pub samples: usize,
    /// Samples whose verdict was not `identical`.
    pub differing: usize,
    /// The worst verdict over the samples.
    pub verdict: Verdict,
    /// A failing verdict fails the run (the cell is in `golden.enforce`).
    pub enforced: bool,
    /// The shortest sample, when one ended at eos under 90% of the golden's length
    /// (flagged, never failed: a legitimate greedy path may end sooner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<ShortOutput>,
}

/// kvcache against static128 for one prompt, same model, device, profile and cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineCheck {
    /// The kvcache cell (static128's key differs only in the pipeline).
    pub cell: CellKey,
    /// The prompt.
    pub prompt_id: String,
    /// Steps inside the window: static128 sees the whole context only this long.
    pub within_window: usize,
    /// static128's transcript judged against kvcache's.
    pub verdict: Verdict,
    /// A failing verdict fails the run (the cell is in `golden.enforce`).
    pub enforced: bool,
}

/// An NPU or NPU:host cell against the CPU cell of the same model, pipeline, profile and
/// cache, for one prompt: where the devices part, and whether it was a near tie. Reported,
/// never enforced: the devices compute at different precisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceCheck {
    /// The NPU / NPU:host cell (its CPU twin differs only in the device).
    pub cell: CellKey,
    /// The prompt.
    pub prompt_id: String,
    /// The cell's transcript judged against the CPU cell's.
    pub verdict: Verdict,
    /// The cell's output ended at eos under 90% of the CPU cell's length (flagged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<ShortOutput>,
}

/// Every correctness check of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Correctness {
    /// The near-tie threshold used, logits.
    pub near_tie: f32,
    /// Golden checks (empty when the scenario names no golden set).
    pub golden: Vec<GoldenCheck>,
    /// Cross-pipeline checks.
    pub pipelines: Vec<PipelineCheck>,
    /// Cross-device checks (NPU / NPU:host against CPU).
    #[serde(default)]
    pub devices: Vec<DeviceCheck>,
}

/// Which kind of check a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// A transcript against its golden.
    Golden,
    /// static128 against kvcache.
    Pipelines,
    /// An NPU / NPU:host cell against its CPU twin (never enforced).
    Devices,
}

impl CheckKind {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            CheckKind::Golden => "golden",
            CheckKind::Pipelines => "static128 vs kvcache",
            CheckKind::Devices => "against the CPU cell",
        }
    }
}

/// One check of any kind, as every report lists it.
#[derive(Debug, Clone, Copy)]
pub struct Finding<'a> {
    /// The kind of check.
    pub kind: CheckKind,
    /// The cell.
    pub cell: &'a CellKey,
    /// The prompt.
    pub prompt_id: &'a str,
    /// The verdict.
    pub verdict: &'a Verdict,
    /// Whether a failing verdict fails the run.
    pub enforced: bool,
    /// Golden checks: (samples differing, samples checked).
    pub samples: Option<(usize, usize)>,
    /// The output ended at eos well before its reference (flagged, never failed).
    pub short: Option<&'a ShortOutput>,
}

impl Finding<'_> {
    /// The verdict fails the run.
    pub fn fails(&self) -> bool {
        self.enforced && self.verdict.is_failure()
    }
}

impl Correctness {
    /// Every check, golden first, then pipelines, then devices.
    pub fn findings(&self) -> impl Iterator<Item = Finding<'_>> {
        let golden = self.golden.iter().map(|c| Finding {
            kind: CheckKind::Golden,
            cell: &c.cell,
            prompt_id: &c.prompt_id,
            verdict: &c.verdict,
            enforced: c.enforced,
            samples: Some((c.differing, c.samples)),
            short: c.short.as_ref(),
        });
        let pipelines = self.pipelines.iter().map(|c| Finding {
            kind: CheckKind::Pipelines,
            cell: &c.cell,
            prompt_id: &c.prompt_id,
            verdict: &c.verdict,
            enforced: c.enforced,
            samples: None,
            short: None,
        });
        let devices = self.devices.iter().map(|c| Finding {
            kind: CheckKind::Devices,
            cell: &c.cell,
            prompt_id: &c.prompt_id,
            verdict: &c.verdict,
            enforced: false,
            samples: None,
            short: c.short.as_ref(),
        });
        golden.chain(pipelines).chain(devices)
    }

    /// Every verdict that fails the run, as lines for a report.
    pub fn failures(&self) -> Vec<String> {
        self.findings()
            .filter(Finding::fails)
            .map(|f| match f.kind {
                CheckKind::Golden => format!("{} `{}`: {}", f.cell, f.prompt_id, f.verdict),
                _ => format!("{} `{}`: static128 against kvcache: {}", f.cell, f.prompt_id, f.verdict),
            })
            .collect()
    }

    /// Every output that ended at eos well before its reference, one line each (flagged
    /// beside the verdicts, never failing the run).
    pub fn short_outputs(&self) -> Vec<String> {
        self.findings()
            .filter_map(|f| Some(format!("`{}` `{}` ({}): {}", f.cell, f.prompt_id, f.kind.label(), f.short?)))
            .collect()
    }

    /// How many checks got each verdict, in severity order: (name, golden, pipelines,
    /// devices).
    pub fn counts(&self) -> Vec<(&'static str, usize, usize, usize)> {
        ["identical", "near_tie", "hard_mismatch", "prompt_mismatch"]
            .into_iter()
            .map(|name| {
                let g = self.golden.iter().filter(|c| c.verdict.name() == name).count();
                let p = self.pipelines.iter().filter(|c| c.verdict.name() == name).count();
                let d = self.devices.iter().filter(|c| c.verdict.name() == name).count();
                (name, g, p, d)
            })
            .collect()
    }
}

fn sample_side(s: &SampleRecord) -> Side<'_> {
    Side { ids: &s.metrics.output_ids, margins: &s.metrics.margins }
}

/// A sample that ended at eos under 90% of `expected`'s length.
fn sample_short(expected: &[i64], s: &SampleRecord) -> Option<ShortOutput> {
    short_output(expected, &s.metrics.output_ids, s.metrics.stop_reason == crate::pipelines::StopReason::Eos)
}

/// The steps of a generation that static128 computes on the whole context: with window W
/// and a prompt of n tokens, steps 0..=W-n (later ones stop or see a truncated context).
pub fn steps_within_window(window: usize, prompt_tokens: usize) -> usize {
    (window + 1).saturating_sub(prompt_tokens)
}

impl PipelineCheck {
    /// Judge static128's transcript of a prompt against kvcache's over the steps inside the
    /// window: the one pipeline check of a run (`run_correctness`) and of `golden check`.
    pub fn judge(
        cell: CellKey,
        prompt_id: String,
        [kvcache, static128]: [Side; 2],
        prompt_tokens: usize,
        window: usize,
        near_tie: f32,
        enforced: bool,
    ) -> PipelineCheck {
        PipelineCheck {
            cell,
            prompt_id,
            within_window: steps_within_window(window, prompt_tokens),
            verdict: compare_pipelines(kvcache, static128, prompt_tokens, window, near_tie),
            enforced,
        }
    }
}

/// static128 against kvcache over the steps inside the window.
pub fn compare_pipelines(
    kvcache: Side,
    static128: Side,
    prompt_tokens: usize,
    window: usize,
    near_tie: f32,
) -> Verdict {
    let n = steps_within_window(window, prompt_tokens);
    compare(kvcache.prefix(n), static128.prefix(n), near_tie)
}

/// Check the final attempts of a run: each completed cell's samples against the golden of
/// its model (when `goldens` has one), and kvcache against static128. Failures of cells
/// outside `enforce` are reported, not failed.
/// Golden and cross-pipeline verdicts of every completed cell of a run folder, against the
/// goldens the run was checked against (the folder's snapshot, see [`crate::golden::read_snapshot`]).
pub fn run_correctness(run: &crate::results::folder::RunFolder) -> Result<Correctness, crate::golden::GoldenError> {
    let goldens = crate::golden::read_snapshot(&run.dir)?;
    let golden = run.scenario.golden.as_ref();
    let near_tie = golden.map_or(crate::scenario::default_near_tie(), |g| g.near_tie);
    let enforce = golden.map(|g| g.enforce.clone()).unwrap_or_default();
    Ok(check_attempts(&run.attempts(), &goldens, near_tie, run.scenario.generation.window, &enforce))
}

/// Check every completed attempt against `goldens` and the pipelines and devices against
/// each other.
pub fn check_attempts(
    attempts: &[Attempt],
    goldens: &BTreeMap<String, GoldenFile>,
    near_tie: f32,
    window: usize,
    enforce: &CellFilter,
) -> Correctness {
    let done: Vec<&Attempt> = attempts.iter().filter(|a| a.cell.status == CellStatus::Completed).collect();
    let mut out = Correctness { near_tie, ..Default::default() };
    for a in &done {
        let Some(golden) = goldens.get(&a.cell.cell.model) else { continue };
        let mut by_prompt: BTreeMap<&str, Vec<&SampleRecord>> = BTreeMap::new();
        let as_golden = |prev: &SampleRecord| {
            golden.transcript(&prev.prompt_id).is_some_and(|t| t.output_ids == prev.metrics.output_ids)
        };
        for s in a.samples.iter().filter(|s| same_history(a, s, &as_golden)) {
            by_prompt.entry(&s.prompt_id).or_default().push(s);
        }
        for (prompt_id, samples) in by_prompt {
            let Some(expected) = golden.transcript(prompt_id) else { continue };
            let verdicts: Vec<Verdict> =
                samples.iter().map(|s| compare(expected.side(), sample_side(s), near_tie)).collect();
            let differing = verdicts.iter().filter(|v| v.severity() > 0).count();
            let verdict = verdicts.into_iter().max_by_key(Verdict::severity).expect("a prompt has samples");
            let short = samples.iter().filter_map(|s| sample_short(&expected.output_ids, s)).min_by_key(|s| s.got);
            out.golden.push(GoldenCheck {
                cell: a.cell.cell.clone(),
                prompt_id: prompt_id.to_string(),
                samples: samples.len(),
                differing,
                verdict,
                enforced: a.cell.cell.is_in(enforce),
                short,
            });
        }
    }
    out.devices = check_devices(&done, near_tie, window);
    for kv in done.iter().filter(|a| a.cell.cell.pipeline == PipelineKind::Kvcache) {
        let twin = CellKey { pipeline: PipelineKind::Static128, ..kv.cell.cell.clone() };
        let Some(st) = done.iter().find(|a| a.cell.cell == twin) else { continue };
        for (s, other) in paired_samples(kv, st) {
            out.pipelines.push(PipelineCheck::judge(
                kv.cell.cell.clone(),
                s.prompt_id.clone(),
                [sample_side(s), sample_side(other)],
                s.metrics.prompt_tokens,
                window,
                near_tie,
                kv.cell.cell.is_in(enforce) && st.cell.cell.is_in(enforce),
            ));
        }
    }
    out
}

/// The sample of the turn before `s` in the same conversation, repetition and history mode
/// (None: `s` is no conversation's later turn).
fn previous_turn<'a>(a: &Attempt<'a>, s: &SampleRecord) -> Option<&'a SampleRecord> {
    let turn = s.turn.as_ref().filter(|t| t.turn > 1)?;
    a.samples.iter().copied().find(|p| {
        p.rep == s.rep
            && p.warmup == s.warmup
            && p.turn.as_ref().is_some_and(|q| {
                q.conversation == turn.conversation && q.turn + 1 == turn.turn && q.history == turn.history
            })
    })
}

/// Whether a conversation turn's history is the one its reference saw: every earlier turn
/// of the same conversation answered as `expected` says (a prompt or a first turn always
/// is). A later turn after a divergence has another history, so comparing its outputs
/// would blame it for the earlier turn's divergence, which is reported at that turn.
fn same_history(a: &Attempt, s: &SampleRecord, as_expected: &dyn Fn(&SampleRecord) -> bool) -> bool {
    let mut current = s;
    while let Some(prev) = previous_turn(a, current) {
        if !as_expected(prev) {
            return false;
        }
        current = prev;
    }
    true
}

/// Each prompt's first measured sample in `a`, with the first measured sample of the same
/// prompt in its twin `b` (prompts `b` lacks, and conversation turns whose histories differ
/// between the two, are left out).
fn paired_samples<'a>(a: &Attempt<'a>, b: &Attempt<'a>) -> Vec<(&'a SampleRecord, &'a SampleRecord)> {
    let first =
        |att: &Attempt<'a>, prompt: &str| att.samples.iter().copied().find(|s| !s.warmup && s.prompt_id == prompt);
    let mut out: Vec<(&SampleRecord, &SampleRecord)> = Vec::new();
    for s in a.samples.iter().copied().filter(|s| !s.warmup) {
        if out.iter().any(|(x, _)| x.prompt_id == s.prompt_id) {
            continue;
        }
        let Some(t) = first(b, &s.prompt_id) else { continue };
        let as_twin = |prev: &SampleRecord| {
            let history = prev.turn.as_ref().map(|q| q.history);
            b.samples.iter().any(|x| {
                x.prompt_id == prev.prompt_id
                    && x.rep == t.rep
                    && x.turn.as_ref().map(|q| q.history) == history
                    && x.metrics.output_ids == prev.metrics.output_ids
            })
        };
        if same_history(a, s, &as_twin) {
            out.push((s, t));
        }
    }
    out
}

/// Each non-CPU cell's first measured sample per prompt against its CPU twin's (static128
/// only inside the window, like the pipeline check).
fn check_devices(done: &[&Attempt], near_tie: f32, window: usize) -> Vec<DeviceCheck> {
    let mut out = Vec::new();
    for a in done.iter().filter(|a| a.cell.cell.device != crate::runtime::Device::Cpu) {
        let twin = CellKey { device: crate::runtime::Device::Cpu, ..a.cell.cell.clone() };
        let Some(cpu) = done.iter().find(|c| c.cell.cell == twin) else { continue };
        for (s, c) in paired_samples(a, cpu) {
            let verdict = if a.cell.cell.pipeline.traits().window_limited {
                compare_pipelines(sample_side(c), sample_side(s), s.metrics.prompt_tokens, window, near_tie)
            } else {
                compare(sample_side(c), sample_side(s), near_tie)
            };
            let short = sample_short(&c.metrics.output_ids, s);
            out.push(DeviceCheck { cell: a.cell.cell.clone(), prompt_id: s.prompt_id.clone(), verdict, short });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_steps() {
        assert_eq!(steps_within_window(128, 100), 29);
        assert_eq!(steps_within_window(128, 128), 1);
        assert_eq!(steps_within_window(128, 200), 0);
    }

    #[test]
    fn pipelines_compared_only_inside_the_window() {
        let kv = [1, 2, 3, 4];
        let st = [1, 2, 9, 9];
        let m = [1.0; 4];
        let side = |ids| Side { ids, margins: &m };
        // Prompt of 127 tokens in a 128 window: steps 0 and 1 see the whole context.
        assert_eq!(compare_pipelines(side(&kv), side(&st), 127, 128, 0.1), Verdict::Identical { compared: 2 });
        assert!(compare_pipelines(side(&kv), side(&st), 100, 128, 0.1).is_failure());
    }

    fn key(device: &str) -> CellKey {
        serde_json::from_value(serde_json::json!({
            "model": "m", "pipeline": "kvcache", "device": device, "profile": "p", "cache": "warm"
        }))
        .unwrap()
    }

    fn sample(key: &CellKey, prompt: &str, ids: &[i64], stop: crate::pipelines::StopReason) -> SampleRecord {
        let steps = ids
            .iter()
            .map(|&id| crate::pipelines::Step { id, margin: 1.0, step_ms: 1.0, infer_ms: 1.0 })
            .collect::<Vec<_>>();
        let t = crate::pipelines::Transcript {
            prompt_ids: vec![1, 2],
            output_ids: ids.to_vec(),
            steps,
            stop_reason: stop,
            truncated: false,
        };
        SampleRecord::from_transcript(key, prompt, 0, false, &t)
    }

    #[test]
    fn an_npu_output_ending_at_eos_far_before_its_cpu_twin_is_flagged_not_failed() {
        use crate::pipelines::StopReason;
        let (cpu, npu) = (key("CPU"), key("NPU:host"));
        let long: Vec<i64> = (10..30).collect();
        let samples =
            [sample(&cpu, "q", &long, StopReason::MaxNewTokens), sample(&npu, "q", &[10, 11, 2], StopReason::Eos)];
        let (cpu_cell, npu_cell) = (
            crate::results::CellRecord::new(&cpu, CellStatus::Completed),
            crate::results::CellRecord::new(&npu, CellStatus::Completed),
        );
        let attempts = [
            Attempt { cell: &cpu_cell, samples: vec![&samples[0]] },
            Attempt { cell: &npu_cell, samples: vec![&samples[1]] },
        ];
        let c = check_attempts(&attempts, &BTreeMap::new(), 0.1, 128, &CellFilter::default());
        assert_eq!(c.devices.len(), 1);
        assert_eq!(c.devices[0].short, Some(ShortOutput { got: 3, expected: 20 }));
        let lines = c.short_outputs();
        assert!(lines.len() == 1 && lines[0].contains("ends at eos after 3 tokens"), "{lines:?}");
        assert!(c.failures().is_empty(), "flagged, never failed");
    }
}
