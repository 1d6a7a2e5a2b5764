"""Shared fixtures: every test gets its own SLSEMU_HOME and a deterministic entropy source."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def slsemu_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private data folder, so tests never touch the user's real one."""
    home = tmp_path / "slsemu-home"
    monkeypatch.setenv("SLSEMU_HOME", str(home))
    yield home


@pytest.fixture
def entropy() -> Callable[[int], bytes]:
    """A deterministic random source (SHA-256 in counter mode) for reproducible devices."""
    counter = 0

    def take(count: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < count:
            out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:count]

    return take
