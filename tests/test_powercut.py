"""Power cuts: real processes pressing keys are killed with SIGKILL at random moments.

Every time, the image on disk must still decode, and its durable counters must be at least what
the child acknowledged as saved (never back), and never behind what an earlier cut left.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator.images import load_image, save_image
from firmware_model.device import ImageSpec
from firmware_model.models import new_image

REPO = Path(__file__).resolve().parent.parent
KEY = bytes.fromhex("3132333435363738393031323334353637383930")
START_TIMEOUT = 20.0  # seconds for a child to load; generous for a busy 2-core machine


@dataclass(frozen=True)
class Counters:
    presses: int
    failures: int


def on_disk(path: Path) -> Counters:
    state = load_image(path).state  # raises if a cut left a damaged image
    return Counters(int(state["presses_used"]), int(state.get("failures", 0)))


def cut_once(
    path: Path, mode: str, delay: float, after_first_save: bool
) -> tuple[Counters | None, bool]:
    """Start a child, let it press for `delay` seconds, SIGKILL it.

    With `after_first_save` the delay starts once the child acknowledged its first save, so a
    busy machine cannot turn every cut into a cut before the first press. Returns the last
    counters it acknowledged (None if none) and whether it reported `done`.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.powercut_child", mode, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        if first != "ready\n":
            child.kill()
            _, errors = child.communicate(timeout=START_TIMEOUT)
            pytest.fail(f"child did not start: {first!r} {errors}")
        early = ""
        if after_first_save:
            early = child.stdout.readline()  # "saved ..." (or "done" on a locked card)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        output, _ = child.communicate(timeout=START_TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    last: Counters | None = None
    done = False
    for line in (early + output).splitlines():
        if line == "done":
            done = True
        elif line.startswith("saved "):
            _, presses, failures = line.split()
            last = Counters(int(presses), int(failures))
    return last, done


def make_image(path: Path, pin_mode: str) -> None:
    options: dict[str, object] = {"battery_presses": 10**9, "battery_low_presses": 0}
    if pin_mode == "device":
        options["pin_retries"] = 99
    spec = ImageSpec(
        model="dscplus", serial="DP1", key=KEY, pin="1234" if pin_mode == "device" else None,
        pin_mode=pin_mode, options=options,
    )
    save_image(path, new_image(spec, os.urandom))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "pin_mode", "cuts", "presses_per_ack"),
    [("battery", "soft", 10, 1), ("pin", "device", 6, 5)],
)
def test_counters_survive_sigkill_at_random_moments(
    tmp_path: Path, mode: str, pin_mode: str, cuts: int, presses_per_ack: int
) -> None:
    path = tmp_path / "card.img"
    make_image(path, pin_mode)
    chance = random.Random(f"powercut-{mode}")  # reproducible moments
    before = on_disk(path)
    acknowledged = 0
    for _ in range(cuts):
        last, done = cut_once(path, mode, chance.uniform(0.0, 0.03), chance.random() < 0.75)
        after = on_disk(path)
        # Never back: not behind the previous cut, not behind what the child acknowledged.
        assert after.presses >= before.presses and after.failures >= before.failures
        if last is not None:
            acknowledged += 1
            assert after.presses >= last.presses and after.failures >= last.failures
            # ...and at most the presses of one unacknowledged step ahead of it.
            assert after.presses <= last.presses + presses_per_ack
            assert after.failures <= last.failures + 1
        before = after
        if done:
            break
    assert acknowledged > 0, "no child ever got a press saved before its cut"
    assert before.presses > 0
