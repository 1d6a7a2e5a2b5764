"""What the bridge benchmarks share: a card's login loop, and paired rounds against a bare commit.

Paired rounds: each round times the project loop and the baseline loop back to back and gives
one ratio; the BENCH figures are medians over the rounds (`ratio` the median of the per-round
ratios, `rounds=` their range). Best-of-each (harness.compare_rates) lets one fsync stall on a
shared disk, hitting only one side, swing the ratio far either way.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, Table, Text, insert

from benchmarks.harness import BenchResult, ops_per_second
from firmware_model.ocra import OcraCalculator
from host_bridge.bridge import Bridge
from host_bridge.db.engine import Database

PIN = "2468"


class CardLogin:
    """One DSC+ login per call on `bridge`: issue, answer as the card would, verify."""

    def __init__(self, bridge: Bridge, user: str, image_path: Path) -> None:
        made = bridge.provision(user, "dscplus", pin=PIN, image_path=image_path)
        assert made.image is not None and made.image.suite is not None
        self.bridge, self.serial = bridge, made.serial
        # The card stands outside what is measured: it sets its key up once and keeps the PIN
        # hashed as the suite asks, so the loop times the bridge, not the client's hashing.
        self.card = OcraCalculator(made.image.suite, made.image.key)
        algorithm = self.card.suite.pin_hash
        assert algorithm is not None
        self.pin_hash = hashlib.new(algorithm, PIN.encode()).digest()

    def __call__(self) -> None:
        challenge = self.bridge.issue_challenge(self.serial)
        response = self.card.response(question=challenge.text, pin_hash=self.pin_hash)
        if not self.bridge.verify(self.serial, challenge.id, response).accepted:
            raise RuntimeError("benchmark login refused")


_FLOOR = Table(
    "bench_floor", MetaData(),
    Column("id", Integer, primary_key=True), Column("at", Float, nullable=False),
    Column("v", Text, nullable=False),
)
_FLOOR_INSERT = insert(_FLOOR)


class StoreCommits:
    """The library floor: the bare baseline's one-row insert and durable commit, but through the
    store's own `Database` (SQLAlchemy Core, its transaction wrapper and events), on a table of
    its own in the store. What any durable unit of work costs at the least before it does
    anything; the baseline is the same loop straight on the driver."""

    def __init__(self, db: Database) -> None:
        self.db = db
        _FLOOR.create(db.connection())
        db.connection().commit()

    def commit_once(self) -> None:
        with self.db.transaction() as tx:
            tx.conn.execute(_FLOOR_INSERT, {"at": 1.0, "v": "x" * 32})


def logins_vs_commits(
    name: str,
    baseline_name: str,
    login: Callable[[], object],
    commit_once: Callable[[], object],
    *,
    rounds: int,
    min_seconds: float = 0.3,
    unit: str = "logins/s",
    target: str = ">=0.5",
) -> BenchResult:
    """Logins/s against bare commits/s in paired rounds (see the module doc); target >= 0.5.
    Also the library floor (`StoreCommits`, unit commits/s, no target)."""
    pairs = [
        (ops_per_second(login, min_seconds), ops_per_second(commit_once, min_seconds))
        for _ in range(rounds)
    ]
    ratios = sorted(logins / commits for logins, commits in pairs)
    ratio = statistics.median(ratios)
    return BenchResult(
        name=name,
        value=statistics.median(logins for logins, _ in pairs),
        unit=unit,
        ratio=ratio,
        baseline=baseline_name,
        target=target,
        extra=f"bare_commits_per_s={statistics.median(c for _, c in pairs):.6g} "
        f"per_two_commits={2 * ratio:.3f} rounds={ratios[0]:.3f}..{ratios[-1]:.3f}",
    )
