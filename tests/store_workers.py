"""What the processes of tests/test_store_guarantees.py run. A module of its own, importing
little: each of the spawned processes imports it before it starts."""

from __future__ import annotations

from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.errors import NotUsable

PROCESSES = 8  # charging one device at once; seeing its lock at once
WRONG_EACH = 3
LOCKOUT_AFTER = 3


def answer(key: bytes, text: str) -> str:
    first, second = map(int, text.split())
    return scc_response(key, first, second)


def wrong(right: str) -> str:
    """An answer that is surely wrong: the right one with its first character changed."""
    return ("B" if right[0] == "A" else "A") + right[1:]


def setup_scc(home: Path, config: BridgeConfig) -> tuple[str, bytes]:
    with Bridge.open(home, config=config) as bridge:
        bridge.init()
        bridge.add_user("alice", "pw")
        made = bridge.provision("alice", "scc")
        assert made.image is not None
        return made.serial, made.image.key


def charge(home: str, serial: str, key: bytes, barrier: Barrier, results: Any) -> None:
    config = BridgeConfig(scrypt_n=2, lockout_after=1000)
    with Bridge.open(Path(home), config=config) as bridge:
        challenges = [bridge.issue_challenge(serial) for _ in range(WRONG_EACH)]
        barrier.wait(timeout=120)
        refused = sum(
            not bridge.verify(serial, c.id, wrong(answer(key, c.text))).accepted
            for c in challenges
        )
    results.put(refused)


def wait_for_lock(
    home: str, serial: str, key: bytes, ready: Barrier, locked: Event, results: Any
) -> None:
    """Use the device (caches warm), hold a challenge, wait for the lock, then try again."""
    config = BridgeConfig(scrypt_n=2, lockout_after=LOCKOUT_AFTER)
    with Bridge.open(Path(home), config=config) as bridge:
        first = bridge.issue_challenge(serial)
        assert bridge.verify(serial, first.id, answer(key, first.text)).accepted
        held = bridge.issue_challenge(serial)
        ready.wait(timeout=120)
        if not locked.wait(timeout=120):
            raise AssertionError("the device was never locked")
        verdict = bridge.verify(serial, held.id, answer(key, held.text))
        try:
            bridge.issue_challenge(serial)
            issued = "issued"
        except NotUsable as refusal:
            issued = str(refusal)
    results.put((verdict.accepted, verdict.reason, issued))
