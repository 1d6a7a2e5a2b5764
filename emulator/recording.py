"""Golden transcripts: what happened on a device, written as an `.sls` test file.

Theory of operation: `Transcript` is fed what a session did — each action as a script line
(`press OK`, `type 1234`, `hold POWER 2`, `wait 30`) and the display it produced — and turns it
into script lines: the action, then an `expect` for the display. It does no I/O and draws nothing.

Values that would differ on a replay are not written literally:

* digits the display masks (a PIN) become `${PIN}`, its value kept in the front matter (a replay
  needs it: record with test devices and test PINs);
* digits typed that came from a random source (a challenge the recorder drew, or the one the login
  screen showed) become `${NAME}`, declared in the front matter (`{ random = N }` for an N-digit
  challenge, so each replay draws a new one; a fixed value otherwise, e.g. SCC indices);
* every code the device shows (a run of at least `CODE_MIN_CHARS` digits/capitals with digits in
  it: a response, a passcode, a lock number) is captured (`capture CODE1`); once randomness entered
  the session (a random value typed, or the device drawing entropy, or a device on a line whose
  entropy we cannot see), such codes are written as their shape (`/[0-9]{8}/`), and a later display
  of the same value refers to the capture (`${CODE1}`). Before that, codes are exact, so a changed
  firmware model fails the replay at the first display that differs.

`document()` is the whole file: a header comment, the front matter, the lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from firmware_model.script import quote

CODE_MIN_CHARS = 6
_CODE_RE = re.compile(rf"[0-9A-Z]{{{CODE_MIN_CHARS},}}")
_DIGITS_RE = re.compile(r"[0-9]+")
_REGEX_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()/]")


def _is_code(token: str) -> bool:
    return sum(char.isdigit() for char in token) >= CODE_MIN_CHARS - 2


_PREFIXED_RE = re.compile(r"([A-Z]{1,3})([0-9]+)")


def _shape(token: str) -> str:
    """The regex a code of this form matches: `[0-9]{8}`; `L[0-9]{7}` for a lettered number."""
    if token.isdigit():
        return f"[0-9]{{{len(token)}}}"
    prefixed = _PREFIXED_RE.fullmatch(token)
    if prefixed:
        return f"{prefixed[1]}[0-9]{{{len(prefixed[2])}}}"
    return f"[0-9A-Z]{{{len(token)}}}"


def _template_text(text: str) -> str:
    """Literal display text inside a script template (`$` doubled so it stays literal)."""
    return text.replace("$", "$$")


def _regex_text(text: str) -> str:
    """Literal display text inside a `/regex/` (metacharacters and `/` escaped)."""
    return _REGEX_SPECIAL.sub(r"\\\g<0>", text).replace("$", "$$")


@dataclass(frozen=True, slots=True)
class _Part:
    kind: str  # "text", "var" or "code"
    text: str


@dataclass
class Transcript:
    """An `.sls` transcript being recorded (see the module docstring)."""

    tainted: bool = False
    lines: list[str] = field(default_factory=list)
    random_values: dict[str, str] = field(default_factory=dict)
    fixed_values: dict[str, str] = field(default_factory=dict)
    captured: dict[str, str] = field(default_factory=dict)
    """capture name → the value it held when recorded"""

    # --- feeding --------------------------------------------------------------------------------

    def action(self, line: str, display: str, *, fresh: bool = False) -> None:
        """An action (a script line) and the display after it; `fresh`: the device drew
        randomness (or may have: a device on a line)."""
        self.tainted = self.tainted or fresh
        self.lines.append(line)
        self.expect(display)

    def typed(self, digits: str, display: str, *, fresh: bool = False) -> None:
        """Digits typed, written as `${NAME}` when they are a known value; digits the display
        masks (a PIN) become `${PIN}`, its value in the front matter."""
        name = self._name_of(digits)
        if name is None and "*" in display and digits not in display:
            taken = [n for n in self.fixed_values if n.startswith("PIN")]
            name = "PIN" if not taken else f"PIN{len(taken) + 1}"
            self.fixed_value(name, digits)
        if name is not None and name in self.random_values:
            self.tainted = True
        self.action(f"type ${{{name}}}" if name is not None else f"type {digits}", display,
                    fresh=fresh)  # fmt: skip

    def random_value(self, name: str, value: str) -> None:
        """A value drawn at random (typed next, most likely): replays draw their own."""
        self.random_values[name] = value

    def fixed_value(self, name: str, value: str) -> None:
        """A value from outside the device that a replay must use as recorded."""
        self.fixed_values[name] = value

    def note(self, line: str) -> None:
        """A line the user wrote themselves (an `expect`, a `capture`, a comment): kept as is."""
        self.lines.append(line)

    # --- displays -------------------------------------------------------------------------------

    def expect(self, display: str) -> None:
        """`expect` the display (and capture the codes in it)."""
        parts = self._parts(display)
        codes = [i for i, part in enumerate(parts) if part.kind == "code"]
        if not codes or not self.tainted:
            self.lines.append("expect " + quote("".join(self._literal(p) for p in parts)))
            for index in codes:
                self._capture(parts, index, exact=True)
            return
        self.lines.append("expect /" + "".join(self._pattern(p, None) for p in parts) + "/")
        for index in codes:
            self._capture(parts, index, exact=False)

    def _capture(self, parts: list[_Part], index: int, *, exact: bool) -> None:
        name = f"CODE{len(self.captured) + 1}"
        self.captured[name] = parts[index].text
        if len(parts) == 1:
            self.lines.append(f"capture {name}")
            return
        body = "".join(
            self._pattern(part, "group" if i == index else None, exact=exact)
            for i, part in enumerate(parts)
        )
        self.lines.append(f"capture {name} /{body}/")

    def _parts(self, display: str) -> list[_Part]:
        """The display split into literal text, known values and codes."""
        known = {**self.fixed_values, **self.random_values, **self.captured}
        values = sorted(((v, n) for n, v in known.items() if v), key=lambda vn: -len(vn[0]))
        parts: list[_Part] = []
        rest = display
        while rest:
            hit = self._first(rest, values)
            if hit is None:
                parts.append(_Part("text", rest))
                break
            start, end, part = hit
            if start:
                parts.append(_Part("text", rest[:start]))
            parts.append(part)
            rest = rest[end:]
        return parts

    @staticmethod
    def _first(text: str, values: list[tuple[str, str]]) -> tuple[int, int, _Part] | None:
        best: tuple[int, int, _Part] | None = None
        for value, name in values:
            at = text.find(value)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, at + len(value), _Part("var", name))
        for match in _CODE_RE.finditer(text):
            if _is_code(match[0]) and (best is None or match.start() < best[0]):
                best = (match.start(), match.end(), _Part("code", match[0]))
                break
        return best

    @staticmethod
    def _literal(part: _Part) -> str:
        if part.kind == "var":
            return f"${{{part.text}}}"
        return _template_text(part.text)

    @staticmethod
    def _pattern(part: _Part, group: str | None, *, exact: bool = False) -> str:
        if part.kind == "var":
            return f"${{{part.text}}}"
        if part.kind == "text":
            return _regex_text(part.text)
        body = _regex_text(part.text) if exact else _shape(part.text)
        return f"({body})" if group else body

    def _name_of(self, digits: str) -> str | None:
        for values in (self.random_values, self.fixed_values, self.captured):
            for name, value in values.items():
                if value == digits:
                    return name
        return None

    # --- the file -------------------------------------------------------------------------------

    def document(self, header: str, front: Mapping[str, str]) -> str:
        """The `.sls` file: `header` as comments, then the front matter (`front`: TOML lines for
        top-level keys, already formatted), `[vars]`, and the recorded lines."""
        out = [f"# {line}".rstrip() for line in header.splitlines()]
        out += ["#", "# ---"]
        out += [f"# {key} = {value}" for key, value in front.items()]
        if self.random_values or self.fixed_values:
            out.append("# [vars]")
            for name, value in self.random_values.items():
                digits = _DIGITS_RE.fullmatch(value) is not None
                shown = f"{{ random = {len(value)} }}" if digits else quote(value)
                out.append(f"# {name} = {shown}")
            for name, value in self.fixed_values.items():
                out.append(f"# {name} = {quote(value)}")
        out += ["# ---", ""]
        out += self.lines
        return "\n".join(out) + "\n"
