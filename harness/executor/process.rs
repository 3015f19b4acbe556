//! The real executor: one child process per cell (`bakeoff cell`), its stdout read line by
//! line with the compile and generation timeouts enforced; a hang is killed, a signal is
//! a crash, and peak RSS comes from the kernel's accounting of the child (wait4).

use super::{CellSpec, ChildEvent, Executor};
use crate::platform::{self, Exit};
use crate::results::{CellRecord, CellStatus, FailureClass, SampleRecord};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// openvino-genai's cell worker, run with `python -c` (embedded, so the binary needs no
/// checkout beside it).
const GENAI_WORKER: &str = include_str!("genai_cell.py");

/// Runs cells as `bakeoff cell` children (genai cells as openvino-genai workers).
pub struct ProcessExecutor {
    /// The bakeoff binary (this one).
    pub exe: PathBuf,
    /// Where each cell's stderr is kept (`<index>-<key>.log`).
    pub log_dir: PathBuf,
    /// The Python of the venv whose OpenVINO the run uses, for genai cells (None: the
    /// runtime is not in a venv, and genai cells fail saying so).
    pub genai_python: Option<PathBuf>,
}

impl ProcessExecutor {
    /// The command of a cell's process.
    fn command(&self, spec: &CellSpec) -> Result<Command, String> {
        if spec.key.pipeline != crate::pipelines::PipelineKind::Genai {
            let mut command = Command::new(&self.exe);
            command.arg("cell");
            return Ok(command);
        }
        let python = self.genai_python.as_ref().ok_or(
            "genai cells run openvino-genai with the Python of the venv the OpenVINO runtime comes from, and this \
             run's runtime is not in a venv (use the project's .venv, or --openvino-lib into a venv with openvino-genai)",
        )?;
        let mut command = Command::new(python);
        command.arg("-c").arg(GENAI_WORKER);
        Ok(command)
    }
}

impl Executor for ProcessExecutor {
    fn run(&mut self, spec: &CellSpec, on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>) -> CellRecord {
        let started = Instant::now();
        let mut record = CellRecord::new(&spec.key, CellStatus::Failed);
        record.properties = Some(spec.properties.clone());
        let log = self.log_dir.join(format!("{}.log", spec.key.to_string().replace(['/', ':'], "_")));
        let stderr = std::fs::File::create(&log).map(Stdio::from).unwrap_or_else(|_| Stdio::null());
        let mut command = match self.command(spec) {
            Ok(c) => c,
            Err(why) => {
                record.failure = Some(FailureClass::InputError);
                record.reason = Some(why);
                return record;
            }
        };
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr);
        platform::die_with_parent(&mut command);
        if let Some(mb) = spec.limits.memory_mb {
            platform::limit_address_space(&mut command, mb);
        }
        let child = command.spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                record.failure = Some(FailureClass::Exited { code: -1 });
                record.reason = Some(format!("could not start {}: {e}", self.exe.display()));
                return record;
            }
        };
        let pid = child.id() as i32;
        let spec_json = serde_json::to_vec(spec).expect("specs serialize");
        if let Some(mut stdin) = child.stdin.take() {
            // A child that died at once is classified below from its exit status.
            let _ = stdin.write_all(&spec_json);
        }
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut outcome = watch(spec, &rx, &mut record, on_sample);
        if outcome.is_some() {
            platform::kill(pid);
        }
        let exit = match outcome {
            Some(_) => platform::wait(pid),
            // The child closed its output: it should exit now. One that lives on (a hang
            // after closing stdout) is waited for no longer than a generation may take.
            None => {
                platform::wait_within(pid, Duration::from_secs_f64(spec.timeouts.generate_s)).unwrap_or_else(|| {
                    platform::kill(pid);
                    outcome = Some(FailureClass::TimeoutGenerate);
                    record.failure = Some(FailureClass::TimeoutGenerate);
                    record.reason = Some("the cell's process closed its output and did not exit".into());
                    platform::wait(pid)
                })
            }
        };
        let _ = reader.join();
        // The child is reaped; dropping the handle neither waits nor kills.
        drop(child);
        record.peak_rss_mb = (exit.max_rss_kib > 0).then(|| exit.max_rss_kib as f64 / 1024.0);
        record.wall_s = started.elapsed().as_secs_f64();
        finish(&mut record, outcome, &exit, &log, spec.limits.memory_mb);
        record
    }
}

/// Read events until the child closes stdout (None) or a timeout fires (Some(class)).
fn watch(
    spec: &CellSpec,
    rx: &mpsc::Receiver<String>,
    record: &mut CellRecord,
    on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>,
) -> Option<FailureClass> {
    let compile_timeout = Duration::from_secs_f64(spec.timeouts.compile_s);
    let generate_timeout = Duration::from_secs_f64(spec.timeouts.generate_s);
    let mut deadline = Instant::now() + compile_timeout;
    let mut compiled = false;
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(wait) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => {
                return Some(if compiled { FailureClass::TimeoutGenerate } else { FailureClass::TimeoutCompile });
            }
        };
        let Ok(event) = serde_json::from_str::<ChildEvent>(&line) else { continue };
        match event {
            ChildEvent::Compiled { load_ms, compile_ms, from_cache, execution_devices, npu_memory } => {
                compiled = true;
                record.npu_memory = npu_memory;
                record.load_ms = Some(load_ms);
                record.compile_ms = Some(compile_ms);
                record.from_cache = from_cache;
                record.execution_devices = execution_devices;
                deadline = Instant::now() + generate_timeout;
            }
            ChildEvent::Sample(s) => {
                if let Err(class) = record_sample(record, *s, on_sample) {
                    return Some(class);
                }
                deadline = Instant::now() + generate_timeout;
            }
            ChildEvent::TimedSample(t) => {
                if let Err(class) = record_sample(record, t.into_record(&spec.key), on_sample) {
                    return Some(class);
                }
                deadline = Instant::now() + generate_timeout;
            }
            ChildEvent::NpuMemory(memory) => record.npu_memory = Some(memory),
            ChildEvent::Failed { class, message } => {
                record.failure = Some(class);
                record.reason = Some(message);
            }
            ChildEvent::Unsupported { message } => {
                record.status = CellStatus::Unsupported;
                record.reason = Some(message);
            }
        }
    }
}

/// Count a sample and hand it on; a failed hand-over (the results file) ends the cell, as
/// `Err` with the class the caller returns.
fn record_sample(
    record: &mut CellRecord,
    sample: SampleRecord,
    on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>,
) -> Result<(), FailureClass> {
    if sample.warmup {
        record.warmup_samples += 1;
    } else {
        record.measured_samples += 1;
    }
    on_sample(sample).map_err(|e| {
        record.failure = Some(FailureClass::InputError);
        record.reason = Some(format!("recording a sample failed: {e}"));
        FailureClass::InputError
    })
}

/// Decide the cell's status from what it reported and how it exited.
fn finish(
    record: &mut CellRecord,
    timeout: Option<FailureClass>,
    exit: &Exit,
    log: &std::path::Path,
    memory_mb: Option<u64>,
) {
    let tail = || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        let tail: Vec<&str> = lines.into_iter().rev().collect();
        if tail.is_empty() {
            String::new()
        } else {
            format!("; stderr: {}", tail.join(" | "))
        }
    };
    if let Some(class) = timeout {
        if record.failure.is_none() {
            let reason = match class {
                FailureClass::TimeoutCompile => "no compiled model before timeouts.compile_s".to_string(),
                FailureClass::TimeoutGenerate => "a generation ran past timeouts.generate_s".to_string(),
                _ => String::new(),
            };
            record.reason = Some(reason);
            record.failure = Some(class);
        }
        record.status = CellStatus::Failed;
        return;
    }
    if record.status == CellStatus::Unsupported {
        return;
    }
    if let (Some(signal), Some(limit_mb)) = (exit.signal, memory_mb) {
        // Rust aborts on a failed allocation after saying so on stderr.
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if signal == libc::SIGABRT && text.contains("memory allocation of") {
            record.status = CellStatus::Failed;
            record.failure = Some(FailureClass::OutOfMemory { limit_mb });
            record.reason = Some(format!("an allocation failed at the cell's memory limit{}", tail()));
            return;
        }
    }
    if let Some(signal) = exit.signal {
        record.status = CellStatus::Failed;
        record.failure = Some(FailureClass::Crashed { signal });
        record.reason = Some(format!("the cell's process was killed by signal {signal}{}", tail()));
        return;
    }
    if record.failure.is_some() {
        record.status = CellStatus::Failed;
        return;
    }
    match exit.code {
        Some(0) if record.compile_ms.is_some() => record.status = CellStatus::Completed,
        code => {
            record.status = CellStatus::Failed;
            record.failure = Some(FailureClass::Exited { code: code.unwrap_or(-1) });
            record.reason = Some(format!("the cell's process exited without a result{}", tail()));
        }
    }
}
