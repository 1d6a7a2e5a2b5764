"""The RADIUS front door end to end: a real `slsbridge serve --radius` on loopback, pyrad and
FreeRADIUS's radclient as clients, logins against emulated cards."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyrad import packet as rp

from host_bridge.bridge import Bridge
from tests.radius_helpers import (
    PASSWORD,
    PIN,
    SECRET,
    access_request,
    add_dscplus,
    card_response,
    home_with_card,
    messages,
    prepare_home,
    pyrad_client,
    running_server,
    state_of,
    write_clients,
)
from tests.secret_env import shown


@pytest.fixture
def setup(slsemu_home: Path, tmp_path: Path) -> tuple[Path, str, Path]:
    serial, image = home_with_card(slsemu_home)
    return write_clients(tmp_path), serial, image


def _audit(home: Path) -> list[tuple[str, str, dict[str, object]]]:
    with Bridge.open(home) as bridge:
        return [(row.event, row.outcome, dict(row.detail)) for row in bridge.audit()]


def test_pyrad_challenge_login(slsemu_home: Path, setup: tuple[Path, str, Path]) -> None:
    clients, _serial, image = setup
    with running_server(slsemu_home, clients) as server:
        client = pyrad_client(server.port)
        first = client.SendPacket(access_request(client, "alice", PASSWORD))
        assert first.code == rp.AccessChallenge
        assert re.fullmatch(r"Challenge: [0-9]{6}", messages(first))
        assert len(state_of(first)) == 16
        response = card_response(image, messages(first).split()[-1])
        second = client.SendPacket(access_request(client, "alice", response, state_of(first)))
        assert second.code == rp.AccessAccept
        # The State is used: the same answer again is refused, and charges nothing.
        again = client.SendPacket(access_request(client, "alice", response, state_of(first)))
        assert again.code == rp.AccessReject
        assert "State" in messages(again)
    rows = _audit(slsemu_home)
    verify = [row for row in rows if row[0] == "verify"]
    assert [(event, outcome) for event, outcome, _ in verify] == [("verify", "accepted")]
    assert verify[0][2]["caller"] == "radius:gw"
    assert [detail.get("caller") for event, outcome, detail in rows
            if (event, outcome) == ("login.password", "ok")] == ["radius:gw"]
    assert not shown(PIN, server.stderr) and not shown(response, server.stderr)


def test_wrong_code_and_wrong_password(slsemu_home: Path, setup: tuple[Path, str, Path]) -> None:
    clients, _serial, _image = setup
    with running_server(slsemu_home, clients) as server:
        client = pyrad_client(server.port)
        wrong_password = client.SendPacket(access_request(client, "alice", "nope"))
        assert wrong_password.code == rp.AccessReject
        unknown = client.SendPacket(access_request(client, "mallory", "nope"))
        assert messages(unknown) == messages(wrong_password)  # no user enumeration
        first = client.SendPacket(access_request(client, "alice", PASSWORD))
        second = client.SendPacket(access_request(client, "alice", "00000000", state_of(first)))
        assert second.code == rp.AccessReject
        assert messages(second) == "Login refused: wrong response"
    refused = [row for row in _audit(slsemu_home) if row[0] == "verify"]
    assert [(r[1], r[2]["reason"], r[2]["failures"]) for r in refused] == [
        ("refused", "wrong response", 1)
    ]


def test_m2fs_device_menu(slsemu_home: Path, tmp_path: Path) -> None:
    bridge = prepare_home(slsemu_home)
    serial, image = add_dscplus(bridge, slsemu_home)
    scc = bridge.provision("alice", "scc", image_path=slsemu_home / "scc.img").serial
    bridge.close()
    clients = write_clients(tmp_path)
    with running_server(slsemu_home, clients) as server:
        client = pyrad_client(server.port)
        menu = client.SendPacket(access_request(client, "alice", PASSWORD))
        assert menu.code == rp.AccessChallenge
        text = messages(menu)
        assert text.startswith("Select Second Factor Device: ")
        assert f"DSC+ {serial}" in text and f"SCC {scc}" in text
        number = "1" if text.index(serial) < text.index(scc) else "2"
        challenge = client.SendPacket(access_request(client, "alice", number, state_of(menu)))
        assert challenge.code == rp.AccessChallenge
        assert state_of(challenge) != state_of(menu)
        response = card_response(image, messages(challenge).split()[-1])
        done = client.SendPacket(access_request(client, "alice", response, state_of(challenge)))
        assert done.code == rp.AccessAccept
        # Another login: the SCC chosen by its serial shows two index numbers.
        menu = client.SendPacket(access_request(client, "alice", PASSWORD))
        cells = client.SendPacket(access_request(client, "alice", scc, state_of(menu)))
        assert re.fullmatch(r"Index numbers: [0-9]+ [0-9]+", messages(cells))


def test_state_of_another_user_is_void(slsemu_home: Path, setup: tuple[Path, str, Path]) -> None:
    clients, _serial, image = setup
    with running_server(slsemu_home, clients) as server:
        client = pyrad_client(server.port)
        first = client.SendPacket(access_request(client, "alice", PASSWORD))
        response = card_response(image, messages(first).split()[-1])
        stolen = client.SendPacket(access_request(client, "bob", response, state_of(first)))
        assert stolen.code == rp.AccessReject
        # ...and the State is spent by that attempt.
        late = client.SendPacket(access_request(client, "alice", response, state_of(first)))
        assert late.code == rp.AccessReject
        forged = client.SendPacket(access_request(client, "alice", response, bytes(16)))
        assert forged.code == rp.AccessReject


def _radclient(port: int, attributes: str, secret: bytes = SECRET, wait: int = 30) -> str:
    """radclient's output. `wait`: its give-up time; a request the server must drop is sent
    with a short one (the drop itself is asserted on the server's counters, not on time)."""
    radclient = shutil.which("radclient")
    assert radclient is not None, "radclient is required (apt-get install freeradius-utils)"
    done = subprocess.run(
        [radclient, "-x", "-r", "1", "-t", str(wait), f"127.0.0.1:{port}", "auth", secret.decode()],
        input=attributes + "\n", capture_output=True, text=True, timeout=120,
    )
    return done.stdout + done.stderr


def test_radclient_login_replay_and_refusals(
    slsemu_home: Path, setup: tuple[Path, str, Path]
) -> None:
    clients, _serial, image = setup
    with running_server(slsemu_home, clients) as server:
        out = _radclient(server.port, f'User-Name = "alice", User-Password = "{PASSWORD}", '
                         "Message-Authenticator = 0x00")
        assert "Received Access-Challenge" in out, out
        challenge = re.search(r'Reply-Message = "Challenge: ([0-9]{6})"', out)
        state = re.search(r"State = (0x[0-9a-f]{32})", out)
        assert challenge is not None and state is not None, out
        assert re.search(r"Received Access-Challenge .*\n\s+Message-Authenticator = 0x", out)
        response = card_response(image, challenge.group(1))
        answer = (f'User-Name = "alice", User-Password = "{response}", '
                  f"State = {state.group(1)}, Message-Authenticator = 0x00")
        accepted = _radclient(server.port, answer)
        assert "Received Access-Accept" in accepted, accepted
        assert "Message-Authenticator = 0x" in accepted.split("Received", 1)[1]
        replayed = _radclient(server.port, answer)
        assert "Received Access-Reject" in replayed, replayed
        out = _radclient(server.port, f'User-Name = "alice", User-Password = "{PASSWORD}", '
                         "Message-Authenticator = 0x00")
        state = re.search(r"State = (0x[0-9a-f]{32})", out)
        assert state is not None, out
        wrong = _radclient(server.port, f'User-Name = "alice", User-Password = "11111111", '
                           f"State = {state.group(1)}, Message-Authenticator = 0x00")
        assert "Received Access-Reject" in wrong and "wrong response" in wrong, wrong
        # Without a Message-Authenticator, or with a wrong secret: no answer at all.
        bare = _radclient(server.port, f'User-Name = "alice", User-Password = "{PASSWORD}"', wait=1)
        assert "Received" not in bare and "No reply" in bare, bare
        forged = _radclient(server.port, f'User-Name = "alice", User-Password = "{PASSWORD}", '
                            "Message-Authenticator = 0x00", secret=b"not-the-secret", wait=1)
        assert "Received" not in forged, forged
    assert "no_message_authenticator=1" in server.summary, server.summary
    assert "bad_authenticator=1" in server.summary, server.summary


def test_radclient_unknown_client(slsemu_home: Path, tmp_path: Path) -> None:
    home_with_card(slsemu_home)
    clients = write_clients(tmp_path, address="192.0.2.0/24")  # not loopback
    with running_server(slsemu_home, clients) as server:
        out = _radclient(server.port, f'User-Name = "alice", User-Password = "{PASSWORD}", '
                         "Message-Authenticator = 0x00", wait=1)
        assert "Received" not in out, out
    assert "unknown_client=1" in server.summary, server.summary
    assert not [row for row in _audit(slsemu_home) if row[0] == "login.password"]
