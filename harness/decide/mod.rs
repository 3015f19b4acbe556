//! Decisions from runs: whether a change is real ([`verdict`]), a candidate run against a
//! baseline ([`comparison`]), a stack upgrade's verdict ([`qualify`]), the best profile
//! under constraints ([`recommend`]), and how often A/B verdicts fire, replayed from
//! recorded A/A pairs ([`power`]).

pub mod ab;
pub mod ab_checks;
pub mod comparison;
pub mod pareto;
pub mod power;
pub mod qualify;
pub mod recommend;
pub mod schedules;
pub mod search;
pub mod search_folder;
pub mod verdict;

/// Why a decision could not be made. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// The two runs ran different scenarios: their cells would not mean the same thing.
    #[error("{candidate_file}: scenario `{candidate}` is not the baseline's `{baseline}` ({baseline_dir}); compare runs of one scenario")]
    OtherScenario {
        /// The candidate's scenario.toml.
        candidate_file: String,
        /// The candidate's scenario name.
        candidate: String,
        /// The baseline's scenario name.
        baseline: String,
        /// The baseline's folder.
        baseline_dir: String,
    },
    /// The goldens a run was checked against could not be read.
    #[error(transparent)]
    Golden(#[from] crate::golden::GoldenError),
    /// Energy was asked for in a run that could not measure it.
    #[error("{fingerprint}: this run has no energy figures (package energy {why}); rank by --prefer cpu or speed, or run where RAPL is readable")]
    NoEnergy {
        /// The run's fingerprint.json.
        fingerprint: String,
        /// Why energy was not readable.
        why: String,
    },
}
