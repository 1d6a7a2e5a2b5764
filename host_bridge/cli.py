"""The `slsbridge` console script (host side)."""

from __future__ import annotations

from collections.abc import Sequence

from host_bridge import commands
from slsio.cli import run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `slsbridge`."""
    return run("slsbridge", "Host side of the Secure Login System.", commands, argv)


if __name__ == "__main__":
    raise SystemExit(main())
