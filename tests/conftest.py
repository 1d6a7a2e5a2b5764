"""Shared fixtures: every test gets its own SLSEMU_HOME and a deterministic entropy source."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: these machines are shared and noisy, and speed is measured by
# `make bench`, never by a test. In CI (CI=true) the examples are derandomized, so a run is
# reproducible and a red CI is never a roll of the dice; locally they explore as usual.
settings.register_profile("slsemu", deadline=None, print_blob=True)
settings.register_profile("slsemu-ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile("slsemu-ci" if os.environ.get("CI") else "slsemu")


@pytest.fixture(autouse=True)
def slsemu_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private data folder, so tests never touch the user's real one."""
    home = tmp_path / "slsemu-home"
    monkeypatch.setenv("SLSEMU_HOME", str(home))
    yield home


def counter_entropy(seed: int = 0) -> Callable[[int], bytes]:
    """A deterministic random source (SHA-256 in counter mode); `seed` picks its own stream."""
    counter = seed << 32

    def take(count: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < count:
            out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:count]

    return take


@pytest.fixture
def entropy() -> Callable[[int], bytes]:
    """A deterministic random source for reproducible devices."""
    return counter_entropy()
