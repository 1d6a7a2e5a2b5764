"""Issuing a challenge when the store refuses it: a fresh look-up, a bounded retry, one error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware_model.ocra import ocra
from host_bridge.bridge import Bridge
from host_bridge.domain import DeviceStatus
from host_bridge.errors import NotUsable, StoreError
from host_bridge.repos import challenges as challenges_repo
from host_bridge.services.challenges import ISSUE_ATTEMPTS
from tests.bridge_helpers import START, FakeClock, open_bridge, read_image, set_device

PIN = "2468"


@pytest.fixture
def bridge(tmp_path: Path, store_engine: str) -> Bridge:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    bridge.add_user("alice", "pw")
    return bridge


def _card(bridge: Bridge, tmp_path: Path) -> tuple[str, bytes, str]:
    made = bridge.provision("alice", "dscplus", pin=PIN, image_path=tmp_path / "card.img")
    image = read_image(tmp_path / "card.img")
    assert image.suite is not None
    return made.serial, image.key, image.suite


def test_a_changed_suite_is_read_afresh_and_the_challenge_issued(
    bridge: Bridge, tmp_path: Path
) -> None:
    serial, key, suite = _card(bridge, tmp_path)
    bridge.issue_challenge(serial)  # the process now remembers the old suite
    length = 6 if "QN08" in suite else 8
    new_suite = re.sub(r"QN0\d", f"QN0{length}", suite)
    set_device(bridge, serial, START, suite=new_suite)  # another process re-suits the card
    challenge = bridge.issue_challenge(serial)
    assert len(challenge.text) == length  # the question of the new suite
    answer = ocra(new_suite, key, question=challenge.text, pin=PIN)
    assert bridge.verify(serial, challenge.id, answer).accepted


def test_a_store_that_keeps_refusing_is_a_clear_error_after_bounded_attempts(
    bridge: Bridge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial, _, _ = _card(bridge, tmp_path)
    attempts: list[str] = []

    def refuse(*args: object) -> bool:
        attempts.append("insert")
        return False

    monkeypatch.setattr(challenges_repo, "insert_if_usable", refuse)
    with pytest.raises(StoreError, match=f"refused a new challenge {ISSUE_ATTEMPTS} times"):
        bridge.issue_challenge(serial)
    assert len(attempts) == ISSUE_ATTEMPTS


def test_a_device_no_longer_usable_is_refused_at_once(bridge: Bridge, tmp_path: Path) -> None:
    serial, _, _ = _card(bridge, tmp_path)
    bridge.issue_challenge(serial)
    set_device(bridge, serial, START, status=DeviceStatus.LOCKED)
    with pytest.raises(NotUsable, match="locked"):
        bridge.issue_challenge(serial)
