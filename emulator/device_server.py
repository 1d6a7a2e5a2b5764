"""Serving devices on serial lines: ptys the server makes, or ports pyserial opens.

`SerialServer` runs every device of one `slsemu serve` in one event loop: each `Endpoint` is a
`DeviceLine` (the device session), its `LineProtocol` and a transport (`FdTransport` for ptys and
POSIX ports, pyserial-asyncio for URLs). On the real-time clock one ticker lets time pass on
every idle device. The network listeners (`emulator.net_server`) add their endpoints to the
same server, so the clock, shutdown and saving are one code path.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.fd_transport import FdTransport, close_fds, open_pty
from emulator.images import FolderLock
from emulator.line_protocol import Faults, LineProtocol
from emulator.serial_server import DeviceLine, ServeConfig
from emulator.session import DeviceSession


@dataclass(slots=True)
class Endpoint:
    """One served device: its line, its protocol (the current client's, on a network port:
    None while nobody is connected), where a host finds it, and how to close it all."""

    line: DeviceLine
    protocol: LineProtocol | None
    path: str
    image: Path
    close: Callable[[], None]


@dataclass(slots=True)
class SerialServer:
    """Serves device images on ports or ptys in one event loop, until `stop()`."""

    config: ServeConfig
    endpoints: list[Endpoint] = field(default_factory=list)
    _fault_source: Faults | None = None
    folder_lock: FolderLock | None = None
    """Set when the server owns a whole folder: its images' sessions are covered by it."""
    _stopping: asyncio.Event | None = None
    _ticker: asyncio.TimerHandle | None = None

    def faults(self) -> Faults:
        """The server's one fault generator (seeded once: reproducible with --seed)."""
        if self._fault_source is None:
            self._fault_source = Faults(self.config)
        return self._fault_source

    def session(self, image: Path) -> DeviceLine:
        """Open `image` (locked: by its own lock, or covered by the server's folder lock)."""
        config = self.config
        start = config.clock_start if config.virtual_clock else None
        covered = self.folder_lock.covering(image) if self.folder_lock is not None else None
        session = DeviceSession(image, clock=start, lock=covered)
        return DeviceLine(
            session, config.virtual_clock, max_hold=config.max_hold, max_advance=config.max_advance
        )

    def protocol(self, line: DeviceLine) -> LineProtocol:
        """A fresh framing protocol for `line` (faults drawn from the server's one generator)."""
        return LineProtocol(line, self.config, self.faults())

    async def add_pty(self, image: Path) -> Endpoint:
        """Serve `image` on a new pty; the endpoint's `path` is the slave a host opens."""
        line = self.session(image)
        try:
            master, slave = open_pty()
        except BaseException:
            line.close()
            raise
        protocol = self.protocol(line)
        # The slave end stays open here too, so a host may close and reopen its path at will.
        path = os.ttyname(slave)
        loop = asyncio.get_running_loop()
        transport = FdTransport(loop, master, protocol, on_close=close_fds(master, slave))
        endpoint = Endpoint(line, protocol, path, image, transport.close)
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

        line = self.session(image)
        protocol = self.protocol(line)
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
        endpoint = Endpoint(line, protocol, port, image, transport.close)
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
            protocol = endpoint.protocol
            # A holding line catches up when released; a network device without a client
            # (off since its last client left) catches up at its next request, so a farm of
            # ten thousand idle devices costs no tick.
            if protocol is not None and not protocol.busy:
                try:
                    protocol.announce(endpoint.line.tick())
                except OSError as exc:
                    sys.stderr.write(f"slsemu serve: {endpoint.image}: save failed: {exc}\n")

    async def serve_until_stopped(self, stop_on_lost: bool) -> None:
        """Run until `stop()` (or, if `stop_on_lost`, until a port goes away)."""
        self._stopping = asyncio.Event()
        self.start_clock()
        stop = asyncio.ensure_future(self._stopping.wait())
        waiters: list[asyncio.Future[Any]] = [stop]
        if stop_on_lost:
            # watched, never cancelled
            waiters += [e.protocol.lost for e in self.endpoints if e.protocol is not None]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    def lost_endpoints(self) -> list[Endpoint]:
        """Endpoints whose port went away."""
        return [e for e in self.endpoints if e.protocol is not None and e.protocol.lost.done()]

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
            endpoint.close()
            try:
                endpoint.line.close()
            except OSError as exc:
                failures.append(f"{endpoint.image}: {exc}")
        if self.folder_lock is not None:
            self.folder_lock.release()
        if failures:
            raise OSError("could not save: " + "; ".join(failures))
