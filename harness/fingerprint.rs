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
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compiler_version_unpacks_major_minor() {
        assert_eq!(super::compiler_version("458752"), "7.0");
        assert_eq!(super::compiler_version(&((5u64 << 16) | 3).to_string()), "5.3");
    }
}
