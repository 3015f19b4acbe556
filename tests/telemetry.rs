//! Energy per token end to end, on a fake sysfs tree whose RAPL counter a thread of this
//! test advances like a real package would (and wraps, as a real counter does at its
//! `max_energy_range_uj`): the cell reads it around each phase, the summary, the efficiency
//! chart and recommend use it. The real machine's sysfs is never touched.
//!
//! The counter's range is large, as a real one is (a real package's 262 kJ wraps after
//! about 40 minutes at 100 W): a counter read only around a phase cannot see a wrap that
//! happened twice within the phase, so a range smaller than one phase's energy would make
//! the figures depend on how fast this machine decodes. The counter starts just below its
//! range so that it wraps early in the run; the wrap arithmetic itself is unit-tested on
//! fixed readings.

mod common;

use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The counter's range: 2^32 µJ (about 4.3 kJ, 7 minutes at the fake 10 W), far beyond
/// the energy of any one phase of this test's cells.
const MAX_RANGE_UJ: u64 = 1 << 32;
/// Where the counter starts: 20 J below its range, so it wraps two seconds into the run.
const START_UJ: u64 = MAX_RANGE_UJ - 20_000_000;
/// The fake package draws 10 mJ each millisecond: 10 W.
const STEP_UJ: u64 = 10_000;

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A fake /sys with one RAPL package, and the thread that advances its counter until `stop`.
fn fake_package(root: &Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let dir = root.join("class/powercap/intel-rapl:0");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("max_energy_range_uj"), format!("{MAX_RANGE_UJ}\n")).unwrap();
    let energy = dir.join("energy_uj");
    write_atomically(&energy, &format!("{START_UJ}\n"));
    std::thread::spawn(move || {
        let mut uj = START_UJ;
        let started = std::time::Instant::now();
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
            // Energy follows wall time, so the fake power is 10 W however the sleeps drift.
            let target = START_UJ + started.elapsed().as_millis() as u64 * STEP_UJ;
            if target > uj {
                uj = target;
                write_atomically(&energy, &format!("{}\n", uj % MAX_RANGE_UJ));
            }
        }
    })
}

#[test]
fn energy_per_token_comes_from_rapl_around_each_phase_and_drives_recommend() {
    let model = common::smollm2();
    let tmp = tempfile::tempdir().unwrap();
    let sysfs = tmp.path().join("sys");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = fake_package(&sysfs, stop.clone());

    let scenario = tmp.path().join("energy.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"energy\"\n[[models]]\npath = \"{}\"\n[[prompts.inline]]\nid = \"capital\"\n\
             prompt = \"What is the capital of France?\"\n[matrix]\npipelines = [\"kvcache\"]\n\
             devices = [\"CPU\"]\nprofiles = [\"balanced\", \"reference\"]\n[generation]\n\
             max_new_tokens = 16\nignore_eos = true\n[measure]\nwarmup = 1\nrepetitions = 3\n",
            model.root.display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("run");
    let root = sysfs.to_str().unwrap();
    let o = common::bakeoff_env(
        &["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()],
        &[("BAKEOFF_TEST_SYSFS_ROOT", root)],
    );
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));

    let fp: Value = serde_json::from_slice(&std::fs::read(out.join("fingerprint.json")).unwrap()).unwrap();
    assert_eq!(fp["telemetry"]["energy"], "readable: RAPL package energy (intel-rapl:0)");
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for c in summary["cells"].as_array().unwrap() {
        let m = &c["metrics"];
        let f = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {c}"));
        // The fake package draws 10 W; a decode lasts a hundred milliseconds or more, so its
        // average power is 10 W within the counter's 1 ms steps (wide bounds: the writer
        // thread shares two cores with inference and may lag). The counter wrapped during
        // the run: a wrap counted wrong would give a phase about 4 kJ, or none.
        assert!((2.0..=30.0).contains(&f("decode_watts")), "decode_watts {}: {c}", f("decode_watts"));
        assert!(f("joules_per_token") > 0.0, "{c}");
        // A prefill is tens of ms: the writer may not have run in it, so only its presence
        // and sign are certain.
        assert!(f("prefill_joules") >= 0.0 && f("prefill_watts") >= 0.0, "{c}");
        assert!(m.get("decode_npu_busy_pct").is_none(), "a CPU cell: no NPU figure: {c}");
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("joules_per_token (J)") && !md.contains("never zero"), "{md}");
    let svg = std::fs::read_to_string(out.join("chart_efficiency.svg")).unwrap();
    assert!(svg.contains("package energy per decode token"), "the chart plots energy when there is energy");

    let o = common::bakeoff(&["recommend", out.to_str().unwrap(), "--prefer", "energy", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let rec: Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &rec["recommendations"][0];
    let (best, other) = {
        let cands = r["candidates"].as_array().unwrap();
        (cands[0].clone(), cands[1].clone())
    };
    assert_eq!(r["best"], best["profile"]);
    assert!(best["joules_per_token"].as_f64() <= other["joules_per_token"].as_f64(), "{r:#}");
    assert!(other["lost"].as_str().unwrap().starts_with("more energy"), "{r:#}");
    let o = common::bakeoff(&[
        "recommend",
        out.to_str().unwrap(),
        "--max-joules-per-token",
        "0.0000001",
        "--format",
        "json",
    ]);
    let rec: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rec["recommendations"][0]["best"], Value::Null, "no profile draws that little");
}
