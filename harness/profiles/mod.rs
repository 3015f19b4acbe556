//! Profiles as data: TOML tables per profile, device and pipeline,
//! built in from `profiles.toml`, overridable by user files and scenarios, with `inherits`.
//! Resolving one gives the exact properties a cell compiles with and where each came from.

pub mod effective;
pub mod host;
pub mod keys;
pub mod sweep;

use crate::model::ir::{KvLayout, KvLayoutError};
use crate::pipeline_kind::PipelineKind;
use crate::runtime::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in profiles' TOML, embedded in the binary.
pub const BUILTIN_TOML: &str = include_str!("profiles.toml");

/// Properties as written in a profile (values checked at resolution).
pub type RawProps = BTreeMap<String, toml::Value>;

/// Properties of one device in one profile.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProps {
    /// For every pipeline.
    #[serde(default, skip_serializing_if = "RawProps::is_empty")]
    pub all: RawProps,
    /// kvcache only (overrides `all`).
    #[serde(default, skip_serializing_if = "RawProps::is_empty")]
    pub kvcache: RawProps,
    /// static128 only (overrides `all`).
    #[serde(default, skip_serializing_if = "RawProps::is_empty")]
    pub static128: RawProps,
}

impl DeviceProps {
    fn for_pipeline(&self, pipeline: PipelineKind) -> (&RawProps, &'static str) {
        match pipeline.profile_table() {
            PipelineKind::Static128 => (&self.static128, "static128"),
            _ => (&self.kvcache, "kvcache"),
        }
    }
}

/// One profile.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// What it is for.
    pub description: Option<String>,
    /// The profile this one starts from.
    pub inherits: Option<String>,
    /// CPU properties.
    #[serde(rename = "CPU", default)]
    pub cpu: Option<DeviceProps>,
    /// NPU properties.
    #[serde(rename = "NPU", default)]
    pub npu: Option<DeviceProps>,
}

impl Profile {
    fn device(&self, device: &str) -> Option<&DeviceProps> {
        match device {
            "CPU" => self.cpu.as_ref(),
            "NPU" => self.npu.as_ref(),
            _ => None,
        }
    }
}

/// A profile error, naming the file (or `built-in`), the profile and the key.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ProfileError {
    /// The file the offending profile came from.
    pub source_name: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// The named profiles in force: the built-ins plus any user files, each remembering
/// where it was defined.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<String, (Profile, String)>,
}

/// One resolved property with its origin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resolved {
    /// The property key.
    pub key: String,
    /// Its value, as OpenVINO takes it.
    pub value: String,
    /// Where it came from: `built-in profile conservative [NPU.kvcache]`, `derived from the model`, ...
    pub origin: String,
}

/// The properties of one (profile, device, pipeline).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ResolvedProfile {
    /// The profile's name.
    pub profile: String,
    /// Properties in key order.
    pub properties: Vec<Resolved>,
}

impl ResolvedProfile {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.iter().find(|p| p.key == key).map(|p| p.value.as_str())
    }

    /// Set `key`, replacing an earlier value.
    pub fn set(&mut self, key: &str, value: String, origin: String) {
        self.properties.retain(|p| p.key != key);
        self.properties.push(Resolved { key: key.into(), value, origin });
        self.properties.sort_by(|a, b| a.key.cmp(&b.key));
    }

    /// (key, value) pairs for a compile.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.properties.iter().map(|p| (p.key.clone(), p.value.clone())).collect()
    }

    /// The pairs a compile passes: the profile's, plus `CACHE_DIR` when the compile uses a
    /// cache. The cache folder is OpenVINO core's key, not a profile's: it differs per run
    /// folder and per cell, so it is never part of the resolved profile a run records and
    /// compares. Every compile (a cell's, `generate --cache-dir`, openvino-genai's load
    /// config) adds it here.
    pub fn compile_pairs(&self, cache_dir: Option<&Path>) -> Vec<(String, String)> {
        let mut pairs = self.pairs();
        if let Some(dir) = cache_dir {
            pairs.push((CACHE_DIR.into(), dir.display().to_string()));
        }
        pairs
    }
}

const DEVICES: [&str; 2] = ["CPU", "NPU"];

impl ProfileSet {
    /// The built-in profiles.
    pub fn builtin() -> ProfileSet {
        let mut set = ProfileSet { profiles: BTreeMap::new() };
        set.add_toml(BUILTIN_TOML, "built-in profiles.toml").expect("the built-in profiles are valid");
        set
    }

    /// Add (or override) profiles from TOML text; `source_name` names it in errors.
    pub fn add_toml(&mut self, text: &str, source_name: &str) -> Result<(), ProfileError> {
        let parsed: BTreeMap<String, Profile> = toml::from_str(text)
            .map_err(|e| ProfileError { source_name: source_name.into(), message: e.to_string() })?;
        self.add(parsed, source_name)
    }

    /// Add already parsed profiles. A profile with the name of one already present, and no
    /// `inherits` of its own, overrides single keys of it: the earlier definition stays
    /// under a hidden name (`NAME@SOURCE`) and the new one inherits it. Every added
    /// profile's `inherits` chain is checked here (an unknown parent, a cycle), so a bad
    /// file is refused when it loads, not when a cell first resolves the profile.
    pub fn add(&mut self, profiles: BTreeMap<String, Profile>, source_name: &str) -> Result<(), ProfileError> {
        let names: Vec<String> = profiles.keys().cloned().collect();
        for (name, mut profile) in profiles {
            validate_keys(&name, &profile)
                .map_err(|message| ProfileError { source_name: source_name.into(), message })?;
            if profile.inherits.is_none() {
                if let Some((earlier, earlier_source)) = self.profiles.remove(&name) {
                    let hidden = format!("{name}@{earlier_source}");
                    self.profiles.insert(hidden.clone(), (earlier, earlier_source));
                    profile.inherits = Some(hidden);
                }
            }
            self.profiles.insert(name, (profile, source_name.to_string()));
        }
        for name in &names {
            self.chain(name).map_err(|e| ProfileError {
                source_name: source_name.into(),
                message: format!("[{name}] inherits: {}", e.message),
            })?;
        }
        Ok(())
    }

    /// Add profiles from a user file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            source_name: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        self.add_toml(&text, &path.display().to_string())
    }

    /// Profile names, sorted (overridden definitions, kept under a hidden name, left out).
    pub fn names(&self) -> Vec<&str> {
        self.profiles.keys().map(String::as_str).filter(|n| !n.contains('@')).collect()
    }

    /// The profile called `name` and where it was defined.
    pub fn get(&self, name: &str) -> Option<(&Profile, &str)> {
        self.profiles.get(name).map(|(p, s)| (p, s.as_str()))
    }

    fn unknown(&self, name: &str) -> ProfileError {
        ProfileError {
            source_name: "profiles".into(),
            message: format!("unknown profile `{name}`; allowed: {}", self.names().join(", ")),
        }
    }

    /// `name` and its ancestors, root first.
    fn chain(&self, name: &str) -> Result<Vec<(&str, &Profile, &str)>, ProfileError> {
        let mut chain = Vec::new();
        let mut current = Some(name.to_string());
        while let Some(n) = current {
            if chain.iter().any(|(c, _, _): &(&str, _, _)| *c == n) {
                return Err(ProfileError {
                    source_name: "profiles".into(),
                    message: format!("profile `{name}` inherits in a cycle through `{n}`"),
                });
            }
            let (key, (profile, source)) = self.profiles.get_key_value(&n).ok_or_else(|| self.unknown(&n))?;
            chain.push((key.as_str(), profile, source.as_str()));
            current = profile.inherits.clone();
        }
        chain.reverse();
        Ok(chain)
    }

    /// The properties `name` gives `device` for `pipeline`. For NPU kvcache with
    /// NPUW_LLM=YES the batch and sequence axes are derived from the model's KV layout
    /// (when given); a profile that sets them otherwise is an error.
    pub fn resolve(
        &self,
        name: &str,
        device: &str,
        pipeline: PipelineKind,
        kv: Option<KvLayout>,
    ) -> Result<ResolvedProfile, ProfileError> {
        if !DEVICES.contains(&device) {
            return Err(ProfileError {
                source_name: "profiles".into(),
                message: format!("unknown device `{device}`; allowed: CPU, NPU"),
            });
        }
        let mut out = ResolvedProfile { profile: name.into(), properties: Vec::new() };
        for (pname, profile, source) in self.chain(name)? {
            let Some(props) = profile.device(device) else { continue };
            let (specific, section) = props.for_pipeline(pipeline);
            for (table, label) in [(&props.all, "all"), (specific, section)] {
                for (key, value) in table {
                    let (known, alias) =
                        keys::resolve_name(device, key).expect("keys were validated when the profile was added");
                    let value =
                        keys::normalize(known, value).expect("values were validated when the profile was added");
                    let given_as = alias.map_or(String::new(), |a| format!(" (given as GenAI's {a})"));
                    out.set(known.name, value, format!("{source}: profile {pname} [{device}.{label}]{given_as}"));
                }
            }
        }
        if device == "NPU" && pipeline.traits().npuw_kv_layout && out.get("NPUW_LLM") == Some("YES") {
            derive_kv_dims(&mut out, kv)?;
        }
        keys::check_combination(&out.pairs()).map_err(|message| ProfileError {
            source_name: format!("profile `{name}` for {device} {pipeline}"),
            message,
        })?;
        Ok(out)
    }
}

/// A profile in bakeoff's TOML made from an llm_bench load config (`-lc FILE`: a JSON
/// object of the properties llm_bench gives LLMPipeline on one device), so a config a team
/// already has is measured as it is. NPU properties go to the kvcache table (the stateful
/// pipeline GenAI runs, and genai cells compile with), CPU ones to `all`; GenAI's own key
/// names are kept (profiles accept them). Checked like any profile file: an unknown key or
/// a wrong value is an error naming it. `source` names the file in messages.
pub fn import_llm_bench_config(json: &str, source: &str, name: &str, device: Device) -> Result<String, ProfileError> {
    let err = |message: String| ProfileError { source_name: source.to_string(), message };
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| err(format!("not JSON: {e}")))?;
    let object =
        value.as_object().ok_or_else(|| err("an llm_bench load config is a JSON object of properties".into()))?;
    let mut table = toml::map::Map::new();
    for (key, v) in object {
        let v = match v {
            serde_json::Value::String(s) => toml::Value::String(s.clone()),
            serde_json::Value::Bool(b) => toml::Value::Boolean(*b),
            serde_json::Value::Number(n) if n.is_i64() => toml::Value::Integer(n.as_i64().expect("checked")),
            other => {
                return Err(err(format!(
                    "`{key}`: {other} is not a property value bakeoff takes (text, integer or boolean)"
                )))
            }
        };
        table.insert(key.clone(), v);
    }
    let ov = device.ov_name();
    let section = if ov == "NPU" { "kvcache" } else { "all" };
    let mut profile = toml::map::Map::new();
    profile.insert("description".into(), format!("Imported from the llm_bench load config {source}").into());
    let mut device_table = toml::map::Map::new();
    device_table.insert(section.into(), table.into());
    profile.insert(ov.into(), device_table.into());
    let mut doc = toml::map::Map::new();
    doc.insert(name.into(), profile.into());
    let text = toml::to_string(&toml::Value::Table(doc)).map_err(|e| err(e.to_string()))?;
    // The profile must load: every key known for the device, every value of its kind.
    ProfileSet::builtin().add_toml(&text, source)?;
    Ok(text)
}

/// Whether resolving properties for (device, pipeline) needs the model's KV layout: NPU
/// cells of a kind whose NPUW_LLM dims bakeoff derives from it.
pub fn needs_kv_layout(device: Device, pipeline: PipelineKind) -> bool {
    device != Device::Cpu && pipeline.traits().npuw_kv_layout
}

/// The compile cache folder's key (OpenVINO core's).
pub const CACHE_DIR: &str = "CACHE_DIR";

/// Why a profile did not resolve for a model: the profile, or the model's KV layout that
/// NPUW needs.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The profile (unknown, or a rule between its keys broken).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The model's KV-cache layout could not be read.
    #[error(transparent)]
    Kv(#[from] KvLayoutError),
}

impl ProfileSet {
    /// The one path from a profile name to the properties a cell of `model` compiles with
    /// (run and ab cells, `generate`, `golden record`): [`ProfileSet::resolve_for`], with
    /// NPUW's KV dimensions derived from the model's layout when the device and pipeline
    /// need them. `kv` reads the layout; it is called only then.
    pub fn resolve_for_model(
        &self,
        name: &str,
        device: Device,
        pipeline: PipelineKind,
        kv: impl FnOnce() -> Result<KvLayout, KvLayoutError>,
    ) -> Result<ResolvedProfile, ResolveError> {
        let kv = needs_kv_layout(device, pipeline).then(kv).transpose()?;
        Ok(self.resolve_for(name, device, pipeline, kv)?)
    }

    /// The properties `name` gives a bakeoff [`Device`] for `pipeline`: the profile's
    /// section for the OpenVINO device, plus what NPU:host adds to run NPUW on the host
    /// ([`host::HostExecution`]: NPUW_DEVICES=CPU, and unless the profile says otherwise
    /// NPU_USE_NPUW=YES and unfolded, unpartitioned NPUW models).
    pub fn resolve_for(
        &self,
        name: &str,
        device: Device,
        pipeline: PipelineKind,
        kv: Option<KvLayout>,
    ) -> Result<ResolvedProfile, ProfileError> {
        let mut out = self.resolve(name, device.ov_name(), pipeline, kv)?;
        if device == Device::NpuHost {
            host::HOST_EXECUTION.apply(&mut out);
        }
        Ok(out)
    }
}

fn derive_kv_dims(out: &mut ResolvedProfile, kv: Option<KvLayout>) -> Result<(), ProfileError> {
    let Some(kv) = kv else { return Ok(()) };
    for (key, derived) in [("NPUW_LLM_BATCH_DIM", kv.batch_dim), ("NPUW_LLM_SEQ_LEN_DIM", kv.seq_len_dim)] {
        if let Some(set) = out.properties.iter().find(|p| p.key == key) {
            if set.value != derived.to_string() {
                return Err(ProfileError {
                    source_name: set.origin.clone(),
                    message: format!(
                        "{key} = {} contradicts the model: its KV-cache variables put that axis at {derived} (bakeoff derives it; remove the key)",
                        set.value
                    ),
                });
            }
        }
        out.set(key, derived.to_string(), "derived from the model's KV variables".into());
    }
    Ok(())
}

/// Every key known for its device, every value of the right kind.
fn validate_keys(name: &str, profile: &Profile) -> Result<(), String> {
    for device in DEVICES {
        let Some(props) = profile.device(device) else { continue };
        for (section, table) in [("all", &props.all), ("kvcache", &props.kvcache), ("static128", &props.static128)] {
            for (key, value) in table {
                let (known, alias) = keys::resolve_name(device, key).ok_or_else(|| {
                    let hint = keys::nearest(device, key).map_or(String::new(), |n| format!(" (did you mean `{n}`?)"));
                    format!(
                        "profile `{name}` [{device}.{section}]: unknown property key `{key}` for {device}{hint}; allowed: {}",
                        keys::names_for(device).join(", ")
                    )
                })?;
                if alias.is_some() && table.contains_key(known.name) {
                    return Err(format!(
                        "profile `{name}` [{device}.{section}]: sets both `{key}` and `{}`, which GenAI renames it to; keep one",
                        known.name
                    ));
                }
                keys::normalize(known, value).map_err(|e| format!("profile `{name}` [{device}.{section}]: {e}"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_resolve_with_inheritance() {
        let set = ProfileSet::builtin();
        let kv = KvLayout { batch_dim: 0, seq_len_dim: 2 };
        let agg = set.resolve("aggressive", "NPU", PipelineKind::Kvcache, Some(kv)).unwrap();
        assert_eq!(agg.get("NPUW_LLM_MAX_PROMPT_LEN"), Some("4096"));
        assert_eq!(agg.get("NPUW_LLM_PREFILL_HINT"), Some("DYNAMIC")); // from balanced
        assert_eq!(agg.get("NPU_USE_NPUW"), Some("YES")); // from balanced
        assert_eq!(agg.get("NPUW_LLM_SEQ_LEN_DIM"), Some("2"));
        let reference = set.resolve("reference", "CPU", PipelineKind::Static128, None).unwrap();
        assert_eq!(reference.get("INFERENCE_PRECISION_HINT"), Some("f32"));
        assert_eq!(reference.get("KV_CACHE_PRECISION"), Some("f32"));
        assert_eq!(reference.get("DYNAMIC_QUANTIZATION_GROUP_SIZE"), Some("0"));
    }

    #[test]
    fn a_same_named_profile_overrides_single_keys() {
        let mut set = ProfileSet::builtin();
        set.add_toml("[balanced.CPU.all]\nINFERENCE_NUM_THREADS = 1\n", "scenario.toml").unwrap();
        let p = set.resolve("balanced", "CPU", PipelineKind::Kvcache, None).unwrap();
        assert_eq!(p.get("INFERENCE_NUM_THREADS"), Some("1"));
        assert_eq!(p.get("PERFORMANCE_HINT"), Some("LATENCY"), "the built-in's other keys stay");
        assert_eq!(p.get("ENABLE_CPU_PINNING"), Some("YES"));
        assert!(set.names().iter().all(|n| !n.contains('@')), "the earlier definition is hidden: {:?}", set.names());
        let npu =
            set.resolve("balanced", "NPU", PipelineKind::Kvcache, Some(KvLayout { batch_dim: 0, seq_len_dim: 2 }));
        assert_eq!(npu.unwrap().get("NPUW_LLM_MAX_PROMPT_LEN"), Some("2048"), "other devices untouched");
    }

    #[test]
    fn host_execution_settings_reach_npu_host_only_and_yield_to_the_profile() {
        let mut set = ProfileSet::builtin();
        set.add_toml("[folded]\ninherits = \"balanced\"\n[folded.NPU.kvcache]\nNPUW_FOLD = \"YES\"\n", "f.toml")
            .unwrap();
        let kv = Some(KvLayout { batch_dim: 0, seq_len_dim: 2 });
        let host = set.resolve_for("balanced", Device::NpuHost, PipelineKind::Kvcache, kv).unwrap();
        assert_eq!(host.get("NPUW_DEVICES"), Some("CPU"));
        for (key, value) in &host::HOST_EXECUTION.unless_set {
            assert_eq!(host.get(key), Some(value.as_str()), "{key} on NPU:host");
        }
        assert!(host.properties.iter().any(|p| p.key == "NPUW_FOLD" && p.origin.contains("never NPU silicon")));
        let silicon = set.resolve_for("balanced", Device::Npu, PipelineKind::Kvcache, kv).unwrap();
        for key in ["NPUW_DEVICES", "NPUW_FOLD", "NPUW_ONLINE_PIPELINE", "NPUW_FUNCALL_FOR_ALL"] {
            assert_eq!(silicon.get(key), None, "{key} must never reach NPU silicon");
        }
        let folded = set.resolve_for("folded", Device::NpuHost, PipelineKind::Kvcache, kv).unwrap();
        assert_eq!(folded.get("NPUW_FOLD"), Some("YES"), "a profile's own value wins");
        assert_eq!(folded.get("NPUW_ONLINE_PIPELINE"), Some("NONE"));
    }

    #[test]
    fn invented_key_is_an_error_naming_it() {
        let mut set = ProfileSet::builtin();
        let err = set
            .add_toml("[mine]\ninherits = \"balanced\"\n[mine.NPU.all]\nNPU_LOW_MEMORY_MODE = \"YES\"\n", "my.toml")
            .unwrap_err();
        assert!(err.to_string().contains("NPU_LOW_MEMORY_MODE"), "{err}");
        assert!(err.to_string().contains("my.toml"), "{err}");
    }

    #[test]
    fn a_seq_len_dim_against_the_model_is_flagged() {
        let mut set = ProfileSet::builtin();
        set.add_toml("[seed]\ninherits = \"balanced\"\n[seed.NPU.kvcache]\nNPUW_LLM_SEQ_LEN_DIM = 1\n", "seed.toml")
            .unwrap();
        let kv = KvLayout { batch_dim: 0, seq_len_dim: 2 };
        let err = set.resolve("seed", "NPU", PipelineKind::Kvcache, Some(kv)).unwrap_err();
        assert!(err.to_string().contains("NPUW_LLM_SEQ_LEN_DIM = 1"), "{err}");
    }

    #[test]
    fn unknown_profile_and_cycle_are_errors() {
        let mut set = ProfileSet::builtin();
        assert!(set.resolve("turbo", "CPU", PipelineKind::Kvcache, None).unwrap_err().to_string().contains("allowed"));
        // Checked when the file loads, naming the file, the profile and the cycle.
        let e = set.add_toml("[a]\ninherits = \"b\"\n[b]\ninherits = \"a\"\n", "x.toml").unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("[a] inherits: profile `a` inherits in a cycle through `a`"), "{e}");
        let e = set.add_toml("[c]\ninherits = \"nope\"\n", "y.toml").unwrap_err().to_string();
        assert!(e.contains("y.toml") && e.contains("[c] inherits: unknown profile `nope`; allowed:"), "{e}");
    }
}
