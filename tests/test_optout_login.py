"""Issue 11, point 7: a fully opted-out user logs in after the password alone, through every
door (`slsbridge login`, /v1/login/password, privacyIDEA's /validate/check, RADIUS), and the
acceptance is audited. The partial opt-out ("Secure Login not required for trading") and opted-in
users still get the challenge: our doors are Client Portal logins (docs/policies.md)."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from pyrad import packet as rp

from host_bridge.bridge import Bridge
from host_bridge.cli import main
from host_bridge.domain import OptOut
from host_bridge.login import run_login
from host_bridge.policies.optout import NO_SECOND_FACTOR
from tests import http_helpers, radius_helpers
from tests.bridge_helpers import FakeClock, open_bridge
from tests.radius_helpers import PASSWORD, access_request, messages, pyrad_client, write_clients


def _opted_out_home(bridge: Bridge, home: Path, mode: OptOut = OptOut.FULL) -> None:
    """olive (primary user, password PASSWORD) holds a DSC+ and has set her account to `mode`."""
    bridge.add_user("olive", PASSWORD, primary=True)
    bridge.provision("olive", "dscplus", pin="2468", image_path=home / "olive.img")
    assert bridge.optout.set_opt_out("olive", mode).mode is mode


def _audit(home: Path) -> list[tuple[str, str, dict[str, object]]]:
    with Bridge.open(home) as bridge:
        return [(row.event, row.outcome, dict(row.detail)) for row in bridge.audit()]


class _NoChallengeIO:
    """A login screen that fails the test if it is asked for anything but the password."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, prompt: str) -> str:
        self.asked.append(prompt)
        return ""

    def ask_secret(self, prompt: str) -> str:
        return PASSWORD

    def say(self, text: str) -> None:
        self.asked.append(text)


def test_run_login_full_opt_out_needs_no_second_factor(tmp_path: Path) -> None:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    _opted_out_home(bridge, tmp_path)
    io_ = _NoChallengeIO()
    result = run_login(bridge, "olive", io_)
    assert (result.accepted, result.reason, result.serial) == (True, NO_SECOND_FACTOR, None)
    assert io_.asked == []  # no device menu, no challenge
    assert not run_login(bridge, "olive", io_, password="wrong").accepted  # the password counts
    rows = [(row.event, row.outcome, dict(row.detail)) for row in bridge.audit(user="olive")]
    assert [row for row in rows if row[0] == "login.optout"] == [
        ("login.optout", "accepted", {"mode": "full"})
    ]


@pytest.mark.parametrize("mode", [OptOut.PARTIAL, OptOut.NONE])
def test_run_login_partial_or_no_opt_out_still_asks_for_the_challenge(
    tmp_path: Path, mode: OptOut
) -> None:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    _opted_out_home(bridge, tmp_path, mode)
    io_ = _NoChallengeIO()
    result = run_login(bridge, "olive", io_)
    assert not result.accepted and result.serial is not None
    assert any(prompt.startswith("Challenge: ") for prompt in io_.asked)
    assert "login.optout" not in {row.event for row in bridge.audit()}


def test_slsbridge_login_full_opt_out(
    slsemu_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reproducer: `slsbridge init`, a user who opted out, `slsbridge login` asks only the
    password."""
    bridge = radius_helpers.prepare_home(slsemu_home)
    with bridge:
        _opted_out_home(bridge, slsemu_home)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["login", "--user", "olive", "--password-stdin"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"Login {NO_SECOND_FACTOR}"
    assert "Challenge" not in err and "Passcode" not in err


def test_http_v1_and_privacyidea_accept_on_the_password(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with http_helpers.prepare_home(home) as bridge:
        _opted_out_home(bridge, home)
    key = http_helpers.new_key(home, "k", "verify")
    with http_helpers.running_server(home) as server:
        step = httpx.post(f"{server.url}/v1/login/password",
                          json={"user": "olive", "password": PASSWORD},
                          headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert step.status_code == 200
        assert step.json() == {"accepted": True, "reason": NO_SECOND_FACTOR, "devices": [],
                               "second_factor": False}
        check = httpx.post(f"{server.url}/validate/check",
                           data={"user": "olive", "pass": PASSWORD}, timeout=30).json()
        assert check["result"] == {"status": True, "value": True, "authentication": "ACCEPT"}
        assert "transaction_id" not in check["detail"]
        wrong = httpx.post(f"{server.url}/validate/check",
                           data={"user": "olive", "pass": "nope"}, timeout=30).json()
        assert wrong["result"]["authentication"] == "REJECT"
    callers = [row[2].get("caller") for row in _audit(home) if row[0] == "login.optout"]
    assert callers == ["key:k", "client:127.0.0.1"]


def test_radius_access_accept_after_the_password(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with radius_helpers.prepare_home(home) as bridge:
        _opted_out_home(bridge, home)
    clients = write_clients(tmp_path)
    with radius_helpers.running_server(home, clients) as server:
        client = pyrad_client(server.port)
        reply = client.SendPacket(access_request(client, "olive", PASSWORD))
        assert reply.code == rp.AccessAccept
        assert messages(reply) == f"Login {NO_SECOND_FACTOR}"
        wrong = client.SendPacket(access_request(client, "olive", "nope"))
        assert wrong.code == rp.AccessReject
    rows = [row for row in _audit(home) if row[0] == "login.optout"]
    assert [(outcome, detail["caller"]) for _, outcome, detail in rows] == [
        ("accepted", "radius:gw")
    ]
