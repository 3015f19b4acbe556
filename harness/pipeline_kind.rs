//! What a pipeline kind is, as data every layer may ask: which IR it reads, which profile
//! table it compiles with, whether its NPU compile needs the model's KV layout, where it
//! runs, whether an A/B run can drive it pair by pair, whether its steps carry logit
//! margins, whether a fixed window limits it, and how charts draw it.
//!
//! It sits below profiles, pipelines, the executor, correctness, decisions and reports, so
//! each of them asks the descriptor instead of matching on kinds. Adding a kind is its own
//! file (an in-process pipeline under `pipelines/`, or a worker beside the executor's
//! process launcher) plus one registration here: a variant of [`PipelineKind`] and its
//! [`KindTraits`] entry in [`PipelineKind::traits`]. The compiler then points at the one
//! `match` that builds an in-process pipeline (`pipelines::load`) and nothing else.

use serde::{Deserialize, Serialize};

/// Which pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum PipelineKind {
    /// Stateful IR, prefill once, one token per step.
    Kvcache,
    /// Stateless IR on a static `[1, 128]` window, the whole context every step.
    Static128,
    /// openvino-genai's `LLMPipeline` on the stateful IR: what teams deploy. It runs in a
    /// worker on the project's venv (a cell process like the others), compiled with the
    /// profile's kvcache properties, and is measured with bakeoff's clock around GenAI's
    /// streamer; it cannot run in-process (`generate`, `golden`).
    Genai,
}

/// Which IR of a model folder a kind reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrInput {
    /// The stateful IR (KV cache inside the model's state).
    Stateful,
    /// The stateless IR, reshaped to the static window.
    StatelessWindow,
}

/// Where a kind's generations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Inside bakeoff (`bakeoff cell`, `generate`, `golden`).
    InProcess,
    /// In a worker process on the runtime's Python venv (a cell only).
    Worker,
}

/// Everything bakeoff needs to know of a kind outside its own file.
#[derive(Debug, Clone, Copy)]
pub struct KindTraits {
    /// The name in scenarios, profiles and reports.
    pub name: &'static str,
    /// The IR it reads.
    pub ir: IrInput,
    /// The profile table it compiles with: genai runs the same stateful IR as kvcache, with
    /// the same properties, so a profile means the same thing to both.
    pub profile_table: PipelineKind,
    /// Its NPU compile (NPUW_LLM) takes the model's KV layout (batch and sequence dims),
    /// which bakeoff derives from the IR; GenAI derives its own.
    pub npuw_kv_layout: bool,
    /// Where it runs.
    pub runs: Runs,
    /// An A/B run can drive it one generation per command, pair by pair.
    pub ab_drivable: bool,
    /// Its steps carry the logit margin of each chosen token (goldens classify near ties).
    pub logit_margins: bool,
    /// A fixed window limits the context it sees: its outputs are compared with another
    /// pipeline's only while the context fits, and its longest prompt is the window.
    pub window_limited: bool,
    /// Drawn filled in charts (else hollow).
    pub chart_filled: bool,
}

impl PipelineKind {
    /// Every pipeline, in report order.
    pub const ALL: [PipelineKind; 3] = [PipelineKind::Kvcache, PipelineKind::Static128, PipelineKind::Genai];

    /// The kind's descriptor: the one registration of a kind.
    pub const fn traits(self) -> &'static KindTraits {
        match self {
            PipelineKind::Kvcache => &KindTraits {
                name: "kvcache",
                ir: IrInput::Stateful,
                profile_table: PipelineKind::Kvcache,
                npuw_kv_layout: true,
                runs: Runs::InProcess,
                ab_drivable: true,
                logit_margins: true,
                window_limited: false,
                chart_filled: true,
            },
            PipelineKind::Static128 => &KindTraits {
                name: "static128",
                ir: IrInput::StatelessWindow,
                profile_table: PipelineKind::Static128,
                npuw_kv_layout: false,
                runs: Runs::InProcess,
                ab_drivable: true,
                logit_margins: true,
                window_limited: true,
                chart_filled: false,
            },
            PipelineKind::Genai => &KindTraits {
                name: "genai",
                ir: IrInput::Stateful,
                profile_table: PipelineKind::Kvcache,
                npuw_kv_layout: false,
                runs: Runs::Worker,
                ab_drivable: false,
                logit_margins: false,
                window_limited: false,
                chart_filled: true,
            },
        }
    }

    /// The name used in scenarios, profiles and reports.
    pub fn name(self) -> &'static str {
        self.traits().name
    }

    /// The profile table it compiles with (see [`KindTraits::profile_table`]).
    pub fn profile_table(self) -> PipelineKind {
        self.traits().profile_table
    }

    /// It runs inside bakeoff.
    pub fn in_process(self) -> bool {
        self.traits().runs == Runs::InProcess
    }
}

impl std::fmt::Display for PipelineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PipelineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PipelineKind::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<&str> = PipelineKind::ALL.iter().map(|p| p.name()).collect();
            format!("unknown pipeline `{s}`; allowed: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_every_profile_table_is_its_own() {
        for kind in PipelineKind::ALL {
            assert_eq!(kind.name().parse::<PipelineKind>(), Ok(kind));
            let table = kind.profile_table();
            assert_eq!(table.profile_table(), table, "{kind}: a profile table is a kind that compiles with itself");
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        let err = "turbo".parse::<PipelineKind>().unwrap_err();
        assert!(err.contains("kvcache, static128, genai"), "{err}");
    }

    #[test]
    fn a_worker_is_neither_driven_in_pairs_nor_gives_margins() {
        for kind in PipelineKind::ALL.into_iter().filter(|k| !k.in_process()) {
            assert!(!kind.traits().ab_drivable && !kind.traits().logit_margins, "{kind}");
        }
    }
}
