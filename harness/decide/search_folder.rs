//! A search's folders read back: a stage's run folder as measured candidates (every
//! profile's figures, compile cold and warm included, and the settings it varied), and a
//! whole search folder's candidates at their latest stage (what `recommend` of a search
//! folder decides from).

use super::pareto::{ProfileFigure, OBJECTIVES};
use super::recommend::run_candidates;
use super::search::Measured;
use crate::exit::Failure;
use crate::results::folder::{file, RunFolder};
use crate::scenario::search::Search;
use crate::scenario::LoadedScenario;
use std::collections::BTreeMap;
use std::path::Path;

/// Every cell of a stage's run folder as a measured candidate.
pub fn measured_of(
    run: &RunFolder,
    scenario: &LoadedScenario,
    search: &Search,
    folder: &str,
    reps: usize,
) -> Result<Vec<Measured>, Failure> {
    let attempts = run.attempts();
    let pipeline = scenario.scenario.matrix.pipelines[0];
    let settings_of = |profile: &str| -> BTreeMap<String, String> {
        let resolve = |name: &str| scenario.profiles.resolve(name, &search.device, pipeline, None).ok();
        let (Some(p), Some(base)) = (resolve(profile), resolve(&search.base)) else { return BTreeMap::new() };
        search
            .values
            .keys()
            .filter_map(|k| p.get(k).filter(|v| base.get(k) != Some(v)).map(|v| (k.clone(), v.to_string())))
            .collect()
    };
    let candidates = run_candidates(run).map_err(Failure::input)?;
    Ok(candidates
        .into_iter()
        .map(|(summary, candidate)| {
            let record = attempts.iter().find(|a| a.cell.cell == summary.cell).map(|a| a.cell);
            let mut figures: BTreeMap<ProfileFigure, f64> = OBJECTIVES
                .iter()
                .filter_map(|o| match o.figure {
                    ProfileFigure::Metric(id) => summary.metrics.get(&id).map(|v| (o.figure, *v)),
                    ProfileFigure::CompileCold | ProfileFigure::CompileWarm => None,
                })
                .collect();
            let compile = record.and_then(|r| r.compile_ms.map(|ms| (ms, r.from_cache, r.cold_compile_ms)));
            if let Some((ms, from_cache, cold)) = compile {
                match from_cache {
                    Some(true) => figures.insert(ProfileFigure::CompileWarm, ms),
                    _ => figures.insert(ProfileFigure::CompileCold, ms),
                };
                if let Some(cold) = cold {
                    figures.insert(ProfileFigure::CompileCold, cold);
                }
            }
            Measured {
                settings: settings_of(&summary.cell.profile),
                profile: summary.cell.profile.clone(),
                stage: folder.to_string(),
                repetitions: reps,
                figures,
                candidate,
                wall_s: summary.wall_s,
            }
        })
        .collect())
}

/// A search folder's candidates at their latest stage, with the cell searched; None when
/// `dir` is not a search folder (it has no search.json).
pub fn read_latest(dir: &Path) -> Result<Option<(crate::plan::CellKey, Vec<Measured>)>, Failure> {
    if !dir.join(file::SEARCH_JSON).exists() {
        return Ok(None);
    }
    let text = crate::io::read_text(&dir.join(file::SCENARIO)).map_err(Failure::input)?;
    let scenario: crate::scenario::Scenario =
        toml::from_str(&text).map_err(|e| Failure::input(format!("{}: {e}", dir.join(file::SCENARIO).display())))?;
    let search = scenario.search.ok_or_else(|| {
        Failure::input(format!("{}: no [search] table: not a search folder", dir.join(file::SCENARIO).display()))
    })?;
    let mut stages: Vec<(usize, String)> = std::fs::read_dir(dir)
        .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some((name.split_once('-')?.0.parse().ok()?, name)))
        .collect();
    stages.sort();
    let mut latest: BTreeMap<String, Measured> = BTreeMap::new();
    let mut key = None;
    for (_, folder) in stages {
        let stage_dir = dir.join(&folder);
        let run = RunFolder::open(&stage_dir).map_err(Failure::input)?;
        let loaded = LoadedScenario::parse(&stage_dir.join(file::SCENARIO), run.scenario_text.clone())
            .map_err(Failure::input)?;
        key = key.or_else(|| run.summaries().first().map(|s| s.cell.clone()));
        let reps = loaded.scenario.measure.repetitions;
        for m in measured_of(&run, &loaded, &search, &folder, reps)? {
            latest.insert(m.profile.clone(), m);
        }
    }
    Ok(key.map(|k| (k, latest.into_values().collect())))
}
