"""The one serial client: drive a device on a line (docs/serial-protocol.md).

Both ends of the project need it — `host_bridge` (`slsbridge login --via`) and the emulator's
`slsemu script --port` — and `emulator` must not import `host_bridge`, so it lives here in the
shared I/O package; `host_bridge.serial_client` re-exports it as the host's entry point.

Theory of operation: `Exchange` is the sans-I/O core. It encodes a request, is fed the bytes that
come back, files `EVT` lines away in `events` (bounded), and hands out the first other reply as
the answer (an `ERR` reply becomes `ProtocolError` with its code). Two thin I/O shells use it:
`SerialClient` (blocking, pyserial) and `AsyncSerialClient` (asyncio, pyserial-asyncio). Every
wait has a deadline (`ProtocolError(TIMEOUT)`); a reply that does not parse is
`ProtocolError(BADREPLY)`. Requests that change nothing (`READ`, `HELLO`, `STATE`, `CLOCK`) are
retried up to `retries` times on a timeout or an unreadable reply; key presses never are, because
the first one may have been carried out.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import select
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, TypeVar

import serial

from firmware_model.serial_codec import (
    CANCEL,
    Checksum,
    ClockAdvance,
    ClockQuery,
    ClockReply,
    ClockSet,
    Display,
    Err,
    ErrCode,
    Event,
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
    ReplyDecoder,
    Request,
    State,
    StateReply,
    StateValue,
    Type,
    encode_request,
)

DEFAULT_BAUD: Final = 115200
DEFAULT_TIMEOUT: Final = 2.0
MAX_EVENTS: Final = 256
"""Unsolicited lines kept for `events`; older ones are dropped first."""
READ_CHUNK: Final = 4096
MIN_POLL: Final = 0.05
"""Shortest read timeout set on a blocking port; deadlines are kept to within this."""
_IDEMPOTENT: Final = (Read, Hello, State, ClockQuery)

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


def expect(reply: Reply, kind: type[R]) -> R:
    """`reply` if it is a `kind`, else `ProtocolError(BADREPLY)`."""
    if not isinstance(reply, kind):
        name = type(reply).__name__
        raise ProtocolError(ErrCode.BADREPLY, f"expected a {kind.__name__} reply, got {name}")
    return reply


def _native_fd(port: serial.SerialBase) -> int | None:
    """The file descriptor of a plain POSIX serial device (a tty, a pty), else None (a URL)."""
    if os.name != "posix" or type(port) is not serial.Serial:
        return None
    fd: int = port.fileno()
    return fd


def _timeout(request: Request) -> ProtocolError:
    word = request.to_line().split(" ", 1)[0]
    return ProtocolError(ErrCode.TIMEOUT, f"no reply to {word} in time")


# --- blocking -----------------------------------------------------------------------------------


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
                if exc.code in (ErrCode.TIMEOUT, ErrCode.BADREPLY) and attempt + 1 < attempts:
                    exchange.discard()
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
                raise _timeout(request)
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


# --- asyncio ------------------------------------------------------------------------------------


class AsyncSerialClient:
    """The same operations over pyserial-asyncio: `await AsyncSerialClient.open(port)`."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: ClientConfig
    ) -> None:
        self.config = config
        self._reader = reader
        self._writer = writer
        self._exchange = Exchange(config)
        self._lock = asyncio.Lock()  # one request on the line at a time

    @classmethod
    async def open(
        cls, port: str, baud: int = DEFAULT_BAUD, config: ClientConfig | None = None
    ) -> AsyncSerialClient:
        """Open `port` (a path or pyserial URL)."""
        import serial_asyncio

        config = config or ClientConfig()
        try:
            reader, writer = await serial_asyncio.open_serial_connection(url=port, baudrate=baud)
        except (serial.SerialException, ValueError) as exc:
            raise OSError(f"{port}: cannot open the serial port ({exc})") from None
        transport: Any = writer.transport
        transport.serial.reset_input_buffer()
        client = cls(reader, writer, config)
        writer.write(CANCEL)  # voids a half line another host left behind
        if config.checksum:
            await client.set_checksum(True)
        return client

    async def __aenter__(self) -> AsyncSerialClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the port."""
        self._writer.close()

    @property
    def events(self) -> deque[str]:
        """`EVT` lines received so far, oldest first."""
        return self._exchange.events

    async def request(self, request: Request) -> Reply:
        """Send `request` and return its reply."""
        async with self._lock:
            exchange = self._exchange
            attempts = exchange.attempts(request)
            for attempt in range(attempts):
                try:
                    reply = await self._once(request)
                except ProtocolError as exc:
                    retry = exc.code in (ErrCode.TIMEOUT, ErrCode.BADREPLY)
                    if retry and attempt + 1 < attempts:
                        exchange.discard()
                        continue
                    raise
                exchange.accepted(request)
                return reply
            raise AssertionError("unreachable")

    async def _once(self, request: Request) -> Reply:
        exchange = self._exchange
        self._writer.write(exchange.encode(request))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + exchange.budget(request)
        while True:
            reply = exchange.answer()
            if reply is not None:
                return reply
            left = deadline - loop.time()
            if left <= 0:
                raise _timeout(request)
            try:
                data = await asyncio.wait_for(self._reader.read(READ_CHUNK), left)
            except TimeoutError:
                raise _timeout(request) from None
            if not data:
                raise OSError("serial line closed")
            exchange.feed(data)

    async def hello(self) -> HelloReply:
        """Who is on the line."""
        return expect(await self.request(Hello()), HelloReply)

    async def state(self) -> dict[str, StateValue]:
        """The device's public state."""
        return dict(expect(await self.request(State()), StateReply).fields)

    async def read_display(self) -> str:
        """The display text."""
        return expect(await self.request(Read()), Display).text

    async def press(self, button: str) -> None:
        """Press and release `button`."""
        expect(await self.request(Press(button)), Ok)

    async def type_digits(self, digits: str) -> None:
        """Press each digit in turn."""
        expect(await self.request(Type(digits)), Ok)

    async def hold(self, button: str, seconds: float) -> None:
        """Hold `button` for `seconds`."""
        expect(await self.request(Hold(button, seconds)), Ok)

    async def power(self, on: bool) -> None:
        """Switch the device on or off."""
        expect(await self.request(Power(on)), Ok)

    async def clock(self) -> float:
        """The device clock."""
        return expect(await self.request(ClockQuery()), ClockReply).now

    async def clock_advance(self, seconds: float) -> float:
        """Move a virtual device clock forward."""
        return expect(await self.request(ClockAdvance(seconds)), ClockReply).now

    async def clock_set(self, unix: float) -> float:
        """Set a virtual device clock."""
        return expect(await self.request(ClockSet(unix)), ClockReply).now

    async def set_checksum(self, on: bool) -> None:
        """Make line checksums mandatory both ways (or optional again)."""
        expect(await self.request(Checksum(on)), Ok)
