"""The serial protocol's replies (device → host) and their parser.

Part of `firmware_model.serial_codec`, which re-exports every public name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from firmware_model.events import DeviceEvent, from_wire, to_wire
from firmware_model.image import SERIAL_RE
from firmware_model.serial_requests import (
    _ascii_text,
)
from firmware_model.serial_text import (
    _MODEL_RE,
    MAX_UNIX,
    PRODUCT,
    ErrCode,
    ProtocolError,
    _check_seconds,
    _parse_seconds,
    escape_text,
    format_seconds,
    unescape_text,
)

# --- replies (device → host) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ok:
    """The request was carried out."""

    def to_line(self) -> str:
        return "OK"


@dataclass(frozen=True, slots=True)
class Err:
    """The request was refused; nothing changed."""

    code: ErrCode
    message: str

    def to_line(self) -> str:
        return f"ERR {self.code.value} {escape_text(self.message)}".rstrip()

    def error(self) -> ProtocolError:
        """The exception a host raises for this reply."""
        return ProtocolError(self.code, self.message)


@dataclass(frozen=True, slots=True)
class Display:
    """The display text ("" when the device is off)."""

    text: str

    def to_line(self) -> str:
        return f"DISPLAY {escape_text(self.text)}" if self.text else "DISPLAY"


@dataclass(frozen=True, slots=True)
class HelloReply:
    """Who is on the line: protocol version, model and serial."""

    version: int
    model: str
    serial: str

    def __post_init__(self) -> None:
        if self.version < 1 or not _MODEL_RE.fullmatch(self.model):
            raise ValueError("bad HELLO version or model")
        if not SERIAL_RE.fullmatch(self.serial):
            raise ValueError(f"bad serial {self.serial!r}")

    def to_line(self) -> str:
        return f"HELLO {PRODUCT} {self.version} {self.model} {self.serial}"


StateValue = str | int | float | bool
"""What a `STATE` field may hold."""


@dataclass(frozen=True, slots=True)
class StateReply:
    """The device's public state: a flat JSON object of indicators (never a secret)."""

    fields: Mapping[str, StateValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in self.fields.items():
            if not isinstance(name, str) or not isinstance(value, str | int | float | bool):
                raise ValueError(f"bad STATE field {name!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"STATE field {name!r} is not a finite number")  # not JSON

    def to_line(self) -> str:
        text = json.dumps(dict(self.fields), sort_keys=True, separators=(",", ":"))
        return f"STATE {text}"


@dataclass(frozen=True, slots=True)
class ClockReply:
    """The device clock in Unix seconds."""

    now: float

    def __post_init__(self) -> None:
        _check_seconds(self.now, MAX_UNIX, "clock time")

    def to_line(self) -> str:
        return f"CLOCK {format_seconds(self.now)}"


@dataclass(frozen=True, slots=True)
class Event:
    """An unsolicited line: `EVT DISPLAY text`, `EVT POWER OFF`, `EVT DEVICE <device event>`."""

    text: str

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("an event needs text")

    def to_line(self) -> str:
        return f"EVT {escape_text(self.text)}"

    @classmethod
    def from_device(cls, event: DeviceEvent) -> Event:
        """The line announcing a device's own event: `EVT DEVICE <name> <args>`, under DEVICE so
        it never clashes with the protocol's own `EVT DISPLAY`/`EVT POWER OFF`."""
        return cls(_DEVICE_PREFIX + to_wire(event))

    def device_event(self) -> DeviceEvent | None:
        """The device event this line announces; `None` for the protocol's own lines. Raises
        `ProtocolError(BADREPLY)` for a `DEVICE` line that names no known event."""
        if not self.text.startswith(_DEVICE_PREFIX):
            return None
        try:
            return from_wire(self.text.removeprefix(_DEVICE_PREFIX))
        except ValueError as exc:
            raise _bad_reply(f"malformed EVT DEVICE line: {exc}") from None


_DEVICE_PREFIX: Final = "DEVICE "


Reply = Ok | Err | Display | HelloReply | StateReply | ClockReply | Event
_OK_REPLY: Final = Ok()


def _bad_reply(message: str) -> ProtocolError:
    return ProtocolError(ErrCode.BADREPLY, message)


def _parse_err(rest: str) -> Reply:
    code_text, _, message = rest.partition(" ")
    try:
        code = ErrCode(code_text)
    except ValueError:
        raise _bad_reply(f"unknown error code {escape_text(code_text[:16])!r}") from None
    return Err(code, unescape_text(message))


def _parse_hello(rest: str) -> Reply:
    words = rest.split(" ")
    if len(words) != 4 or words[0] != PRODUCT or not words[1].isdigit() or len(words[1]) > 6:
        raise _bad_reply("malformed HELLO reply")
    try:
        return HelloReply(int(words[1]), words[2], words[3])
    except ValueError:
        raise _bad_reply("malformed HELLO reply") from None


def _parse_state(rest: str) -> Reply:
    try:
        fields = json.loads(rest)
        if not isinstance(fields, dict):
            raise ValueError("not an object")
        return StateReply(fields)
    # json.JSONDecodeError is a ValueError too; RecursionError: a line of '[' nests too deep.
    except (ValueError, RecursionError):
        raise _bad_reply("malformed STATE reply") from None


def _parse_clock_reply(rest: str) -> Reply:
    try:
        return ClockReply(_parse_seconds(rest, MAX_UNIX, "clock time"))
    except ProtocolError:
        raise _bad_reply("malformed CLOCK reply") from None


def _parse_event(rest: str) -> Reply:
    if not rest:
        raise _bad_reply("empty EVT line")
    return Event(unescape_text(rest))


_REPLY_PARSERS: Final[Mapping[str, Callable[[str], Reply]]] = MappingProxyType(
    {
        "ERR": _parse_err,
        "DISPLAY": lambda rest: Display(unescape_text(rest)),
        "HELLO": _parse_hello,
        "STATE": _parse_state,
        "CLOCK": _parse_clock_reply,
        "EVT": _parse_event,
    }
)


def parse_reply(line: bytes) -> Reply:
    """Parse one reply line (no terminator, no checksum). Raises `ProtocolError(BADREPLY)`."""
    try:
        text = _ascii_text(line)
    except ProtocolError:
        raise _bad_reply("reply line is not printable ASCII") from None
    if text == "OK":
        return Ok()
    word, _, rest = text.partition(" ")
    parser = _REPLY_PARSERS.get(word)
    if parser is None:
        raise _bad_reply(f"unknown reply {escape_text(word[:16])!r}")
    return parser(rest)
