"""BENCH bridge_verify_durable: challenge + verification per second through the store (WAL; the
verification durable with synchronous=FULL, the issue not fsynced: docs/host-bridge.md,
"Durability"), beside a bare SQLite insert-and-commit loop with synchronous=FULL on the same file
system in the same run.

ratio = logins per second / bare commits per second. A login is two transactions (store the
challenge, relaxed; consume it, check the answer, move the counters, append the audit row,
durable), so 0.5 would mean a login costs two bare commits. Both databases are warmed up first
so the write-ahead log is at its working size (its first growth is slower for everyone) before the
rounds are timed. Each round times both loops back to back; the BENCH figures are medians over
the rounds (`ratio` the median of the per-round ratios, `rounds=` their range), so one fsync stall
on a shared disk does not decide the result. `per_two_commits` is the ratio against a baseline of
two bare commits per operation.

BENCH store_commit_floor_sqlite: the bare loop's insert+commit through the store's own
`Database` (SQLAlchemy Core) against the same bare loop on the driver: what the library costs a
durable unit of work that does nothing else (benchmarks/logins.py, `StoreCommits`).
docs/host-bridge.md ("Benchmark") breaks a login's time down
and explains the figure.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from benchmarks.harness import BenchResult
from benchmarks.logins import CardLogin, StoreCommits, logins_vs_commits
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig

WARM_UP = 1500
ROUNDS = 9


def _bare_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at REAL NOT NULL, v TEXT NOT NULL)")
    return conn


def run() -> list[BenchResult]:
    folder = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    try:
        bridge = Bridge.open(folder / "home", config=BridgeConfig(scrypt_n=1 << 8))
        bridge.init()
        bridge.add_user("bench", "pw")
        login = CardLogin(bridge, "bench", folder / "card.img")
        bare = _bare_connection(folder / "bare.sqlite3")

        def commit_once() -> None:
            bare.execute("BEGIN IMMEDIATE")
            bare.execute("INSERT INTO t (at, v) VALUES (?, ?)", (1.0, "x" * 32))
            bare.execute("COMMIT")

        for _ in range(WARM_UP):  # the WAL reaches its working size on both sides
            login()
            commit_once()
            commit_once()
        result = logins_vs_commits(
            "bridge_verify_durable", "sqlite_insert_commit", login, commit_once, rounds=ROUNDS
        )
        floor = StoreCommits(bridge.db)
        for _ in range(WARM_UP):
            floor.commit_once()
        floor_result = logins_vs_commits(
            "store_commit_floor_sqlite", "sqlite_insert_commit", floor.commit_once, commit_once,
            rounds=ROUNDS, unit="commits/s", target="",
        )
        bridge.close()
        bare.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [result, floor_result]


if __name__ == "__main__":
    for result in run():
        print(result.line())
