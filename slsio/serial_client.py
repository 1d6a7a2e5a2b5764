"""The one serial client: drive a device on a line (docs/serial-protocol.md).

Both ends of the project need it — `host_bridge` (`slsbridge login --via`) and the emulator's
`slsemu script --port` — and `emulator` must not import `host_bridge`, so it lives here in the
shared I/O package; `host_bridge.serial_client` re-exports it as the host's entry point.

Theory of operation: `Exchange` (`slsio.serial_exchange`) is the sans-I/O core. It encodes a
request, is fed the bytes that come back, files `EVT` lines away in `events` (bounded), and hands
out the first other reply as the answer (an `ERR` reply becomes `ProtocolError` with its code).
Two thin I/O shells use it: `SerialClient` here (blocking, pyserial) and `AsyncSerialClient`
(`slsio.serial_async`: asyncio, pyserial-asyncio). Every wait has a deadline
(`ProtocolError(TIMEOUT)`); a reply that does not parse is `ProtocolError(BADREPLY)`. Requests
that change nothing (`READ`, `HELLO`, `STATE`, `CLOCK`) are retried up to `retries` times on a
timeout or an unreadable reply; key presses never are, because the first one may have been
carried out. This module is the one import path for all of it: it re-exports the core's names
and the asyncio client.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Final

import serial

from firmware_model.serial_codec import (
    CANCEL,
    Checksum,
    ClockAdvance,
    ClockQuery,
    ClockReply,
    ClockSet,
    Display,
    Hello,
    HelloReply,
    Hold,
    Ok,
    Power,
    Press,
    ProtocolError,
    PushNotice,
    Read,
    Reply,
    Request,
    State,
    StateReply,
    StateValue,
    Type,
)
from slsio.serial_async import AsyncSerialClient
from slsio.serial_exchange import (
    DEFAULT_BAUD,
    DEFAULT_TIMEOUT,
    MAX_EVENTS,
    READ_CHUNK,
    ClientConfig,
    Exchange,
    expect,
    timeout_error,
)

__all__ = [
    "DEFAULT_BAUD",
    "DEFAULT_TIMEOUT",
    "MAX_EVENTS",
    "MIN_POLL",
    "READ_CHUNK",
    "AsyncSerialClient",
    "ClientConfig",
    "Exchange",
    "SerialClient",
    "expect",
]

MIN_POLL: Final = 0.05
"""Shortest read timeout set on a blocking port; deadlines are kept to within this."""


def _native_fd(port: serial.SerialBase) -> int | None:
    """The file descriptor of a plain POSIX serial device (a tty, a pty), else None (a URL)."""
    if os.name != "posix" or type(port) is not serial.Serial:
        return None
    fd: int = port.fileno()
    return fd


class SerialClient:
    """Blocking client over a pyserial port or URL. Use as a context manager."""

    def __init__(
        self,
        port: str,
        baud: int = DEFAULT_BAUD,
        config: ClientConfig | None = None,
        *,
        opener: Callable[..., serial.Serial] = serial.serial_for_url,
    ) -> None:
        self.config = config or ClientConfig()
        self._exchange = Exchange(self.config)
        try:
            self._port = opener(port, baudrate=baud, timeout=self.config.timeout)
        except (serial.SerialException, ValueError) as exc:
            raise OSError(f"{port}: cannot open the serial port ({exc})") from None
        self._port.reset_input_buffer()  # stale lines from before we came are not ours
        self._fd = _native_fd(self._port)
        self._poll = select.poll()
        if self._fd is not None:
            self._poll.register(self._fd, select.POLLIN)
        try:
            self._port.write(CANCEL)  # voids a half line another host left behind
            if self.config.checksum:
                self.set_checksum(True)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> SerialClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the port (idempotent)."""
        self._port.close()

    @property
    def events(self) -> deque[str]:
        """`EVT` lines received so far (text after `EVT `), oldest first; clear it at will."""
        return self._exchange.events

    @property
    def port(self) -> serial.Serial:
        """The pyserial port, for raw access (diagnostics, robustness tests)."""
        return self._port

    def discard(self) -> None:
        """Forget received bytes not yet matched to a request (after raw access)."""
        self._port.reset_input_buffer()
        self._exchange.discard()

    def request(self, request: Request) -> Reply:
        """Send `request` and return its reply (`EVT` lines are filed in `events`)."""
        exchange = self._exchange
        attempts = exchange.attempts(request)
        for attempt in range(attempts):
            try:
                reply = self._once(request)
            except ProtocolError as exc:
                if exchange.retry(exc, attempt, attempts):
                    continue
                raise
            exchange.accepted(request)
            return reply
        raise AssertionError("unreachable")  # the loop returns or raises

    def _once(self, request: Request) -> Reply:
        exchange = self._exchange
        self._write(exchange.encode(request))
        deadline = time.monotonic() + exchange.budget(request)
        while True:
            reply = exchange.answer()
            if reply is not None:
                return reply
            left = deadline - time.monotonic()
            if left <= 0:
                raise timeout_error(request)
            exchange.feed(self._read(left))

    def _read(self, left: float) -> bytes:
        """What has arrived within `left` seconds (possibly nothing), at most READ_CHUNK bytes."""
        if self._fd is not None:
            # A plain POSIX device: one poll and one read of whatever is there (pyserial's
            # read is a select per call, and would need an ioctl to learn how much to ask for).
            if not self._poll.poll(math.ceil(left * 1000)):
                return b""
            try:
                data = os.read(self._fd, READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError as exc:
                raise OSError(f"serial line failed: {exc.strerror or exc}") from None
            if not data:  # readable but empty: the device went away
                raise OSError("serial line failed: the device is gone")
            return data
        current = self._port.timeout
        if current is None or left < current:
            # Setting a pyserial timeout reconfigures the port (termios calls): only
            # shorten it when the deadline is near, never below MIN_POLL.
            self._port.timeout = max(left, MIN_POLL)
        try:
            return self._port.read(max(1, min(self._port.in_waiting, READ_CHUNK)))
        except serial.SerialException as exc:
            raise OSError(f"serial line failed: {exc}") from None

    def _write(self, data: bytes) -> None:
        try:
            if self._fd is not None:
                # One write syscall; pyserial's write adds a select after every write.
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    data = data[os.write(self._fd, data) :]
                if not data:
                    return
            self._port.write(data)  # the rest, waiting for room as pyserial does
        except serial.SerialException as exc:
            raise OSError(f"serial line failed: {exc}") from None
        except OSError as exc:
            raise OSError(f"serial line failed: {exc.strerror or exc}") from None

    def poll_events(self, seconds: float) -> list[str]:
        """Read for `seconds` and return (and clear) the `EVT` lines received."""
        deadline = time.monotonic() + seconds
        try:
            while (left := deadline - time.monotonic()) > 0:
                self._port.timeout = max(left, MIN_POLL)
                self._exchange.feed(self._port.read(max(1, self._port.in_waiting)))
        finally:
            self._port.timeout = self.config.timeout
        events = list(self._exchange.events)
        self._exchange.events.clear()
        return events

    # operations

    def hello(self) -> HelloReply:
        """Who is on the line (protocol version, model, serial)."""
        return expect(self.request(Hello()), HelloReply)

    def state(self) -> dict[str, StateValue]:
        """The device's public state (power, screen, battery, lock, clock)."""
        return dict(expect(self.request(State()), StateReply).fields)

    def read_display(self) -> str:
        """The display text ("" when off)."""
        return expect(self.request(Read()), Display).text

    def press(self, button: str) -> None:
        """Press and release `button`."""
        expect(self.request(Press(button)), Ok)

    def type_digits(self, digits: str) -> None:
        """Press each digit in turn."""
        expect(self.request(Type(digits)), Ok)

    def hold(self, button: str, seconds: float) -> None:
        """Hold `button` for `seconds` (returns when it is let go)."""
        expect(self.request(Hold(button, seconds)), Ok)

    def push(self, push_id: str, user: str, challenge: str) -> None:
        """Hand the IB Key app a push notification (`PUSH`)."""
        expect(self.request(PushNotice(push_id, user, challenge)), Ok)

    def power(self, on: bool) -> None:
        """Switch the device on or off (nothing happens if it already is)."""
        expect(self.request(Power(on)), Ok)

    def clock(self) -> float:
        """The device clock (Unix seconds)."""
        return expect(self.request(ClockQuery()), ClockReply).now

    def clock_advance(self, seconds: float) -> float:
        """Move a virtual device clock forward; the new time."""
        return expect(self.request(ClockAdvance(seconds)), ClockReply).now

    def clock_set(self, unix: float) -> float:
        """Set a virtual device clock; the new time."""
        return expect(self.request(ClockSet(unix)), ClockReply).now

    def set_checksum(self, on: bool) -> None:
        """Make line checksums mandatory both ways (or optional again)."""
        expect(self.request(Checksum(on)), Ok)
