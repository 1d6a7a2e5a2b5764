"""DSC+ eligibility, replacement, the USD 20 hold and auto-activation (KB1943, KB2895)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_bridge.policies.devices import HeldDevice
from host_bridge.policies.ordering import (
    TRANSITIONS,
    Hold,
    LossReason,
    Notice,
    OrderEvent,
    OrderingConfig,
    OrderKind,
    OrderState,
    auto_activation_date,
    auto_activation_due,
    check_soft_pin,
    dscplus_eligibility,
    estimated_shipment,
    hold_state,
    next_order_state,
    notice_due,
)
from host_bridge.policies.withdrawal import usd

IBKEY = HeldDevice("IK0000000001", "ibkey")
SCC = HeldDevice("SC0000000001", "scc")
ONLINE_SCC = HeldDevice("OS0000000001", "online_scc")


def test_ibkr_mobile_client_with_500k_qualifies() -> None:
    """KB2895: IBKR Mobile and a balance equal or greater than USD 500K."""
    decision = dscplus_eligibility(usd(500_000), usd(500_000), [IBKEY])
    assert decision.allowed
    assert decision.kind is OrderKind.MOBILE_CLIENT
    assert not dscplus_eligibility(usd(500_000) - 1, usd(500_000) - 1, [IBKEY]).allowed


def test_alongside_a_current_device_needs_equity_above_1m() -> None:
    """KB1943: "equity above $1,000,000"."""
    assert not dscplus_eligibility(usd(1_000_000), usd(1_000_000), [SCC]).allowed
    decision = dscplus_eligibility(usd(1_000_000) + 1, usd(1_000_000) + 1, [SCC])
    assert decision.allowed and decision.kind is OrderKind.HIGH_EQUITY
    assert dscplus_eligibility(usd(1_000_001), usd(1_000_001), []).allowed  # a new client


def test_refusal_names_both_thresholds() -> None:
    refused = dscplus_eligibility(usd(10_000), usd(10_000), [SCC])
    assert not refused.allowed
    assert "USD 1,000,000.00" in refused.reason and "USD 500,000.00" in refused.reason


def test_replacement_after_temporary_access_and_an_online_scc() -> None:
    lost = HeldDevice("DP0000000001", "dscplus", active=False)
    reported = [lost.serial]
    refused = dscplus_eligibility(0, 0, [lost], replacing=True, reported=reported)
    assert not refused.allowed
    assert "Online Security Code Card" in refused.reason
    decision = dscplus_eligibility(0, 0, [lost, ONLINE_SCC], replacing=True, reported=reported)
    assert decision.allowed and decision.kind is OrderKind.REPLACEMENT


def test_a_replacement_replaces_a_reported_dscplus_only() -> None:
    """KB1943: a replacement is for "a Digital Security Card+ which has been lost, stolen or has
    become inoperable" — equity 0 and an Online SCC alone order nothing."""
    refused = dscplus_eligibility(0, 0, [ONLINE_SCC], replacing=True)
    assert not refused.allowed and "reported lost, stolen or inoperable" in refused.reason


@pytest.mark.parametrize("reason", list(LossReason))
def test_the_hold_is_kept_only_for_loss_theft_and_intentional_damage(
    reason: LossReason,
) -> None:
    """KB1943 note 2: "If your device is lost, intentionally damaged, stolen ... we will use that
    amount as a compensation ... In any other case, the hold will be released once your device
    has been returned"."""
    assert reason.keeps_hold is (reason is not LossReason.INOPERABLE)


def test_estimated_shipment_counts_business_days() -> None:
    friday = date(2026, 11, 27)
    assert estimated_shipment(friday) == date(2026, 12, 2)  # Mon, Tue, Wed
    assert estimated_shipment(friday, frozenset({date(2026, 11, 30)})) == date(2026, 12, 3)
    assert estimated_shipment(friday, config=OrderingConfig(shipment_lead_business_days=0)) \
        == friday


def test_notices_approaching_then_imminent_each_once() -> None:
    """KB1943 note 3: "IBKR will notify you when the auto-activation is approaching and when it
    is imminent"."""
    shipped = date(2026, 11, 24)
    on = auto_activation_date(shipped)
    shipped_state = OrderState.SHIPPED

    def due(today: date, sent: Notice | None = None) -> Notice | None:
        return notice_due(shipped_state, shipped, today, sent)

    assert due(on - timedelta(days=8)) is None
    assert due(on - timedelta(days=7)) is Notice.APPROACHING
    assert due(on - timedelta(days=2), Notice.APPROACHING) is None
    assert due(on - timedelta(days=1), Notice.APPROACHING) is Notice.IMMINENT
    assert due(on + timedelta(days=3)) is Notice.IMMINENT  # a late sweep: only the last one
    assert due(on, Notice.IMMINENT) is None
    assert notice_due(OrderState.ACTIVE, shipped, on, None) is None


@given(
    st.integers(min_value=-40, max_value=40),
    st.sampled_from([None, *Notice]),
)
def test_a_notice_never_goes_back(offset: int, sent: Notice | None) -> None:
    shipped = date(2026, 11, 24)
    today = auto_activation_date(shipped) + timedelta(days=offset)
    due = notice_due(OrderState.SHIPPED, shipped, today, sent)
    order = [None, Notice.APPROACHING, Notice.IMMINENT]
    assert due is None or order.index(due) > order.index(sent)


def test_no_second_order_or_second_dscplus() -> None:
    assert not dscplus_eligibility(usd(5_000_000), usd(5_000_000), [IBKEY], open_order=True).allowed
    active = HeldDevice("DP0000000001", "dscplus")
    assert not dscplus_eligibility(usd(5_000_000), usd(5_000_000), [active]).allowed
    # The older DSC+ generation (`Pn`/`Ch` screens) is a DSC+ as well.
    older = HeldDevice("DC0000000001", "dscplus_classic")
    refused = dscplus_eligibility(usd(5_000_000), usd(5_000_000), [older])
    assert (refused.allowed, refused.reason) == (False, "the user already holds an active DSC+")


def test_thresholds_are_configuration() -> None:
    config = OrderingConfig(mobile_client_balance_cents=usd(10), additional_device_equity_cents=1)
    assert dscplus_eligibility(usd(10), usd(10), [IBKEY], config=config).allowed
    assert dscplus_eligibility(2, 2, [SCC], config=config).allowed


@pytest.mark.parametrize("pin", ["1234", "0000", "9870"])
def test_soft_pin_four_digits(pin: str) -> None:
    assert check_soft_pin(pin) == pin


@pytest.mark.parametrize("pin", ["", "123", "12345", "12a4", "١٢٣٤", " 123"])
def test_soft_pin_refused_without_echo(pin: str) -> None:
    with pytest.raises(ValueError) as info:
        check_soft_pin(pin)
    assert not pin.strip() or pin not in str(info.value)


def test_hold_released_when_the_card_returns() -> None:
    state = OrderState.ORDERED
    assert hold_state(state) is Hold.HELD
    state = next_order_state(state, OrderEvent.SHIP)
    state = next_order_state(state, OrderEvent.ACTIVATE)
    assert hold_state(state) is Hold.HELD
    state = next_order_state(state, OrderEvent.RETURN)
    assert state is OrderState.RETURNED
    assert hold_state(state) is Hold.RELEASED


@pytest.mark.parametrize("event", [OrderEvent.LOSE, OrderEvent.CLOSE_ACCOUNT])
def test_hold_kept_if_lost_damaged_stolen_or_account_closed(event: OrderEvent) -> None:
    state = next_order_state(next_order_state(OrderState.ORDERED, OrderEvent.SHIP), event)
    assert hold_state(state) is Hold.KEPT


def test_auto_activation_three_weeks_after_shipment() -> None:
    shipped = date(2026, 11, 2)
    assert auto_activation_date(shipped) == shipped + timedelta(days=21)
    assert not auto_activation_due(OrderState.SHIPPED, shipped, shipped + timedelta(days=20))
    assert auto_activation_due(OrderState.SHIPPED, shipped, shipped + timedelta(days=21))
    assert not auto_activation_due(OrderState.ACTIVE, shipped, shipped + timedelta(days=30))
    assert not auto_activation_due(OrderState.ORDERED, None, shipped + timedelta(days=30))


@settings(max_examples=100)
@given(st.lists(st.sampled_from(list(OrderEvent)), max_size=8))
def test_any_event_sequence_answers_or_raises_value_error(events: list[OrderEvent]) -> None:
    state = OrderState.ORDERED
    for event in events:
        if (state, event) in TRANSITIONS:
            state = next_order_state(state, event)
        else:
            with pytest.raises(ValueError):
                next_order_state(state, event)
    # Once returned, the hold is released and nothing can take it back.
    if state is OrderState.RETURNED:
        assert hold_state(state) is Hold.RELEASED
        assert not any((state, e) in TRANSITIONS for e in OrderEvent)
