"""Legacy DSC: PIN on the card, masked entry, lock after wrong PINs, the 6-digit time passcode."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model.device import ImageSpec
from firmware_model.errors import ImageError, UnknownButton
from firmware_model.events import PinRejected
from firmware_model.fsm import DIGIT, TIMEOUT, Rule, kind_of
from firmware_model.hotp import totp
from firmware_model.image import DeviceImage, decode_image, encode_image
from firmware_model.legacy_dsc import (
    TRANSITIONS,
    DscState,
    LegacyDsc,
    masked_pin_field,
    passcode,
)
from firmware_model.models import load_device, new_image
from tests.fsm_check import after_wait, assert_move

Entropy = Callable[[int], bytes]
KEY = bytes.fromhex("3132333435363738393031323334353637383930")
T = 1_700_000_000  # a device clock in Unix seconds


def make_image(entropy: Entropy, **options: object) -> DeviceImage:
    spec = ImageSpec(model="dsc", serial="DS0000000001", key=KEY, pin="1234", options=options)
    return new_image(spec, entropy)


def make_card(entropy: Entropy, **options: object) -> LegacyDsc:
    device = load_device(make_image(entropy, **options), entropy)
    assert isinstance(device, LegacyDsc)
    return device


def reload(card: LegacyDsc, entropy: Entropy) -> LegacyDsc:
    """Save and load again, as after a power cut: the card comes back off."""
    return LegacyDsc.from_image(decode_image(encode_image(card.to_image())), entropy)


def enter_pin(card: LegacyDsc, pin: str, now: float) -> str:
    card.press("POWER", now)
    card.type_digits(pin, now)
    return card.press("OK", now).display


def test_passcode_is_totp_sha1_30s_6_digits() -> None:
    assert passcode(KEY, 59) == totp(KEY, 59, step=30, digits=6, algorithm="sha1")
    # RFC 6238 appendix B, T=59 with SHA-1 gives 94287082: the 6-digit truncation is 287082
    assert passcode(KEY, 59) == "287082"
    assert passcode(KEY, 1111111109) == "081804"


def test_masked_pin_field() -> None:
    assert [masked_pin_field(t) for t in ["", "1", "12", "123", "1234"]] == [
        "[ ]",
        "[1]",
        "[-2]",
        "[--3]",
        "[---4]",
    ]


def test_login_flow_shows_the_passcode(entropy: Entropy) -> None:
    card = make_card(entropy)
    assert card.press("1", T).display == ""  # keys do nothing while off
    assert card.press("POWER", T).display == "[ ]"
    assert card.press("1", T).display == "[1]"
    assert card.press("2", T).display == "[-2]"
    assert card.press("3", T).display == "[--3]"
    assert card.press("4", T).display == "[---4]"
    assert card.press("5", T).display == "[---4]"  # a fifth digit is ignored
    reaction = card.press("OK", T + 1)
    assert reaction.display == totp(KEY, T + 1, step=30, digits=6)
    assert reaction.persist
    assert card.state is DscState.SHOW
    assert card.pin_failures == 0


def test_passcode_shows_for_15_seconds_then_the_card_turns_off(entropy: Entropy) -> None:
    card = make_card(entropy)
    code = enter_pin(card, "1234", T)
    assert card.press("9", T + 5).display == code  # keys do not disturb the passcode
    assert card.press("C", T + 6).display == code
    assert card.advance(T + 14.9).display == code
    assert card.advance(T + 15).display == ""
    assert not card.powered


def test_show_time_is_configurable(entropy: Entropy) -> None:
    card = make_card(entropy, show_seconds=5)
    code = enter_pin(card, "1234", T)
    assert card.advance(T + 4).display == code
    assert card.advance(T + 5).display == ""


def test_auto_off_after_inactivity(entropy: Entropy) -> None:
    card = make_card(entropy)
    card.press("POWER", T)
    card.press("1", T + 20)
    assert card.advance(T + 49).display == "[1]"
    assert card.advance(T + 50).display == ""
    assert card.press("2", T + 51).display == ""


def test_short_pin_ok_does_nothing_and_c_clears(entropy: Entropy) -> None:
    card = make_card(entropy)
    card.press("POWER", T)
    card.type_digits("12", T)
    assert card.press("OK", T).display == "[-2]"
    assert card.press("C", T).display == "[ ]"
    card.type_digits("9", T)
    assert card.press("BACK", T).display == "[ ]"  # BACK is an alias of C
    assert card.pin_failures == 0


def test_wrong_pin_counts_and_locks(entropy: Entropy) -> None:
    card = make_card(entropy)
    reaction_display = enter_pin(card, "0000", T)
    assert reaction_display == "FAIL 1"
    assert card.pin_failures == 1
    # a digit starts the next try
    assert card.press("9", T).display == "[9]"
    assert card.press("C", T).display == "[ ]"
    card.type_digits("1111", T)
    reaction = card.press("OK", T)
    assert reaction.display == "FAIL 2" and reaction.persist
    assert reaction.events == (PinRejected(2),)
    card.press("OK", T)
    card.type_digits("2222", T)
    reaction = card.press("OK", T)
    assert reaction.display == "LOCKED" and reaction.persist
    assert card.locked
    # the right PIN no longer helps, even after power-cycling and reloading the image
    card.press("POWER", T)
    card = reload(card, entropy)
    assert card.press("POWER", T + 1).display == "LOCKED"
    card.type_digits("1234", T + 1)
    assert card.press("OK", T + 1).display == "LOCKED"
    assert card.status()["locked"] is True


def test_power_cycle_does_not_reset_the_failure_counter(entropy: Entropy) -> None:
    card = make_card(entropy)
    enter_pin(card, "9999", T)
    card.press("POWER", T)
    card = reload(card, entropy)
    assert card.pin_failures == 1
    assert enter_pin(card, "9999", T + 1) == "FAIL 2"


def test_right_pin_resets_the_counter(entropy: Entropy) -> None:
    card = make_card(entropy)
    enter_pin(card, "9999", T)
    card.press("POWER", T)
    assert enter_pin(card, "1234", T + 2) == passcode(KEY, T + 2)
    assert card.pin_failures == 0
    assert reload(card, entropy).pin_failures == 0


def test_retries_are_configurable(entropy: Entropy) -> None:
    card = make_card(entropy, pin_retries=1)
    assert enter_pin(card, "0000", T) == "LOCKED"


def test_unknown_button(entropy: Entropy) -> None:
    with pytest.raises(UnknownButton):
        make_card(entropy).press("APPROVE", T)


def test_image_holds_no_pin(entropy: Entropy) -> None:
    image = make_image(entropy)
    assert b"1234" not in encode_image(image).replace(KEY.hex().encode(), b"")
    summary = image.summary()
    assert "1234" not in str(summary)
    assert KEY.hex() not in str(summary)
    assert "pin" not in summary["state"]


@pytest.mark.parametrize(
    ("pin", "options", "message"),
    [
        (None, {}, "PIN"),
        ("123", {}, "PIN"),
        ("12a4", {}, "PIN"),
        ("1234", {"pin_retries": 0}, "pin_retries"),
        ("1234", {"show_seconds": "15"}, "show_seconds"),
        ("1234", {"beep": True}, "unknown"),
    ],
)
def test_new_image_refuses_bad_specs(
    entropy: Entropy, pin: str | None, options: dict[str, object], message: str
) -> None:
    spec = ImageSpec(model="dsc", serial="DS1", key=KEY, pin=pin, options=options)
    with pytest.raises(ValueError, match=message):
        LegacyDsc.new_image(spec, entropy)


def test_new_image_refuses_a_suite(entropy: Entropy) -> None:
    suite = "OCRA-1:HOTP-SHA1-6:QN06"
    spec = ImageSpec(model="dsc", serial="DS1", key=KEY, pin="1234", suite=suite)
    with pytest.raises(ValueError, match="suite"):
        LegacyDsc.new_image(spec, entropy)


def _edited(image: DeviceImage, **state: object) -> DeviceImage:
    return image.with_state({**image.state, **state})


@pytest.mark.parametrize(
    "change",
    [
        {"pin_failures": -1},
        {"pin_failures": 4},
        {"pin_failures": "1"},
        {"pin": {"secret_salt": "zz"}},
        {"extra": 1},
    ],
)
def test_inconsistent_images_are_refused(entropy: Entropy, change: dict[str, object]) -> None:
    with pytest.raises(ImageError):
        LegacyDsc.from_image(_edited(make_image(entropy), **change), entropy)


def test_image_with_bad_config_is_refused(entropy: Entropy) -> None:
    image = make_image(entropy)
    bad = DeviceImage("dsc", "DS1", KEY, None, {**image.config, "pin_retries": 0}, image.state)
    with pytest.raises(ImageError):
        LegacyDsc.from_image(bad, entropy)


BUTTONS = sorted(LegacyDsc.buttons)
# Mostly no time between presses (a person typing), sometimes past a timeout.
delays = st.one_of(st.just(0.0), st.just(0.0), st.floats(0, 100, allow_nan=False))
steps = st.lists(
    st.tuples(st.sampled_from([*BUTTONS, "WAIT", "TYPE_PIN", "TYPE_PIN"]), delays), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from(["1234", "0000"]))
def test_any_presses_at_any_times(presses: list[tuple[str, float]], typed_pin: str) -> None:
    """Any keys at any times: no exception, short display, failures never fall without a right
    PIN, and a right PIN is the only way to a passcode."""
    image = LegacyDsc.new_image(
        ImageSpec(model="dsc", serial="DS1", key=KEY, pin="1234"), lambda n: bytes(range(n))
    )
    card = LegacyDsc.from_image(image, lambda n: bytes(n))
    now = float(T)
    for button, delay in presses:
        now += delay
        before, state = card.pin_failures, card.state
        if button == "WAIT":
            reaction = card.advance(now)
            kinds: tuple[str, ...] = (TIMEOUT,)
        elif button == "TYPE_PIN":  # a whole PIN (right or wrong) then OK, to reach deep states
            reaction = card.advance(now)
            assert_move(TRANSITIONS, state, (TIMEOUT,), card.state)
            state, kinds = card.state, ()
            if not card.powered:
                reaction = reaction.then(card.press("POWER", now))
                kinds = ("POWER",)
            reaction = reaction.then(card.type_digits(typed_pin, now)).then(card.press("OK", now))
            kinds = (*kinds, DIGIT, DIGIT, DIGIT, DIGIT, "OK")
        else:
            reaction = card.press(button, now)
            kinds = after_wait(delay, kind_of(button))
        assert_move(TRANSITIONS, state, kinds, card.state)
        assert reaction.display == card.display
        assert len(card.display) <= 8
        if card.pin_failures < before:
            assert card.pin_failures == 0 and card.state is DscState.SHOW
        if card.pin_failures != before:
            assert reaction.persist
        assert card.pin_failures <= 3
        if card.state is DscState.SHOW:
            assert card.display.isdigit() and len(card.display) == 6
    again = LegacyDsc.from_image(card.to_image(), lambda n: bytes(n))
    assert again.pin_failures == card.pin_failures


def test_the_table_check_catches_a_move_the_table_does_not_list(entropy: Entropy) -> None:
    card = make_card(entropy)
    card.press("POWER", T)
    card.type_digits("9999", T)
    card.press("OK", T)
    assert card.state is DscState.FAIL
    assert_move(TRANSITIONS, DscState.PIN, (TIMEOUT, "OK"), card.state)
    fewer = dict(TRANSITIONS)
    fewer[(DscState.PIN, "OK")] = Rule(frozenset({DscState.PIN, DscState.SHOW}))
    with pytest.raises(AssertionError, match="PIN --TIMEOUT then OK--> FAIL"):
        assert_move(fewer, DscState.PIN, (TIMEOUT, "OK"), card.state)
