"""The model registry: the seed's facts per model, and every layer reading the same profile."""

from __future__ import annotations

import os
import string

import pytest

from emulator.tui.faceplates import CARD_LAYOUTS, FACEPLATES, CardFaceplate
from firmware_model.device import ImageSpec
from firmware_model.models import (
    MODEL_NAMES,
    PROFILES,
    SERIAL_DIGITS,
    UNLIMITED,
    ChallengeKind,
    FaceKind,
    FaceplateHint,
    ModelProfile,
    PinCharset,
    PinRule,
    WithdrawalLimits,
    device_class,
    make_serial,
    new_image,
    pin_rule_of,
    profile,
    short_name,
)

KEY = bytes(20)

# The seed's withdrawal table (KB2895), in whole USD per business day / per five business days.
SEED_LIMITS = {
    "scc": (200_000, 600_000),
    "ibkey": (1_000_000, 1_000_000),
    "dsc": (1_000_000, 1_500_000),
    "dscplus": (None, None),
    "gold": (None, None),
    "platinum": (None, None),
    "sms": (200_000, 600_000),
}

# Device type codes seen in the broker's login protocol (DESIGN.md).
SEED_TYPE_CODES = {
    "scc": ("3",),
    "dsc": ("4.1",),
    "sms": ("4.2",),
    "gold": ("5",),
    "platinum": ("5",),
    "dscplus": ("5.1",),
    "ibkey": ("5.2a", "5.2i"),
}


def test_the_emulated_models_are_the_six_of_the_design_and_the_older_dscplus() -> None:
    # DESIGN.md: "An older generation showed `Pn`/`Ch`": a DSC+ model of its own.
    assert set(MODEL_NAMES) == {
        "dscplus", "dscplus_classic", "scc", "dsc", "gold", "platinum", "ibkey"
    }  # fmt: skip
    assert set(PROFILES) == {*MODEL_NAMES, "online_scc", "sms", "temporary"}


@pytest.mark.parametrize(("model", "caps"), sorted(SEED_LIMITS.items()))
def test_default_withdrawal_limits_are_the_seeds(
    model: str, caps: tuple[int | None, int | None]
) -> None:
    limits = profile(model).limits
    assert (limits.per_day_usd, limits.per_five_days_usd) == caps
    assert limits.unlimited is (caps == (None, None))


@pytest.mark.parametrize(("model", "codes"), sorted(SEED_TYPE_CODES.items()))
def test_device_type_codes_are_the_brokers(model: str, codes: tuple[str, ...]) -> None:
    assert profile(model).type_codes == codes


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_each_emulated_model_loads_its_own_device_class(model: str) -> None:
    cls = device_class(model)
    assert cls.model == model
    assert profile(model).emulated


@pytest.mark.parametrize("model", ["sms", "temporary", "online_scc", "none", "DSCPLUS"])
def test_kinds_without_firmware_of_their_own_have_no_device_class(model: str) -> None:
    with pytest.raises(ValueError, match="unknown model"):
        device_class(model)


def test_an_online_scc_is_an_scc_image_that_is_temporary() -> None:
    online = profile("online_scc")
    assert online.image_model == "scc"
    assert online.device_class() is device_class("scc")
    assert online.temporary and not online.physical
    assert online.challenge is ChallengeKind.SCC_CELLS


def test_a_kind_without_firmware_says_so() -> None:
    with pytest.raises(ValueError, match="no device to emulate"):
        profile("sms").device_class()


def test_an_unknown_model_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'nokia'.*dscplus"):
        profile("nokia")


@pytest.mark.parametrize("model", [m for m in PROFILES if PROFILES[m].serial_prefix is not None])
def test_serials_carry_the_models_prefix_and_ten_digits(model: str) -> None:
    serial = make_serial(model, os.urandom)
    prefix = profile(model).serial_prefix
    assert prefix is not None and serial.startswith(prefix)
    assert len(serial) == len(prefix) + SERIAL_DIGITS and serial[len(prefix) :].isdigit()


def test_a_temporary_code_has_no_serial_of_its_own() -> None:
    with pytest.raises(ValueError, match="no serial"):
        make_serial("temporary", os.urandom)


def test_emulated_models_have_distinct_serial_prefixes() -> None:
    prefixes = [profile(m).serial_prefix for m in MODEL_NAMES]
    assert len(set(prefixes)) == len(prefixes)


def test_challenge_kinds_keep_the_hosts_stored_names() -> None:
    assert {m: profile(m).challenge.value for m in PROFILES} == {
        "dscplus": "ocra", "dscplus_classic": "ocra", "gold": "ocra", "platinum": "ocra",
        "ibkey": "ocra",
        "scc": "scc", "online_scc": "scc", "dsc": "time", "sms": "sms", "temporary": "none",
    }  # fmt: skip


# --- PIN rules: the registry's rule is the one the firmware applies ------------------------------


@pytest.mark.parametrize("model", ["dscplus", "dsc"])
def test_card_pins_are_four_digits_and_the_firmware_agrees(model: str) -> None:
    rule = pin_rule_of(model)
    assert (rule.min_length, rule.max_length, rule.charset) == (4, 4, PinCharset.DIGITS)
    pin_mode = "device" if model == "dscplus" else None
    for pin in ("1234", "0000"):
        new_image(ImageSpec(model, "X1", KEY, pin=pin, pin_mode=pin_mode), os.urandom)
    for bad in ("123", "12345", "12a4"):
        with pytest.raises(ValueError, match="4 digits") as caught:
            new_image(ImageSpec(model, "X1", KEY, pin=bad, pin_mode=pin_mode), os.urandom)
        assert bad not in str(caught.value)


def test_the_ib_key_pin_is_four_to_six_printable_characters_and_the_app_agrees() -> None:
    from firmware_model.ibkey import check_pin_rules

    rule = pin_rule_of("ibkey")
    assert (rule.min_length, rule.max_length) == (4, 6)
    for pin in ("1234", "a!B2c?", "zzzz"):
        assert rule.allows(pin) and check_pin_rules(pin) == pin
    for bad in ("abc", "abcdefg", "abc d", "abcé"):
        assert not rule.allows(bad)
        with pytest.raises(ValueError, match="4 to 6 letters, digits or specials") as caught:
            check_pin_rules(bad)
        assert bad not in str(caught.value)


def test_a_pin_rule_describes_itself_without_the_pin() -> None:
    rule = PinRule(4, 6, PinCharset.PRINTABLE)
    assert rule.describe() == "4 to 6 letters, digits or specials"
    assert PinRule(4, 4, PinCharset.DIGITS).describe() == "4 digits"
    with pytest.raises(ValueError, match="the card PIN must be 4 digits"):
        PinRule(4, 4, PinCharset.DIGITS).check(12345, "card")
    assert set(PinCharset.PRINTABLE.value) == set(string.printable.strip()) - set(string.whitespace)


@pytest.mark.parametrize("model", ["scc", "sms", "online_scc", "temporary"])
def test_models_without_a_pin_say_so(model: str) -> None:
    assert profile(model).pin_rule is None
    with pytest.raises(ValueError, match="takes no PIN"):
        pin_rule_of(model)


# --- validation of the records themselves ---------------------------------------------------------


def test_records_are_validated_when_made() -> None:
    with pytest.raises(ValueError, match="min_length"):
        PinRule(5, 4, PinCharset.DIGITS)
    with pytest.raises(ValueError, match="non-negative"):
        WithdrawalLimits(-1, None)
    with pytest.raises(ValueError, match="non-negative"):
        WithdrawalLimits(True, None)  # a bool is not an amount
    good = profile("dscplus")
    fields = {name: getattr(good, name) for name in ModelProfile.__dataclass_fields__}
    for change, message in (
        ({"name": "dsc plus"}, "bad model name"),
        ({"serial_prefix": "dp"}, "two capital letters"),
        ({"firmware": None}, "image_model and firmware go together"),
        ({"challenge": "ocra"}, "ChallengeKind"),
        ({"limits": (None, None)}, "WithdrawalLimits"),
        ({"pin_rule": "4 digits"}, "PinRule"),
    ):
        with pytest.raises(ValueError, match=message):
            ModelProfile(**{**fields, **change})
    with pytest.raises(ValueError, match="FaceKind"):
        FaceplateHint("card", "DSC+")  # type: ignore[arg-type]
    assert UNLIMITED.unlimited


# --- every layer reads the registry ---------------------------------------------------------------


def test_short_names_come_from_the_registry_and_fall_back_to_the_name() -> None:
    assert [short_name(m) for m in ("dscplus", "ibkey", "online_scc", "none")] == [
        "DSC+", "IB Key", "Online SCC", "none",
    ]  # fmt: skip


def test_every_emulated_model_has_a_faceplate_chosen_by_its_hint() -> None:
    assert set(FACEPLATES) >= set(MODEL_NAMES)
    assert set(FACEPLATES) - set(MODEL_NAMES) == {"online_scc"}  # an SCC image, drawn as one
    for name, layout in CARD_LAYOUTS.items():
        assert FACEPLATES[name] is CardFaceplate
        assert layout.title == profile(name).faceplate.title
    legacy = [n for n in CARD_LAYOUTS if profile(n).faceplate.kind is FaceKind.LEGACY_CARD]
    assert legacy == ["dsc"] and "C" in CARD_LAYOUTS["dsc"].keypad[-1]
