//! The fingerprint: everything that identifies the stack a number came from (DESIGN.md
//! section 2): OpenVINO version and build, devices with their names, architectures and NPU
//! driver / compiler versions, host CPU, harness version.

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
    /// The models a run used, by name (weights, tokenizer and template hashes).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub models: std::collections::BTreeMap<String, crate::model::ModelFingerprint>,
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
    }
}

/// The host CPU's model name from /proc/cpuinfo.
pub fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn host_memory_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("MemTotal")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

impl Fingerprint {
    /// Collect the fingerprint of the loaded runtime and this host.
    pub fn collect(rt: &Runtime) -> Result<Fingerprint, crate::runtime::OvError> {
        let devices = rt.core.available_devices()?.iter().map(|d| device_info(rt, d)).collect();
        Ok(Fingerprint {
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            openvino_version: rt.version.clone(),
            openvino_description: rt.description.clone(),
            openvino_library: rt.library.path.display().to_string(),
            devices,
            host_cpu: host_cpu(),
            host_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            host_memory_mib: host_memory_mib(),
            models: Default::default(),
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
/// (the library path, the harness version, the host's memory) do not matter.
pub fn differences(baseline: &serde_json::Value, candidate: &serde_json::Value) -> Vec<FieldDiff> {
    let (a, b) = (fields(baseline), fields(candidate));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| FieldDiff {
            field: k.clone(),
            baseline: a.get(k).cloned(),
            candidate: b.get(k).cloned(),
            matters: !matches!(k.as_str(), "openvino_library" | "harness_version" | "host_memory_mib"),
        })
        .collect()
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
    fn compiler_version_unpacks_major_minor() {
        assert_eq!(super::compiler_version("458752"), "7.0");
        assert_eq!(super::compiler_version(&((5u64 << 16) | 3).to_string()), "5.3");
    }
}
