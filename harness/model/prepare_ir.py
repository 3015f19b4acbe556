"""The IR surgery of a bakeoff model folder, in one home: `bakeoff prepare` embeds this file
and runs it with the Python of the venv whose OpenVINO the harness uses, and the fixtures'
bake (tools/bake/bake.py) imports its two functions. As a script: from a stateful LLM IR, write the stateful IR with the
lm_head fed only the last position (as openvino-genai does at load time), the stateless IR
reshaped to a static [1, W] window derived from it, and on request the static IR with the
full lm_head. Prints one JSON object of the steps taken on stdout.

argv: SOURCE_XML OUT_DIR WINDOW KEEP_FULL(0|1)
"""

import json
import sys

import numpy as np
import openvino as ov
from openvino import opset8 as ops


def logits_matmul(model):
    result = next(o for o in model.outputs if "logits" in o.get_names()).get_node()
    node = result.input_value(0).get_node()
    while node.get_type_name() != "MatMul":
        if node.get_input_size() == 0:
            raise SystemExit("prepare: no MatMul above the logits output: not a causal LM IR bakeoff can slice")
        node = node.input_value(0).get_node()
    return node


def slice_lm_head(model):
    """The lm_head MatMul's hidden-state input fed only the last position; None when it is
    already (a folder bakeoff made, or one GenAI saved after slicing)."""
    node = logits_matmul(model)
    port = next(i for i in node.inputs() if i.get_partial_shape().rank.get_length() == 3)
    seq = port.get_partial_shape()[1]
    if seq.is_static and seq.get_length() == 1:
        return None
    last = ops.slice(
        port.get_source_output(),
        np.array([-1], dtype=np.int64),
        np.array([np.iinfo(np.int64).max], dtype=np.int64),
        np.array([1], dtype=np.int64),
        np.array([1], dtype=np.int64),
    )
    last.set_friendly_name("bakeoff_lm_head_last_position")
    port.replace_source_output(last.output(0))
    model.validate_nodes_and_infer_types()
    return node.get_friendly_name()


def make_static(model, window):
    """Stateless [1, window]: each ReadValue's initial value (the empty past) replaces the
    Gather after it, the Assign sinks and beam_idx go, the three inputs become static."""
    for op in model.get_ops():
        if op.get_type_name() != "ReadValue":
            continue
        empty_past = op.input_value(0)
        for gather_port in list(op.output(0).get_target_inputs()):
            for consumer in list(gather_port.get_node().output(0).get_target_inputs()):
                consumer.replace_source_output(empty_past)
    for sink in list(model.get_sinks()):
        model.remove_sink(sink)
    for param in list(model.get_parameters()):
        if param.get_output_tensor(0).get_any_name() == "beam_idx":
            model.remove_parameter(param)
    model.validate_nodes_and_infer_types()
    names = [i.get_any_name() for i in model.inputs]
    missing = [n for n in ("input_ids", "attention_mask", "position_ids") if n not in names]
    if missing:
        raise SystemExit(f"prepare: the IR has no {', '.join(missing)} input: bakeoff's static window needs all three")
    model.reshape({name: [1, window] for name in ("input_ids", "attention_mask", "position_ids")})
    return model


def main():
    source, out, window, keep_full = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    core = ov.Core()
    steps = []
    model = core.read_model(source)
    if not any(op.get_type_name() == "ReadValue" for op in model.get_ops()):
        raise SystemExit(f"prepare: {source} has no ReadValue state: a stateless IR; bakeoff needs the stateful one")
    if keep_full:
        full = make_static(core.read_model(source), window)
        name = f"openvino_model_static{window}_full.xml"
        ov.save_model(full, f"{out}/{name}", compress_to_fp16=False)
        steps.append({"step": "make_static", "file": name, "window": window, "lm_head": "full"})
    sliced = slice_lm_head(model)
    steps.append({"step": "slice_lm_head", "matmul": sliced} if sliced else {"step": "slice_lm_head", "already": True})
    ov.save_model(model, f"{out}/openvino_model.xml", compress_to_fp16=False)
    static = make_static(core.read_model(f"{out}/openvino_model.xml"), window)
    name = f"openvino_model_static{window}.xml"
    ov.save_model(static, f"{out}/{name}", compress_to_fp16=False)
    steps.append({"step": "make_static", "file": name, "window": window, "lm_head": "sliced"})
    print(json.dumps({"openvino": ov.get_version(), "steps": steps}))


if __name__ == "__main__":
    main()
