"""Secret options that stay out of the process list, for both console scripts.

A value on the command line (`--pin 1234`, `--key 3132…`) shows in `ps` to every local user.
So every secret option `--X` comes with three ways round it, and at most one of the four may be
given:

* `--X-stdin` — one line of stdin (strict UTF-8). When a command reads several things from stdin
  (`slsbridge login --password-stdin --pin-stdin`), it reads one line for each, in the order
  `--help` lists the options.
* `--X-file FILE` — the first line of FILE (a regular file of at most 4 KiB; a FIFO is refused).
* `--X-env VAR` — the value of the environment variable VAR.

A secret that never belongs on the command line (`plain=False`: a Soft PIN, a response, a
password) has no `--X` form; `--X VALUE` is still recognised, so that it is refused with one line
naming the ways above (exit 2, before anything runs) rather than read or taken for a prefix of
`--X-stdin`.

Values are never echoed in an error, whichever way they came.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from slsio.cli import UsageError, read_line
from slsio.files import read_text

MAX_SECRET_FILE_BYTES = 4096


def add_secret_option(
    parser: argparse._ActionsContainer,
    flag: str,
    *,
    help: str,
    metavar: str = "VALUE",
    required: bool = False,
    plain: bool = True,
    group: argparse._MutuallyExclusiveGroup | None = None,
) -> None:
    """Add `flag` and its `-stdin`, `-file` and `-env` forms, mutually exclusive (within
    `group` if given: two secrets of which at most one may be given). `plain=False`: `flag`
    itself is refused (`OffTheCommandLine`), for a secret that never belongs on the command
    line."""
    dest = flag.lstrip("-").replace("-", "_")
    if group is None:
        group = parser.add_mutually_exclusive_group(required=required)
    if plain:
        group.add_argument(flag, dest=dest, metavar=metavar, help=f"{help} (shows in ps)")
    else:
        parser.add_argument(
            flag, dest=f"{dest}_refused", nargs="?", action=OffTheCommandLine,
            help=argparse.SUPPRESS,
        )
    group.add_argument(
        f"{flag}-stdin", dest=f"{dest}_stdin", action="store_true", help=f"{help}: from stdin"
    )
    group.add_argument(
        f"{flag}-file", dest=f"{dest}_file", type=Path, metavar="FILE",
        help=f"{help}: the first line of FILE",
    )
    group.add_argument(
        f"{flag}-env", dest=f"{dest}_env", metavar="VAR", help=f"{help}: from variable VAR"
    )


class OffTheCommandLine(argparse.Action):
    """`--X VALUE` for a secret that stays off the command line: one line naming the other ways,
    exit 2 (argparse's usage error), and nothing runs. The value is never repeated."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        flag = option_string or self.option_strings[0]
        raise argparse.ArgumentError(self, refusal(flag))


def refusal(flag: str) -> str:
    """Why `flag VALUE` is refused, and the ways to give the secret instead."""
    return (
        f"a secret never goes on the command line (ps shows it): use {flag}-stdin, "
        f"{flag}-file FILE, {flag}-env VAR or answer the prompt"
    )


def secret_option(args: argparse.Namespace, flag: str) -> str | None:
    """The value of secret option `flag` however it was given, or None if it was not."""
    dest = flag.lstrip("-").replace("-", "_")
    value: str | None = getattr(args, dest, None)
    if value is not None:
        return value
    if getattr(args, f"{dest}_stdin", False):
        return read_line()
    path: Path | None = getattr(args, f"{dest}_file", None)
    if path is not None:
        return first_line(path, f"{flag}-file")
    variable: str | None = getattr(args, f"{dest}_env", None)
    if variable is not None:
        return from_environment(variable, f"{flag}-env")
    return None


def required_secret(args: argparse.Namespace, flag: str) -> str:
    """`secret_option` for an option the parser made required (one form is always given)."""
    value = secret_option(args, flag)
    if value is None:
        raise UsageError(f"{flag} (or {flag}-stdin, -file, -env) is required")
    return value


def secret_given(args: argparse.Namespace, flag: str) -> bool:
    """Whether any form of `flag` was given (without reading stdin, a file or the environment)."""
    dest = flag.lstrip("-").replace("-", "_")
    forms = (dest, f"{dest}_file", f"{dest}_env")
    return any(getattr(args, name, None) is not None for name in forms) or bool(
        getattr(args, f"{dest}_stdin", False)
    )


def first_line(path: Path, option: str) -> str:
    """The first line of a small secret file, without its line end."""
    try:
        text = read_text(path, MAX_SECRET_FILE_BYTES)
    except ValueError as exc:  # the message names the file and the problem, never the content
        raise UsageError(f"{option}: {exc}") from None
    return text.split("\n", 1)[0].rstrip("\r")


def from_environment(variable: str, option: str) -> str:
    """The value of environment variable `variable`; `UsageError` if unset or not UTF-8."""
    value = os.environ.get(variable)
    if value is None:
        raise UsageError(f"{option}: the environment variable {variable} is not set")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{option}: the environment variable {variable} is not UTF-8") from None
    return value
