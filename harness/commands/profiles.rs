//! `bakeoff profiles [show NAME]`.

use super::print_json;
use crate::cli::{Format, ProfilesAction, ProfilesArgs};
use crate::exit::{Failure, SUCCESS};
use crate::model::ir::{kv_layout, IrSummary};
use crate::model::ModelDir;
use crate::profiles::ProfileSet;
use std::path::Path;

/// The built-in profiles plus an optional user file.
pub fn load_profiles(file: Option<&Path>) -> Result<ProfileSet, Failure> {
    let mut set = ProfileSet::builtin();
    if let Some(f) = file {
        set.add_file(f).map_err(Failure::input)?;
    }
    Ok(set)
}

/// The KV layout of a model folder's stateful IR.
pub fn model_kv_layout(model: &Path) -> Result<crate::model::ir::KvLayout, Failure> {
    let dir = ModelDir::open(model).map_err(Failure::input)?;
    let ir = IrSummary::read(&dir.stateful_xml()).map_err(Failure::input)?;
    kv_layout(&ir.variables).map_err(|e| Failure::input(format!("{}: {e}", dir.stateful_xml().display())))
}

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
        Some(ProfilesAction::Show { name, device, pipeline, model, format }) => {
            let kv = model.as_deref().map(model_kv_layout).transpose()?;
            let resolved = set.resolve_for(name, *device, *pipeline, kv).map_err(Failure::input)?;
            match format {
                Format::Json => print_json(&resolved)?,
                Format::Text => {
                    println!("profile {name} for {device} {pipeline}:");
                    for p in &resolved.properties {
                        println!("  {:<32} {:<14} {}", p.key, p.value, p.origin);
                    }
                    if kv.is_none() && device.profile_device() == "NPU" {
                        println!("  (pass --model DIR to derive NPUW_LLM_BATCH_DIM / NPUW_LLM_SEQ_LEN_DIM)");
                    }
                }
            }
        }
    }
    Ok(SUCCESS)
}
