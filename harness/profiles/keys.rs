//! The property keys bakeoff knows, per device, with the values each allows. Every profile
//! key is checked here before a compile, so a typo or an invented key (such as
//! `NPU_LOW_MEMORY_MODE`, which circulates in notes but no plugin has) is an error naming it
//! instead of a silent no-op. Sources: the CPU plugin's properties, the intel_npu plugin's
//! `npuw_option_defs.inc`.

/// What values a key takes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// YES / NO (TOML booleans are accepted and written as YES / NO).
    Bool,
    /// A non-negative integer.
    UInt,
    /// A power of two up to [`MAX_TOKENS`], or 0 (off).
    PowerOfTwoOrZero,
    /// A number of tokens up to [`MAX_TOKENS`]: NPUW sizes its static prefill and KV cache
    /// by these, so an absurd value is an allocation of that size at compile. (0 is the
    /// plugin's to refuse: its compile fails, and the cell records why.)
    Tokens,
    /// One of a fixed set.
    OneOf(&'static [&'static str]),
    /// Free text (paths, device lists).
    Text,
}

impl Kind {
    /// What is allowed, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Kind::Bool => "YES or NO".into(),
            Kind::UInt => "a non-negative integer".into(),
            Kind::PowerOfTwoOrZero => format!("a power of two up to {MAX_TOKENS}, or 0 for off"),
            Kind::Tokens => format!("a number of tokens up to {MAX_TOKENS}"),
            Kind::OneOf(values) => format!("one of {}", values.join(", ")),
            Kind::Text => "a string".into(),
        }
    }
}

/// A known property key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The exact property name OpenVINO takes.
    pub name: &'static str,
    /// Its values.
    pub kind: Kind,
    /// Devices whose plugin accepts it.
    pub devices: &'static [&'static str],
}

/// The largest token count a property may name: the longest context of the models bakeoff
/// runs.
pub const MAX_TOKENS: u64 = crate::model::MAX_CONTEXT_TOKENS as u64;

const HINTS: &[&str] = &["LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT"];
const PRECISIONS: &[&str] = &["f32", "bf16", "f16"];
const KV_PRECISIONS: &[&str] = &["f32", "bf16", "f16", "u8", "i8", "u4"];
/// How NPUW builds attention in its prefill and generate models (the pinned plugin's
/// defaults: PYRAMID for prefill, STATIC for generate).
const ATTENTION_HINTS: &[&str] = &["DYNAMIC", "STATIC", "PYRAMID", "HFA"];
const CPU: &[&str] = &["CPU"];
const NPU: &[&str] = &["NPU"];
const BOTH: &[&str] = &["CPU", "NPU"];

/// Every key a profile may set.
pub const KNOWN_KEYS: &[Key] = &[
    Key { name: "PERFORMANCE_HINT", kind: Kind::OneOf(HINTS), devices: BOTH },
    Key { name: "CACHE_DIR", kind: Kind::Text, devices: BOTH },
    Key { name: "INFERENCE_PRECISION_HINT", kind: Kind::OneOf(PRECISIONS), devices: BOTH },
    Key { name: "EXECUTION_MODE_HINT", kind: Kind::OneOf(&["PERFORMANCE", "ACCURACY"]), devices: BOTH },
    Key { name: "INFERENCE_NUM_THREADS", kind: Kind::UInt, devices: CPU },
    Key { name: "NUM_STREAMS", kind: Kind::UInt, devices: CPU },
    Key { name: "ENABLE_CPU_PINNING", kind: Kind::Bool, devices: CPU },
    Key { name: "ENABLE_HYPER_THREADING", kind: Kind::Bool, devices: CPU },
    Key { name: "KV_CACHE_PRECISION", kind: Kind::OneOf(KV_PRECISIONS), devices: CPU },
    Key { name: "KEY_CACHE_PRECISION", kind: Kind::OneOf(KV_PRECISIONS), devices: CPU },
    Key { name: "VALUE_CACHE_PRECISION", kind: Kind::OneOf(KV_PRECISIONS), devices: CPU },
    Key { name: "DYNAMIC_QUANTIZATION_GROUP_SIZE", kind: Kind::UInt, devices: CPU },
    Key { name: "NPU_TURBO", kind: Kind::Bool, devices: NPU },
    Key { name: "NPU_USE_NPUW", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_DEVICES", kind: Kind::Text, devices: NPU },
    Key { name: "NPUW_LLM", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_BATCH_DIM", kind: Kind::UInt, devices: NPU },
    Key { name: "NPUW_LLM_SEQ_LEN_DIM", kind: Kind::UInt, devices: NPU },
    Key { name: "NPUW_LLM_MAX_PROMPT_LEN", kind: Kind::Tokens, devices: NPU },
    Key { name: "NPUW_LLM_MIN_RESPONSE_LEN", kind: Kind::Tokens, devices: NPU },
    Key { name: "NPUW_LLM_PREFILL_HINT", kind: Kind::OneOf(&["DYNAMIC", "STATIC"]), devices: NPU },
    Key { name: "NPUW_LLM_GENERATE_HINT", kind: Kind::OneOf(&["FAST_COMPILE", "BEST_PERF"]), devices: NPU },
    Key { name: "NPUW_LLM_PREFILL_CHUNK_SIZE", kind: Kind::PowerOfTwoOrZero, devices: NPU },
    Key { name: "NPUW_LLM_PREFILL_ATTENTION_HINT", kind: Kind::OneOf(ATTENTION_HINTS), devices: NPU },
    Key { name: "NPUW_LLM_GENERATE_ATTENTION_HINT", kind: Kind::OneOf(ATTENTION_HINTS), devices: NPU },
    Key { name: "NPUW_LLM_ENABLE_BLOCK_BASED_KV_CACHE", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_ENABLE_CONTINUOUS_PREFILL", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_OPTIMIZE_V_TENSORS", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_SHARED_HEAD", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_CACHE_ROPE", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_GENERATE_PYRAMID", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_ENABLE_PREFIX_CACHING", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_LLM_PREFIX_CACHING_BLOCK_SIZE", kind: Kind::UInt, devices: NPU },
    Key { name: "NPUW_LLM_PREFIX_CACHING_MAX_NUM_BLOCKS", kind: Kind::UInt, devices: NPU },
    Key { name: "NPUW_LLM_MAX_GENERATION_TOKEN_LEN", kind: Kind::Tokens, devices: NPU },
    Key { name: "NPUW_LLM_MAX_LORA_RANK", kind: Kind::UInt, devices: NPU },
    Key { name: "NPUW_LLM_OPTIMIZE_FP8", kind: Kind::Bool, devices: NPU },
    // Mixture-of-experts routing hints: their values are the plugin's to check (a wrong one
    // fails the compile with its message).
    Key { name: "NPUW_LLM_PREFILL_MOE_HINT", kind: Kind::Text, devices: NPU },
    Key { name: "NPUW_LLM_GENERATE_MOE_HINT", kind: Kind::Text, devices: NPU },
    Key { name: "NPUW_FOLD", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_FUNCALL_FOR_ALL", kind: Kind::Bool, devices: NPU },
    // How NPUW partitions a model (NONE: one graph); the plugin checks the value.
    Key { name: "NPUW_ONLINE_PIPELINE", kind: Kind::Text, devices: NPU },
    Key { name: "NPUW_DQ", kind: Kind::Bool, devices: NPU },
    Key { name: "NPUW_WEIGHTS_BANK", kind: Kind::Text, devices: NPU },
    Key { name: "NPUW_CACHE_DIR", kind: Kind::Text, devices: NPU },
];

/// NPUW_LLM options of the pinned plugin a profile does not set, and why: each is a nested
/// property map for one of NPUW's sub-models (a table of tables, not a value), which a
/// profile's flat key = value tables cannot say and the plugin fills from the keys above.
pub const NOT_PROFILE_KEYS: &[&str] = &[
    "NPUW_LLM_PREFILL_CONFIG",
    "NPUW_LLM_GENERATE_CONFIG",
    "NPUW_LLM_SHARED_HEAD_CONFIG",
    "NPUW_LLM_ADDITIONAL_PREFILL_CONFIG",
    "NPUW_LLM_ADDITIONAL_GENERATE_CONFIG",
    "NPUW_LLM_ADDITIONAL_SHARED_LM_HEAD_CONFIG",
];

/// openvino-genai's own names for NPUW_LLM keys (its LLMPipeline renames them before the
/// compile), accepted in NPU profiles so a GenAI or llm_bench config can be reused as it is.
pub const GENAI_NAMES: &[(&str, &str)] = &[
    ("MAX_PROMPT_LEN", "NPUW_LLM_MAX_PROMPT_LEN"),
    ("MIN_RESPONSE_LEN", "NPUW_LLM_MIN_RESPONSE_LEN"),
    ("PREFILL_HINT", "NPUW_LLM_PREFILL_HINT"),
    ("GENERATE_HINT", "NPUW_LLM_GENERATE_HINT"),
];

/// Short names of the keys sweeps vary most, for generated profile names
/// (`balanced+chunk=256+pyramid=NO`); any other key is its name without `NPUW_LLM_`,
/// lowercased.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("NPUW_LLM_PREFILL_CHUNK_SIZE", "chunk"),
    ("NPUW_LLM_GENERATE_PYRAMID", "pyramid"),
    ("NPUW_LLM_PREFILL_HINT", "prefill"),
    ("NPUW_LLM_GENERATE_HINT", "generate"),
    ("NPUW_LLM_MAX_PROMPT_LEN", "prompt"),
    ("NPUW_LLM_MIN_RESPONSE_LEN", "response"),
    ("NPUW_LLM_PREFILL_ATTENTION_HINT", "prefill_attn"),
    ("NPUW_LLM_GENERATE_ATTENTION_HINT", "generate_attn"),
    ("NPUW_LLM_OPTIMIZE_V_TENSORS", "opt_v"),
    ("NPUW_LLM_ENABLE_BLOCK_BASED_KV_CACHE", "block_kv"),
    ("NPUW_LLM_ENABLE_CONTINUOUS_PREFILL", "continuous_prefill"),
    ("INFERENCE_NUM_THREADS", "threads"),
    ("INFERENCE_PRECISION_HINT", "precision"),
    ("KV_CACHE_PRECISION", "kv"),
    ("DYNAMIC_QUANTIZATION_GROUP_SIZE", "dq_group"),
];

/// The short name of `key` in generated profile names.
pub fn short_name(key: &str) -> String {
    match SHORT_NAMES.iter().find(|(k, _)| *k == key) {
        Some((_, short)) => short.to_string(),
        None => key.strip_prefix("NPUW_LLM_").unwrap_or(key).to_ascii_lowercase(),
    }
}

/// The rules between keys that one key's kind cannot say, from the NPU plugin's NPUW
/// sources: a prefill chunk (when on) is not longer than the prompt window it splits, and
/// prefix caching (which keeps whole KV blocks of earlier prompts) and the block-based KV
/// cache are two layouts of one cache, not both at once. A violation names both keys and
/// their values.
pub fn check_combination(properties: &[(String, String)]) -> Result<(), String> {
    let value = |key: &str| properties.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    if value("NPUW_LLM_ENABLE_PREFIX_CACHING") == Some("YES")
        && value("NPUW_LLM_ENABLE_BLOCK_BASED_KV_CACHE") == Some("YES")
    {
        return Err(
            "NPUW_LLM_ENABLE_PREFIX_CACHING = YES with NPUW_LLM_ENABLE_BLOCK_BASED_KV_CACHE = YES: prefix caching \
                    and the block-based KV cache are two layouts of one KV cache; enable one"
                .into(),
        );
    }
    let get = |key: &str| value(key).and_then(|v| v.parse::<u64>().ok());
    if let (Some(chunk), Some(prompt)) = (get("NPUW_LLM_PREFILL_CHUNK_SIZE"), get("NPUW_LLM_MAX_PROMPT_LEN")) {
        if chunk > prompt {
            return Err(format!(
                "NPUW_LLM_PREFILL_CHUNK_SIZE = {chunk} is above NPUW_LLM_MAX_PROMPT_LEN = {prompt}: a prefill chunk \
                 splits the prompt window, so it is at most as long (or 0 for no chunking)"
            ));
        }
    }
    Ok(())
}

/// `value` (as OpenVINO takes it) as a profile file writes it for `key`: an integer for
/// the numeric kinds, a boolean for YES / NO, text otherwise; [`normalize`] of it gives
/// `value` back.
pub fn toml_value(key: &str, value: &str) -> toml::Value {
    let kind = find(key).map(|k| k.kind);
    match (kind, value.parse::<i64>()) {
        (Some(Kind::UInt | Kind::Tokens | Kind::PowerOfTwoOrZero), Ok(n)) => toml::Value::Integer(n),
        (Some(Kind::Bool), _) if value == "YES" || value == "NO" => toml::Value::Boolean(value == "YES"),
        _ => toml::Value::String(value.to_string()),
    }
}

/// The known key called `name`.
pub fn find(name: &str) -> Option<&'static Key> {
    KNOWN_KEYS.iter().find(|k| k.name == name)
}

/// The properties as openvino-genai's `LLMPipeline` takes them: a key GenAI has its own
/// name for, and reads as an integer (the prompt and response lengths), under that name as
/// a number; every other key under its own name as text (GenAI passes those to the plugin).
pub fn genai_config(properties: &[(String, String)]) -> serde_json::Map<String, serde_json::Value> {
    properties
        .iter()
        .map(|(key, value)| {
            let genai = GENAI_NAMES.iter().find(|(_, canonical)| canonical == key).map(|(alias, _)| *alias);
            let integer = find(key)
                .is_some_and(|k| matches!(k.kind, Kind::UInt | Kind::Tokens))
                .then(|| value.parse::<u64>().ok())
                .flatten();
            match (genai, integer) {
                (Some(alias), Some(n)) => (alias.to_string(), n.into()),
                _ => (key.clone(), value.clone().into()),
            }
        })
        .collect()
}

/// The key `name` means on `device`, and the GenAI name it was given as, if it was one.
pub fn resolve_name(device: &str, name: &str) -> Option<(&'static Key, Option<&'static str>)> {
    if let Some(k) = find(name).filter(|k| k.devices.contains(&device)) {
        return Some((k, None));
    }
    let (alias, canonical) = GENAI_NAMES.iter().find(|(alias, _)| *alias == name && device == "NPU")?;
    Some((find(canonical)?, Some(*alias)))
}

/// The known name (or GenAI name) on `device` nearest to `name`, when one is near enough
/// to be a typo of it (at most a third of its letters differ).
pub fn nearest(device: &str, name: &str) -> Option<&'static str> {
    let genai = GENAI_NAMES.iter().filter(|_| device == "NPU").map(|(alias, _)| *alias);
    let upper = name.to_ascii_uppercase();
    names_for(device)
        .into_iter()
        .chain(genai)
        .map(|candidate| (strsim::levenshtein(&upper, candidate), candidate))
        .filter(|(distance, _)| *distance * 3 <= name.len().max(3))
        .min()
        .map(|(_, candidate)| candidate)
}

/// The known keys a device accepts, for "allowed" lists in errors.
pub fn names_for(device: &str) -> Vec<&'static str> {
    KNOWN_KEYS.iter().filter(|k| k.devices.contains(&device)).map(|k| k.name).collect()
}

/// A profile value of the wrong kind for its key (the message names the key and the kind).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

/// Check a TOML value against a key's kind and turn it into the string OpenVINO takes.
pub fn normalize(key: &Key, value: &toml::Value) -> Result<String, ValueError> {
    normalize_value(key, value).map_err(ValueError)
}

fn normalize_value(key: &Key, value: &toml::Value) -> Result<String, String> {
    let bad = || format!("{} must be {}, got {value}", key.name, key.kind.describe());
    match (key.kind, value) {
        (Kind::Bool, toml::Value::Boolean(b)) => Ok(if *b { "YES" } else { "NO" }.into()),
        (Kind::Bool, toml::Value::String(s)) => match s.to_ascii_uppercase().as_str() {
            "YES" | "TRUE" => Ok("YES".into()),
            "NO" | "FALSE" => Ok("NO".into()),
            _ => Err(bad()),
        },
        (Kind::UInt, toml::Value::Integer(i)) if *i >= 0 => Ok(i.to_string()),
        (Kind::UInt, toml::Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.clone()),
        (Kind::PowerOfTwoOrZero, toml::Value::Integer(i))
            if *i == 0 || (*i > 0 && (*i as u64).is_power_of_two() && *i as u64 <= MAX_TOKENS) =>
        {
            Ok(i.to_string())
        }
        (Kind::Tokens, toml::Value::Integer(i)) if (0..=MAX_TOKENS as i64).contains(i) => Ok(i.to_string()),
        (Kind::Tokens, toml::Value::String(s)) if s.parse::<u64>().is_ok_and(|n| n <= MAX_TOKENS) => Ok(s.clone()),
        (Kind::OneOf(values), toml::Value::String(s)) => {
            values.iter().find(|v| v.eq_ignore_ascii_case(s)).map(|v| v.to_string()).ok_or_else(bad)
        }
        (Kind::Text, toml::Value::String(s)) => Ok(s.clone()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_key_is_unknown() {
        assert!(find("NPU_LOW_MEMORY_MODE").is_none());
        assert!(find("NPUW_LLM_MAX_PROMPT_LEN").is_some());
    }

    #[test]
    fn genai_names_mean_their_npuw_keys_on_npu_and_typos_get_the_nearest_name() {
        let (key, alias) = resolve_name("NPU", "MAX_PROMPT_LEN").unwrap();
        assert_eq!((key.name, alias), ("NPUW_LLM_MAX_PROMPT_LEN", Some("MAX_PROMPT_LEN")));
        assert_eq!(resolve_name("NPU", "NPUW_LLM_GENERATE_HINT").unwrap().1, None);
        assert!(resolve_name("CPU", "MAX_PROMPT_LEN").is_none(), "GenAI's NPU names mean nothing on CPU");
        assert_eq!(nearest("NPU", "NPUW_LLM_MAX_PROMT_LEN"), Some("NPUW_LLM_MAX_PROMPT_LEN"));
        assert_eq!(nearest("NPU", "GENERATE_HINTS"), Some("GENERATE_HINT"));
        assert_eq!(nearest("CPU", "inference_num_thread"), Some("INFERENCE_NUM_THREADS"));
        assert_eq!(nearest("NPU", "NPU_LOW_MEMORY_MODE"), None, "nothing near an invented key");
    }

    #[test]
    fn genai_gets_its_own_names_for_the_lengths_as_integers() {
        let props =
            [("NPUW_LLM_MAX_PROMPT_LEN", "2048"), ("NPUW_LLM_PREFILL_HINT", "DYNAMIC"), ("NPUW_DEVICES", "CPU")]
                .map(|(k, v)| (k.to_string(), v.to_string()));
        let config = genai_config(&props);
        assert_eq!(config["MAX_PROMPT_LEN"], serde_json::json!(2048));
        assert_eq!(config["NPUW_LLM_PREFILL_HINT"], "DYNAMIC");
        assert_eq!(config["NPUW_DEVICES"], "CPU");
        assert!(!config.contains_key("NPUW_LLM_MAX_PROMPT_LEN"));
    }

    #[test]
    fn values_are_checked_and_normalized() {
        let k = find("NPUW_LLM").unwrap();
        assert_eq!(normalize(k, &toml::Value::Boolean(true)).unwrap(), "YES");
        assert!(normalize(k, &toml::Value::String("maybe".into())).is_err());
        let len = find("NPUW_LLM_MAX_PROMPT_LEN").unwrap();
        assert_eq!(normalize(len, &toml::Value::Integer(1024)).unwrap(), "1024");
        assert!(normalize(len, &toml::Value::String("long".into())).is_err());
        // Lengths NPUW sizes its prefill and KV cache by: up to the longest context.
        for absurd in [-1, 131_073, 1 << 40] {
            let e = normalize(len, &toml::Value::Integer(absurd)).unwrap_err().to_string();
            assert!(e.contains("a number of tokens up to 131072"), "{absurd}: {e}");
        }
        assert!(normalize(len, &toml::Value::String("1099511627776".into())).is_err());
        assert_eq!(normalize(len, &toml::Value::Integer(131_072)).unwrap(), "131072");
        let chunk = find("NPUW_LLM_PREFILL_CHUNK_SIZE").unwrap();
        assert!(normalize(chunk, &toml::Value::Integer(1000)).is_err());
        assert!(normalize(chunk, &toml::Value::Integer(1 << 40)).is_err(), "a power of two past any context");
        assert_eq!(normalize(chunk, &toml::Value::Integer(256)).unwrap(), "256");
        assert_eq!(normalize(chunk, &toml::Value::Integer(0)).unwrap(), "0");
        let hint = find("PERFORMANCE_HINT").unwrap();
        assert_eq!(normalize(hint, &toml::Value::String("latency".into())).unwrap(), "LATENCY");
    }
}
