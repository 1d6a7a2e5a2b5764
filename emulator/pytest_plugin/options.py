"""The plugin's settings for one pytest run (command line and ini file), kept in the config's
stash."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class SlsOptions:
    """The plugin's settings for one pytest run."""

    enabled: bool
    transports: tuple[str, ...]
    port: str | None
    baud: int | None
    keep_going: bool


OPTIONS = pytest.StashKey[SlsOptions]()


def sls_options(config: pytest.Config) -> SlsOptions:
    """The plugin's settings for this run."""
    return config.stash[OPTIONS]
