"""Emulated devices on the network, as a serial device server (ser2net and kin) offers them.

Theory of operation. Every device gets its own TCP port, counted up from a base port in the order
of the image names (`--tcp 127.0.0.1:7000`: the first device on 7000, the next on 7001, ...; a
base port of 0 lets the system pick one per device). A port speaks either the raw line (pyserial's
`socket://`, socat, netcat) or RFC 2217 (`rfc2217://`, see `emulator.net_line`); a server may
offer both kinds, from two base ports. The protocol is the one of a pty (`LineProtocol`), with the
same guarantees; what a network adds:

* **One client per device.** While a client is connected, the device's ports stop listening, so a
  second client is refused at once (`connection refused`) instead of waiting without knowing why.
  When the client leaves, the ports listen again (same numbers). One descriptor per device at any
  time, which is what lets 10,000 devices fit under a 20,000 open-file limit.
* **A client that vanishes is a power cut.** Its half line is never executed (the decoder drops
  it), and the device restarts from its image: durable state kept (saved before every `OK`),
  volatile state (a half-typed PIN) lost, the device off. The next client finds it as after
  unplugging the reader.
* **Idle connections time out** after `idle_timeout` seconds without a byte from the client
  (then as a vanished client).
* **Bounded memory per connection**: back-pressure as on a pty (docs/serial-protocol.md).

State of a port: LISTENING --accept--> IN USE (listeners closed) --client gone/idle--> LISTENING.
"""

from __future__ import annotations

import asyncio
import math
import socket
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from emulator.device_server import Endpoint, SerialServer
from emulator.line_protocol import LineProtocol
from emulator.net_line import NetLineProtocol, Rfc2217Protocol
from emulator.serial_server import DeviceLine

LISTEN_BACKLOG: Final = 4
RELISTEN_SECONDS: Final = 1.0
"""How soon to try again when a port cannot listen again (another process took it meanwhile)."""
DEFAULT_HOST: Final = "127.0.0.1"


class Kind(Enum):
    """What a port speaks, named by the pyserial URL scheme a client uses for it."""

    TCP = "socket"
    RFC2217 = "rfc2217"


@dataclass(frozen=True, slots=True)
class Address:
    """A host and a (base) port to listen on."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not self.host or not 0 <= self.port <= 65535:
            raise ValueError(f"bad address {self.host}:{self.port}")

    def url(self, kind: Kind) -> str:
        """The pyserial URL a client opens."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{kind.value}://{host}:{self.port}"


def parse_address(text: str) -> Address:
    """`HOST:PORT`, `:PORT` or `PORT` (host 127.0.0.1); IPv6 as `[::1]:PORT`. ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.removeprefix("[").removesuffix("]") or DEFAULT_HOST
    if not port.isdigit() or len(port) > 5 or int(port) > 65535:
        raise ValueError(f"{text!r}: expected HOST:PORT with a port from 0 to 65535")
    return Address(host, int(port))


@dataclass(frozen=True, slots=True)
class NetConfig:
    """Where and how devices listen."""

    bases: tuple[tuple[Kind, Address], ...]
    idle_timeout: float = 600.0

    def __post_init__(self) -> None:
        if not self.bases:
            raise ValueError("no address to listen on")
        if not (math.isfinite(self.idle_timeout) and self.idle_timeout > 0):
            raise ValueError("the idle timeout must be a positive number of seconds")

    def address(self, base: Address, index: int) -> Address:
        """Device `index`'s address from a base (0 stays 0: the system picks)."""
        port = base.port + index if base.port else 0
        if port > 65535:
            raise ValueError(f"{base.host}:{base.port}: not enough ports for {index + 1} devices")
        return Address(base.host, port)


class NetDevice:
    """One device behind its ports: listening, or serving its one client."""

    def __init__(self, server: SerialServer, line: DeviceLine, image: Path, config: NetConfig):
        self._server = server
        self._config = config
        self._loop = asyncio.get_running_loop()
        self._listeners: dict[Kind, socket.socket] = {}
        self.addresses: dict[Kind, Address] = {}
        self._client: asyncio.BaseTransport | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._relisten: asyncio.TimerHandle | None = None
        self._closed = False
        self.endpoint = Endpoint(line, None, "", image, self.close)

    def listen(self, kind: Kind, address: Address) -> None:
        """Open the port (once at start; the number is then kept for re-listening)."""
        sock = _listening_socket(address)
        self.addresses[kind] = Address(address.host, sock.getsockname()[1])
        self._watch(kind, sock)
        self.endpoint.path = " ".join(a.url(k) for k, a in self.addresses.items())

    def _watch(self, kind: Kind, sock: socket.socket) -> None:
        self._listeners[kind] = sock
        self._loop.add_reader(sock.fileno(), self._accept, kind)

    def _accept(self, kind: Kind) -> None:
        listener = self._listeners.get(kind)
        if listener is None or self._client is not None:
            return
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError as exc:  # out of descriptors, for one: the port stays open for later
            sys.stderr.write(f"slsemu serve: {self.endpoint.image}: accept failed: {exc}\n")
            return
        self._stop_listening()  # in use: a second client is refused, not left waiting
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        protocol = self._protocol(kind)
        self.endpoint.protocol = protocol
        protocol.lost.add_done_callback(lambda _lost: self._client_gone(protocol))
        self._connecting = self._loop.create_task(self._connect(conn, protocol))

    async def _connect(self, conn: socket.socket, protocol: LineProtocol) -> None:
        try:
            transport, _ = await self._loop.connect_accepted_socket(lambda: protocol, conn)
        except OSError:
            conn.close()
            protocol.connection_lost(None)
            return
        self._client = transport
        if self._closed:
            transport.abort()

    def _protocol(self, kind: Kind) -> LineProtocol:
        server, line = self._server, self.endpoint.line
        if kind is Kind.RFC2217:
            return Rfc2217Protocol(line, server.config, server.faults(), self._config.idle_timeout)
        return NetLineProtocol(line, server.config, server.faults(), self._config.idle_timeout)

    def _client_gone(self, protocol: LineProtocol) -> None:
        if self.endpoint.protocol is protocol:
            self.endpoint.protocol = None
        self._client = None
        if self._closed:
            return
        self.endpoint.line.power_cut()
        self._listen_again()

    def _listen_again(self) -> None:
        self._relisten = None
        for kind, address in self.addresses.items():
            if kind in self._listeners:
                continue
            try:
                self._watch(kind, _listening_socket(address))
            except OSError as exc:
                sys.stderr.write(f"slsemu serve: {address.url(kind)}: cannot listen again: {exc}\n")
                self._relisten = self._loop.call_later(RELISTEN_SECONDS, self._listen_again)

    def _stop_listening(self) -> None:
        listeners, self._listeners = self._listeners, {}
        for sock in listeners.values():
            self._loop.remove_reader(sock.fileno())
            sock.close()

    def close(self) -> None:
        """Stop listening and drop the client (the server saves and closes the line)."""
        self._closed = True
        if self._relisten is not None:
            self._relisten.cancel()
        self._stop_listening()
        if isinstance(self._client, asyncio.Transport):
            self._client.abort()
        self._client = None


def _listening_socket(address: Address) -> socket.socket:
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address.host, address.port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def add_net_device(server: SerialServer, image: Path, index: int, config: NetConfig) -> None:
    """Open `image` and make it listen on its ports (device `index` from each base)."""
    line = server.session(image)
    device = NetDevice(server, line, image, config)
    server.endpoints.append(device.endpoint)  # closed (and saved) with the server from now on
    for kind, base in config.bases:
        device.listen(kind, config.address(base, index))

