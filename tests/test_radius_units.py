"""The RADIUS door's parts in-process: the clients file and the State table of the login."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from host_bridge.radius.clients import ClientsError, load_clients
from host_bridge.radius.flow import STATE_VOID, Outcome, RadiusLogin
from tests.bridge_helpers import FakeClock, open_bridge
from tests.radius_helpers import PASSWORD, add_dscplus, card_response, serve_command

SECRET_TEXT = "s3cret-for-the-gateway"


def _clients(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "clients.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_clients_file_read(tmp_path: Path) -> None:
    secret_file = tmp_path / "vpn.secret"
    secret_file.write_text("from-a-file-123\n")
    secret_file.chmod(0o600)
    path = _clients(tmp_path, f"""
[[client]]
name = "gw"
address = "127.0.0.1"
secret = "{SECRET_TEXT}"
[[client]]
name = "vpn"
address = "10.1.0.0/16"
secret_file = "vpn.secret"
""")
    clients = load_clients(path)
    assert [c.name for c in clients.entries] == ["gw", "vpn"]
    assert clients.find("10.1.2.3") is clients.entries[1]
    assert clients.entries[1].secret == b"from-a-file-123"
    assert clients.find("::ffff:127.0.0.1") is clients.entries[0]
    assert clients.find("192.0.2.1") is None and clients.find("not an address") is None
    assert SECRET_TEXT not in repr(clients)


@pytest.mark.parametrize(("text", "problem"), [
    ("[[client]]\nname = 'a'\n", "needs text fields name and address"),
    ("[[client]\nname = ", "bad TOML"),
    ("[[client]]\nname = 'a'\naddress = '300.1.1.1'\nsecret = 'long-enough'",
     "address must be an address or a network"),
    ("[[client]]\nname = 'a'\naddress = '10.0.0.1/8'\nsecret = 'long-enough'",
     "address must be"),
    ("[[client]]\nname = 'a'\naddress = '10.0.0.1'\nsecret = 'short'", "a secret is 8 to"),
    ("[[client]]\nname = 'a'\naddress = '10.0.0.1'", "exactly one of secret and secret_file"),
    ("[[client]]\nname = 'a'\naddress = '10.0.0.1'\nsecret = 'long-enough'\nport = 1",
     "unknown field 'port'"),
    ("[[client]]\nname = 'a'\naddress = '10.0.0.0/8'\nsecret = 'long-enough'\n"
     "[[client]]\nname = 'b'\naddress = '10.1.0.0/16'\nsecret = 'long-enough'", "overlap"),
    ("[[client]]\nname = 'a'\naddress = '10.0.0.1'\nsecret_file = 'missing'",
     "No such file"),
    ("title = 1", "unknown setting 'title'"),
    ("", "no [[client]] table"),
])
def test_clients_file_refused(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ClientsError, match=r"clients\.toml") as caught:
        load_clients(_clients(tmp_path, text))
    assert problem in str(caught.value)
    assert "long-enough" not in str(caught.value)


def test_clients_file_readable_by_others_is_refused_by_serve(tmp_path: Path) -> None:
    path = _clients(tmp_path, f"[[client]]\nname = 'gw'\naddress = '127.0.0.1'\n"
                    f"secret = '{SECRET_TEXT}'\n", mode=0o644)
    done = subprocess.run(serve_command(path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "readable by others" in done.stderr
    assert SECRET_TEXT not in done.stderr
    secret_file = tmp_path / "gw.secret"
    secret_file.write_text(SECRET_TEXT)
    secret_file.chmod(0o640)
    path = _clients(tmp_path, "[[client]]\nname = 'gw'\naddress = '127.0.0.1'\n"
                    "secret_file = 'gw.secret'\n")
    done = subprocess.run(serve_command(path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "gw.secret" in done.stderr
    assert "readable by others" in done.stderr
    done = subprocess.run(serve_command(path, "127.0.0.1:99999"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "--radius wants HOST:PORT" in done.stderr
    assert "Traceback" not in done.stderr


def test_state_expires_and_is_single_use(slsemu_home: Path, tmp_path: Path) -> None:
    clock = FakeClock()
    bridge = open_bridge(slsemu_home, clock)
    _serial, image = add_dscplus(bridge, slsemu_home)
    login = RadiusLogin(bridge)
    first = login.start("radius:gw", "alice", PASSWORD)
    assert first.outcome is Outcome.CHALLENGE and first.state is not None
    clock.advance(bridge.config.challenge_ttl)
    late = login.resume("radius:gw", "alice", first.state, "12345678")
    assert (late.outcome, late.message) == (Outcome.REJECT, STATE_VOID)
    second = login.start("radius:gw", "alice", PASSWORD)
    assert second.state is not None and second.state != first.state
    # Another client cannot use it (and spends it trying).
    response = card_response(image, second.message.split()[-1])
    assert login.resume("radius:vpn", "alice", second.state, response).outcome is Outcome.REJECT
    assert login.resume("radius:gw", "alice", second.state, response).message == STATE_VOID
    assert login.pending == 0
    bridge.close()


def test_no_secret_in_reprs() -> None:
    from host_bridge.radius.flow import Answer

    assert "state" not in repr(Answer(Outcome.CHALLENGE, "Challenge: 1", b"\x01" * 16))
