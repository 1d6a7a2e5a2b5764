"""Issue 11, point 5: IB Key activation and recovery end to end through the host (KB2260,
KB2748). The emulated app (`firmware_model.ibkey`) and the host bridge play their parts; the
SMS travels through the outbox. Test names quote the seed's steps."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from firmware_model.events import Recovered
from firmware_model.ibkey import BIOMETRIC, IbKey, Phase, token_hash
from host_bridge.bridge import Bridge
from host_bridge.cli import main
from host_bridge.errors import Locked, Refused
from host_bridge.repos.outbox import Message
from host_bridge.services.sms import TooSoon
from tests.bridge_helpers import FakeClock, open_bridge, read_image

PASSWORD = "correct horse"
PIN = "4321"


def _entropy(n: int) -> bytes:
    return os.urandom(n)


def _sms(bridge: Bridge, serial: str) -> Message:
    message = bridge.outbox.latest(serial)
    assert message is not None and message.channel == "sms"
    return message


def _activated(bridge: Bridge, tmp_path: Path) -> tuple[str, IbKey]:
    """alice's IB Key: provisioned, then activated in the app with username, password, the SMS
    activation token and a new PIN — the host checks them first, then the app."""
    bridge.add_user("alice", PASSWORD)
    bridge.add_user("mallory", "other")
    serial = bridge.provision("alice", "ibkey", image_path=tmp_path / "ik.img").serial
    app = IbKey.from_image(read_image(tmp_path / "ik.img"), _entropy)
    token = _sms(bridge, serial).code
    with pytest.raises(Refused, match="wrong user name or password"):
        bridge.ibkey.activate("alice", "wrong", serial, token, PIN)
    with pytest.raises(Refused, match="wrong user name or password"):  # not her device
        bridge.ibkey.activate("mallory", "other", serial, token, PIN)
    assert bridge.devices("alice") == []  # refused credentials changed nothing
    assert bridge.ibkey.activate("alice", PASSWORD, serial, token, PIN)
    assert app.activate("alice", token, PIN, bridge.clock()).display == "IB Key activated"
    return serial, app


def _logs_in(bridge: Bridge, serial: str, app: IbKey) -> bool:
    challenge = bridge.issue_challenge(serial)
    reaction = app.respond("alice", PIN, challenge.text, bridge.clock())
    return bridge.verify(serial, challenge.id, reaction.display.split()[-1]).accepted


@pytest.fixture
def bridge(tmp_path: Path, store_engine: str) -> Bridge:
    """A fresh bridge, on each engine in turn."""
    return open_bridge(tmp_path / "home", FakeClock())


def test_activation_starts_with_username_and_password(bridge: Bridge, tmp_path: Path) -> None:
    serial, app = _activated(bridge, tmp_path)
    assert _logs_in(bridge, serial, app)
    events = [(row.event, row.outcome) for row in bridge.audit()]
    assert ("ibkey.credentials", "refused") in events and ("ibkey.activate", "ok") in events


def test_android_credentials_initialize_recovery_sms_token_submit(
    bridge: Bridge, tmp_path: Path
) -> None:
    """KB2748 Android: "Enter your credentials and tap Initialize Recovery"; "You will receive
    an text message (SMS) containing an Activation Token"; "Once done, tap Submit"."""
    serial, app = _activated(bridge, tmp_path)
    app.reinstall()  # "You have reinstalled the IBKR Mobile app on the same smartphone"
    assert app.phase is Phase.NEEDS_RECOVERY
    with pytest.raises(Refused):
        bridge.ibkey.initialize_recovery("alice", "wrong", serial)
    bridge.ibkey.initialize_recovery("alice", PASSWORD, serial)
    sms = _sms(bridge, serial)
    with pytest.raises(TooSoon):  # the 2-minute rule of the SMS outbox
        bridge.ibkey.initialize_recovery("alice", PASSWORD, serial)
    assert _sms(bridge, serial) == sms
    app.begin_recovery(token_hash(sms.code, _entropy))  # the SMS reaches the phone
    assert not bridge.ibkey.submit_recovery(serial, "00000000")
    assert bridge.ibkey.submit_recovery(serial, sms.code)
    assert app.recover(PIN, sms.code, bridge.clock()).events == (Recovered(),)
    assert not bridge.ibkey.submit_recovery(serial, sms.code)  # single use
    assert _logs_in(bridge, serial, app)
    rows = [(row.event, row.outcome, dict(row.detail)) for row in bridge.audit()]
    assert any(e == "ibkey.recover" and o == "ok" and d.get("platform") == "android"
               for e, o, d in rows)
    assert sms.code not in str(rows) and PASSWORD not in str(rows)


def test_android_recovery_token_is_guess_limited(bridge: Bridge, tmp_path: Path) -> None:
    serial, _app = _activated(bridge, tmp_path)
    bridge.ibkey.initialize_recovery("alice", PASSWORD, serial)
    token = _sms(bridge, serial).code
    for _ in range(bridge.config.lockout_after):
        assert not bridge.ibkey.submit_recovery(serial, "00000000")
    with pytest.raises(Locked):
        bridge.ibkey.submit_recovery(serial, token)  # refused without comparing


def test_ios_yes_fingerprint_done_no_sms(bridge: Bridge, tmp_path: Path) -> None:
    """KB2748 iOS: "Tap Yes", "provide the security element originally used to secure the app
    (Fingerprint, Face ID, PIN)", "Tap Done" — and no SMS."""
    serial, app = _activated(bridge, tmp_path)
    sent = len(bridge.outbox.messages())
    app.reinstall()  # "Your smartphone Operating System has been updated"
    assert app.restore(BIOMETRIC, bridge.clock()).display == "IB Key recovered"
    challenge = bridge.ibkey.ios_recovery_challenge(serial)
    response = app.respond("alice", BIOMETRIC, challenge.text, bridge.clock()).display.split()[-1]
    assert bridge.ibkey.confirm_ios_recovery(serial, challenge.id, response).accepted
    assert len(bridge.outbox.messages()) == sent  # no SMS on iOS
    again = bridge.ibkey.ios_recovery_challenge(serial)
    assert not bridge.ibkey.confirm_ios_recovery(serial, again.id, "00000000").accepted


def _cli(monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_slsbridge_ibkey_commands(
    slsemu_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The reproducer from a fresh SLSEMU_HOME: `slsbridge init`, then the app's calls."""
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 256\n")
    assert _cli(monkeypatch, "", "init") == 0
    assert _cli(monkeypatch, PASSWORD + "\n", "user", "add", "alice", "--password-stdin") == 0
    image = tmp_path / "ik.img"
    assert _cli(monkeypatch, "", "provision", "--user", "alice", "--model", "ibkey",
                "--image", str(image)) == 0
    with Bridge.open(slsemu_home) as bridge:
        serial = bridge.all_devices("alice")[0].serial
        token = _sms(bridge, serial).code
    capsys.readouterr()
    base = ("ibkey", "activate", "--user", "alice", "--serial", serial, "--password-stdin",
            "--token-stdin", "--pin-stdin")
    assert _cli(monkeypatch, f"wrong\n{token}\n{PIN}\n", *base) == 1
    assert "wrong user name or password" in capsys.readouterr().err
    assert _cli(monkeypatch, f"{PASSWORD}\n{token}\n{PIN}\n", *base) == 0
    assert capsys.readouterr().out.strip() == f"{serial} IB Key activated"
    # Android: credentials → Initialize Recovery → SMS → Submit.
    android = ("ibkey", "recover", "--platform", "android", "--serial", serial)
    assert _cli(monkeypatch, PASSWORD + "\n", *android, "--user", "alice",
                "--password-stdin") == 0
    assert _cli(monkeypatch, "", *android) == 2  # no credentials: bad input
    with Bridge.open(slsemu_home) as bridge:
        recovery = _sms(bridge, serial).code
    assert recovery != token
    submit = ("ibkey", "submit", "--serial", serial, "--token-stdin")
    assert _cli(monkeypatch, "00000000\n", *submit) == 1
    assert _cli(monkeypatch, recovery + "\n", *submit) == 0
    # iOS: Yes → fingerprint → Done: a challenge the restored app answers, no SMS.
    app = IbKey.from_image(read_image(image), _entropy)
    now = FakeClock().now
    app.activate("alice", token, PIN, now)
    app.reinstall()
    app.restore(BIOMETRIC, now)
    ios = ("ibkey", "recover", "--platform", "ios", "--serial", serial)
    assert _cli(monkeypatch, "", *ios, "--user", "alice") == 2  # iOS asks no credentials
    capsys.readouterr()

    class ThePhone(io.StringIO):
        """stdin: the restored app reads the challenge the command showed and answers it."""

        def readline(self, size: int | None = -1) -> str:
            shown = capsys.readouterr().err.split("Challenge: ")[1].split()[0]
            return app.respond("alice", PIN, shown, now).display.split()[-1] + "\n"

    monkeypatch.setattr("sys.stdin", ThePhone())
    assert main(list(ios)) == 0
    assert capsys.readouterr().out.strip() == f"{serial} IB Key recovered"
    assert _cli(monkeypatch, "00000000\n", *ios) == 1  # a wrong answer: not recovered
