//! bakeoff: a benchmarking and validation harness for LLM inference with OpenVINO on
//! Intel NPUs and CPUs.
//!
//! The modules follow the data flow (`docs/architecture.md`): a model folder ([`model`]) and its text
//! layer ([`text`]); [`profiles`] that say how a device compiles it; the OpenVINO
//! [`runtime`]; the two [`pipelines`] that turn prompt ids into a transcript; the
//! [`fingerprint`] of the stack; and the [`commands`] that the `bakeoff` binary runs,
//! with their [`exit`] codes.

#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod correctness;
pub mod decide;
pub mod executor;
pub mod exit;
pub mod fingerprint;
pub mod golden;
pub mod io;
pub mod lint;
pub mod metrics;
pub mod model;
pub mod pipeline_kind;
pub mod pipelines;
pub mod plan;
pub mod platform;
pub mod profiles;
pub mod reports;
pub mod results;
pub mod runtime;
pub mod scenario;
pub mod session;
pub mod stats;
pub mod telemetry;
pub mod text;
pub mod ui;
