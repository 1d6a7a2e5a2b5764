"""The older DSC+ generation (`dscplus_classic`), from the words that describe it.

DESIGN.md: "An older generation showed `Pn`/`Ch` and the 8 digits as 5 then 3, toggling every
10 s or on OK." The seed's KB2634 ("Operating your Digital Security Card+") describes the same
steps on the current card: "pressing the “press” button until the 'PIN>' display appears, enter
the 4-digit PIN code [...] and press the “OK” button", then "Enter the 6-digit Challenge Code [...]
when the 'CHALLNG>' display appears, press the “OK” button and a response code will appear", and
"Enter the 8 digits of the response code". The classic card takes the same steps with its own
prompts, and its 8 digits are the DSC+'s.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_model.device import CARD_BUTTONS, ImageSpec
from firmware_model.dscplus import SOFT_SUITE, DscPlus, State
from firmware_model.dscplus_classic import (
    TOGGLE_SECONDS,
    TRANSITIONS,
    DscPlusClassic,
    response_parts,
)
from firmware_model.errors import ImageError
from firmware_model.events import BatteryDead, ResponseShown
from firmware_model.fsm import TIMEOUT, kind_of
from firmware_model.models import load_device, new_image, profile
from firmware_model.ocra import ocra
from tests.fsm_check import after_wait, assert_move

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
PIN = "1234"
T0 = 1_700_000_000.0


def classic(**options: Any) -> DscPlusClassic:
    image = new_image(
        ImageSpec("dscplus_classic", "DC0000000001", KEY, options=options), os.urandom
    )
    card = load_device(image, os.urandom)
    assert isinstance(card, DscPlusClassic)
    return card


def login(card: DscPlus, challenge: str = "123456", now: float = T0) -> str:
    """KB2634's steps 2 and 3: press, PIN, OK, challenge, OK; the display after them."""
    card.press("POWER", now)
    card.type_digits(PIN, now)
    card.press("OK", now)
    card.type_digits(challenge, now)
    return card.press("OK", now).display


# --- the words ------------------------------------------------------------------------------------


def test_it_shows_pn_then_ch_where_the_dscplus_shows_pin_and_challng() -> None:
    card = classic()
    assert card.press("POWER", T0).display == "Pn"  # "showed `Pn`/`Ch`"
    assert card.type_digits(PIN, T0).display == "Pn****"  # 4 digits, masked
    assert card.press("OK", T0).display == "Ch"
    assert card.type_digits("12", T0).display == "12"
    assert card.press("BACK", T0).display == "1"
    assert card.press("BACK", T0).display == "Ch"


def test_the_8_digits_show_as_5_then_3_and_are_the_dscpluss_response() -> None:
    code = ocra(SOFT_SUITE, KEY, question="123456", pin=PIN)  # the host's check, unchanged
    card = classic()
    first = login(card)
    assert (first, len(first)) == (code[:5], 5)  # "the 8 digits as 5 then 3"
    assert card.press("OK", T0).display == code[5:]
    assert response_parts(code) == (code[:5], code[5:])
    assert card.to_image().suite == SOFT_SUITE  # the same OCRA suite as a DSC+


def test_the_response_toggles_every_10_s() -> None:
    card = classic()
    first = login(card)
    last = response_parts(ocra(SOFT_SUITE, KEY, question="123456", pin=PIN))[1]
    assert card.advance(T0 + TOGGLE_SECONDS - 0.001).display == first
    assert card.advance(T0 + TOGGLE_SECONDS).display == last  # "toggling every 10 s"
    assert card.advance(T0 + 2 * TOGGLE_SECONDS).display == first
    assert card.advance(T0 + 2.5 * TOGGLE_SECONDS).display == first
    assert card.advance(T0 + 30).display == ""  # off 30 s after the response, as a DSC+


def test_ok_toggles_at_once_and_starts_a_fresh_10_s() -> None:
    card = classic()
    first = login(card)
    last = card.press("OK", T0 + 4).display  # "or on OK"
    assert last != first and len(last) == 3
    assert card.advance(T0 + 13.9).display == last  # 10 s from the OK, not from the response
    assert card.advance(T0 + 14).display == first
    assert card.press("OK", T0 + 15).display == last


def test_a_jump_of_the_clock_lands_on_the_right_part() -> None:
    card = classic(response_seconds=86_400)
    first = login(card)
    assert card.advance(T0 + 10 * 1001).display != first  # an odd number of 10 s steps
    assert card.advance(T0 + 10 * 2000).display == first


def test_the_response_hold_is_not_extended_by_ok() -> None:
    card = classic()
    login(card)
    card.press("OK", T0 + 29)
    assert card.advance(T0 + 30).display == ""


def test_it_is_a_dscplus_to_the_host() -> None:
    mine, dscplus = profile("dscplus_classic"), profile("dscplus")
    for field in ("challenge", "limits", "type_codes", "pin_rule", "physical", "temporary"):
        assert getattr(mine, field) == getattr(dscplus, field), field
    assert mine.serial_prefix == "DC" and mine.device_class() is DscPlusClassic


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"pin_mode": "device", "pin": PIN}, "pin_mode must be 'soft'"),
        ({"suite": "OCRA-1:HOTP-SHA1-6:QN06-PSHA1"}, "8-digit response"),
        ({"pin": PIN}, "stores no PIN"),
    ],
)
def test_a_bad_spec_is_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        new_image(ImageSpec("dscplus_classic", "DC1", KEY, **spec), os.urandom)


def test_an_image_whose_suite_does_not_give_8_digits_does_not_load() -> None:
    image = new_image(ImageSpec("dscplus_classic", "DC1", KEY), os.urandom)
    bad = dataclasses.replace(image, suite="OCRA-1:HOTP-SHA1-6:QN06-PSHA1")
    with pytest.raises(ImageError, match="inconsistent dscplus_classic image"):
        load_device(bad, os.urandom)


def test_a_dscplus_image_is_not_a_classic_one() -> None:
    image = new_image(ImageSpec("dscplus", "DP1", KEY), os.urandom)
    with pytest.raises(ImageError, match="not 'dscplus_classic'"):
        DscPlusClassic.from_image(image, os.urandom)


# --- property: any keys at any times; a twin DSC+ fed the same events agrees --------------------

steps = st.one_of(
    st.just(0.0),
    st.just(0.0),
    st.floats(min_value=0, max_value=12, allow_nan=False),
    st.sampled_from([9.999, 10.0, 20.0, 29.9, 30.0]),
    st.floats(min_value=0, max_value=5000, allow_nan=False),
)
events = st.lists(
    st.tuples(st.sampled_from([*sorted(CARD_BUTTONS), "OK", "OK", "advance"]), steps),
    max_size=80,
)
_PIN_FOR = {"PIN>": "Pn", "CHALLNG>": "Ch"}


@st.composite
def twins(draw: st.DrawFn) -> tuple[DscPlusClassic, DscPlus]:
    capacity = draw(st.integers(min_value=5, max_value=200) | st.just(20_000))
    options = {
        "battery_presses": capacity,
        "battery_low_presses": draw(st.integers(min_value=0, max_value=capacity)),
        "response_seconds": draw(st.sampled_from([1, 30, 600])),
        "auto_off_seconds": draw(st.sampled_from([1, 30])),
    }
    made = []
    for model, serial in (("dscplus_classic", "DC1"), ("dscplus", "DP1")):
        image = new_image(ImageSpec(model, serial, KEY, options=options), os.urandom)
        made.append(load_device(image, os.urandom))
    mine, twin = made
    assert isinstance(mine, DscPlusClassic) and isinstance(twin, DscPlus)
    return mine, twin


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cards=twins(), script=events)
def test_any_sequence_follows_the_table_and_shows_the_dscpluss_code(
    cards: tuple[DscPlusClassic, DscPlus], script: list[tuple[str, float]]
) -> None:
    card, twin = cards
    now = 0.0
    shown_at = math.inf  # when the shown part last changed by an OK or the response itself
    part = 0
    for button, step in script:
        now += step
        before = card.state
        if button == "advance":
            reaction, other = card.advance(now), twin.advance(now)
            assert_move(TRANSITIONS, before, (TIMEOUT,), card.state)
        else:
            reaction, other = card.press(button, now), twin.press(button, now)
            kind = "BATTERY" if BatteryDead() in reaction.events else kind_of(button)
            assert_move(TRANSITIONS, before, after_wait(step, kind), card.state)
        # Same card underneath: same state, same events, same durable state.
        assert card.state is twin.state and card.state in TRANSITIONS_STATES
        assert reaction.events == other.events and reaction.persist == other.persist
        assert card.to_image().state == twin.to_image().state
        assert reaction.display == card.display and len(card.display) <= 8
        if ResponseShown() in reaction.events:
            shown_at, part = now, 0
        elif card.state is State.RESPONSE and button == "OK" and before is State.RESPONSE:
            # The oracle: 10 s steps since the last change, then the OK's own toggle.
            part = (part + math.floor((now - shown_at) / TOGGLE_SECONDS) + 1) % 2
            shown_at = now
        if card.state is State.RESPONSE:
            parts = response_parts(twin.display)
            flips = math.floor((now - shown_at) / TOGGLE_SECONDS)
            assert card.display == parts[(part + flips) % 2]
        elif card.state in (State.PIN, State.CHALLENGE):
            shown = twin.display
            for current, old in _PIN_FOR.items():
                shown = shown.replace(current, old) if shown.startswith(current) else shown
            assert card.display == shown
        else:
            assert card.display == twin.display


TRANSITIONS_STATES = frozenset(
    state for (source, _), rule in TRANSITIONS.items() for state in (source, *rule.targets)
)
"""The states of the classic's table, as a source or a target (DEAD is only a target: the battery
ends there): a soft-PIN card never leaves them."""
