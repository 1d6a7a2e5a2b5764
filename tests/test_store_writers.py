"""SQLite writers of one process queue on one lock per store file (host_bridge/db/writers.py):
a second thread's write transaction starts once the first one ends, whichever name the file goes
by; past the busy timeout it is SQLite's own "database is locked", and nothing is written."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from host_bridge.db.engine import Database
from host_bridge.db.writers import writer_lock


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
