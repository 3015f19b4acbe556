//! `bakeoff devices`: what OpenVINO sees, and the stack's fingerprint.

use super::{open_runtime, print_json};
use crate::cli::{Format, RuntimeArgs};
use crate::exit::{Failure, SUCCESS};
use crate::fingerprint::Fingerprint;

/// Print the devices and the fingerprint.
pub fn run(format: Format, runtime: &RuntimeArgs) -> Result<i32, Failure> {
    let rt = open_runtime(runtime)?;
    let fp = Fingerprint::collect(&rt).map_err(Failure::harness)?;
    let npu_present = fp.devices.iter().any(|d| d.name.starts_with("NPU"));
    match format {
        Format::Json => print_json(&serde_json::json!({ "fingerprint": fp, "npu_present": npu_present }))?,
        Format::Text => print_text(&fp, npu_present),
    }
    Ok(SUCCESS)
}

fn print_text(fp: &Fingerprint, npu_present: bool) {
    println!("OpenVINO  {} ({})", fp.openvino_version, fp.openvino_description);
    println!("library   {}", fp.openvino_library);
    println!("host      {} ({} CPUs, {} MiB)", fp.host_cpu, fp.host_cpus, fp.host_memory_mib);
    let isa = if fp.host_cpu_isa.is_empty() { "-" } else { &fp.host_cpu_isa };
    match &fp.test_host_isa {
        Some(_) => println!("ISA       {isa} (test override {})", crate::fingerprint::HOST_ISA_ENV),
        None => println!("ISA       {isa}"),
    }
    println!("bakeoff   {}", fp.harness_version);
    println!();
    for d in &fp.devices {
        println!("{:<8} {}", d.name, d.full_name.as_deref().unwrap_or("-"));
        if let Some(arch) = &d.architecture {
            println!("         architecture {arch}");
        }
        if let Some(v) = &d.npu_driver_version {
            println!("         NPU driver {v}");
        }
        if let Some(v) = &d.npu_compiler_version {
            println!("         NPU compiler {v}");
        }
    }
    if !npu_present {
        println!("NPU      not present: NPU cells are skipped; NPU:host runs the NPU plugin's NPUW pipeline on the host CPU (not NPU silicon)");
    }
}
