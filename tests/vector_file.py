"""Read test vectors in the `KEY = value` block format (as in cryptography's vectors).

Blocks are separated by blank lines; `#` starts a comment line. Each block becomes a dict.
"""

from __future__ import annotations

from pathlib import Path

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(relative: str) -> list[dict[str, str]]:
    """The blocks of `tests/vectors/<relative>`, in file order."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for number, raw in enumerate((VECTORS / relative).read_text("ascii").splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line:
            if current:
                blocks.append(current)
                current = {}
            continue
        name, sep, value = line.partition(" = ")
        if not sep or name in current:
            raise ValueError(f"{relative}:{number}: bad vector line")
        current[name] = value
    if current:
        blocks.append(current)
    return blocks
