//! `reports/examples/smoke`, the run the README shows, is in the current format: every
//! report bakeoff makes from its records today is byte for byte the one checked in. When a
//! report's format changes, this fails until `make examples` makes them again. No model
//! and no runtime: the records are the example's own.

use std::path::Path;

/// The files of the example that are inputs (the run's records), copied to summarize anew.
const INPUTS: [&str; 3] = ["results.jsonl", "scenario.toml", "fingerprint.json"];

/// The reports checked against what bakeoff makes now.
const REPORTS: [&str; 10] = [
    "summary.md",
    "summary.csv",
    "summary.json",
    "report.html",
    "junit.xml",
    "correctness.json",
    "chart_tokens_per_s.svg",
    "chart_itl.svg",
    "chart_cost.svg",
    "chart_efficiency.svg",
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn the_checked_in_example_is_what_this_bakeoff_makes_from_its_records() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/examples/smoke");
    let tmp = tempfile::tempdir().unwrap();
    for f in INPUTS {
        std::fs::copy(example.join(f), tmp.path().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    copy_dir(&example.join("golden"), &tmp.path().join("golden"));
    bakeoff::commands::summarize(tmp.path()).unwrap();
    for f in REPORTS {
        let (now, shipped) = (std::fs::read(tmp.path().join(f)).unwrap(), std::fs::read(example.join(f)).unwrap());
        assert!(
            now == shipped,
            "reports/examples/smoke/{f} is not what this bakeoff makes from the example's records: run `make examples`"
        );
    }
    // A real run of the whole smoke matrix: both pipelines, every device, every profile.
    let md = std::fs::read_to_string(example.join("summary.md")).unwrap();
    assert!(md.contains("18 cells: 12 completed, 0 failed, 6 skipped"), "{md}");
}
