//! Where a generation's work and energy went: host CPU time, package energy and NPU busy
//! time, each measured over the prefill (from the start of a generation to its first token)
//! and over the decode (from the first token to the last). People put LLMs on the NPU of a
//! laptop to save battery and free the CPU, not for raw speed, so a profile is chosen by
//! these as much as by tokens/s.
//!
//! Sources, and when each is absent:
//! - **CPU time**: the cell process's own CPU clock (every thread, user plus system), so it
//!   counts the plugin's worker threads, their spinning, copies and NPUW's host-side work.
//!   Works on every machine.
//! - **Package energy**: Linux powercap RAPL, every package domain `intel-rapl:N` under
//!   `/sys/class/powercap` (`energy_uj`, microjoules, wrapping at `max_energy_range_uj`);
//!   where those are not readable, the `power/energy-pkg/` perf event (one counter per
//!   package, on the first CPU of the PMU's `cpumask`). Absent in most VMs, and unreadable
//!   without permission (kernels since 2020 make `energy_uj` root-only; the perf event needs
//!   `perf_event_paranoid` <= 0 or CAP_PERFMON).
//! - **NPU busy time**: the intel_vpu driver's `npu_busy_time_us` under
//!   `/sys/class/accel/accelN/device/`, for NPU cells only (on NPU:host no NPU works).
//! - **NPU memory**: the NPU plugin's `NPU_DEVICE_TOTAL_MEM_SIZE` and
//!   `NPU_DEVICE_ALLOC_MEM_SIZE`, after compile and after generation.
//!
//! An unreadable source leaves its metrics absent, never zero, and the fingerprint says why.

use crate::pipelines::{Observer, Step};
use crate::runtime::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Environment variable of the test-only sysfs root: a folder laid out like `/sys` (a fake
/// tree the tests write), read instead of `/sys`. Users never set it.
pub const SYSFS_ROOT_ENV: &str = "BAKEOFF_TEST_SYSFS_ROOT";

/// The sysfs root to read: `/sys`, or the tests' fake tree.
pub fn sysfs_root() -> PathBuf {
    std::env::var_os(SYSFS_ROOT_ENV).map_or_else(|| PathBuf::from("/sys"), PathBuf::from)
}

/// Why a telemetry source cannot be read here (the message names the file and the cause).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

impl From<String> for Unreadable {
    fn from(reason: String) -> Unreadable {
        Unreadable(reason)
    }
}

fn read_u64(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.trim().parse().map_err(|e| format!("{}: not a whole number ({e})", path.display()))
}

/// One RAPL package domain.
#[derive(Debug, Clone)]
struct Domain {
    name: String,
    energy_uj: PathBuf,
    max_energy_range_uj: u64,
}

/// Where package energy is read from.
#[derive(Debug, Clone)]
enum EnergySource {
    /// powercap files, one per package, in µJ.
    Powercap(Vec<Domain>),
    /// `power/energy-pkg/` perf counters, one per package, in units of `scale` joules.
    Perf { counters: Vec<std::sync::Arc<std::fs::File>>, scale: f64 },
}

/// The RAPL package energy counters of this machine.
#[derive(Debug, Clone)]
pub struct EnergyCounters {
    source: EnergySource,
}

/// The `power` PMU's package-energy event: (PMU type, event config, joules per count, the
/// CPUs to open it on), from `root/bus/event_source/devices/power`.
pub fn perf_energy_event(root: &Path) -> Result<(u32, u64, f64, Vec<i32>), Unreadable> {
    let dir = root.join("bus/event_source/devices/power");
    let read = |rel: &str| {
        let path = dir.join(rel);
        std::fs::read_to_string(&path).map(|s| s.trim().to_string()).map_err(|e| format!("{}: {e}", path.display()))
    };
    let kind: u32 = read("type")?.parse().map_err(|e| format!("{}/type: {e}", dir.display()))?;
    let event = read("events/energy-pkg")?;
    let config = event
        .split(',')
        .find_map(|term| term.trim().strip_prefix("event="))
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| format!("{}/events/energy-pkg: no event=0x.. in `{event}`", dir.display()))?;
    let scale: f64 = read("events/energy-pkg.scale")?.parse().map_err(|e| format!("energy-pkg.scale: {e}"))?;
    let cpus: Vec<i32> = read("cpumask")?.split(',').filter_map(|c| c.split('-').next()?.trim().parse().ok()).collect();
    if cpus.is_empty() {
        return Err(format!("{}/cpumask: no CPU", dir.display()).into());
    }
    Ok((kind, config, scale, cpus))
}

fn open_perf(root: &Path) -> Result<EnergySource, Unreadable> {
    let (kind, config, scale, cpus) = perf_energy_event(root)?;
    let counters = cpus
        .iter()
        .map(|&cpu| {
            crate::platform::perf_counter_open(kind, config, cpu)
                .map(std::sync::Arc::new)
                .map_err(|e| format!("perf_event_open(power type {kind}, config {config:#x}, cpu {cpu}): {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(EnergySource::Perf { counters, scale })
}

/// `intel-rapl:0`, `intel-rapl:1`: packages; `intel-rapl:0:0` (a core or DRAM domain
/// inside a package) is already counted in its package.
fn is_package_domain(name: &str) -> bool {
    name.strip_prefix("intel-rapl:").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl EnergyCounters {
    /// The powercap files where they are readable, else the perf event; the error says why
    /// neither can be read.
    pub fn open(root: &Path) -> Result<EnergyCounters, Unreadable> {
        let powercap = match Self::open_powercap(root) {
            Ok(e) => return Ok(e),
            Err(e) => e,
        };
        match open_perf(root) {
            Ok(source) => Ok(EnergyCounters { source }),
            Err(perf) => Err(Unreadable(format!("{powercap}; perf event power/energy-pkg: {perf}"))),
        }
    }

    /// Find every package domain under `root/class/powercap` and check each counter reads.
    fn open_powercap(root: &Path) -> Result<EnergyCounters, String> {
        let dir = root.join("class/powercap");
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_package_domain(n))
            .collect();
        names.sort();
        if names.is_empty() {
            return Err(format!("{}: no intel-rapl package domain", dir.display()));
        }
        let mut domains = Vec::new();
        for name in names {
            let d = dir.join(&name);
            let max_energy_range_uj = read_u64(&d.join("max_energy_range_uj"))?;
            let energy_uj = d.join("energy_uj");
            read_u64(&energy_uj)
                .map_err(|e| format!("{e} (reading RAPL needs root, or a udev rule giving read access)"))?;
            domains.push(Domain { name, energy_uj, max_energy_range_uj });
        }
        Ok(EnergyCounters { source: EnergySource::Powercap(domains) })
    }

    /// Every package's counter now (None if one cannot be read).
    pub fn read(&self) -> Option<Vec<u64>> {
        match &self.source {
            EnergySource::Powercap(domains) => domains.iter().map(|d| read_u64(&d.energy_uj).ok()).collect(),
            EnergySource::Perf { counters, .. } => {
                counters.iter().map(|f| crate::platform::perf_counter_read(f).ok()).collect()
            }
        }
    }

    /// Joules used between two readings, over every package, each powercap counter's
    /// wrap-around (at its `max_energy_range_uj`) undone (perf counts are 64-bit).
    pub fn joules(&self, before: &[u64], after: &[u64]) -> f64 {
        match &self.source {
            EnergySource::Powercap(domains) => {
                let uj: u64 = domains
                    .iter()
                    .zip(before.iter().zip(after))
                    .map(|(d, (&b, &a))| if a >= b { a - b } else { d.max_energy_range_uj.saturating_sub(b) + a })
                    .sum();
                uj as f64 / 1e6
            }
            EnergySource::Perf { scale, .. } => {
                before.iter().zip(after).map(|(&b, &a)| a.saturating_sub(b) as f64 * scale).sum()
            }
        }
    }

    /// `readable: RAPL package energy (intel-rapl:0, intel-rapl:1)` or the perf event's.
    pub fn describe(&self) -> String {
        match &self.source {
            EnergySource::Powercap(domains) => {
                let names: Vec<&str> = domains.iter().map(|d| d.name.as_str()).collect();
                format!("readable: RAPL package energy ({})", names.join(", "))
            }
            EnergySource::Perf { counters, .. } => {
                format!("readable: perf event power/energy-pkg ({} package counters)", counters.len())
            }
        }
    }
}

/// The NPU's busy-time counter.
#[derive(Debug, Clone)]
pub struct NpuBusy {
    path: PathBuf,
}

impl NpuBusy {
    /// The first accel device under `root/class/accel` with a readable `npu_busy_time_us`.
    pub fn open(root: &Path) -> Result<NpuBusy, Unreadable> {
        let dir = root.join("class/accel");
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut devices: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        devices.sort();
        for device in devices {
            let path = device.join("device/npu_busy_time_us");
            if read_u64(&path).is_ok() {
                return Ok(NpuBusy { path });
            }
        }
        Err(Unreadable(format!("{}: no accel device with a readable device/npu_busy_time_us", dir.display())))
    }

    /// Microseconds the NPU has been busy, per the driver.
    pub fn read(&self) -> Option<u64> {
        read_u64(&self.path).ok()
    }
}

/// What was measured at one moment of a generation.
#[derive(Debug, Clone)]
pub struct Reading {
    at: Instant,
    cpu_ms: f64,
    energy_uj: Option<Vec<u64>>,
    npu_busy_us: Option<u64>,
}

/// The sources one cell measures with, opened once.
#[derive(Debug, Clone)]
pub struct Probes {
    energy: Result<EnergyCounters, Unreadable>,
    npu: Result<NpuBusy, Unreadable>,
}

impl Probes {
    /// Open the sources for a cell on `device`.
    pub fn open(device: Device) -> Probes {
        let root = sysfs_root();
        let npu = match device {
            Device::Npu => NpuBusy::open(&root),
            Device::NpuHost => Err(Unreadable("NPU:host: the host CPU executes NPUW's parts; no NPU works".into())),
            Device::Cpu => Err(Unreadable("a CPU cell: no NPU works".into())),
        };
        Probes { energy: EnergyCounters::open(&root), npu }
    }

    /// Read every source now.
    pub fn read(&self) -> Reading {
        Reading {
            at: Instant::now(),
            cpu_ms: crate::platform::process_cpu_ms(),
            energy_uj: self.energy.as_ref().ok().and_then(EnergyCounters::read),
            npu_busy_us: self.npu.as_ref().ok().and_then(NpuBusy::read),
        }
    }

    /// What the generation used: prefill from `start` to `first` (the first token), decode
    /// from `first` to `end` over `decode_steps` tokens.
    pub fn usage(&self, start: &Reading, first: &Reading, end: &Reading, decode_steps: usize) -> Usage {
        let per_token = |v: f64| (decode_steps > 0).then(|| v / decode_steps as f64);
        let joules = |a: &Reading, b: &Reading| match (&self.energy, &a.energy_uj, &b.energy_uj) {
            (Ok(e), Some(x), Some(y)) => Some(e.joules(x, y)),
            _ => None,
        };
        let seconds = |a: &Reading, b: &Reading| (b.at - a.at).as_secs_f64();
        let watts = |j: Option<f64>, s: f64| j.filter(|_| s > 0.0).map(|j| j / s);
        let busy = |a: &Reading, b: &Reading| match (a.npu_busy_us, b.npu_busy_us) {
            (Some(x), Some(y)) if seconds(a, b) > 0.0 => Some(100.0 * y.saturating_sub(x) as f64 / 1e6 / seconds(a, b)),
            _ => None,
        };
        let (prefill_j, decode_j) = (joules(start, first), joules(first, end));
        Usage {
            prefill_cpu_ms: Some(first.cpu_ms - start.cpu_ms).filter(|v| v.is_finite()),
            cpu_ms_per_token: per_token(end.cpu_ms - first.cpu_ms).filter(|v| v.is_finite()),
            prefill_joules: prefill_j,
            joules_per_token: decode_j.and_then(per_token),
            prefill_watts: watts(prefill_j, seconds(start, first)),
            decode_watts: watts(decode_j, seconds(first, end)),
            prefill_npu_busy_pct: busy(start, first),
            decode_npu_busy_pct: busy(first, end),
        }
    }

    /// Why each source can or cannot be read, for the fingerprint.
    pub fn status(&self) -> TelemetryStatus {
        TelemetryStatus {
            energy: match &self.energy {
                Ok(e) => e.describe(),
                Err(e) => format!("not readable: {e}"),
            },
            npu_busy: match &self.npu {
                Ok(n) => format!("readable: {}", n.path.display()),
                Err(e) => format!("not readable: {e}"),
            },
        }
    }
}

/// Whether energy and NPU busy time can be measured on this machine, and why not.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TelemetryStatus {
    /// `readable: RAPL package energy (intel-rapl:0)` or `not readable: <why>`.
    pub energy: String,
    /// `readable: <path>` or `not readable: <why>`.
    pub npu_busy: String,
}

impl TelemetryStatus {
    /// This machine's status, as an NPU cell would see it.
    pub fn of_host() -> TelemetryStatus {
        Probes::open(Device::Npu).status()
    }
}

/// What one generation used, by phase. Every field is absent where its source is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Usage {
    /// Host CPU time of the prefill, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_cpu_ms: Option<f64>,
    /// Host CPU time per decode token, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms_per_token: Option<f64>,
    /// Package energy of the prefill, J.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_joules: Option<f64>,
    /// Package energy per decode token, J.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_token: Option<f64>,
    /// Average package power during the prefill, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_watts: Option<f64>,
    /// Average package power during the decode, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_watts: Option<f64>,
    /// Share of the prefill's wall time the NPU was busy, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_npu_busy_pct: Option<f64>,
    /// Share of the decode's wall time the NPU was busy, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_npu_busy_pct: Option<f64>,
}

/// An observer that reads the probes at the first token, passing every token on to `inner`.
/// The reading costs a few microseconds (a clock and a few small sysfs files), charged to
/// the first decode step.
pub struct UsageMeter<'a> {
    probes: &'a Probes,
    inner: &'a mut dyn Observer,
    start: Reading,
    first: Option<Reading>,
    /// Time spent waiting between steps for the other side of a step-interleaved pair.
    waited: std::time::Duration,
}

impl<'a> UsageMeter<'a> {
    /// Start measuring a generation now.
    pub fn start(probes: &'a Probes, inner: &'a mut dyn Observer) -> UsageMeter<'a> {
        UsageMeter { probes, inner, start: probes.read(), first: None, waited: std::time::Duration::ZERO }
    }

    /// The generation is over: what it used, over `decode_steps` tokens after the first.
    /// A generation that waited between its steps (its decode interleaved with another
    /// process's) keeps its own CPU time but no package energy, power or NPU busy share:
    /// the package and the NPU worked for the other process during the waits, and no
    /// reading can tell the two apart.
    pub fn finish(self, decode_steps: usize) -> Usage {
        let end = self.probes.read();
        let first = self.first.as_ref().unwrap_or(&end);
        let usage = self.probes.usage(&self.start, first, &end, decode_steps);
        if self.waited.is_zero() {
            return usage;
        }
        Usage { prefill_cpu_ms: usage.prefill_cpu_ms, cpu_ms_per_token: usage.cpu_ms_per_token, ..Usage::default() }
    }
}

impl Observer for UsageMeter<'_> {
    fn on_token(&mut self, index: usize, step: &Step) {
        if index == 0 {
            self.first = Some(self.probes.read());
        }
        self.inner.on_token(index, step);
    }

    fn before_next_step(&mut self, index: usize) -> std::time::Duration {
        let waited = self.inner.before_next_step(index);
        self.waited += waited;
        waited
    }
}

/// The NPU's memory as its plugin reports it, MiB.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NpuMemory {
    /// NPU_DEVICE_TOTAL_MEM_SIZE.
    pub total_mb: Option<f64>,
    /// NPU_DEVICE_ALLOC_MEM_SIZE once the model was compiled.
    pub allocated_after_compile_mb: Option<f64>,
    /// NPU_DEVICE_ALLOC_MEM_SIZE after the last generation.
    pub allocated_after_generate_mb: Option<f64>,
}

/// A byte count property as MiB.
fn mib(get: &dyn Fn(&str) -> Option<String>, key: &str) -> Option<f64> {
    get(key)?.trim().parse::<u64>().ok().map(|b| b as f64 / f64::from(1 << 20))
}

impl NpuMemory {
    /// The total and the allocation after compile, from the NPU plugin's properties.
    pub fn after_compile(get: &dyn Fn(&str) -> Option<String>) -> NpuMemory {
        NpuMemory {
            total_mb: mib(get, "NPU_DEVICE_TOTAL_MEM_SIZE"),
            allocated_after_compile_mb: mib(get, "NPU_DEVICE_ALLOC_MEM_SIZE"),
            allocated_after_generate_mb: None,
        }
    }

    /// Add the allocation after generation.
    pub fn after_generate(&mut self, get: &dyn Fn(&str) -> Option<String>) {
        self.allocated_after_generate_mb = mib(get, "NPU_DEVICE_ALLOC_MEM_SIZE");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake sysfs tree: `packages` RAPL packages (with a core sub-domain each, which must
    /// not be counted twice) and optionally an accel device.
    fn fake_sysfs(packages: &[(u64, u64)], npu_busy: Option<u64>) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (i, (energy, max)) in packages.iter().enumerate() {
            let d = root.path().join(format!("class/powercap/intel-rapl:{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("energy_uj"), format!("{energy}\n")).unwrap();
            std::fs::write(d.join("max_energy_range_uj"), format!("{max}\n")).unwrap();
            let sub = root.path().join(format!("class/powercap/intel-rapl:{i}:0"));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join("energy_uj"), "5\n").unwrap();
            std::fs::write(sub.join("max_energy_range_uj"), "100\n").unwrap();
        }
        if let Some(busy) = npu_busy {
            let d = root.path().join("class/accel/accel0/device");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("npu_busy_time_us"), format!("{busy}\n")).unwrap();
        }
        root
    }

    fn set(root: &Path, file: &str, value: u64) {
        std::fs::write(root.join(file), format!("{value}\n")).unwrap();
    }

    #[test]
    fn package_energy_sums_every_package_and_undoes_the_wrap_around() {
        let root = fake_sysfs(&[(1_000_000, 262_143_328_850), (262_143_000_000, 262_143_328_850)], None);
        let e = EnergyCounters::open(root.path()).unwrap();
        assert_eq!(e.describe(), "readable: RAPL package energy (intel-rapl:0, intel-rapl:1)");
        let before = e.read().unwrap();
        set(root.path(), "class/powercap/intel-rapl:0/energy_uj", 3_500_000);
        // Package 1 wrapped: 328,850 µJ to its range's end, then 171,150 µJ past zero.
        set(root.path(), "class/powercap/intel-rapl:1/energy_uj", 171_150);
        let after = e.read().unwrap();
        assert!((e.joules(&before, &after) - (2.5 + 0.5)).abs() < 1e-9, "{}", e.joules(&before, &after));
    }

    #[test]
    fn unreadable_energy_says_why() {
        let empty = tempfile::tempdir().unwrap();
        let e = EnergyCounters::open(empty.path()).unwrap_err().to_string();
        assert!(e.contains("class/powercap") && e.contains("No such file"), "{e}");
        std::fs::create_dir_all(empty.path().join("class/powercap/intel-rapl:0")).unwrap();
        let e = EnergyCounters::open(empty.path()).unwrap_err().to_string();
        assert!(e.contains("max_energy_range_uj"), "{e}");
        let only_sub = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(only_sub.path().join("class/powercap/intel-rapl:0:0")).unwrap();
        assert!(EnergyCounters::open(only_sub.path())
            .unwrap_err()
            .to_string()
            .contains("no intel-rapl package domain"));
    }

    #[test]
    fn the_perf_event_is_found_from_the_power_pmu_and_its_failure_said() {
        let root = tempfile::tempdir().unwrap();
        let pmu = root.path().join("bus/event_source/devices/power");
        std::fs::create_dir_all(pmu.join("events")).unwrap();
        std::fs::write(pmu.join("type"), "4242\n").unwrap();
        std::fs::write(pmu.join("cpumask"), "0,56\n").unwrap();
        std::fs::write(pmu.join("events/energy-pkg"), "event=0x02\n").unwrap();
        std::fs::write(pmu.join("events/energy-pkg.scale"), "2.3283064365386962890625e-10\n").unwrap();
        let (kind, config, scale, cpus) = perf_energy_event(root.path()).unwrap();
        assert_eq!((kind, config, cpus), (4242, 2, vec![0, 56]));
        assert!((scale - 2.328_306_4e-10).abs() < 1e-16);
        // No such PMU type in this kernel: neither source is readable, and both say why.
        let e = EnergyCounters::open(root.path()).unwrap_err().to_string();
        assert!(
            e.contains("class/powercap") && e.contains("perf_event_open(power type 4242, config 0x2, cpu 0)"),
            "{e}"
        );
    }

    #[test]
    fn a_generation_s_usage_splits_prefill_and_decode() {
        let root = fake_sysfs(&[(0, 1 << 40)], Some(1_000));
        let probes = Probes { energy: EnergyCounters::open(root.path()), npu: NpuBusy::open(root.path()) };
        // Each phase lasts at least its sleep and at most what this test's own clock saw
        // around it (a loaded machine may oversleep by any amount): the rates' bounds follow.
        let now = std::time::Instant::now;
        let before_start = now();
        let start = probes.read();
        std::thread::sleep(std::time::Duration::from_millis(20));
        set(root.path(), "class/powercap/intel-rapl:0/energy_uj", 200_000);
        set(root.path(), "class/accel/accel0/device/npu_busy_time_us", 11_000);
        let before_first = now();
        let first = probes.read();
        let prefill_at_most = before_start.elapsed().as_secs_f64();
        std::thread::sleep(std::time::Duration::from_millis(40));
        set(root.path(), "class/powercap/intel-rapl:0/energy_uj", 1_000_000);
        set(root.path(), "class/accel/accel0/device/npu_busy_time_us", 31_000);
        let end = probes.read();
        let decode_at_most = before_first.elapsed().as_secs_f64();
        let u = probes.usage(&start, &first, &end, 4);
        assert_eq!(u.prefill_joules, Some(0.2));
        assert_eq!(u.joules_per_token, Some(0.2), "0.8 J over 4 tokens");
        let within = |v: f64, low: f64, high: f64| v >= low && v <= high * 1.000_001;
        let (pw, dw) = (u.prefill_watts.unwrap(), u.decode_watts.unwrap());
        assert!(within(pw, 0.2 / prefill_at_most, 0.2 / 0.020), "0.2 J in [20 ms, {prefill_at_most} s]: {u:?}");
        assert!(within(dw, 0.8 / decode_at_most, 0.8 / 0.040), "0.8 J in [40 ms, {decode_at_most} s]: {u:?}");
        let (pb, db) = (u.prefill_npu_busy_pct.unwrap(), u.decode_npu_busy_pct.unwrap());
        assert!(within(pb, 1.0 / prefill_at_most, 50.0), "10 ms busy in [20 ms, {prefill_at_most} s]: {u:?}");
        assert!(within(db, 2.0 / decode_at_most, 50.0), "20 ms busy in [40 ms, {decode_at_most} s]: {u:?}");
        assert!(u.prefill_cpu_ms.unwrap() >= 0.0 && u.cpu_ms_per_token.unwrap() >= 0.0);
    }

    #[test]
    fn without_sources_only_cpu_time_is_measured_and_the_reasons_are_given() {
        let empty = tempfile::tempdir().unwrap();
        let probes = Probes {
            energy: EnergyCounters::open(empty.path()),
            npu: Err(Unreadable("a CPU cell: no NPU works".into())),
        };
        let r = probes.read();
        let u = probes.usage(&r, &probes.read(), &probes.read(), 3);
        assert_eq!((u.prefill_joules, u.joules_per_token, u.decode_npu_busy_pct), (None, None, None));
        assert!(u.cpu_ms_per_token.is_some());
        let status = probes.status();
        assert!(
            status.energy.starts_with("not readable: ") && status.npu_busy == "not readable: a CPU cell: no NPU works"
        );
        assert_eq!(probes.usage(&r, &r, &r, 0).cpu_ms_per_token, None, "no decode step, no per-token figure");
    }

    #[test]
    fn npu_busy_comes_from_the_first_accel_device_that_has_it() {
        let root = fake_sysfs(&[], Some(42));
        std::fs::create_dir_all(root.path().join("class/accel/accel1/device")).unwrap();
        assert_eq!(NpuBusy::open(root.path()).unwrap().read(), Some(42));
        let none = fake_sysfs(&[], None);
        assert!(NpuBusy::open(none.path()).unwrap_err().to_string().contains("class/accel"));
    }

    #[test]
    fn npu_memory_comes_from_the_plugins_properties() {
        // A property set as the NPU plugin reports it (bytes).
        let props = |after: &'static str| {
            move |key: &str| match key {
                "NPU_DEVICE_TOTAL_MEM_SIZE" => Some("17179869184".to_string()),
                "NPU_DEVICE_ALLOC_MEM_SIZE" => Some(after.to_string()),
                _ => None,
            }
        };
        let mut m = NpuMemory::after_compile(&props("1073741824"));
        m.after_generate(&props("1610612736"));
        assert_eq!(
            m,
            NpuMemory {
                total_mb: Some(16384.0),
                allocated_after_compile_mb: Some(1024.0),
                allocated_after_generate_mb: Some(1536.0)
            }
        );
        assert_eq!(NpuMemory::after_compile(&|_| None), NpuMemory::default());
    }
}
