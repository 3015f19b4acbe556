//! Sweeps in scenarios: the shipped NPU sweep lists its generated cells (one NPUW key at a
//! time from balanced, named after the difference), a combination the plugin's rules forbid
//! and a grid that explodes are input errors naming the sweep before anything runs, and the
//! scenario written back (as `ab` and a run folder keep it) generates the same profiles.

mod common;

use bakeoff::scenario::LoadedScenario;

fn list(scenario: &std::path::Path) -> std::process::Output {
    common::bakeoff(&["run", scenario.to_str().unwrap(), "--list"])
}

#[test]
fn the_shipped_sweep_lists_one_cell_per_value_named_after_its_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_copy("npu-sweep.toml", tmp.path(), "");
    let o = list(&s);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let profiles: Vec<&str> = out.lines().filter_map(|l| l.split('/').nth(3)).collect();
    assert_eq!(profiles.len(), 11, "{out}");
    for expected in ["balanced", "balanced+chunk=256", "balanced+prefill_attn=DYNAMIC", "balanced+pyramid=NO"] {
        assert!(profiles.contains(&expected), "{expected}: {out}");
    }
    // Eight NPUW keys explored, each profile differing from balanced in one of them.
    let keys: std::collections::BTreeSet<&str> =
        profiles.iter().filter_map(|p| p.split_once('+')).map(|(_, d)| d.split('=').next().unwrap()).collect();
    assert_eq!(keys.len(), 8, "{keys:?}");

    // Written back as TOML (what `ab` and the run folder keep), the same profiles.
    let loaded = LoadedScenario::load(&s).unwrap();
    let again = LoadedScenario::parse(&s, toml::to_string(&loaded.scenario).unwrap()).unwrap();
    assert_eq!(again.matrix_profiles, loaded.matrix_profiles);
}

#[test]
fn forbidden_combinations_and_exploding_grids_are_input_errors_naming_the_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        // balanced's prompt window is 2048 tokens: a 4096-token prefill chunk cannot split it.
        ("NPUW_LLM_PREFILL_CHUNK_SIZE = [0, 256]", "NPUW_LLM_PREFILL_CHUNK_SIZE = [4096]",
         "sweep[0]: profile `balanced+chunk=4096`: NPUW_LLM_PREFILL_CHUNK_SIZE = 4096 is above NPUW_LLM_MAX_PROMPT_LEN = 2048"),
        ("NPUW_LLM_PREFILL_CHUNK_SIZE = [0, 256]", "NPUW_LLM_PREFILL_CHUNK_SIZE = [0, 300]",
         "sweep[0].values.NPUW_LLM_PREFILL_CHUNK_SIZE: NPUW_LLM_PREFILL_CHUNK_SIZE must be a power of two"),
        ("mode = \"one_at_a_time\"", "mode = \"one_at_a_time\"\nsteps = 3",
         "unknown field `steps`, expected one of `base`, `mode`, `device`, `section`, `values`"),
    ];
    for (i, (from, to, expected)) in cases.iter().enumerate() {
        let s = common::scenario_copy("npu-sweep.toml", tmp.path(), "");
        let text = std::fs::read_to_string(&s).unwrap();
        assert!(text.contains(from), "{from}");
        let bad = tmp.path().join(format!("bad{i}.toml"));
        std::fs::write(&bad, text.replace(from, to)).unwrap();
        let o = list(&bad);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR), "{expected}: {err}");
        assert!(err.contains(&format!("bad{i}.toml")) && err.contains(expected), "{expected}: {err}");
    }
    // A grid of 320 profiles (sizes in key order): refused with its size and what to do instead.
    let s = common::scenario_copy("npu-sweep.toml", tmp.path(), "");
    let grid = "[[sweep]]\nbase = \"balanced\"\n[sweep.values]\n\
                NPUW_LLM_PREFILL_CHUNK_SIZE = [0, 64, 128, 256]\n\
                NPUW_LLM_PREFILL_ATTENTION_HINT = [\"DYNAMIC\", \"STATIC\", \"PYRAMID\", \"HFA\"]\n\
                NPUW_LLM_GENERATE_ATTENTION_HINT = [\"DYNAMIC\", \"STATIC\", \"PYRAMID\", \"HFA\"]\n\
                NPUW_LLM_MIN_RESPONSE_LEN = [64, 128, 256, 512, 1024]\n";
    let text = std::fs::read_to_string(&s).unwrap().replace("[generation]", &format!("{grid}\n[generation]"));
    let big = tmp.path().join("big.toml");
    std::fs::write(&big, text).unwrap();
    let o = list(&big);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR), "{err}");
    assert!(err.contains("sweep[1]: 320 profiles (4 x 5 x 4 x 4) is more than 256"), "{err}");
}
