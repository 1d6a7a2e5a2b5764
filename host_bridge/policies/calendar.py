"""Business days for the withdrawal limits: weekends skipped, holidays configurable.

The seed's limits are "per day" and "in five business days" (KB2895). We read "day" as one
business day and the five-day limit as a rolling window: the business day a withdrawal counts
toward plus the four business days before it.

A withdrawal dated on a weekend or a holiday counts toward the *next* business day, the day a
bank would process it. Two consequences users rely on: a Saturday and the following Monday share
one daily limit, and the window is always made of business days only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

WINDOW_DAYS = 5
"""Length of the rolling window, in business days (KB2895: "in Five Business Days")."""

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


def is_business_day(day: date, holidays: Iterable[date] = ()) -> bool:
    """Monday to Friday and not a configured holiday."""
    return day.weekday() < _SATURDAY and day not in frozenset(holidays)


def business_day_of(day: date, holidays: Iterable[date] = ()) -> date:
    """The business day a withdrawal dated `day` counts toward: `day` itself or the next one.

    Raises `ValueError` if that day would fall after `date.max`."""
    closed = frozenset(holidays)
    while not is_business_day(day, closed):
        day = _step(day, _ONE_DAY)
    return day


def next_business_day(day: date, holidays: Iterable[date] = ()) -> date:
    """The first business day strictly after `day`. Raises `ValueError` after `date.max`."""
    return _strictly(day, holidays, _ONE_DAY)


def previous_business_day(day: date, holidays: Iterable[date] = ()) -> date:
    """The last business day strictly before `day`. Raises `ValueError` before `date.min`."""
    return _strictly(day, holidays, -_ONE_DAY)


def _strictly(day: date, holidays: Iterable[date], delta: timedelta) -> date:
    closed = frozenset(holidays)
    day = _step(day, delta)
    while not is_business_day(day, closed):
        day = _step(day, delta)
    return day


def _step(day: date, delta: timedelta) -> date:
    """`day + delta`, with the calendar's end a `ValueError` (bad input), not an OverflowError."""
    try:
        return day + delta
    except OverflowError:
        raise ValueError(f"no business day near {day.isoformat()} in the calendar") from None


def window(day: date, holidays: Iterable[date] = (), length: int = WINDOW_DAYS) -> tuple[date, ...]:
    """The rolling window a withdrawal dated `day` counts in: `length` business days, oldest first.

    It ends with `business_day_of(day)`. Raises `ValueError` if `length` is not positive.
    """
    if length < 1:
        raise ValueError("a window has at least one business day")
    closed = frozenset(holidays)
    last = business_day_of(day, closed)
    days = [last]
    while len(days) < length:
        days.append(previous_business_day(days[-1], closed))
    return tuple(reversed(days))
