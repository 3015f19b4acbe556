//! Profiles speak the names users already have: openvino-genai's NPU keys map to their
//! NPUW_LLM names (shown with their origin), an unknown key gets the nearest known name,
//! and an llm_bench load config imports as a profile. No model, no runtime.

use std::process::Output;

fn bakeoff(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_bakeoff")).args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn genai_names_resolve_to_npuw_keys_and_show_where_they_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, "[mine]\n[mine.NPU.kvcache]\nNPU_USE_NPUW = true\nNPUW_LLM = true\nMAX_PROMPT_LEN = 1536\nGENERATE_HINT = \"BEST_PERF\"\n").unwrap();
    let o = bakeoff(&["profiles", "show", "mine", "--device", "NPU:host", "--profiles-file", file.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let line =
        |key: &str| out.lines().find(|l| l.trim_start().starts_with(key)).unwrap_or_else(|| panic!("{key}: {out}"));
    assert!(
        line("NPUW_LLM_MAX_PROMPT_LEN").contains("1536")
            && line("NPUW_LLM_MAX_PROMPT_LEN").contains("given as GenAI's MAX_PROMPT_LEN"),
        "{out}"
    );
    assert!(line("NPUW_LLM_GENERATE_HINT").contains("BEST_PERF"), "{out}");
    assert!(!out.contains("  MAX_PROMPT_LEN"), "only the NPUW name reaches the compile: {out}");

    // Both names of one key in one table: refused, naming both.
    std::fs::write(&file, "[mine.NPU.kvcache]\nMAX_PROMPT_LEN = 1536\nNPUW_LLM_MAX_PROMPT_LEN = 1024\n").unwrap();
    let (_, err) = text(&bakeoff(&["profiles", "--profiles-file", file.to_str().unwrap()]));
    assert!(err.contains("sets both `MAX_PROMPT_LEN` and `NPUW_LLM_MAX_PROMPT_LEN`"), "{err}");

    // A typo: the nearest known name.
    std::fs::write(&file, "[mine.NPU.kvcache]\nNPUW_LLM_MAX_PROMT_LEN = 1024\n").unwrap();
    let o = bakeoff(&["profiles", "--profiles-file", file.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(bakeoff::exit::INPUT_ERROR));
    assert!(
        err.contains("unknown property key `NPUW_LLM_MAX_PROMT_LEN` for NPU (did you mean `NPUW_LLM_MAX_PROMPT_LEN`?)"),
        "{err}"
    );
}

#[test]
fn an_llm_bench_load_config_imports_as_a_profile_that_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("npu.json");
    std::fs::write(&config, r#"{"MAX_PROMPT_LEN": 1024, "MIN_RESPONSE_LEN": 128, "PREFILL_HINT": "STATIC", "NPU_USE_NPUW": "YES", "NPUW_LLM": "YES"}"#).unwrap();
    let o = bakeoff(&["profiles", "import", config.to_str().unwrap(), "--name", "from-llm-bench"]);
    let (toml, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(toml.contains("[from-llm-bench.NPU.kvcache]") && toml.contains("MAX_PROMPT_LEN = 1024"), "{toml}");
    let file = tmp.path().join("imported.toml");
    std::fs::write(&file, &toml).unwrap();
    let o =
        bakeoff(&["profiles", "show", "from-llm-bench", "--device", "NPU", "--profiles-file", file.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("NPUW_LLM_PREFILL_HINT") && out.contains("STATIC"), "{out}");

    // What a profile cannot hold is named.
    std::fs::write(&config, r#"{"MAX_PROMPT_LEN": 1024, "PREFILL_CONFIG": {"NPUW_DQ": "YES"}}"#).unwrap();
    let (_, err) = text(&bakeoff(&["profiles", "import", config.to_str().unwrap(), "--name", "x"]));
    assert!(err.contains("npu.json") && err.contains("`PREFILL_CONFIG`"), "{err}");
    std::fs::write(&config, r#"{"MAX_PROMPT_LENGTH": 1024}"#).unwrap();
    let (_, err) = text(&bakeoff(&["profiles", "import", config.to_str().unwrap(), "--name", "x"]));
    assert!(err.contains("did you mean `MAX_PROMPT_LEN`?"), "{err}");
}
