//! The fingerprint: everything that identifies the stack a number came from: OpenVINO
//! version and build, devices with their names, architectures, optimization capabilities and
//! NPU driver / compiler versions, and the host: CPU model, the ISA extensions OpenVINO's CPU
//! plugin picks its kernels by (the same build runs 2-5x slower on an AVX2-only CPU than on
//! one with AVX-512 VNNI), whether it is virtualized, the kernel, and bakeoff's own commit.
//! Two runs whose host fields differ measured different machines: their figures are not
//! comparable, and compare and qualify say so loudly.

use crate::runtime::Runtime;
use serde::{Deserialize, Serialize};

/// One device as OpenVINO describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeviceInfo {
    /// `CPU`, `NPU`, ...
    pub name: String,
    /// FULL_DEVICE_NAME.
    pub full_name: Option<String>,
    /// DEVICE_ARCHITECTURE.
    pub architecture: Option<String>,
    /// NPU only: NPU_DRIVER_VERSION.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npu_driver_version: Option<String>,
    /// NPU only: NPU_COMPILER_VERSION as major.minor (major in the high 16 bits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npu_compiler_version: Option<String>,
    /// OPTIMIZATION_CAPABILITIES (on CPU: `BF16` and `FP16` appear only where the ISA has
    /// them, so this tells which precisions the plugin can run fast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimization_capabilities: Option<String>,
}

/// The stack a run ran on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fingerprint {
    /// bakeoff's version.
    pub harness_version: String,
    /// OpenVINO build number.
    pub openvino_version: String,
    /// OpenVINO description.
    pub openvino_description: String,
    /// The `libopenvino_c` file loaded.
    pub openvino_library: String,
    /// The devices OpenVINO lists as available.
    pub devices: Vec<DeviceInfo>,
    /// The host CPU's model name.
    pub host_cpu: String,
    /// Logical CPUs.
    pub host_cpus: usize,
    /// The host's memory, MiB.
    pub host_memory_mib: u64,
    /// The host CPU's ISA extensions that decide which kernels OpenVINO's CPU plugin runs
    /// (from /proc/cpuinfo, in [`ISA_FLAGS`] order, space-separated).
    #[serde(default)]
    pub host_cpu_isa: String,
    /// `ONEDNN_MAX_CPU_ISA` when set: oneDNN (inside the CPU plugin) then uses no ISA above
    /// it, so the run measured an older CPU's kernels on this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_isa_limit: Option<String>,
    /// Whether the host is a virtual machine, and its hypervisor where the CPU names it.
    #[serde(default)]
    pub host_virtualized: String,
    /// The kernel release.
    #[serde(default)]
    pub host_kernel: String,
    /// The git commit bakeoff was built from (`-dirty` when the tree had changes).
    #[serde(default)]
    pub harness_commit: String,
    /// Whether package energy and NPU busy time are measurable here, and why not: a run
    /// without energy figures says so here instead of showing zeros.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<crate::telemetry::TelemetryStatus>,
    /// The test-only slowdown this run was made with (never set by scenarios; a run that
    /// has it measured an injected delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_slowdown: Option<String>,
    /// The test-only host ISA this run was made with ([`HOST_ISA_ENV`]; never set by
    /// scenarios): `host_cpu_isa` then holds it instead of what /proc/cpuinfo says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_host_isa: Option<String>,
    /// The models a run used, by name (weights, tokenizer and template hashes).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub models: std::collections::BTreeMap<String, crate::model::ModelFingerprint>,
    /// The models' sizes, by name (the model-size charts' x axis).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub model_sizes: std::collections::BTreeMap<String, crate::model::ModelSize>,
    /// Device labels a run used that are not what OpenVINO lists, with what they are
    /// (`NPU:host`: the NPU plugin's NPUW pipeline executed by the host CPU).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub device_labels: std::collections::BTreeMap<String, String>,
}

/// NPU_COMPILER_VERSION packs major in the high 16 bits and minor in the low 16.
pub fn compiler_version(raw: &str) -> String {
    match raw.trim().parse::<u64>() {
        Ok(v) => format!("{}.{}", v >> 16, v & 0xffff),
        Err(_) => raw.to_string(),
    }
}

fn device_info(rt: &Runtime, name: &str) -> DeviceInfo {
    let get = |key: &str| rt.core.device_property(name, key).ok().filter(|s| !s.is_empty());
    let is_npu = name.starts_with("NPU");
    DeviceInfo {
        name: name.to_string(),
        full_name: get("FULL_DEVICE_NAME"),
        architecture: get("DEVICE_ARCHITECTURE"),
        npu_driver_version: if is_npu { get("NPU_DRIVER_VERSION") } else { None },
        npu_compiler_version: if is_npu { get("NPU_COMPILER_VERSION").map(|v| compiler_version(&v)) } else { None },
        optimization_capabilities: get("OPTIMIZATION_CAPABILITIES"),
    }
}

/// The /proc/cpuinfo flags that change which kernels OpenVINO's CPU plugin (oneDNN) runs:
/// the vector width (AVX2, AVX-512), the INT8 dot products (VNNI), the bf16/fp16 paths and
/// the AMX tiles.
pub const ISA_FLAGS: &[&str] = &[
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "amx_fp16",
];

/// The test-only override of the host's ISA extensions (space-separated flags, as
/// `host_cpu_isa` writes them), so one test can run as an AVX2-only host and another as an
/// AVX-512 host on any machine. Scenarios cannot set it (their `env` tables refuse every
/// `BAKEOFF_TEST_` name), and a fingerprint made with it records it in `test_host_isa`.
pub const HOST_ISA_ENV: &str = "BAKEOFF_TEST_HOST_ISA";

/// The host ISA [`HOST_ISA_ENV`] sets, white space folded; None when unset or empty.
pub fn host_isa_override() -> Option<String> {
    let value = std::env::var(HOST_ISA_ENV).ok()?;
    let folded = value.split_whitespace().collect::<Vec<_>>().join(" ");
    (!folded.is_empty()).then_some(folded)
}

/// The first `flags` line of a /proc/cpuinfo text.
fn cpu_flags(cpuinfo: &str) -> Vec<&str> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(Vec::new, |(_, flags)| flags.split_whitespace().collect())
}

/// The [`ISA_FLAGS`] present in a /proc/cpuinfo text, space-separated, in that order.
pub fn isa_extensions(cpuinfo: &str) -> String {
    let flags = cpu_flags(cpuinfo);
    ISA_FLAGS.iter().filter(|f| flags.contains(f)).copied().collect::<Vec<_>>().join(" ")
}

/// `no`, or `yes` with the hypervisor's vendor id where the CPU reports one (CPUID leaf
/// 0x40000000: `KVMKVMKVM`, `Microsoft Hv`, ...).
pub fn virtualized(cpuinfo: &str) -> String {
    if !cpu_flags(cpuinfo).contains(&"hypervisor") {
        return "no".into();
    }
    match hypervisor_vendor() {
        Some(vendor) => format!("yes ({vendor})"),
        None => "yes".into(),
    }
}

#[cfg(target_arch = "x86_64")]
fn hypervisor_vendor() -> Option<String> {
    // SAFETY: CPUID exists on every x86-64 CPU; leaf 0x40000000 is reserved for hypervisors
    // and reads as zeros or garbage-free ASCII elsewhere, both handled below. (Newer Rust
    // made __cpuid safe; the block stays for the older toolchains rust-version allows.)
    #[allow(unused_unsafe)]
    let r = unsafe { std::arch::x86_64::__cpuid(0x4000_0000) };
    let bytes: Vec<u8> = [r.ebx, r.ecx, r.edx].iter().flat_map(|w| w.to_le_bytes()).collect();
    let text: String = bytes.iter().take_while(|b| **b != 0).map(|b| *b as char).collect();
    let text = text.trim().to_string();
    (!text.is_empty() && text.chars().all(|c| c.is_ascii_graphic() || c == ' ')).then_some(text)
}

#[cfg(not(target_arch = "x86_64"))]
fn hypervisor_vendor() -> Option<String> {
    None
}

/// The host of a recorded fingerprint (its JSON), in a line: CPU, cores and ISA extensions,
/// as every figure that depends on the machine is quoted beside.
pub fn describe_host(fingerprint: &serde_json::Value) -> String {
    let field = |k: &str| fingerprint[k].as_str().unwrap_or("unknown").to_string();
    let cores = fingerprint["host_cpus"].as_u64().map_or("?".into(), |n| n.to_string());
    format!("Host: {}, {cores} CPUs, ISA: {}.", field("host_cpu"), field("host_cpu_isa"))
}

/// The host CPU's model name (the first `model name` of /proc/cpuinfo's text).
pub fn host_cpu(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".into(), |s| s.trim().to_string())
}

impl Fingerprint {
    /// Collect the fingerprint of the loaded runtime and this host.
    pub fn collect(rt: &Runtime) -> Result<Fingerprint, crate::runtime::OvError> {
        let devices = rt.core.available_devices()?.iter().map(|d| device_info(rt, d)).collect();
        let cpuinfo = crate::platform::cpuinfo();
        let test_host_isa = host_isa_override();
        Ok(Fingerprint {
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            openvino_version: rt.version.clone(),
            openvino_description: rt.description.clone(),
            openvino_library: rt.library.path.display().to_string(),
            devices,
            host_cpu: host_cpu(&cpuinfo),
            host_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            host_memory_mib: crate::platform::memory_total_mib(),
            host_cpu_isa: test_host_isa.clone().unwrap_or_else(|| isa_extensions(&cpuinfo)),
            host_isa_limit: std::env::var("ONEDNN_MAX_CPU_ISA").ok().filter(|v| !v.is_empty()),
            host_virtualized: virtualized(&cpuinfo),
            host_kernel: crate::platform::kernel_release(),
            harness_commit: env!("BAKEOFF_COMMIT").to_string(),
            test_slowdown: std::env::var(crate::pipelines::SLOWDOWN_ENV).ok(),
            test_host_isa,
            telemetry: Some(crate::telemetry::TelemetryStatus::of_host()),
            models: Default::default(),
            model_sizes: Default::default(),
            device_labels: Default::default(),
        })
    }
}

/// One field that differs between two fingerprints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The field, as a path (`devices.NPU.npu_driver_version`, `models.x.weights_sha256`).
    pub field: String,
    /// The baseline's value (None: absent).
    pub baseline: Option<String>,
    /// The candidate's value.
    pub candidate: Option<String>,
    /// It changes what is measured (device, OpenVINO, driver, model, host), not just where
    /// the numbers were written down.
    pub matters: bool,
}

/// Every leaf of a fingerprint (JSON) as `path -> value`; devices keyed by name.
fn leaves(v: &serde_json::Value, path: &str, out: &mut std::collections::BTreeMap<String, String>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                leaves(v, &join(path, k), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let key = item.get("name").and_then(|n| n.as_str()).map_or(i.to_string(), str::to_string);
                leaves(item, &join(path, &key), out);
            }
        }
        Value::String(s) => {
            out.insert(path.to_string(), s.clone());
        }
        Value::Null => {}
        other => {
            out.insert(path.to_string(), other.to_string());
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Every field of a fingerprint (as written in run folders) as `path -> value`, devices
/// and models keyed by name.
pub fn fields(v: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    let mut out = Default::default();
    leaves(v, "", &mut out);
    out
}

/// The fields that differ between two fingerprints. Fields that only say where things were
/// (the library path, the harness version, the host's memory) or that are derived from
/// others (the models' sizes) do not matter.
pub fn differences(baseline: &serde_json::Value, candidate: &serde_json::Value) -> Vec<FieldDiff> {
    let (a, b) = (fields(baseline), fields(candidate));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| FieldDiff {
            field: k.clone(),
            baseline: a.get(k).cloned(),
            candidate: b.get(k).cloned(),
            // Model sizes are derived from the weights, whose hash (`models.*`) is compared.
            matters: !matches!(k.as_str(), "openvino_library" | "harness_version" | "host_memory_mib")
                && !k.starts_with("model_sizes."),
        })
        .collect()
}

/// Why a run has no energy figures, from its fingerprint (as written in its run folder):
/// None when it has them, or when the fingerprint predates the telemetry fields.
pub fn energy_absence(fingerprint: &serde_json::Value) -> Option<String> {
    let status = fingerprint.get("telemetry")?.get("energy")?.as_str()?;
    status.starts_with("not readable").then(|| status.to_string())
}

/// A fingerprint field that describes the machine (CPU model and count, ISA extensions,
/// virtualization, kernel, the CPU plugin's view of the CPU): when one differs, two runs'
/// figures are not comparable, whatever else is equal.
pub fn is_host_field(field: &str) -> bool {
    matches!(field, "host_cpu" | "host_cpus" | "host_cpu_isa" | "host_isa_limit" | "host_virtualized" | "host_kernel")
        || field.starts_with("devices.CPU.")
}

/// The loud warning for two runs taken on different machines, or None when the machine
/// fields agree.
pub fn host_warning(diffs: &[FieldDiff]) -> Option<String> {
    let host: Vec<String> = diffs
        .iter()
        .filter(|d| is_host_field(&d.field))
        .map(|d| {
            format!(
                "{}: {} -> {}",
                d.field,
                d.baseline.as_deref().unwrap_or("(absent)"),
                d.candidate.as_deref().unwrap_or("(absent)")
            )
        })
        .collect();
    (!host.is_empty()).then(|| {
        format!(
            "NOT COMPARABLE: the two runs measured different machines ({}). The same build runs 2-5x \
             slower on a CPU without AVX-512/VNNI, so speed verdicts between these runs say more about \
             the machines than about the change; compare runs taken on one machine, ideally interleaved",
            host.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn differences_name_the_field_and_whether_it_matters() {
        let a = serde_json::json!({"openvino_version": "2026.4.1", "openvino_library": "/a",
            "devices": [{"name": "CPU", "full_name": "EPYC"}, {"name": "NPU", "npu_driver_version": "1.0"}]});
        let b = serde_json::json!({"openvino_version": "2026.3.1", "openvino_library": "/b",
            "devices": [{"name": "CPU", "full_name": "EPYC"}, {"name": "NPU", "npu_driver_version": "1.1"}]});
        let d = super::differences(&a, &b);
        let fields: Vec<(&str, bool)> = d.iter().map(|f| (f.field.as_str(), f.matters)).collect();
        assert_eq!(
            fields,
            [("devices.NPU.npu_driver_version", true), ("openvino_library", false), ("openvino_version", true)]
        );
    }

    #[test]
    fn isa_extensions_and_virtualization_come_from_the_flags_line() {
        let avx512 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f \
                      avx512bw avx512vl avx512_vnni avx512_bf16 hypervisor\n";
        let avx2 = "model name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx avx2 fma\n";
        assert_eq!(
            super::isa_extensions(avx512),
            "sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16"
        );
        assert_eq!(super::isa_extensions(avx2), "sse4_2 avx avx2 fma");
        assert!(super::virtualized(avx512).starts_with("yes"));
        assert_eq!(super::virtualized(avx2), "no");
        assert_eq!(super::isa_extensions("no flags here"), "");
    }

    #[test]
    fn a_cpu_feature_difference_is_a_loud_not_comparable_warning() {
        let a = serde_json::json!({"host_cpu": "AMD EPYC", "host_cpu_isa": "avx2 avx512f avx512_vnni",
            "openvino_version": "2026.4.1", "devices": [{"name": "CPU", "optimization_capabilities": "FP32 INT8 BF16"}]});
        let b = serde_json::json!({"host_cpu": "AMD EPYC", "host_cpu_isa": "avx2",
            "openvino_version": "2026.4.1", "devices": [{"name": "CPU", "optimization_capabilities": "FP32 INT8"}]});
        let w = super::host_warning(&super::differences(&a, &b)).expect("a warning");
        assert!(w.starts_with("NOT COMPARABLE"), "{w}");
        assert!(w.contains("host_cpu_isa: avx2 avx512f avx512_vnni -> avx2"), "{w}");
        assert!(w.contains("devices.CPU.optimization_capabilities: FP32 INT8 BF16 -> FP32 INT8"), "{w}");
        assert_eq!(super::host_warning(&super::differences(&a, &a)), None);
    }

    #[test]
    fn compiler_version_unpacks_major_minor() {
        assert_eq!(super::compiler_version("458752"), "7.0");
        assert_eq!(super::compiler_version(&((5u64 << 16) | 3).to_string()), "5.3");
    }
}
