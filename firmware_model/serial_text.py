"""The serial protocol's limits, error codes and text helpers (escaping, checksums, seconds).

Part of `firmware_model.serial_codec`, which re-exports every public name (its docstring
describes the wire).
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Final

from firmware_model.errors import SlsError

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
