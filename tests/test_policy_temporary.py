"""Temporary Code (2 days full, 10 days portal-only, never two in a row) and the Online SCC
(21 days, withdrawals, reactivation) — KB70, KB69, KB1873."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_bridge.policies.temporary import (
    Access,
    Action,
    Credential,
    TemporaryConfig,
    may_issue_online_scc,
    may_issue_temporary_code,
    online_scc_allows,
    online_scc_valid_until,
    temporary_code_access,
    temporary_code_allows,
    temporary_code_expires,
)

ISSUED = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
TICK = timedelta(seconds=1)


def test_full_access_for_two_days() -> None:
    assert temporary_code_access(ISSUED, ISSUED) is Access.FULL
    assert temporary_code_access(ISSUED, ISSUED + 2 * DAY - TICK) is Access.FULL
    assert temporary_code_allows(Access.FULL, Action.TRADE)
    assert temporary_code_allows(Access.FULL, Action.PORTAL)


def test_then_portal_only_for_ten_more_days_to_print_an_online_scc() -> None:
    assert temporary_code_access(ISSUED, ISSUED + 2 * DAY) is Access.PORTAL_ONLY
    assert temporary_code_access(ISSUED, ISSUED + 12 * DAY - TICK) is Access.PORTAL_ONLY
    assert temporary_code_allows(Access.PORTAL_ONLY, Action.PRINT_ONLINE_SCC)
    assert not temporary_code_allows(Access.PORTAL_ONLY, Action.TRADE)


def test_then_expired() -> None:
    assert temporary_code_access(ISSUED, ISSUED + 12 * DAY) is Access.EXPIRED
    assert temporary_code_expires(ISSUED) == ISSUED + 12 * DAY
    assert not any(temporary_code_allows(Access.EXPIRED, action) for action in Action)


def test_temporary_code_confirms_no_withdrawal() -> None:
    assert not temporary_code_allows(Access.FULL, Action.WITHDRAW)


def test_time_before_issue_is_misuse() -> None:
    with pytest.raises(ValueError):
        temporary_code_access(ISSUED, ISSUED - TICK)


def test_never_two_temporary_codes_in_a_row() -> None:
    assert may_issue_temporary_code(None).allowed
    refused = may_issue_temporary_code(Credential.TEMPORARY_CODE)
    assert not refused.allowed
    assert "Online Security Code Card" in refused.reason
    assert may_issue_temporary_code(Credential.ONLINE_SCC).allowed
    assert may_issue_temporary_code(Credential.PERMANENT).allowed


def test_online_scc_needs_a_working_temporary_code() -> None:
    assert not may_issue_online_scc(None).allowed
    assert may_issue_online_scc(Access.FULL).allowed
    assert may_issue_online_scc(Access.PORTAL_ONLY).allowed
    assert not may_issue_online_scc(Access.EXPIRED).allowed


def test_online_scc_valid_21_days_allows_withdrawals_and_reactivation() -> None:
    until = online_scc_valid_until(ISSUED)
    assert until == ISSUED + 21 * DAY
    for action in (Action.WITHDRAW, Action.REACTIVATE_DEVICE, Action.ORDER_DEVICE):
        assert online_scc_allows(until, until - TICK, action)
        assert not online_scc_allows(until, until, action)


def test_periods_are_configuration() -> None:
    config = TemporaryConfig(full_access=DAY, portal_only=DAY, online_scc_validity=DAY)
    assert temporary_code_access(ISSUED, ISSUED + DAY, config) is Access.PORTAL_ONLY
    assert online_scc_valid_until(ISSUED, config) == ISSUED + DAY
    with pytest.raises(ValueError):
        TemporaryConfig(full_access=-DAY)


@settings(max_examples=100)
@given(st.integers(0, 30 * 24 * 3600))
def test_access_only_ever_narrows(seconds: int) -> None:
    order = [Access.FULL, Access.PORTAL_ONLY, Access.EXPIRED]
    now = ISSUED + timedelta(seconds=seconds)
    later = temporary_code_access(ISSUED, now + timedelta(hours=1))
    assert order.index(later) >= order.index(temporary_code_access(ISSUED, now))
