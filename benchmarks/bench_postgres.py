"""BENCH bridge_verify_postgres and bridge_scaling_postgres: the bridge on PostgreSQL.

`bridge_verify_postgres`: logins (challenge + verification, the card's OCRA in between) per
second through the bridge on the durable throwaway server `make bench` started, beside a bare
`INSERT; COMMIT` loop on the same server (pg_baseline.BareInserts) in the same run. Paired rounds
as in bench_bridge: each round times both loops back to back; the figures are medians over the
rounds. A login is two transactions (issue, then verify); issuing runs with
`synchronous_commit = off` (docs/host-bridge.md: a lost challenge harms nobody), the verification
is durable. Target: ratio >= 0.5.

`bridge_scaling_postgres`: logins/s with 1, 2, 4 and 8 bridge processes (spawned, each its own
connection and device) on the same server, each count over the same wall-clock window after a
common start. Printed side by side in one line; `ratio` is 8 processes over 1 (no target on a
2-core machine: the server and the clients share the two cores).
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchResult, ops_per_second
from benchmarks.pg_baseline import BareInserts, bench_server
from firmware_model.ocra import OcraCalculator
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.db.engine import ENV_STORE
from tests.pg_cluster import scratch_database

PIN = "2468"
WARM_UP = 500
ROUNDS = 7
PROCESS_COUNTS = (1, 2, 4, 8)
WINDOW_SECONDS = 3.0
CONFIG = BridgeConfig(scrypt_n=1 << 8)


class _Login:
    """One device's login loop on a bridge: issue, answer as the card would, verify."""

    def __init__(self, bridge: Bridge, user: str, image_path: Path) -> None:
        made = bridge.provision(user, "dscplus", pin=PIN, image_path=image_path)
        assert made.image is not None and made.image.suite is not None
        self.bridge, self.serial = bridge, made.serial
        # The card stands outside what is measured: key set up once, PIN hashed once.
        self.card = OcraCalculator(made.image.suite, made.image.key)
        algorithm = self.card.suite.pin_hash
        assert algorithm is not None
        self.pin_hash = hashlib.new(algorithm, PIN.encode()).digest()

    def __call__(self) -> None:
        challenge = self.bridge.issue_challenge(self.serial)
        response = self.card.response(question=challenge.text, pin_hash=self.pin_hash)
        if not self.bridge.verify(self.serial, challenge.id, response).accepted:
            raise RuntimeError("benchmark login refused")


def _verify_postgres(url: str, folder: Path) -> BenchResult:
    bridge = Bridge.open(folder / "home", config=CONFIG)
    bare = BareInserts(url)
    try:
        bridge.init()
        bridge.add_user("bench", "pw")
        login = _Login(bridge, "bench", folder / "card.img")
        for _ in range(WARM_UP):
            login()
            bare.commit_once()
            bare.commit_once()
        rounds = [
            (ops_per_second(login, 0.3), ops_per_second(bare.commit_once, 0.3))
            for _ in range(ROUNDS)
        ]
    finally:
        bridge.close()
        bare.close()
    ratios = sorted(project / baseline for project, baseline in rounds)
    ratio = statistics.median(ratios)
    return BenchResult(
        name="bridge_verify_postgres",
        value=statistics.median(project for project, _ in rounds),
        unit="logins/s",
        ratio=ratio,
        baseline="postgres_insert_commit",
        target=">=0.5",
        extra=f"bare_commits_per_s={statistics.median(b for _, b in rounds):.6g} "
        f"per_two_commits={2 * ratio:.3f} rounds={ratios[0]:.3f}..{ratios[-1]:.3f}",
    )


def _scaling_worker(home: str, user: str, index: int, barrier: Barrier, results: Any) -> None:
    """Log in as fast as possible for WINDOW_SECONDS after everyone is ready; report the count."""
    folder = Path(home)
    with Bridge.open(folder, config=CONFIG) as bridge:
        login = _Login(bridge, user, folder.parent / f"card-{os.getpid()}-{index}.img")
        login()  # connection and statements warm
        barrier.wait(timeout=120)
        done, deadline = 0, time.monotonic() + WINDOW_SECONDS
        while time.monotonic() < deadline:
            login()
            done += 1
    results.put(done)


def _logins_per_second(home: Path, processes: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_scaling_worker, args=(str(home), "bench", i, barrier, results))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    total = sum(results.get(timeout=300) for _ in workers)
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
    return [verify, scaling]


if __name__ == "__main__":
    for result in run():
        print(result.line())
