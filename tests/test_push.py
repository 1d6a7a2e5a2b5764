"""IB Key push on the host (`PushService`), on SQLite and PostgreSQL: the emulated app receives
the notification from the push outbox and answers; approve, deny, expiry, forged and replayed
approvals, the lockout and the audit trail."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host_bridge.bridge import Bridge
from host_bridge.domain import PushStatus
from host_bridge.errors import BridgeError, NotFound
from tests.bridge_helpers import FakeClock, open_bridge, stored_device
from tests.push_helpers import Phone

PIN = "2468"


@pytest.fixture
def world(
    slsemu_home: Path, store_engine: str
) -> tuple[Bridge, FakeClock, str, Phone]:
    clock = FakeClock()
    bridge = open_bridge(slsemu_home, clock)
    bridge.add_user("alice", "correct horse")
    made = bridge.provision("alice", "ibkey", pin=PIN, image_path=slsemu_home / "ik.img")
    return bridge, clock, made.serial, Phone(slsemu_home / "ik.img")


def test_push_approved_by_the_app_once(world: tuple[Bridge, FakeClock, str, Phone]) -> None:
    bridge, clock, serial, phone = world
    sent = bridge.push.send(serial)
    assert sent.push.status is PushStatus.PENDING and sent.push.user == "alice"
    assert sent.push.expires == clock.now + 120
    push_id = phone.receive(bridge.home, serial, clock.now)
    assert push_id == sent.push.id
    approval = phone.approve(PIN, clock.now)
    answer = bridge.push.approve(push_id, approval.response)
    assert answer.verdict.accepted and answer.push.status is PushStatus.APPROVED
    assert bridge.push.status(push_id).status is PushStatus.APPROVED
    replay = bridge.push.approve(push_id, approval.response)
    assert not replay.verdict.accepted and replay.push.status is PushStatus.APPROVED
    assert bridge.push.claim(push_id) and not bridge.push.claim(push_id)
    rows = bridge.audit()
    assert [r.outcome for r in rows if r.event == "verify"] == ["accepted"]
    assert any(r.event == "push.send" for r in rows)
    assert approval.response not in repr([r.to_json() for r in rows])


def test_forged_approval_fails_and_counts(world: tuple[Bridge, FakeClock, str, Phone]) -> None:
    bridge, clock, serial, phone = world
    sent = bridge.push.send(serial)
    forged = bridge.push.approve(sent.push.id, "12345678")
    assert not forged.verdict.accepted and forged.push.status is PushStatus.FAILED
    assert stored_device(bridge, serial).failures == 1
    # The real app's answer comes too late: the challenge is spent.
    phone.receive(bridge.home, serial, clock.now)
    late = bridge.push.approve(sent.push.id, phone.approve(PIN, clock.now).response)
    assert not late.verdict.accepted and late.push.status is PushStatus.FAILED
    assert not bridge.push.claim(sent.push.id)


def test_deny_and_expiry(world: tuple[Bridge, FakeClock, str, Phone]) -> None:
    bridge, clock, serial, phone = world
    first = bridge.push.send(serial)
    phone.receive(bridge.home, serial, clock.now)
    assert phone.deny(clock.now).push_id == first.push.id
    assert bridge.push.deny(first.push.id).status is PushStatus.DENIED
    after = bridge.push.approve(first.push.id, "12345678")
    assert not after.verdict.accepted and after.push.status is PushStatus.DENIED
    assert stored_device(bridge, serial).failures == 0  # a denial charges nothing

    second = bridge.push.send(serial)
    phone.receive(bridge.home, serial, clock.now)
    approval = phone.approve(PIN, clock.now)
    clock.advance(120)
    assert bridge.push.status(second.push.id).status is PushStatus.EXPIRED
    late = bridge.push.approve(second.push.id, approval.response)
    assert not late.verdict.accepted and late.push.status is PushStatus.EXPIRED
    assert bridge.push.deny(second.push.id).status is PushStatus.EXPIRED
    events = [r.event for r in bridge.audit()]
    assert "push.deny" in events and "push.expired" in events


def test_bad_input_changes_nothing(world: tuple[Bridge, FakeClock, str, Phone]) -> None:
    bridge, _clock, _serial, _phone = world
    with pytest.raises(NotFound):
        bridge.push.status("0" * 32)
    with pytest.raises(NotFound):
        bridge.push.approve("x" * 65, "1")
    scc = bridge.provision("alice", "scc", image_path=bridge.home / "scc.img").serial
    before = len(bridge.audit())
    with pytest.raises(BridgeError, match="no IB Key"):
        bridge.push.send(scc)
    assert len(bridge.audit()) == before


def test_cli_push_commands(world: tuple[Bridge, FakeClock, str, Phone]) -> None:
    bridge, _clock, serial, phone = world
    home = bridge.home

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "host_bridge.cli", "push", *args], input=stdin,
            capture_output=True, text=True, env={**os.environ, "SLSEMU_HOME": str(home)},
        )

    sent = cli("send", "--serial", serial)
    assert sent.returncode == 0, sent.stderr
    push_id, status, _challenge = sent.stdout.split()
    assert status == "pending"
    shown = cli("outbox", "--serial", serial)
    assert shown.stdout.split()[1] == push_id
    phone.receive(home, serial, time.time())
    response = phone.approve(PIN, time.time()).response
    on_argv = cli("approve", "--push-id", push_id, "--response", response)
    assert on_argv.returncode == 2 and on_argv.stderr.count("\n") == 1
    assert "--response-stdin" in on_argv.stderr and response not in on_argv.stderr
    assert cli("status", "--push-id", push_id).stdout.split()[1] == "pending"  # nothing ran
    approved = cli("approve", "--push-id", push_id, "--response-stdin", stdin=response + "\n")
    assert approved.returncode == 0 and approved.stdout.split()[1] == "approved"
    again = cli("approve", "--push-id", push_id, "--response-stdin", stdin=response + "\n")
    assert again.returncode == 1
    unknown = cli("status", "--push-id", "f" * 32)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.count("\n") == 1
