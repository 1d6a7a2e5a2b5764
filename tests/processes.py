"""Real processes for the race tests, without each one importing the world.

A `spawn` child starts a fresh interpreter and imports SQLAlchemy, psycopg and the bridge before
it can race: about half a CPU second each, and the race tests start about a hundred of them.
`racing_context()` is the `forkserver` context instead: one server process per test process
imports those modules once (it holds no connection, no thread, no open store), and every child
is a fork of it — a separate process with its own connections and its own GIL, so the races stay
races between real processes.

A forkserver child inherits the server's environment, which was the test process's when the
server started, not the current test's (`store_engine` sets SLSEMU_STORE per test). So every
target runs through `WithEnv`, which carries the parent's environment as it is when the test
builds the call.

`stop_server()` (tests/conftest.py, at the end of the session) ends the server and waits for it,
so no process outlives the run and the CPU time of the race workers is counted in the run's own
(`/usr/bin/time`), as it was with `spawn`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Any, Final

PRELOAD: Final = [
    "host_bridge.bridge",
    "host_bridge.services.policies",
    "host_bridge.db.migrate",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "psycopg",
]
"""What the server imports once (the modules every race worker needs)."""


def racing_context() -> BaseContext:
    """The `forkserver` context with the bridge preloaded (`spawn`'s semantics otherwise: the
    child shares nothing with the test process but what its arguments carry)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def stop_server() -> None:
    """End this process's forkserver, if one was started, and reap it."""
    server = multiprocessing.forkserver._forkserver  # the module's singleton (no public API)
    if server._forkserver_pid is not None:
        server._stop()


@dataclass(frozen=True)
class WithEnv:
    """`target(*args)` run under the environment of the process that made this (picklable when
    `target` is a module-level function)."""

    target: Callable[..., Any]
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def __call__(self, *args: Any) -> Any:
        os.environ.clear()
        os.environ.update(self.env)
        return self.target(*args)
