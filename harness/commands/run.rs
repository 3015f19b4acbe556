//! `bakeoff run SCENARIO` without `[search]`: expand, run every cell in its own process,
//! record, summarize (the session in `session::run`).

use crate::cli::RunArgs;
use crate::exit::Failure;
use crate::plan::PlannedCell;
use crate::results::folder::WriterLock;
use crate::scenario::LoadedScenario;
use crate::session::folder::RUN;
use crate::session::run::{RunContext, RunSetup};

/// Run a scenario in `context`.
pub fn run(context: &RunContext, scenario: &LoadedScenario, args: &RunArgs) -> Result<i32, Failure> {
    let plan = context.plan(scenario, &args.filters, args.shard)?;
    if args.list {
        print_plan(&plan);
        return Ok(crate::exit::SUCCESS);
    }
    let dir = crate::session::folder::choose(super::folder_args(args), RUN, scenario)?;
    // One writer per run folder for as long as this run lives.
    let _lock = WriterLock::acquire(&dir).map_err(Failure::input)?;
    let setup = RunSetup { scenario, context, plan: &plan, resume: args.resume.is_some(), own_warm_cache: false };
    setup.run(&dir)
}

/// `run --list`: the plan's cells on stdout, one a line (index in the full plan, key, and
/// why a cell would be skipped), so a filter can be tried before anything runs.
fn print_plan(plan: &[PlannedCell]) {
    for cell in plan {
        match &cell.skip {
            None => println!("{:>4}  {}", cell.index + 1, cell.key),
            Some(why) => println!("{:>4}  {}  (skipped: {why})", cell.index + 1, cell.key),
        }
    }
    crate::ui::note(format!("{} cells", plan.len()));
}
