"""The serial line protocol: parse and format lines, and split a byte stream into bounded lines.

Theory of operation (sans-I/O, like h11): both ends of the line share this module. The device
side feeds the bytes it receives to a `RequestDecoder` and gets back `Request` objects, or
`Err` replies for lines that do not parse; it answers with `encode_reply(...)`. The host side
feeds what it receives to a `ReplyDecoder` and gets `Reply` objects (or `ProtocolError` for a
line it cannot read); it sends `encode_request(...)`. Nothing here reads a clock or touches a
port, so every parser is tested with input whole, byte by byte and in random chunks.

The wire (documented in docs/serial-protocol.md):

* ASCII lines ending in `\\n` (a `\\r` before it is ignored; an empty line is ignored). The
  byte CAN (0x18) voids a half request line without a reply.
* A request line is at most `MAX_REQUEST_BYTES` bytes before its `\\n`; longer lines get one
  `ERR TOOLONG` and are discarded up to the next `\\n`. Reply lines are bounded by
  `MAX_REPLY_BYTES`. No buffer grows beyond its limit.
* Optional line checksum: `*HH` after the line, HH = XOR of every byte before `*` in upper-case
  hex (NMEA style). `CHECKSUM ON` makes it mandatory both ways after the `OK` reply; a request
  carrying a checksum is always verified, even when it is not mandatory.
* Requests: `HELLO`, `STATE`, `READ`, `PRESS B`, `TYPE DIGITS`, `HOLD B SECONDS`,
  `POWER ON|OFF`, `CLOCK`, `CLOCK ADVANCE SECONDS`, `CLOCK SET UNIX`, `CHECKSUM ON|OFF`.
  Command words and button names are case-insensitive; the device answers in upper case.
* Replies: `OK`, `DISPLAY text`, `HELLO slsemu VERSION MODEL SERIAL`, `STATE {json}`,
  `CLOCK UNIX`, `ERR CODE message`; unsolicited `EVT text` lines may come at any time.

Free text (display, events, error messages) is escaped so that it stays printable ASCII on one
line: `\\\\` for a backslash, `\\xHH`, `\\uHHHH` or `\\UHHHHHHHH` for any other character
outside 0x20-0x7E.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from firmware_model.errors import SlsError
from firmware_model.events import DeviceEvent, from_wire, to_wire
from firmware_model.image import SERIAL_RE

PRODUCT: Final = "slsemu"
PROTOCOL_VERSION: Final = 1
MAX_REQUEST_BYTES: Final = 256
"""Longest request line (checksum included, terminator excluded)."""
MAX_REPLY_BYTES: Final = 1024
"""Longest reply or EVT line: a `STATE` object is longer than any request."""
CANCEL: Final = b"\x18"
"""CAN: voids a half request line silently. A host sends it when it opens the line, so a half
line a vanished host left behind is never completed (and executed) by the next host's bytes."""
MAX_DIGITS: Final = 64
"""Most digits one `TYPE` may carry."""
MAX_SECONDS: Final = 10**9
"""Upper bound for `HOLD` and `CLOCK ADVANCE` (about 31 years, as for scripts)."""
MAX_UNIX: Final = 2**37
"""Upper bound for `CLOCK SET` (year 6325): enough, and keeps floats exact to microseconds."""

BUTTON_RE: Final = re.compile(r"[A-Z0-9_]{1,32}")
_SECONDS_RE: Final = re.compile(r"\d{1,12}(?:\.\d{1,6})?")
_DIGITS_RE: Final = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
_NOT_PRINTABLE_RE: Final = re.compile(rb"[^\x20-\x7e]")
_CHECKSUM_RE: Final = re.compile(rb"\*([0-9A-Fa-f]{2})\Z")
_MODEL_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")


class ErrCode(StrEnum):
    """Wire error codes. `TIMEOUT` and `BADREPLY` are raised by hosts only, never sent."""

    BADCMD = "BADCMD"  # unknown command word, or a line that is not printable ASCII
    BADARG = "BADARG"  # known command, wrong or out-of-range arguments
    BUTTON = "BUTTON"  # the device has no such button
    TOOLONG = "TOOLONG"  # the line exceeded MAX_REQUEST_BYTES
    CHECKSUM = "CHECKSUM"  # checksum missing (when mandatory) or wrong
    BUSY = "BUSY"  # too many requests queued behind a slow one (e.g. a long HOLD)
    RANGE = "RANGE"  # a duration beyond what the server allows (a HOLD that would wedge it)
    CLOCK = "CLOCK"  # clock control asked of a device running on the real-time clock
    UNSUPPORTED = "UNSUPPORTED"  # the device cannot do that (e.g. TYPE on a printed card)
    INTERNAL = "INTERNAL"  # the device failed (e.g. its image could not be saved)
    TIMEOUT = "TIMEOUT"  # host side: no reply in time
    BADREPLY = "BADREPLY"  # host side: a reply line that does not parse or does not fit


class ProtocolError(SlsError):
    """A serial exchange failed: a line that does not parse, an `ERR` reply, or no reply.

    `code` is the wire code (see `ErrCode`). Messages never carry a secret.
    """

    def __init__(self, code: ErrCode, message: str) -> None:
        super().__init__(f"{message} ({code.value})")
        self.code = code
        self.message = message


# --- text helpers ---------------------------------------------------------------------------


def escape_text(text: str) -> str:
    """Make free text one line of printable ASCII (`\\\\`, `\\xHH`, `\\uHHHH`, `\\UHHHHHHHH`)."""
    if _PLAIN_TEXT_RE.fullmatch(text):
        return text  # the common case: nothing to escape
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0x20 <= code <= 0x7E:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02X}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    return "".join(out)


_PLAIN_TEXT_RE: Final = re.compile(r"[\x20-\x5b\x5d-\x7e]*")
_UNESCAPE_RE: Final = re.compile(
    r"\\(\\|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U(?:000[0-9A-Fa-f]|0010)[0-9A-Fa-f]{4})"
)


def unescape_text(text: str) -> str:
    """Undo `escape_text` (an escape that is not one is kept as it is)."""

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        return "\\" if body == "\\" else chr(int(body[1:], 16))

    return _UNESCAPE_RE.sub(one, text)


def checksum(data: bytes) -> str:
    """The line checksum: XOR of every byte, two upper-case hex digits."""
    value = 0
    for byte in data:
        value ^= byte
    return f"{value:02X}"


def format_seconds(seconds: float) -> str:
    """Seconds as the wire writes them: decimal, at most six fraction digits, no exponent."""
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _parse_seconds(text: str, limit: int, what: str) -> float:
    if not _SECONDS_RE.fullmatch(text):
        raise ProtocolError(ErrCode.BADARG, f"{what} must be a decimal number of seconds")
    value = float(text)
    if value > limit:
        raise ProtocolError(ErrCode.BADARG, f"{what} must be at most {limit}")
    return value


def _check_seconds(value: float, limit: int, what: str) -> None:
    if not (math.isfinite(value) and 0 <= value <= limit):
        raise ValueError(f"{what} must be between 0 and {limit}")


def _check_button(button: str) -> None:
    if not BUTTON_RE.fullmatch(button):
        raise ValueError(f"bad button name {button!r}")


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
    Hello | State | Read | Press | Type | Hold | Power | ClockQuery | ClockAdvance | ClockSet
    | Checksum | PushNotice
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


# --- line framing -------------------------------------------------------------------------------


def encode_line(text: str, with_checksum: bool = False) -> bytes:
    """One wire line: ASCII text, optional `*HH` checksum, `\\n`."""
    data = text.encode("ascii")
    if with_checksum:
        data += b"*" + checksum(data).encode("ascii")
    return data + b"\n"


def encode_request(request: Request, with_checksum: bool = False) -> bytes:
    """The bytes a host sends for `request`."""
    return encode_line(request.to_line(), with_checksum)


def encode_reply(reply: Reply, with_checksum: bool = False) -> bytes:
    """The bytes a device sends for `reply`."""
    return encode_line(reply.to_line(), with_checksum)


def strip_checksum(line: bytes, required: bool) -> bytes:
    """Check and remove a `*HH` suffix. Raises `ProtocolError(CHECKSUM)` if wrong or missing."""
    match = _CHECKSUM_RE.search(line)
    if match is None:
        if required:
            raise ProtocolError(ErrCode.CHECKSUM, "checksum missing")
        return line
    body = line[: match.start()]
    if checksum(body) != match.group(1).decode("ascii").upper():
        raise ProtocolError(ErrCode.CHECKSUM, "checksum mismatch")
    return body


@dataclass(frozen=True, slots=True)
class Overlong:
    """Marks a line that went past the limit; its bytes up to the next `\\n` are dropped."""

    limit: int


class LineSplitter:
    """Incremental `\\n` framing with a hard size limit (pyserial's Packetizer, bounded).

    `feed(data)` returns complete lines (terminator and one trailing `\\r` removed; empty lines
    skipped) and one `Overlong` marker as soon as a line passes `limit` bytes. At most
    `limit + 1` bytes are ever buffered (one extra for a `\\r` before the `\\n`). A `cancel`
    byte (CAN for requests) voids the half line received so far, without a reply.
    """

    __slots__ = ("_buffer", "_discarding", "cancel", "limit")

    def __init__(self, limit: int, cancel: bytes | None = None) -> None:
        if limit < 1:
            raise ValueError("line limit must be positive")
        if cancel is not None and (len(cancel) != 1 or cancel == b"\n"):
            raise ValueError("the cancel byte is one byte other than newline")
        self.limit = limit
        self.cancel = cancel
        self._buffer = bytearray()
        self._discarding = False

    @property
    def idle(self) -> bool:
        """Whether no half line is held (the state right after a `\\n`)."""
        return not self._buffer and not self._discarding

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held (0 while discarding an overlong line)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | Overlong]:
        """Add received bytes; return what became complete."""
        if (
            not self._buffer
            and not self._discarding
            and data.find(b"\n") == len(data) - 1
            and (self.cancel is None or self.cancel not in data)
        ):
            # The common case — exactly one whole line — without the general loop below
            # (same result: the property tests feed lines whole and byte by byte).
            line = data[:-2] if data.endswith(b"\r\n") else data[:-1]
            if len(line) > self.limit:
                return [Overlong(self.limit)]
            return [line] if line else []
        out: list[bytes | Overlong] = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            piece = data[start:] if end < 0 else data[start:end]
            if self.cancel is not None and self.cancel in piece:
                *cancelled, piece = piece.split(self.cancel)
                for part in cancelled:
                    self._add(part, out)
                    self._buffer.clear()  # CAN: the half line so far is void, silently
                    self._discarding = False
            self._add(piece, out)
            if end < 0:
                break
            if not self._discarding:
                line = bytes(self._buffer)
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > self.limit:
                    out.append(Overlong(self.limit))
                elif line:
                    out.append(line)
            self._buffer.clear()
            self._discarding = False
            start = end + 1
        return out

    def _add(self, piece: bytes, out: list[bytes | Overlong]) -> None:
        if self._discarding:
            return
        # One byte of slack for a '\r' right before the '\n'.
        if len(self._buffer) + len(piece) > self.limit + 1:
            self._overlong(out)
        else:
            self._buffer += piece

    def _overlong(self, out: list[bytes | Overlong]) -> None:
        self._buffer.clear()
        self._discarding = True
        out.append(Overlong(self.limit))

    def close(self) -> bool:
        """End of stream: drop a half line (never executed). True if one was dropped."""
        dropped = bool(self._buffer) or self._discarding
        self._buffer.clear()
        self._discarding = False
        return dropped


def _parse_or_err(line: bytes) -> Request | Err:
    try:
        return parse_request(line)
    except ProtocolError as exc:
        return Err(exc.code, exc.message)


PARSE_CACHE_LINES: Final = 1024
"""Distinct request lines whose parse is remembered (a rig repeats a few lines many times)."""
# Requests and Err are immutable, so one parse may serve every identical line (bounded LRU).
_parse_cached: Final = functools.lru_cache(maxsize=PARSE_CACHE_LINES)(_parse_or_err)


class RequestDecoder:
    """Device side: bytes in, `Request`s (or `Err` replies for bad lines) out, in order."""

    __slots__ = ("_last_items", "_last_line", "_splitter", "checksum_required")

    def __init__(self, limit: int = MAX_REQUEST_BYTES) -> None:
        self._splitter = LineSplitter(limit, cancel=CANCEL)
        self.checksum_required = False
        # The last whole line decoded on a fresh line state, and what it gave: a rig sends
        # the same line again and again, and comparing a few bytes is the cheapest memo.
        self._last_line = b""
        self._last_items: tuple[Request | Err, ...] = ()

    def feed(self, data: bytes) -> list[Request | Err]:
        """Decode received bytes. A `Checksum` request changes what the next lines need."""
        splitter = self._splitter
        if not self.checksum_required and not splitter._buffer and not splitter._discarding:
            # A fresh line state (no half line held, nothing being discarded, no mandatory
            # checksum): for one whole line the answer depends on the bytes alone.
            if data == self._last_line:
                return list(self._last_items)
            if len(data) <= splitter.limit + 2 and data.find(b"\n") == len(data) - 1:
                items, checksum_on = _decode_whole_line(data, splitter.limit)
                if checksum_on is None:
                    self._last_line, self._last_items = data, items
                else:
                    self.checksum_required = checksum_on
                return list(items)
        return self._feed(data)

    def _feed(self, data: bytes) -> list[Request | Err]:
        out: list[Request | Err] = []
        for item in self._splitter.feed(data):
            if isinstance(item, Overlong):
                out.append(Err(ErrCode.TOOLONG, f"line longer than {item.limit} bytes"))
                continue
            if self.checksum_required or b"*" in item:
                try:
                    parsed = _parse_or_err(strip_checksum(item, self.checksum_required))
                except ProtocolError as exc:
                    parsed = Err(exc.code, exc.message)
            else:
                parsed = _parse_cached(item)
            if isinstance(parsed, Checksum):
                self.checksum_required = parsed.on
            out.append(parsed)
        return out

    def close(self) -> bool:
        """End of stream: drop a half line. True if one was dropped."""
        return self._splitter.close()


@functools.lru_cache(maxsize=PARSE_CACHE_LINES)
def _decode_whole_line(data: bytes, limit: int) -> tuple[tuple[Request | Err, ...], bool | None]:
    """What a fresh `RequestDecoder` makes of one whole line (remembered: it is pure), and the
    checksum mode it leaves behind (None: unchanged)."""
    decoder = RequestDecoder(limit)
    items = tuple(decoder._feed(data))
    changed = items and isinstance(items[-1], Checksum)
    return items, (decoder.checksum_required if changed else None)


class ReplyDecoder:
    """Host side: bytes in, `Reply`s (or `ProtocolError`s for unreadable lines) out, in order."""

    __slots__ = ("_splitter", "checksum_required")

    def __init__(self, limit: int = MAX_REPLY_BYTES) -> None:
        self._splitter = LineSplitter(limit)
        self.checksum_required = False

    def feed(self, data: bytes) -> list[Reply | ProtocolError]:
        """Decode received bytes."""
        if data == b"OK\n" and not self.checksum_required and self._splitter.idle:
            return [_OK_REPLY]  # the most common reply, whole: what the loop below makes of it
        out: list[Reply | ProtocolError] = []
        for item in self._splitter.feed(data):
            if isinstance(item, Overlong):
                out.append(_bad_reply(f"reply line longer than {item.limit} bytes"))
                continue
            try:
                # A display may end in "*HH" by itself, so a reply's checksum is only looked
                # for when it is mandatory.
                body = strip_checksum(item, True) if self.checksum_required else item
                out.append(parse_reply(body))
            except ProtocolError as exc:
                out.append(_bad_reply(exc.message) if exc.code != ErrCode.BADREPLY else exc)
        return out

    def reset(self) -> None:
        """Forget a half line (after flushing the port)."""
        self._splitter.close()
