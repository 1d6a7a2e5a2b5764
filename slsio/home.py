"""The data folder both console scripts use (store, master key, images)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "SLSEMU_HOME"


def data_home(create: bool = True) -> Path:
    """Return `$SLSEMU_HOME`, or a per-user data folder; create it (0700) on first use."""
    configured = os.environ.get(ENV_HOME)
    if configured:
        home = Path(configured).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        home = Path(base) / "slsemu"
    if create:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home
