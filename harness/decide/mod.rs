//! Decisions from runs: whether a change is real ([`stats`]), a candidate run against a
//! baseline ([`comparison`]), a stack upgrade's verdict ([`qualify`]) and the best profile
//! under constraints ([`recommend`]).

pub mod comparison;
pub mod qualify;
pub mod recommend;
pub mod stats;
