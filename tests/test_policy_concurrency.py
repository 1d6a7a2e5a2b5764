"""Sixteen real processes withdrawing on one store at once, on SQLite and on PostgreSQL, never
exceed a limit together and lose no withdrawal: the ledger check and the insert share one
transaction (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: SERIALIZABLE, retried on conflict)."""

from __future__ import annotations

import datetime as dt
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.policies.withdrawal import usd
from host_bridge.services.policies import Policies
from tests.bridge_helpers import withdrawal_totals
from tests.processes import WithEnv, racing_context

PROCESSES = 16
ATTEMPTS = 2
AMOUNT = usd(15_000)
DAY = dt.date(2026, 11, 23)
CAP = usd(200_000)  # Security Code Card, per business day


def _withdraw_many(home: str, serial: str, barrier: Barrier, results: Any) -> None:
    with Bridge.open(Path(home), config=BridgeConfig(scrypt_n=2)) as bridge:
        rules = Policies(bridge)
        barrier.wait(timeout=60)
        allowed = sum(rules.withdraw("alice", serial, AMOUNT, DAY).allowed for _ in range(ATTEMPTS))
    results.put(allowed)


def test_processes_withdrawing_at_once_never_exceed_the_cap(
    slsemu_home: Path, store_engine: str
) -> None:
    with Bridge.open(slsemu_home, config=BridgeConfig(scrypt_n=2)) as bridge:
        bridge.init()
        bridge.add_user("alice", "pw")
        serial = bridge.provision("alice", "scc").serial

    ctx = racing_context()
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=WithEnv(_withdraw_many), args=(str(slsemu_home), serial, barrier, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    allowed = sum(results.get(timeout=10) for _ in workers)

    # 32 attempts of USD 15,000 against USD 200,000: exactly 13 fit, whatever the interleaving.
    assert allowed == CAP // AMOUNT
    with Bridge.open(slsemu_home) as bridge:
        rows = withdrawal_totals(bridge)
        audited = [r.outcome for r in bridge.audit(limit=1000) if r.event == "withdraw"]
    assert rows == (allowed, allowed * AMOUNT)
    assert rows[1] <= CAP
    assert audited.count("allowed") == allowed
    assert len(audited) == PROCESSES * ATTEMPTS
