"""`slsbridge push deliver --via DEV`: the host's push notification carried over a real socat
pty pair to a served IB Key app (`PUSH` request), the app's answer (`EVT DEVICE PUSH …`) back to
the host's push service."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from firmware_model.serial_codec import ErrCode, ProtocolError, PushNotice, parse_request
from host_bridge.bridge import Bridge
from host_bridge.cli import main as slsbridge
from host_bridge.domain import PushStatus
from tests.serial_helpers import serving, socat_pair

pytestmark = pytest.mark.serial

PIN = "2468"


def run(args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return slsbridge(args)


def test_push_delivered_approved_and_denied_over_the_line(
    slsemu_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Bridge.open(slsemu_home) as bridge:
        bridge.init()
        bridge.add_user("alice", "correct horse")
        serial = bridge.provision(
            "alice", "ibkey", pin=PIN, image_path=slsemu_home / "ik.img").serial
    with socat_pair() as (device_end, host_end), serving(
        ["--image", str(slsemu_home / "ik.img"), "--port", device_end]
    ):
        deliver = ["push", "deliver", "--serial", serial, "--via", host_end]
        with Bridge.open(slsemu_home) as bridge:
            first = bridge.push.send(serial).push.id
        assert run([*deliver, "--pin-stdin"], PIN + "\n", monkeypatch) == 0
        out = capsys.readouterr()
        assert out.out.split()[:2] == [first, "approved"] and PIN not in out.out + out.err

        with Bridge.open(slsemu_home) as bridge:
            second = bridge.push.send(serial).push.id
        assert run([*deliver, "--deny"], "", monkeypatch) == 1
        assert capsys.readouterr().out.split()[:2] == [second, "denied"]

        with Bridge.open(slsemu_home) as bridge:
            third = bridge.push.send(serial).push.id
        # A wrong PIN: the app does not answer; one line, exit 2, the push still pending.
        assert run([*deliver, "--pin-stdin"], "9999\n", monkeypatch) == 2
        err = capsys.readouterr().err
        assert "did not answer" in err and "Traceback" not in err and "9999" not in err
        with Bridge.open(slsemu_home) as bridge:
            assert bridge.push.status(first).status is PushStatus.APPROVED
            assert bridge.push.status(third).status is PushStatus.PENDING
            verdicts = [r.outcome for r in bridge.audit() if r.event == "verify"]
        assert verdicts == ["accepted"]
    assert run(["push", "deliver", "--serial", serial, "--via", "x"], "", monkeypatch) == 2


def test_push_request_line() -> None:
    notice = parse_request(b"PUSH 0a1b alice 123456")
    assert notice == PushNotice("0a1b", "alice", "123456")
    assert parse_request(notice.to_line().encode()) == notice
    for bad in (b"PUSH", b"PUSH a b", b"PUSH -x alice 1", b"PUSH a al!ce 1", b"PUSH a b 12x"):
        with pytest.raises(ProtocolError) as caught:  # an ERR BADARG line, never a crash
            parse_request(bad)
        assert caught.value.code is ErrCode.BADARG
