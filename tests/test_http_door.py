"""The /v1/ door (host_bridge/http/door.py) and the mechanism under it (`Database.leading`):
a revoked key is refused by every worker as soon as `api-key revoke` returns (each 401 with its
audit row), the rate-limit counts are exact under concurrency — for answered, refused and failed
requests alike — though on the login's two requests they commit inside the decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from host_bridge.bridge import Bridge
from host_bridge.cli import main
from host_bridge.db.engine import Tx
from host_bridge.db.schema import rate_limits
from host_bridge.errors import BridgeError
from host_bridge.repos import ratelimits
from tests.http_helpers import new_key, prepare_home, running_server
from tests.test_http_server import NO_LIMITS, all_at_once

CLIENTS = 16


def _hits(home: Path) -> dict[str, int]:
    with Bridge.open(home) as bridge, bridge.db.read() as tx:
        rows = tx.conn.execute(select(rate_limits.c.bucket, rate_limits.c.hits)).all()
    return {str(bucket): int(hits) for bucket, hits in rows}


@pytest.fixture
def bridge(tmp_path: Path, store_engine: str) -> Iterator[Bridge]:
    with prepare_home(tmp_path / "home") as opened:
        yield opened


def test_leading_step_commits_with_the_first_write_or_alone(bridge: Bridge) -> None:
    db = bridge.db
    seen: list[Tx] = []

    def step(tx: Tx) -> None:
        seen.append(tx)
        ratelimits.hit(tx, "door-test", 1.0, 60)

    # A block that writes: the step runs first inside that very transaction.
    with db.leading(step), db.transaction() as tx:
        assert seen == [tx]
        bridge.ctx.audit("door.test", "ok")
    # A block that only reads: the step runs alone afterwards.
    with db.leading(step), db.read():
        assert len(seen) == 1
    assert len(seen) == 2
    # A block whose write fails: rolled back with the step, which then runs (and counts) alone.
    with pytest.raises(BridgeError, match="boom"), db.leading(step), db.transaction():
        bridge.ctx.audit("door.test", "rolled back")
        raise BridgeError("boom")
    assert len(seen) == 4
    with db.transaction() as tx:
        assert ratelimits.hit(tx, "door-test", 1.0, 60)[0] == 4  # 3 committed + this one

    # A step that refuses: the write is rolled back, the step runs alone (what it wrote
    # commits) and its refusal wins.
    def refuse(tx: Tx) -> PermissionError:
        step(tx)
        return PermissionError("refused")

    with pytest.raises(PermissionError), db.leading(refuse), db.transaction():
        bridge.ctx.audit("door.test", "never")
    assert [r.outcome for r in bridge.audit() if r.event == "door.test"] == ["ok"]
    with db.transaction() as tx:
        assert ratelimits.hit(tx, "door-test", 1.0, 60)[0] == 6  # the refused alone run: 5
    with pytest.raises(RuntimeError), db.transaction(), db.leading(step):
        pass  # only around a whole unit of work


def test_a_revoked_key_is_refused_by_every_worker_at_once(
    tmp_path: Path, store_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with prepare_home(home) as opened:
        opened.add_user("alice", "correct horse")
        serial = opened.provision("alice", "scc", image_path=home / "scc.img").serial
    key = new_key(home, "soon-revoked", "verify")
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(home, *NO_LIMITS, workers=2) as server:

        def challenge(client: httpx.Client) -> httpx.Response:
            return client.post(f"{server.url}/v1/challenges", json={"serial": serial},
                               headers=auth)

        # Many connections, so both workers (and their threads) know the key and keep it.
        assert {a.status_code for a in all_at_once(CLIENTS, challenge)} == {201}
        issued = challenge(httpx.Client()).json()
        monkeypatch.setenv("SLSEMU_HOME", str(home))
        assert main(["api-key", "revoke", "--name", "soon-revoked"]) == 0
        with Bridge.open(home) as opened:
            before = sum(r.event == "http.auth" for r in opened.audit())

        def verify(client: httpx.Client) -> httpx.Response:
            return client.post(f"{server.url}/v1/verify", headers=auth, json={
                "serial": serial, "challenge_id": issued["id"], "response": "AAAAAA"})

        def devices(client: httpx.Client) -> httpx.Response:
            return client.get(f"{server.url}/v1/users/alice/devices", headers=auth)

        answers = [*all_at_once(CLIENTS, challenge), *all_at_once(CLIENTS, verify),
                   *all_at_once(4, devices)]
    assert {a.status_code for a in answers} == {401}
    with Bridge.open(home) as opened:
        rows = opened.audit()
    refused = [r for r in rows if r.event == "http.auth"]
    assert len(refused) - before == len(answers)  # one audit row per 401
    assert {r.detail["reason"] for r in refused} == {"invalid or revoked API key"}
    # Refused before any decision: the challenge was never answered.
    assert not any(r.event == "verify" for r in rows)


def test_counts_are_exact_whether_answered_refused_or_failed(
    tmp_path: Path, store_engine: str
) -> None:
    home = tmp_path / "home"
    with prepare_home(home) as opened:
        opened.add_user("alice", "correct horse")
        serial = opened.provision("alice", "scc", image_path=home / "scc.img").serial
        other = opened.provision("alice", "scc", image_path=home / "other.img").serial
    key = new_key(home, "k", "verify")
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(home, *NO_LIMITS, workers=2) as server:
        answers = all_at_once(CLIENTS, lambda c: c.post(
            f"{server.url}/v1/challenges", json={"serial": serial}, headers=auth))
        assert {a.status_code for a in answers} == {201}
        unknown = httpx.post(f"{server.url}/v1/challenges", json={"serial": "NOPE1"},
                             headers=auth)
        assert unknown.status_code == 404  # failed: counted all the same
        refused = all_at_once(CLIENTS, lambda c: c.post(f"{server.url}/v1/verify", headers=auth,
                              json={"serial": serial, "challenge_id": "x", "response": "AB"}))
        assert {a.json()["accepted"] for a in refused} == {False}
    hits = _hits(home)
    assert hits[f"device:{serial}"] == 2 * CLIENTS
    assert hits["device:NOPE1"] == 1
    assert hits["key:key:k"] == 2 * CLIENTS + 1

    with running_server(home, "--rate-per-user", "3", workers=2) as server:
        fresh = all_at_once(4, lambda c: c.post(f"{server.url}/v1/challenges",
                                                json={"serial": other}, headers=auth))
        over = [a for a in fresh if a.status_code == 429]
    assert sorted(a.status_code for a in fresh) == [201, 201, 201, 429]
    assert 1 <= int(over[0].headers["Retry-After"]) <= 60
    assert _hits(home)[f"device:{other}"] == 4  # the refused one too
