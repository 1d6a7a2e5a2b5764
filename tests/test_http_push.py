"""IB Key push through a real server on loopback: the own API's push endpoints (send, status,
the app's answer) and privacyIDEA's push flow (`multi_challenge` type push, `/validate/
polltransaction`, then `/validate/check` with an empty pass), with the emulated app answering
the notification it takes from the push outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http_helpers import Server, new_key, prepare_home, running_server
from tests.push_helpers import Phone

PIN = "2468"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str, Phone]]:
    home = tmp_path_factory.mktemp("push") / "home"
    with prepare_home(home) as bridge:
        bridge.add_user("alice", "correct horse")
        serial = bridge.provision("alice", "ibkey", pin=PIN, image_path=home / "ik.img").serial
        bridge.provision("alice", "dscplus", pin=PIN, image_path=home / "dscplus.img")
    key = new_key(home, "k-verify", "verify")
    with running_server(home) as server:
        yield server, key, serial, Phone(home / "ik.img")


def v1(server: Server, key: str, method: str, path: str, body: object = None) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {key}"})


def app_answers(server: Server, key: str, serial: str, phone: Phone, approve: bool) -> str:
    """The app takes the newest notification and answers through the own API; the push id."""
    push_id = phone.receive(server.home, serial, time.time())
    if approve:
        body: dict[str, Any] = {"approve": True,
                                "response": phone.approve(PIN, time.time()).response}
    else:
        phone.deny(time.time())
        body = {"approve": False}
    answered = v1(server, key, "POST", f"/v1/push/{push_id}/answer", body)
    assert answered.status_code == 200, answered.text
    return push_id


def test_v1_push_login(world: tuple[Server, str, str, Phone]) -> None:
    server, key, serial, phone = world
    sent = v1(server, key, "POST", "/v1/push", {"serial": serial})
    assert sent.status_code == 201, sent.text
    push = sent.json()
    assert push["status"] == "pending" and push["user"] == "alice" and push["challenge"]
    assert v1(server, key, "GET", f"/v1/push/{push['push_id']}").json()["status"] == "pending"
    phone.receive(server.home, serial, time.time())
    response = phone.approve(PIN, time.time()).response
    body = {"approve": True, "response": response}
    approved = v1(server, key, "POST", f"/v1/push/{push['push_id']}/answer", body).json()
    assert approved["status"] == "approved" and approved["accepted"] is True
    assert v1(server, key, "GET", f"/v1/push/{push['push_id']}").json()["status"] == "approved"
    replay = v1(server, key, "POST", f"/v1/push/{push['push_id']}/answer", body).json()
    assert replay["accepted"] is False and replay["reason"] == "challenge already used"


def test_v1_forged_and_denied(world: tuple[Server, str, str, Phone]) -> None:
    server, key, serial, phone = world
    forged = v1(server, key, "POST", "/v1/push", {"serial": serial}).json()
    answer = v1(server, key, "POST", f"/v1/push/{forged['push_id']}/answer",
                {"approve": True, "response": "12345678"}).json()
    assert answer["accepted"] is False and answer["status"] == "failed"
    v1(server, key, "POST", "/v1/push", {"serial": serial})
    push_id = app_answers(server, key, serial, phone, approve=False)
    assert v1(server, key, "GET", f"/v1/push/{push_id}").json()["status"] == "denied"
    assert v1(server, key, "GET", f"/v1/push/{'f' * 32}").status_code == 404
    missing = v1(server, key, "POST", f"/v1/push/{push_id}/answer", {"approve": True})
    assert missing.status_code == 422
    assert v1(server, "sls_x_y", "GET", f"/v1/push/{push_id}").status_code == 401


def check(server: Server, **params: str) -> dict[str, Any]:
    answer = httpx.post(f"{server.url}/validate/check", data=params, timeout=30)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def poll(server: Server, transaction_id: str) -> bool:
    answer = httpx.get(f"{server.url}/validate/polltransaction",
                       params={"transaction_id": transaction_id}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["status"] is True
    return bool(answer.json()["result"]["value"])


def test_privacyidea_push_flow(world: tuple[Server, str, str, Phone]) -> None:
    server, key, serial, phone = world
    first = check(server, user="alice", **{"pass": "correct horse"})
    assert first["result"]["authentication"] == "CHALLENGE"
    transaction_id = first["detail"]["transaction_id"]
    (push,) = [e for e in first["detail"]["multi_challenge"] if e["serial"] == serial]
    assert push["type"] == "push" and push["client_mode"] == "poll"
    assert push["transaction_id"] == transaction_id
    assert not poll(server, transaction_id)
    early = check(server, user="alice", transaction_id=transaction_id, **{"pass": ""})
    assert early["result"]["authentication"] == "REJECT"

    app_answers(server, key, serial, phone, approve=True)
    assert poll(server, transaction_id)
    done = check(server, user="alice", transaction_id=transaction_id, **{"pass": ""})
    assert done["result"]["value"] is True and done["result"]["authentication"] == "ACCEPT"
    assert done["detail"]["serial"] == serial
    again = check(server, user="alice", transaction_id=transaction_id, **{"pass": ""})
    assert again["result"]["authentication"] == "REJECT"
    assert not poll(server, transaction_id)


def test_privacyidea_push_denied(world: tuple[Server, str, str, Phone]) -> None:
    server, key, serial, phone = world
    first = check(server, user="alice", **{"pass": "correct horse"})
    transaction_id = first["detail"]["transaction_id"]
    app_answers(server, key, serial, phone, approve=False)
    assert not poll(server, transaction_id)
    refused = check(server, user="alice", transaction_id=transaction_id, **{"pass": ""})
    assert refused["result"]["value"] is False
    missing = httpx.get(f"{server.url}/validate/polltransaction", timeout=30)
    assert missing.status_code == 400 and missing.json()["result"]["error"]["code"] == 905
