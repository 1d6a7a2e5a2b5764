"""SQLite writers queue on one lock per store file (host_bridge/db/writers.py): a second
thread's or process's write transaction starts once the first one ends, whichever name the file
goes by; past the busy timeout it is SQLite's own "database is locked", and nothing is written.
Between processes the queue is an `flock` of `<store>.writers` (0600, empty)."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from host_bridge.db.engine import Database
from host_bridge.db.writers import LOCK_SUFFIX, writer_lock
from tests.bridge_helpers import FakeClock, open_bridge

CHILD_WRITES = """
import sys
from sqlalchemy import text
from host_bridge.db.engine import Database
db = Database.connect("sqlite:///" + sys.argv[1])
with db.transaction() as tx:
    tx.conn.execute(text("INSERT INTO t VALUES (2)"))
db.close()
"""


def _store(path: Path, busy_timeout_ms: int = 30_000) -> Database:
    db = Database.connect(f"sqlite:///{path}", busy_timeout_ms=busy_timeout_ms)
    with db.transaction() as tx:
        tx.conn.execute(text("CREATE TABLE IF NOT EXISTS t (v INTEGER)"))
    return db


def test_threads_queue_for_the_write_lock_and_go_on_when_it_is_free(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = _store(path)
    errors: list[BaseException] = []

    def write() -> None:  # a thread of its own, a Database of its own (as the HTTP workers)
        second = _store(tmp_path / "." / "s.sqlite3")  # the same file by another name
        try:
            with second.transaction() as tx:
                tx.conn.execute(text("INSERT INTO t VALUES (2)"))
        except BaseException as error:  # the test reports it below
            errors.append(error)
        finally:
            second.close()

    with first.transaction() as tx:
        tx.conn.execute(text("INSERT INTO t VALUES (1)"))
        writer = threading.Thread(target=write)
        writer.start()  # it queues behind this transaction, then writes once it commits
    writer.join()
    assert errors == []
    with first.read() as tx:
        assert sorted(v for (v,) in tx.conn.execute(text("SELECT v FROM t"))) == [1, 2]
    first.close()


def test_a_writer_that_waits_past_the_busy_timeout_gets_sqlites_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = _store(path)
    outcome: list[BaseException] = []

    def write() -> None:
        second = Database.connect(f"sqlite:///{path}", busy_timeout_ms=1)
        try:
            with second.transaction() as tx:
                tx.conn.execute(text("INSERT INTO t VALUES (2)"))
        except exc.OperationalError as error:
            outcome.append(error)
        finally:
            second.close()

    with first.transaction() as tx:
        tx.conn.execute(text("INSERT INTO t VALUES (1)"))
        thread = threading.Thread(target=write)
        thread.start()
        thread.join()  # while this transaction holds the lock
    assert len(outcome) == 1 and "database is locked" in str(outcome[0])
    with first.read() as tx:
        assert [v for (v,) in tx.conn.execute(text("SELECT v FROM t"))] == [1]
    first.close()


@pytest.mark.parametrize("name", ["a.sqlite3", "sub/../a.sqlite3"])
def test_one_lock_per_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "sub").mkdir()
    assert writer_lock(str(tmp_path / name)) is writer_lock(str(tmp_path / "a.sqlite3"))


def _blocked_flock_waiters(path: Path) -> int:
    """Processes waiting in `flock` for `path` now (/proc/locks: "-> FLOCK" on its inode)."""
    inode = f":{path.stat().st_ino} "
    with open("/proc/locks") as locks:
        return sum("-> FLOCK" in line and inode in line for line in locks)


def test_processes_queue_on_the_lock_file_and_both_commit(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = _store(path)
    lock_file = Path(str(path) + LOCK_SUFFIX)
    with first.transaction() as tx:
        tx.conn.execute(text("INSERT INTO t VALUES (1)"))
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_WRITES, str(path)], stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60  # a bound on a broken run, not a synchronisation
        while _blocked_flock_waiters(lock_file) == 0:  # the child waits in the kernel's queue
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never queued on the lock file"
    _out, err = child.communicate(timeout=60)  # it goes on once this transaction committed
    assert child.returncode == 0, err
    with first.read() as tx:
        assert sorted(v for (v,) in tx.conn.execute(text("SELECT v FROM t"))) == [1, 2]
    first.close()


def test_past_the_busy_timeout_on_the_lock_file_it_is_sqlites_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    db = _store(path, busy_timeout_ms=50)
    # Another open file description holds the lock: to flock, another process.
    other = os.open(str(path) + LOCK_SUFFIX, os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(exc.OperationalError, match="database is locked"), \
                db.transaction() as tx:
            tx.conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        os.close(other)  # releases it; the waiter that gave up takes it and lets it go
    with db.read() as tx:
        assert list(tx.conn.execute(text("SELECT v FROM t"))) == []  # nothing written
    with db.transaction() as tx:  # the queue is free again (nothing left holding it)
        tx.conn.execute(text("INSERT INTO t VALUES (2)"))
    with db.read() as tx:
        assert [v for (v,) in tx.conn.execute(text("SELECT v FROM t"))] == [2]
    db.close()


def test_the_lock_file_is_private_and_empty(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bridge = open_bridge(home, FakeClock(1_700_000_000.0))
    bridge.add_user("alice", "correct horse")
    bridge.provision("alice", "scc", image_path=tmp_path / "scc.img")
    bridge.close()
    (lock_file,) = home.glob("*" + LOCK_SUFFIX)
    mode = lock_file.stat().st_mode
    assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o600
    assert lock_file.read_bytes() == b""  # the lock only: no secret, nothing at all


def test_a_folder_without_room_for_the_lock_file_still_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    db = _store(path)
    lock_file = Path(str(path) + LOCK_SUFFIX)
    lock_file.unlink()
    lock_file.symlink_to(tmp_path / "elsewhere")  # refused (O_NOFOLLOW): SQLite's lock alone
    with db.transaction() as tx:
        tx.conn.execute(text("INSERT INTO t VALUES (1)"))
    assert not (tmp_path / "elsewhere").exists()
    with db.read() as tx:
        assert [v for (v,) in tx.conn.execute(text("SELECT v FROM t"))] == [1]
    db.close()
