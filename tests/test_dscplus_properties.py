"""Properties of the DSC+ state machine under any key sequence at any times; every move is one
its transition table (`dscplus.TRANSITIONS`) allows.

Random presses alone almost never type a right PIN or unlock code, so the sequences also mix in
"macros" (the right or a wrong PIN, the right or a wrong unlock code, a new PIN chosen twice, a
save-and-reload power cut); invariants are checked after every single press or time step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_model.device import CARD_BUTTONS, ImageSpec, Reaction
from firmware_model.dscplus import TRANSITIONS, DscPlus, State, unlock_code
from firmware_model.events import BatteryDead, PinAccepted, PinSet, Unlocked
from firmware_model.fsm import TIMEOUT, kind_of
from firmware_model.image import decode_image, encode_image
from firmware_model.models import device_class
from tests.fsm_check import after_wait, assert_move

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
FIRST_PIN = "2468"

# Mostly no time between presses (a person typing), sometimes past a timeout or a block.
steps = st.one_of(
    st.just(0.0),
    st.just(0.0),
    st.just(0.0),
    st.floats(min_value=0, max_value=3, allow_nan=False),
    st.sampled_from([1.9, 2.0, 29.9, 30.0, 61.0, 1799.0, 1800.0]),
    st.floats(min_value=0, max_value=5000, allow_nan=False),
)
pins = st.text("0123456789", min_size=4, max_size=4)
presses = st.tuples(st.just("press"), st.sampled_from(sorted(CARD_BUTTONS)), steps)
macros = st.one_of(
    st.tuples(st.just("advance"), steps),
    st.tuples(st.just("on")),
    st.tuples(st.just("on")),
    st.tuples(st.just("pin"), st.booleans()),
    st.tuples(st.just("unlock"), st.booleans(), st.none() | pins),
    st.tuples(st.just("new_pin"), pins),
    st.tuples(st.just("change_pin"), pins),
    st.tuples(st.just("reload")),
)
actions = st.lists(st.one_of(presses, presses, presses, macros), max_size=80)


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    model = draw(st.sampled_from(["dscplus", "dscplus", "gold", "platinum"]))
    mode = draw(st.sampled_from(["soft", "device"])) if model == "dscplus" else "device"
    capacity = draw(st.integers(min_value=5, max_value=400) | st.just(20_000))
    options: dict[str, Any] = {
        "battery_presses": capacity,
        "battery_low_presses": draw(st.integers(min_value=0, max_value=capacity)),
        "auto_off_seconds": draw(st.sampled_from([1, 30, 40])),
        "response_seconds": draw(st.sampled_from([1, 30])),
    }
    if mode == "device":
        options["pin_retries"] = draw(st.integers(min_value=1, max_value=4))
        options["unlock_retries"] = draw(st.integers(min_value=1, max_value=3))
        options["unlock_block_seconds"] = draw(st.sampled_from([0, 60, 1800]))
    return model, mode, options


def _entropy() -> Callable[[int], bytes]:
    counter = 0

    def take(count: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < count:
            out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:count]

    return take


class Checker:
    """Drives one card and checks the invariants after every event."""

    def __init__(self, model: str, mode: str, options: dict[str, Any]) -> None:
        self.entropy = _entropy()
        cls = device_class(model)
        pin = FIRST_PIN if mode == "device" else None
        image = cls.new_image(ImageSpec(model, "DP1", KEY, pin, mode, None, options), self.entropy)
        card = cls.from_image(image, self.entropy)
        assert isinstance(card, DscPlus)
        self.card = card
        self.pin = FIRST_PIN
        self.now = 0.0
        self.device_mode = mode == "device"

    def state(self) -> dict[str, Any]:
        return dict(self.card.to_image().state)

    def check(self, before: dict[str, Any], reaction: Reaction, *, timed: bool) -> None:
        card, after = self.card, self.state()
        assert len(reaction.display) <= 8
        assert reaction.display == card.display
        assert card.powered == (card.display != "")
        if after != before:
            assert reaction.persist, (before, after)
        if timed:
            assert not reaction.persist and after == before  # time alone changes nothing durable
        assert after["presses_used"] >= before["presses_used"]
        if self.device_mode:
            resets = {PinAccepted(), Unlocked()} & set(reaction.events)
            if after["failures"] < before["failures"]:
                assert resets, (before, after, reaction.events)
            assert 0 <= after["failures"] <= card.config.pin_retries
            assert 0 <= after["unlock_failures"] < card.config.unlock_retries
            assert after["locked"] == (after["lock_number"] is not None)
            if before["locked"] and not after["locked"]:
                assert Unlocked() in reaction.events
        if PinSet() in reaction.events and self.pending_pin is not None:
            self.pin = self.pending_pin

    pending_pin: str | None = None

    def press(self, button: str, step: float = 0.0) -> None:
        self.now += step
        before, state = self.state(), self.card.state
        reaction = self.card.press(button, self.now)
        # Time first (a timer that fell due), then the key, or the battery's last press.
        kind = "BATTERY" if BatteryDead() in reaction.events else kind_of(button)
        assert_move(TRANSITIONS, state, after_wait(step, kind), self.card.state)
        self.check(before, reaction, timed=False)

    def advance(self, step: float) -> None:
        self.now += step
        before, state = self.state(), self.card.state
        reaction = self.card.advance(self.now)
        assert_move(TRANSITIONS, state, (TIMEOUT,), self.card.state)
        self.check(before, reaction, timed=True)

    def type(self, digits: str) -> None:
        for digit in digits:
            self.press(digit)

    def new_pin(self, pin: str) -> None:
        """Type a PIN twice (on NEW PIN / PIN CONF this sets it)."""
        self.pending_pin = pin
        self.type(pin)
        self.press("OK")
        self.type(pin)
        self.press("OK")
        self.pending_pin = None

    def run(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        if kind == "press":
            self.press(action[1], action[2])
        elif kind == "advance":
            self.advance(action[1])
        elif kind == "on":
            if not self.card.powered:
                self.press("POWER")
        elif kind == "pin":
            self.type(self.pin if action[1] else ("1357" if self.pin != "1357" else "9753"))
            self.press("OK")
        elif kind == "unlock":
            for _ in range(2):  # from LOCK PIN or the lock number on to UNLOCK>
                if self.card.state in (State.LOCKED, State.LOCK_NUMBER):
                    self.press("OK")
            number = self.state().get("lock_number")
            code = unlock_code(KEY, number) if number else "12345678"
            if not action[1]:
                code = "00000000" if code != "00000000" else "11111111"
            self.type(code)
            self.press("OK")
            if action[2] is not None:
                self.new_pin(action[2])
        elif kind == "new_pin":
            self.new_pin(action[1])
        elif kind == "change_pin":  # OK on an empty challenge starts a PIN change (device mode)
            self.run(("on",))
            self.run(("pin", True))
            self.press("OK")
            self.new_pin(action[1])
        else:  # a power cut: save, reload from the file bytes (the card comes back off)
            loaded = type(self.card).from_image(
                decode_image(encode_image(self.card.to_image())), self.entropy
            )
            assert isinstance(loaded, DscPlus)
            assert loaded.to_image() == self.card.to_image()
            assert not loaded.powered and loaded.display == ""
            self.card = loaded


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card=cards(), script=actions)
def test_any_sequence_keeps_the_invariants(
    card: tuple[str, str, dict[str, Any]], script: list[tuple[Any, ...]]
) -> None:
    checker = Checker(*card)
    for action in script:
        checker.run(action)


@settings(max_examples=80, deadline=None)
@given(script=st.lists(st.one_of(macros, macros, presses), max_size=60))
def test_device_mode_security_flows(script: list[tuple[Any, ...]]) -> None:
    """Shipped defaults (3 PIN tries, 3 unlock tries, 30-minute block), weighted towards PINs,
    locks and unlocks so the retry and lock invariants meet every path."""
    checker = Checker("dscplus", "device", {})
    for action in script:
        checker.run(action)
