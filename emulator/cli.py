"""The `slsemu` console script (device side)."""

from __future__ import annotations

from collections.abc import Sequence

from emulator import commands
from slsio.cli import run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `slsemu`."""
    return run("slsemu", "Emulated Secure Login System devices.", commands, argv)


if __name__ == "__main__":
    raise SystemExit(main())
