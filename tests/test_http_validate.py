"""privacyIDEA's validate protocol, driven by a client that knows only privacyIDEA's documented
API (`POST /validate/check` with `user`, `pass`, `transaction_id`; the answer's `result` and
`detail`), with the emulated devices answering what the messages ask."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_model.scc import scc_response
from tests.bridge_helpers import dscplus_response, read_image
from tests.http_helpers import Server, prepare_home, running_server

PIN = "2468"


class PrivacyIdeaClient:
    """What a privacyIDEA login plugin does: form posts, reads result/detail."""

    def __init__(self, url: str, *, as_json: bool = False) -> None:
        self.url = url
        self.as_json = as_json

    def check(self, **params: str) -> dict[str, Any]:
        if self.as_json:
            answer = httpx.post(f"{self.url}/validate/check", json=params, timeout=30)
        else:
            answer = httpx.post(f"{self.url}/validate/check", data=params, timeout=30)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        assert data["result"]["status"] is True
        return data


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("validate") / "home"
    with prepare_home(home) as bridge:
        bridge.add_user("alice", "correct horse")
        bridge.provision("alice", "dscplus", pin=PIN, image_path=home / "dscplus.img")
        bridge.provision("alice", "scc", image_path=home / "scc.img")
        bridge.add_user("dave", "no devices")
    with running_server(home) as running:
        yield running


def device_answer(home: Path, entry: dict[str, Any]) -> str:
    """The user reads the entry's message and answers with that device."""
    message = entry["message"]
    if found := re.fullmatch(r"Challenge: ([0-9]+)", message):
        image = read_image(home / "dscplus.img")
        return dscplus_response(image, PIN, found.group(1), time.time())
    found = re.fullmatch(r"Index numbers: ([0-9]+) ([0-9]+)", message)
    assert found, message
    image = read_image(home / "scc.img")
    return scc_response(image.key, int(found.group(1)), int(found.group(2)))


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("device", [0, 1])
def test_challenge_then_accept_then_replay_rejected(
    server: Server, as_json: bool, device: int
) -> None:
    client = PrivacyIdeaClient(server.url, as_json=as_json)
    first = client.check(user="alice", **{"pass": "correct horse"})
    assert first["result"]["authentication"] == "CHALLENGE"
    assert first["result"]["value"] is False
    detail = first["detail"]
    transaction_id = detail["transaction_id"]
    assert re.fullmatch(r"[0-9]{20}", transaction_id)
    entries = detail["multi_challenge"]
    assert len(entries) == 2  # M2FS: every active device
    assert {e["transaction_id"] for e in entries} == {transaction_id}
    assert detail["messages"] and detail["message"]
    entry = sorted(entries, key=lambda e: e["type"])[device]
    response = device_answer(server.home, entry)

    second = client.check(user="alice", transaction_id=transaction_id, **{"pass": response})
    assert second["result"]["authentication"] == "ACCEPT"
    assert second["result"]["value"] is True
    assert second["detail"]["serial"] == entry["serial"]
    replay = client.check(user="alice", transaction_id=transaction_id, **{"pass": response})
    assert replay["result"]["authentication"] == "REJECT"
    assert replay["result"]["value"] is False


def test_wrong_response_unknown_user_wrong_password(server: Server) -> None:
    client = PrivacyIdeaClient(server.url)
    first = client.check(user="alice", **{"pass": "correct horse"})
    transaction_id = first["detail"]["transaction_id"]
    wrong = client.check(user="alice", transaction_id=transaction_id, **{"pass": "12345678"})
    assert wrong["result"]["authentication"] == "REJECT"
    other_user = client.check(user="dave", transaction_id=transaction_id, **{"pass": "1"})
    assert other_user["result"]["authentication"] == "REJECT"
    unknown = client.check(user="mallory", **{"pass": "whatever"})
    bad_password = client.check(user="alice", **{"pass": "whatever"})
    no_device = client.check(user="dave", **{"pass": "no devices"})
    for answer in (unknown, bad_password, no_device):
        assert answer["result"] == {"status": True, "value": False, "authentication": "REJECT"}
        assert answer["detail"] == unknown["detail"]


def test_errors_in_both_shapes(server: Server) -> None:
    missing = httpx.post(f"{server.url}/validate/check", data={"user": "alice"})
    assert missing.status_code == 400
    assert missing.headers["content-type"] == "application/problem+json"
    body = missing.json()
    assert body["status"] == 400 and body["result"]["status"] is False
    assert body["result"]["error"]["code"] == 905
    typed = httpx.post(f"{server.url}/validate/check", json={"user": 1, "pass": "x"})
    assert typed.status_code == 400
    assert httpx.post(f"{server.url}/validate/check", content=b"{").status_code == 400


def test_only_listed_client_networks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prepare_home(home).close()
    with running_server(home, "--client-network", "192.0.2.0/24") as other:
        refused = httpx.post(f"{other.url}/validate/check", data={"user": "a", "pass": "b"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
