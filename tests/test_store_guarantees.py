"""The store's guarantees on both engines, with real processes: failure counters stay exact when
several processes charge one device at once; a lockout is seen at once by every bridge process,
even ones that used the device a moment before; on PostgreSQL, serialization failures and
deadlocks are retried inside the bridge and never reach the user, while a lost connection is one
line, exit 2, and nothing half-written."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import psycopg
import pytest

from host_bridge import verification as v
from host_bridge.bridge import Bridge
from host_bridge.cli import main
from host_bridge.config import BridgeConfig
from tests.bridge_helpers import FAST, withdrawal_totals
from tests.processes import WithEnv, racing_context
from tests.store_workers import (
    LOCKOUT_AFTER,
    PROCESSES,
    WRONG_EACH,
    answer,
    charge,
    setup_scc,
    wait_for_lock,
    wrong,
)


def test_failure_counters_stay_exact_under_concurrency(
    slsemu_home: Path, store_engine: str
) -> None:
    serial, key = setup_scc(slsemu_home, BridgeConfig(scrypt_n=2, lockout_after=1000))
    ctx = racing_context()
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    workers = [
        ctx.Process(target=WithEnv(charge), args=(str(slsemu_home), serial, key, barrier, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    refused = sum(results.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert refused == PROCESSES * WRONG_EACH
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        device = bridge.device(serial)
        verifies = [r for r in bridge.audit(limit=10_000) if r.event == "verify"]
    assert device.failures == PROCESSES * WRONG_EACH  # no charge lost to a race
    assert device.status == "active"
    assert len(verifies) == PROCESSES * WRONG_EACH
    assert sorted(r.detail["failures"] for r in verifies) == list(range(1, refused + 1))


def test_a_lockout_is_seen_at_once_by_every_bridge_process(
    slsemu_home: Path, store_engine: str
) -> None:
    config = BridgeConfig(scrypt_n=2, lockout_after=LOCKOUT_AFTER)
    serial, key = setup_scc(slsemu_home, config)
    ctx = racing_context()
    ready, locked, results = ctx.Barrier(PROCESSES + 1), ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(
            target=WithEnv(wait_for_lock),
            args=(str(slsemu_home), serial, key, ready, locked, results),
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    ready.wait(timeout=300)
    with Bridge.open(slsemu_home, config=config) as bridge:
        for _ in range(LOCKOUT_AFTER):
            challenge = bridge.issue_challenge(serial)
            bridge.verify(serial, challenge.id, wrong(answer(key, challenge.text)))
        assert bridge.device(serial).status == "locked"
    locked.set()
    answers = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert all(accepted is False and reason == v.LOCKED for accepted, reason, _ in answers)
    assert all("locked" in issued for _, _, issued in answers)


# --- PostgreSQL: conflicts are retried, a lost connection is one line ------------------------

INJECT = """
CREATE SEQUENCE attempts;
CREATE FUNCTION inject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('attempts') = 1 THEN
        IF TG_ARGV[0] = 'lost' THEN
            PERFORM pg_terminate_backend(pg_backend_pid());
        ELSE
            RAISE EXCEPTION 'injected' USING ERRCODE = TG_ARGV[0];
        END IF;
    END IF;
    RETURN NEW;
END $$;
"""


def _inject(url: str, table: str, fault: str) -> None:
    """The first insert into `table` after this fails with `fault` (an SQLSTATE, or 'lost')."""
    with psycopg.connect(url) as conn:
        conn.execute(INJECT)
        conn.execute(
            f"CREATE TRIGGER inject BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION inject('{fault}')"
        )


def _attempts(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT last_value FROM attempts").fetchone()
    assert row is not None
    return int(row[0])


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def pg_scc(
    slsemu_home: Path, pg_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, bytes]:
    monkeypatch.setenv("SLSEMU_STORE", pg_store_url)
    slsemu_home.mkdir(parents=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 256\n")
    return setup_scc(slsemu_home, FAST)


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])  # serialization failure, deadlock
def test_a_conflict_in_verify_is_retried_and_never_shown(
    pg_scc: tuple[str, bytes], pg_store_url: str, sqlstate: str, slsemu_home: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    serial, key = pg_scc
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        challenge = bridge.issue_challenge(serial)
    _inject(pg_store_url, "audit", sqlstate)
    code, _, err = _cli(monkeypatch, capsys, "verify", "--serial", serial,
                          "--challenge-id", challenge.id, "--response",
                          answer(key, challenge.text))
    assert (code, err) == (0, "")
    assert _attempts(pg_store_url) == 2  # the first attempt really failed, the retry went through
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        verifies = [r for r in bridge.audit(limit=1000) if r.event == "verify"]
    assert [r.outcome for r in verifies] == ["accepted"]  # the failed attempt left nothing


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_conflict_in_a_withdrawal_is_retried_and_never_shown(
    pg_scc: tuple[str, bytes], pg_store_url: str, sqlstate: str, slsemu_home: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    serial, _ = pg_scc
    _inject(pg_store_url, "withdrawals", sqlstate)
    code, _, err = _cli(monkeypatch, capsys, "withdraw", "--user", "alice", "--device", serial,
                        "--amount", "1000", "--date", "2026-11-23")
    assert (code, err) == (0, "")
    assert _attempts(pg_store_url) == 2
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        assert withdrawal_totals(bridge) == (1, 100_000)


def test_a_connection_lost_in_verify_is_one_line_and_writes_nothing(
    pg_scc: tuple[str, bytes], pg_store_url: str, slsemu_home: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    serial, key = pg_scc
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        challenge = bridge.issue_challenge(serial)
        audited = len(bridge.audit(limit=1000))
    _inject(pg_store_url, "audit", "lost")
    right = answer(key, challenge.text)
    argv = ("verify", "--serial", serial, "--challenge-id", challenge.id, "--response", right)
    code, out, err = _cli(monkeypatch, capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("slsbridge: error: ") and err.count("\n") == 1
    assert right not in err
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        assert len(bridge.audit(limit=1000)) == audited
    # Nothing half-written: the challenge was not consumed, so the same answer now goes through.
    assert _cli(monkeypatch, capsys, *argv)[0] == 0
