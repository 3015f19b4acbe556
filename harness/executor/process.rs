//! The real executor: one child process per cell (`bakeoff cell`), its stdout read line by
//! line with the compile and generation timeouts enforced; a hang is killed, a signal is
//! a crash, and peak RSS comes from the kernel's accounting of the child (wait4).
//!
//! [`CellProcess`] is a started cell's process; [`ProcessExecutor::run`] drives one to its
//! end on its own, and the paired A/B runner ([`super::paired`]) keeps two alive and asks
//! each for one generation at a time.

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

/// How a cell's process is started beyond its spec: what an A/B side changes.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Environment variables set for the child.
    pub env: Vec<(String, String)>,
    /// Environment variables removed from the child's environment.
    pub env_remove: Vec<String>,
    /// Pin the child to this CPU (duet benchmarking: one core a side).
    pub cpu: Option<usize>,
    /// Added to the log file's name (`.baseline`), so two processes of one cell keep two logs.
    pub log_tag: String,
}

/// What a cell's process said next.
pub enum Next {
    /// An event.
    Event(ChildEvent),
    /// It closed its output (it is ending).
    Closed,
    /// Nothing before the deadline.
    TimedOut,
}

/// A started cell process: its events, its stdin (a driven cell takes commands there),
/// its log.
pub struct CellProcess {
    pid: i32,
    stdin: Option<std::process::ChildStdin>,
    rx: mpsc::Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
    log: PathBuf,
    started: Instant,
}

impl ProcessExecutor {
    /// The command of a cell's process.
    fn command(&self, spec: &CellSpec) -> Result<Command, String> {
        if spec.key.pipeline.in_process() {
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

    /// Where the stderr of `spec`'s process started with `launch` is kept.
    pub fn log_path(&self, spec: &CellSpec, launch: &Launch) -> PathBuf {
        let name = spec.key.to_string().replace(['/', ':'], "_");
        self.log_dir.join(format!("{name}{}.log", launch.log_tag))
    }

    /// Run `spec`'s cell to its end in a process started with `launch` (an A/B side's
    /// environment), as [`Executor::run`] does with none.
    pub fn run_with(
        &self,
        spec: &CellSpec,
        launch: &Launch,
        on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>,
    ) -> CellRecord {
        let mut process = match self.spawn(spec, launch) {
            Ok(p) => p,
            Err(record) => return *record,
        };
        process.close_input();
        let mut record = CellRecord::new(&spec.key, CellStatus::Failed);
        record.properties = Some(spec.properties.clone());
        let outcome = watch(spec, &process, &mut record, on_sample);
        process.end(outcome, &mut record, spec);
        record
    }

    /// Start the process of `spec`'s cell and hand it the spec (one JSON line on stdin,
    /// which stays open: a driven cell reads its commands there). Err: the failed record.
    pub fn spawn(&self, spec: &CellSpec, launch: &Launch) -> Result<CellProcess, Box<CellRecord>> {
        let started = Instant::now();
        let failed = |class: FailureClass, reason: String| {
            let mut record = CellRecord::new(&spec.key, CellStatus::Failed);
            record.properties = Some(spec.properties.clone());
            record.failure = Some(class);
            record.reason = Some(reason);
            Box::new(record)
        };
        let log = self.log_path(spec, launch);
        let stderr = std::fs::File::create(&log).map(Stdio::from).unwrap_or_else(|_| Stdio::null());
        let mut command = self.command(spec).map_err(|why| failed(FailureClass::InputError, why))?;
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr);
        command.envs(launch.env.iter().map(|(k, v)| (k, v)));
        launch.env_remove.iter().for_each(|k| {
            command.env_remove(k);
        });
        platform::die_with_parent(&mut command);
        if let Some(mb) = spec.limits.memory_mb {
            platform::limit_address_space(&mut command, mb);
        }
        if let Some(cpu) = launch.cpu {
            platform::pin_to_cpu(&mut command, cpu);
        }
        let mut child = command.spawn().map_err(|e| {
            failed(FailureClass::Exited { code: -1 }, format!("could not start {}: {e}", self.exe.display()))
        })?;
        let pid = child.id() as i32;
        // The handle is dropped once its pipes are taken: dropping neither waits nor kills,
        // and the pid is reaped with wait4 (for its peak memory).
        let mut spec_line = serde_json::to_vec(spec).expect("specs serialize");
        spec_line.push(b'\n');
        let mut stdin = child.stdin.take();
        if let Some(pipe) = stdin.as_mut() {
            // A child that died at once is classified from its exit status.
            let _ = pipe.write_all(&spec_line).and_then(|()| pipe.flush());
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
        Ok(CellProcess { pid, stdin, rx, reader: Some(reader), log, started })
    }
}

impl CellProcess {
    /// The next event, waiting until `deadline`. Lines that are not events (a plugin
    /// printing on stdout) are skipped.
    pub fn next(&self, deadline: Instant) -> Next {
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(wait) {
                Ok(line) => {
                    if let Ok(event) = serde_json::from_str::<ChildEvent>(&line) {
                        return Next::Event(event);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Next::Closed,
                Err(RecvTimeoutError::Timeout) => return Next::TimedOut,
            }
        }
    }

    /// Send one command line to a driven cell. A failed write means the process is gone;
    /// its end says why.
    pub fn send(&mut self, line: &str) -> bool {
        match self.stdin.as_mut() {
            Some(pipe) => {
                pipe.write_all(line.as_bytes()).and_then(|()| pipe.write_all(b"\n")).and_then(|()| pipe.flush()).is_ok()
            }
            None => false,
        }
    }

    /// Close the child's stdin: a driven cell ends after its last command, a one-shot cell
    /// never reads past the spec.
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    /// End the process and complete `record` from how it ended. `timeout`: the class of a
    /// timeout that fired (the process is killed first). A process that closed its output
    /// but lives on is waited for no longer than a generation may take.
    pub fn end(mut self, mut timeout: Option<FailureClass>, record: &mut CellRecord, spec: &CellSpec) {
        self.close_input();
        if timeout.is_some() {
            platform::kill(self.pid);
        }
        let pid = self.pid;
        let exit = match timeout {
            Some(_) => platform::wait(pid),
            None => {
                platform::wait_within(pid, Duration::from_secs_f64(spec.timeouts.generate_s)).unwrap_or_else(|| {
                    platform::kill(pid);
                    timeout = Some(FailureClass::TimeoutGenerate);
                    record.failure = Some(FailureClass::TimeoutGenerate);
                    record.reason = Some("the cell's process closed its output and did not exit".into());
                    platform::wait(pid)
                })
            }
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        // The child resets its high-water mark once compiled (to measure the steady state
        // alone), and the kernel's ru_maxrss reads that mark: the whole life's peak is the
        // larger of it and the compile phase's.
        let exit_peak = (exit.max_rss_kib > 0).then(|| exit.max_rss_kib as f64 / 1024.0);
        record.peak_rss_mb = larger(exit_peak, record.compile_peak_rss_mb);
        record.wall_s = self.started.elapsed().as_secs_f64();
        finish(record, timeout, &exit, &self.log, spec.limits.memory_mb);
    }
}

/// What an event meant for the cell's record.
pub enum Absorbed {
    /// The model compiled: generations start.
    Compiled,
    /// A sample was recorded (warm-up or measured).
    Sample,
    /// A driven cell finished its warm-ups and waits for commands.
    Ready,
    /// A stepped generation produced a token and waits for the next step's command.
    Stepped,
    /// Anything else (a failure or unsupported message, memory figures).
    Other,
}

/// Take one event into `record`, handing samples to `on_sample`. Err: recording the sample
/// failed (the results file); the class ends the cell.
pub fn absorb(
    spec: &CellSpec,
    event: ChildEvent,
    record: &mut CellRecord,
    on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>,
) -> Result<Absorbed, FailureClass> {
    match event {
        ChildEvent::Compiled {
            load_ms,
            compile_ms,
            cold_compile_ms,
            compile_peak_rss_mb,
            from_cache,
            execution_devices,
            npu_memory,
            effective_properties,
        } => {
            record.cold_compile_ms = cold_compile_ms;
            record.compile_peak_rss_mb = compile_peak_rss_mb;
            record.npu_memory = npu_memory;
            record.effective_properties = effective_properties;
            record.load_ms = Some(load_ms);
            record.compile_ms = Some(compile_ms);
            record.from_cache = from_cache;
            record.execution_devices = execution_devices;
            return Ok(Absorbed::Compiled);
        }
        ChildEvent::Sample(s) => {
            record_sample(record, *s, on_sample)?;
            return Ok(Absorbed::Sample);
        }
        ChildEvent::TimedSample(t) => {
            record_sample(record, t.into_record(&spec.key), on_sample)?;
            return Ok(Absorbed::Sample);
        }
        ChildEvent::Ready => return Ok(Absorbed::Ready),
        ChildEvent::Stepped { .. } => return Ok(Absorbed::Stepped),
        ChildEvent::NpuMemory(memory) => record.npu_memory = Some(memory),
        ChildEvent::SteadyMemory { peak_rss_mb } => record.steady_peak_rss_mb = peak_rss_mb,
        ChildEvent::Failed { class, message } => {
            record.failure = Some(class);
            record.reason = Some(message);
        }
        ChildEvent::Refused(refused) => record.refused.push(refused),
        ChildEvent::Unsupported { message } => {
            record.status = CellStatus::Unsupported;
            record.reason = Some(message);
        }
    }
    Ok(Absorbed::Other)
}

impl Executor for ProcessExecutor {
    fn run(&mut self, spec: &CellSpec, on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>) -> CellRecord {
        self.run_with(spec, &Launch::default(), on_sample)
    }
}

/// Read events until the child closes stdout (None) or a timeout fires (Some(class)).
fn watch(
    spec: &CellSpec,
    process: &CellProcess,
    record: &mut CellRecord,
    on_sample: &mut dyn FnMut(SampleRecord) -> std::io::Result<()>,
) -> Option<FailureClass> {
    let generate_timeout = Duration::from_secs_f64(spec.timeouts.generate_s);
    let mut deadline = Instant::now() + Duration::from_secs_f64(spec.timeouts.compile_s);
    let mut compiled = false;
    loop {
        let event = match process.next(deadline) {
            Next::Event(e) => e,
            Next::Closed => return None,
            Next::TimedOut => {
                return Some(if compiled { FailureClass::TimeoutGenerate } else { FailureClass::TimeoutCompile });
            }
        };
        match absorb(spec, event, record, on_sample) {
            Err(class) => return Some(class),
            Ok(Absorbed::Compiled) => {
                compiled = true;
                deadline = Instant::now() + generate_timeout;
            }
            Ok(Absorbed::Sample) => deadline = Instant::now() + generate_timeout,
            Ok(Absorbed::Ready | Absorbed::Stepped | Absorbed::Other) => {}
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
    record.first_inference_ms.get_or_insert(sample.metrics.ttft_ms);
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

/// The larger of two optional figures (either alone where the other is missing).
pub fn larger(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
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
