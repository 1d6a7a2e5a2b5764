"""Driving either console script in-process the way a terminal would, for the fuzz harnesses.

stdout is strict UTF-8 (as under a UTF-8 locale: a lone surrogate printed there raises), stderr
escapes (as Python's own stderr does), stdin is bytes behind a text wrapper, so a command that
reads `sys.stdin.buffer` meets the raw bytes.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from types import ModuleType
from unittest import mock

from slsio.cli import build_parser

Main = Callable[[Sequence[str]], int]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def call(main: Main, argv: Sequence[str], stdin: bytes = b"") -> Outcome:
    """Run `main(argv)` with `stdin` as its input; exit code, stdout and stderr."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    inp = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="strict")
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(sys, "stdin", inp))
        stack.enter_context(mock.patch.object(sys, "stdout", out))
        stack.enter_context(mock.patch.object(sys, "stderr", err))
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse: --help (0) and usage errors (2)
            code = exit_.code if isinstance(exit_.code, int) else 0
    texts = []
    for stream in (out, err):
        stream.flush()
        buffer = stream.buffer
        assert isinstance(buffer, io.BytesIO)
        texts.append(buffer.getvalue().decode("utf-8", "replace"))
    return Outcome(code, texts[0], texts[1])


def subcommands(
    prog: str, commands: ModuleType, *, with_value: bool = False
) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """Every leaf subcommand of a console script: its words and its option strings (only those
    that take a value, with `with_value`)."""

    def walk(
        parser: argparse.ArgumentParser, path: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], list[str]]]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            actions = [a for a in parser._actions if not with_value or a.nargs != 0]
            flags = [s for a in actions for s in a.option_strings if s.startswith("--")]
            yield path, flags
            return
        for name, child in subs[0].choices.items():
            yield from walk(child, (*path, name))

    yield from walk(build_parser(prog, "", commands), ())
