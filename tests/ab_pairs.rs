//! The paired A/B runner and its statistics without a model (a mock launcher whose
//! generations run at a scripted speed): pairs recorded with side, order and round; both
//! processes restarted every round; a drift ten times the change cancels; the length rule
//! stops a cell once decided; a crash keeps the pairs before it; a resumed cell continues
//! its pair and round numbers.

mod common;

use bakeoff::decide::ab::{judge_pairs, length_decided, Evidence};
use bakeoff::decide::verdict::{decide, PerfVerdict};
use bakeoff::executor::mock::MockPairLauncher;
use bakeoff::executor::paired::{run_ab_cell, CellProgress, PairOptions, PairSink};
use bakeoff::executor::{CellPrompt, CellSpec};
use bakeoff::plan::CellKey;
use bakeoff::results::pairs::{pairs_by_cell, rounds_by_cell, AbRound, LengthEnd, Pair, Schedule, Side};
use bakeoff::results::{CellStatus, Record, SampleRecord};
use bakeoff::scenario::ab::AbSettings;
use bakeoff::stats::bootstrap::bootstrap;
use bakeoff::stats::quantile;
use std::time::Duration;

fn key() -> CellKey {
    CellKey {
        model: "m".into(),
        pipeline: bakeoff::pipeline_kind::PipelineKind::Kvcache,
        device: bakeoff::runtime::Device::Cpu,
        profile: "reference".into(),
        cache: Default::default(),
    }
}

fn spec() -> CellSpec {
    let prompts = vec![
        CellPrompt { id: "a".into(), ids: vec![1, 2], conversation: None },
        CellPrompt { id: "b".into(), ids: vec![3], conversation: None },
    ];
    CellSpec { driven: true, ..common::cell_spec(key(), "x".into(), prompts) }
}

fn options(max_pairs: usize, per_round: usize) -> PairOptions {
    PairOptions {
        schedule: Schedule::Alternate,
        seed: 7,
        cell_index: 0,
        min_pairs: per_round,
        max_pairs,
        max_time: Duration::from_secs(600),
        pairs_per_round: per_round,
    }
}

/// Where the runner's results go in these tests: the records results.jsonl would hold, and
/// the length rule under test.
struct Sink<'a> {
    records: Vec<Record>,
    decided: &'a mut dyn FnMut(&[Pair]) -> bool,
}

impl PairSink for Sink<'_> {
    fn warmup(&mut self, _side: Side, s: SampleRecord) -> std::io::Result<()> {
        self.records.push(Record::Sample(s));
        Ok(())
    }

    fn pair(&mut self, p: &Pair) -> std::io::Result<()> {
        self.records.extend(p.tagged().into_iter().map(Record::Sample));
        Ok(())
    }

    fn round(&mut self, r: &AbRound) -> std::io::Result<()> {
        self.records.push(Record::Round(Box::new(r.clone())));
        Ok(())
    }

    fn decided(&mut self, progress: &CellProgress) -> bool {
        (self.decided)(&progress.pairs)
    }
}

/// Run one cell; returns the outcome, the pairs and every record as results.jsonl would hold it.
fn run(
    launcher: &mut MockPairLauncher,
    opts: &PairOptions,
    pairs: Vec<Pair>,
    decided: &mut dyn FnMut(&[Pair]) -> bool,
) -> (bakeoff::results::pairs::AbCellRecord, Vec<Pair>, Vec<Record>) {
    let s = spec();
    let mut sink = Sink { records: Vec::new(), decided };
    let mut progress = CellProgress { pairs, rounds: Vec::new() };
    let outcome = run_ab_cell([&s, &s], launcher, opts, &mut progress, &mut sink).unwrap();
    (outcome, progress.pairs, sink.records)
}

#[test]
fn pairs_alternate_in_a_seeded_random_order_and_restart_every_round() {
    let mut launcher = MockPairLauncher::new(|_, _, _| 100.0);
    let opts = options(20, 5);
    let (outcome, pairs, records) = run(&mut launcher, &opts, Vec::new(), &mut |_| false);
    assert_eq!(outcome.status, CellStatus::Completed);
    assert_eq!(outcome.end, LengthEnd::MaxPairs);
    assert_eq!(pairs.len(), 20);
    // Four rounds, each starting both sides afresh.
    let starts = launcher.starts.borrow().clone();
    assert_eq!(starts.len(), 8, "{starts:?}");
    assert_eq!(pairs.iter().map(|p| p.round).collect::<Vec<_>>(), (0..20).map(|i| i / 5).collect::<Vec<_>>());
    // Each pair asks both sides, the seeded first side first.
    let requests = launcher.requests.borrow().clone();
    for (i, pair) in pairs.iter().enumerate() {
        let first = opts.first_side(i);
        assert_eq!(pair.first, Some(first));
        assert_eq!(requests[2 * i], (first, i));
        assert_eq!(requests[2 * i + 1], (first.other(), i));
    }
    let baseline_first = pairs.iter().filter(|p| p.first == Some(Side::Baseline)).count();
    assert!((4..=16).contains(&baseline_first), "a fair coin over 20 pairs: {baseline_first}");
    // What results.jsonl would hold reads back as the same pairs, warm-ups left out.
    let read = pairs_by_cell(&records);
    let shape = |p: &Pair| (p.index, p.round, p.first, p.baseline.metrics.clone(), p.candidate.metrics.clone());
    assert_eq!(read[&key()].iter().map(shape).collect::<Vec<_>>(), pairs.iter().map(shape).collect::<Vec<_>>());
    assert!(read[&key()].iter().all(|p| p.candidate.ab.as_ref().unwrap().round == Some(p.round)));
    let warmups = records.iter().filter(|r| matches!(r, Record::Sample(s) if s.warmup)).count();
    assert_eq!(warmups, 8 * 2, "one warm-up per prompt and process");
}

#[test]
fn a_drift_ten_times_the_change_cancels_in_the_pairs() {
    // Both sides drift together by +-30% over the run; the candidate is 3% slower and each
    // generation has its own +-1% jitter.
    let jitter = |side: Side, pair: usize| 1.0 + 0.01 * (((pair * 7 + side as usize * 3) % 11) as f64 / 5.0 - 1.0);
    let mut launcher = MockPairLauncher::new(move |side, _, pair| {
        let drift = 1.0 + 0.3 * (pair as f64 / 9.0).sin();
        let slower = if side == Side::Candidate { 0.97 } else { 1.0 };
        100.0 * drift * slower * jitter(side, pair)
    });
    let (_, pairs, _) = run(&mut launcher, &options(80, 10), Vec::new(), &mut |_| false);
    let settings = AbSettings::default();
    let metrics = judge_pairs(Evidence { pairs: &pairs, rounds: &[], outcome: None }, &settings);
    let decode = metrics.iter().find(|m| m.metric == bakeoff::metrics::MetricId::DecodeTokensPerS).unwrap();
    assert_eq!(decode.verdict, PerfVerdict::Regressed, "{decode:?}");
    let change = decode.change.unwrap();
    assert!((change.relative + 0.03).abs() < 0.01, "{change:?}");
    // The same samples judged as two separate runs see only the drift.
    let side = |s: Side| pairs.iter().filter_map(|p| p.side(s).metrics.decode_tokens_per_s).collect::<Vec<_>>();
    let unpaired = bootstrap(&side(Side::Baseline), &side(Side::Candidate), |v| quantile(v, 0.5)).unwrap();
    assert_eq!(decide(&unpaired, false, 0.02), PerfVerdict::NoChange, "{unpaired:?}");
}

#[test]
fn the_length_rule_stops_a_clear_change_early_and_an_unclear_one_at_the_cap() {
    let settings = AbSettings::default();
    let mut decided = |pairs: &[Pair]| length_decided(pairs, &[], &settings);
    let mut clear = MockPairLauncher::new(|side, _, pair| {
        let jitter = 1.0 + 0.002 * ((pair % 5) as f64 - 2.0);
        if side == Side::Candidate {
            80.0 * jitter
        } else {
            100.0
        }
    });
    let (outcome, pairs, _) = run(&mut clear, &options(200, 10), Vec::new(), &mut decided);
    assert_eq!(outcome.end, LengthEnd::Decided);
    assert!(pairs.len() < 200, "{}", pairs.len());
    // Each round's processes differ by up to +-3% and agree closely inside a round: one
    // round alone would look decided; over rounds the interval stays across the
    // thresholds, so the cell runs to its cap.
    let mut unclear = MockPairLauncher::new(|side, round, _| {
        let offset = [0.03, -0.03, 0.025, -0.02, 0.03, -0.03][round % 6];
        if side == Side::Candidate {
            100.0 * (1.0 + offset)
        } else {
            100.0
        }
    });
    let (outcome, pairs, _) = run(&mut unclear, &options(60, 10), Vec::new(), &mut decided);
    assert_eq!((outcome.end, pairs.len()), (LengthEnd::MaxPairs, 60));
}

#[test]
fn a_crash_fails_the_cell_and_keeps_every_pair_before_it() {
    let mut launcher = MockPairLauncher::new(|_, _, _| 100.0);
    launcher.crash = Some((Side::Candidate, 7));
    let (outcome, pairs, records) = run(&mut launcher, &options(20, 5), Vec::new(), &mut |_| false);
    assert_eq!(outcome.status, CellStatus::Failed);
    assert_eq!(outcome.end, LengthEnd::Failed);
    assert_eq!(outcome.candidate.reason.as_deref(), Some("mock crash"));
    assert_eq!(pairs.len(), 7);
    assert_eq!(pairs_by_cell(&records)[&key()].len(), 7, "no half pair recorded");
}

#[test]
fn a_resumed_cell_continues_its_pair_and_round_numbers() {
    let mut launcher = MockPairLauncher::new(|_, _, _| 100.0);
    let (_, first, _) = run(&mut launcher, &options(10, 5), Vec::new(), &mut |_| false);
    let mut again = MockPairLauncher::new(|_, _, _| 100.0);
    let (outcome, all, records) = run(&mut again, &options(20, 5), first.clone(), &mut |_| false);
    assert_eq!(outcome.pairs, 20);
    assert_eq!(all[..10], first[..]);
    let new: Vec<(usize, usize)> = pairs_by_cell(&records)[&key()].iter().map(|p| (p.index, p.round)).collect();
    assert_eq!(new, (10..20).map(|i| (i, i / 5)).collect::<Vec<_>>());
    // The order of a pair is the same whichever attempt takes it.
    let opts = options(20, 5);
    assert!(all.iter().all(|p| p.first == Some(opts.first_side(p.index))));
}

#[test]
fn every_round_records_both_processes_and_their_compiles_are_judged_over_rounds() {
    // The candidate's cold compile is 30% slower, each process with its own +-5%.
    let mut launcher = MockPairLauncher::new(|_, _, _| 100.0);
    launcher.compile = std::rc::Rc::new(|side, round| {
        let own = 1.0 + 0.05 * (((round * 5 + side as usize * 3) % 7) as f64 / 3.0 - 1.0);
        if side == Side::Candidate {
            130.0 * own
        } else {
            100.0 * own
        }
    });
    let (outcome, pairs, records) = run(&mut launcher, &options(50, 5), Vec::new(), &mut |_| false);
    assert_eq!(outcome.status, CellStatus::Completed);
    let rounds = rounds_by_cell(&records).remove(&key()).unwrap();
    assert_eq!(rounds.iter().map(|r| r.round).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    assert!(rounds.iter().all(|r| r.candidate.cold_compile_ms.unwrap() > r.baseline.cold_compile_ms.unwrap()));
    // Neither side always compiles first: each block of two rounds starts one side first by
    // a coin, then the other, and each round records it.
    let starts = launcher.starts.borrow().clone();
    let first_of_round: Vec<Side> = starts.chunks(2).map(|c| c[0].0).collect();
    for (block, firsts) in first_of_round.chunks(2).enumerate() {
        assert_eq!(firsts[1], firsts[0].other(), "block {block}: {first_of_round:?}");
    }
    assert_eq!(rounds.iter().map(|r| r.first.unwrap()).collect::<Vec<_>>(), first_of_round);
    assert!(first_of_round.contains(&Side::Baseline) && first_of_round.contains(&Side::Candidate), "{starts:?}");
    let settings = AbSettings::default();
    let judged = judge_pairs(Evidence { pairs: &pairs, rounds: &rounds, outcome: None }, &settings);
    let cold = judged.iter().find(|m| m.metric == bakeoff::metrics::MetricId::ColdCompileMs).unwrap();
    assert_eq!(cold.method, "round ratios (Hodges-Lehmann)");
    assert_eq!(cold.verdict, PerfVerdict::Regressed, "{cold:?}");
    assert!((cold.change.unwrap().relative - 0.30).abs() < 0.05, "{cold:?}");
    // Its figures are the median over each side's rounds, as a run's one process's value.
    let median = |side: Side| {
        let mut v: Vec<f64> = rounds.iter().map(|r| r.side(side).cold_compile_ms.unwrap()).collect();
        v.sort_by(f64::total_cmp);
        (v[4] + v[5]) / 2.0
    };
    assert_eq!((cold.baseline, cold.candidate), (Some(median(Side::Baseline)), Some(median(Side::Candidate))));
    // A per-process metric named in [ab.length] is decided over the rounds so far.
    let mut by_compile = AbSettings::default();
    by_compile.length.metrics = vec!["cold_compile_ms".into()];
    assert!(length_decided(&pairs, &rounds, &by_compile));
    assert!(!length_decided(&pairs, &rounds[..2], &by_compile), "two rounds decide nothing");
    // Nor half a block: the rule waits for both start orders of the last block.
    assert!(!length_decided(&pairs[..45], &rounds[..9], &by_compile), "nine rounds are four blocks and a half");
}

#[test]
fn a_round_a_side_fails_in_records_no_round_figures() {
    let mut launcher = MockPairLauncher::new(|_, _, _| 100.0);
    launcher.crash = Some((Side::Candidate, 7));
    let (outcome, pairs, records) = run(&mut launcher, &options(40, 5), Vec::new(), &mut |_| false);
    assert_eq!(outcome.status, CellStatus::Failed);
    assert_eq!(pairs.len(), 7);
    let rounds = rounds_by_cell(&records).remove(&key()).unwrap();
    assert_eq!(rounds.len(), 1, "only the first round completed: {rounds:?}");
}

#[test]
fn with_steps_interleaved_both_sides_prefill_then_alternate_step_by_step_in_a_recorded_order() {
    let mut launcher = MockPairLauncher::new(|_, _, _| 100.0);
    let opts = PairOptions { schedule: Schedule::Steps, ..options(6, 3) };
    let (outcome, pairs, records) = run(&mut launcher, &opts, Vec::new(), &mut |_| false);
    assert_eq!((outcome.status, pairs.len()), (CellStatus::Completed, 6));
    let tokens = spec().max_new_tokens;
    let steps = launcher.step_requests.borrow().clone();
    assert_eq!(steps.len(), pairs.len() * 2 * (tokens - 1), "every decode step of both sides asked for once");
    for (i, pair) in pairs.iter().enumerate() {
        // Both prefilled (one generation request each, the pair's first side first).
        let first = opts.first_side(i);
        assert_eq!(launcher.requests.borrow()[2 * i..2 * i + 2], [(first, i), (first.other(), i)]);
        // Then step pair k gives each side step k, the seeded side first, as recorded.
        let order = pair.steps.clone().expect("a stepped pair records its order");
        assert_eq!(order.len(), tokens - 1);
        let mine: Vec<_> = steps.iter().filter(|(_, p, _)| *p == i).collect();
        for (k, letter) in order.chars().enumerate() {
            let lead = opts.step_first_side(i, k + 1);
            assert_eq!(letter, lead.letter());
            assert_eq!(*mine[2 * k], (lead, i, k + 1));
            assert_eq!(*mine[2 * k + 1], (lead.other(), i, k + 1));
        }
    }
    let leads: String = pairs.iter().filter_map(|p| p.steps.clone()).collect();
    let baseline_first = leads.chars().filter(|&c| c == 'b').count();
    assert!(baseline_first > 0 && baseline_first < leads.len(), "a coin per step: {leads}");
    // results.jsonl keeps the order on both samples, and reads back the same.
    let read = pairs_by_cell(&records);
    assert_eq!(
        read[&key()].iter().map(|p| p.steps.clone()).collect::<Vec<_>>(),
        pairs.iter().map(|p| p.steps.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn a_mixed_schedule_takes_each_pair_either_way_by_its_coin() {
    let mut launcher = MockPairLauncher::new(|_, _, _| 100.0);
    let opts = PairOptions { schedule: Schedule::Mixed, ..options(40, 10) };
    let (_, pairs, _) = run(&mut launcher, &opts, Vec::new(), &mut |_| false);
    for (i, p) in pairs.iter().enumerate() {
        assert_eq!(p.steps.is_some(), opts.pair_by_steps(i), "pair {i}");
    }
    let stepped = pairs.iter().filter(|p| p.steps.is_some()).count();
    assert!((8..=32).contains(&stepped), "a fair coin over 40 pairs: {stepped}");
    let compared = bakeoff::decide::schedules::compare_schedules(&pairs).expect("both schedules present");
    assert_eq!(compared.schedules.iter().map(|s| s.pairs).sum::<usize>(), 40);
}

/// A recorded A/A run of the mock: each round's processes differ by a fixed offset, each
/// pair has its own jitter.
fn recorded_a_a(rounds: usize) -> Vec<Record> {
    let mut launcher = MockPairLauncher::new(|side, round, pair| {
        let process = 1.0 + 0.004 * (((round * 5 + side as usize * 3) % 7) as f64 - 3.0);
        let jitter = 1.0 + 0.01 * (((pair * 13 + side as usize * 7) % 9) as f64 / 4.0 - 1.0);
        100.0 * process * jitter
    });
    let (_, _, records) = run(&mut launcher, &options(rounds * 10, 10), Vec::new(), &mut |_| false);
    let outcome = bakeoff::results::pairs::AbCellRecord {
        cell: key(),
        status: CellStatus::Completed,
        baseline: bakeoff::results::CellRecord::new(&key(), CellStatus::Completed),
        candidate: bakeoff::results::CellRecord::new(&key(), CellStatus::Completed),
        pairs: rounds * 10,
        end: LengthEnd::MaxPairs,
        schedule: Schedule::Alternate,
        seed: 7,
        cache_probe: None,
    };
    records.into_iter().chain([Record::Ab(Box::new(outcome))]).collect()
}

#[test]
fn a_replay_of_recorded_a_a_rounds_flags_an_injected_change_and_rarely_no_change() {
    use bakeoff::decide::power::{replay, ReplayPool};
    let records = recorded_a_a(12);
    let pool = ReplayPool::of(&records, None).unwrap();
    assert_eq!((pool.rounds.len(), pool.pairs_per_round), (12, 10));
    let settings = AbSettings::default();
    let table = replay(&pool, &settings, &[0.0, 0.10], 40, 3, 2);
    let (none, ten) = (&table[0], &table[1]);
    assert_eq!((none.trials, ten.trials), (40, 40));
    assert!(none.fired <= 4, "false alarms: {none:?}");
    assert_eq!(ten.fired, 40, "a 10% slowdown on a 1% noise is seen every time: {ten:?}");
    let change = ten.median_decode_change.unwrap();
    assert!((change + 0.0909).abs() < 0.01, "decode tokens/s divided by 1.10: {change}");
    // The same seed gives the same table, on any number of threads.
    let again = replay(&pool, &settings, &[0.0, 0.10], 40, 3, 1);
    assert_eq!(again[1].median_decode_change, ten.median_decode_change);
    assert_eq!((again[0].fired, again[1].median_pairs), (none.fired, ten.median_pairs));
    // Too few timed rounds cannot be replayed, and the error says why.
    let err = ReplayPool::of(&recorded_a_a(6), None).unwrap_err();
    assert!(
        err.contains("6 complete timed rounds of 10 pairs, 3 of the rarer start order")
            && err.contains("at least 5 of each"),
        "{err}"
    );
}

#[test]
fn calibrate_projects_a_narrower_interval_for_a_longer_budget_and_never_below_the_threshold() {
    use bakeoff::decide::power::calibrate;
    let records = recorded_a_a(12);
    let pairs = pairs_by_cell(&records).remove(&key()).unwrap();
    let mut rounds = rounds_by_cell(&records).remove(&key()).unwrap();
    rounds.iter_mut().for_each(|r| r.seconds = Some(15.0));
    let settings = AbSettings::default();
    let short = calibrate(&key(), &pairs, &rounds, &settings, (2.5, 0.03)).unwrap();
    let long = calibrate(&key(), &pairs, &rounds, &settings, (8.0, 0.01)).unwrap();
    let capped = calibrate(&key(), &pairs, &rounds, &settings, (60.0, 0.01)).unwrap();
    assert_eq!((short.blocks, short.budget_blocks, long.budget_blocks), (6, 5, 16), "30 s a block");
    assert_eq!(capped.budget_blocks, 20, "400 pairs, 20 pairs a block, at most");
    let decode = |c: &bakeoff::decide::power::Calibration| {
        c.projections.iter().find(|p| p.metric == bakeoff::metrics::MetricId::DecodeTokensPerS).unwrap().clone()
    };
    let (s, l) = (decode(&short), decode(&long));
    assert!(s.detectable > s.threshold && s.detectable_90 > s.detectable, "{s:?}");
    assert!(l.detectable < s.detectable, "more blocks, a narrower interval: {l:?} {s:?}");
    assert!(s.minutes_for_effect.is_some_and(|m| m > 0.0), "3% against decode's 1% threshold: {s:?}");
    assert_eq!(l.minutes_for_effect, None, "1% is at decode's 1% threshold: never flagged");
    // Fewer than five blocks cannot be projected, and the error says so.
    let few: Vec<Pair> = pairs.iter().filter(|p| p.round < 8).cloned().collect();
    let err = calibrate(&key(), &few, &rounds, &settings, (2.5, 0.03)).unwrap_err();
    assert!(err.contains("4 blocks of rounds") && err.contains("at least 5"), "{err}");
}
