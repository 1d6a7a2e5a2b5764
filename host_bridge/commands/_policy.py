"""Helpers the policy commands share (withdraw, share, optout, order, temp, holidays)."""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import parse_date
from host_bridge.services.policies import Policies, load_policy_config
from slsio.cli import UsageError, add_json, emit

__all__ = ["add_json", "emit", "parse_date", "parse_id", "policies", "subcommands"]


def policies(bridge: Bridge) -> Policies:
    """The policies over `bridge`, configured by `policies.toml` in the data folder if any."""
    return Policies(bridge, load_policy_config(bridge.home))


def parse_id(text: str) -> int:
    """A positive row id; `UsageError` otherwise."""
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise UsageError(f"bad id {text!r} (a positive number)")
    return int(text)


def subcommands(parser: argparse.ArgumentParser, dest: str) -> Any:
    """The sub-parsers of a command with several actions."""
    return parser.add_subparsers(
        dest=dest, metavar="ACTION", required=True, parser_class=type(parser)
    )


