"""A device served on a serial line from a background thread, for tests.

`serve_image(image)` runs the one serial server (`emulator.device_server.SerialServer`) in its own
thread and event loop, on a virtual clock, and yields the path of the pty a host opens (the server
makes the pty pair itself, as `slsemu serve --pty` does, so no socat process is needed). Leaving
the block stops the server, which saves the image and releases its lock; the thread is joined
before the block returns.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulator.device_server import SerialServer
from emulator.serial_server import ServeConfig

START_TIMEOUT_SECONDS = 30.0


class ServeError(RuntimeError):
    """The test device could not be served (the server failed to start)."""


@contextmanager
def serve_image(image: Path, *, clock: float | None) -> Iterator[str]:
    """Serve `image` on a virtual clock starting at `clock` (None: now); yield the pty path a
    host opens."""
    server = SerialServer(ServeConfig(virtual_clock=True, clock_start=clock))
    ready = threading.Event()
    where: list[str] = []
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        try:
            endpoint = await server.add_pty(image)
            where.append(endpoint.path)
            ready.set()
            await server.serve_until_stopped(stop_on_lost=False)
        finally:
            server.close()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # handed to the test's thread below
            failure.append(exc)
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=run, name="sls-serial-device", daemon=True)
    thread.start()
    ready.wait(START_TIMEOUT_SECONDS)
    try:
        if not where:
            reason = failure[0] if failure else "it did not start in time"
            raise ServeError(f"the test device was not served: {reason}")
        yield where[0]
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(server.stop)
            thread.join(START_TIMEOUT_SECONDS)
