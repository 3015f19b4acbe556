//! `bakeoff profiles [show NAME]`.

use super::{load_profiles, print_json};
use crate::cli::{Format, ProfilesAction, ProfilesArgs};
use crate::exit::{Failure, SUCCESS};
use crate::model::ModelDir;

/// List or show profiles.
pub fn run(args: &ProfilesArgs) -> Result<i32, Failure> {
    let set = load_profiles(args.profiles_file.as_deref())?;
    match &args.action {
        None => {
            for name in set.names() {
                let (p, source) = set.get(name).expect("listed names exist");
                let inherits = p.inherits.as_deref().map(|i| format!(" (inherits {i})")).unwrap_or_default();
                println!("{name:<14} {}{inherits}  [{source}]", p.description.as_deref().unwrap_or(""));
            }
        }
        Some(ProfilesAction::Import { file, name, device }) => {
            let json = crate::io::read_text(file).map_err(Failure::input)?;
            let source = file.display().to_string();
            let toml =
                crate::profiles::import_llm_bench_config(&json, &source, name, *device).map_err(Failure::input)?;
            print!("{toml}");
        }
        Some(ProfilesAction::Keys { device, format, runtime }) => keys(*device, *format, runtime)?,
        Some(ProfilesAction::Show { name, device, pipeline, model, format, runtime }) => {
            let kv = match model {
                Some(m) => Some(ModelDir::open(m).map_err(Failure::input)?.kv_layout().map_err(Failure::input)?),
                None => None,
            };
            let resolved = set.resolve_for(name, *device, *pipeline, kv).map_err(Failure::input)?;
            let defaults = plugin_defaults(*device, runtime);
            let left: Vec<&KeyDefault> = defaults.iter().filter(|d| resolved.get(d.key).is_none()).collect();
            match format {
                Format::Json => print_json(&serde_json::json!({
                    "properties": resolved.properties,
                    "defaults_left": left,
                }))?,
                Format::Text => {
                    println!("profile {name} for {device} {pipeline}:");
                    for p in &resolved.properties {
                        println!("  {:<32} {:<14} {}", p.key, p.value, p.origin);
                    }
                    for d in left.iter().filter(|d| d.default.is_some()) {
                        println!(
                            "  {:<32} {:<14} left: the plugin's default",
                            d.key,
                            d.default.as_deref().unwrap_or("")
                        );
                    }
                    if kv.is_none() && device.ov_name() == "NPU" {
                        println!("  (pass --model DIR to derive NPUW_LLM_BATCH_DIM / NPUW_LLM_SEQ_LEN_DIM)");
                    }
                }
            }
        }
    }
    Ok(SUCCESS)
}

/// A known key of a device with the installed plugin's default.
#[derive(Debug, serde::Serialize)]
struct KeyDefault {
    key: &'static str,
    allowed: String,
    /// What the plugin reports before anything is set (None: it reports nothing for the key
    /// without a compiled model, or the runtime could not be opened).
    default: Option<String>,
}

/// Every known key of `device`'s plugin with the default the installed plugin reports
/// (`ov::Core::get_property`, which the NPU plugin answers for its NPUW options without an
/// NPU present). Without a runtime, no defaults: the keys are still listed.
fn plugin_defaults(device: crate::runtime::Device, runtime: &crate::cli::RuntimeArgs) -> Vec<KeyDefault> {
    let ov = device.ov_name();
    let rt = crate::runtime::Runtime::open(runtime.openvino_lib.as_deref()).ok();
    crate::profiles::keys::KNOWN_KEYS
        .iter()
        .filter(|k| k.devices.contains(&ov) && k.name != "CACHE_DIR")
        .map(|k| KeyDefault {
            key: k.name,
            allowed: k.kind.describe(),
            // An enum-typed NPUW hint reads back as empty text before a compile; a compiled
            // model reports it (a run's effective properties).
            default: rt.as_ref().and_then(|rt| rt.core.device_property(ov, k.name).ok()).filter(|v| !v.is_empty()),
        })
        .collect()
}

/// `bakeoff profiles keys`: the key table with the installed plugin's defaults.
fn keys(device: crate::runtime::Device, format: Format, runtime: &crate::cli::RuntimeArgs) -> Result<(), Failure> {
    let table = plugin_defaults(device, runtime);
    match format {
        Format::Json => print_json(&table),
        Format::Text => {
            println!("{:<40} {:<16} allowed", "key", "plugin default");
            for k in &table {
                println!("{:<40} {:<16} {}", k.key, k.default.as_deref().unwrap_or("-"), k.allowed);
            }
            println!(
                "-: the plugin reports no default before a compile; a run's effective properties \
                 (summary.json) hold what a compiled model used"
            );
            Ok(())
        }
    }
}
