"""The serial client's sans-I/O core: settings, request/reply matching, retries (no port).

`Exchange` encodes a request, is fed the bytes that come back, files `EVT` lines away in `events`
(bounded), and hands out the first other reply as the answer (an `ERR` reply becomes
`ProtocolError` with its code). It also holds the rules both I/O shells share — how long a request
may wait (`budget`), how often it may be sent (`attempts`) and which failure is worth another try
(`retry`) — so the blocking `slsio.serial_client.SerialClient` and the asyncio
`slsio.serial_async.AsyncSerialClient` only move bytes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final, TypeVar

from firmware_model.serial_codec import (
    Checksum,
    ClockQuery,
    Err,
    ErrCode,
    Event,
    Hello,
    Hold,
    ProtocolError,
    Read,
    Reply,
    ReplyDecoder,
    Request,
    State,
    encode_request,
)

__all__ = [
    "DEFAULT_BAUD",
    "DEFAULT_TIMEOUT",
    "MAX_EVENTS",
    "READ_CHUNK",
    "ClientConfig",
    "Exchange",
    "expect",
    "timeout_error",
]

DEFAULT_BAUD: Final = 115200
DEFAULT_TIMEOUT: Final = 2.0
MAX_EVENTS: Final = 256
"""Unsolicited lines kept for `events`; older ones are dropped first."""
READ_CHUNK: Final = 4096
_IDEMPOTENT: Final = (Read, Hello, State, ClockQuery)
_RETRIED: Final = frozenset({ErrCode.TIMEOUT, ErrCode.BADREPLY})
"""The failures an idempotent request is sent again for: no reply in time, or an unreadable one."""

R = TypeVar("R", bound=Reply)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Timeouts and retries (configuration, never hard-coded in the logic)."""

    timeout: float = DEFAULT_TIMEOUT
    retries: int = 0
    checksum: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError("timeout must be a positive, finite number of seconds")
        if self.retries < 0:
            raise ValueError("retries must not be negative")


class Exchange:
    """Sans-I/O request/reply matching for one line (shared by both clients)."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.events: deque[str] = deque(maxlen=MAX_EVENTS)
        self._decoder = ReplyDecoder()
        self._replies: deque[Reply | ProtocolError] = deque()
        self._checksum = False

    def encode(self, request: Request) -> bytes:
        """The bytes to send for `request`. A reply still queued now answers nothing of ours
        (one reply per request: the last request got its own), so it is dropped — it must not
        pass for the answer to this one, and a chattering line must not grow the queue."""
        self._replies.clear()
        return encode_request(request, self._checksum)

    def feed(self, data: bytes) -> None:
        """Bytes received from the line."""
        for item in self._decoder.feed(data):
            if isinstance(item, Event):
                self.events.append(item.text)
            else:
                self._replies.append(item)

    def answer(self) -> Reply | None:
        """The next reply if one is complete. Raises `ProtocolError` for `ERR` or garbage."""
        if not self._replies:
            return None
        item = self._replies.popleft()
        if isinstance(item, ProtocolError):
            raise item
        if isinstance(item, Err):
            raise item.error()
        return item

    def discard(self) -> None:
        """Forget everything received so far (before a fresh request after trouble)."""
        self._decoder.reset()
        self._replies.clear()

    def accepted(self, request: Request) -> None:
        """Note that `request` got its answer (checksum mode switches after the OK)."""
        if isinstance(request, Checksum):
            self._checksum = request.on
            self._decoder.checksum_required = request.on

    def budget(self, request: Request) -> float:
        """How long to wait for the answer: a hold takes as long as the button is held."""
        extra = request.seconds if isinstance(request, Hold) else 0.0
        return self.config.timeout + extra

    def attempts(self, request: Request) -> int:
        """How often `request` may be sent."""
        return 1 + (self.config.retries if isinstance(request, _IDEMPOTENT) else 0)

    def retry(self, error: ProtocolError, attempt: int, attempts: int) -> bool:
        """Whether to send the request again after `error` on try `attempt` (0-based) of
        `attempts`: only a timeout or an unreadable reply, and only while tries are left. If so,
        what was received so far is forgotten first."""
        if error.code in _RETRIED and attempt + 1 < attempts:
            self.discard()
            return True
        return False


def expect(reply: Reply, kind: type[R]) -> R:
    """`reply` if it is a `kind`, else `ProtocolError(BADREPLY)`."""
    if not isinstance(reply, kind):
        name = type(reply).__name__
        raise ProtocolError(ErrCode.BADREPLY, f"expected a {kind.__name__} reply, got {name}")
    return reply


def timeout_error(request: Request) -> ProtocolError:
    """The error for a request whose reply did not come within its budget."""
    word = request.to_line().split(" ", 1)[0]
    return ProtocolError(ErrCode.TIMEOUT, f"no reply to {word} in time")
