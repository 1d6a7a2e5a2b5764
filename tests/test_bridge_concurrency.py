"""Sixteen real processes verifying on one store at once, on SQLite and on PostgreSQL: no
challenge is accepted twice, no audit row is lost, and every process's own logins go through
(serialization failures on PostgreSQL are retried inside the bridge, never raised)."""

from __future__ import annotations

import time
from pathlib import Path

from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from tests.bridge_helpers import FAST, FakeClock, challenge_count, open_bridge
from tests.processes import WithEnv, racing_context

WORKERS = 16
SHARED = 16
OWN = 3


def _worker(home: str, serial: str, key: bytes, answers: list[tuple[str, str]]) -> list[str]:
    """Race for every shared challenge, then log in OWN times on our own; return what we won."""
    won: list[str] = []
    with Bridge.open(Path(home), config=FAST) as bridge:
        for challenge_id, answer in answers:
            if bridge.verify(serial, challenge_id, answer).accepted:
                won.append(challenge_id)
        for _ in range(OWN):
            challenge = bridge.issue_challenge(serial)
            first, second = map(int, challenge.text.split())
            verdict = bridge.verify(serial, challenge.id, scc_response(key, first, second))
            if not verdict.accepted:
                raise AssertionError(f"own login refused: {verdict.reason}")
    return won


def test_processes_race_for_challenges(tmp_path: Path, store_engine: str) -> None:
    home = tmp_path / "home"
    bridge = open_bridge(home, FakeClock(time.time()))  # workers use the real clock
    bridge.add_user("alice", "pw")
    result = bridge.provision("alice", "scc", image_path=tmp_path / "scc.img")
    assert result.image is not None
    key = result.image.key
    answers = []
    for _ in range(SHARED):
        challenge = bridge.issue_challenge(result.serial)
        first, second = map(int, challenge.text.split())
        answers.append((challenge.id, scc_response(key, first, second)))
    before = len(bridge.audit(limit=100_000))
    bridge.close()

    context = racing_context()
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(
            WithEnv(_worker), [(str(home), result.serial, key, answers) for _ in range(WORKERS)]
        )

    won = [challenge_id for ids in results for challenge_id in ids]
    assert sorted(won) == sorted(challenge_id for challenge_id, _ in answers)  # each once
    with Bridge.open(home, config=FAST) as after:
        rows = after.audit(since_id=0, limit=100_000)
        new = rows[before:]
        verifies = [r for r in new if r.event == "verify"]
        assert len(verifies) == WORKERS * (SHARED + OWN)
        assert sum(r.outcome == "accepted" for r in verifies) == SHARED + WORKERS * OWN
        assert all(r.detail["issued"] is not None for r in verifies)
        assert challenge_count(after) == SHARED + WORKERS * OWN
        assert after.device(result.serial).failures == 0
        assert len({r.id for r in rows}) == len(rows)
