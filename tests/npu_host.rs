//! The NPU plugin's NPUW LLM pipeline executed by the host CPU (DESIGN.md section 11):
//! the baked stateful IR compiles on "NPU" with NPUW_DEVICES=CPU and generates.

mod common;

use bakeoff::pipelines::{GenerationConfig, NoObserver, PipelineKind};
use bakeoff::runtime::Device;

#[test]
fn stateful_ir_compiles_on_npu_with_npuw_on_the_host_and_generates() {
    let model = common::smollm2();
    let rt = common::runtime();
    assert!(!rt.device_present("NPU").unwrap(), "this test is about machines without an NPU");
    let mut loaded = common::pipeline(&rt, &model, PipelineKind::Kvcache, Device::NpuHost, "conservative");
    assert_eq!(loaded.execution_devices.as_deref(), Some("NPU"));
    let prompt = &common::reference(&model, "genai-cpu.json").prompts[0].prompt_ids;
    let config = GenerationConfig { max_new_tokens: 8, eos_ids: model.eos_ids(), ignore_eos: true };
    let t = loaded.pipeline.generate(prompt, &config, &mut NoObserver).unwrap();
    assert_eq!(t.output_ids.len(), 8);
    // "The capital of France is" on every path seen so far: the NPUW path really ran the model.
    assert_eq!(t.output_ids[..5], common::reference(&model, "genai-cpu.json").prompts[0].natural_ids[..5]);
}
