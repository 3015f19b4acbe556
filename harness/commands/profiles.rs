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
        Some(ProfilesAction::Show { name, device, pipeline, model, format }) => {
            let kv = match model {
                Some(m) => Some(ModelDir::open(m).map_err(Failure::input)?.kv_layout().map_err(Failure::input)?),
                None => None,
            };
            let resolved = set.resolve_for(name, *device, *pipeline, kv).map_err(Failure::input)?;
            match format {
                Format::Json => print_json(&resolved)?,
                Format::Text => {
                    println!("profile {name} for {device} {pipeline}:");
                    for p in &resolved.properties {
                        println!("  {:<32} {:<14} {}", p.key, p.value, p.origin);
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
