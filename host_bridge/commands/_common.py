"""Helpers every `slsbridge` command shares: opening the bridge, reading secrets, printing JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import getpass
import re
import sqlite3
import sys
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from host_bridge.bridge import Bridge
from host_bridge.db.engine import first_line
from host_bridge.errors import StoreError
from slsio.cli import UsageError, add_json, print_json, read_line
from slsio.secret_args import secret_option

__all__ = [
    "add_json", "parse_date", "print_json", "read_line", "read_secret", "secret_or_prompt",
    "with_bridge",
]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

BridgeHandler = Callable[[Bridge, argparse.Namespace], int]


def with_bridge(
    handler: BridgeHandler, *, create: bool = False
) -> Callable[[argparse.Namespace], int]:
    """Wrap a handler: open the bridge, close it afterwards, report store trouble (unreachable,
    refused, connection lost: the transaction rolled back) as one line. Only `create=True`
    (`slsbridge init`) may create the data folder and the store; on any other command a store
    that is not there is one line naming it (`StoreEmpty`), and nothing is created."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            bridge = Bridge.open(create=create)
        except (sqlite3.Error, SQLAlchemyError) as exc:
            raise StoreError(f"store: {first_line(exc)}") from None
        try:
            return handler(bridge, args)
        except (sqlite3.Error, SQLAlchemyError) as exc:
            raise StoreError(f"store: {first_line(exc)}") from None
        finally:
            bridge.close()

    return run


def read_secret(
    from_stdin: bool, prompt: str = "Password: ", *, instead: str = "--password-stdin"
) -> str:
    """A password: one stdin line with `--password-stdin`, else a no-echo prompt (without a
    terminal: a `UsageError` naming `instead`, the options that give it another way)."""
    if from_stdin:
        return read_line()
    if not sys.stdin.isatty():
        what = prompt.strip().rstrip(":").strip() or "the secret"
        raise UsageError(f"no terminal to prompt for: {what} (use {instead})")
    try:
        return getpass.getpass(prompt)
    except UnicodeDecodeError:
        raise UsageError("the terminal sent text that is not UTF-8") from None


def secret_or_prompt(args: argparse.Namespace, flag: str, prompt: str) -> str:
    """The secret option `flag` (`slsio.secret_args`: `-stdin`, `-file`, `-env`), else a no-echo
    prompt on the terminal — the one way every command reads a secret that stays off argv."""
    value = secret_option(args, flag)
    if value is not None:
        return value
    return read_secret(False, prompt, instead=f"{flag}-stdin, {flag}-file or {flag}-env")


def parse_date(text: str | None) -> dt.date | None:
    """`YYYY-MM-DD` → date (None stays None); `UsageError` otherwise (also for the other ISO
    forms `date.fromisoformat` takes, such as `20261128` or the week date `2026-W48-6`)."""
    if text is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"bad date {text!r} (expected YYYY-MM-DD)") from None
