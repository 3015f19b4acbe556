//! The OpenVINO runtime: finding and loading `libopenvino_c`, the core, devices and the
//! properties a compile gets.

pub mod locate;
pub mod ov;

use std::path::Path;
use std::sync::OnceLock;

pub use locate::LocatedLibrary;
pub use ov::{CompiledModel, Core, ElementType, InferRequest, Model, OvError, Tensor};

/// Keys OpenVINO's core (or the NPU plugin's NPUW switch) handles rather than the plugin's
/// own property table.
/// Keys OpenVINO's core (CACHE_DIR) or the NPU plugin's NPUW wrapper (NPU_USE_NPUW) takes
/// before the device's plugin proper sees them: no plugin lists them in its
/// SUPPORTED_PROPERTIES.
pub const CORE_KEYS: [&str; 2] = ["CACHE_DIR", "NPU_USE_NPUW"];

static LOADED: OnceLock<Result<LocatedLibrary, String>> = OnceLock::new();

/// The loaded runtime: where the library came from, its version and a core.
pub struct Runtime {
    /// Where `libopenvino_c` was found.
    pub library: LocatedLibrary,
    /// OpenVINO build number, e.g. `2026.4.1-20521-...`.
    pub version: String,
    /// OpenVINO's description string.
    pub description: String,
    /// The core every model of this process is read and compiled with.
    pub core: Core,
}

/// The runtime could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No library found; the message lists every place tried.
    #[error(transparent)]
    NotFound(#[from] locate::NotFound),
    /// The library was found but could not be loaded.
    #[error("could not load OpenVINO from {path}: {reason}")]
    Load {
        /// The file that failed to load.
        path: String,
        /// The loader's reason.
        reason: String,
    },
    /// A library was already loaded in this process from elsewhere.
    #[error("OpenVINO is already loaded in this process from {loaded}; cannot switch to {wanted}")]
    Conflict {
        /// The library in use.
        loaded: String,
        /// The one asked for now.
        wanted: String,
    },
    /// An OpenVINO call failed.
    #[error(transparent)]
    Ov(#[from] OvError),
}

impl Runtime {
    /// Find and load `libopenvino_c` (once per process), then create a core.
    pub fn open(explicit_lib: Option<&Path>) -> Result<Runtime, RuntimeError> {
        let wanted = locate::locate(explicit_lib)?;
        let loaded =
            LOADED.get_or_init(|| ov::load_library(&wanted.path).map(|()| wanted.clone()).map_err(|e| e.to_string()));
        let library = match loaded {
            Ok(lib) if lib.path == wanted.path => lib.clone(),
            Ok(lib) => {
                return Err(RuntimeError::Conflict {
                    loaded: lib.path.display().to_string(),
                    wanted: wanted.path.display().to_string(),
                })
            }
            Err(reason) => {
                return Err(RuntimeError::Load { path: wanted.path.display().to_string(), reason: reason.clone() })
            }
        };
        let (version, description) = ov::version()?;
        Ok(Runtime { library, version, description, core: Core::new()? })
    }

    /// Whether OpenVINO lists `device` (e.g. `NPU`) among the available devices. A device
    /// whose plugin loads but finds no hardware (the NPU plugin on a machine with no NPU)
    /// is not available.
    pub fn device_present(&self, device: &str) -> Result<bool, OvError> {
        let base = device.split([':', '.']).next().unwrap_or(device);
        Ok(self.core.available_devices()?.iter().any(|d| d == base || d.starts_with(&format!("{base}."))))
    }

    /// Check property keys against the plugin's `SUPPORTED_PROPERTIES`. NPUW keys are
    /// options of the NPU plugin's NPUW wrapper and core keys (CACHE_DIR) are handled by
    /// OpenVINO's core; neither is listed there, and the known-key list vouches for them.
    pub fn check_supported(&self, device: &str, keys: &[(String, String)]) -> Result<(), PropertyError> {
        let supported = self.supported_properties(device)?;
        let unlisted: Vec<&str> = keys
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !k.starts_with("NPUW_") && !CORE_KEYS.contains(k) && !supported.iter().any(|s| s == k))
            .collect();
        if unlisted.is_empty() {
            Ok(())
        } else {
            Err(PropertyError::Unlisted {
                device: device.to_string(),
                keys: unlisted.join(", "),
                supported: supported.join(", "),
            })
        }
    }

    /// The keys a device's plugin declares in `SUPPORTED_PROPERTIES`.
    pub fn supported_properties(&self, device: &str) -> Result<Vec<String>, OvError> {
        Ok(ov::property_names(&self.core.device_property(device, "SUPPORTED_PROPERTIES")?))
    }
}

/// A property a device's plugin does not take.
#[derive(Debug, thiserror::Error)]
pub enum PropertyError {
    /// The plugin could not be asked.
    #[error(transparent)]
    Ov(#[from] OvError),
    /// Keys the plugin does not list in SUPPORTED_PROPERTIES.
    #[error("{device} does not support {keys}; its SUPPORTED_PROPERTIES are: {supported}")]
    Unlisted {
        /// The device.
        device: String,
        /// The keys it does not list.
        keys: String,
        /// What it lists.
        supported: String,
    },
}

/// A device as bakeoff addresses it: the label in cell keys and reports, the OpenVINO
/// device it compiles on, and the profile section it takes properties from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Device {
    /// The CPU plugin.
    #[serde(rename = "CPU")]
    Cpu,
    /// NPU silicon.
    #[serde(rename = "NPU")]
    Npu,
    /// The NPU plugin's NPUW pipeline with the host CPU executing the parts
    /// (`NPUW_DEVICES=CPU`, which the plugin accepts on a machine without an NPU): real NPUW
    /// code (prefill/generate split, KV handling, MAX_PROMPT_LEN checks), not NPU silicon,
    /// and never reported as such.
    #[serde(rename = "NPU:host")]
    NpuHost,
}

impl Device {
    /// Every device label, for "allowed" lists.
    pub const ALL: [Device; 3] = [Device::Cpu, Device::Npu, Device::NpuHost];

    /// The label used in cell keys, results and reports.
    pub fn label(self) -> &'static str {
        match self {
            Device::Cpu => "CPU",
            Device::Npu => "NPU",
            Device::NpuHost => "NPU:host",
        }
    }

    /// The OpenVINO device name compiled on (also the profile section that applies).
    pub fn ov_name(self) -> &'static str {
        match self {
            Device::Cpu => "CPU",
            Device::Npu | Device::NpuHost => "NPU",
        }
    }

    /// The note every report carries for this device, if any.
    pub fn disclaimer(self) -> Option<&'static str> {
        match self {
            Device::NpuHost => Some("NPUW host execution: not NPU silicon"),
            _ => None,
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Device::ALL
            .into_iter()
            .find(|d| d.label().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown device `{s}`; allowed: CPU, NPU, NPU:host"))
    }
}
