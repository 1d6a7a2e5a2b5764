"""The shared field kinds of device images (`firmware_model.image_fields`): what each accepts,
what it refuses, and that every refusal is one `FieldError` line that never echoes the value."""

from __future__ import annotations

import enum
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_model.errors import ImageError
from firmware_model.image_fields import (
    Choice,
    FieldError,
    Flag,
    HexBytes,
    IsoDate,
    Number,
    Optional,
    Text,
    Whole,
    check_fields,
    inconsistent,
)

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)


class Mode(enum.Enum):
    SOFT = "soft"
    DEVICE = "device"


@given(value=JSON_SCALARS)
def test_whole_takes_exactly_the_ints_in_range(value: object) -> None:
    kind = Whole(0, 99)
    fits = type(value) is int and 0 <= value <= 99
    if fits:
        assert kind.check(value, "n") == value
    else:
        with pytest.raises(FieldError, match=r"^n must be a whole number from 0 to 99$"):
            kind.check(value, "n")


@given(value=JSON_SCALARS)
def test_number_takes_finite_ints_and_floats_in_range(value: object) -> None:
    kind = Number(0.5, 60)
    fits = (
        type(value) in (int, float)
        and math.isfinite(value)  # type: ignore[arg-type]
        and 0.5 <= value <= 60  # type: ignore[operator]
    )
    if fits:
        assert kind.check(value, "t") == value
    else:
        with pytest.raises(FieldError, match=r"^t must be a number from 0.5 to 60$"):
            kind.check(value, "t")


def test_huge_json_integers_are_refused_without_overflow() -> None:
    with pytest.raises(FieldError):
        Number(0, 10).check(10**400, "t")
    with pytest.raises(FieldError):
        Whole(0, 10).check(-(10**400), "n")


@given(value=JSON_SCALARS)
def test_flag_takes_only_json_booleans(value: object) -> None:
    if isinstance(value, bool):
        assert Flag().check(value, "f") is value
    else:
        with pytest.raises(FieldError, match=r"^f must be true or false$"):
            Flag().check(value, "f")


def test_choice_matches_values_not_lookalikes() -> None:
    kind = Choice(Mode)
    assert kind.check("device", "mode") is Mode.DEVICE
    for bad in ("Device", "DEVICE", None, 1, ["soft"]):
        with pytest.raises(FieldError, match=r"^mode must be one of 'soft', 'device'$"):
            kind.check(bad, "mode")


@given(data=st.binary(max_size=40))
def test_hex_bytes_round_trip_and_size(data: bytes) -> None:
    kind = HexBytes(1, 32)
    if 1 <= len(data) <= 32:
        assert kind.check(data.hex(), "key") == data
        assert kind.check(data.hex().upper(), "key") == data
    else:
        with pytest.raises(FieldError, match=r"^key must be hex digits \(1 to 32 bytes\)$"):
            kind.check(data.hex(), "key")


def test_hex_bytes_refusals_never_echo_the_value() -> None:
    secret = "00112233445566778899aabbccddeeffzz"
    for bad in (secret, 12, None, "abc"):
        with pytest.raises(FieldError) as caught:
            HexBytes(20, 20).check(bad, "pin_hash")
        assert str(caught.value) == "pin_hash must be hex digits (20 bytes)"
        assert secret not in str(caught.value)


def test_text_is_a_whole_match() -> None:
    kind = Text(re.compile(r"[0-9]{3}"), "3 digits")
    assert kind.check("123", "code") == "123"
    for bad in ("123\n", "12", "1234", 123, None):
        with pytest.raises(FieldError, match=r"^code must be text matching 3 digits$"):
            kind.check(bad, "code")


@given(value=st.dates())
def test_iso_date_takes_calendar_dates(value: object) -> None:
    text = f"{value:%Y-%m-%d}" if value.year >= 1000 else None  # type: ignore[attr-defined]
    if text is not None:
        assert IsoDate().check(text, "valid_until") == text


def test_iso_date_refuses_other_spellings() -> None:
    for bad in ("2026-02-30", "2026-W01-1", "20260101", "2026-1-1", 20260101, None):
        with pytest.raises(FieldError, match=r"^valid_until must be an ISO date YYYY-MM-DD$"):
            IsoDate().check(bad, "valid_until")


def test_optional_passes_null_and_checks_the_rest() -> None:
    kind = Optional(Whole(1, 3))
    assert kind.check(None, "n") is None
    assert kind.check(2, "n") == 2
    with pytest.raises(FieldError, match=r"^n must be a whole number from 1 to 3$"):
        kind.check(0, "n")


def test_check_fields_names_unknown_then_missing() -> None:
    check_fields({"a": 1}, "state", allowed=("a", "b"), required=("a",))
    with pytest.raises(FieldError, match=r"^unknown state field\(s\) c, d$"):
        check_fields({"a": 1, "d": 2, "c": 3}, "state", allowed=("a",))
    with pytest.raises(FieldError, match=r"^missing state field\(s\) b$"):
        check_fields({"a": 1}, "state", allowed=("a", "b"), required=("a", "b"))


def test_inconsistent_is_the_one_image_message() -> None:
    error = inconsistent("dscplus", FieldError("failures must be a whole number from 0 to 3"))
    assert isinstance(error, ImageError)
    assert str(error) == "inconsistent dscplus image: failures must be a whole number from 0 to 3"
