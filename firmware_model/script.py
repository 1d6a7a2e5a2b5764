"""Keypress scripts: a small line format, a pure parser and a pure runner.

Theory of operation: `parse_script(text)` turns the text into a `Script` — a tuple of frozen
statements, each remembering its 1-based line number — or raises `ScriptError(line, message)` for
the first bad line. Nothing is run while parsing, so a bad script changes nothing.

`run_script(script, target, variables)` walks the statements in order against a `ScriptTarget`
(in-process device session, serial line, or TUI: the same file runs on all three). Before the first
key press it checks that every `${NAME}` is given (from `variables`) or captured by an earlier
line, so a forgotten `--set` is bad input that touches nothing. A failed `expect` is recorded as a
`Failure` and stops the run (later lines would type a challenge at a PIN prompt and burn PIN
tries); `keep_going=True` runs on to show every mismatch. An error from the target (an unknown
button, a device that cannot type) always stops the run with `ScriptError` naming the line.

Format, one statement a line (`#` starts a comment, blank lines are ignored):

    press BUTTON            press and release a button (POWER, 0-9, OK, BACK, ...)
    hold BUTTON SECONDS     hold a button down for a while
    type DIGITS             press each digit in turn (`type ${CHALLENGE}` types a variable)
    wait SECONDS            let the device clock run (suffix s, m, h or d: `wait 21d`)
    expect "TEXT"           the display is exactly TEXT (`expect ""`: the display is blank)
    expect /REGEX/          the display fully matches REGEX (`\\/` for a slash)
    capture NAME            remember the display as NAME (printed as NAME=VALUE; usable as ${NAME})
    capture NAME /REGEX/    remember the part of the display REGEX's first group matches (or the
                            whole match if it has no group); no match (or a first group that
                            took no part in it) is a failed expectation

`${NAME}` may appear in `type` and in `expect`; `$$` is a literal `$`. In a regex, a variable
matches its value literally. Strings know two escapes: `\\"` and `\\\\`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from firmware_model.errors import ScriptError, SlsError

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


# --- the parser ---------------------------------------------------------------------------------


def parse_script(text: str) -> Script:
    """Parse a whole script. Raises `ScriptError(line, message)` at the first bad line."""
    statements: list[Statement] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        statement = parse_line(raw.removesuffix("\r"), number)
        if statement is not None:
            statements.append(statement)
    return Script(tuple(statements))


def parse_line(raw: str, line: int) -> Statement | None:
    """Parse one line; `None` for a blank or comment-only line."""
    if len(raw) > MAX_LINE_CHARS:
        raise ScriptError(line, f"line is longer than {MAX_LINE_CHARS} characters")
    stripped = raw.strip()
    if not stripped or stripped.startswith("#"):
        return None
    keyword, *tail = stripped.split(None, 1)
    rest = tail[0] if tail else ""
    if keyword == "expect":
        return _parse_expect(rest, line)
    words = rest.split("#", 1)[0].split()
    if keyword == "press":
        (button,) = _words(words, 1, "press takes one button, e.g. press OK", line)
        return Press(line, _button(button, line))
    if keyword == "hold":
        button, seconds = _words(words, 2, "hold takes a button and seconds, e.g. hold OK 2", line)
        return Hold(line, _button(button, line), _seconds(seconds, line))
    if keyword == "type":
        (digits,) = _words(words, 1, "type takes digits, e.g. type 123456", line)
        template = _parse_template(digits, line)
        if template.literal and not _DIGITS_RE.fullmatch(template.literal):
            raise ScriptError(line, "type takes digits 0-9 (or ${NAME} variables)")
        return Type(line, template)
    if keyword == "wait":
        (seconds,) = _words(words, 1, "wait takes seconds, e.g. wait 30", line)
        return Wait(line, _seconds(seconds, line))
    if keyword == "capture":
        return _parse_capture(rest, line)
    known = "press, hold, type, wait, expect, capture"
    raise ScriptError(line, f"unknown statement {keyword[:40]!r} (known: {known})")


def _parse_capture(rest: str, line: int) -> Capture:
    usage = "capture takes a name and an optional /REGEX/, e.g. capture RESPONSE /(\\d{8})/"
    name, *tail = rest.split(None, 1) or [""]
    if not name or name.startswith("#"):
        raise ScriptError(line, usage)
    if not NAME_RE.fullmatch(name):
        raise ScriptError(
            line, f"bad name {name[:MAX_NAME_CHARS]!r} (letters, digits and _, at most "
            f"{MAX_NAME_CHARS}, not starting with a digit)"
        )
    after = tail[0] if tail else ""
    if not after or after.startswith("#"):
        return Capture(line, name)
    if not after.startswith("/"):
        raise ScriptError(line, usage)
    template, shown = _parse_regex_argument(after, line)
    return Capture(line, name, template, shown)


def _parse_regex_argument(rest: str, line: int) -> tuple[Template, str]:
    """A `/REGEX/` argument (variables allowed): its template and the text as written."""
    body, end = _scan_regex(rest, line)
    _only_comment_after(rest[end:], line)
    template = _parse_template(body, line)
    _compile(template.render(dict.fromkeys(template.names, "x")), line)
    return template, rest[:end]


def _words(words: list[str], count: int, usage: str, line: int) -> list[str]:
    if len(words) != count:
        raise ScriptError(line, usage)
    return words


def _button(word: str, line: int) -> str:
    if not BUTTON_RE.fullmatch(word):
        raise ScriptError(line, f"bad button name {word[:40]!r}")
    return word


def _seconds(word: str, line: int) -> float:
    match = _SECONDS_RE.fullmatch(word)
    if not match:
        raise ScriptError(line, f"bad number of seconds {word[:40]!r} (e.g. 30, 0.5, 5m, 21d)")
    whole, fraction, unit = match.groups()
    seconds = float(f"{whole}.{fraction or '0'}") * _UNIT_SECONDS[unit]
    if seconds > MAX_SECONDS:
        raise ScriptError(line, f"at most {MAX_SECONDS} seconds")
    return seconds


def _parse_expect(rest: str, line: int) -> ExpectText | ExpectRegex:
    if not rest:
        raise ScriptError(line, 'expect takes "TEXT" or /REGEX/')
    opener = rest[0]
    if opener == '"':
        body, end = _scan_string(rest, line)
        _only_comment_after(rest[end:], line)
        return ExpectText(line, _parse_template(body, line), rest[:end])
    if opener == "/":
        template, shown = _parse_regex_argument(rest, line)
        return ExpectRegex(line, template, shown)
    raise ScriptError(line, 'expect takes "TEXT" or /REGEX/')


def _scan_string(rest: str, line: int) -> tuple[str, int]:
    """The body of a `"..."` string (escapes resolved) and the index just past it."""
    out: list[str] = []
    i = 1
    while i < len(rest):
        char = rest[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\":
            following = rest[i + 1 : i + 2]
            if following not in ('"', "\\"):
                raise ScriptError(line, 'unknown escape in string (only \\" and \\\\)')
            out.append(following)
            i += 2
        else:
            out.append(char)
            i += 1
    raise ScriptError(line, "unterminated string (missing closing \")")


def _scan_regex(rest: str, line: int) -> tuple[str, int]:
    """The body of a `/.../` regex (kept as written) and the index just past it."""
    i = 1
    while i < len(rest):
        char = rest[i]
        if char == "/":
            return rest[1:i], i + 1
        i += 2 if char == "\\" else 1
    raise ScriptError(line, "unterminated regex (missing closing /)")


def _only_comment_after(tail: str, line: int) -> None:
    tail = tail.strip()
    if tail and not tail.startswith("#"):
        raise ScriptError(line, f"unexpected text after the expectation: {tail[:40]!r}")


def _compile(pattern: str, line: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ScriptError(line, f"invalid regex: {exc}") from None


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
