"""Framing, order and back-pressure for one device line (docs/serial-protocol.md).

Theory of operation. `LineProtocol` is the `asyncio.Protocol` every transport shares (a pty, a
serial port, a TCP or RFC 2217 connection): bytes → `RequestDecoder` (bounded lines) → requests
answered strictly in order by the `DeviceLine`. `LineWriter` sends the replies: straight to the
transport, or — with line pacing, injected delays or the host's flow control — one at a time on a
timer, in order.

Nothing is ever dropped for lack of room (only `--drop` loses lines, on purpose). Instead the line
applies back-pressure: while the writer is *full* (the transport passed its high-water mark, the
paced queue holds more than that, or the host said stop) no further request is answered, received
bytes wait undecoded, and the transport stops reading. A host that does not read its replies is
therefore, in turn, not read: its own writes block, as on a serial line with flow control, and the
server holds at most one read's bytes plus the high-water mark of output for it.

A real-time `HOLD` keeps the line busy for as long as the button is held; requests arriving
meanwhile wait in a bounded queue and those beyond it are only counted: each gets its `ERR BUSY`
in its turn, after the replies to the requests before it.

States of a line: IDLE (answer at once), BUSY (a real-time hold runs; requests queue), STALLED
(the writer is full; nothing is decoded or read). IDLE --HOLD--> BUSY --timer--> IDLE;
IDLE --writer full--> STALLED --room again--> IDLE.
"""

from __future__ import annotations

import asyncio
import random
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

from emulator.serial_server import (
    BITS_PER_BYTE,
    OK_OUTCOME,
    OK_WIRE,
    DeviceLine,
    Outcome,
    ServeConfig,
)
from firmware_model.serial_codec import (
    Checksum,
    Err,
    ErrCode,
    Event,
    Reply,
    Request,
    RequestDecoder,
    encode_reply,
)

FEED_SLICE: Final = 4096
"""Received bytes are decoded this many at a time, so a stall stops within one slice."""


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
    """Sends reply lines in order, with optional pacing, faults and flow control; never blocks
    the device and never drops a line for lack of room (the protocol stops while `full`)."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        config: ServeConfig,
        faults: Faults,
        loop: asyncio.AbstractEventLoop,
        on_room: Callable[[], None],
    ) -> None:
        self._transport = transport
        self._config = config
        self._faults = faults
        self._loop = loop
        self._on_room = on_room
        self._faulty = config.faulty
        self._queue: deque[tuple[float, bytes]] = deque()
        self._queued_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._line_free_at = 0.0
        self._stopped = False
        self.baud = config.baud
        self.bits_per_byte: float = BITS_PER_BYTE
        self._plain = False
        self._update()
        self.paused = False

    def _update(self) -> None:
        self._timed = self.baud is not None or self._config.delay > 0 or self._stopped
        self._plain = not (self._timed or self._faulty)

    def set_line(self, baud: int | None, bits_per_byte: float) -> None:
        """Pace as a line of `baud` (None: no pacing) with `bits_per_byte` on the wire would."""
        self.baud, self.bits_per_byte = baud, bits_per_byte
        self._update()

    def set_stopped(self, stopped: bool) -> None:
        """The host's flow control: stop sending (XOFF, RTS off) or go on."""
        if stopped == self._stopped:
            return
        self._stopped = stopped
        self._update()
        if not stopped:
            self._line_free_at = max(self._line_free_at, self._loop.time())
            self._flush_due()

    @property
    def full(self) -> bool:
        """Whether the device must wait before answering more (back-pressure)."""
        return self.paused or self._queued_bytes > self._config.write_high_water

    def send(self, lines: Iterable[bytes]) -> None:
        """Send encoded lines (faults applied), in order."""
        if self._faulty:
            lines = [out for line in lines if (out := self._faults.apply(line)) is not None]
        if not self._timed:
            data = b"".join(lines)
            if data and not self._transport.is_closing():
                self._transport.write(data)
            return
        now = self._loop.time()
        for line in lines:
            start = max(now, self._line_free_at) + self._faults.delay()
            baud = self.baud
            wire_time = len(line) * self.bits_per_byte / baud if baud else 0.0
            self._line_free_at = start + wire_time
            self._queue.append((self._line_free_at, line))
            self._queued_bytes += len(line)
        self._schedule()

    def send_line(self, line: bytes) -> None:
        """Send one encoded line: `send((line,))`, without the detours when nothing is injected."""
        if self._plain and not self._transport.is_closing():
            self._transport.write(line)
        else:
            self.send((line,))

    def _schedule(self) -> None:
        if self._timer is None and self._queue and not self._stopped:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush_due)

    def _flush_due(self) -> None:
        self._timer = None
        was_full = self.full
        now = self._loop.time()
        while self._queue and self._queue[0][0] <= now and not self._stopped:
            line = self._queue.popleft()[1]
            self._queued_bytes -= len(line)
            if not self._transport.is_closing():
                self._transport.write(line)
        self._schedule()
        if was_full and not self.full:
            self._on_room()

    def room(self) -> None:
        """The transport took its buffer down below the low-water mark."""
        self.paused = False
        if not self.full:
            self._on_room()

    def close(self) -> None:
        """Stop sending (pending paced lines are dropped with the connection)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
        self._queued_bytes = 0


class LineProtocol(asyncio.Protocol):
    """Framing, request order and back-pressure for one device line."""

    def __init__(self, line: DeviceLine, config: ServeConfig, faults: Faults) -> None:
        self.line = line
        self._config = config
        self._faults = faults
        self._decoder = RequestDecoder()
        self._checksum_out = False
        self._rest = b""  # received, not yet decoded (the line is stalled or busy meanwhile)
        self._backlog: deque[Request | Err] = deque()  # decoded, not yet answered
        self._refused = 0  # requests after a full hold queue, owed an `ERR BUSY` each, in order
        self._busy: asyncio.TimerHandle | None = None
        self._writer: LineWriter | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._reading = True
        self.lost = asyncio.get_running_loop().create_future()

    @property
    def writer(self) -> LineWriter | None:
        """The line's writer (None before the connection is made)."""
        return self._writer

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        loop = asyncio.get_running_loop()
        high = self._config.write_high_water
        transport.set_write_buffer_limits(high=high, low=high // 4)
        self._transport = transport
        self._writer = LineWriter(transport, self._config, self._faults, loop, self._pump)

    def data_received(self, data: bytes) -> None:
        self._rest = self._rest + data if self._rest else data
        self._pump()

    def connection_lost(self, exc: Exception | None) -> None:
        self._decoder.close()  # a half line is never executed
        self._rest = b""
        self._backlog.clear()
        self._refused = 0
        if self._busy is not None:
            self._busy.cancel()
            self._busy = None
        if self._writer is not None:
            self._writer.close()
        if not self.lost.done():
            self.lost.set_result(exc)

    def pause_writing(self) -> None:
        if self._writer is not None:
            self._writer.paused = True

    def resume_writing(self) -> None:
        if self._writer is not None:
            self._writer.room()

    @property
    def busy(self) -> bool:
        """Whether a real-time hold is running (requests queue meanwhile)."""
        return self._busy is not None

    # requests

    def _pump(self) -> None:
        """Answer what waits, then decode more, as far as the writer has room."""
        writer = self._writer
        if writer is None or self.lost.done():
            return
        backlog = self._backlog
        while backlog and self._busy is None and not writer.full:
            self._answer(backlog.popleft())
        if self._refused and self._busy is None and not backlog:
            self._refuse_owed(writer)
        while self._rest and (
            self._busy is not None or not (backlog or self._refused or writer.full)
        ):
            rest = self._rest
            if len(rest) <= FEED_SLICE:
                chunk, self._rest = rest, b""
            else:
                chunk, self._rest = rest[:FEED_SLICE], rest[FEED_SLICE:]
            self._take(self._decoder.feed(chunk), writer)
        stalled = bool(self._rest) or (
            self._busy is None and bool(backlog or self._refused or writer.full)
        )
        if stalled == self._reading:
            self._set_reading(not stalled)

    def _take(self, items: list[Request | Err], writer: LineWriter) -> None:
        backlog = self._backlog
        for item in items:
            if self._busy is None and not backlog and not self._refused and not writer.full:
                self._answer(item)
            elif self._busy is not None and (
                self._refused or len(backlog) >= self._config.max_queued
            ):
                self._refused += 1  # answered in order: after the replies to those queued
            else:
                backlog.append(item)

    def _set_reading(self, reading: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        assert isinstance(transport, asyncio.ReadTransport)
        self._reading = reading
        if reading:
            transport.resume_reading()
        else:
            transport.pause_reading()

    def _answer(self, item: Request | Err) -> None:
        if isinstance(item, Err):
            self._send((item,))
            return
        try:
            outcome = self.line.handle(item)
        except Exception:  # a bug: keep serving the other devices, but show it in full
            traceback.print_exc(file=sys.stderr)
            outcome = Outcome((Err(ErrCode.INTERNAL, "internal error (see the server log)"),))
        if outcome is OK_OUTCOME:  # the common answer (never busy), encoded once
            if self._writer is not None:
                self._writer.send_line(OK_WIRE[self._checksum_out])
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
        self._pump()

    def _refuse_owed(self, writer: LineWriter) -> None:
        """Send the `ERR BUSY` owed to the requests that found the hold queue full, in turn,
        as far as the writer has room (the rest stays owed: a count costs no memory)."""
        busy = Err(ErrCode.BUSY, "too many requests waiting")
        while self._refused and not writer.full:
            batch = min(self._refused, self._config.max_queued)
            self._refused -= batch
            self._send((busy,) * batch)

    def _send(self, replies: Iterable[Reply]) -> None:
        if self._writer is None:
            return
        if replies is OK_OUTCOME.replies:  # the most common answer, encoded once
            self._writer.send_line(OK_WIRE[self._checksum_out])
        else:
            self._writer.send([encode_reply(reply, self._checksum_out) for reply in replies])

    def announce(self, events: tuple[Event, ...]) -> None:
        """Send unsolicited lines (from the clock tick). They are few (time-driven changes
        only), so they go out even while requests wait."""
        if events:
            self._send(events)
