//! Run-time cell selection (`bakeoff run --filter EXPR`): which of a plan's cells to run,
//! by glob over the fields of their keys, so a user reruns "the CPU kvcache cells" without
//! copying and editing the scenario.

use super::{CellKey, PlannedCell};
use globset::GlobMatcher;

/// The key fields a filter term may name, in the order of a cell key.
pub const FIELDS: [&str; 5] = ["model", "pipeline", "device", "profile", "cache"];

/// A filter expression that cannot be used: what was given and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("--filter `{expr}`: {problem}")]
pub struct SelectionError {
    /// The expression as given.
    pub expr: String,
    /// What is wrong with it, and what is allowed.
    pub problem: String,
}

/// One term: a key field and the globs its value may match (`profile=bal*|cons*`).
#[derive(Debug, Clone)]
struct Term {
    field: usize,
    globs: Vec<GlobMatcher>,
}

/// One `--filter` expression: comma-separated `field=GLOB[|GLOB...]` terms, all of which a
/// cell must match (`device=CPU,pipeline=kvcache`). Globs take `*`, `?` and `[...]`, and
/// match without regard to case (`npu:host` is `NPU:host`).
#[derive(Debug, Clone)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

impl std::str::FromStr for Filter {
    type Err = SelectionError;
    fn from_str(expr: &str) -> Result<Filter, SelectionError> {
        let bad = |problem: String| SelectionError { expr: expr.to_string(), problem };
        let mut terms = Vec::new();
        for term in expr.split(',').map(str::trim) {
            let (field, values) = term
                .split_once('=')
                .ok_or_else(|| bad(format!("`{term}` is not FIELD=GLOB; fields: {}", FIELDS.join(", "))))?;
            let field = field.trim();
            let index = FIELDS
                .iter()
                .position(|f| f.eq_ignore_ascii_case(field))
                .ok_or_else(|| bad(format!("unknown field `{field}`; allowed: {}", FIELDS.join(", "))))?;
            let globs = values
                .split('|')
                .map(|v| {
                    let v = v.trim();
                    if v.is_empty() {
                        return Err(bad(format!("`{field}=` has an empty value")));
                    }
                    let glob = globset::GlobBuilder::new(v).case_insensitive(true).build();
                    glob.map(|g| g.compile_matcher()).map_err(|e| bad(format!("`{v}`: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            terms.push(Term { field: index, globs });
        }
        Ok(Filter { text: expr.to_string(), terms })
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Filter {
    /// Whether `key` matches every term.
    pub fn matches(&self, key: &CellKey) -> bool {
        let values = [
            key.model.clone(),
            key.pipeline.to_string(),
            key.device.to_string(),
            key.profile.clone(),
            key.cache.name().to_string(),
        ];
        self.terms.iter().all(|t| t.globs.iter().any(|g| g.is_match(&values[t.field])))
    }
}

/// The cells any of `filters` matches (all of them when there is no filter), in plan order.
/// A selection of nothing is an error listing what the plan has, so a typo never turns
/// into an empty, passing run.
pub fn select(cells: Vec<PlannedCell>, filters: &[Filter]) -> Result<Vec<PlannedCell>, SelectionError> {
    if filters.is_empty() {
        return Ok(cells);
    }
    let all = cells.len();
    let (kept, dropped): (Vec<_>, Vec<_>) = cells.into_iter().partition(|c| filters.iter().any(|f| f.matches(&c.key)));
    if kept.is_empty() {
        let shown: Vec<String> = dropped.iter().take(8).map(|c| c.key.to_string()).collect();
        let more = if all > shown.len() { format!(", ... ({all} in all)") } else { String::new() };
        let expr = filters.iter().map(Filter::to_string).collect::<Vec<_>>().join(" or ");
        return Err(SelectionError {
            expr,
            problem: format!("selects none of the plan's cells: {}{more}", shown.join(", ")),
        });
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline_kind::PipelineKind;
    use crate::runtime::Device;
    use crate::scenario::CacheMode;

    fn key(pipeline: PipelineKind, device: Device, profile: &str) -> CellKey {
        CellKey { model: "m".into(), pipeline, device, profile: profile.into(), cache: CacheMode::Warm }
    }

    fn cells() -> Vec<PlannedCell> {
        let mut keys = Vec::new();
        for pipeline in [PipelineKind::Kvcache, PipelineKind::Static128] {
            for device in [Device::Cpu, Device::NpuHost] {
                for profile in ["balanced", "conservative"] {
                    keys.push(key(pipeline, device, profile));
                }
            }
        }
        keys.into_iter().enumerate().map(|(index, key)| PlannedCell { index, key, skip: None }).collect()
    }

    fn selected(filters: &[&str]) -> Vec<String> {
        let filters: Vec<Filter> = filters.iter().map(|f| f.parse().unwrap()).collect();
        select(cells(), &filters).unwrap().iter().map(|c| c.key.to_string()).collect()
    }

    #[test]
    fn terms_and_expressions_combine_as_and_within_or_across() {
        assert_eq!(selected(&[]).len(), 8, "no filter: every cell");
        assert_eq!(
            selected(&["device=cpu,pipeline=kvcache"]),
            ["m/kvcache/CPU/balanced/warm", "m/kvcache/CPU/conservative/warm"]
        );
        assert_eq!(selected(&["profile=bal*,device=NPU:host"]).len(), 2);
        assert_eq!(selected(&["profile=bal*|cons*"]).len(), 8);
        assert_eq!(selected(&["pipeline=static128,device=CPU,profile=balanced", "device=NPU:host"]).len(), 5);
        assert_eq!(selected(&["model=?,cache=warm"]).len(), 8);
    }

    #[test]
    fn bad_expressions_and_empty_selections_say_what_is_allowed() {
        let err = |f: &str| f.parse::<Filter>().unwrap_err().to_string();
        assert!(err("kind=x").contains("unknown field `kind`; allowed: model, pipeline"));
        assert!(err("profile").contains("is not FIELD=GLOB"));
        assert!(err("profile=").contains("empty value"));
        assert!(err("profile=[a").contains("`[a`"));
        let none = select(cells(), &["device=GPU".parse().unwrap()]).unwrap_err().to_string();
        assert!(none.contains("selects none of the plan's cells: m/kvcache/CPU/balanced/warm"), "{none}");
    }
}
