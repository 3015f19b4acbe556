"""The sha256 of a file, streamed: the one digest the bake scripts use (outputs, sources,
the recipe's own scripts)."""

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
