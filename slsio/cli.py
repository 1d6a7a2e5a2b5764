"""The CLI edge both console scripts share: subcommand discovery, one-line errors, exit codes.

Exit codes (DESIGN.md): 0 success, 1 a negative answer (rejected code, denied withdrawal, failed
expectation), 2 bad input with one line on stderr — never a traceback.

Each module in a commands package defines `register(subparsers)`, which adds its parser(s) and
sets `handler=<callable(args) -> int>` as a default. Discovery means no central list to edit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, NoReturn

from firmware_model.errors import SlsError

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]


class UsageError(SlsError, ValueError):
    """Bad input on the command line or in a file it names: exit 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def add_json(parser: argparse.ArgumentParser) -> None:
    """Give a command the `--json` flag (DESIGN.md: every command that reports data has it)."""
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def print_json(value: Any) -> None:
    """One JSON object on one line of stdout."""
    sys.stdout.write(json.dumps(value, sort_keys=True) + "\n")


def emit(args: argparse.Namespace, data: Mapping[str, Any], text: str) -> None:
    """One JSON object with `--json`, else the human text (printed as is, plus a newline)."""
    if getattr(args, "json", False):
        print_json(dict(data))
    else:
        print(text)


def package_version() -> str:
    """The installed slsemu distribution's version (both console scripts ship in it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slsemu")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser(prog: str, description: str, commands: ModuleType) -> argparse.ArgumentParser:
    """A parser with one subcommand per module found in the `commands` package."""
    parser = OneLineParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"{prog} {package_version()}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineParser, title="commands"
    )
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def run(prog: str, description: str, commands: ModuleType, argv: Sequence[str] | None) -> int:
    """Parse `argv`, run the handler, and map documented errors to exit codes."""
    parser = build_parser(prog, description, commands)
    if not (sys.argv[1:] if argv is None else argv):
        # A bare command: what it can do (usage and the commands), not a one-line error.
        parser.print_help()
        sys.stderr.write(f"{prog}: error: choose a command (listed above)\n")
        return EXIT_BAD_INPUT
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SlsError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return exc.exit_code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"{prog}: error: {where}{exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return EXIT_INTERRUPTED
