"""One SQLite writer at a time per process, queued on a lock instead of SQLite's busy handler.

SQLite lets one connection write at a time; a second one's `BEGIN IMMEDIATE` waits in SQLite's
busy handler, which polls: it sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 then 100 ms between
tries, whatever the writer is doing. The HTTP server runs several threads per process, each with
its own connection, so its writers mostly waited on each other that way: a commit of a few
milliseconds cost a waiting thread 8 ms or 100 ms (issue 12's profile: the p99 of a login).
Threads of one process now queue on one lock per store file, taken before `BEGIN IMMEDIATE`
and released after the commit or rollback, and the next one starts the moment it is released.
Other processes still meet at SQLite's lock (busy handler, `busy_timeout`).

Same semantics as SQLite's lock, minus the polling: the lock is re-entrant (a thread that opens a
second `Database` on the store while writing reaches SQLite's lock, as before) and gives up after
the busy timeout with SQLite's own error ("database is locked").
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import exc

_LOCKS: dict[str, threading.RLock] = {}
_GUARD: Final = threading.Lock()


def writer_lock(path: str) -> threading.RLock:
    """The process's writer lock of the SQLite file `path` (one per file, however named)."""
    real = os.path.realpath(path)
    with _GUARD:
        return _LOCKS.setdefault(real, threading.RLock())


@contextmanager
def writing(lock: threading.RLock, timeout_s: float, statement: str) -> Iterator[None]:
    """Hold `lock` for one write transaction; `OperationalError` "database is locked" (as
    SQLite's busy timeout) if it cannot be had within `timeout_s`."""
    if not lock.acquire(timeout=timeout_s):
        raise exc.OperationalError(
            statement, None, sqlite3.OperationalError("database is locked")
        )
    try:
        yield
    finally:
        lock.release()
