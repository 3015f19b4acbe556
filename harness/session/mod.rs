//! Sessions: everything between a command line and the executor that a run of cells needs,
//! shared by `run`, soaks, a search's stages and `ab`: the run folder chosen, locked and
//! resumed (`folder`), the stack's fingerprint and the goldens taken once and a plan run
//! into a folder and summarized (`run`), each cell's spec with its profile resolved
//! (`specs`), and an A/B run's two sides, pairs and judged report (`ab`). Commands parse
//! their flags, call a session, render what it returns and give the exit code.

pub mod ab;
pub mod folder;
pub mod run;
pub mod specs;
