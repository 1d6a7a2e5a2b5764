"""The line protocol on a network connection: raw TCP, or RFC 2217 (Telnet COM port control).

`NetLineProtocol` is `LineProtocol` plus an idle timeout. `Rfc2217Protocol` adds RFC 2217, using
pyserial's own server side, `serial.rfc2217.PortManager` (the Telnet option negotiation and the
COM-port subnegotiations, as pyserial's `rfc2217_server.py` example uses it), rather than writing
that negotiation again. `PortManager` drives a serial port object: here `NegotiatedPort`, which
holds what the client set and hands it to the line's writer, so the settings are honoured the way
a real device server would honour them:

* baud rate, data bits, parity and stop bits set the pacing of replies (bits per character =
  start + data + parity + stop) — on a server run with `--baud` (pacing on); without it a server
  paces no line, as for a pty, and only reports the values back;
* flow control: with RTS/CTS, the client's RTS off stops the device's output until it is on
  again; with XON/XOFF, the client's XOFF (0x13) stops it until XON (0x11). Those two bytes are
  then flow control, never request data. Stopped output applies back-pressure as a host that does
  not read does.

Purge requests are acknowledged; the server keeps no port buffer of its own to purge (requests
received are answered, in order). Replies are printable ASCII, so no outgoing byte is Telnet's
IAC (0xFF) and none needs escaping.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any, Final

from serial import rfc2217

from emulator.line_protocol import Faults, LineProtocol
from emulator.serial_server import DeviceLine, ServeConfig

IAC: Final = b"\xff"
XON: Final = 0x11
XOFF: Final = 0x13
MAX_BAUD: Final = 4_000_000
_PARITY_BITS: Final = {"N": 0, "E": 1, "O": 1, "M": 1, "S": 1}
_STOPBITS: Final = (1, 1.5, 2)
_BAD_SUBOPTION: Final = (KeyError, ValueError, IndexError, TypeError, struct.error)
"""What pyserial's PortManager lets escape from a malformed subnegotiation."""


class NetLineProtocol(LineProtocol):
    """`LineProtocol` on a TCP connection: closed after `idle` seconds without a byte."""

    def __init__(self, line: DeviceLine, config: ServeConfig, faults: Faults, idle: float) -> None:
        super().__init__(line, config, faults)
        self._idle = idle
        self._loop = asyncio.get_running_loop()
        self._last_heard = self._loop.time()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._net_transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._net_transport = transport
        self._idle_timer = self._loop.call_later(self._idle, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self._last_heard = self._loop.time()
        LineProtocol.data_received(self, data)

    def _check_idle(self) -> None:
        silent = self._loop.time() - self._last_heard
        if silent >= self._idle and self._net_transport is not None:
            self._idle_timer = None
            self._net_transport.close()
        else:
            self._idle_timer = self._loop.call_later(self._idle - silent, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)


class NegotiatedPort:
    """The serial port `PortManager` configures: what the client set, checked, then applied
    through `on_change`. Modem lines read as a present, ready device (CTS, DSR, CD on)."""

    def __init__(self, baud: int, on_change: Callable[[], None]) -> None:
        self.baudrate = baud
        self.bytesize = 8
        self.parity = "N"
        self.stopbits: float = 1
        self.xonxoff = False
        self.rtscts = False
        self.dtr = True
        self.rts = True
        self.break_condition = False
        self.cts = self.dsr = self.cd = True
        self.ri = False
        self._on_change: Callable[[], None] | None = on_change

    def __setattr__(self, name: str, value: object) -> None:
        _check_setting(name, value)
        object.__setattr__(self, name, value)
        on_change = self.__dict__.get("_on_change")
        if on_change is not None:
            on_change()

    @property
    def bits_per_byte(self) -> float:
        """Bits on the wire per character: start, data, parity, stop."""
        return 1 + self.bytesize + _PARITY_BITS[self.parity] + self.stopbits

    def reset_input_buffer(self) -> None:
        """Purge: nothing waits in a port buffer here."""

    def reset_output_buffer(self) -> None:
        """Purge: nothing waits in a port buffer here."""


def _check_setting(name: str, value: object) -> None:
    """Refuse what no UART does (PortManager then keeps the old value and reports it)."""
    if name == "baudrate" and not (isinstance(value, int) and 0 < value <= MAX_BAUD):
        raise ValueError("unsupported baud rate")
    if name == "bytesize" and value not in (5, 6, 7, 8):
        raise ValueError("unsupported data size")
    if name == "parity" and value not in _PARITY_BITS:
        raise ValueError("unsupported parity")
    if name == "stopbits" and value not in _STOPBITS:
        raise ValueError("unsupported stop bits")


class Rfc2217Protocol(NetLineProtocol):
    """A device line behind RFC 2217: Telnet filtered out, COM-port settings honoured."""

    def __init__(self, line: DeviceLine, config: ServeConfig, faults: Faults, idle: float) -> None:
        super().__init__(line, config, faults, idle)
        self._pacing = config.baud is not None
        self.port = NegotiatedPort(config.baud or 115200, self._apply)
        self._manager: rfc2217.PortManager | None = None
        self._xoff = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # PortManager writes its option requests at once, straight to the connection. It is
        # duck-typed: it uses only the attributes `NegotiatedPort` has and the transport's write.
        port: Any = self.port
        connection: Any = transport
        self._manager = rfc2217.PortManager(port, connection)

    def data_received(self, data: bytes) -> None:
        self._last_heard = self._loop.time()
        manager = self._manager
        if manager is None:
            return
        if IAC in data or manager.mode != rfc2217.M_NORMAL or manager.suboption is not None:
            data = self._filter(manager, data)
        if self.port.xonxoff and (XON in data or XOFF in data):
            data = self._flow(data)
        if data:
            LineProtocol.data_received(self, data)

    def _filter(self, manager: rfc2217.PortManager, data: bytes) -> bytes:
        # Byte by byte (only while Telnet commands are in the data): a malformed subnegotiation
        # raises out of the filter, and the bytes after it must still be seen.
        kept = bytearray()
        for index in range(len(data)):
            try:
                for byte in manager.filter(data[index : index + 1]):
                    kept += byte
            except _BAD_SUBOPTION:
                # Garbage from the client: drop that subnegotiation, keep serving.
                manager.mode, manager.suboption = rfc2217.M_NORMAL, None
        return bytes(kept)

    def _flow(self, data: bytes) -> bytes:
        for byte in data:
            if byte in (XON, XOFF):
                self._xoff = byte == XOFF
        self._apply()
        return data.replace(bytes((XON,)), b"").replace(bytes((XOFF,)), b"")

    def _apply(self) -> None:
        writer = self.writer
        if writer is None:
            return
        port = self.port
        writer.set_line(port.baudrate if self._pacing else None, port.bits_per_byte)
        stopped = (port.rtscts and not port.rts) or (port.xonxoff and self._xoff)
        writer.set_stopped(stopped)
