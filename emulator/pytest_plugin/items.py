"""`.sls` files as pytest test items, and the report a failed one gives.

Each file is collected as one `SlsFile`; it yields one `SlsItem` per transport that is both asked
for (`--sls-transport`, ini `sls_transports`) and allowed by the file's front matter, times each
`[[cases]]` entry: `login.sls::inprocess`, `login.sls::tui[zeros]`. Names are fixed at collection
(random values are drawn when an item runs), so pytest-xdist workers collect the same items.

A failed `expect` (or a device error, or a variable that is not set) fails the item with
`SlsFailure`; its report is the file, line, statement, expected and actual display and the last
steps, not a Python traceback into the runner.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware_model.errors import ScriptError
from firmware_model.script import Failure, Script, Step, describe, parse_script, quote
from slsio.files import read_limited

from .front_matter import Case, SlsSpec, parse_front_matter
from .options import sls_options
from .runner import LAST_STEPS, fill_values, run_test_script

MAX_SCRIPT_BYTES = 1 << 20
STEP_WIDTH = 28


class SlsFailure(Exception):
    """An `.sls` item failed: the report lines, ready to print."""


class SlsFile(pytest.File):
    """One `.sls` file: parsed once, one item per transport and case."""

    def collect(self) -> Iterator[SlsItem]:
        try:
            text = read_limited(self.path, MAX_SCRIPT_BYTES).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise self.CollectError(f"{self.path}: not a UTF-8 script of at most 1 MiB") from None
        try:
            spec = parse_front_matter(text)
            script = parse_script(text)
        except ScriptError as exc:
            message = str(exc).removeprefix(f"line {exc.line}: ")
            raise self.CollectError(f"{self.path}:{exc.line}: {message}") from None
        options = sls_options(self.config)
        transports = [t for t in options.transports if t in spec.transports]
        for transport in transports:
            for case in spec.cases or (None,):
                name = transport if case is None else f"{transport}[{case.id}]"
                item = SlsItem.from_parent(
                    self, name=name, script=script, spec=spec, transport=transport, case=case
                )
                for marker in ("sls", f"sls_{transport}", f"sls_{spec.model}"):
                    item.add_marker(marker)
                yield item


class SlsItem(pytest.Item):
    """One run of an `.sls` file on one transport (and case)."""

    def __init__(
        self,
        *,
        script: Script,
        spec: SlsSpec,
        transport: str,
        case: Case | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.script = script
        self.spec = spec
        self.transport = transport
        self.case = case

    def runtest(self) -> None:
        options = sls_options(self.config)
        port = options.port if self.transport == "serial" else None
        steps: deque[Step] = deque(maxlen=LAST_STEPS)
        with tempfile.TemporaryDirectory(prefix="sls-") as folder:
            try:
                run = run_test_script(
                    self.script, self.spec, self.transport, Path(folder), self.path,
                    fill_values(self.spec, self.case), port=port, baud=options.baud,
                    keep_going=options.keep_going, steps=steps,
                )
            except ScriptError as exc:
                message = str(exc).removeprefix(f"line {exc.line}: ")
                raise SlsFailure(self._report(exc.line, [message], tuple(steps))) from None
        if not run.result.passed:
            first = run.result.failures[0]
            raise SlsFailure(self._report(first.line, _mismatch(run.result.failures), run.steps))

    def _report(self, line: int, lines: list[str], steps: tuple[Step, ...]) -> str:
        statement = next((s for s in self.script.statements if s.line == line), None)
        where = f"{self._shown_path()}:{line}"
        head = f"{where}: {describe(statement)}" if statement is not None else where
        out = [head, *(f"  {text}" for text in lines), f"last steps ({self.transport}):"]
        for step in steps:
            mark = ">" if step.statement.line == line else " "
            label = describe(step.statement)
            shown = quote(step.display)
            out.append(f"  {mark} {step.statement.line:4}  {label:<{STEP_WIDTH}} {shown}")
        return "\n".join(out)

    def _shown_path(self) -> str:
        """The file as pytest names it: relative to the rootdir when it is inside."""
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, SlsFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        # Not "file.sls::name": pytest would print a domain that ends the node id with its dots
        # turned into "::" (`-v` would show "file::sls::name").
        return self.path, self.spec.line - 1, f"{self.path.name} ({self.name})"


def _mismatch(failures: tuple[Failure, ...]) -> list[str]:
    lines: list[str] = []
    for failure in failures:
        prefix = "" if failure is failures[0] else f"line {failure.line}: "
        lines.append(f"{prefix}expected: {failure.expected}")
        lines.append(f"{' ' * len(prefix)}display:  {quote(failure.actual)}")
    return lines
