"""BENCH bridge_verify_postgres and bridge_scaling_postgres: the bridge on PostgreSQL.

Both run on the durable throwaway server `make bench` starts (tests/pg_cluster.py --durable:
fsync and synchronous commit on), each in a new database of its own.

`bridge_verify_postgres`: logins (challenge + verification, the card's OCRA in between) per
second through the bridge, beside a bare `INSERT; COMMIT` loop on the same server with the same
durability settings (pg_baseline.BareInserts), in paired rounds (benchmarks/logins.py). A login
is two transactions: issuing commits with `synchronous_commit = off` (docs/host-bridge.md: a
challenge lost in a power cut harms nobody), the verification durably. Target: ratio >= 0.5.

`bridge_scaling_postgres`: logins/s with 1, 2, 4 and 8 bridge processes (spawned; each its own
connection and device) on the same server, each counting its logins over the same wall-clock
window after a common start. Printed side by side in one line; `ratio` is 8 processes over 1.
No target: on a 2-core machine the server and the clients share the two cores.

`store_commit_floor_postgres`: the bare loop's insert+commit through the store's own `Database`
(SQLAlchemy Core) against the bare psycopg loop: the library's floor (benchmarks/logins.py).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchResult
from benchmarks.logins import CardLogin, StoreCommits, logins_vs_commits
from benchmarks.pg_baseline import BareInserts, bench_server
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.db.engine import ENV_STORE
from tests.pg_cluster import scratch_database

WARM_UP = 500
ROUNDS = 7
PROCESS_COUNTS = (1, 2, 4, 8)
WINDOW_SECONDS = 3.0
CONFIG = BridgeConfig(scrypt_n=1 << 8)


def _verify_postgres(url: str, folder: Path) -> list[BenchResult]:
    bridge = Bridge.open(folder / "home", config=CONFIG)
    bare = BareInserts(url)
    try:
        bridge.init()
        bridge.add_user("bench", "pw")
        login = CardLogin(bridge, "bench", folder / "card.img")
        for _ in range(WARM_UP):
            login()
            bare.commit_once()
            bare.commit_once()
        verify = logins_vs_commits(
            "bridge_verify_postgres", "postgres_insert_commit", login, bare.commit_once,
            rounds=ROUNDS,
        )
        floor = StoreCommits(bridge.db)
        for _ in range(WARM_UP):
            floor.commit_once()
        return [verify, logins_vs_commits(
            "store_commit_floor_postgres", "postgres_insert_commit", floor.commit_once,
            bare.commit_once, rounds=ROUNDS, unit="commits/s", target="",
        )]
    finally:
        bridge.close()
        bare.close()


def _scaling_worker(home: str, index: int, barrier: Barrier, results: Any) -> None:
    """Log in as fast as possible for WINDOW_SECONDS after everyone is ready; report the count."""
    folder = Path(home)
    with Bridge.open(folder, config=CONFIG) as bridge:
        login = CardLogin(bridge, "bench", folder.parent / f"card-{os.getpid()}-{index}.img")
        login()  # connection, statements and key caches warm
        barrier.wait(timeout=120)
        done, deadline = 0, time.monotonic() + WINDOW_SECONDS
        while time.monotonic() < deadline:
            login()
            done += 1
    results.put(done)


def _logins_per_second(home: Path, processes: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    workers = [
        ctx.Process(target=_scaling_worker, args=(str(home), i, barrier, results))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    total = sum(int(results.get(timeout=300)) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        if worker.exitcode != 0:
            raise RuntimeError(f"scaling worker exited with {worker.exitcode}")
    return total / WINDOW_SECONDS


def _scaling_postgres(folder: Path) -> BenchResult:
    with Bridge.open(folder / "home", config=CONFIG) as bridge:
        bridge.init()
        bridge.add_user("bench", "pw")
    rates = {n: _logins_per_second(folder / "home", n) for n in PROCESS_COUNTS}
    top = PROCESS_COUNTS[-1]
    return BenchResult(
        name="bridge_scaling_postgres",
        value=rates[top],
        unit="logins/s",
        ratio=rates[top] / rates[1],
        baseline="bridge_postgres_1_process",
        extra=" ".join(f"procs{n}={rate:.6g}" for n, rate in rates.items()),
    )


@contextlib.contextmanager
def _store_on(server: str) -> Iterator[str]:
    """A new database on `server`, made the bridge's store (spawned workers inherit it)."""
    with scratch_database(server) as url:
        os.environ[ENV_STORE] = url
        try:
            yield url
        finally:
            del os.environ[ENV_STORE]


def run() -> list[BenchResult]:
    server = bench_server()
    folder = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    try:
        with _store_on(server) as url:
            verify = _verify_postgres(url, folder / "verify")
        with _store_on(server):
            scaling = _scaling_postgres(folder / "scaling")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [*verify, scaling]


if __name__ == "__main__":
    for result in run():
        print(result.line())
