"""The engine layer on SQLite: units of work are all or nothing, nested transactions join the
outer one, and only serialization failures and deadlocks run a unit of work again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from host_bridge.db.engine import Database, is_retryable
from host_bridge.db.migrate import upgrade
from host_bridge.errors import BridgeError
from host_bridge.repos import holidays
from tests.bridge_helpers import FakeClock, open_bridge


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def _failure(sqlstate: str) -> OperationalError:
    return OperationalError("COMMIT", {}, _DriverError(sqlstate))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database.connect(f"sqlite:///{tmp_path / 's.sqlite3'}", retries=3)
    upgrade(database)
    return database


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_serialization_failure_or_deadlock_runs_the_unit_again(
    db: Database, sqlstate: str
) -> None:
    import datetime as dt

    runs: list[int] = []

    def work() -> int:
        with db.transaction() as tx:
            holidays.add(tx, dt.date(2030, 1, len(runs) + 1), None)
            runs.append(1)
            if len(runs) < 3:
                raise _failure(sqlstate)
        return len(runs)

    assert db.retrying(work) == 3
    with db.read() as tx:  # the failed runs left nothing behind
        assert [day for day, _ in holidays.listing(tx)] == [dt.date(2030, 1, 3)]


def test_other_errors_and_exhausted_retries_are_not_hidden(db: Database) -> None:
    runs: list[int] = []

    def unique_violation() -> None:
        runs.append(1)
        raise _failure("23505")

    with pytest.raises(OperationalError):
        db.retrying(unique_violation)
    assert len(runs) == 1

    def always_conflicting() -> None:
        runs.append(1)
        raise _failure("40001")

    runs.clear()
    with pytest.raises(OperationalError):
        db.retrying(always_conflicting)
    assert len(runs) == 1 + db.retries
    assert not is_retryable(ValueError("no driver error"))


def test_inside_an_open_transaction_a_unit_runs_once(db: Database) -> None:
    runs: list[int] = []

    def conflicting() -> None:
        runs.append(1)
        raise _failure("40001")

    with pytest.raises(OperationalError), db.transaction():
        db.retrying(conflicting)  # only the outermost unit of work may run again
    assert runs == [1]


def test_a_unit_of_work_is_all_or_nothing(tmp_path: Path) -> None:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    bridge.add_user("alice", "pw")
    before = len(bridge.audit(limit=1000))
    with pytest.raises(BridgeError, match="already exists"):
        bridge.add_user("alice", "other")
    # A nested transaction joined the outer one: its audit row went with the rollback.
    with pytest.raises(RuntimeError), bridge.db.transaction():
        bridge.ctx.audit("test.event", "ok")
        assert bridge.db.in_transaction
        raise RuntimeError("fails after the audit row")
    assert len(bridge.audit(limit=1000)) == before
    assert bridge.user("alice").name == "alice"
