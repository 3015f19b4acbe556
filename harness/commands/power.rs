//! `bakeoff power`: the operating characteristics of `bakeoff ab`'s verdicts on this
//! machine, replayed from recorded A/A runs (`decide::power`), as a table.

use crate::cli::{Format, PowerArgs};
use crate::decide::power::{replay, ReplayPool};
use crate::exit::Failure;
use crate::results::folder::RunFolder;
use crate::scenario::ab::AbSettings;

/// Replay the recordings and print the table.
pub fn run(args: &PowerArgs) -> Result<i32, Failure> {
    let (pool, mut settings) = load(args)?;
    apply_flags(&mut settings, args)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let changes: Vec<f64> = args.changes.iter().map(|c| c / 100.0).collect();
    let started = std::time::Instant::now();
    let conditions = replay(&pool, &settings, &changes, args.trials, args.seed, threads);
    let report = crate::reports::power::PowerReport {
        sources: args.from.iter().map(|p| p.display().to_string()).collect(),
        cell: pool.cell.to_string(),
        schedule: pool.schedule,
        rounds: pool.rounds.len(),
        pairs_per_round: pool.pairs_per_round,
        settings: settings.clone(),
        conditions,
        replay_seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(out) = &args.out {
        let text = serde_json::to_string_pretty(&crate::results::Versioned::new(&report)).map_err(Failure::harness)?;
        crate::io::write_atomic(out, text.as_bytes()).map_err(Failure::harness)?;
    }
    match args.format {
        Format::Json => super::print_json(&crate::results::Versioned::new(&report))?,
        Format::Text => print!("{}", crate::reports::power::markdown(&report)),
    }
    Ok(crate::exit::SUCCESS)
}

/// The pooled rounds of every folder, and `bakeoff ab`'s default rules (a recording's own
/// length settings are a recording's, not a verdict's: it ran to its time cap).
fn load(args: &PowerArgs) -> Result<(ReplayPool, AbSettings), Failure> {
    let mut pool: Option<ReplayPool> = None;
    for dir in &args.from {
        let folder = RunFolder::open(dir).map_err(Failure::input)?;
        let cell = match &args.cell {
            Some(name) => Some(
                crate::results::pairs::ab_outcomes(&folder.records)
                    .into_iter()
                    .map(|o| o.cell.clone())
                    .find(|k| &k.to_string() == name)
                    .ok_or_else(|| Failure::input(format!("{}: --cell {name}: no such A/B cell", dir.display())))?,
            ),
            None => None,
        };
        let found = ReplayPool::of(&folder.records, cell.as_ref())
            .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?;
        pool = Some(match pool {
            None => found,
            Some(p) => p.merge(found).map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?,
        });
    }
    Ok((pool.expect("clap requires a folder"), AbSettings::default()))
}

/// The command line's changes to the recorded rules.
fn apply_flags(settings: &mut AbSettings, args: &PowerArgs) -> Result<(), Failure> {
    args.rules.apply(settings);
    settings
        .validate(&[])
        .map_err(|e| Failure::input(format!("bakeoff power: {e} (each --flag sets the [ab] field of its name)")))?;
    if args.trials == 0 {
        return Err(Failure::input("--trials: at least 1"));
    }
    if let Some(bad) = args.changes.iter().find(|c| !c.is_finite() || **c < 0.0 || **c > 100.0) {
        return Err(Failure::input(format!("--changes: {bad} is not a percentage from 0 to 100")));
    }
    Ok(())
}
