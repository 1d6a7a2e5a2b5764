"""Host calls off the UI thread: one thread that owns the host connection.

The password check (scrypt) and the store's durable commits (fsync) take long enough to freeze a
terminal app, so the login pane never makes them on the UI thread. It awaits them in Textual
workers instead, and each call runs here, on one dedicated thread: the store's connection may be
used only by the thread that opened it, so that thread opens it (`connect`, on first use), makes
every call and closes it. Calls run one at a time, in the order they were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


H = TypeVar("H", bound=Closable)
T = TypeVar("T")


class HostThread(Generic[H]):
    """Runs `call(fn)` as `fn(host)` on the host's own thread; `host` is `connect()`ed lazily."""

    def __init__(self, connect: Callable[[], H]) -> None:
        self._connect = connect
        self._host: H | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slsemu-host")
        self._closed = False

    def _run(self, fn: Callable[[H], T]) -> T:
        if self._host is None:
            self._host = self._connect()
        return fn(self._host)

    async def call(self, fn: Callable[[H], T]) -> T:
        """`fn(host)` on the host thread; the caller's event loop keeps running meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, fn)

    def close(self) -> None:
        """Close the host connection (on its thread, after the calls already queued)."""

        if self._closed:
            return
        self._closed = True

        def close_host() -> None:
            if self._host is not None:
                self._host.close()
                self._host = None

        self._executor.submit(close_host)
        self._executor.shutdown(wait=True)
