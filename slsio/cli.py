"""The CLI edge both console scripts share: subcommand discovery, one-line errors, exit codes.

Exit codes (DESIGN.md): 0 success, 1 a negative answer (rejected code, denied withdrawal, failed
expectation), 2 bad input with one line on stderr — never a traceback — and 70 (`EX_SOFTWARE`)
for a bug: an exception nothing documents, reported in one line that names its type and where it
was raised (never its message, which might quote a secret). Never 1: a caller must not read a
crash as a refusal.

The edge also refuses what no command could use: an argument (or `SLSEMU_*` variable) that is
not UTF-8 (the bytes of `$'\xff'` reach Python as a lone surrogate, which SQLite, JSON and stdout
cannot encode), and stdin that is not UTF-8 (`read_line` decodes it strictly). Every error line
has its control characters escaped, so a file name with a newline still gives one line.

Each module in a commands package defines `register(subparsers)`, which adds its parser(s) and
sets `handler=<callable(args) -> int>` as a default. Discovery means no central list to edit.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import pkgutil
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from firmware_model.errors import SlsError

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
MAX_LINE = 4096
"""The longest line `read_line` takes, in characters."""
_MAX_LINE_BYTES = 4 * MAX_LINE + 2  # every character UTF-8 at its widest, plus CR LF

Handler = Callable[[argparse.Namespace], int]


class UsageError(SlsError, ValueError):
    """Bad input on the command line or in a file it names: exit 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {one_line(message)}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def one_line(text: str, limit: int = 500) -> str:
    """`text` with control characters escaped (a newline becomes `\\n`) and cut to `limit`
    characters: one readable line, always (argparse quotes a 5,000-digit value in full)."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


class VersionAction(argparse.Action):
    """`--version`: `PROG VERSION` on stdout, exit 0. The distribution's metadata is read only
    when asked (importlib.metadata costs every other command's start-up otherwise)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0,
            help="show the version and exit",
        )

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
        values: object, option_string: str | None = None,
    ) -> NoReturn:
        sys.stdout.write(f"{parser.prog} {package_version()}\n")
        parser.exit()


def build_parser(prog: str, description: str, commands: ModuleType) -> argparse.ArgumentParser:
    """A parser with one subcommand per module found in the `commands` package."""
    parser = OneLineParser(prog=prog, description=description)
    parser.add_argument("--version", action=VersionAction)
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


@functools.cache
def cached_parser(prog: str, description: str, commands: ModuleType) -> argparse.ArgumentParser:
    """`build_parser`, built once per process: a parser is not changed by parsing, and building
    one (some 75 subparsers, each argparse call looking up its gettext catalogue and the terminal
    size) costs more than most commands do. Only a process that runs `main` many times (the
    in-process CLI tests) builds fewer; a console script builds it once either way."""
    return build_parser(prog, description, commands)


def run(prog: str, description: str, commands: ModuleType, argv: Sequence[str] | None) -> int:
    """Parse `argv`, run the handler, and map documented errors to exit codes."""
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        _check_utf8(arguments)
        parser = cached_parser(prog, description, commands)
        if not arguments:
            # A bare command: what it can do (usage and the commands), then the one-line error.
            parser.print_help()
            _error(prog, "choose a command (listed above)")
            return EXIT_BAD_INPUT
        args = parser.parse_args(arguments)
        handler: Handler = args.handler
        return handler(args)
    except SlsError as exc:
        _error(prog, str(exc))
        return exc.exit_code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _error(prog, f"{where}{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: a bug, reported as one (exit 70), never as a "no"
        sys.stderr.write(f"{prog}: internal error: {_origin(exc)} (a bug: please report it)\n")
        return EXIT_INTERNAL


def _error(prog: str, message: str) -> None:
    sys.stderr.write(f"{prog}: error: {one_line(message)}\n")


def _origin(exc: BaseException) -> str:
    """`TypeName at file.py:LINE` (the innermost frame): enough to find the bug, no message."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def _check_utf8(arguments: Sequence[str]) -> None:
    for index, argument in enumerate(arguments, start=1):
        if not _is_utf8(argument):  # not echoed: it may be a secret
            raise UsageError(f"argument {index} is not UTF-8 text")
    for name, value in os.environ.items():  # SLSEMU_HOME, SLSEMU_STORE, ...: paths we print
        if name.startswith("SLSEMU_") and not _is_utf8(value):
            raise UsageError(f"the environment variable {name} is not UTF-8 text")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_line(prompt: str | None = None) -> str:
    """One line of stdin without its newline, decoded as strict UTF-8. `UsageError` at end of
    input, for a line over `MAX_LINE` characters, or for bytes that are not UTF-8."""
    if prompt is not None and sys.stdin.isatty():
        sys.stderr.write(prompt)
        sys.stderr.flush()
    raw = getattr(sys.stdin, "buffer", None)  # bytes when we can, so the decoding is ours
    if raw is None:
        line = sys.stdin.readline(MAX_LINE + 2)
    else:
        data = raw.readline(_MAX_LINE_BYTES + 1)
        if len(data) > _MAX_LINE_BYTES:
            raise UsageError(f"input line longer than {MAX_LINE} characters")
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("stdin is not UTF-8 text") from None
    if not line:
        raise UsageError("unexpected end of input on stdin")
    line = line.rstrip("\r\n")
    if len(line) > MAX_LINE:
        raise UsageError(f"input line longer than {MAX_LINE} characters")
    return line
