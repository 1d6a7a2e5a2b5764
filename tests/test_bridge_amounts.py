"""USD amounts on the command line (`withdraw --amount`, `user add --equity`): exact cents or a
clear refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host_bridge.errors import BridgeError
from host_bridge.inputs import money_to_cents


@pytest.mark.parametrize(
    ("text", "cents"),
    [("250000", 25_000_000), ("250000.5", 25_000_050), ("1,234.56", 123_456), ("0.01", 1),
     (" 7 ", 700), ("1,000,000", 100_000_000)],
)
def test_amounts_in_cents(text: str, cents: int) -> None:
    assert money_to_cents(text) == cents


@pytest.mark.parametrize(
    "text", ["\u0661\u0662\u0663", "1,23", "12,3456", "12.345", "-5", "1e5", "", ".5", "1_000",
             "9" * 16, "1.", "12 34"],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(BridgeError, match="bad amount"):
        money_to_cents(text)


@given(st.integers(min_value=0, max_value=10**17 - 1))
def test_cents_round_trip(cents: int) -> None:
    text = f"{cents // 100}.{cents % 100:02d}"
    assert money_to_cents(text) == cents
    assert money_to_cents(f"{cents // 100:,}.{cents % 100:02d}") == cents


@given(st.text(max_size=30))
def test_any_text_gives_cents_or_bridge_error(text: str) -> None:
    try:
        cents = money_to_cents(text)
    except BridgeError:
        return
    assert cents >= 0
