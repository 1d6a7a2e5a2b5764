"""The front matter of an `.sls` test file: which device to make, which values to fill in.

Theory of operation: a test file is a keypress script (docs/scripts.md) whose leading comment block
may hold TOML between two `# ---` lines. Being comments, the block leaves the file a valid script
for `slsemu script`, and every statement keeps its line number:

    # ---
    # model = "dscplus"            # the device made fresh for each run (random key unless `key`)
    # pin_mode = "device"
    # pin = "1234"
    # transports = ["inprocess", "serial", "tui"]     # where the script applies (default: all)
    # [vars]
    # PIN = "1234"
    # CHALLENGE = { random = 6 }   # drawn for each run
    # [[cases]]                    # one test item per case (parametrisation)
    # id = "zeros"
    # CHALLENGE = "000000"
    # ---

`image = "card.img"` (relative to the test file) uses a copy of a prepared image instead of
`model`. `parse_front_matter` is pure: it raises `FrontMatterError(line, message)` for a bad block.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from firmware_model.errors import ScriptError
from firmware_model.models import MODEL_NAMES
from firmware_model.script import NAME_RE

FENCE = "# ---"
TRANSPORTS: tuple[str, ...] = ("inprocess", "serial", "tui")
MAX_RANDOM_DIGITS = 64
DEFAULT_CLOCK = 1_700_000_000.0
"""Device clock start when the front matter names none: runs are repeatable."""

_KEYS = frozenset(
    {"model", "pin", "pin_mode", "key", "suite", "options", "image", "clock", "transports",
     "vars", "cases"}
)


class FrontMatterError(ScriptError):
    """A bad front-matter block (reported as `FILE:LINE: message`)."""


@dataclass(frozen=True, slots=True)
class RandomDigits:
    """A variable drawn afresh for each run: `count` decimal digits."""

    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_RANDOM_DIGITS:
            raise ValueError(f"random takes 1 to {MAX_RANDOM_DIGITS} digits")


Value = str | RandomDigits


@dataclass(frozen=True, slots=True)
class Case:
    """One parametrisation of a test file: its id and the values it sets."""

    id: str
    values: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SlsSpec:
    """What an `.sls` file asks for (all optional; the default is a fresh DSC+)."""

    model: str = "dscplus"
    pin: str | None = field(default=None, repr=False)
    pin_mode: str | None = None
    key: bytes | None = field(default=None, repr=False)
    suite: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    image: str | None = None
    clock: float = DEFAULT_CLOCK
    transports: tuple[str, ...] = TRANSPORTS
    values: Mapping[str, Value] = field(default_factory=dict)
    cases: tuple[Case, ...] = ()
    line: int = 1

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r} (known: {', '.join(MODEL_NAMES)})")
        unknown = sorted(set(self.transports) - set(TRANSPORTS))
        if unknown:
            raise ValueError(f"unknown transport {unknown[0]!r} (known: {', '.join(TRANSPORTS)})")
        if not self.transports:
            raise ValueError("transports must name at least one transport")


NO_FRONT_MATTER = SlsSpec()


def front_matter_block(text: str) -> tuple[int, str] | None:
    """The TOML between the `# ---` fences (comment marks removed) and the line it starts on."""
    lines = text.split("\n")
    start: int | None = None
    body: list[str] = []
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if start is None:
            if stripped == FENCE:
                start = number
            elif stripped and not stripped.startswith("#"):
                return None  # a statement came first: no front matter
            continue
        if stripped == FENCE:
            return start, "\n".join(body)
        if stripped and not stripped.startswith("#"):
            raise FrontMatterError(number, "front matter lines start with # (close it with # ---)")
        body.append(stripped[1:].removeprefix(" "))
    if start is not None:
        raise FrontMatterError(start, "front matter is not closed (a line '# ---' is missing)")
    return None


def parse_front_matter(text: str) -> SlsSpec:
    """The `SlsSpec` of a test file (the defaults when it has no front matter)."""
    block = front_matter_block(text)
    if block is None:
        return NO_FRONT_MATTER
    line, toml = block
    try:
        data = tomllib.loads(toml)
    except tomllib.TOMLDecodeError as exc:
        raise FrontMatterError(line, f"front matter is not TOML: {exc}") from None
    try:
        return _spec(data, line)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, FrontMatterError):
            raise
        raise FrontMatterError(line, f"front matter: {exc}") from None


def _spec(data: dict[str, Any], line: int) -> SlsSpec:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    key = data.get("key")
    clock = data.get("clock", DEFAULT_CLOCK)
    if isinstance(clock, bool) or not isinstance(clock, int | float) or clock < 0:
        raise ValueError("clock is a number of Unix seconds")
    return SlsSpec(
        model=_text(data, "model") or "dscplus",
        pin=_text(data, "pin"),
        pin_mode=_text(data, "pin_mode"),
        key=None if key is None else _hex(key),
        suite=_text(data, "suite"),
        options=MappingProxyType(dict(_table(data, "options"))),
        image=_text(data, "image"),
        clock=float(clock),
        transports=tuple(_strings(data.get("transports", list(TRANSPORTS)), "transports")),
        values=_values(_table(data, "vars")),
        cases=_cases(data.get("cases", [])),
        line=line,
    )


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a table")
    return value


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of strings")
    return value


def _hex(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("key must be a hex string")
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise ValueError("key must be hexadecimal") from None  # the text itself is never shown
    if not key:
        raise ValueError("key must not be empty")
    return key


def _values(table: Mapping[str, Any]) -> Mapping[str, Value]:
    values: dict[str, Value] = {}
    for name, value in table.items():
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"bad variable name {name[:64]!r}")
        if isinstance(value, str):
            values[name] = value
        elif isinstance(value, dict) and set(value) == {"random"} and type(value["random"]) is int:
            values[name] = RandomDigits(value["random"])
        else:
            raise ValueError(f"{name}: a value is a string or {{ random = DIGITS }}")
    return MappingProxyType(values)


def _cases(value: Any) -> tuple[Case, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("cases must be an array of tables ([[cases]])")
    cases: list[Case] = []
    for number, table in enumerate(value, start=1):
        rest = dict(table)
        case_id = rest.pop("id", str(number))
        if not isinstance(case_id, str) or not case_id or "[" in case_id or "]" in case_id:
            raise ValueError("a case id is a non-empty string without brackets")
        cases.append(Case(case_id, _values(rest)))
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise ValueError("case ids must differ")
    return tuple(cases)
