"""The asyncio serial client: the operations of `slsio.serial_client.SerialClient`, awaited.

A thin shell over pyserial-asyncio around the sans-I/O `Exchange` (`slsio.serial_exchange`): it
writes what the exchange encodes, feeds it what the line returns, and waits with the exchange's
deadline and retry rules (docs/serial-protocol.md, "Host side"). One request is on the line at a
time (a lock), so concurrent tasks may share a client.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType
from typing import Any

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
    Read,
    Reply,
    Request,
    State,
    StateReply,
    StateValue,
    Type,
)
from slsio.serial_exchange import (
    DEFAULT_BAUD,
    READ_CHUNK,
    ClientConfig,
    Exchange,
    expect,
    timeout_error,
)

__all__ = ["AsyncSerialClient"]


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
                    if exchange.retry(exc, attempt, attempts):
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
                raise timeout_error(request)
            try:
                data = await asyncio.wait_for(self._reader.read(READ_CHUNK), left)
            except TimeoutError:
                raise timeout_error(request) from None
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
