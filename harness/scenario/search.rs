//! A scenario's `[search]` table: find the best profile for one (model, pipeline, device)
//! among the combinations of NPUW (or CPU) key values, inside a time budget.
//!
//! ```toml
//! [search]
//! base = "balanced"
//! budget_minutes = 20
//! [search.values]
//! NPUW_LLM_PREFILL_CHUNK_SIZE = [0, 256]
//! NPUW_LLM_GENERATE_PYRAMID = [false]
//! [search.constraints]
//! max_ttft_ms = 2000
//! ```
//!
//! Ten keys of two or three values make thousands of combinations; the search spends its
//! budget where the workload says it matters: one factor at a time from the base first (which
//! keys move anything), then a grid over the `grid_keys` keys that helped most, then
//! successive halving (every candidate measured with few samples, the better half again with
//! twice as many) until the finalists remain, and the finalists measured paired against the
//! leader, so the pick is a measured difference and not the minute each candidate ran in.

use super::ab::AbLength;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `[search]` table.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// The profile every candidate inherits (and the first one measured).
    pub base: String,
    /// The device table the keys go in: `NPU` or `CPU`.
    #[serde(default = "default_device")]
    pub device: String,
    /// The section of that table: `all`, `kvcache` (default) or `static128`.
    #[serde(default = "default_section")]
    pub section: String,
    /// Each key with the values to try besides the base's.
    pub values: BTreeMap<String, Vec<toml::Value>>,
    /// Minutes of cell time the screening, grid and halving stages may take together (the
    /// paired finalists have their own limit in `pairs`). A stage that would not fit is not
    /// started; the search then decides from what it has.
    #[serde(default = "default_budget")]
    pub budget_minutes: f64,
    /// How many of the keys that helped most, alone, are crossed in a grid.
    #[serde(default = "default_grid_keys")]
    pub grid_keys: usize,
    /// Measured repetitions per candidate in screening; each halving round doubles them.
    #[serde(default = "default_screen_repetitions")]
    pub screen_repetitions: usize,
    /// Candidates measured paired at the end (the leader against each other one), 2 or 3.
    #[serde(default = "default_finalists")]
    pub finalists: usize,
    /// What the chosen profile must meet, and what ranks the ones that do.
    #[serde(default)]
    pub constraints: SearchConstraints,
    /// How long each paired finalist comparison runs (as an `[ab]` table's `length`).
    #[serde(default)]
    pub pairs: AbLength,
}

fn default_device() -> String {
    "NPU".into()
}
fn default_section() -> String {
    "kvcache".into()
}
fn default_budget() -> f64 {
    20.0
}
fn default_grid_keys() -> usize {
    2
}
fn default_screen_repetitions() -> usize {
    1
}
fn default_finalists() -> usize {
    2
}

/// `[search.constraints]`: `bakeoff recommend`'s constraints, as a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConstraints {
    /// Median TTFT at most this, ms.
    pub max_ttft_ms: Option<f64>,
    /// Median decode tokens/s at least this.
    pub min_tokens_per_s: Option<f64>,
    /// Peak memory at most this, MiB.
    pub max_rss_mb: Option<f64>,
    /// Median host CPU time per decode token at most this, ms.
    pub max_cpu_ms_per_token: Option<f64>,
    /// Outputs must not hard-mismatch the goldens.
    pub exact: bool,
    /// `speed` (default), `cpu` or `energy`.
    pub prefer: PreferName,
}

/// What ranks the candidates, as a scenario writes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PreferName {
    /// Decode tokens/s.
    #[default]
    Speed,
    /// Host CPU per token.
    Cpu,
    /// Package energy per token.
    Energy,
}

impl Search {
    /// The limits a search's settings must keep, as an error naming the field and what is
    /// allowed.
    pub fn check(&self) -> Result<(), String> {
        if !(self.budget_minutes.is_finite() && self.budget_minutes > 0.0 && self.budget_minutes <= 24.0 * 60.0) {
            return Err(format!(
                "search.budget_minutes: {} is not allowed: a number of minutes above 0, at most 1440",
                self.budget_minutes
            ));
        }
        if !(2..=3).contains(&self.finalists) {
            return Err(format!("search.finalists: {} is not allowed: 2 or 3", self.finalists));
        }
        if !(1..=4).contains(&self.grid_keys) {
            return Err(format!("search.grid_keys: {} is not allowed: 1 to 4 keys", self.grid_keys));
        }
        if !(1..=50).contains(&self.screen_repetitions) {
            return Err(format!("search.screen_repetitions: {} is not allowed: 1 to 50", self.screen_repetitions));
        }
        if self.values.is_empty() {
            return Err("search.values: empty; name at least one key with the values to try".into());
        }
        if self.pairs.max_pairs < 2 || self.pairs.min_pairs > self.pairs.max_pairs {
            return Err(format!(
                "search.pairs: min_pairs {} and max_pairs {}: max_pairs at least 2 and not under min_pairs",
                self.pairs.min_pairs, self.pairs.max_pairs
            ));
        }
        Ok(())
    }

    /// The one-factor-at-a-time sweep of the screening stage.
    pub fn screen_sweep(&self) -> crate::profiles::sweep::Sweep {
        self.sweep(crate::profiles::sweep::SweepMode::OneAtATime, self.values.clone())
    }

    /// A sweep from the base over `values`, in `mode`.
    pub fn sweep(
        &self,
        mode: crate::profiles::sweep::SweepMode,
        values: BTreeMap<String, Vec<toml::Value>>,
    ) -> crate::profiles::sweep::Sweep {
        crate::profiles::sweep::Sweep {
            base: self.base.clone(),
            mode,
            device: self.device.clone(),
            section: self.section.clone(),
            values,
        }
    }
}
