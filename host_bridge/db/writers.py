"""One SQLite writer at a time per store file, queued on locks instead of SQLite's busy handler.

SQLite lets one connection write at a time; a second one's `BEGIN IMMEDIATE` waits in SQLite's
busy handler, which polls: it sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 then 100 ms between
tries, whatever the writer is doing, and whoever polls at the right moment wins (unfair). The HTTP
server runs several worker processes of several threads, each with its own connection, so its
writers mostly waited on each other that way: a commit of a few milliseconds cost a waiting
writer 8 ms or 100 ms (issue 12's profile: the p99 of a login). Writers now queue twice, taken
before `BEGIN IMMEDIATE` and released after the commit or rollback:

1. the threads of one process on one `RLock` per store file;
2. the processes on an exclusive `flock` of the lock file beside the store, `<store>.writers`
   (0600, empty: it holds nothing but the lock). The kernel wakes a waiter the moment the lock
   is released, and a process that dies releases its lock with its file descriptors.

Cooperation, not correctness: SQLite's own lock still guards every write, so a process that does
not take the file lock, or a store whose folder does not let us create the lock file (the file
lock is then skipped), stays correct and merely meets the others in SQLite's busy handler.

Same semantics as SQLite's lock, minus the polling: re-entrant within a thread (a thread that
opens a second `Database` on the store while writing reaches SQLite's lock, as before) and after
the busy timeout (both waits together) SQLite's own error, "database is locked", before anything
is written. `flock` has no timeout, so a contended wait blocks in a helper thread and the writer
waits for it at most the time left; a helper that gets the lock after its writer gave up releases
it at once (its descriptor is its own: no other writer's lock is touched).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import exc

LOCK_SUFFIX: Final = ".writers"
_OPEN_FLAGS: Final = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


class WriterQueue:
    """The writer queue of one SQLite file in this process: its thread lock and, while a
    thread of this process writes, the descriptor holding the file lock."""

    __slots__ = ("_depth", "_fd", "lock", "lock_file")

    def __init__(self, store: str) -> None:
        self.lock = threading.RLock()
        self.lock_file = store + LOCK_SUFFIX
        self._depth = 0  # the owning thread's nesting (RLock re-entry); 0: not writing
        self._fd: int | None = None

    def enter(self, timeout_s: float, statement: str) -> None:
        """With `lock` held: take the file lock unless this thread already has it."""
        if self._depth == 0:
            self._fd = _file_lock(self.lock_file, timeout_s, statement)
        self._depth += 1

    def leave(self) -> None:
        """With `lock` held: the end of one write; the file lock goes with the outermost."""
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            _release(fd)


_QUEUES: dict[str, WriterQueue] = {}
_GUARD: Final = threading.Lock()


def writer_lock(path: str) -> WriterQueue:
    """The process's writer queue of the SQLite file `path` (one per file, however named)."""
    real = os.path.realpath(path)
    with _GUARD:
        return _QUEUES.setdefault(real, WriterQueue(real))


def _locked(statement: str) -> exc.OperationalError:
    return exc.OperationalError(statement, None, sqlite3.OperationalError("database is locked"))


@contextmanager
def writing(queue: WriterQueue, timeout_s: float, statement: str) -> Iterator[None]:
    """Hold `queue` (this process's turn, then the store's) for one write transaction;
    `OperationalError` "database is locked" (as SQLite's busy timeout) if it cannot be had
    within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    if not queue.lock.acquire(timeout=timeout_s):
        raise _locked(statement)
    try:
        queue.enter(max(0.0, deadline - time.monotonic()), statement)
        try:
            yield
        finally:
            queue.leave()
    finally:
        queue.lock.release()


def _release(fd: int) -> None:
    """Unlock first: a child forked meanwhile shares the open file and would keep it locked."""
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _file_lock(path: str, timeout_s: float, statement: str) -> int | None:
    """A descriptor of its own holding the exclusive lock of `path`, within `timeout_s`; None
    if the lock file cannot be opened (SQLite's lock alone then orders the writers)."""
    try:
        fd = os.open(path, _OPEN_FLAGS, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    except OSError:
        os.close(fd)
        return None
    got = _Waiter(fd).within(timeout_s)
    if got is None:
        raise _locked(statement)
    return fd if got else None


class _Waiter:
    """A blocking `flock` of `fd` in a helper thread, waited for at most a given time; the
    descriptor goes to whoever the outcome says owns it (the writer, or the helper to close)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._guard = threading.Lock()
        self._done = threading.Event()
        self._abandoned = False
        self._ok = False

    def within(self, timeout_s: float) -> bool | None:
        """True: the lock was had within `timeout_s` (the descriptor is the caller's); None:
        not in time; False: `flock` failed (closed). Only on True is the descriptor still the
        caller's to use and close."""
        threading.Thread(target=self._wait, name="sqlite-writer-flock", daemon=True).start()
        self._done.wait(timeout_s)
        with self._guard:
            if self._done.is_set():
                if not self._ok:
                    os.close(self._fd)
                return self._ok
            self._abandoned = True
            return None

    def _wait(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            ok = True
        except OSError:
            ok = False
        with self._guard:
            if self._abandoned:
                if ok:
                    _release(self._fd)
                else:
                    os.close(self._fd)
                return
            self._ok = ok
            self._done.set()
