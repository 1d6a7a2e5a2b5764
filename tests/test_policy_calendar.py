"""Business days and the rolling five-business-day window of the withdrawal limits."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_bridge.policies.calendar import (
    business_day_of,
    is_business_day,
    previous_business_day,
    window,
)

FRI = date(2026, 11, 20)
SAT = date(2026, 11, 21)
SUN = date(2026, 11, 22)
MON = date(2026, 11, 23)
THANKSGIVING = date(2026, 11, 26)  # a Thursday


def test_weekends_are_not_business_days() -> None:
    assert is_business_day(FRI)
    assert not is_business_day(SAT)
    assert not is_business_day(SUN)
    assert is_business_day(MON)


def test_configured_holiday_is_not_a_business_day() -> None:
    assert is_business_day(THANKSGIVING)
    assert not is_business_day(THANKSGIVING, {THANKSGIVING})


def test_weekend_withdrawal_counts_toward_next_monday() -> None:
    assert business_day_of(SAT) == MON
    assert business_day_of(SUN) == MON
    assert business_day_of(FRI) == FRI


def test_holiday_withdrawal_counts_toward_next_business_day() -> None:
    assert business_day_of(THANKSGIVING, {THANKSGIVING}) == date(2026, 11, 27)
    # A Friday holiday pushes a Friday withdrawal to Monday.
    assert business_day_of(FRI, {FRI}) == MON


def test_window_skips_weekends() -> None:
    assert window(MON) == (
        date(2026, 11, 17),
        date(2026, 11, 18),
        date(2026, 11, 19),
        FRI,
        MON,
    )


def test_window_skips_holidays() -> None:
    tuesday = date(2026, 12, 1)
    assert window(tuesday, {THANKSGIVING}) == (
        date(2026, 11, 24),
        date(2026, 11, 25),
        date(2026, 11, 27),
        date(2026, 11, 30),
        tuesday,
    )


def test_window_of_a_saturday_ends_on_monday() -> None:
    assert window(SAT)[-1] == MON
    assert window(SAT) == window(MON)


def test_window_length_is_configurable_and_positive() -> None:
    assert window(MON, length=1) == (MON,)
    assert window(MON, length=2) == (FRI, MON)
    with pytest.raises(ValueError):
        window(MON, length=0)


def test_previous_business_day_skips_weekend_and_holiday() -> None:
    assert previous_business_day(MON) == FRI
    assert previous_business_day(MON, {FRI}) == date(2026, 11, 19)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
holiday_sets = st.frozensets(days, max_size=30)


@settings(max_examples=100)
@given(day=days, holidays=holiday_sets, length=st.integers(1, 10))
def test_window_is_business_days_strictly_increasing(
    day: date, holidays: frozenset[date], length: int
) -> None:
    span = window(day, holidays, length)
    assert len(span) == length
    assert span[-1] == business_day_of(day, holidays)
    assert all(is_business_day(d, holidays) for d in span)
    assert all(a < b for a, b in itertools.pairwise(span))
    # No business day is skipped inside the window.
    for a, b in itertools.pairwise(span):
        between = (a + timedelta(days=n) for n in range(1, (b - a).days))
        assert not any(is_business_day(d, holidays) for d in between)


def test_the_ends_of_the_calendar_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="calendar"):
        previous_business_day(date.min)
    with pytest.raises(ValueError, match="calendar"):
        window(date(1, 1, 2))  # fewer than five business days before it
    with pytest.raises(ValueError, match="calendar"):
        business_day_of(date.max, {date.max})
