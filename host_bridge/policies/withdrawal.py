"""Withdrawal limits set by the device that confirms the withdrawal (KB2895, DESIGN.md).

Theory of operation: every withdrawal of an account is in its ledger with the business day it
counts toward (`calendar.business_day_of`). A new withdrawal of `amount` confirmed with a device
of model `m` is allowed when

    (withdrawals of the account on that business day) + amount <= per_day(m)   and
    (withdrawals of the account in the 5-business-day window) + amount <= per_window(m)

— the window counts *all* the account's withdrawals, whatever device confirmed them; the
confirming device only sets the cap. When the chosen device's room is too small, the decision
names the user's other active devices whose room would allow it (the seed's example: an IBKR
Mobile user with a DSC+ who withdraws more than USD 200K must confirm with the DSC+).

Withdrawals are recorded in date order: one dated before the account's latest recorded business
day is refused as misuse, because accepting it could push an earlier-checked window over its cap.

Amounts are integer US cents everywhere; `None` as a limit means unlimited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from host_bridge.policies import calendar
from host_bridge.policies.devices import (
    NO_DEVICE,
    ONLINE_SCC,
    SMS,
    TEMPORARY,
    HeldDevice,
    display_name,
)
from host_bridge.policies.optout import OptOut, withdrawal_model

CENTS_PER_USD = 100
MAX_AMOUNT_CENTS = 10**15 * CENTS_PER_USD
"""Largest amount accepted (a quadrillion dollars): keeps sums far from any storage limit."""


@dataclass(frozen=True, slots=True)
class Limit:
    """Caps in cents per business day and per five-business-day window; `None` = unlimited."""

    per_day: int | None
    per_window: int | None

    def __post_init__(self) -> None:
        for cap in (self.per_day, self.per_window):
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
                raise ValueError("a limit is a non-negative number of cents or None")


def usd(amount: int) -> int:
    """Whole US dollars in cents."""
    return amount * CENTS_PER_USD


UNLIMITED = Limit(None, None)

DEFAULT_LIMITS: Mapping[str, Limit] = MappingProxyType(
    {
        # KB2895's table.
        "scc": Limit(usd(200_000), usd(600_000)),
        "ibkey": Limit(usd(1_000_000), usd(1_000_000)),
        "dsc": Limit(usd(1_000_000), usd(1_500_000)),
        "dscplus": UNLIMITED,
        "dscplus_classic": UNLIMITED,
        "gold": UNLIMITED,
        "platinum": UNLIMITED,
        # DESIGN.md: SMS and no device (Secure Login opt-out).
        SMS: Limit(usd(200_000), usd(600_000)),
        NO_DEVICE: Limit(usd(50_000), usd(100_000)),
        # Our decisions (docs/policies.md): the Online SCC "allows withdrawals" (KB1873) and is a
        # Security Code Card, so it has the SCC's caps; the Temporary Code exists only to reach
        # the Online SCC (KB69/KB70) and confirms no withdrawal.
        ONLINE_SCC: Limit(usd(200_000), usd(600_000)),
        TEMPORARY: Limit(0, 0),
    }
)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One entry of an account's withdrawal ledger."""

    day: date
    amount_cents: int

    def __post_init__(self) -> None:
        check_amount(self.amount_cents)


@dataclass(frozen=True, slots=True)
class WithdrawalDecision:
    """The answer to a withdrawal request.

    `day_room` and `window_room` are what the confirming device could still confirm after this
    decision (after the withdrawal if allowed), `None` when unlimited. `alternatives` are the
    serials of the user's other active devices that could confirm this withdrawal now.
    """

    allowed: bool
    reason: str
    business_day: date
    day_room: int | None
    window_room: int | None
    alternatives: tuple[str, ...]


def check_withdrawal(
    amount_cents: int,
    day: date,
    confirming_model: str,
    ledger: Iterable[Withdrawal],
    holidays: Iterable[date] = (),
    user_devices: Sequence[HeldDevice] = (),
    *,
    limits: Mapping[str, Limit] = DEFAULT_LIMITS,
    opt_out: OptOut = OptOut.NONE,
) -> WithdrawalDecision:
    """Decide whether the account may withdraw `amount_cents` on `day` confirmed with a device of
    `confirming_model` (`NO_DEVICE` for none), given all the account's earlier withdrawals.

    Raises `ValueError` for a non-positive amount, a model missing from `limits`, or a date
    before the latest withdrawal in the ledger.
    """
    check_amount(amount_cents)
    business_day, used_day, used_window = ledger_usage(day, ledger, holidays)
    cap_model = withdrawal_model(opt_out, confirming_model)
    day_room, window_room = _room(_limit(limits, cap_model), used_day, used_window)
    if _fits(amount_cents, day_room, window_room):
        return WithdrawalDecision(
            allowed=True,
            reason=f"{format_usd(amount_cents)} allowed ({display_name(cap_model)} limits)",
            business_day=business_day,
            day_room=None if day_room is None else day_room - amount_cents,
            window_room=None if window_room is None else window_room - amount_cents,
            alternatives=(),
        )

    alternatives: tuple[str, ...] = ()
    if opt_out is not OptOut.FULL:
        others = [d for d in user_devices if d.model != confirming_model]
        alternatives = able_devices(amount_cents, used_day, used_window, others, limits)
    cap = _limit(limits, cap_model)
    if cap.per_day == 0 or cap.per_window == 0:
        reason = f"the {display_name(cap_model)} confirms no withdrawals"
    else:
        daily = day_room is not None and amount_cents > day_room
        which, room = ("daily", day_room) if daily else ("five-business-day", window_room)
        reason = (
            f"{format_usd(amount_cents)} exceeds the {which} room of {format_usd(room)} "
            f"({display_name(cap_model)} limits)"
        )
    if opt_out is OptOut.FULL:
        reason += "; opt back in to the Secure Login System to use a device's limits"
    elif alternatives:
        reason += "; confirm it with " + ", ".join(alternatives)
    else:
        reason += "; none of the user's devices can confirm it"
    return WithdrawalDecision(
        allowed=False,
        reason=reason,
        business_day=business_day,
        day_room=day_room,
        window_room=window_room,
        alternatives=alternatives,
    )


def ledger_usage(
    day: date, ledger: Iterable[Withdrawal], holidays: Iterable[date] = ()
) -> tuple[date, int, int]:
    """(business day of `day`, cents already withdrawn that business day, cents in its window).

    Raises `ValueError` if the ledger holds a withdrawal on a later business day.
    """
    closed = frozenset(holidays)
    entries = tuple(ledger)
    business_day = calendar.business_day_of(day, closed)
    booked = [calendar.business_day_of(entry.day, closed) for entry in entries]
    if booked and max(booked) > business_day:
        raise ValueError(
            f"withdrawal dated {day.isoformat()} is earlier than the account's latest "
            f"withdrawal ({max(booked).isoformat()})"
        )
    days = frozenset(calendar.window(business_day, closed))
    pairs = list(zip(entries, booked, strict=True))
    used_day = sum(e.amount_cents for e, b in pairs if b == business_day)
    used_window = sum(e.amount_cents for e, b in pairs if b in days)
    return business_day, used_day, used_window


def able_devices(
    amount_cents: int,
    used_day: int,
    used_window: int,
    devices: Sequence[HeldDevice],
    limits: Mapping[str, Limit] = DEFAULT_LIMITS,
) -> tuple[str, ...]:
    """Serials of the active `devices` whose limits leave room for `amount_cents` after
    `used_day` on the business day and `used_window` in the window."""
    return tuple(
        device.serial
        for device in devices
        if device.active
        and device.model in limits
        and _fits(amount_cents, *_room(limits[device.model], used_day, used_window))
    )


def check_amount(amount_cents: int) -> None:
    """Raise `ValueError` unless `amount_cents` is a whole, positive, bounded number of cents."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise ValueError("an amount is a whole number of cents")
    if not 0 < amount_cents <= MAX_AMOUNT_CENTS:
        raise ValueError("an amount must be positive and at most USD 1,000,000,000,000,000")


def _limit(limits: Mapping[str, Limit], model: str) -> Limit:
    try:
        return limits[model]
    except KeyError:
        raise ValueError(f"no withdrawal limit is configured for device model {model!r}") from None


def _room(limit: Limit, used_day: int, used_window: int) -> tuple[int | None, int | None]:
    day = None if limit.per_day is None else max(0, limit.per_day - used_day)
    win = None if limit.per_window is None else max(0, limit.per_window - used_window)
    return day, win


def _fits(amount: int, day_room: int | None, window_room: int | None) -> bool:
    return (day_room is None or amount <= day_room) and (
        window_room is None or amount <= window_room
    )


def format_usd(cents: int | None) -> str:
    """`25000050` → `USD 250,000.50`; `None` → `unlimited`."""
    if cents is None:
        return "unlimited"
    value = Decimal(cents) / CENTS_PER_USD
    return f"USD {value:,.2f}"
