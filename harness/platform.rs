//! The operating-system calls bakeoff needs beyond the standard library, in one place: the
//! cell's process limits and lifetime, its exit status with its peak memory, the lock that
//! gives a run folder one writer, the process's own CPU clock and memory, the host's CPU,
//! memory and kernel as the OS describes them, and the runtime library's file name. This is the Linux implementation; a port (Windows:
//! Job Objects for the memory limit and kill-on-close, `GetProcessMemoryInfo` for peak
//! memory, `LockFileEx` for the folder lock) replaces this module alone.

use std::process::Command;
use std::time::{Duration, Instant};

/// How a child process ended, with its peak resident memory from the kernel's accounting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exit {
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    /// Its exit code, if it exited.
    pub code: Option<i32>,
    /// Peak resident set, KiB (0: unknown).
    pub max_rss_kib: i64,
}

fn exit_of(status: i32, usage: &libc::rusage) -> Exit {
    let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Exit { signal, code, max_rss_kib: usage.ru_maxrss }
}

/// Reap child `pid` if it has ended (`block`: wait until it does).
fn reap(pid: i32, block: bool) -> Option<Exit> {
    let mut status = 0;
    // SAFETY: rusage is plain data filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: pid is our child; status and usage are valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
    match r {
        r if r == pid => Some(exit_of(status, &usage)),
        r if r < 0 => Some(Exit::default()),
        _ => None,
    }
}

/// Wait for child `pid` to end and reap it.
pub fn wait(pid: i32) -> Exit {
    reap(pid, true).unwrap_or_default()
}

/// Wait up to `timeout` for child `pid` to end; None if it is still running then.
pub fn wait_within(pid: i32, timeout: Duration) -> Option<Exit> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(exit) = reap(pid, false) {
            return Some(exit);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kill child `pid` at once (SIGKILL: a cell that ignores SIGTERM still ends).
pub fn kill(pid: i32) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Cap the child's address space (RLIMIT_AS) before it runs.
pub fn limit_address_space(command: &mut Command, mb: u64) {
    use std::os::unix::process::CommandExt;
    let bytes = mb.saturating_mul(1 << 20);
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The child is killed when this process dies, however it dies (SIGKILL, SIGTERM, a crash):
/// a cell must never outlive the run that started it and go on computing unobserved. The
/// kernel sends the signal when the spawning thread ends, so cells are spawned by the run's
/// main thread. A parent that died between fork and this call is caught by comparing the
/// parent pid.
pub fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe; nothing else is touched.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Pin the child to one CPU before it runs (duet benchmarking: each side of an A/B pair on
/// a core of its own, so both meet the same neighbours at the same moment). OpenVINO's CPU
/// plugin sizes its thread pool from the affinity mask it starts with.
pub fn pin_to_cpu(command: &mut Command, cpu: usize) {
    use std::os::unix::process::CommandExt;
    // SAFETY: sched_setaffinity is async-signal-safe; the set is plain data built here.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The CPUs this process may run on (its affinity mask), in order.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data filled by the kernel.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer of the size given.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return Vec::new();
    }
    // SAFETY: reading the set just filled.
    (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
}

/// Take an exclusive lock on `file` without waiting. Ok(false): another process holds it.
/// The kernel drops the lock when its holder's file closes or the process dies, so a crashed
/// run never leaves a stale lock behind.
pub fn try_lock_exclusive(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// CPU time this process has used so far, user plus system, over all its threads, ms
/// (CLOCK_PROCESS_CPUTIME_ID): what the host spent on inference, including the plugin's
/// worker threads, their spinning included.
pub fn process_cpu_ms() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; the clock id is a constant the kernel knows.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// The first fields of the kernel's `struct perf_event_attr` (its version-0 layout, 64
/// bytes): all a counting event needs.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// Open a system-wide counting perf event (`kind`, `config`) on `cpu`; reading the file
/// gives the count so far as a native-endian u64. Needs `perf_event_paranoid` <= 0 or
/// CAP_PERFMON for system-wide events such as the RAPL `power` PMU's.
pub fn perf_counter_open(kind: u32, config: u64, cpu: i32) -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    let attr = PerfEventAttr { kind, size: std::mem::size_of::<PerfEventAttr>() as u32, config, ..Default::default() };
    // SAFETY: attr is a valid perf_event_attr of the size it declares; pid -1 with a cpu is a
    // system-wide counter; no group, no flags. The returned descriptor is ours to own.
    let fd = unsafe {
        libc::syscall(libc::SYS_perf_event_open, &attr as *const PerfEventAttr, -1 as libc::pid_t, cpu, -1, 0)
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor returned by the kernel, owned by nobody else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd as i32) })
}

/// The count of a perf counter opened by [`perf_counter_open`].
pub fn perf_counter_read(file: &std::fs::File) -> std::io::Result<u64> {
    use std::io::Read;
    let mut buf = [0u8; 8];
    (&*file).read_exact(&mut buf)?;
    Ok(u64::from_ne_bytes(buf))
}

/// This process's resident memory and its peak so far (VmRSS, VmHWM), MiB, from
/// /proc/self/status; None where that file does not exist.
pub fn own_memory_mb() -> (Option<f64>, Option<f64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Reset this process's peak resident memory (VmHWM) to its resident memory now, so that
/// the next peak read covers only what comes after (Linux 4.0 and later: `5` written to
/// /proc/self/clear_refs). False where the kernel does not allow it. The kernel's own
/// accounting of the process's peak (wait4's ru_maxrss) reads the same high-water mark, so
/// after a reset it too covers only what came after.
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The text of /proc/cpuinfo (empty where there is none): the CPU's model name and flags.
pub fn cpuinfo() -> String {
    std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default()
}

/// The host's memory, MiB (MemTotal of /proc/meminfo; 0 where unknown).
pub fn memory_total_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("MemTotal")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// The kernel release (`uname -r`).
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(|_| "unknown".into(), |s| s.trim().to_string())
}

/// Whether a file name is OpenVINO's C library: `libopenvino_c.so` or a versioned
/// `libopenvino_c.so.N` (the PyPI wheel ships only the versioned one).
pub fn is_openvino_c_library(name: &str) -> bool {
    name == "libopenvino_c.so" || name.starts_with("libopenvino_c.so.")
}
