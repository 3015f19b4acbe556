//! Sweeps: profiles generated from a base profile and lists of values, so a scenario can
//! explore the NPUW key space instead of choosing among three hand-written presets.
//!
//! ```toml
//! [[sweep]]
//! base = "balanced"
//! mode = "one_at_a_time"          # or "grid": every combination
//! device = "NPU"                  # the device table the keys go in (default NPU)
//! section = "kvcache"             # all, kvcache (default) or static128
//! [sweep.values]
//! NPUW_LLM_PREFILL_CHUNK_SIZE = [256, 512]
//! NPUW_LLM_GENERATE_PYRAMID = [true, false]
//! ```
//!
//! Each generated profile inherits the base and sets only its differences from it, and is
//! named after them, by short key name (`balanced+chunk=256+pyramid=NO`): the same sweep gives the
//! same names on every run, and a name says what the profile changes. A value equal to the
//! base's is no difference: a combination made only of such values is the base itself.
//! Every generated profile is checked like a written one (known keys, values of their kind)
//! and resolved once at load, so a combination the plugin's rules forbid (see
//! [`super::keys::check_combination`]) is refused before anything runs, naming it.

use super::keys;
use super::{DeviceProps, Profile, ProfileSet, RawProps};
use crate::pipeline_kind::PipelineKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most profiles one sweep may generate: a grid of ten keys has thousands of
/// combinations, each a compile and a measurement, days of machine time. A larger search
/// is several sweeps, or one factor at a time first.
pub const MAX_SWEEP_PROFILES: usize = 256;

/// How a sweep combines its value lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepMode {
    /// Every combination of every key's values.
    #[default]
    Grid,
    /// The base, and each key varied alone through its values (the other keys as the base
    /// has them): which keys matter, for the cost of one profile per value.
    OneAtATime,
}

/// One `[[sweep]]` table of a scenario.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// The profile every generated one inherits.
    pub base: String,
    /// Grid or one factor at a time.
    #[serde(default)]
    pub mode: SweepMode,
    /// The device whose properties vary: `NPU` or `CPU`.
    #[serde(default = "default_device")]
    pub device: String,
    /// The table of the device they go in: `all`, `kvcache` or `static128`.
    #[serde(default = "default_section")]
    pub section: String,
    /// Each key with the values to try (known keys of the device, values of their kind).
    pub values: BTreeMap<String, Vec<toml::Value>>,
}

fn default_device() -> String {
    "NPU".into()
}

fn default_section() -> String {
    "kvcache".into()
}

/// A generated profile: its name and definition.
pub type Generated = (String, Profile);

/// One value of one key: (canonical key, value as OpenVINO takes it, value as written).
type Setting = (String, String, toml::Value);

impl Sweep {
    /// The pipeline whose properties the section's keys reach (for resolving the base): the
    /// kind whose profile table the section is, kvcache for `all`.
    fn pipeline(&self) -> PipelineKind {
        self.section.parse::<PipelineKind>().map_or(PipelineKind::Kvcache, PipelineKind::profile_table)
    }

    /// The profiles this sweep generates, in a stable order (the base first in one factor at
    /// a time), each checked against `profiles` (which must hold the base). `what` names the
    /// sweep in errors (`sweep[0]`).
    pub fn expand(&self, profiles: &ProfileSet, what: &str) -> Result<Vec<Generated>, String> {
        self.check_shape(profiles, what)?;
        let values = self.normalized(what)?;
        let base = profiles
            .resolve(&self.base, &self.device, self.pipeline(), None)
            .map_err(|e| format!("{what}.base: {}", e.message))?;
        let combinations = self.combinations(&values, what)?;
        let mut out: Vec<Generated> = Vec::new();
        for combination in combinations {
            let differences: Vec<&Setting> =
                combination.iter().filter(|(key, value, _)| base.get(key) != Some(value.as_str())).collect();
            let name = generated_name(&self.base, differences.iter().map(|(k, v, _)| (k.as_str(), v.as_str())));
            if out.iter().any(|(n, _)| *n == name) || (differences.is_empty() && self.mode == SweepMode::Grid) {
                continue;
            }
            let table: RawProps = differences.iter().map(|(k, _, raw)| (k.clone(), raw.clone())).collect();
            out.push((name, self.profile(table)));
        }
        Ok(out)
    }

    fn check_shape(&self, profiles: &ProfileSet, what: &str) -> Result<(), String> {
        if profiles.get(&self.base).is_none() {
            return Err(format!(
                "{what}.base: unknown profile `{}`; allowed: {}",
                self.base,
                profiles.names().join(", ")
            ));
        }
        if !["CPU", "NPU"].contains(&self.device.as_str()) {
            return Err(format!("{what}.device: `{}`; allowed: CPU, NPU", self.device));
        }
        if !["all", "kvcache", "static128"].contains(&self.section.as_str()) {
            return Err(format!("{what}.section: `{}`; allowed: all, kvcache, static128", self.section));
        }
        if self.values.is_empty() {
            return Err(format!("{what}.values: empty; give each key to vary with a list of values"));
        }
        Ok(())
    }

    /// Every key's values as (canonical key, value as OpenVINO takes it, value as written),
    /// each checked against the key's kind.
    fn normalized(&self, what: &str) -> Result<Vec<Vec<Setting>>, String> {
        self.values
            .iter()
            .map(|(key, list)| {
                let (known, _) = keys::resolve_name(&self.device, key).ok_or_else(|| {
                    let hint =
                        keys::nearest(&self.device, key).map_or(String::new(), |n| format!(" (did you mean `{n}`?)"));
                    format!("{what}.values: unknown property key `{key}` for {}{hint}", self.device)
                })?;
                if list.is_empty() {
                    return Err(format!("{what}.values.{key}: empty; give at least one value"));
                }
                let mut out: Vec<Setting> = Vec::new();
                for raw in list {
                    let value = keys::normalize(known, raw).map_err(|e| format!("{what}.values.{key}: {e}"))?;
                    if out.iter().any(|(_, v, _)| *v == value) {
                        return Err(format!("{what}.values.{key}: `{value}` is listed twice"));
                    }
                    out.push((known.name.to_string(), value, raw.clone()));
                }
                Ok(out)
            })
            .collect()
    }

    /// The combinations the mode asks for, at most [`MAX_SWEEP_PROFILES`].
    fn combinations(&self, values: &[Vec<Setting>], what: &str) -> Result<Vec<Vec<Setting>>, String> {
        let count = match self.mode {
            SweepMode::Grid => values.iter().try_fold(1usize, |n, v| n.checked_mul(v.len())),
            SweepMode::OneAtATime => Some(1 + values.iter().map(Vec::len).sum::<usize>()),
        };
        match count {
            Some(n) if n <= MAX_SWEEP_PROFILES => {}
            _ => {
                let sizes: Vec<String> = values.iter().map(|v| v.len().to_string()).collect();
                let joined = if self.mode == SweepMode::Grid { " x " } else { " + " };
                return Err(format!(
                    "{what}: {} profiles ({}) is more than {MAX_SWEEP_PROFILES}; sweep one factor at a time first, \
                     then a grid over the keys that mattered",
                    count.map_or_else(|| "too many".to_string(), |n| n.to_string()),
                    sizes.join(joined)
                ));
            }
        }
        Ok(match self.mode {
            SweepMode::Grid => values.iter().fold(vec![Vec::new()], |acc, list| {
                acc.iter()
                    .flat_map(|prefix| {
                        list.iter().map(move |v| {
                            let mut next = prefix.clone();
                            next.push(v.clone());
                            next
                        })
                    })
                    .collect()
            }),
            SweepMode::OneAtATime => std::iter::once(Vec::new())
                .chain(values.iter().flat_map(|list| list.iter().map(|v| vec![v.clone()])))
                .collect(),
        })
    }

    fn profile(&self, table: RawProps) -> Profile {
        Profile {
            description: Some(format!("generated by a sweep from {}", self.base)),
            inherits: Some(self.base.clone()),
            ..section_profile(&self.device, &self.section, table)
        }
    }
}

/// A profile that sets `table` in the `section` table (`all`, `kvcache`, `static128`) of
/// `device` (`CPU` or `NPU`), and nothing else.
pub fn section_profile(device: &str, section: &str, table: RawProps) -> Profile {
    let mut props = DeviceProps::default();
    match section {
        "all" => props.all = table,
        "static128" => props.static128 = table,
        _ => props.kvcache = table,
    }
    let (cpu, npu) = if device == "CPU" { (Some(props), None) } else { (None, Some(props)) };
    Profile { description: None, inherits: None, cpu, npu }
}

/// `base+short=value+...` for the differences, by short name (`base` alone for none).
pub fn generated_name<'a>(base: &str, differences: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut parts: Vec<(String, &str)> = differences.map(|(key, value)| (keys::short_name(key), value)).collect();
    parts.sort();
    parts.iter().fold(base.to_string(), |name, (short, value)| format!("{name}+{short}={value}"))
}

/// Expand every sweep of a scenario into `profiles` (each generated profile added, and
/// checked by resolving it once for its device and pipeline), and return the generated
/// names in order, duplicates across sweeps once. `source` names the scenario file.
pub fn expand_all(sweeps: &[Sweep], profiles: &mut ProfileSet, source: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for (i, sweep) in sweeps.iter().enumerate() {
        let what = format!("sweep[{i}]");
        let generated = sweep.expand(profiles, &what)?;
        for (name, profile) in generated {
            if names.contains(&name) {
                continue;
            }
            if name != sweep.base {
                if profiles.get(&name).is_some() {
                    return Err(format!("{what}: generates `{name}`, a name a profile already has"));
                }
                let one = BTreeMap::from([(name.clone(), profile)]);
                profiles.add(one, &format!("{source} [{what}]")).map_err(|e| format!("{what}: {}", e.message))?;
                profiles
                    .resolve(&name, &sweep.device, sweep.pipeline(), None)
                    .map_err(|e| format!("{what}: profile `{name}`: {}", e.message))?;
            }
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sweep(mode: SweepMode, values: &[(&str, Vec<toml::Value>)]) -> Sweep {
        Sweep {
            base: "balanced".into(),
            mode,
            device: "NPU".into(),
            section: "kvcache".into(),
            values: values.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        }
    }

    fn ints(v: &[i64]) -> Vec<toml::Value> {
        v.iter().map(|&i| toml::Value::Integer(i)).collect()
    }

    fn names(sweeps: &[Sweep]) -> Result<Vec<String>, String> {
        expand_all(sweeps, &mut ProfileSet::builtin(), "s.toml")
    }

    #[test]
    fn a_grid_is_every_combination_named_after_its_differences() {
        let s = sweep(
            SweepMode::Grid,
            &[
                ("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[256, 512])),
                ("NPUW_LLM_GENERATE_PYRAMID", vec![true.into(), false.into()]),
            ],
        );
        assert_eq!(
            names(&[s]).unwrap(),
            [
                "balanced+chunk=256+pyramid=YES",
                "balanced+chunk=512+pyramid=YES",
                "balanced+chunk=256+pyramid=NO",
                "balanced+chunk=512+pyramid=NO"
            ]
        );
    }

    #[test]
    fn one_at_a_time_is_the_base_and_each_key_alone_and_the_base_value_is_no_difference() {
        // balanced sets MAX_PROMPT_LEN 2048: listing it again is the base itself.
        let s = sweep(
            SweepMode::OneAtATime,
            &[("NPUW_LLM_MAX_PROMPT_LEN", ints(&[1024, 2048])), ("GENERATE_HINT", vec!["BEST_PERF".into()])],
        );
        assert_eq!(names(&[s]).unwrap(), ["balanced", "balanced+generate=BEST_PERF", "balanced+prompt=1024"]);
    }

    #[test]
    fn generated_profiles_inherit_the_base_and_resolve_with_their_value() {
        let mut set = ProfileSet::builtin();
        let s = sweep(SweepMode::Grid, &[("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[256]))]);
        let names = expand_all(&[s], &mut set, "s.toml").unwrap();
        let r = set.resolve(&names[0], "NPU", PipelineKind::Kvcache, None).unwrap();
        assert_eq!(r.get("NPUW_LLM_PREFILL_CHUNK_SIZE"), Some("256"));
        assert_eq!(r.get("NPUW_LLM_MAX_PROMPT_LEN"), Some("2048"), "the rest is balanced's");
        assert!(r.properties.iter().any(|p| p.origin.contains("s.toml [sweep[0]]")), "{r:?}");
    }

    #[test]
    fn bad_sweeps_are_refused_naming_the_field() {
        let cases: Vec<(Sweep, &str)> = vec![
            (sweep(SweepMode::Grid, &[("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[1000]))]), "sweep[0].values.NPUW_LLM_PREFILL_CHUNK_SIZE: NPUW_LLM_PREFILL_CHUNK_SIZE must be a power of two"),
            (sweep(SweepMode::Grid, &[("NPUW_LLM_PREFIL_CHUNK_SIZE", ints(&[256]))]), "unknown property key `NPUW_LLM_PREFIL_CHUNK_SIZE` for NPU (did you mean `NPUW_LLM_PREFILL_CHUNK_SIZE`?)"),
            (sweep(SweepMode::Grid, &[("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[]))]), "sweep[0].values.NPUW_LLM_PREFILL_CHUNK_SIZE: empty"),
            (sweep(SweepMode::Grid, &[("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[256, 256]))]), "`256` is listed twice"),
            (sweep(SweepMode::Grid, &[]), "sweep[0].values: empty"),
            (Sweep { base: "fast".into(), ..sweep(SweepMode::Grid, &[("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[256]))]) }, "sweep[0].base: unknown profile `fast`"),
            (Sweep { section: "decode".into(), ..sweep(SweepMode::Grid, &[("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[256]))]) }, "sweep[0].section: `decode`; allowed: all, kvcache, static128"),
            // A chunk above the prompt window: the plugin's rule, refused at load.
            (sweep(SweepMode::Grid, &[("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&[4096]))]), "profile `balanced+chunk=4096`: NPUW_LLM_PREFILL_CHUNK_SIZE = 4096 is above NPUW_LLM_MAX_PROMPT_LEN = 2048"),
        ];
        for (s, expected) in cases {
            let e = names(&[s]).unwrap_err();
            assert!(e.contains(expected), "{expected}: {e}");
        }
    }

    #[test]
    fn a_grid_that_explodes_is_refused_with_its_size() {
        let keys = ["NPUW_LLM_PREFILL_CHUNK_SIZE", "NPUW_LLM_MIN_RESPONSE_LEN", "NPUW_LLM_MAX_PROMPT_LEN"];
        let s = sweep(SweepMode::Grid, &keys.map(|k| (k, ints(&[64, 128, 256, 512, 1024, 2048, 4096]))));
        let e = names(&[s]).unwrap_err();
        assert!(e.contains("sweep[0]: 343 profiles (7 x 7 x 7) is more than 256"), "{e}");
    }

    /// A key with the values a sweep of it may list, and a value it must refuse.
    fn key_values() -> impl Strategy<Value = (&'static str, Vec<toml::Value>)> {
        prop_oneof![
            proptest::sample::subsequence(vec![0i64, 64, 128, 256, 512, 1024], 1..=4)
                .prop_map(|v| ("NPUW_LLM_PREFILL_CHUNK_SIZE", ints(&v))),
            proptest::sample::subsequence(vec![64i64, 128, 256, 512], 1..=3)
                .prop_map(|v| ("NPUW_LLM_MIN_RESPONSE_LEN", ints(&v))),
            proptest::sample::subsequence(vec!["DYNAMIC", "STATIC"], 1..=2)
                .prop_map(|v| ("NPUW_LLM_PREFILL_HINT", v.into_iter().map(toml::Value::from).collect())),
            proptest::sample::subsequence(vec!["DYNAMIC", "STATIC", "PYRAMID", "HFA"], 1..=4)
                .prop_map(|v| ("NPUW_LLM_PREFILL_ATTENTION_HINT", v.into_iter().map(toml::Value::from).collect())),
            proptest::sample::subsequence(vec![true, false], 1..=2)
                .prop_map(|v| ("NPUW_LLM_GENERATE_PYRAMID", v.into_iter().map(toml::Value::from).collect())),
        ]
    }

    proptest! {
        #[test]
        fn every_generated_profile_validates_and_names_are_unique_and_stable(
            pairs in proptest::collection::vec(key_values(), 1..=4),
            grid in any::<bool>(),
        ) {
            let values: BTreeMap<String, Vec<toml::Value>> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let mode = if grid { SweepMode::Grid } else { SweepMode::OneAtATime };
            let s = Sweep { values, ..sweep(mode, &[]) };
            let mut set = ProfileSet::builtin();
            let first = expand_all(std::slice::from_ref(&s), &mut set, "s.toml").unwrap();
            let again = names(std::slice::from_ref(&s)).unwrap();
            prop_assert_eq!(&first, &again, "the same sweep, the same names");
            let mut unique = first.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), first.len());
            for name in &first {
                let r = set.resolve(name, "NPU", PipelineKind::Kvcache, None).unwrap();
                // Each name's parts are the values the profile resolves to.
                for part in name.split('+').skip(1) {
                    let (short, value) = part.split_once('=').unwrap();
                    let key = keys::KNOWN_KEYS.iter().find(|k| keys::short_name(k.name) == short).unwrap();
                    prop_assert_eq!(r.get(key.name), Some(value));
                }
            }
        }

        #[test]
        fn a_value_of_the_wrong_kind_anywhere_in_a_grid_is_refused(
            (key, mut good) in key_values(),
            at in 0usize..4,
        ) {
            let bad = toml::Value::String("not-a-value".into());
            let at = at.min(good.len());
            good.insert(at, bad);
            let e = names(&[sweep(SweepMode::Grid, &[(key, good)])]).unwrap_err();
            prop_assert!(e.contains(&format!("sweep[0].values.{key}")), "{}", e);
        }
    }
}
