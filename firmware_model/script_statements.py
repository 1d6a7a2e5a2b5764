"""Script statements: templates with ${NAME} references and the statement types.

Part of `firmware_model.script`, which re-exports every public name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from firmware_model.errors import ScriptError

MAX_LINE_CHARS = 1000
"""Longer lines are refused: a script is typed by people, and a runaway line must not eat memory."""
MAX_SECONDS = 10**9
"""Upper bound for `wait`/`hold` (about 31 years): enough for any expiry, yet sane."""
MAX_NAME_CHARS = 64
MAX_BUTTON_CHARS = 32

NAME_RE = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME_CHARS - 1}}}")
BUTTON_RE = re.compile(rf"[A-Za-z0-9_]{{1,{MAX_BUTTON_CHARS}}}")
_SECONDS_RE = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,6}))?([smhd]?)")  # not \d: ASCII only
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DIGITS_RE = re.compile(r"[0-9]+")


# --- templates: text with ${NAME} references -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """A `${NAME}` reference inside a template."""

    name: str

    def __post_init__(self) -> None:
        if not NAME_RE.fullmatch(self.name):
            raise ValueError(f"bad variable name {self.name!r}")


@dataclass(frozen=True, slots=True)
class Template:
    """Literal text and `${NAME}` references, filled in at run time."""

    parts: tuple[str | Ref, ...]

    @property
    def names(self) -> frozenset[str]:
        """The variables this template refers to."""
        return frozenset(part.name for part in self.parts if isinstance(part, Ref))

    @property
    def literal(self) -> str:
        """The literal text only (references left out)."""
        return "".join(part for part in self.parts if isinstance(part, str))

    def render(self, variables: Mapping[str, str], escape: Callable[[str], str] = str) -> str:
        """Fill in the references; `escape` is applied to each substituted value."""
        return "".join(
            escape(variables[part.name]) if isinstance(part, Ref) else part for part in self.parts
        )


def _parse_template(text: str, line: int) -> Template:
    parts: list[str | Ref] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "$" and text.startswith("$$", i):
            literal.append("$")
            i += 2
        elif char == "$" and text.startswith("${", i):
            end = text.find("}", i + 2)
            if end < 0:
                raise ScriptError(line, "unterminated ${...} variable reference")
            name = text[i + 2 : end]
            if not NAME_RE.fullmatch(name):
                raise ScriptError(line, f"bad variable name {name!r} in ${{...}}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Ref(name))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts))


# --- statements ---------------------------------------------------------------------------------


def _check_line(line: int) -> None:
    if line < 1:
        raise ValueError("line numbers start at 1")


def _check_button(button: str) -> None:
    if not BUTTON_RE.fullmatch(button):
        raise ValueError(f"bad button name {button!r}")


def _check_seconds(seconds: float) -> None:
    if not 0 <= seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be between 0 and {MAX_SECONDS}")


@dataclass(frozen=True, slots=True)
class Press:
    """`press BUTTON`."""

    line: int
    button: str

    def __post_init__(self) -> None:
        _check_line(self.line)
        _check_button(self.button)


@dataclass(frozen=True, slots=True)
class Hold:
    """`hold BUTTON SECONDS`."""

    line: int
    button: str
    seconds: float

    def __post_init__(self) -> None:
        _check_line(self.line)
        _check_button(self.button)
        _check_seconds(self.seconds)


@dataclass(frozen=True, slots=True)
class Type:
    """`type DIGITS` (digits may come from variables)."""

    line: int
    digits: Template = field(repr=False)  # may be a PIN: not shown in reprs

    def __post_init__(self) -> None:
        _check_line(self.line)


@dataclass(frozen=True, slots=True)
class Wait:
    """`wait SECONDS`."""

    line: int
    seconds: float

    def __post_init__(self) -> None:
        _check_line(self.line)
        _check_seconds(self.seconds)


@dataclass(frozen=True, slots=True)
class ExpectText:
    """`expect "TEXT"`: the display equals TEXT. `shown` is the argument as written."""

    line: int
    text: Template
    shown: str

    def __post_init__(self) -> None:
        _check_line(self.line)


@dataclass(frozen=True, slots=True)
class ExpectRegex:
    """`expect /REGEX/`: the display fully matches REGEX. `shown` is the argument as written."""

    line: int
    pattern: Template
    shown: str

    def __post_init__(self) -> None:
        _check_line(self.line)


@dataclass(frozen=True, slots=True)
class Capture:
    """`capture NAME` or `capture NAME /REGEX/` (`pattern` and `shown` set for the latter)."""

    line: int
    name: str
    pattern: Template | None = None
    shown: str = ""

    def __post_init__(self) -> None:
        _check_line(self.line)
        if not NAME_RE.fullmatch(self.name):
            raise ValueError(f"bad capture name {self.name!r}")


Statement = Press | Hold | Type | Wait | ExpectText | ExpectRegex | Capture

KEYWORDS: dict[type[Statement], str] = {
    Press: "press",
    Hold: "hold",
    Type: "type",
    Wait: "wait",
    ExpectText: "expect",
    ExpectRegex: "expect",
    Capture: "capture",
}


def describe(statement: Statement) -> str:
    """The statement as a script line, with variables left as `${NAME}` (never their values).

    Literal `type` digits are shown, since they are in the script file already.
    """
    match statement:
        case Press(button=button):
            return f"press {button}"
        case Hold(button=button, seconds=seconds):
            return f"hold {button} {seconds:g}"
        case Type(digits=digits):
            text = "".join(
                f"${{{part.name}}}" if isinstance(part, Ref) else part for part in digits.parts
            )
            return f"type {text}"
        case Wait(seconds=seconds):
            return f"wait {seconds:g}"
        case ExpectText(shown=shown) | ExpectRegex(shown=shown):
            return f"expect {shown}"
        case Capture(name=name, shown=shown):
            return f"capture {name} {shown}".rstrip()


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed keypress script."""

    statements: tuple[Statement, ...]

    def referenced(self) -> frozenset[str]:
        """Every variable name the script refers to."""
        names: set[str] = set()
        for statement in self.statements:
            names |= _references(statement)
        return frozenset(names)

    def check_variables(self, given: Mapping[str, str] | frozenset[str]) -> None:
        """Raise `ScriptError` at the first use of a variable that is neither given nor captured
        on an earlier line."""
        known = set(given)
        for statement in self.statements:
            missing = sorted(_references(statement) - known)
            if missing:
                raise ScriptError(
                    statement.line,
                    f"variable ${{{missing[0]}}} is not set "
                    f"(give it with --set {missing[0]}=VALUE or capture it on an earlier line)",
                )
            if isinstance(statement, Capture):
                known.add(statement.name)


def _references(statement: Statement) -> frozenset[str]:
    if isinstance(statement, Type):
        return statement.digits.names
    if isinstance(statement, ExpectText):
        return statement.text.names
    if isinstance(statement, ExpectRegex):
        return statement.pattern.names
    if isinstance(statement, Capture) and statement.pattern is not None:
        return statement.pattern.names
    return frozenset()
