"""The serial protocol's requests (host → device) and their parser.

Part of `firmware_model.serial_codec`, which re-exports every public name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from firmware_model.serial_text import (
    _DIGITS_RE,
    _NOT_PRINTABLE_RE,
    BUTTON_RE,
    MAX_DIGITS,
    MAX_SECONDS,
    MAX_UNIX,
    ErrCode,
    ProtocolError,
    _check_button,
    _check_seconds,
    _parse_seconds,
    escape_text,
    format_seconds,
)

# --- requests (host → device) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """Identify the device and the protocol version."""

    def to_line(self) -> str:
        return "HELLO"


@dataclass(frozen=True, slots=True)
class State:
    """Ask for the device's public state (never a secret)."""

    def to_line(self) -> str:
        return "STATE"


@dataclass(frozen=True, slots=True)
class Read:
    """Ask for the display."""

    def to_line(self) -> str:
        return "READ"


@dataclass(frozen=True, slots=True)
class Press:
    """Press and release one button."""

    button: str

    def __post_init__(self) -> None:
        _check_button(self.button)

    def to_line(self) -> str:
        return f"PRESS {self.button}"


@dataclass(frozen=True, slots=True)
class Type:
    """Press each digit in turn."""

    digits: str = field(repr=False)  # often a PIN (slsbridge login types one): not in reprs

    def __post_init__(self) -> None:
        if not _DIGITS_RE.fullmatch(self.digits):
            raise ValueError(f"TYPE takes 1 to {MAX_DIGITS} digits 0-9")

    def to_line(self) -> str:
        return f"TYPE {self.digits}"


@dataclass(frozen=True, slots=True)
class Hold:
    """Hold a button down for `seconds`."""

    button: str
    seconds: float

    def __post_init__(self) -> None:
        _check_button(self.button)
        _check_seconds(self.seconds, MAX_SECONDS, "hold time")

    def to_line(self) -> str:
        return f"HOLD {self.button} {format_seconds(self.seconds)}"


@dataclass(frozen=True, slots=True)
class Power:
    """Switch the device on (a press of POWER) or cut its power (volatile state is lost)."""

    on: bool

    def to_line(self) -> str:
        return "POWER ON" if self.on else "POWER OFF"


@dataclass(frozen=True, slots=True)
class ClockQuery:
    """Ask for the device clock."""

    def to_line(self) -> str:
        return "CLOCK"


@dataclass(frozen=True, slots=True)
class ClockAdvance:
    """Move a virtual device clock forward."""

    seconds: float

    def __post_init__(self) -> None:
        _check_seconds(self.seconds, MAX_SECONDS, "clock advance")

    def to_line(self) -> str:
        return f"CLOCK ADVANCE {format_seconds(self.seconds)}"


@dataclass(frozen=True, slots=True)
class ClockSet:
    """Set a virtual device clock (Unix seconds; it never goes back)."""

    unix: float

    def __post_init__(self) -> None:
        _check_seconds(self.unix, MAX_UNIX, "clock time")

    def to_line(self) -> str:
        return f"CLOCK SET {format_seconds(self.unix)}"


@dataclass(frozen=True, slots=True)
class Checksum:
    """Make line checksums mandatory (ON) or optional (OFF), after the `OK`."""

    on: bool

    def to_line(self) -> str:
        return "CHECKSUM ON" if self.on else "CHECKSUM OFF"


@dataclass(frozen=True, slots=True)
class PushNotice:
    """A push notification for the IB Key app (`PUSH <push id> <user> <challenge>`): what the
    host's push outbox holds, relayed by `slsbridge push deliver`."""

    push_id: str
    user: str
    challenge: str

    def __post_init__(self) -> None:
        if not _PUSH_ID_RE.fullmatch(self.push_id):
            raise ValueError("a push id is 1 to 64 letters, digits or . _ -")
        if not _PUSH_USER_RE.fullmatch(self.user):
            raise ValueError("a user name is 1 to 64 letters, digits or . _ - @")
        if not _DIGITS_RE.fullmatch(self.challenge):
            raise ValueError(f"a challenge is 1 to {MAX_DIGITS} digits 0-9")

    def to_line(self) -> str:
        return f"PUSH {self.push_id} {self.user} {self.challenge}"


_PUSH_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PUSH_USER_RE: Final = re.compile(r"[A-Za-z0-9._@-]{1,64}")

Request = (
    Hello
    | State
    | Read
    | Press
    | Type
    | Hold
    | Power
    | ClockQuery
    | ClockAdvance
    | ClockSet
    | Checksum
    | PushNotice
)


def _parse_push(args: list[str]) -> Request:
    if len(args) != 3:
        raise ProtocolError(ErrCode.BADARG, "PUSH takes a push id, a user name and a challenge")
    try:
        return PushNotice(*args)
    except ValueError as exc:
        raise ProtocolError(ErrCode.BADARG, str(exc)) from None


def _no_args(make: Callable[[], Request], name: str) -> Callable[[list[str]], Request]:
    def parse(args: list[str]) -> Request:
        if args:
            raise ProtocolError(ErrCode.BADARG, f"{name} takes no arguments")
        return make()

    return parse


def _on_off(args: list[str], name: str) -> bool:
    if len(args) != 1 or args[0].upper() not in ("ON", "OFF"):
        raise ProtocolError(ErrCode.BADARG, f"{name} takes ON or OFF")
    return args[0].upper() == "ON"


def _button(text: str) -> str:
    button = text.upper()
    if not BUTTON_RE.fullmatch(button):
        raise ProtocolError(ErrCode.BADARG, "a button name is 1 to 32 letters, digits or _")
    return button


def _parse_press(args: list[str]) -> Request:
    if len(args) != 1:
        raise ProtocolError(ErrCode.BADARG, "PRESS takes one button")
    return Press(_button(args[0]))


def _parse_type(args: list[str]) -> Request:
    if len(args) != 1 or not _DIGITS_RE.fullmatch(args[0]):
        raise ProtocolError(ErrCode.BADARG, f"TYPE takes 1 to {MAX_DIGITS} digits 0-9")
    return Type(args[0])


def _parse_hold(args: list[str]) -> Request:
    if len(args) != 2:
        raise ProtocolError(ErrCode.BADARG, "HOLD takes a button and seconds")
    return Hold(_button(args[0]), _parse_seconds(args[1], MAX_SECONDS, "hold time"))


def _parse_clock(args: list[str]) -> Request:
    if not args:
        return ClockQuery()
    verb = args[0].upper()
    if verb == "ADVANCE" and len(args) == 2:
        return ClockAdvance(_parse_seconds(args[1], MAX_SECONDS, "clock advance"))
    if verb == "SET" and len(args) == 2:
        return ClockSet(_parse_seconds(args[1], MAX_UNIX, "clock time"))
    raise ProtocolError(ErrCode.BADARG, "CLOCK takes nothing, ADVANCE SECONDS or SET UNIX")


_REQUEST_PARSERS: Final[Mapping[str, Callable[[list[str]], Request]]] = MappingProxyType(
    {
        "HELLO": _no_args(Hello, "HELLO"),
        "STATE": _no_args(State, "STATE"),
        "READ": _no_args(Read, "READ"),
        "PRESS": _parse_press,
        "TYPE": _parse_type,
        "HOLD": _parse_hold,
        "POWER": lambda args: Power(_on_off(args, "POWER")),
        "CLOCK": _parse_clock,
        "CHECKSUM": lambda args: Checksum(_on_off(args, "CHECKSUM")),
        "PUSH": _parse_push,
    }
)


def _ascii_text(line: bytes) -> str:
    if _NOT_PRINTABLE_RE.search(line):
        raise ProtocolError(ErrCode.BADCMD, "a line must be printable ASCII")
    return line.decode("ascii")


def parse_request(line: bytes) -> Request:
    """Parse one request line (no terminator, no checksum). Raises `ProtocolError`."""
    words = _ascii_text(line).split()
    if not words:
        raise ProtocolError(ErrCode.BADCMD, "empty command")
    parser = _REQUEST_PARSERS.get(words[0].upper())
    if parser is None:
        shown = escape_text(words[0][:16])
        raise ProtocolError(ErrCode.BADCMD, f"unknown command {shown!r}")
    return parser(words[1:])
