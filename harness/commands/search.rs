//! `bakeoff run` of a scenario with `[search]`: the stages of a budgeted profile search,
//! each a run folder of its own inside the search's folder (a scenario written out with
//! the stage's profiles and repetitions, so any stage can be re-run or read alone):
//!
//! - `1-screen/`: the base and every key varied alone, `screen_repetitions` each;
//! - `2-grid/`: the keys that helped most crossed with each other;
//! - `3-halving-1/`, `4-halving-2/`, ...: the better half again with twice the samples,
//!   while the budget lasts and more than `finalists` remain;
//! - `final-1/`, `final-2/`: the front's leader against each other finalist, interleaved
//!   pair by pair (an A/B run folder).
//!
//! Then `search.json` / `search.md` / `report.html` with the front and its chart, and the
//! winner as `winner.toml` (a bakeoff profile file) and `winner.genai.json` (the load config
//! openvino-genai and llm_bench `-lc` take). `--resume DIR` continues where it stopped:
//! finished stages are read back, an interrupted one continues.

use crate::decide::recommend::{Constraints, Prefer};
use crate::decide::search::{self as decide, FinalistPair, KeyGain, Measured, SearchReport, Stage};
use crate::exit::Failure;
use crate::profiles::sweep::SweepMode;
use crate::profiles::{Profile, RawProps};
use crate::results::folder::{file, RunFolder, WriterLock};
use crate::scenario::search::{PreferName, Search, SearchConstraints};
use crate::scenario::LoadedScenario;
use crate::session::ab::AbRequest;
use crate::session::folder::FolderArgs;
use crate::session::run::RunContext;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Run the search of `scenario` (which has a `[search]` table).
pub fn run(context: &RunContext, scenario: &LoadedScenario, args: &crate::cli::RunArgs) -> Result<i32, Failure> {
    if !args.filters.is_empty() || args.shard.is_some() || !args.exports.is_empty() {
        return Err(Failure::input(format!(
            "{}: --filter, --shard and --export do not apply to a search (it runs one cell, its own stages)",
            scenario.path.display()
        )));
    }
    let search = scenario.scenario.search.clone().expect("a search scenario");
    let mut runner = SearchRun::new(context, scenario, search);
    if args.list {
        println!("{}", runner.search.base);
        for name in runner.screen_profiles()?.keys() {
            println!("{name}");
        }
        crate::ui::note("the screening stage's profiles; later stages depend on what it measures");
        return Ok(crate::exit::SUCCESS);
    }
    let dir = crate::session::folder::choose(super::folder_args(args), crate::session::folder::RUN, scenario)?;
    let _lock = WriterLock::acquire(&dir).map_err(Failure::input)?;
    crate::io::write_named(&dir, file::SCENARIO, scenario.text.as_bytes()).map_err(Failure::input)?;
    runner.dir = dir;
    runner.go()
}

/// A search in progress.
struct SearchRun<'a> {
    context: &'a RunContext,
    scenario: &'a LoadedScenario,
    search: Search,
    constraints: Constraints,
    dir: PathBuf,
    /// Every generated profile so far, by name.
    catalog: BTreeMap<String, Profile>,
    /// Every profile's latest measurement.
    latest: BTreeMap<String, Measured>,
    stages: Vec<Stage>,
    codes: Vec<i32>,
    /// The device the cells ran on.
    device: Option<crate::runtime::Device>,
}

impl<'a> SearchRun<'a> {
    fn new(context: &'a RunContext, scenario: &'a LoadedScenario, search: Search) -> Self {
        let constraints = constraints_of(&search.constraints);
        SearchRun {
            context,
            scenario,
            search,
            constraints,
            dir: PathBuf::new(),
            catalog: BTreeMap::new(),
            latest: BTreeMap::new(),
            stages: Vec::new(),
            codes: Vec::new(),
            device: None,
        }
    }

    fn screen_profiles(&self) -> Result<BTreeMap<String, Profile>, Failure> {
        self.generate(SweepMode::OneAtATime, self.search.values.clone())
    }

    /// The profiles a sweep from the base generates (the base itself left out).
    fn generate(
        &self,
        mode: SweepMode,
        values: BTreeMap<String, Vec<toml::Value>>,
    ) -> Result<BTreeMap<String, Profile>, Failure> {
        let sweep = self.search.sweep(mode, values);
        let generated = sweep
            .expand(&self.scenario.profiles, "search")
            .map_err(|e| Failure::input(format!("{}: {e}", self.scenario.path.display())))?;
        Ok(generated.into_iter().filter(|(name, _)| *name != self.search.base).collect())
    }

    fn go(&mut self) -> Result<i32, Failure> {
        let screen = self.screen_profiles()?;
        let mut names = vec![self.search.base.clone()];
        names.extend(screen.keys().cloned());
        self.catalog.extend(screen);
        let reps = self.search.screen_repetitions;
        self.stage("screen", "screen: the base and every key varied alone", &names, reps)?;
        let Some(base) = self.latest.get(&self.search.base).filter(|m| m.eligible()).cloned() else {
            return self
                .finish("the base profile did not complete, so nothing can be judged against it".into(), vec![]);
        };
        let screened: Vec<Measured> = names.iter().filter_map(|n| self.latest.get(n).cloned()).collect();
        let keys = decide::keys_that_helped(&base, &screened, self.constraints.prefer, self.search.grid_keys);
        if let Some(stop) = self.grid(&keys)? {
            return self.finish(stop, keys);
        }
        let stop = self.halving(reps)?;
        self.finish(stop, keys)
    }

    /// The grid over the keys that helped (their helpful values; the base's value of each is
    /// already covered by screening). Some(why) when the budget ends the search here.
    fn grid(&mut self, keys: &[KeyGain]) -> Result<Option<String>, Failure> {
        if keys.len() < 2 {
            return Ok(None);
        }
        let values: BTreeMap<String, Vec<toml::Value>> = keys
            .iter()
            .map(|k| (k.key.clone(), k.values.iter().map(|v| crate::profiles::keys::toml_value(&k.key, v)).collect()))
            .collect();
        let grid = self.generate(SweepMode::Grid, values)?;
        let new: Vec<String> = grid.keys().filter(|n| !self.latest.contains_key(*n)).cloned().collect();
        if new.is_empty() {
            return Ok(None);
        }
        let estimate = self.mean_wall_s() * new.len() as f64;
        if let Some(stop) = self.over_budget("the grid", estimate) {
            return Ok(Some(stop));
        }
        self.catalog.extend(grid);
        let what = format!("grid over {}", keys.iter().map(|k| k.key.as_str()).collect::<Vec<_>>().join(" x "));
        self.stage("grid", &what, &new, self.search.screen_repetitions)?;
        Ok(None)
    }

    /// Successive halving: the better half of the eligible candidates again with twice the
    /// samples, until the finalists remain or the budget ends. Returns why it stopped.
    fn halving(&mut self, mut reps: usize) -> Result<String, Failure> {
        let mut pool: Vec<String> = self.latest.keys().cloned().collect();
        for round in 1.. {
            let measured: Vec<Measured> = pool.iter().filter_map(|n| self.latest.get(n).cloned()).collect();
            let eligible = measured.iter().filter(|m| m.eligible()).count();
            if eligible <= self.search.finalists {
                return Ok(format!("{eligible} eligible candidates left, the finalists"));
            }
            let keep = decide::halve(&measured, &self.constraints, self.search.finalists);
            reps = (reps * 2).min(crate::scenario::bounds::MAX_REPETITIONS);
            let estimate: f64 = keep.iter().filter_map(|n| self.latest.get(n)).map(|m| m.wall_s * 1.5).sum();
            if let Some(stop) = self.over_budget(&format!("halving round {round}"), estimate) {
                return Ok(stop);
            }
            let what = format!("halving round {round}: the better {} of {eligible}", keep.len());
            self.stage(&format!("halving-{round}"), &what, &keep, reps)?;
            pool = keep;
        }
        unreachable!("the loop returns")
    }

    /// Some(why) when a stage estimated at `estimate_s` would not fit the budget.
    fn over_budget(&self, what: &str, estimate_s: f64) -> Option<String> {
        let (used, budget) = (self.used_s(), self.search.budget_minutes * 60.0);
        (used + estimate_s > budget).then(|| {
            format!(
                "{what} not started: it needs about {:.1} min and {:.1} of the {:.1} min budget are left",
                estimate_s / 60.0,
                ((budget - used) / 60.0).max(0.0),
                self.search.budget_minutes
            )
        })
    }

    fn used_s(&self) -> f64 {
        self.stages.iter().map(|s| s.wall_s).sum()
    }

    fn mean_wall_s(&self) -> f64 {
        let n: usize = self.stages.iter().map(|s| s.profiles).sum();
        self.used_s() / n.max(1) as f64
    }

    /// Run one stage: `names` measured with `reps` repetitions into the next numbered folder.
    fn stage(&mut self, slug: &str, what: &str, names: &[String], reps: usize) -> Result<(), Failure> {
        let folder = format!("{}-{slug}", self.stages.len() + 1);
        let stage_dir = self.dir.join(&folder);
        let scenario = self.stage_scenario(names, reps)?;
        crate::ui::note(format!("search stage {folder}: {what} ({} profiles x {reps} repetitions)", names.len()));
        // The device the cells run on (an NPU cell runs as NPU:host where there is none).
        self.device = self.device.or(self.context.plan(&scenario, &[], None)?.first().map(|c| c.key.device));
        self.codes.push(self.context.run_stage(&scenario, &stage_dir)?);
        let measured = self.read_stage(&stage_dir, &folder, reps)?;
        // Each cell's compile cache served its cell alone (a blob per profile, hundreds of
        // MB on NPU): nothing later reads it.
        let _ = std::fs::remove_dir_all(stage_dir.join(file::CACHE));
        let wall_s = measured.iter().map(|m| m.wall_s).sum();
        for m in measured {
            self.latest.insert(m.profile.clone(), m);
        }
        self.stages.push(Stage { folder, what: what.to_string(), profiles: names.len(), repetitions: reps, wall_s });
        Ok(())
    }

    /// The scenario of one stage: the search's, with `names` as the matrix's profiles (their
    /// definitions written out), `reps` repetitions, and absolute paths, so the stage's
    /// folder holds a scenario that runs on its own.
    fn stage_scenario(&self, names: &[String], reps: usize) -> Result<LoadedScenario, Failure> {
        let mut s = absolute_paths(self.scenario);
        s.search = None;
        s.matrix.profiles = names.to_vec();
        s.measure.repetitions = reps;
        for name in names.iter().filter(|n| **n != self.search.base) {
            let profile = self.catalog.get(name).cloned().expect("every staged profile was generated");
            s.profiles.insert(name.clone(), profile);
        }
        let text = toml::to_string(&s).map_err(Failure::harness)?;
        LoadedScenario::parse(&self.scenario.path, text).map_err(Failure::harness)
    }

    /// Every cell of a stage's folder as a measured candidate.
    fn read_stage(&self, dir: &Path, folder: &str, reps: usize) -> Result<Vec<Measured>, Failure> {
        let run = RunFolder::open(dir).map_err(Failure::input)?;
        let scenario = LoadedScenario::parse(&self.scenario.path, run.scenario_text.clone()).map_err(Failure::input)?;
        crate::decide::search_folder::measured_of(&run, &scenario, &self.search, folder, reps)
    }

    /// The front, the finalists measured paired, the pick, the exported winner and reports.
    fn finish(&mut self, stopped: String, keys: Vec<KeyGain>) -> Result<i32, Failure> {
        let latest: Vec<Measured> = self.latest.values().cloned().collect();
        let on_front = decide::front_of(&latest);
        let finalists = decide::finalists(&latest, &on_front, &self.constraints, self.search.finalists);
        let pairs = self.finalist_pairs(&finalists)?;
        let pick = finalists.first().map(|leader| decide::pick(leader, &pairs));
        let key = self.device.unwrap_or(self.scenario.scenario.matrix.devices[0]);
        let report = SearchReport {
            scenario: self.scenario.scenario.name.clone(),
            cell: format!("{}/{}/{}", self.scenario.models[0].0, self.scenario.scenario.matrix.pipelines[0], key),
            note: key.disclaimer().map(|d| format!("{key}: {d}")),
            budget_minutes: self.search.budget_minutes,
            used_minutes: self.used_s() / 60.0,
            stages: self.stages.clone(),
            stopped,
            keys_that_helped: keys,
            candidates: latest.into_iter().zip(on_front).collect(),
            constraints: self.constraints,
            finalists,
            pairs,
            pick,
        };
        if let Some(pick) = &report.pick {
            self.export_winner(&pick.winner)?;
        }
        let markdown = crate::reports::search::write_search_reports(&self.dir, &report).map_err(Failure::harness)?;
        print!("{markdown}");
        println!("{}", self.dir.join(file::SEARCH_MD).display());
        // A candidate that failed to compile or broke the goldens is a finding of the search,
        // recorded with its reason; the search fails only when bakeoff itself did, or when
        // it could not choose.
        let harness = self.codes.contains(&crate::exit::HARNESS_ERROR);
        Ok(match (harness, report.pick.is_some()) {
            (true, _) => crate::exit::HARNESS_ERROR,
            (false, false) => crate::exit::INCOMPLETE,
            (false, true) => crate::exit::SUCCESS,
        })
    }

    /// The leader against each other finalist, interleaved (`bakeoff ab` on a scenario whose
    /// baseline side runs the challenger and whose candidate side runs the leader).
    fn finalist_pairs(&self, finalists: &[String]) -> Result<Vec<FinalistPair>, Failure> {
        let Some((leader, challengers)) = finalists.split_first() else { return Ok(vec![]) };
        let (metric, _) = decide::preferred_metric(self.constraints.prefer);
        let mut out = Vec::new();
        for (n, challenger) in challengers.iter().enumerate() {
            let folder = format!("final-{}", n + 1);
            let ab_dir = self.dir.join(&folder);
            let (path, ab_scenario) = self.write_ab_scenario(leader, challenger, &folder)?;
            crate::ui::note(format!("search {folder}: {leader} (candidate) against {challenger} (baseline), paired"));
            let scenario = crate::session::ab::effective_scenario(&path, &ab_scenario)?;
            let resume = ab_dir.join(file::RESULTS).exists().then_some(ab_dir.as_path());
            let request = AbRequest {
                scenario: &scenario,
                filters: &[],
                folder: FolderArgs { resume, out: Some(&ab_dir) },
                origin: Some(&path),
            };
            let cells = crate::session::ab::run(&request)?.report.cells;
            let cell = cells.into_iter().next();
            out.push(FinalistPair {
                leader: leader.clone(),
                challenger: challenger.clone(),
                folder,
                pairs: cell.as_ref().map_or(0, |c| c.pairs),
                judged: cell.as_ref().and_then(|c| c.metric(metric).cloned()),
                reason: cell.and_then(|c| c.reason),
            });
        }
        Ok(out)
    }

    /// The A/B scenario of one finalist pair, written beside its folder; returns its path and
    /// the scenario (the run's `--openvino-lib` on both sides). Both sides run the base's cell, each side overriding the base with
    /// its profile's differences from it (every candidate is the base plus differences, so
    /// that is exactly the profile, and a key only the other profile sets stays the base's).
    fn write_ab_scenario(
        &self,
        leader: &str,
        challenger: &str,
        folder: &str,
    ) -> Result<(PathBuf, crate::scenario::Scenario), Failure> {
        let mut s = absolute_paths(self.scenario);
        s.search = None;
        s.matrix.profiles = vec![self.search.base.clone()];
        let mut ab = crate::scenario::ab::AbSettings { length: self.search.pairs.clone(), ..Default::default() };
        let (metric, _) = decide::preferred_metric(self.constraints.prefer);
        if !ab.length.metrics.iter().any(|m| m == metric.name()) {
            ab.length.metrics.insert(0, metric.name().to_string());
        }
        for (side, name) in [(&mut ab.baseline, challenger), (&mut ab.candidate, leader)] {
            side.label = Some(name.to_string());
            side.openvino_lib = self.context.options.openvino_lib.as_deref().map(crate::session::folder::canonical);
            if let Some(generated) = self.catalog.get(name) {
                let differences = Profile { description: None, inherits: None, ..generated.clone() };
                side.profiles.insert(self.search.base.clone(), differences);
            }
        }
        s.ab = Some(ab);
        let text = toml::to_string(&s).map_err(Failure::harness)?;
        let name = format!("{folder}.toml");
        crate::io::write_named(&self.dir, &name, text.as_bytes()).map_err(Failure::harness)?;
        Ok((self.dir.join(name), s))
    }

    /// The searched device's properties `name` resolves to (as written: no model-derived or
    /// host-execution keys).
    fn resolved(&self, name: &str) -> Result<BTreeMap<String, String>, Failure> {
        let mut set = self.scenario.profiles.clone();
        if let Some(p) = self.catalog.get(name) {
            set.add(BTreeMap::from([(name.to_string(), p.clone())]), "search").map_err(Failure::harness)?;
        }
        let pipeline = self.scenario.scenario.matrix.pipelines[0];
        let resolved = set.resolve(name, &self.search.device, pipeline, None).map_err(Failure::input)?;
        Ok(resolved.pairs().into_iter().collect())
    }

    /// `winner.toml` (every property the winner compiles with, standalone) and
    /// `winner.genai.json` (the same as openvino-genai's LLMPipeline and llm_bench `-lc`
    /// take it, GenAI's own names where it has them).
    fn export_winner(&self, winner: &str) -> Result<(), Failure> {
        let props = self.resolved(winner)?;
        let exported: Vec<(String, String)> =
            props.into_iter().filter(|(k, _)| !NOT_EXPORTED.contains(&k.as_str())).collect();
        let table: RawProps =
            exported.iter().map(|(k, v)| (k.clone(), crate::profiles::keys::toml_value(k, v))).collect();
        let description = format!("Chosen by the search of scenario {}", self.scenario.scenario.name);
        let profile = Profile {
            description: Some(description),
            ..crate::profiles::sweep::section_profile(&self.search.device, &self.search.section, table)
        };
        let text = toml::to_string(&BTreeMap::from([(winner.to_string(), profile)])).map_err(Failure::harness)?;
        crate::io::write_named(&self.dir, file::WINNER_TOML, text.as_bytes()).map_err(Failure::harness)?;
        let genai = crate::profiles::keys::genai_config(&exported);
        let json = serde_json::to_string_pretty(&genai).map_err(Failure::harness)?;
        crate::io::write_named(&self.dir, file::WINNER_GENAI, format!("{json}\n").as_bytes()).map_err(Failure::harness)
    }
}

/// Keys a deployed profile must not carry: the cache folder is the deployment's own, and the
/// model's KV dims are derived from the model at compile.
const NOT_EXPORTED: &[&str] = &["CACHE_DIR", "NPUW_LLM_BATCH_DIM", "NPUW_LLM_SEQ_LEN_DIM"];

/// The constraints of `[search.constraints]` as `recommend` takes them.
pub fn constraints_of(c: &SearchConstraints) -> Constraints {
    Constraints {
        max_ttft_ms: c.max_ttft_ms,
        min_tokens_per_s: c.min_tokens_per_s,
        max_prompt_len: None,
        max_rss_mb: c.max_rss_mb,
        exact: c.exact,
        max_cpu_ms_per_token: c.max_cpu_ms_per_token,
        max_joules_per_token: None,
        prefer: match c.prefer {
            PreferName::Speed => Prefer::Speed,
            PreferName::Cpu => Prefer::Cpu,
            PreferName::Energy => Prefer::Energy,
        },
    }
}

/// The scenario as written with its model, prompt-file and golden paths made absolute (a
/// stage's scenario lives in another folder than the search's).
fn absolute_paths(loaded: &LoadedScenario) -> crate::scenario::Scenario {
    let absolute = |p: &Path| match p.is_absolute() {
        true => p.to_path_buf(),
        false => std::env::current_dir().map(|cwd| cwd.join(p)).unwrap_or_else(|_| p.to_path_buf()),
    };
    let mut s = loaded.scenario.clone();
    let base = loaded.path.parent().unwrap_or(Path::new("."));
    for (entry, (_, path)) in s.models.iter_mut().zip(&loaded.models) {
        entry.path = absolute(path);
    }
    if let Some(f) = &mut s.prompts.file {
        *f = absolute(&base.join(&*f));
    }
    if let (Some(g), Some(dir)) = (&mut s.golden, &loaded.golden_dir) {
        g.dir = absolute(dir);
    }
    s
}
