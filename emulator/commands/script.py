"""`slsemu script FILE`: run a keypress script in-process, over a serial line, or through the TUI.

Output: each capture as `NAME=VALUE` on stdout (script order); each failed expectation as
`FILE:LINE: expected ..., display was ...` on stderr (with `--json`: one JSON object instead).
Exit 0 when every expectation held, 1 when some failed, 2 for bad input (a script that does not
parse, a bad image, an unknown button...).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from emulator import targets
from emulator.commands.ocra import unix_seconds
from emulator.junit import write_junit
from emulator.targets import Target
from firmware_model.errors import ScriptError
from firmware_model.script import (
    NAME_RE,
    Script,
    ScriptResult,
    Step,
    format_step,
    parse_script,
    run_script,
)
from slsio.cli import EXIT_NEGATIVE, EXIT_OK, UsageError, one_line, read_line
from slsio.files import read_text
from slsio.secret_args import first_line, from_environment

MAX_SCRIPT_BYTES = 1 << 20


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `script`."""
    parser = subparsers.add_parser(
        "script",
        help="run a keypress script against a device",
        description="Run a keypress script (docs/scripts.md). Exit 0: every expectation held; "
        "1: some failed; 2: bad input.",
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--image", type=Path, metavar="IMG", help="the device image to drive")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="variables",
        metavar="NAME=VALUE",
        help="give the script variable ${NAME} (shows in ps: for a PIN use the forms below)",
    )
    parser.add_argument(
        "--set-stdin",
        action="append",
        default=[],
        metavar="NAME",
        help="give ${NAME} from one line of stdin (repeatable: one line each, in this order)",
    )
    parser.add_argument(
        "--set-file", action="append", default=[], metavar="NAME=FILE",
        help="give ${NAME} from the first line of FILE",
    )
    parser.add_argument(
        "--set-env", action="append", default=[], metavar="NAME=VAR",
        help="give ${NAME} from the environment variable VAR",
    )
    parser.add_argument(
        "--clock", type=unix_seconds, metavar="UNIX_SECONDS", help="start the device clock here"
    )
    parser.add_argument("--port", metavar="DEV", help="drive a device over this serial line")
    parser.add_argument("--baud", type=int, metavar="N", help="serial speed (with --port)")
    parser.add_argument("--tui", action="store_true", help="drive the device through the TUI")
    parser.add_argument("--keymap", metavar="K", help="TUI keymap (with --tui)")
    parser.add_argument(
        "--trace", action="store_true", help="print each step and the display after it (stderr)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (passed, captures, failures) instead of the text report",
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="run on after a failed expectation (default: the first one stops the script)",
    )
    parser.add_argument(
        "--junit-xml",
        type=Path,
        metavar="FILE",
        help="also write a JUnit XML report (one test case for the script) for CI systems",
    )
    parser.set_defaults(handler=script_command)


def script_command(args: argparse.Namespace) -> int:
    """Run the script and report."""
    _check_arguments(args)
    variables = script_variables(args)
    script = load_script(args.file)
    trace = _print_trace if args.trace else None
    started = time.monotonic()
    try:
        script.check_variables(variables)  # before the device is touched
        with open_target(args) as target:
            result = run_script(
                script, target, variables, trace=trace, keep_going=args.keep_going
            )
    except ScriptError as exc:
        if args.junit_xml is not None:
            write_junit(
                args.junit_xml, args.file, None, time.monotonic() - started, located(args.file, exc)
            )
        raise UsageError(located(args.file, exc)) from None
    if args.junit_xml is not None:
        write_junit(args.junit_xml, args.file, result, time.monotonic() - started)
    if args.json:
        return report_json(result)
    return report(args.file, result)


def _check_arguments(args: argparse.Namespace) -> None:
    if args.port is not None and args.tui:
        raise UsageError("--port and --tui exclude each other")
    if args.port is None and args.image is None:
        raise UsageError("--image is required (unless --port is given)")
    if args.port is not None and args.image is not None:
        raise UsageError("--image is not used with --port (the device on the line has its own)")
    if args.baud is not None and args.port is None:
        raise UsageError("--baud goes with --port")
    if args.keymap is not None and not args.tui:
        raise UsageError("--keymap goes with --tui")
    if args.clock is not None and args.port is not None:
        raise UsageError("--clock is not used with --port (the device on the line keeps its own)")
    if args.baud is not None and args.baud <= 0:
        raise UsageError("--baud must be a positive number")


def script_variables(args: argparse.Namespace) -> dict[str, str]:
    """The variables of `--set`, `--set-stdin`, `--set-file` and `--set-env`, each NAME once.
    Values never appear in errors (one may be a PIN); stdin is read only once all names check."""
    sources: list[tuple[str, str, Callable[[str], str]]] = []
    for pair in args.variables:
        name, value = _pair("--set", pair, "VALUE")
        sources.append((name, value, str))
    for name in args.set_stdin:
        sources.append((_name("--set-stdin", name), "", lambda _: read_line()))
    for pair in args.set_file:
        name, file = _pair("--set-file", pair, "FILE")
        sources.append((name, file, lambda f: first_line(Path(f), "--set-file")))
    for pair in args.set_env:
        name, variable = _pair("--set-env", pair, "VAR")
        sources.append((name, variable, lambda v: from_environment(v, "--set-env")))
    seen: set[str] = set()
    for name, _, _ in sources:
        if name in seen:
            raise UsageError(f"variable {name} given twice")
        seen.add(name)
    return {name: read(where) for name, where, read in sources}


def _pair(option: str, pair: str, what: str) -> tuple[str, str]:
    name, sep, value = pair.partition("=")
    if not sep:
        # Not echoed: without "=" the text may well be the value itself, e.g. a PIN.
        raise UsageError(f"{option} wants NAME={what} (NAME: letters, digits and _)")
    return _name(option, name), value


def _name(option: str, name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise UsageError(f"{option}: a variable NAME is letters, digits and _")
    return name


def load_script(path: Path) -> Script:
    """Read and parse a script file; errors name the file and line."""
    try:
        text = read_text(path, MAX_SCRIPT_BYTES)
    except ValueError as exc:
        raise UsageError(f"script {exc}") from None
    try:
        return parse_script(text)
    except ScriptError as exc:
        raise UsageError(located(path, exc)) from None


def located(path: Path, exc: ScriptError) -> str:
    """`FILE:LINE: message` for a script error."""
    message = str(exc).removeprefix(f"line {exc.line}: ")
    return f"{path}:{exc.line}: {message}"


def open_target(args: argparse.Namespace) -> Target:
    """The device the script drives: in-process (default), serial (`--port`) or TUI (`--tui`)."""
    return targets.open_target(
        args.image, port=args.port, baud=args.baud, tui=args.tui, keymap=args.keymap,
        clock=args.clock,
    )


def report(path: Path, result: ScriptResult) -> int:
    """Print captures (stdout) and failures (stderr); the exit code."""
    for name, value in result.captures.items():
        print(f"{name}={value}")
    for failure in result.failures:
        sys.stderr.write(f"{one_line(str(path))}:{failure.line}: {failure.message}\n")
    return EXIT_OK if result.passed else EXIT_NEGATIVE


def report_json(result: ScriptResult) -> int:
    """Print the result as one JSON object; the exit code."""
    document = {
        "passed": result.passed,
        "captures": result.captures,
        "failures": [
            {"line": f.line, "expected": f.expected, "actual": f.actual} for f in result.failures
        ],
    }
    print(json.dumps(document))
    return EXIT_OK if result.passed else EXIT_NEGATIVE


def _print_trace(step: Step) -> None:
    sys.stderr.write(format_step(step) + "\n")
