"""The RADIUS server loop: asyncio UDP on the loop, the bridge on one worker thread.

Theory of operation: `datagram_received` does everything cheap on the event loop — size and
framing checks, the client lookup by source address, pyrad's decoding and the
Message-Authenticator check (`wire.decode`), the reply cache — and hands a checked request to
the one worker thread that owns the `Bridge` (a `Bridge` is one per thread; the password hash
and the store's commits run there, never on the loop). The reply goes back from the loop.

Duplicates (RFC 5080 section 2.2.2): a request with the same client address, port, Identifier
and Request Authenticator as one seen in the last `CACHE_SECONDS` is answered with the reply
already sent (or dropped while the first is still being worked on), never processed twice.
Whatever a datagram holds, it gets a reply or is dropped and counted in `Counters`; nothing a
packet holds stops the server. Logs name clients and counts, never a secret, password or code.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, cast

from sqlalchemy.exc import SQLAlchemyError

from host_bridge.bridge import Bridge
from host_bridge.errors import StoreError
from host_bridge.radius.clients import Client, Clients
from host_bridge.radius.flow import Answer, Outcome, RadiusLogin
from host_bridge.radius.wire import Drop, Kind, Request, decode, encode

CACHE_SECONDS: Final = 5.0
MAX_CACHE: Final = 65_536
MAX_QUEUED: Final = 256
log = logging.getLogger("slsbridge.radius")

CacheKey = tuple[str, int, int, bytes]


@dataclass(slots=True)
class Counters:
    """What the server did with the datagrams it received."""

    received: int = 0
    answered: int = 0
    duplicates: int = 0
    dropped: collections.Counter[Drop] = field(default_factory=collections.Counter)
    outcomes: collections.Counter[Outcome] = field(default_factory=collections.Counter)

    def summary(self) -> str:
        drops = " ".join(f"{reason.value}={n}" for reason, n in sorted(
            self.dropped.items(), key=lambda item: item[0].value))
        return (f"received={self.received} answered={self.answered} "
                f"duplicates={self.duplicates} dropped: {drops or 'none'}")


class ReplyCache:
    """Replies by (address, port, Identifier, Request Authenticator), for `seconds`.
    A `None` reply marks a request still being worked on."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: collections.OrderedDict[CacheKey, tuple[float, bytes | None]] = (
            collections.OrderedDict()
        )

    def __contains__(self, key: CacheKey) -> bool:
        self._expire()
        return key in self._entries

    def get(self, key: CacheKey) -> bytes | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def put(self, key: CacheKey, reply: bytes | None) -> None:
        self._expire()
        self._entries.pop(key, None)
        self._entries[key] = (self.clock() + self.seconds, reply)
        while len(self._entries) > MAX_CACHE:
            self._entries.popitem(last=False)

    def forget(self, key: CacheKey) -> None:
        self._entries.pop(key, None)

    def _expire(self) -> None:
        now = self.clock()
        while self._entries:
            key, (expires, _) = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[key]


class RadiusProtocol(asyncio.DatagramProtocol):
    """One UDP socket. `worker` runs `RadiusLogin` calls on its single thread."""

    def __init__(self, clients: Clients, worker: Worker) -> None:
        self.clients = clients
        self.worker = worker
        self.counters = Counters()
        self.cache = ReplyCache(CACHE_SECONDS)
        self.transport: asyncio.DatagramTransport | None = None
        self._queued = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.counters.received += 1
        host, port = str(addr[0]), int(addr[1])
        client = self.clients.find(host)
        if client is None:
            self._drop(Drop.UNKNOWN_CLIENT, host)
            return
        request = decode(data, client.secret)
        if isinstance(request, Drop):
            self._drop(request, client.name)
            return
        key: CacheKey = (host, port, data[1], data[4:20])
        if key in self.cache:
            self.counters.duplicates += 1
            cached = self.cache.get(key)
            if cached is not None:
                self._send(cached, addr)
            return
        if request.kind is Kind.STATUS:
            self._reply(key, addr, encode(request, None))
            return
        if self._queued >= MAX_QUEUED:
            self._drop(Drop.BUSY, client.name)
            return
        self._queued += 1
        self.cache.put(key, None)
        future = asyncio.wrap_future(self.worker.submit(client, request))
        future.add_done_callback(lambda done: self._answered(done, key, addr, request))

    def _answered(
        self, done: asyncio.Future[Answer], key: CacheKey, addr: tuple[str | int, ...],
        request: Request,
    ) -> None:
        self._queued -= 1
        error = done.exception()
        if error is not None:
            self.cache.forget(key)  # the client's retry gets another try
            if isinstance(error, StoreError | SQLAlchemyError):
                self._drop(Drop.STORE, type(error).__name__)
                return
            raise error  # a bug: the loop's exception handler logs it, the server goes on
        answer = done.result()
        self.counters.outcomes[answer.outcome] += 1
        self._reply(key, addr, encode(request, answer))

    def _reply(self, key: CacheKey, addr: tuple[str | int, ...], reply: bytes) -> None:
        self.cache.put(key, reply)
        self._send(reply, addr)

    def _send(self, reply: bytes, addr: tuple[str | int, ...]) -> None:
        if self.transport is not None:
            self.counters.answered += 1
            self.transport.sendto(reply, addr)

    def _drop(self, reason: Drop, who: str) -> None:
        self.counters.dropped[reason] += 1
        log.debug("dropped a datagram from %s: %s", who, reason.value)


class Worker:
    """The one thread that owns the `Bridge` and the `RadiusLogin` over it."""

    def __init__(self, home: Path | None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="radius-bridge")
        self._login: RadiusLogin | None = None
        self._executor.submit(self._open, home).result()

    def _open(self, home: Path | None) -> None:
        bridge = Bridge.open(home, create=False)  # a server never creates the store
        try:
            _ = bridge.master  # a missing or wrong master key: refused before serving
        except BaseException:
            bridge.close()
            raise
        self._login = RadiusLogin(bridge)

    def submit(self, client: Client, request: Request) -> Future[Answer]:
        return self._executor.submit(self._run, client, request)

    def _run(self, client: Client, request: Request) -> Answer:
        assert self._login is not None
        if request.state is not None:  # no User-Password: an empty answer
            return self._login.resume(
                client.caller, request.user, request.state, request.password or ""
            )
        if request.user is None or request.password is None:
            return Answer(Outcome.REJECT, "User-Name and User-Password are required")
        return self._login.start(client.caller, request.user, request.password)

    def close(self) -> None:
        def shut() -> None:
            if self._login is not None:
                self._login.bridge.close()

        self._executor.submit(shut).result()
        self._executor.shutdown()


async def serve(
    host: str, port: int, clients: Clients, home: Path | None = None,
    ready: Callable[[tuple[str, int]], None] | None = None,
    stop: asyncio.Event | None = None,
) -> Counters:
    """Serve until `stop` is set (the command sets it on SIGINT/SIGTERM); the counters."""
    loop = asyncio.get_running_loop()
    worker = await loop.run_in_executor(None, Worker, home)
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: RadiusProtocol(clients, worker), local_addr=(host, port),
        )
        try:
            if ready is not None:
                ready(transport.get_extra_info("sockname")[:2])
            await (stop or asyncio.Event()).wait()
        finally:
            transport.close()
        return protocol.counters
    finally:
        await loop.run_in_executor(None, worker.close)
