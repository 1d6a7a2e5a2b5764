"""Emulated devices on serial lines: the device side of docs/serial-protocol.md.

Theory of operation. One asyncio process serves one or many devices, each on its own line:

* `DeviceLine` binds a `DeviceSession` (image lock, load, save-before-acknowledge) to the
  protocol: it turns one decoded `Request` into the replies to send (device events as `EVT`
  lines first, then the answer) and, on a real-time clock, lets time pass before every request
  and on every tick, announcing what changed by itself (`EVT DISPLAY`, `EVT POWER OFF`); the
  model's own events (`firmware_model.events`) go out as `EVT DEVICE <name> <args>`.
  It does no I/O of its own; the session saves the image before a reply is produced whenever the
  device says durable state changed, so an `OK` never runs ahead of the disk.
* `LineProtocol` is the framing `asyncio.Protocol`: bytes → `RequestDecoder` (bounded lines) →
  requests handled strictly in order. A real-time `HOLD` keeps the line busy for as long as the
  button is held; requests arriving meanwhile wait in a bounded queue. Those beyond it are only
  counted: each gets its `ERR BUSY` in its turn, after the replies to the requests before it.
* `LineWriter` sends reply lines: straight to the transport, or — with `--baud` pacing or
  injected delays — one at a time on a timer, in order. Fault injection (drop, garble, delay)
  applies to what the device sends, from one seeded random generator.
* `FdTransport` serves a tty's file descriptor with one `os.read`/`os.write` per event: the
  master side of a pseudo-terminal the server made itself (it keeps the slave end open too, so
  a host may close and reopen the slave path at will), or a POSIX serial device pyserial opened.
  Ports that are not file descriptors (pyserial URLs) go through pyserial-asyncio.
* Output is bounded: a host that does not read makes the transport pause writing, and lines sent
  while paused are dropped (a real line does not store bytes for an absent host).

State of a line: IDLE (handle a request at once) or BUSY (a real-time hold is running; requests
queue). Transitions: IDLE --HOLD (real clock)--> BUSY --timer--> IDLE, draining the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import random
import sys
import termios
import time
import traceback
import tty
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from emulator.session import DeviceSession
from firmware_model.errors import SlsError, UnknownButton
from firmware_model.serial_codec import (
    PROTOCOL_VERSION,
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
    Read,
    Reply,
    Request,
    RequestDecoder,
    State,
    StateReply,
    StateValue,
    Type,
    encode_reply,
)

BITS_PER_BYTE: Final = 10
"""8N1 framing: a start bit, eight data bits, a stop bit."""
POWER_BUTTON: Final = "POWER"
READ_CHUNK: Final = 4096


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """How lines are served. Every limit is configuration, none is hard-coded in the logic."""

    virtual_clock: bool = False
    clock_start: float | None = None
    baud: int | None = None
    drop: float = 0.0
    garble: float = 0.0
    delay: float = 0.0
    seed: int | None = None
    tick_seconds: float = 0.25
    max_queued: int = 32
    write_high_water: int = 64 * 1024

    def __post_init__(self) -> None:
        for name, value in (("drop", self.drop), ("garble", self.garble)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a probability between 0 and 1")
        if not (math.isfinite(self.delay) and self.delay >= 0):
            raise ValueError("delay must be a non-negative number of seconds")
        if self.baud is not None and self.baud <= 0:
            raise ValueError("baud must be positive")
        if not (math.isfinite(self.tick_seconds) and self.tick_seconds > 0):
            raise ValueError("tick must be a positive number of seconds")
        if self.max_queued < 1 or self.write_high_water < 256:
            raise ValueError("queue and buffer limits must be positive")
        if self.clock_start is not None and not self.virtual_clock:
            raise ValueError("a clock start time needs the virtual clock")
        if self.clock_start is not None and not (
            math.isfinite(self.clock_start) and self.clock_start >= 0
        ):
            raise ValueError("the clock start must be finite, non-negative Unix seconds")

    @property
    def faulty(self) -> bool:
        """Whether any fault is injected."""
        return self.drop > 0 or self.garble > 0 or self.delay > 0


# --- one device on one line (no I/O) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What answering one request produced: lines to send, and how long the line stays busy."""

    replies: tuple[Reply, ...]
    busy_seconds: float = 0.0


Clock = Callable[[], float]
_OK: Final = Outcome((Ok(),))
_OK_WIRE: Final = (encode_reply(Ok()), encode_reply(Ok(), with_checksum=True))
"""`OK` as sent without and with the line checksum (index: checksum on)."""


class DeviceLine:
    """The protocol's view of one device session. Bad requests change nothing."""

    def __init__(self, session: DeviceSession, virtual_clock: bool, wall: Clock = time.time):
        self.session = session
        self.virtual_clock = virtual_clock
        self._wall = wall
        image = session.device.to_image()
        self.serial = image.serial
        self.model = session.device.model
        self._handlers: dict[type[Any], Callable[[Any], Outcome]] = {
            Hello: self._hello,
            State: self._state,
            Read: self._read,
            Press: self._press,
            Type: self._type,
            Hold: self._hold,
            Power: self._power,
            ClockQuery: self._clock_query,
            ClockAdvance: self._clock_advance,
            ClockSet: self._clock_set,
            Checksum: lambda _request: Outcome((Ok(),)),
        }

    # -- entry points --

    def handle(self, request: Request) -> Outcome:
        """Answer one request: device events first, then the reply (or one `ERR`)."""
        before: tuple[Event, ...] = ()
        try:
            if not self.virtual_clock:
                before = self.tick()  # time passed since the last event
            outcome = self._handlers[type(request)](request)
        except UnknownButton as exc:
            outcome = Outcome((Err(ErrCode.BUTTON, str(exc)),))
        except ProtocolError as exc:
            outcome = Outcome((Err(exc.code, exc.message),))
        except OSError as exc:
            # The image could not be saved: say so instead of acknowledging.
            message = f"image could not be saved: {exc.strerror or exc}"
            outcome = Outcome((Err(ErrCode.INTERNAL, message),))
        except (SlsError, ValueError) as exc:
            outcome = Outcome((Err(ErrCode.BADARG, str(exc)),))
        if before:
            return Outcome(before + outcome.replies, outcome.busy_seconds)
        return outcome

    def tick(self) -> tuple[Event, ...]:
        """Let real time pass (real-time clock only); announce what changed by itself."""
        if self.virtual_clock:
            return ()
        return self._let_time_pass(lambda: self.session.set_time(self._wall()))

    def close(self) -> None:
        """Save what changed and release the image."""
        self.session.close()

    # -- helpers --

    def _let_time_pass(self, step: Callable[[], None]) -> tuple[Event, ...]:
        device = self.session.device
        display, powered = device.display, device.powered
        step()
        events = list(self._device_events())
        if device.display != display:
            events.append(Event(f"DISPLAY {device.display}".rstrip()))
        if powered and not device.powered:
            events.append(Event("POWER OFF"))
        return tuple(events)

    def _device_events(self) -> tuple[Event, ...]:
        return tuple(Event.from_device(event) for event in self.session.last_reaction.events)

    def _acknowledged(self) -> Outcome:
        """`OK` after a key, with the device's events before it."""
        if not self.session.last_reaction.events:
            return _OK  # the common case, without allocating
        return Outcome((*self._device_events(), Ok()))

    def _press(self, request: Press) -> Outcome:
        # The hot path of a rig: `_acknowledged` inlined (no events is the common case).
        session = self.session
        session.press(request.button)
        if session.last_reaction.events:
            return Outcome((*self._device_events(), Ok()))
        return _OK

    def _needs_virtual_clock(self) -> None:
        if not self.virtual_clock:
            raise ProtocolError(ErrCode.CLOCK, "clock control needs a server run --virtual-clock")

    # -- handlers --

    def _hello(self, _request: Hello) -> Outcome:
        return Outcome((HelloReply(PROTOCOL_VERSION, self.model, self.serial),))

    def _state(self, _request: State) -> Outcome:
        fields: dict[str, StateValue] = dict(self.session.device.status())
        fields.update(
            serial=self.serial,
            clock="virtual" if self.virtual_clock else "real",
            time=round(self.session.now, 6),
        )
        return Outcome((StateReply(fields),))

    def _read(self, _request: Read) -> Outcome:
        return Outcome((Display(self.session.read_display()),))

    def _type(self, request: Type) -> Outcome:
        device = self.session.device
        for digit in set(request.digits):
            device.check_button(digit)  # refuse before the first digit: all or nothing
        self.session.type_digits(request.digits)
        return self._acknowledged()

    def _hold(self, request: Hold) -> Outcome:
        self.session.hold(request.button, request.seconds)
        outcome = self._acknowledged()
        # On the real clock the OK comes when the button is let go, as on the real thing.
        busy = 0.0 if self.virtual_clock else request.seconds
        return Outcome(outcome.replies, busy)

    def _power(self, request: Power) -> Outcome:
        device = self.session.device
        if POWER_BUTTON not in device.buttons:
            raise ProtocolError(ErrCode.UNSUPPORTED, f"{self.model} has no POWER button")
        if device.powered == request.on:
            return Outcome((Ok(),))  # already so: POWER ON/OFF is idempotent
        self.session.press(POWER_BUTTON)
        return self._acknowledged()

    def _clock_query(self, _request: ClockQuery) -> Outcome:
        return Outcome((ClockReply(round(self.session.now, 6)),))

    def _clock_advance(self, request: ClockAdvance) -> Outcome:
        self._needs_virtual_clock()
        later = self.session.now + request.seconds
        events = self._let_time_pass(lambda: self.session.set_time(later))
        return Outcome((*events, ClockReply(round(self.session.now, 6))))

    def _clock_set(self, request: ClockSet) -> Outcome:
        self._needs_virtual_clock()
        if request.unix < self.session.now:
            raise ProtocolError(ErrCode.BADARG, "the device clock never goes back")
        events = self._let_time_pass(lambda: self.session.set_time(request.unix))
        return Outcome((*events, ClockReply(round(self.session.now, 6))))


# --- faults and pacing ----------------------------------------------------------------------------


class Faults:
    """Seeded fault injection on outgoing lines: drop, garble (flip one bit), delay."""

    def __init__(self, config: ServeConfig) -> None:
        self._config = config
        self._random = random.Random(config.seed)  # its own generator: reproducible with --seed

    def apply(self, line: bytes) -> bytes | None:
        """The line as it reaches the host, or None if it is lost."""
        if self._config.drop and self._random.random() < self._config.drop:
            return None
        if self._config.garble and self._random.random() < self._config.garble and len(line) > 1:
            index = self._random.randrange(len(line) - 1)  # the terminator is kept
            garbled = bytearray(line)
            garbled[index] ^= 1 << self._random.randrange(8)
            return bytes(garbled)
        return line

    def delay(self) -> float:
        """Extra delay for one line."""
        return self._random.uniform(0, self._config.delay) if self._config.delay else 0.0


class LineWriter:
    """Sends reply lines in order, with optional pacing and faults, never blocking the device."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        config: ServeConfig,
        faults: Faults,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._config = config
        self._faults = faults
        self._loop = loop
        self._timed = config.baud is not None or config.delay > 0
        self._faulty = config.faulty
        self._plain = not (self._timed or self._faulty)
        self._queue: deque[tuple[float, bytes]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._line_free_at = 0.0
        self.paused = False
        self.dropped_while_paused = 0

    def send(self, lines: Iterable[bytes]) -> None:
        """Send encoded lines (faults applied), in order."""
        if self._faulty:
            lines = [out for line in lines if (out := self._faults.apply(line)) is not None]
        if not self._timed:
            data = b"".join(lines)
            if data:
                self._write(data)
            return
        now = self._loop.time()
        for line in lines:
            start = max(now, self._line_free_at) + self._faults.delay()
            wire_time = len(line) * BITS_PER_BYTE / self._config.baud if self._config.baud else 0
            self._line_free_at = start + wire_time
            self._queue.append((self._line_free_at, line))
        self._schedule()

    def send_line(self, line: bytes) -> None:
        """Send one encoded line: `send((line,))`, without the detours when nothing is injected."""
        if self._plain and not self.paused and not self._transport.is_closing():
            self._transport.write(line)
        else:
            self.send((line,))

    def _schedule(self) -> None:
        if self._timer is None and self._queue:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush_due)

    def _flush_due(self) -> None:
        self._timer = None
        now = self._loop.time()
        while self._queue and self._queue[0][0] <= now:
            self._write(self._queue.popleft()[1])
        self._schedule()

    def _write(self, data: bytes) -> None:
        if self._transport.is_closing():
            return
        if self.paused:
            self.dropped_while_paused += data.count(b"\n")
            return
        self._transport.write(data)

    def close(self) -> None:
        """Stop sending (pending paced lines are dropped)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()


# --- the framing protocol -------------------------------------------------------------------------


class LineProtocol(asyncio.Protocol):
    """Framing and request order for one device line."""

    def __init__(self, line: DeviceLine, config: ServeConfig, faults: Faults) -> None:
        self.line = line
        self._config = config
        self._faults = faults
        self._decoder = RequestDecoder()
        self._checksum_out = False
        self._queue: deque[Request | Err] = deque()
        self._refused = 0  # requests after a full queue, owed an `ERR BUSY` each, in order
        self._busy: asyncio.TimerHandle | None = None
        self._writer: LineWriter | None = None
        self.lost = asyncio.get_running_loop().create_future()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        loop = asyncio.get_running_loop()
        transport.set_write_buffer_limits(high=self._config.write_high_water)
        self._writer = LineWriter(transport, self._config, self._faults, loop)

    def data_received(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if self._busy is None:
                self._answer(item)
            elif not self._refused and len(self._queue) < self._config.max_queued:
                self._queue.append(item)
            else:
                self._refused += 1  # answered in order: after the replies to those queued

    def connection_lost(self, exc: Exception | None) -> None:
        self._decoder.close()  # a half line is never executed
        if self._busy is not None:
            self._busy.cancel()
        if self._writer is not None:
            self._writer.close()
        if not self.lost.done():
            self.lost.set_result(exc)

    def pause_writing(self) -> None:
        if self._writer is not None:
            self._writer.paused = True

    def resume_writing(self) -> None:
        if self._writer is not None:
            self._writer.paused = False

    @property
    def busy(self) -> bool:
        """Whether a real-time hold is running (requests queue meanwhile)."""
        return self._busy is not None

    # requests

    def _answer(self, item: Request | Err) -> None:
        if isinstance(item, Err):
            self._send((item,))
            return
        try:
            outcome = self.line.handle(item)
        except Exception:  # a bug: keep serving the other devices, but show it in full
            traceback.print_exc(file=sys.stderr)
            outcome = Outcome((Err(ErrCode.INTERNAL, "internal error (see the server log)"),))
        if outcome is _OK:  # the common answer (never busy), encoded once
            if self._writer is not None:
                self._writer.send_line(_OK_WIRE[self._checksum_out])
        elif outcome.busy_seconds > 0:
            loop = asyncio.get_running_loop()
            self._busy = loop.call_later(outcome.busy_seconds, self._release, outcome.replies)
            return
        else:
            self._send(outcome.replies)
        if isinstance(item, Checksum):
            self._checksum_out = item.on  # after the OK, as documented

    def _release(self, replies: tuple[Reply, ...]) -> None:
        self._busy = None
        self._send(replies)
        while self._queue and self._busy is None:
            self._answer(self._queue.popleft())
        if self._busy is None and self._refused:
            self._refuse_owed()

    def _refuse_owed(self) -> None:
        """Send the `ERR BUSY` owed to the requests that found the queue full, in turn. Lines a
        host does not read are dropped, as any output is, so a flood costs no memory."""
        refused, self._refused = self._refused, 0
        busy = Err(ErrCode.BUSY, "too many requests waiting")
        writer = self._writer
        while refused and writer is not None and not writer.paused:
            batch = min(refused, self._config.max_queued)
            self._send((busy,) * batch)
            refused -= batch
        if writer is not None:
            writer.dropped_while_paused += refused

    def _send(self, replies: Iterable[Reply]) -> None:
        if self._writer is None:
            return
        if replies is _OK.replies:  # the most common answer, encoded once
            self._writer.send_line(_OK_WIRE[self._checksum_out])
        else:
            self._writer.send([encode_reply(reply, self._checksum_out) for reply in replies])

    def announce(self, events: tuple[Event, ...]) -> None:
        """Send unsolicited lines (from the clock tick)."""
        if events:
            self._send(events)


# --- a pty the server makes itself ----------------------------------------------------------------


class FdTransport(asyncio.WriteTransport):
    """Reads and writes one non-blocking file descriptor of a tty: a pty master the server made,
    or a POSIX serial device pyserial opened and configured (`on_close` closes it).

    It is the hot path of every request: one `os.read` per readable event and one `os.write` per
    reply, where pyserial-asyncio adds a `select` to each read and a writer poll to each write.
    A read error or an empty read (a device that went away) closes the line.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        protocol: asyncio.Protocol,
        on_close: Callable[[], None],
    ) -> None:
        super().__init__()
        self._loop = loop
        self._fd = fd
        self._protocol = protocol
        self._on_close = on_close
        self._buffer = bytearray()
        self._high = 64 * 1024
        self._low = 16 * 1024
        self._paused = False
        self._closing = False
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._read_ready)
        protocol.connection_made(self)

    def _read_ready(self) -> None:
        try:
            data = os.read(self._fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: the pty or the device is gone
            self._close(exc)
            return
        if data:
            self._protocol.data_received(data)
        else:  # readable yet empty: how a vanished device shows itself
            self._close(OSError("the device is gone"))

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        if not self._buffer:
            try:
                written = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as exc:
                self._close(exc)
                return
            if written == len(data):
                return  # the common case: the line took it all
            data = data[written:]
            self._loop.add_writer(self._fd, self._write_ready)
        self._buffer += data
        self._check_pause()

    def _write_ready(self) -> None:
        try:
            written = os.write(self._fd, self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(exc)
            return
        del self._buffer[:written]
        if not self._buffer:
            self._loop.remove_writer(self._fd)
        if self._paused and len(self._buffer) <= self._low:
            self._paused = False
            self._protocol.resume_writing()

    def _check_pause(self) -> None:
        if not self._paused and len(self._buffer) > self._high:
            self._paused = True
            self._protocol.pause_writing()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._high = high if high is not None else self._high
        self._low = low if low is not None else self._high // 4

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._close(None)

    def _close(self, exc: Exception | None) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._buffer.clear()
        with contextlib.suppress(OSError):
            self._on_close()
        self._loop.call_soon(self._protocol.connection_lost, exc)


def _close_fds(*fds: int) -> Callable[[], None]:
    def close() -> None:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    return close


def open_pty() -> tuple[int, int]:
    """A raw pty pair (no echo, no line editing): (master, slave)."""
    master, slave = os.openpty()
    tty.setraw(slave, termios.TCSANOW)
    return master, slave


# --- the server -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Endpoint:
    """One served device: its line, protocol and transport, and where a host finds it."""

    line: DeviceLine
    protocol: LineProtocol
    transport: asyncio.BaseTransport
    path: str
    image: Path


@dataclass(slots=True)
class SerialServer:
    """Serves device images on ports or ptys in one event loop, until `stop()`."""

    config: ServeConfig
    endpoints: list[Endpoint] = field(default_factory=list)
    faults: Faults | None = None
    _stopping: asyncio.Event | None = None
    _ticker: asyncio.TimerHandle | None = None

    def _faults(self) -> Faults:
        if self.faults is None:
            self.faults = Faults(self.config)
        return self.faults

    def _session(self, image: Path) -> DeviceLine:
        start = self.config.clock_start if self.config.virtual_clock else None
        return DeviceLine(DeviceSession(image, clock=start), self.config.virtual_clock)

    async def add_pty(self, image: Path) -> Endpoint:
        """Serve `image` on a new pty; the endpoint's `path` is the slave a host opens."""
        line = self._session(image)
        try:
            master, slave = open_pty()
        except BaseException:
            line.close()
            raise
        protocol = LineProtocol(line, self.config, self._faults())
        # The slave end stays open here too, so a host may close and reopen its path at will.
        path = os.ttyname(slave)
        loop = asyncio.get_running_loop()
        transport = FdTransport(loop, master, protocol, on_close=_close_fds(master, slave))
        endpoint = Endpoint(line, protocol, transport, path, image)
        self.endpoints.append(endpoint)
        return endpoint

    async def add_port(self, image: Path, port: str, baud: int) -> Endpoint:
        """Serve `image` on a pyserial port or URL.

        pyserial opens and configures the port (raw 8N1 at `baud`); a POSIX device (a tty, a
        socat pty end) is then served through its file descriptor (`FdTransport`), anything
        else (`socket://`, `rfc2217://`, ...) through pyserial-asyncio.
        """
        import serial
        import serial_asyncio

        line = self._session(image)
        protocol = LineProtocol(line, self.config, self._faults())
        loop = asyncio.get_running_loop()
        transport: asyncio.BaseTransport
        try:
            device = serial.serial_for_url(port, baudrate=baud)
        except (serial.SerialException, OSError, ValueError) as exc:
            line.close()
            raise OSError(f"{port}: cannot open the serial port ({exc})") from None
        try:
            if os.name == "posix" and type(device) is serial.Serial:
                transport = FdTransport(loop, device.fileno(), protocol, on_close=device.close)
            else:
                try:  # pyserial-asyncio waits on the port's descriptor
                    device.fileno()
                except io.UnsupportedOperation:  # loop:// and other ports with none
                    raise OSError(f"{port}: cannot be served (no file descriptor)") from None
                transport, _ = await serial_asyncio.connection_for_serial(
                    loop, lambda: protocol, device
                )
        except BaseException:
            device.close()
            line.close()
            raise
        endpoint = Endpoint(line, protocol, transport, port, image)
        self.endpoints.append(endpoint)
        return endpoint

    def start_clock(self) -> None:
        """On the real-time clock, let time pass on every device every `tick_seconds`."""
        if not self.config.virtual_clock and self._ticker is None:
            self._tick()

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        # Next tick first: a failing device must not stop the clock of the others.
        self._ticker = loop.call_later(self.config.tick_seconds, self._tick)
        for endpoint in self.endpoints:
            if not endpoint.protocol.busy:  # a holding line catches up when released
                try:
                    endpoint.protocol.announce(endpoint.line.tick())
                except OSError as exc:
                    sys.stderr.write(f"slsemu serve: {endpoint.image}: save failed: {exc}\n")

    async def serve_until_stopped(self, stop_on_lost: bool) -> None:
        """Run until `stop()` (or, if `stop_on_lost`, until a port goes away)."""
        self._stopping = asyncio.Event()
        self.start_clock()
        stop = asyncio.ensure_future(self._stopping.wait())
        waiters: list[asyncio.Future[Any]] = [stop]
        if stop_on_lost:
            waiters += [e.protocol.lost for e in self.endpoints]  # watched, never cancelled
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    def lost_endpoints(self) -> list[Endpoint]:
        """Endpoints whose port went away."""
        return [e for e in self.endpoints if e.protocol.lost.done()]

    def stop(self) -> None:
        """Ask `serve_until_stopped` to return (safe from a signal handler)."""
        if self._stopping is not None:
            self._stopping.set()

    def close(self) -> None:
        """Save every image, release the locks, close every line (idempotent)."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        failures: list[str] = []
        while self.endpoints:
            endpoint = self.endpoints.pop()
            endpoint.transport.close()
            try:
                endpoint.line.close()
            except OSError as exc:
                failures.append(f"{endpoint.image}: {exc}")
        if failures:
            raise OSError("could not save: " + "; ".join(failures))
