//! The plan: a scenario expanded into cells, ordered so each (model, pipeline, device,
//! profile) compiles once (one child process runs all of a cell's prompts and
//! repetitions), optionally narrowed at run time (`--filter`, [`select`]) and sliced into
//! shards for fleet runs.

pub mod select;

use crate::pipeline_kind::PipelineKind;
use crate::runtime::Device;
use crate::scenario::{CacheMode, LoadedScenario};
use serde::{Deserialize, Serialize};

/// What identifies a cell across runs (compare, qualify and resume match on it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    /// Model name.
    pub model: String,
    /// Pipeline.
    pub pipeline: PipelineKind,
    /// Device label (CPU, NPU, NPU:host).
    pub device: Device,
    /// Profile name.
    pub profile: String,
    /// Compile cache mode of this cell.
    pub cache: CacheMode,
}

impl CellKey {
    /// Whether this cell is in a scenario's set of cells.
    pub fn is_in(&self, filter: &crate::scenario::CellFilter) -> bool {
        filter.matches(self.pipeline, self.device, &self.profile)
    }
}

impl std::fmt::Display for CellKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}/{}/{}", self.model, self.pipeline, self.device, self.profile, self.cache.name())
    }
}

/// A planned cell: its key and, when it cannot run here, why.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCell {
    /// Index in the full (unsharded) plan.
    pub index: usize,
    /// The cell's key.
    pub key: CellKey,
    /// `Some(reason)` when the cell is skipped (e.g. "NPU not present").
    pub skip: Option<String>,
}

/// A `--shard K/N` selection: cells whose index is K-1 modulo N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub k: usize,
    /// Shard count.
    pub n: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}`: a shard is K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n) = (k.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// Expand a scenario into its cells, in compile order: model, pipeline, device, profile,
/// cache mode. `npu_present` says whether silicon is here: without it, `NPU` cells are
/// skipped, or become `NPU:host` cells when the scenario allows host fallback.
pub fn expand(s: &LoadedScenario, npu_present: bool) -> Vec<PlannedCell> {
    let m = &s.scenario.matrix;
    let mut keys = Vec::new();
    for (model, _) in &s.models {
        for &pipeline in &m.pipelines {
            for &device in &m.devices {
                let device = if device == Device::Npu && !npu_present && s.scenario.npu.host_fallback {
                    Device::NpuHost
                } else {
                    device
                };
                for profile in &s.matrix_profiles {
                    if m.excludes(pipeline, device, profile) {
                        continue;
                    }
                    for cache in s.scenario.cache.policy.cells() {
                        keys.push(CellKey { model: model.clone(), pipeline, device, profile: profile.clone(), cache });
                    }
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .enumerate()
        .map(|(index, key)| {
            let skip = (key.device == Device::Npu && !npu_present)
                .then(|| "NPU not present: OpenVINO lists no NPU on this machine".to_string());
            PlannedCell { index, key, skip }
        })
        .collect()
}

/// The cells of one shard. Every cell is in exactly one shard of N.
pub fn shard(cells: Vec<PlannedCell>, shard: Option<Shard>) -> Vec<PlannedCell> {
    match shard {
        None => cells,
        Some(s) => cells.into_iter().filter(|c| c.index % s.n == s.k - 1).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parsing_checks_bounds() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { k: 2, n: 4 });
        assert!("0/4".parse::<Shard>().is_err());
        assert!("5/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
