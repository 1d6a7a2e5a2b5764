"""DSC+ (and Gold/Platinum) keypad behaviour, screen by screen, as a user of the card sees it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from firmware_model.device import ImageSpec, Reaction
from firmware_model.dscplus import (
    DEVICE_SUITE,
    GOLD_SUITE,
    PLATINUM_SUITE,
    SOFT_SUITE,
    UNLOCK_SUITE,
    DscPlus,
    Gold,
    Platinum,
    State,
    unlock_code,
)
from firmware_model.errors import ImageError, UnknownButton
from firmware_model.events import (
    BatteryDead,
    BatteryLow,
    PinAccepted,
    PinLocked,
    PinRejected,
    PinSet,
    PowerOff,
    PowerOn,
    ResponseShown,
    UnlockBlocked,
    Unlocked,
    UnlockFailed,
)
from firmware_model.image import DeviceImage, decode_image, encode_image
from firmware_model.models import device_class, load_device, new_image
from firmware_model.ocra import ocra
from firmware_model.script import parse_script, run_script

Entropy = Callable[[int], bytes]
KEY = bytes.fromhex("3132333435363738393031323334353637383930")  # RFC 6287's 20-byte key


def make_image(
    entropy: Entropy,
    model: str = "dscplus",
    *,
    pin: str | None = None,
    pin_mode: str | None = None,
    suite: str | None = None,
    **options: object,
) -> DeviceImage:
    spec = ImageSpec(model, "DP0000000001", KEY, pin, pin_mode, suite, options)
    return new_image(spec, entropy)


def make(entropy: Entropy, model: str = "dscplus", **kwargs: object) -> DscPlus:
    device = load_device(make_image(entropy, model, **kwargs), entropy)  # type: ignore[arg-type]
    assert isinstance(device, DscPlus)
    return device


def reload(device: DscPlus, entropy: Entropy) -> DscPlus:
    """Save and load through the file format, as the emulator does."""
    loaded = load_device(decode_image(encode_image(device.to_image())), entropy)
    assert isinstance(loaded, DscPlus)
    return loaded


def keys(device: DscPlus, sequence: str, now: float = 0.0) -> Reaction:
    """Press space-separated buttons, each at `now`; digit runs are typed one digit at a time."""
    reaction = Reaction(device.display)
    for word in sequence.split():
        if word.isdigit():
            reaction = reaction.then(device.type_digits(word, now))
        else:
            reaction = reaction.then(device.press(word, now))
    return reaction


def screens(device: DscPlus, sequence: str, now: float = 0.0) -> list[str]:
    """The display after each single button press."""
    shown = []
    for word in sequence.split():
        for button in [*word] if word.isdigit() else [word]:
            shown.append(device.press(button, now).display)
    return shown


# --- soft PIN mode (the faithful DSC+) ---------------------------------------------------------


def test_soft_login_screens_and_response(entropy: Entropy) -> None:
    card = make(entropy)
    assert card.display == "" and not card.powered
    shown = screens(card, "POWER 1234 OK 123456")
    assert shown == [
        "PIN>",
        "PIN>*",
        "PIN>**",
        "PIN>***",
        "PIN>****",
        "CHALLNG>",
        "1",
        "12",
        "123",
        "1234",
        "12345",
        "123456",
    ]
    reaction = card.press("OK", 0)
    assert reaction.display == ocra(SOFT_SUITE, KEY, question="123456", pin="1234")
    assert len(reaction.display) == 8 and reaction.display.isdigit()
    assert ResponseShown() in reaction.events
    assert card.state is State.RESPONSE


@pytest.mark.parametrize(
    ("pin", "challenge"), [("0000", "000000"), ("9999", "999999"), ("4321", "009876")]
)
def test_soft_response_is_ocra_of_pin_and_challenge(
    entropy: Entropy, pin: str, challenge: str
) -> None:
    card = make(entropy)
    reaction = keys(card, f"POWER {pin} OK {challenge} OK")
    assert reaction.display == ocra(SOFT_SUITE, KEY, question=challenge, pin=pin)


def test_soft_card_cannot_tell_a_wrong_pin(entropy: Entropy) -> None:
    """Any PIN gives a response; only the host, which knows the PIN, can reject it."""
    first, second = make(entropy), make(entropy)
    good = keys(first, "POWER 1111 OK 123456 OK").display
    other = keys(second, "POWER 2222 OK 123456 OK").display
    assert good != other
    assert second.to_image().state == {"presses_used": 13}  # no failure counted anywhere


def test_back_erases_one_digit(entropy: Entropy) -> None:
    card = make(entropy)
    assert screens(card, "POWER 12 BACK BACK BACK 5") == [
        "PIN>",
        "PIN>*",
        "PIN>**",
        "PIN>*",
        "PIN>",
        "PIN>",
        "PIN>*",
    ]
    assert screens(card, "678 OK 12 BACK 3 BACK BACK BACK") == [
        "PIN>**",
        "PIN>***",
        "PIN>****",
        "CHALLNG>",
        "1",
        "12",
        "1",
        "13",
        "1",
        "CHALLNG>",
        "CHALLNG>",
    ]
    reaction = keys(card, "654321 OK")
    assert reaction.display == ocra(SOFT_SUITE, KEY, question="654321", pin="5678")


def test_ok_with_too_few_digits_does_nothing(entropy: Entropy) -> None:
    card = make(entropy)
    assert keys(card, "POWER OK").display == "PIN>"
    assert keys(card, "123 OK").display == "PIN>***"
    assert keys(card, "4 OK 12345 OK").display == "12345"
    assert card.state is State.CHALLENGE
    assert keys(card, "BACK BACK BACK BACK BACK OK").display == "CHALLNG>"  # soft: no PIN change


def test_extra_digits_are_ignored(entropy: Entropy) -> None:
    card = make(entropy)
    assert keys(card, "POWER 123456").display == "PIN>****"
    assert keys(card, "OK 98765432").display == "987654"
    assert keys(card, "OK").display == ocra(SOFT_SUITE, KEY, question="987654", pin="1234")


def test_auto_power_off_after_inactivity(entropy: Entropy) -> None:
    card = make(entropy)
    keys(card, "POWER 12", now=100)
    assert card.advance(129.9).display == "PIN>**"
    card.press("3", 129.9)  # a press restarts the inactivity timer
    assert card.advance(159.8).display == "PIN>***"
    reaction = card.advance(159.9)
    assert reaction.display == "" and not card.powered
    assert reaction.events == (PowerOff(),) and not reaction.persist
    assert keys(card, "POWER", now=200).display == "PIN>"  # the PIN typed before is gone


def test_auto_off_is_configurable(entropy: Entropy) -> None:
    card = make(entropy, auto_off_seconds=5)
    keys(card, "POWER")
    assert card.advance(4.9).display == "PIN>"
    assert card.advance(5).display == ""


def test_press_after_the_timeout_finds_the_card_off(entropy: Entropy) -> None:
    card = make(entropy)
    keys(card, "POWER 12")
    reaction = card.press("3", 31)
    assert reaction.display == "" and reaction.events == (PowerOff(),)
    assert not reaction.persist


def test_response_stays_then_the_card_turns_off(entropy: Entropy) -> None:
    card = make(entropy, response_seconds=10)
    response = keys(card, "POWER 1234 OK 123456 OK", now=0).display
    assert keys(card, "5 OK BACK", now=9).display == response  # keys do not change it
    assert card.advance(9.99).display == response
    assert card.advance(10).display == ""
    assert not card.powered


def test_response_hold_is_not_extended_by_presses(entropy: Entropy) -> None:
    card = make(entropy)  # response_seconds defaults to 30
    keys(card, "POWER 1234 OK 123456 OK", now=0)
    card.press("OK", 29)
    assert card.advance(30).display == ""


def test_keys_do_nothing_while_off(entropy: Entropy) -> None:
    card = make(entropy)
    for button in ["0", "9", "OK", "BACK"]:
        reaction = card.press(button, 0)
        assert reaction == Reaction("", False, ())
    assert card.to_image().state["presses_used"] == 0
    assert not card.powered


def test_power_while_on_turns_it_off(entropy: Entropy) -> None:
    card = make(entropy)
    keys(card, "POWER 1234 OK 12")
    reaction = card.press("POWER", 1)
    assert reaction.display == "" and reaction.events == (PowerOff(),)
    assert not card.powered
    assert keys(card, "POWER").display == "PIN>"


def test_time_never_goes_backwards(entropy: Entropy) -> None:
    card = make(entropy)
    keys(card, "POWER", now=1000)
    card.press("1", 10)  # read as 1000: the inactivity timer restarts at 1000, not 10
    assert card.advance(500).display == "PIN>*"
    assert card.advance(1029).display == "PIN>*"
    assert card.advance(1030).display == ""


def test_unknown_button_is_refused_and_changes_nothing(entropy: Entropy) -> None:
    card = make(entropy)
    keys(card, "POWER 12")
    before = card.to_image()
    for button in ["C", "ok", "", "10", "POWERR"]:
        with pytest.raises(UnknownButton):
            card.press(button, 0)
    assert card.display == "PIN>**"
    assert card.to_image() == before


def test_every_served_press_persists_and_counts_battery(entropy: Entropy) -> None:
    card = make(entropy)
    reaction = keys(card, "POWER 1234 OK")
    assert reaction.persist
    assert card.to_image().state == {"presses_used": 6}
    assert not card.advance(5).persist


def test_soft_image_with_pin_is_refused(entropy: Entropy) -> None:
    with pytest.raises(ValueError, match="soft-PIN card stores no PIN") as caught:
        make_image(entropy, pin="1234")
    assert "1234" not in str(caught.value)


def test_soft_image_contents(entropy: Entropy) -> None:
    image = make_image(entropy)
    assert image.model == "dscplus" and image.suite == SOFT_SUITE
    assert image.config == {
        "pin_mode": "soft",
        "auto_off_seconds": 30,
        "response_seconds": 30,
        "notice_seconds": 2,
        "battery_presses": 20000,
        "battery_low_presses": 1000,
    }
    assert image.state == {"presses_used": 0}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"auto_off_seconds": 0}, "auto_off_seconds"),
        ({"auto_off_seconds": -5}, "auto_off_seconds"),
        ({"auto_off_seconds": float("nan")}, "auto_off_seconds"),
        ({"auto_off_seconds": float("inf")}, "auto_off_seconds"),
        ({"auto_off_seconds": 10**400}, "auto_off_seconds"),  # no OverflowError
        ({"response_seconds": "30"}, "response_seconds"),
        ({"battery_presses": 10.5}, "battery_presses"),
        ({"battery_presses": True}, "battery_presses"),
        ({"battery_presses": 10, "battery_low_presses": 11}, "battery_low_presses"),
        ({"pin_retries": 3}, "only apply to pin_mode 'device'"),
        ({"colour": "red"}, "unknown DSC\\+ setting"),
        ({"pin_mode": "device"}, "not as an option"),
    ],
)
def test_bad_options_are_refused(
    entropy: Entropy, options: dict[str, object], message: str
) -> None:
    spec = ImageSpec("dscplus", "DP0000000001", KEY, options=options)
    with pytest.raises(ValueError, match=message):
        new_image(spec, entropy)


@pytest.mark.parametrize(
    ("pin_mode", "suite", "message"),
    [
        ("soft", "OCRA-1:HOTP-SHA1-8:QA06-PSHA1", "numeric challenge"),
        ("soft", "OCRA-1:HOTP-SHA1-8:QN10-PSHA1", "numeric challenge"),
        ("soft", "OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1", "no counter"),
        ("soft", "OCRA-1:HOTP-SHA1-8:QN06-PSHA1-T1M", "no counter"),
        ("soft", "OCRA-1:HOTP-SHA1-10:QN06-PSHA1", "fit the display"),
        ("soft", "OCRA-1:HOTP-SHA1-8:QN06", "needs P"),
        ("device", SOFT_SUITE, "no P"),
        ("soft", "OCRA-2:nonsense", "version"),
        ("device", UNLOCK_SUITE, "numeric challenge"),
    ],
)
def test_bad_suites_are_refused(entropy: Entropy, pin_mode: str, suite: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_image(entropy, pin_mode=pin_mode, suite=suite)


def test_custom_suite(entropy: Entropy) -> None:
    suite = "OCRA-1:HOTP-SHA256-6:QN08-PSHA256"
    card = make(entropy, suite=suite)
    reaction = keys(card, "POWER 1234 OK 12345678 OK")
    assert reaction.display == ocra(suite, KEY, question="12345678", pin="1234")


def test_bad_spec_is_refused(entropy: Entropy) -> None:
    with pytest.raises(ValueError, match="pin_mode"):
        make_image(entropy, pin_mode="hard")
    with pytest.raises(ValueError, match="needs a key"):
        new_image(ImageSpec("dscplus", "DP1", b""), entropy)
    with pytest.raises(ValueError, match="not 'dscplus'"):
        DscPlus.new_image(ImageSpec("gold", "GD1", KEY), entropy)


def test_image_round_trip_is_exact(entropy: Entropy) -> None:
    card = make(entropy)
    keys(card, "POWER 1234 OK 123456 OK")
    image = card.to_image()
    again = decode_image(encode_image(image))
    assert again == image
    loaded = load_device(again, entropy)
    assert not loaded.powered and loaded.to_image() == image


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "gold"}, "gold"),
        ({"config": {"pin_mode": "soft", "speed": 3}}, "unknown"),
        ({"config": {"pin_mode": "soft", "auto_off_seconds": -1}}, "auto_off"),
        ({"suite": None}, "no suite"),
        ({"suite": DEVICE_SUITE}, "needs P"),
        ({"state": {}}, "presses_used"),
        ({"state": {"presses_used": -1}}, "presses_used must be a whole number from 0"),
        ({"state": {"presses_used": True}}, "presses_used"),
    ],
)
def test_inconsistent_images_are_refused(
    entropy: Entropy, change: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "model": "dscplus",
        "serial": "DP0000000001",
        "key": KEY,
        "suite": SOFT_SUITE,
        "config": {"pin_mode": "soft"},
        "state": {"presses_used": 0},
    }
    fields.update(change)
    image = DeviceImage(**fields)  # type: ignore[arg-type]
    with pytest.raises(ImageError, match=message):
        DscPlus.from_image(image, entropy)


def test_registry_knows_the_three_models() -> None:
    assert device_class("dscplus") is DscPlus
    assert device_class("gold") is Gold
    assert device_class("platinum") is Platinum


def test_status_shows_indicators_only(entropy: Entropy) -> None:
    card = make(entropy)
    keys(card, "POWER 1234")
    status = card.status()
    assert status == {
        "model": "dscplus",
        "powered": True,
        "display": "PIN>****",
        "state": "pin",
        "pin_mode": "soft",
        "battery": "ok",
        "battery_presses_left": 19995,
        "locked": False,
    }


# --- device PIN mode (Vasco DIGIPASS style) ---------------------------------------------------


def device_card(entropy: Entropy, model: str = "dscplus", **options: object) -> DscPlus:
    pin_mode = "device" if model == "dscplus" else None
    return make(entropy, model, pin="2468", pin_mode=pin_mode, **options)


def lock(card: DscPlus, now: float = 0.0) -> str:
    """Enter wrong PINs until the card locks; return the lock number it shows."""
    keys(card, "POWER", now)
    while card.state is not State.LOCKED:
        keys(card, "1111 OK", now)
        if card.state is State.NOTICE:
            keys(card, "OK", now)
    assert card.display == "LOCK PIN"
    shown = card.press("OK", now).display
    assert shown.startswith("L") and len(shown) == 8 and shown[1:].isdigit()
    return shown[1:]


def test_device_mode_login(entropy: Entropy) -> None:
    card = device_card(entropy)
    assert screens(card, "POWER 2468 OK") == [
        "PIN>",
        "PIN>*",
        "PIN>**",
        "PIN>***",
        "PIN>****",
        "CHALLNG>",
    ]
    reaction = keys(card, "135790 OK")
    assert reaction.display == ocra(DEVICE_SUITE, KEY, question="135790")


def test_device_image_keeps_a_salted_hash_never_the_pin(entropy: Entropy) -> None:
    image = make_image(entropy, pin="2468", pin_mode="device")
    assert image.suite == DEVICE_SUITE
    state = image.state
    pin = state["pin"]
    assert len(bytes.fromhex(pin["secret_salt"])) == 16
    assert len(bytes.fromhex(pin["secret_hash"])) == 32
    assert "2468" not in encode_image(image).decode()
    assert state["failures"] == 0 and state["locked"] is False
    summary = json.dumps(image.summary())
    assert pin["secret_hash"] not in summary and pin["secret_salt"] not in summary
    assert "pin" not in image.summary()["state"]
    other = make_image(entropy, pin="2468", pin_mode="device")
    assert other.state["pin"]["secret_salt"] != pin["secret_salt"]  # a fresh salt
    assert other.state["pin"]["secret_hash"] != pin["secret_hash"]


@pytest.mark.parametrize("pin", ["123", "12345", "12a4", "", "\uff11\uff12\uff13\uff14"])
def test_device_pin_must_be_four_digits(entropy: Entropy, pin: str) -> None:
    with pytest.raises(ValueError, match="4 digits") as caught:
        make_image(entropy, pin=pin, pin_mode="device")
    if pin:
        assert pin not in str(caught.value)


def test_wrong_pin_shows_fail_n_then_pin(entropy: Entropy) -> None:
    card = device_card(entropy)
    reaction = keys(card, "POWER 1111 OK", now=0)
    assert reaction.display == "FAIL 1"
    assert reaction.events == (PowerOn(), PinRejected(1))
    assert card.advance(1.9).display == "FAIL 1"
    assert card.advance(2).display == "PIN>"
    assert keys(card, "1112 OK", now=3).display == "FAIL 2"
    assert keys(card, "OK", now=3).display == "PIN>"  # OK dismisses the notice


def test_a_digit_dismisses_a_notice_and_is_typed(entropy: Entropy) -> None:
    card = device_card(entropy)
    keys(card, "POWER 1111 OK")
    assert card.press("2", 0).display == "PIN>*"
    assert keys(card, "468 OK").display == "CHALLNG>"


def test_failure_is_counted_and_persisted_before_the_result(entropy: Entropy) -> None:
    card = device_card(entropy)
    keys(card, "POWER 1111")
    reaction = card.press("OK", 0)
    assert reaction.persist and reaction.display == "FAIL 1"
    assert card.to_image().state["failures"] == 1


def test_right_pin_resets_the_failure_counter(entropy: Entropy) -> None:
    card = device_card(entropy)
    keys(card, "POWER 1111 OK OK 2222 OK OK")
    assert card.to_image().state["failures"] == 2
    reaction = keys(card, "2468 OK")
    assert reaction.display == "CHALLNG>" and PinAccepted() in reaction.events
    assert card.to_image().state["failures"] == 0


def test_power_cycling_never_resets_the_retry_counter(entropy: Entropy) -> None:
    card = device_card(entropy)
    keys(card, "POWER 1111 OK POWER")
    keys(card, "POWER 1111 OK POWER")
    card = reload(card, entropy)
    assert keys(card, "POWER 1111 OK").display == "LOCK PIN"


def test_lock_after_the_configured_number_of_failures(entropy: Entropy) -> None:
    card = device_card(entropy, pin_retries=5)
    for n in range(1, 5):
        assert keys(card, ("POWER " if n == 1 else "") + "9999 OK").display == f"FAIL {n}"
        keys(card, "OK")
    reaction = keys(card, "9999 OK")
    assert reaction.display == "LOCK PIN"
    assert reaction.events == (PinRejected(5), PinLocked())
    state = card.to_image().state
    assert state["locked"] is True and len(state["lock_number"]) == 7
    assert card.status()["locked"] is True


def test_lock_survives_power_cycle_and_image_round_trip(entropy: Entropy) -> None:
    card = device_card(entropy)
    number = lock(card)
    keys(card, "POWER")
    assert keys(card, "POWER").display == "LOCK PIN"
    card = reload(card, entropy)
    assert not card.powered
    assert keys(card, "POWER 2468 OK").display == f"L{number}"  # digits do nothing when locked
    assert keys(card, "POWER POWER").display == "LOCK PIN"


def test_unlock_with_the_unlock_code_then_new_pin(entropy: Entropy) -> None:
    card = device_card(entropy)
    number = lock(card)
    code = unlock_code(KEY, number)
    assert keys(card, "OK").display == "UNLOCK>"
    assert screens(card, f"{code[:3]} BACK") == [code[:1], code[:2], code[:3], code[:2]]
    assert keys(card, f"{code[2:]} OK").display == "NEW PIN"
    assert screens(card, "1357 OK 1357") == [
        "NEW>*",
        "NEW>**",
        "NEW>***",
        "NEW>****",
        "PIN CONF",
        "CNF>*",
        "CNF>**",
        "CNF>***",
        "CNF>****",
    ]
    reaction = card.press("OK", 0)
    assert reaction.display == "PIN SET" and reaction.persist
    assert reaction.events == (Unlocked(), PinSet())
    state = card.to_image().state
    assert state["locked"] is False and state["lock_number"] is None
    assert state["failures"] == 0 and state["unlock_failures"] == 0
    assert card.advance(2).display == "CHALLNG>"
    card = reload(card, entropy)
    assert keys(card, "POWER 2468 OK").display == "FAIL 1"  # the old PIN is gone
    assert keys(card, "OK 1357 OK").display == "CHALLNG>"


def test_unlock_is_not_final_until_the_new_pin_is_confirmed(entropy: Entropy) -> None:
    card = device_card(entropy)
    number = lock(card)
    keys(card, f"OK {unlock_code(KEY, number)} OK 1357 POWER")
    card = reload(card, entropy)
    assert keys(card, "POWER").display == "LOCK PIN"
    assert keys(card, "OK").display == f"L{number}"  # same number: the same code still works
    assert keys(card, f"OK {unlock_code(KEY, number)} OK").display == "NEW PIN"


def test_new_pin_mismatch_goes_back_to_new_pin(entropy: Entropy) -> None:
    card = device_card(entropy)
    number = lock(card)
    keys(card, f"OK {unlock_code(KEY, number)} OK")
    assert keys(card, "1357 OK 1358 OK").display == "NEW PIN"
    assert card.to_image().state["locked"] is True
    assert keys(card, "1234 OK BACK").display == "NEW PIN"  # BACK on empty PIN CONF
    assert keys(card, "1234 OK 1234 OK").display == "PIN SET"


def test_wrong_unlock_codes_block_entry_for_30_minutes(entropy: Entropy) -> None:
    card = device_card(entropy)
    number = lock(card, now=0)
    code = unlock_code(KEY, number)
    wrong = "00000000" if code != "00000000" else "11111111"
    for n in (1, 2):
        reaction = keys(card, f"OK {wrong} OK", now=0)
        assert reaction.display == f"FAIL {n}" and reaction.events == (UnlockFailed(),)
        assert card.to_image().state["unlock_failures"] == n
        assert keys(card, "OK OK", now=0).display == f"L{number}"
    reaction = keys(card, f"OK {wrong} OK", now=0)
    assert reaction.display == "FAIL 3" and reaction.events == (UnlockFailed(), UnlockBlocked())
    assert card.to_image().state["unlock_blocked_until"] == 1800
    assert keys(card, "OK", now=0).display == "LOCK PIN"
    assert keys(card, "OK", now=0).display == "WAIT 30M"
    assert card.status()["unlock_blocked"] is True
    # Power-cycling and reloading do not lift the block.
    card = reload(card, entropy)
    assert keys(card, "POWER OK", now=1000).display == "WAIT 14M"
    assert keys(card, "POWER OK", now=1799).display == "WAIT  1M"  # auto-off came before
    assert keys(card, "POWER POWER OK", now=1800).display == f"L{number}"
    assert keys(card, f"OK {code} OK", now=1800).display == "NEW PIN"


def test_unlock_block_time_is_configurable(entropy: Entropy) -> None:
    card = device_card(entropy, unlock_retries=1, unlock_block_seconds=60)
    number = lock(card)
    wrong = "00000000" if unlock_code(KEY, number) != "00000000" else "11111111"
    assert keys(card, f"OK {wrong} OK OK OK").display == "WAIT  1M"
    assert keys(card, "POWER OK", now=60).display == f"L{number}"


def test_unlock_code_needs_all_digits(entropy: Entropy) -> None:
    card = device_card(entropy)
    number = lock(card)
    assert keys(card, "OK 1234567 OK").display == "1234567"
    assert card.to_image().state["unlock_failures"] == 0
    assert keys(card, "BACK BACK BACK BACK BACK BACK BACK").display == "UNLOCK>"
    assert keys(card, "BACK").display == "UNLOCK>"
    assert number  # the lock number is unchanged by entry
    assert card.to_image().state["lock_number"] == number


def test_unlock_code_function() -> None:
    code = unlock_code(KEY, "1234567")
    assert code == ocra(UNLOCK_SUITE, KEY, question="L1234567")
    assert len(code) == 8 and code.isdigit()
    assert unlock_code(KEY, "1234567") == code
    assert unlock_code(KEY, "1234568") != code
    assert unlock_code(KEY[:-1] + b"1", "1234567") != code
    for bad in ["123456", "12345678", "12a4567", ""]:
        with pytest.raises(ValueError, match="7 digits"):
            unlock_code(KEY, bad)


def test_pin_change_on_an_unlocked_card(entropy: Entropy) -> None:
    card = device_card(entropy)
    keys(card, "POWER 2468 OK")
    assert keys(card, "OK").display == "NEW PIN"
    reaction = keys(card, "8642 OK 8642 OK")
    assert reaction.display == "PIN SET" and reaction.events == (PinSet(),)
    assert keys(card, "OK").display == "CHALLNG>"
    card = reload(card, entropy)
    assert keys(card, "POWER 2468 OK").display == "FAIL 1"
    assert keys(card, "OK 8642 OK 111111 OK").display == ocra(DEVICE_SUITE, KEY, question="111111")


def test_pin_change_can_be_cancelled(entropy: Entropy) -> None:
    card = device_card(entropy)
    keys(card, "POWER 2468 OK OK 12 BACK BACK")
    assert keys(card, "BACK").display == "CHALLNG>"
    keys(card, "OK 1357 POWER")  # or abandoned by power-off: the PIN stays
    assert keys(card, "POWER 2468 OK").display == "CHALLNG>"


def test_device_card_without_pin_asks_for_one_first(entropy: Entropy) -> None:
    card = make(entropy, pin_mode="device")
    assert card.to_image().state["pin"] is None
    assert keys(card, "POWER").display == "NEW PIN"
    assert keys(card, "BACK").display == "NEW PIN"  # nothing to cancel to
    assert keys(card, "5555 OK 5555 OK").display == "PIN SET"
    assert keys(card, "POWER POWER 5555 OK").display == "CHALLNG>"


def test_device_status_has_lock_indicators_and_no_secrets(entropy: Entropy) -> None:
    card = device_card(entropy)
    keys(card, "POWER 1111 OK")
    status = card.status()
    assert status["pin_failures"] == 1 and status["pin_set"] is True
    assert status["locked"] is False and status["unlock_blocked"] is False
    state = card.to_image().state
    text = json.dumps(status)
    assert state["pin"]["secret_hash"] not in text and state["pin"]["secret_salt"] not in text
    assert KEY.hex() not in text


@pytest.mark.parametrize(
    ("state_change", "message"),
    [
        ({"failures": 4}, "failures must be a whole number from 0 to 3"),
        ({"locked": True}, "lock state"),
        ({"lock_number": "123"}, "lock state"),
        ({"pin": {"secret_salt": "00", "secret_hash": "zz"}}, "PIN hash is malformed"),
        ({"pin": "2468"}, "PIN hash is malformed"),
        ({"unlock_blocked_until": "soon"}, "unlock_blocked_until"),
        ({"unlock_blocked_until": 10**400}, "unlock_blocked_until"),  # no OverflowError
        ({"unlock_blocked_until": float("nan")}, "unlock_blocked_until"),
        ({"locked": 1}, "locked"),
    ],
)
def test_inconsistent_device_state_is_refused(
    entropy: Entropy, state_change: dict[str, object], message: str
) -> None:
    image = make_image(entropy, pin="2468", pin_mode="device")
    broken = image.with_state({**image.state, **state_change})
    with pytest.raises(ImageError, match=message):
        DscPlus.from_image(broken, entropy)


# --- battery -----------------------------------------------------------------------------------


def test_battery_low_notice_at_power_on(entropy: Entropy) -> None:
    card = make(entropy, battery_presses=30, battery_low_presses=20)
    keys(card, "POWER POWER POWER POWER POWER POWER POWER POWER POWER POWER")  # 10 used
    assert card.status()["battery"] == "ok"
    reaction = card.press("POWER", 0)  # 11 used, 19 left < 20
    assert reaction.display == "BATT LOW" and reaction.events == (PowerOn(), BatteryLow())
    assert card.advance(2).display == "PIN>"
    keys(card, "POWER")
    assert keys(card, "POWER", now=3).display == "BATT LOW"
    assert card.press("7", 3).display == "PIN>*"  # a digit dismisses it and is typed
    assert card.status()["battery"] == "low"


def test_battery_dead_after_the_budget(entropy: Entropy) -> None:
    card = make(entropy, battery_presses=14, battery_low_presses=0)
    response = keys(card, "POWER 1234 OK 123456 OK").display
    assert len(response) == 8
    keys(card, "POWER")  # the 14th press: the last one served
    reaction = card.press("POWER", 0)
    assert reaction.display == "" and reaction.events == (BatteryDead(),)
    assert not card.powered and card.status()["battery"] == "dead"
    for button in ["POWER", "1", "OK"]:
        assert card.press(button, 1) == Reaction("", False, ())
    card = reload(card, entropy)
    assert keys(card, "POWER 1234").display == "" and card.state is State.DEAD


def test_battery_runs_out_in_the_middle_of_a_login(entropy: Entropy) -> None:
    card = make(entropy, battery_presses=5, battery_low_presses=0)
    assert keys(card, "POWER 1234").display == "PIN>****"
    assert keys(card, "OK").display == ""
    assert card.to_image().state == {"presses_used": 5}


# --- Gold and Platinum (our model: PIN-checking challenge/response cards) ----------------------


def test_gold_is_a_device_pin_card(entropy: Entropy) -> None:
    image = make_image(entropy, "gold", pin="2468")
    assert image.model == "gold" and image.suite == GOLD_SUITE
    assert image.config["pin_mode"] == "device"
    card = load_device(image, entropy)
    assert isinstance(card, Gold)
    assert isinstance(card, DscPlus)
    assert keys(card, "POWER 2468 OK 123456 OK").display == ocra(GOLD_SUITE, KEY, question="123456")


@pytest.mark.parametrize("model", ["gold", "platinum"])
def test_legacy_cards_refuse_soft_pin(entropy: Entropy, model: str) -> None:
    with pytest.raises(ValueError, match="pin_mode must be 'device'"):
        make_image(entropy, model, pin_mode="soft")
    soft = make_image(entropy)
    foreign = DeviceImage(model, "GD1", KEY, SOFT_SUITE, soft.config, soft.state)
    with pytest.raises(ImageError, match="pin_mode"):
        device_class(model).from_image(foreign, entropy)


def test_platinum_takes_an_eight_digit_challenge(entropy: Entropy) -> None:
    card = make(entropy, "platinum", pin="2468")
    assert isinstance(card, Platinum) and card.to_image().suite == PLATINUM_SUITE
    assert keys(card, "POWER 2468 OK 1234567 OK").display == "1234567"
    assert keys(card, "89").display == "12345678"  # the 9th digit is ignored
    assert keys(card, "OK").display == ocra(PLATINUM_SUITE, KEY, question="12345678")


@pytest.mark.parametrize("model", ["gold", "platinum"])
def test_legacy_cards_lock_and_unlock_like_the_dscplus(entropy: Entropy, model: str) -> None:
    card = device_card(entropy, model)
    number = lock(card)
    card = reload(card, entropy)
    assert card.model == model
    keys(card, "POWER OK")
    assert keys(card, f"OK {unlock_code(KEY, number)} OK 1111 OK 1111 OK OK").display == (
        "CHALLNG>"
    )


# --- the firmware engineer's story, as a keypress script -----------------------------------------


class _InProcess:
    """The smallest ScriptTarget: a card and a clock (the emulator's session adds image saves)."""

    def __init__(self, card: DscPlus) -> None:
        self.card, self.now = card, 1_700_000_000.0

    def press(self, button: str) -> None:
        self.card.press(button, self.now)

    def hold(self, button: str, seconds: float) -> None:
        self.card.hold(button, seconds, self.now)
        self.now += seconds

    def type_digits(self, digits: str) -> None:
        self.card.type_digits(digits, self.now)

    def wait(self, seconds: float) -> None:
        self.now += seconds
        self.card.advance(self.now)

    def read_display(self) -> str:
        return self.card.display


LOCK_SCRIPT = """
# Three wrong PINs lock the card; power-cycling does not reset the counter.
press POWER
type 1111
press OK
expect "FAIL 1"
press POWER
press POWER
expect "PIN>"
type 1111
press OK
expect "FAIL 2"
wait 40                 # auto power-off
press POWER
type 1111
press OK
expect "LOCK PIN"
press OK
expect /L[0-9]{7}/
capture LOCKNO
"""


def test_lock_story_as_a_keypress_script(entropy: Entropy) -> None:
    card = device_card(entropy)
    result = run_script(parse_script(LOCK_SCRIPT), _InProcess(card))
    assert result.passed, result.failures
    assert result.captures["LOCKNO"] == "L" + card.to_image().state["lock_number"]
