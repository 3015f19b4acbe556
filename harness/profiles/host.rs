//! What an NPU:host cell adds to its profile's NPU properties: NPUW executed by the host CPU
//! (`NPUW_DEVICES=CPU`), and the settings that make that execution run at the CPU plugin's
//! speed. The data lives in `npu_host.toml` (the reasons are its comments), shared with the
//! GenAI reference script so that GenAI's NPU path on the host runs with the same settings.

use super::ResolvedProfile;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `npu_host.toml`, embedded in the binary.
pub const NPU_HOST_TOML: &str = include_str!("npu_host.toml");

/// The settings of `npu_host.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostExecution {
    /// Set on every NPU:host compile, over the profile.
    pub always: BTreeMap<String, String>,
    /// Set on an NPU:host compile unless its profile sets the key.
    pub unless_set: BTreeMap<String, String>,
}

/// The embedded settings, parsed once.
pub static HOST_EXECUTION: LazyLock<HostExecution> =
    LazyLock::new(|| toml::from_str(NPU_HOST_TOML).expect("the embedded npu_host.toml parses"));

/// Where the added keys say they came from in a resolved profile and a run's fingerprint.
const ORIGIN_ALWAYS: &str = "NPU:host (NPUW host execution)";
const ORIGIN_DEFAULT: &str = "NPU:host (host execution only: unfolded, unpartitioned NPUW models; never NPU silicon)";

impl HostExecution {
    /// `resolved` as an NPU:host cell compiles it.
    pub fn apply(&self, resolved: &mut ResolvedProfile) {
        for (key, value) in &self.always {
            resolved.set(key, value.clone(), ORIGIN_ALWAYS.into());
        }
        for (key, value) in &self.unless_set {
            if resolved.get(key).is_none() {
                resolved.set(key, value.clone(), ORIGIN_DEFAULT.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_execution_key_is_a_known_npu_key() {
        let keys = HOST_EXECUTION.always.keys().chain(HOST_EXECUTION.unless_set.keys());
        for key in keys {
            assert!(crate::profiles::keys::resolve_name("NPU", key).is_some(), "{key} in npu_host.toml");
        }
    }
}
