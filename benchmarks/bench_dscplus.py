"""DSC+ keypresses per second on a realistic login loop, beside a minimal state machine.

One cycle is what a user does at each login: POWER, the 4 PIN digits, OK, the 6 challenge
digits (a different challenge each cycle), OK, read the 8-digit response, POWER off — 14
presses. The project side is a soft-PIN
`DscPlus` (battery budget raised so the loop never drains it; image saves are the caller's and
are not timed). The baseline is the smallest honest keypad machine: dict dispatch on
(state, key kind), a digit buffer, the same masked/typed displays and the same OCRA response
(`OCRA-1:HOTP-SHA1-8:QN06-PSHA1`, one HMAC with a precomputed key schedule). Both produce the
same response; the figure is keypresses/s, ratio = project/baseline (target >= 0.3).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import random
from collections.abc import Callable

from benchmarks.harness import BenchResult, compare_rates
from firmware_model.device import ImageSpec
from firmware_model.dscplus import SOFT_SUITE, DscPlus

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
PIN = "1234"
# A fresh challenge each login, as the host issues them (fixed seed: both sides get the same).
CHALLENGES = tuple(f"{n:06d}" for n in random.Random(6287).sample(range(10**6), 997))
SEQUENCES = tuple(("POWER", *PIN, "OK", *challenge, "OK") for challenge in CHALLENGES)
PRESSES_PER_CYCLE = len(SEQUENCES[0]) + 1  # ... then read the display, then POWER off


class BaselineCard:
    """A minimal dict-dispatch keypad: the same screens and response, nothing else."""

    def __init__(self, key: bytes) -> None:
        self.mac = hmac.new(key, digestmod=hashlib.sha1)
        self.prefix = SOFT_SUITE.encode() + b"\0"
        self.state, self.buffer, self.pin, self.display = "off", "", "", ""
        self.table: dict[tuple[str, str], Callable[[str], None]] = {
            ("off", "POWER"): self.on,
            ("pin", "D"): self.pin_digit,
            ("pin", "OK"): self.pin_ok,
            ("challenge", "D"): self.challenge_digit,
            ("challenge", "OK"): self.challenge_ok,
        }
        for state in ("pin", "challenge", "response"):
            self.table[(state, "POWER")] = self.off

    def press(self, button: str) -> str:
        handler = self.table.get((self.state, "D" if button.isdigit() else button))
        if handler is not None:
            handler(button)
        return self.display

    def on(self, _: str) -> None:
        self.state, self.buffer, self.display = "pin", "", "PIN>"

    def off(self, _: str) -> None:
        self.state, self.buffer, self.pin, self.display = "off", "", "", ""

    def pin_digit(self, digit: str) -> None:
        if len(self.buffer) < 4:
            self.buffer += digit
            self.display = "PIN>" + "*" * len(self.buffer)

    def pin_ok(self, _: str) -> None:
        if len(self.buffer) == 4:
            self.state, self.pin, self.buffer = "challenge", self.buffer, ""
            self.display = "CHALLNG>"

    def challenge_digit(self, digit: str) -> None:
        if len(self.buffer) < 6:
            self.buffer += digit
            self.display = self.buffer

    def challenge_ok(self, _: str) -> None:
        if len(self.buffer) == 6:
            self.state, self.display = "response", self.response(self.buffer, self.pin)

    def response(self, challenge: str, pin: str) -> str:
        number = format(int(challenge), "X")
        question = bytes.fromhex(number + "0" * (len(number) & 1)).ljust(128, b"\0")
        mac = self.mac.copy()
        mac.update(self.prefix + question + hashlib.sha1(pin.encode()).digest())
        digest = mac.digest()
        offset = digest[-1] & 0x0F
        value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
        return str(value % 10**8).zfill(8)


def _project_cycle() -> Callable[[], object]:
    spec = ImageSpec("dscplus", "DP0000000001", KEY, options={"battery_presses": 10**9})
    card = DscPlus.from_image(DscPlus.new_image(spec, os.urandom), os.urandom)
    clock = itertools.count()
    sequences = itertools.cycle(SEQUENCES)
    press = card.press

    def cycle() -> str:
        now = float(next(clock))
        for button in next(sequences):
            press(button, now)
        shown = card.display
        press("POWER", now)
        return shown

    return cycle


def _baseline_cycle() -> Callable[[], object]:
    card = BaselineCard(KEY)
    sequences = itertools.cycle(SEQUENCES)
    press = card.press

    def cycle() -> str:
        for button in next(sequences):
            press(button)
        shown = card.display
        press("POWER")
        return shown

    return cycle


def run() -> list[BenchResult]:
    project, baseline = _project_cycle(), _baseline_cycle()
    for _ in range(3):  # same work, same answers
        if project() != baseline():
            raise RuntimeError("baseline and DscPlus disagree on the response")
    project_rate, baseline_rate = compare_rates(project, baseline)
    return [
        BenchResult(
            name="dscplus_keypresses",
            value=project_rate * PRESSES_PER_CYCLE,
            unit="keypresses/s",
            ratio=project_rate / baseline_rate,
            baseline="dict-dispatch-keypad",
            target=">=0.3",
            extra=f"baseline_value={baseline_rate * PRESSES_PER_CYCLE:.6g}",
        )
    ]
