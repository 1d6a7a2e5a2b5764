"""The own JSON API (/v1/) through a real server on loopback and a real HTTP client: a whole
login per device kind, replay and wrong codes refused, API keys, bad input, rate limits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from firmware_model.legacy_dsc import passcode
from firmware_model.ocra import ocra
from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from host_bridge.http.app import ENDPOINTS
from host_bridge.http.endpoints import Endpoint
from host_bridge.repos.outbox import Outbox
from tests.bridge_helpers import dscplus_response, read_image
from tests.http_helpers import Server, new_key, prepare_home, running_server

PIN = "2468"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """One server for the module: users, one device of each kind, keys of each scope."""
    home = tmp_path_factory.mktemp("http") / "home"
    bridge = prepare_home(home)
    serials: dict[str, str] = {}
    with bridge:
        bridge.add_user("alice", "correct horse")
        bridge.add_user("bob", "battery staple")
        for model in ("dscplus", "scc", "dsc", "gold", "platinum", "ibkey"):
            pin = None if model == "scc" else PIN
            made = bridge.provision("alice", model, pin=pin, image_path=home / f"{model}.img")
            serials[model] = made.serial
        serials["sms"] = bridge.provision("bob", "sms").serial
    keys = {scope: new_key(home, f"k-{scope}", scope) for scope in ("verify", "withdraw", "admin")}
    with running_server(home) as server:
        yield server, {**serials, **{f"key-{k}": v for k, v in keys.items()}}


def answer(home: Path, model: str, serial: str, text: str) -> str:
    """What the emulated device shows for challenge `text` (the card's own keys for a DSC+)."""
    if model == "sms":
        message = Outbox(home).latest(serial)
        assert message is not None
        return message.code
    image = read_image(home / f"{model}.img")
    if model == "dscplus":
        return dscplus_response(image, PIN, text, time.time())
    if model == "scc":
        first, second = map(int, text.split())
        return scc_response(image.key, first, second)
    if model == "dsc":
        return passcode(image.key, time.time())
    counter = int(image.state.get("counter", 0)) if model == "ibkey" else None
    suite = image.suite or ""
    pin = PIN if "P" in suite.rsplit(":", 1)[-1] else None  # gold/platinum: a device-local PIN
    return ocra(suite, image.key, counter=counter, question=text, pin=pin)


def post(server: Server, path: str, body: object, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=30)


@pytest.mark.parametrize("model", ["dscplus", "scc", "dsc", "gold", "platinum", "ibkey", "sms"])
def test_whole_login_per_device_kind(world: tuple[Server, dict[str, str]], model: str) -> None:
    server, ids = world
    key = ids["key-verify"]
    user, password = ("bob", "battery staple") if model == "sms" else ("alice", "correct horse")
    step = post(server, "/v1/login/password", {"user": user, "password": password}, key)
    assert step.status_code == 200 and step.json()["accepted"]
    serial = ids[model]
    assert serial in {d["serial"] for d in step.json()["devices"]}

    issued = post(server, "/v1/challenges", {"serial": serial}, key)
    assert issued.status_code == 201, issued.text
    challenge = issued.json()
    assert challenge["message"]
    response = answer(server.home, model, serial, challenge["challenge"])
    body = {"serial": serial, "challenge_id": challenge["id"], "response": response}
    verdict = post(server, "/v1/verify", body, key)
    if model == "dsc" and verdict.json()["reason"] == "passcode expired":
        # Read late in its 30-s step, the passcode lapsed in transit (valid 30 s from the step's
        # start, docs/devices-other.md): as a user would, press OK for a fresh one.
        challenge = post(server, "/v1/challenges", {"serial": serial}, key).json()
        body = {"serial": serial, "challenge_id": challenge["id"],
                "response": answer(server.home, model, serial, challenge["challenge"])}
        verdict = post(server, "/v1/verify", body, key)
    assert verdict.json() == {"accepted": True, "reason": "accepted"}
    replay = post(server, "/v1/verify", body, key)
    assert replay.json() == {"accepted": False, "reason": "challenge already used"}

    if model == "sms":
        again = post(server, "/v1/challenges", {"serial": serial}, key)
        assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
        return
    issued = post(server, "/v1/challenges", {"serial": serial}, key).json()
    wrong = "00000000" if model != "scc" else "AAAAAA"
    refused = post(server, "/v1/verify", {
        "serial": serial, "challenge_id": issued["id"], "response": wrong}, key)
    assert refused.json() == {"accepted": False, "reason": "wrong response"}


def test_api_keys_scope_revocation_and_audit(world: tuple[Server, dict[str, str]]) -> None:
    server, ids = world
    body = {"user": "alice", "password": "correct horse"}
    for headers in ({}, {"Authorization": "Bearer sls_000000000000_" + "A" * 43},
                    {"Authorization": "Basic abc"}):
        refused = httpx.post(f"{server.url}/v1/login/password", json=body, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"].startswith("Bearer")
    withdraw = {"user": "alice", "device": ids["dscplus"], "amount_cents": 100_00}
    assert post(server, "/v1/withdrawals", withdraw, ids["key-verify"]).status_code == 403
    allowed = post(server, "/v1/withdrawals", withdraw, ids["key-withdraw"])
    assert allowed.status_code == 200 and allowed.json()["allowed"] is True
    assert post(server, "/v1/login/password", body, ids["key-admin"]).json()["accepted"]

    issued = post(server, "/v1/challenges", {"serial": ids["scc"]}, ids["key-verify"]).json()
    verify = {"serial": ids["scc"], "challenge_id": issued["id"], "response": "AAAAAA"}
    assert post(server, "/v1/verify", verify, ids["key-verify"]).json()["accepted"] is False
    short = new_key(server.home, "short-lived", "verify")
    assert post(server, "/v1/login/password", body, short).status_code == 200
    with Bridge.open(server.home) as bridge:
        bridge.api_keys.revoke("short-lived")
        rows = bridge.audit()
    assert post(server, "/v1/login/password", body, short).status_code == 401
    assert any(r.event == "http.auth" and r.outcome == "refused" for r in rows)
    assert any(r.event == "withdraw" and r.detail.get("caller") == "key:k-withdraw" for r in rows)
    assert any(r.event == "verify" and r.detail.get("caller") == "key:k-verify" for r in rows)
    text = json.dumps([r.to_json() for r in rows])
    for secret in ("correct horse", "AAAAAA", short, ids["key-verify"]):
        assert secret not in text


@pytest.mark.parametrize(("content", "status"), [
    (b"{not json", 400),
    (b"[1, 2]", 422),
    (b'{"user": "alice"}', 422),
    (b'{"user": "alice", "password": 5}', 422),
    (b'{"user": "alice", "password": "x", "admin": true}', 422),
    (b'{"user": "' + b"a" * 100 + b'", "password": "x"}', 422),
    (b'{"user": "al ice", "password": "x"}', 422),
    (b"[" * 100_000, 413),
    (b"[" * 1000 + b"]" * 1000, 400),
    (b'{"user": "\xff", "password": "x"}', 400),
])
def test_bad_input_gets_a_problem_document(
    world: tuple[Server, dict[str, str]], content: bytes, status: int
) -> None:
    server, ids = world
    answer = httpx.post(
        f"{server.url}/v1/login/password", content=content,
        headers={"Authorization": f"Bearer {ids['key-admin']}",
                 "Content-Type": "application/json"},
    )
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]


def test_unknown_things_are_4xx_problems(world: tuple[Server, dict[str, str]]) -> None:
    server, ids = world
    key = ids["key-admin"]
    assert post(server, "/v1/challenges", {"serial": "NOPE1"}, key).status_code == 404
    verify = {"serial": "NOPE1", "challenge_id": "x", "response": "1"}
    assert post(server, "/v1/verify", verify, key).status_code == 404
    devices = httpx.get(f"{server.url}/v1/users/nobody/devices",
                        headers={"Authorization": f"Bearer {key}"})
    assert devices.status_code == 404
    assert httpx.get(f"{server.url}/no/such/path").status_code == 404
    assert httpx.delete(f"{server.url}/v1/verify").status_code == 405
    withdraw = {"user": "alice", "device": ids["dscplus"], "amount_cents": 1, "date": "2026-02-30"}
    assert post(server, "/v1/withdrawals", withdraw, key).status_code == 422


def test_unknown_user_and_wrong_password_look_the_same(
    world: tuple[Server, dict[str, str]],
) -> None:
    server, ids = world
    key = ids["key-verify"]
    wrong = post(server, "/v1/login/password", {"user": "alice", "password": "nope"}, key)
    unknown = post(server, "/v1/login/password", {"user": "mallory", "password": "nope"}, key)
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.json()["accepted"] is False


def test_healthz_metrics_and_openapi(world: tuple[Server, dict[str, str]]) -> None:
    server, _ids = world
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    metrics = httpx.get(f"{server.url}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'slsbridge_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        metrics.text)
    served = httpx.get(f"{server.url}/openapi.json").json()
    checked_in = json.loads((Path(__file__).parent.parent / "docs" / "openapi.json").read_text())
    assert served == checked_in, "docs/openapi.json is stale: python -m host_bridge.http.openapi"


def test_rate_limits_answer_429_with_retry_after(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with prepare_home(home) as bridge:
        bridge.add_user("carol", "pw")
    key = new_key(home, "k", "verify")
    with running_server(home, "--rate-per-user", "3") as server:
        answers = [
            post(server, "/v1/login/password", {"user": "carol", "password": "x"}, key)
            for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "endpoint", [ep for ep in ENDPOINTS if ep.scope is not None], ids=lambda ep: ep.path
)
def test_every_own_endpoint_wants_a_key(
    world: tuple[Server, dict[str, str]], endpoint: Endpoint
) -> None:
    server, _ids = world
    path = endpoint.path.replace("{user}", "alice")
    for content in (b"{}", b"{not json"):  # the key is checked before the body
        answer = httpx.request(endpoint.method, f"{server.url}{path}", content=content)
        assert answer.status_code == 401
