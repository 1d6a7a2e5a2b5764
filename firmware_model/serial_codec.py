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
from dataclasses import dataclass
from typing import Final

from firmware_model.serial_replies import (
    _OK_REPLY,
    ClockReply,
    Display,
    Err,
    Event,
    HelloReply,
    Ok,
    Reply,
    StateReply,
    StateValue,
    _bad_reply,
    parse_reply,
)
from firmware_model.serial_requests import (
    Checksum,
    ClockAdvance,
    ClockQuery,
    ClockSet,
    Hello,
    Hold,
    Power,
    Press,
    PushNotice,
    Read,
    Request,
    State,
    Type,
    parse_request,
)
from firmware_model.serial_text import (
    _CHECKSUM_RE,
    BUTTON_RE,
    CANCEL,
    MAX_DIGITS,
    MAX_REPLY_BYTES,
    MAX_REQUEST_BYTES,
    MAX_SECONDS,
    MAX_UNIX,
    PRODUCT,
    PROTOCOL_VERSION,
    ErrCode,
    ProtocolError,
    checksum,
    escape_text,
    format_seconds,
    unescape_text,
)

__all__ = [
    "BUTTON_RE",
    "CANCEL",
    "MAX_DIGITS",
    "MAX_REPLY_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_SECONDS",
    "MAX_UNIX",
    "PARSE_CACHE_LINES",
    "PRODUCT",
    "PROTOCOL_VERSION",
    "Checksum",
    "ClockAdvance",
    "ClockQuery",
    "ClockReply",
    "ClockSet",
    "Display",
    "Err",
    "ErrCode",
    "Event",
    "Hello",
    "HelloReply",
    "Hold",
    "LineSplitter",
    "Ok",
    "Overlong",
    "Power",
    "Press",
    "ProtocolError",
    "PushNotice",
    "Read",
    "Reply",
    "ReplyDecoder",
    "Request",
    "RequestDecoder",
    "State",
    "StateReply",
    "StateValue",
    "Type",
    "checksum",
    "encode_line",
    "encode_reply",
    "encode_request",
    "escape_text",
    "format_seconds",
    "parse_reply",
    "parse_request",
    "strip_checksum",
    "unescape_text",
]


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
