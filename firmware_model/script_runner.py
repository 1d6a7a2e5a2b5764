"""The script runner: statements against a target. Part of `firmware_model.script`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from firmware_model.errors import ScriptError, SlsError
from firmware_model.script_parser import (
    _compile,
)
from firmware_model.script_statements import (
    _DIGITS_RE,
    KEYWORDS,
    NAME_RE,
    Capture,
    ExpectRegex,
    ExpectText,
    Hold,
    Press,
    Script,
    Statement,
    Template,
    Type,
    Wait,
    describe,
)

# --- the runner ---------------------------------------------------------------------------------


class ScriptTarget(Protocol):
    """Whatever a script drives: an in-process device, a serial line, the TUI."""

    def press(self, button: str) -> None: ...

    def hold(self, button: str, seconds: float) -> None: ...

    def type_digits(self, digits: str) -> None: ...

    def wait(self, seconds: float) -> None: ...

    def read_display(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed expectation: its line, the expectation as written, and the display seen."""

    line: int
    expected: str
    actual: str

    @property
    def message(self) -> str:
        """`expected "TEXT", display was "SEEN"` (the display quoted so it can be pasted)."""
        return f"expected {self.expected}, display was {quote(self.actual)}"


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """What a run produced: every failed expectation, and the captures in script order."""

    failures: tuple[Failure, ...]
    captures: dict[str, str]

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures


@dataclass(frozen=True, slots=True)
class Step:
    """One executed statement and the display right after it (for tracing)."""

    statement: Statement
    display: str


def format_step(step: Step, width: int = 20) -> str:
    """`[press POWER]        PIN>`: the statement as written (variables as `${NAME}`), then the
    display after it (`(blank)` when nothing shows)."""
    label = f"[{describe(step.statement)}]"
    return f"{label:<{width}} {step.display or '(blank)'}".rstrip()


def quote(text: str) -> str:
    """`text` in the script's string syntax, so a reported display can be pasted into `expect`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_NO_VARIABLES: Mapping[str, str] = MappingProxyType({})


def run_script(
    script: Script,
    target: ScriptTarget,
    variables: Mapping[str, str] = _NO_VARIABLES,
    *,
    trace: Callable[[Step], None] | None = None,
    keep_going: bool = False,
) -> ScriptResult:
    """Run `script` against `target`.

    The first failed expectation stops the run (with `keep_going`, failures are collected and the
    run goes on); an error from the target stops the run with `ScriptError(line, ...)`. `trace`,
    if given, sees each statement and the display after it.
    """
    for name in variables:
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"bad variable name {name!r}")
    script.check_variables(variables)
    values = dict(variables)
    captures: dict[str, str] = {}
    failures: list[Failure] = []
    for statement in script.statements:
        display = _run_one(statement, target, values, captures, failures)
        if trace is not None:
            trace(Step(statement, target.read_display() if display is None else display))
        if failures and not keep_going:
            break
    return ScriptResult(tuple(failures), captures)


def _run_one(
    statement: Statement,
    target: ScriptTarget,
    values: dict[str, str],
    captures: dict[str, str],
    failures: list[Failure],
) -> str | None:
    """Run one statement; return the display if it was read along the way."""
    try:
        match statement:
            case Press(button=button):
                target.press(button)
            case Hold(button=button, seconds=seconds):
                target.hold(button, seconds)
            case Type(line=line, digits=template):
                digits = template.render(values)
                if not _DIGITS_RE.fullmatch(digits):
                    # The value may be a PIN: say what is wrong, never what it was.
                    raise ScriptError(line, "type needs digits 0-9 (after filling in variables)")
                target.type_digits(digits)
            case Wait(seconds=seconds):
                target.wait(seconds)
            case ExpectText(line=line, text=template, shown=shown):
                display = target.read_display()
                if display != template.render(values):
                    failures.append(Failure(line, shown, display))
                return display
            case ExpectRegex(line=line, pattern=template, shown=shown):
                display = target.read_display()
                pattern = _compile(template.render(values, re.escape), line)
                if pattern.fullmatch(display) is None:
                    failures.append(Failure(line, shown, display))
                return display
            case Capture(name=name, pattern=None):
                display = target.read_display()
                captures[name] = values[name] = display
                return display
            case Capture(line=line, name=name, pattern=Template() as template, shown=shown):
                display = target.read_display()
                match = _compile(template.render(values, re.escape), line).search(display)
                # An optional first group that took no part in the match (`/(a)?b/` on "b")
                # captured nothing: that is no match too, not a None value.
                value = None if match is None else match[1] if match.re.groups else match[0]
                if value is None:
                    failures.append(Failure(line, shown, display))
                    values[name] = display  # later lines still run; the failure is reported
                else:
                    captures[name] = values[name] = value
                return display
    except ScriptError:
        raise
    except SlsError as exc:
        keyword = KEYWORDS[type(statement)]
        raise ScriptError(statement.line, f"{keyword}: {exc}") from exc
    return None
