//! The cell's own process (`bakeoff cell`, hidden): read a [`CellSpec`] from stdin, compile,
//! generate, and report [`ChildEvent`]s on stdout. Anything that goes wrong in here (a
//! plugin abort, a hang) costs only this process; the parent classifies it.

use super::{CellConversation, CellPrompt, CellSpec, ChildEvent, DriveCommand, StepCommand};
use crate::model::ModelDir;
use crate::pipelines::load::{load, LoadError, Loaded};
use crate::pipelines::{GenerateError, GenerationConfig, NoObserver, Observer, Step, Turn};
use crate::results::{FailureClass, RefusedPrompt, SampleRecord, TurnInfo};
use crate::runtime::{Device, Runtime};
use crate::scenario::{CacheMode, HistoryMode};
use crate::telemetry::{NpuMemory, Probes, UsageMeter};
use crate::text::{Conversation, TextLayer};
use std::io::Write;

/// Environment variable of the test-only fault hook: comma-separated `KIND@MATCH`, where
/// KIND is abort, segfault, hang_compile, hang_generate, oom or close_stdout (close the
/// output, then hang) and MATCH a substring of the cell key. Only the test suite sets it.
pub const FAULT_ENV: &str = "BAKEOFF_FAULT";

fn emit(event: &ChildEvent) {
    let mut line = serde_json::to_vec(event).expect("events serialize");
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    // The parent reads line by line; a failed write means it is gone, and so is the point.
    let _ = out.write_all(&line).and_then(|()| out.flush());
}

fn fail(class: FailureClass, message: impl std::fmt::Display) -> i32 {
    emit(&ChildEvent::Failed { class, message: message.to_string() });
    0
}

/// The fault to inject at `stage` for this cell, if the test hook asks for one.
fn fault(spec: &CellSpec, stage: &str) {
    let Ok(value) = std::env::var(FAULT_ENV) else { return };
    let key = spec.key.to_string();
    let Some((kind, _)) = value.split(',').filter_map(|f| f.split_once('@')).find(|(_, pattern)| key.contains(pattern))
    else {
        return;
    };
    match (kind, stage) {
        ("abort", "compile") => std::process::abort(),
        // SAFETY: none, deliberately: a write through a null pointer, as a broken plugin
        // would do, to test crash containment (raise() would be absorbed by Rust's handler).
        ("segfault", "compile") => unsafe {
            std::ptr::null_mut::<u8>().write_volatile(1);
        },
        ("hang_compile", "compile") | ("hang_generate", "generate") => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        ("close_stdout", "generate") => {
            // SAFETY: closing our own stdout; nothing writes to it afterwards.
            unsafe {
                libc::close(1);
            }
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        ("oom", "generate") => {
            let mut hog: Vec<Vec<u8>> = Vec::new();
            loop {
                hog.push(vec![1u8; 64 << 20]);
            }
        }
        _ => {}
    }
}

/// Run the cell described on stdin (its first line; a driven cell's commands follow).
/// Returns the process exit code.
pub fn run_from_stdin() -> i32 {
    use std::io::BufRead;
    let mut lines = std::io::stdin().lock().lines();
    let first = lines.next().unwrap_or_else(|| Ok(String::new()));
    let spec: CellSpec =
        match first.map_err(|e| e.to_string()).and_then(|l| serde_json::from_str(&l).map_err(|e| e.to_string())) {
            Ok(s) => s,
            Err(e) => return fail(FailureClass::InputError, format!("cell spec on stdin: {e}")),
        };
    run(&spec, &mut lines.map_while(Result::ok))
}

/// Run one cell in this process, reporting events on stdout. A driven cell takes its
/// measured generations from `commands` ([`DriveCommand`] lines) once its warm-ups ran.
/// Returns the process exit code (0 also when the cell failed: the failure is an event).
pub fn run(spec: &CellSpec, commands: &mut dyn Iterator<Item = String>) -> i32 {
    run_stages(spec, commands).err().unwrap_or(0)
}

/// A stage's early end: the exit code, its event already emitted.
type Stage<T> = Result<T, i32>;

fn run_stages(spec: &CellSpec, commands: &mut dyn Iterator<Item = String>) -> Stage<()> {
    let (rt, model) = open(spec)?;
    let (mut loaded, cold_compile_ms) = compile(spec, &rt, &model)?;
    // The compile phase's peak (read_model and every compile) is read now; the high-water
    // mark is then reset so that the end's reading covers the steady state alone.
    let compile_peak_rss_mb = crate::platform::own_memory_mb().1;
    let steady_measured = crate::platform::reset_peak_memory();
    let npu_property = |key: &str| rt.core.device_property("NPU", key).ok();
    let mut npu_memory = (spec.key.device == Device::Npu).then(|| NpuMemory::after_compile(&npu_property));
    emit(&ChildEvent::Compiled {
        load_ms: loaded.load_ms,
        compile_ms: loaded.compile_ms,
        cold_compile_ms,
        compile_peak_rss_mb,
        from_cache: loaded.from_cache,
        execution_devices: loaded.execution_devices.clone(),
        npu_memory: npu_memory.clone(),
        effective_properties: std::mem::take(&mut loaded.effective_properties),
    });
    let mut generator = Generator {
        spec,
        probes: Probes::open(spec.key.device),
        config: GenerationConfig {
            max_new_tokens: spec.max_new_tokens,
            eos_ids: spec.eos_ids.clone(),
            ignore_eos: spec.ignore_eos,
        },
        pipeline: loaded.pipeline.as_mut(),
        refused: Default::default(),
        text: conversation_text(spec, &model)?,
        sample_memory: steady_measured.then_some(0.0),
    };
    generator.own_repetitions()?;
    if spec.driven {
        emit(&ChildEvent::Ready);
        generator.driven(commands)?;
    }
    if let Some(memory) = npu_memory.as_mut() {
        memory.after_generate(&npu_property);
        emit(&ChildEvent::NpuMemory(memory.clone()));
    }
    // Each generation reset the mark before it ran: the steady peak is the largest of theirs
    // and of what came after the last one.
    let steady_peak_rss_mb = steady_measured
        .then(|| crate::platform::own_memory_mb().1)
        .flatten()
        .map(|end| generator.sample_memory.map_or(end, |m| m.max(end)));
    emit(&ChildEvent::SteadyMemory { peak_rss_mb: steady_peak_rss_mb });
    Ok(())
}

/// The runtime and the model folder, the spec's prompt ids checked against the vocabulary:
/// they come from the parent's tokenizer, or from a driver speaking the cell protocol, and
/// either way the runtime would embed an id past the table without a word.
fn open(spec: &CellSpec) -> Stage<(Runtime, ModelDir)> {
    let rt = Runtime::open(spec.openvino_lib.as_deref()).map_err(|e| fail(FailureClass::InputError, e))?;
    let model = ModelDir::open(&spec.model_dir).map_err(|e| fail(FailureClass::InputError, e))?;
    if let Some(vocab) = model.vocab_size() {
        for prompt in &spec.prompts {
            crate::model::check_token_ids(&prompt.ids, vocab)
                .map_err(|e| fail(FailureClass::InputError, format!("cell spec, prompt `{}`: {e}", prompt.id)))?;
        }
    }
    Ok((rt, model))
}

/// The model's text layer when a prompt of the spec is a conversation (None otherwise: the
/// parent tokenized every other prompt).
fn conversation_text(spec: &CellSpec, model: &ModelDir) -> Stage<Option<TextLayer>> {
    if spec.prompts.iter().all(|p| p.conversation.is_none()) {
        return Ok(None);
    }
    TextLayer::open(model).map(Some).map_err(|e| fail(FailureClass::InputError, e))
}

/// Compile the cell's pipeline; with the cold compile's time (a compile that did not come
/// from the cache). A warm cell primes the shared cache so the measured compile is a cache
/// load, and the priming compile is its cold compile; a cold cell's own compile is.
fn compile(spec: &CellSpec, rt: &Runtime, model: &ModelDir) -> Stage<(Loaded, Option<f64>)> {
    let props = spec.properties.compile_pairs(spec.cache_dir.as_deref());
    crate::pipelines::apply_slowdown_env(&spec.key.to_string()).map_err(|e| fail(FailureClass::InputError, e))?;
    fault(spec, "compile");
    let load_once = || load(rt, model, spec.key.pipeline, spec.key.device.ov_name(), &props, spec.window);
    let mut cold_compile_ms = None;
    if spec.cache_mode == CacheMode::Warm {
        let primed = load_once().map_err(load_failure)?;
        cold_compile_ms = (primed.from_cache != Some(true)).then_some(primed.compile_ms);
    }
    let loaded = load_once().map_err(load_failure)?;
    if spec.cache_mode == CacheMode::Cold && loaded.from_cache != Some(true) {
        cold_compile_ms = Some(loaded.compile_ms);
    }
    Ok((loaded, cold_compile_ms))
}

/// What generates the cell's samples and reports each one.
struct Generator<'a> {
    spec: &'a CellSpec,
    probes: Probes,
    config: GenerationConfig,
    pipeline: &'a mut dyn crate::pipelines::Pipeline,
    /// Prompts the pipeline refused: never tried again.
    refused: std::collections::BTreeSet<String>,
    /// The model's text layer, for a spec with conversations (each turn is rendered here).
    text: Option<TextLayer>,
    /// The largest per-generation peak so far, MiB; None where the kernel cannot reset the
    /// high-water mark (then no generation has a peak of its own).
    sample_memory: Option<f64>,
}

impl Generator<'_> {
    /// One generation of `prompt`, reported as a sample (a conversation: each of its
    /// turns, in every history mode). A prompt the pipeline refuses is reported once and
    /// skipped from then on, so a ladder's longer rungs over a profile's limit cost neither
    /// the shorter rungs' measurements nor a failed cell; a driven cell (A/B pairs need both
    /// sides' samples of every prompt) ends as unsupported instead.
    /// `observer` sees every token (a stepped generation's gate).
    fn generate(&mut self, prompt: &CellPrompt, rep: usize, warmup: bool, observer: &mut dyn Observer) -> Stage<()> {
        if let Some(conversation) = &prompt.conversation {
            return self.converse(&prompt.id, conversation, rep, warmup);
        }
        if let Some((turn, sample)) = self.measured(&prompt.id, &prompt.ids, None, (rep, warmup), observer)? {
            debug_assert_eq!(turn.prefilled, prompt.ids.len());
            emit(&ChildEvent::Sample(Box::new(sample)));
        }
        Ok(())
    }

    /// Every turn of a conversation in each history mode of the spec: each turn rendered
    /// with the answers generated so far and reported as sample `ID#N`. A refused turn ends
    /// the conversation (the later turns need its answer); the state a kept mode holds is
    /// dropped at its end.
    fn converse(&mut self, id: &str, conversation: &CellConversation, rep: usize, warmup: bool) -> Stage<()> {
        for &mode in &self.spec.history {
            let mut chat = Conversation::new(conversation.system.as_deref(), conversation.enable_thinking);
            for (i, user) in conversation.turns.iter().enumerate() {
                let turn_id = crate::scenario::turn_id(id, i + 1);
                let text = self.text.as_mut().expect("opened for a spec with conversations");
                let history =
                    chat.ask(text, user).map_err(|e| fail(FailureClass::InputError, format!("{turn_id}: {e}")))?;
                let measured = self.measured(&turn_id, &history.ids, Some(mode), (rep, warmup), &mut NoObserver)?;
                let Some((turn, mut sample)) = measured else {
                    break;
                };
                sample.turn = Some(TurnInfo {
                    conversation: id.to_string(),
                    turn: i + 1,
                    history: mode,
                    prefilled_tokens: turn.prefilled,
                });
                emit(&ChildEvent::Sample(Box::new(sample)));
                let text = self.text.as_ref().expect("opened for a spec with conversations");
                chat.answer(text, &turn.transcript.output_ids)
                    .map_err(|e| fail(FailureClass::GenerateError, format!("{turn_id}: decoding the answer: {e}")))?;
            }
            self.pipeline.end_conversation();
        }
        Ok(())
    }

    /// One measured generation of `ids` as prompt `id` (a conversation's turn when `mode`
    /// is given: kept or recomputed), repetition `rep` (a warm-up or not), its usage and
    /// peak memory in the sample; None when the pipeline refused it (reported, and
    /// remembered).
    fn measured(
        &mut self,
        id: &str,
        ids: &[i64],
        mode: Option<HistoryMode>,
        (rep, warmup): (usize, bool),
        observer: &mut dyn Observer,
    ) -> Stage<Option<(Turn, SampleRecord)>> {
        if self.refused.contains(id) {
            return Ok(None);
        }
        fault(self.spec, "generate");
        if self.sample_memory.is_some() {
            crate::platform::reset_peak_memory();
        }
        let mut meter = UsageMeter::start(&self.probes, observer);
        let outcome = match mode {
            Some(HistoryMode::Keep) => self.pipeline.generate_turn(ids, &self.config, &mut meter),
            _ => self.pipeline.recompute_turn(ids, &self.config, &mut meter),
        };
        let turn = match outcome {
            Ok(turn) => turn,
            Err(e) if e.is_unsupported() && !self.spec.driven => {
                let refused =
                    RefusedPrompt { prompt_id: id.to_string(), prompt_tokens: ids.len(), reason: e.to_string() };
                emit(&ChildEvent::Refused(refused));
                self.refused.insert(id.to_string());
                return Ok(None);
            }
            Err(e) => return Err(generate_failure(id, e)),
        };
        let t = &turn.transcript;
        let mut sample = SampleRecord::from_transcript(&self.spec.key, id, rep, warmup, t);
        sample.metrics.usage = meter.finish(t.steps.len().saturating_sub(1));
        if let Some(largest) = self.sample_memory.as_mut() {
            sample.metrics.peak_rss_mb = crate::platform::own_memory_mb().1;
            *largest = largest.max(sample.metrics.peak_rss_mb.unwrap_or(0.0));
        }
        Ok(Some((turn, sample)))
    }

    /// The repetitions the cell takes on its own: the warm-ups, and for a cell that is not
    /// driven its measured repetitions too.
    fn own_repetitions(&mut self) -> Stage<()> {
        let measure = self.spec.measure;
        let reps = if self.spec.driven { measure.warmup } else { measure.warmup + measure.repetitions };
        for rep in 0..reps {
            for prompt in &self.spec.prompts {
                self.generate(prompt, rep, rep < measure.warmup, &mut NoObserver)?;
            }
        }
        // Every prompt refused (a conversation counts by its first turn).
        let refused_first = |p: &CellPrompt| match p.conversation {
            Some(_) => self.refused.contains(&crate::scenario::turn_id(&p.id, 1)),
            None => self.refused.contains(&p.id),
        };
        if !self.spec.prompts.is_empty() && self.spec.prompts.iter().all(refused_first) {
            emit(&ChildEvent::Unsupported { message: "every prompt was refused (see each one's reason)".into() });
        }
        Ok(())
    }

    /// A driven cell's measured generations, one per [`DriveCommand`] line (a stepped
    /// one's [`StepCommand`] lines read by its gate as it goes).
    fn driven(&mut self, commands: &mut dyn Iterator<Item = String>) -> Stage<()> {
        let spec = self.spec;
        while let Some(line) = commands.next() {
            let command: DriveCommand = serde_json::from_str(&line)
                .map_err(|e| fail(FailureClass::InputError, format!("drive command `{line}`: {e}")))?;
            let prompt = spec.prompts.get(command.prompt).ok_or_else(|| {
                fail(FailureClass::InputError, format!("drive command: no prompt {}", command.prompt))
            })?;
            if !command.stepped {
                self.generate(prompt, command.pair, false, &mut NoObserver)?;
                continue;
            }
            let mut gate = StepGate { commands: &mut *commands, open: true, error: None };
            self.generate(prompt, command.pair, false, &mut gate)?;
            if let Some(error) = gate.error {
                return Err(fail(FailureClass::InputError, error));
            }
        }
        Ok(())
    }
}

/// The observer of a stepped generation: after each token that another follows it says
/// [`ChildEvent::Stepped`] and waits for the driver's [`StepCommand`] of the next one.
/// Once the driver's commands end (it is ending the process) the generation runs on
/// ungated; a command out of order is an error, reported once the generation is over.
struct StepGate<'a> {
    commands: &'a mut dyn Iterator<Item = String>,
    /// The driver's commands have not ended.
    open: bool,
    /// The first protocol error seen.
    error: Option<String>,
}

impl Observer for StepGate<'_> {
    fn on_token(&mut self, _index: usize, _step: &Step) {}

    fn before_next_step(&mut self, index: usize) -> std::time::Duration {
        if !self.open || self.error.is_some() {
            return std::time::Duration::ZERO;
        }
        let waiting = std::time::Instant::now();
        emit(&ChildEvent::Stepped { index });
        let Some(line) = self.commands.next() else {
            self.open = false;
            return waiting.elapsed();
        };
        match serde_json::from_str::<StepCommand>(&line) {
            Ok(StepCommand { step }) if step == index + 1 => {}
            Ok(StepCommand { step }) => {
                self.error = Some(format!("step command for token {step}, expected {}", index + 1))
            }
            Err(e) => self.error = Some(format!("step command `{line}`: {e}")),
        }
        waiting.elapsed()
    }
}

fn load_failure(e: LoadError) -> i32 {
    let class = if e.is_input() { FailureClass::InputError } else { FailureClass::CompileError };
    fail(class, e)
}

/// A prompt the cell cannot run as asked makes it unsupported; anything else is a fault.
/// Returns the process exit code.
fn generate_failure(prompt: &str, e: GenerateError) -> i32 {
    if e.is_unsupported() {
        emit(&ChildEvent::Unsupported { message: format!("prompt `{prompt}`: {e}") });
        return 0;
    }
    fail(FailureClass::GenerateError, format!("prompt `{prompt}`: {e}"))
}
