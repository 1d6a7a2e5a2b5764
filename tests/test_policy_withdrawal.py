"""Withdrawal limits (KB2895's table), the rolling window, and the devices a denial names."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_bridge.policies import calendar
from host_bridge.policies.devices import NO_DEVICE, HeldDevice
from host_bridge.policies.optout import OptOut
from host_bridge.policies.withdrawal import (
    DEFAULT_LIMITS,
    Limit,
    Withdrawal,
    check_withdrawal,
    format_usd,
    usd,
)

MON = date(2026, 11, 23)
TUE, WED, THU, FRI = (MON + timedelta(days=n) for n in range(1, 5))
NEXT_MON = MON + timedelta(days=7)

# (model, per day, per five business days) — KB2895's table plus DESIGN.md's SMS and no-device.
TABLE = [
    ("scc", usd(200_000), usd(600_000)),
    ("ibkey", usd(1_000_000), usd(1_000_000)),
    ("dsc", usd(1_000_000), usd(1_500_000)),
    ("sms", usd(200_000), usd(600_000)),
    (NO_DEVICE, usd(50_000), usd(100_000)),
    ("online_scc", usd(200_000), usd(600_000)),
]
UNLIMITED = ["dscplus", "gold", "platinum"]


@pytest.mark.parametrize(("model", "per_day", "per_window"), TABLE)
def test_table_row_daily_cap(model: str, per_day: int, per_window: int) -> None:
    assert check_withdrawal(per_day, MON, model, []).allowed
    over = check_withdrawal(per_day + 1, MON, model, [])
    assert not over.allowed
    assert over.day_room == per_day


@pytest.mark.parametrize(("model", "per_day", "per_window"), TABLE)
def test_table_row_window_cap(model: str, per_day: int, per_window: int) -> None:
    ledger: list[Withdrawal] = []
    day = MON
    left = per_window
    while left:  # fill the window one daily cap at a time, over business days
        take = min(per_day, left)
        decision = check_withdrawal(take, day, model, ledger)
        assert decision.allowed, decision.reason
        ledger.append(Withdrawal(day, take))
        left -= take
        day = calendar.business_day_of(day + timedelta(days=1))
    last = ledger[-1].day
    refused = check_withdrawal(1, last, model, ledger)
    assert not refused.allowed
    assert refused.window_room == 0


@pytest.mark.parametrize("model", UNLIMITED)
def test_table_unlimited_rows(model: str) -> None:
    ledger = [Withdrawal(MON, usd(50_000_000))]
    decision = check_withdrawal(usd(900_000_000), MON, model, ledger)
    assert decision.allowed
    assert decision.day_room is None and decision.window_room is None


def test_default_limits_match_the_table() -> None:
    for model, per_day, per_window in TABLE:
        assert DEFAULT_LIMITS[model] == Limit(per_day, per_window)
    for model in UNLIMITED:
        assert DEFAULT_LIMITS[model] == Limit(None, None)


def test_temporary_code_confirms_no_withdrawal() -> None:
    decision = check_withdrawal(1, MON, "temporary", [])
    assert not decision.allowed
    assert "confirms no withdrawals" in decision.reason


def test_seed_example_dscplus_must_confirm_what_mobile_cannot() -> None:
    """KB2895: IBKR Mobile and DSC+ both enabled; a withdrawal beyond the mobile app's limit may
    follow a login with either device but must be confirmed with the DSC+."""
    devices = [HeldDevice("IK0000000001", "ibkey"), HeldDevice("DP0000000001", "dscplus")]
    decision = check_withdrawal(usd(1_200_000), MON, "ibkey", [], user_devices=devices)
    assert not decision.allowed
    assert decision.alternatives == ("DP0000000001",)
    assert "DP0000000001" in decision.reason
    assert check_withdrawal(usd(1_200_000), MON, "dscplus", [], user_devices=devices).allowed


def test_seed_example_more_than_200k_with_a_card() -> None:
    """KB2895's figure: more than USD 200K needs a stronger device than the Security Code Card."""
    devices = [
        HeldDevice("SC0000000001", "scc"),
        HeldDevice("IK0000000001", "ibkey"),
        HeldDevice("DP0000000001", "dscplus"),
        HeldDevice("DS0000000001", "dsc", active=False),
    ]
    decision = check_withdrawal(usd(250_000), MON, "scc", [], user_devices=devices)
    assert not decision.allowed
    assert decision.alternatives == ("IK0000000001", "DP0000000001")
    assert decision.day_room == usd(200_000)


def test_window_counts_all_the_accounts_withdrawals() -> None:
    """Withdrawals confirmed with a DSC+ still use the SCC's window room."""
    ledger = [Withdrawal(MON, usd(500_000)), Withdrawal(TUE, usd(50_000))]
    decision = check_withdrawal(usd(60_000), WED, "scc", ledger)
    assert not decision.allowed
    assert decision.window_room == usd(50_000)
    assert "five-business-day" in decision.reason
    assert check_withdrawal(usd(50_000), WED, "scc", ledger).allowed


def test_window_rolls_over_business_days() -> None:
    ledger = [Withdrawal(MON, usd(600_000))]
    assert not check_withdrawal(usd(1), FRI, "scc", ledger).allowed
    # Five business days later Monday has left the window (weekend skipped).
    assert check_withdrawal(usd(200_000), NEXT_MON, "scc", ledger).allowed


def test_holiday_extends_the_window_by_a_day() -> None:
    ledger = [Withdrawal(MON, usd(600_000))]
    # With Thursday a holiday, next Monday's five business days reach back to this Monday.
    assert not check_withdrawal(usd(1), NEXT_MON, "scc", ledger, holidays={THU}).allowed
    assert check_withdrawal(usd(1), NEXT_MON, "scc", ledger).allowed


def test_weekend_withdrawal_shares_mondays_daily_cap() -> None:
    saturday = MON + timedelta(days=5)
    ledger = [Withdrawal(saturday, usd(150_000))]
    decision = check_withdrawal(usd(60_000), NEXT_MON, "scc", ledger)
    assert not decision.allowed
    assert decision.business_day == NEXT_MON
    assert decision.day_room == usd(50_000)


def test_room_reported_after_an_allowed_withdrawal() -> None:
    decision = check_withdrawal(usd(150_000), MON, "scc", [])
    assert decision.allowed
    assert decision.day_room == usd(50_000)
    assert decision.window_room == usd(450_000)


def test_full_opt_out_caps_at_no_device_limits_and_names_no_alternative() -> None:
    devices = [HeldDevice("DP0000000001", "dscplus")]
    capped = check_withdrawal(
        usd(60_000), MON, "dscplus", [], user_devices=devices, opt_out=OptOut.FULL
    )
    assert not capped.allowed
    assert capped.alternatives == ()
    assert "opt back in" in capped.reason
    assert check_withdrawal(usd(50_000), MON, "dscplus", [], opt_out=OptOut.FULL).allowed


def test_partial_opt_out_keeps_device_limits() -> None:
    decision = check_withdrawal(usd(900_000), MON, "dscplus", [], opt_out=OptOut.PARTIAL)
    assert decision.allowed


def test_limits_are_configuration() -> None:
    custom = {**DEFAULT_LIMITS, "scc": Limit(usd(10), usd(20))}
    assert not check_withdrawal(usd(11), MON, "scc", [], limits=custom).allowed


def test_misuse_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        check_withdrawal(0, MON, "scc", [])
    with pytest.raises(ValueError):
        check_withdrawal(-5, MON, "scc", [])
    with pytest.raises(ValueError):
        check_withdrawal(100, MON, "nonesuch", [])
    with pytest.raises(ValueError, match="earlier"):
        check_withdrawal(100, MON, "scc", [Withdrawal(TUE, 100)])


def test_format_usd() -> None:
    assert format_usd(25_000_050) == "USD 250,000.50"
    assert format_usd(None) == "unlimited"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # days after the previous attempt
            st.sampled_from(sorted(DEFAULT_LIMITS)),
            st.integers(1, usd(700_000)),
        ),
        max_size=40,
    ),
    st.frozensets(st.dates(MON, MON + timedelta(days=60)), max_size=8),
)
def test_allowed_withdrawals_never_exceed_their_devices_caps(
    attempts: list[tuple[int, str, int]], holidays: frozenset[date]
) -> None:
    ledger: list[Withdrawal] = []
    day = MON
    for gap, model, amount in attempts:
        day += timedelta(days=gap)
        decision = check_withdrawal(amount, day, model, ledger, holidays)
        if not decision.allowed:
            continue
        ledger.append(Withdrawal(day, amount))
        limit = DEFAULT_LIMITS[model]
        booked = [calendar.business_day_of(e.day, holidays) for e in ledger]
        span = set(calendar.window(day, holidays))
        day_total = sum(
            e.amount_cents
            for e, b in zip(ledger, booked, strict=True)
            if b == decision.business_day
        )
        window_total = sum(e.amount_cents for e, b in zip(ledger, booked, strict=True) if b in span)
        assert limit.per_day is None or day_total <= limit.per_day
        assert limit.per_window is None or window_total <= limit.per_window
