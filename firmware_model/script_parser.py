"""The script parser: text to statements. Part of `firmware_model.script` (re-exports it all)."""

from __future__ import annotations

import re

from firmware_model.errors import ScriptError
from firmware_model.script_statements import (
    _DIGITS_RE,
    _SECONDS_RE,
    _UNIT_SECONDS,
    BUTTON_RE,
    MAX_LINE_CHARS,
    MAX_NAME_CHARS,
    MAX_SECONDS,
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
    _parse_template,
)

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
            line,
            f"bad name {name[:MAX_NAME_CHARS]!r} (letters, digits and _, at most "
            f"{MAX_NAME_CHARS}, not starting with a digit)",
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
    raise ScriptError(line, 'unterminated string (missing closing ")')


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
