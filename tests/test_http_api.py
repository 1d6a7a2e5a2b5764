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
