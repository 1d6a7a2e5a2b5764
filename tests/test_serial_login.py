"""`slsbridge login --via DEV`: challenge from the store, typed into a served device, verified."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_model.dscplus import GOLD_SUITE, PLATINUM_SUITE
from firmware_model.errors import InvalidToken
from firmware_model.legacy_dsc import passcode
from firmware_model.ocra import ocra
from firmware_model.scc import scc_response
from host_bridge import serial_login
from host_bridge.bridge import Bridge
from host_bridge.cli import main as slsbridge
from host_bridge.serial_client import ClientConfig
from host_bridge.serial_login import obtain_response
from tests.bridge_helpers import challenge_count
from tests.secret_env import env_secret, shown
from tests.serial_helpers import make_image, serving, socat_pair

pytestmark = pytest.mark.serial

PASSWORD = "correct horse battery"


def run(args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return slsbridge(args)


@pytest.fixture
def provisioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[str, Path]]:
    """A store with alice and her soft-PIN DSC+ (PIN 2580); yields (serial, image path)."""
    assert run(["init"], "", monkeypatch) == 0
    assert run(["user", "add", "alice", "--password-stdin"], PASSWORD + "\n", monkeypatch) == 0
    image = tmp_path / "alice.img"
    provision = ["provision", "--user", "alice", "--model", "dscplus", *env_secret("--pin", "2580")]
    assert run([*provision, "--image", str(image)], "", monkeypatch) == 0
    serial = capsys.readouterr().out.split()[-1]
    yield serial, image


def test_login_via_socat_pair(
    provisioned: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serial, image = provisioned
    with socat_pair() as (device_end, host_end), serving(
        ["--image", str(image), "--port", device_end]
    ) as served:
        assert served.lines[0][0] == serial
        login = ["login", "--user", "alice", "--password-stdin", "--via", host_end]
        assert run([*login, *env_secret("--pin", "2580")], PASSWORD + "\n", monkeypatch) == 0
        assert "Login accepted" in capsys.readouterr().out
        assert issued() == 1
        # A wrong soft PIN gives a wrong response: the host refuses it (exit 1).
        assert run([*login, *env_secret("--pin", "1111")], PASSWORD + "\n", monkeypatch) == 1
        out = capsys.readouterr()
        assert "Login refused" in out.out
        assert not shown("1111", out.out + out.err) and not shown("2580", out.out + out.err)


def issued() -> int:
    """Challenges the store has issued so far."""
    with Bridge.open(create=False) as bridge:
        return challenge_count(bridge)


def test_login_via_a_port_that_cannot_be_opened_issues_no_challenge(
    provisioned: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = str(tmp_path / "no-such-tty")
    login = ["login", "--user", "alice", "--password-stdin", "--via", port,
             *env_secret("--pin", "2580")]
    assert run(login, PASSWORD + "\n", monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{port}: cannot open the serial port" in err
    assert "Traceback" not in err and "2580" not in err
    assert issued() == 0


def test_login_via_a_line_with_another_device_issues_no_challenge(
    provisioned: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = tmp_path / "other.img"
    make_image(other, os.urandom, serial="DP0000000099")
    with socat_pair() as (device_end, host_end), serving(
        ["--image", str(other), "--port", device_end]
    ):
        login = ["login", "--user", "alice", "--password-stdin", "--via", host_end]
        assert run([*login, *env_secret("--pin", "2580")], PASSWORD + "\n", monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is DP0000000099, expected" in err
    assert issued() == 0


def test_login_via_a_line_with_no_device_is_one_clear_error(
    provisioned: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(serial_login, "DEFAULT_CONFIG", ClientConfig(timeout=0.3, retries=1))
    with socat_pair() as (_, host_end):
        login = ["login", "--user", "alice", "--password-stdin", "--via", host_end]
        code = run([*login, *env_secret("--pin", "2580")], PASSWORD + "\n", monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert "TIMEOUT" in err and "Traceback" not in err
    assert issued() == 0  # the device is asked for (HELLO) before the challenge is issued


def test_obtain_response_for_every_card_model(tmp_path: Path) -> None:
    """One server, one pty per device: legacy DSC, SCC, Gold and Platinum over the line."""
    key = bytes(range(1, 33))
    start = 1_800_000_000.0
    make_image(tmp_path / "a.img", os.urandom, model="dsc", serial="DS0000000001", key=key,
               pin="1357")
    make_image(tmp_path / "b.img", os.urandom, model="scc", serial="SC0000000001", key=key)
    make_image(tmp_path / "c.img", os.urandom, model="gold", serial="GD0000000001", key=key,
               pin="2468", pin_mode="device")
    make_image(tmp_path / "d.img", os.urandom, model="platinum", serial="PT0000000001", key=key,
               pin="2468", pin_mode="device")
    args = ["--images", str(tmp_path), "--virtual-clock", "--clock", str(start)]
    with serving(args, devices=4) as served:
        paths = dict(served.lines)
        assert obtain_response(paths["DS0000000001"], "dsc", "", "1357") == passcode(key, start)
        assert obtain_response(paths["SC0000000001"], "scc", "17 201", None) == scc_response(
            key, 17, 201
        )
        gold = obtain_response(paths["GD0000000001"], "gold", "123456", "2468")
        assert gold == ocra(GOLD_SUITE, key, question="123456")
        platinum = obtain_response(paths["PT0000000001"], "platinum", "12345678", "2468")
        assert platinum == ocra(PLATINUM_SUITE, key, question="12345678")
        with pytest.raises(InvalidToken):
            obtain_response(paths["DS0000000001"], "dsc", "", "0000")
