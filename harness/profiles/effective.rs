//! Effective properties: what a compiled model says it runs with, beside what the profile
//! set. A profile that leaves a key gets whatever the installed plugin decides, and those
//! defaults move between releases (NPUW's `NPUW_LLM_OPTIMIZE_V_TENSORS` used to be off and
//! is on now); a plugin may also adjust or ignore a value it was given. Reading every
//! property back after the compile makes both visible per cell, and two runs' effective
//! properties can be compared like their fingerprints.

use crate::runtime::CompiledModel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Properties a compiled model reports that describe the model or the compile rather than
/// a setting (recorded elsewhere, or of no use in a comparison).
const NOT_SETTINGS: &[&str] =
    &["SUPPORTED_PROPERTIES", "NETWORK_NAME", "EXECUTION_DEVICES", "LOADED_FROM_CACHE", "DEVICE_ID"];

/// Settings whose value, left to the plugin, is a name it makes up at each compile (NPUW's
/// weights bank): read only when the profile sets them, and never compared.
const GENERATED: &[&str] = &["NPUW_WEIGHTS_BANK"];

/// Every setting `compiled` reports: the keys of its SUPPORTED_PROPERTIES, the keys the
/// profile set, and on NPU every NPUW key bakeoff knows (the NPUW wrapper answers for its
/// options without listing them). A key the model does not answer for is left out.
pub fn read(compiled: &CompiledModel, device: &str, set: &[(String, String)]) -> BTreeMap<String, String> {
    let mut keys: Vec<String> = compiled.supported_properties().unwrap_or_default();
    keys.extend(set.iter().map(|(k, _)| k.clone()));
    if device.starts_with("NPU") {
        let npuw = super::keys::KNOWN_KEYS.iter().filter(|k| k.name.starts_with("NPUW_") || k.name == "NPU_USE_NPUW");
        keys.extend(npuw.filter(|k| !GENERATED.contains(&k.name)).map(|k| k.name.to_string()));
    }
    keys.sort();
    keys.dedup();
    keys.retain(|k| !NOT_SETTINGS.contains(&k.as_str()));
    keys.into_iter().filter_map(|k| compiled.property(&k).ok().map(|v| (k, v))).collect()
}

/// A set property the compiled model reports otherwise, or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyChange {
    /// The key.
    pub key: String,
    /// The value the profile set.
    pub set: String,
    /// What the compiled model reports (None: it does not report the key: ignored, or a
    /// key only the core or the compile takes).
    pub effective: Option<String>,
}

/// The set properties whose effective value differs from the one set. Keys the core takes
/// (CACHE_DIR) are not the plugin's to report, and are left out.
pub fn changes(set: &[(String, String)], effective: &BTreeMap<String, String>) -> Vec<PropertyChange> {
    set.iter()
        .filter(|(k, _)| !crate::runtime::CORE_KEYS.contains(&k.as_str()) || effective.contains_key(k))
        .filter(|(k, v)| !effective.get(k).is_some_and(|e| same_value(v, e)))
        .map(|(k, v)| PropertyChange { key: k.clone(), set: v.clone(), effective: effective.get(k).cloned() })
        .collect()
}

/// Whether two spellings of a property value mean the same: case aside, the C API's
/// booleans (`YES`/`NO`, `true`/`false`) and element types (`f32`, `float32`).
pub fn same_value(a: &str, b: &str) -> bool {
    canonical(a) == canonical(b)
}

fn canonical(value: &str) -> String {
    let v = value.trim().to_ascii_lowercase();
    match v.as_str() {
        "yes" | "true" => "yes".into(),
        "no" | "false" => "no".into(),
        "float32" => "f32".into(),
        "float16" => "f16".into(),
        "bfloat16" => "bf16".into(),
        "uint8" => "u8".into(),
        "int8" => "i8".into(),
        "uint4" => "u4".into(),
        _ => v,
    }
}

/// One key whose effective value differs between two records of the same cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveDifference {
    /// The key.
    pub key: String,
    /// The baseline's effective value (None: not reported there).
    pub baseline: Option<String>,
    /// The candidate's.
    pub candidate: Option<String>,
}

/// The keys whose effective values differ between `baseline` and `candidate` (both
/// reported and different, or reported by one only), in key order. Empty when either side
/// recorded none (a run made before bakeoff read them back).
pub fn differences(
    baseline: &BTreeMap<String, String>,
    candidate: &BTreeMap<String, String>,
) -> Vec<EffectiveDifference> {
    if baseline.is_empty() || candidate.is_empty() {
        return Vec::new();
    }
    let keys: std::collections::BTreeSet<&String> = baseline.keys().chain(candidate.keys()).collect();
    keys.into_iter()
        .filter(|k| !GENERATED.contains(&k.as_str()))
        .filter_map(|k| {
            let (b, c) = (baseline.get(k), candidate.get(k));
            let same = matches!((b, c), (Some(b), Some(c)) if same_value(b, c));
            (!same).then(|| EffectiveDifference { key: k.clone(), baseline: b.cloned(), candidate: c.cloned() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_set_value_reported_in_another_spelling_is_no_change() {
        let effective = map(&[("NPUW_LLM", "YES"), ("INFERENCE_PRECISION_HINT", "float32"), ("NUM_STREAMS", "1")]);
        let asked = set(&[("NPUW_LLM", "YES"), ("INFERENCE_PRECISION_HINT", "f32"), ("CACHE_DIR", "/c")]);
        assert_eq!(changes(&asked, &effective), vec![], "CACHE_DIR is the core's, not the plugin's to report");
        assert!(same_value("true", "YES") && same_value("False", "NO") && !same_value("f32", "bf16"));
    }

    #[test]
    fn a_value_the_plugin_changed_or_ignored_is_named() {
        let effective = map(&[("NPUW_LLM_PREFILL_CHUNK_SIZE", "1024"), ("PERFORMANCE_HINT", "LATENCY")]);
        let asked = set(&[("NPUW_LLM_PREFILL_CHUNK_SIZE", "256"), ("NPU_TURBO", "YES")]);
        assert_eq!(
            changes(&asked, &effective),
            vec![
                PropertyChange {
                    key: "NPUW_LLM_PREFILL_CHUNK_SIZE".into(),
                    set: "256".into(),
                    effective: Some("1024".into())
                },
                PropertyChange { key: "NPU_TURBO".into(), set: "YES".into(), effective: None },
            ]
        );
    }

    #[test]
    fn differences_between_two_stacks_list_changed_new_and_gone_keys() {
        let old = map(&[
            ("NPUW_LLM_OPTIMIZE_V_TENSORS", "NO"),
            ("NPUW_LLM", "YES"),
            ("GONE", "1"),
            ("NPUW_WEIGHTS_BANK", "a"),
        ]);
        let new = map(&[
            ("NPUW_LLM_OPTIMIZE_V_TENSORS", "YES"),
            ("NPUW_LLM", "true"),
            ("NEW", "2"),
            ("NPUW_WEIGHTS_BANK", "b"),
        ]);
        let d = differences(&old, &new);
        let keys: Vec<&str> = d.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["GONE", "NEW", "NPUW_LLM_OPTIMIZE_V_TENSORS"]);
        assert_eq!(d[2].baseline.as_deref(), Some("NO"));
        assert!(differences(&old, &BTreeMap::new()).is_empty(), "an older run's record has none to compare");
    }
}
