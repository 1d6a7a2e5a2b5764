"""The policies on a real store: withdrawals booked in the ledger, sharing applied and undone,
opt-out by the primary user, temporary access over time, DSC+ orders — all audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from host_bridge.bridge import Bridge
from host_bridge.domain import Identification
from host_bridge.errors import BridgeError
from host_bridge.policies.optout import OptOut
from host_bridge.policies.ordering import Hold, LossReason, OrderState
from host_bridge.policies.sharing import (
    DIFFERENT_IDENTIFICATION,
    IB_KEY_ADD_USER,
    LESS_SECURE_DEVICE,
    ShareState,
)
from host_bridge.policies.temporary import Access
from host_bridge.policies.withdrawal import Limit, usd
from host_bridge.services.policies import Policies, Refused, load_policy_config
from tests.bridge_helpers import set_device, store_dump, withdrawal_totals
from tests.policy_helpers import (  # noqa: F401 (fixtures)
    ALICE_ID,
    DAY,
    MONDAY_NOON,
    Clock,
    add_user,
    bridge_fixture,
    clock_fixture,
    device,
    replacement_order,
    rules_fixture,
    share,
)

# --- withdrawals -----------------------------------------------------------------------------


def test_seed_example_denial_names_the_dscplus_and_books_nothing(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice", primary=True)
    mobile = device(bridge, "alice", "ibkey", slsemu_home)
    card = device(bridge, "alice", "dscplus", slsemu_home)
    denied = rules.withdraw("alice", mobile, usd(1_200_000))
    assert not denied.allowed
    assert denied.alternatives == (card,)
    assert rules.withdraw("alice", card, usd(1_200_000)).allowed
    # The window counts the DSC+ withdrawal: the mobile app has no room left this week.
    assert rules.withdraw("alice", mobile, usd(1)).window_room == 0
    assert withdrawal_totals(bridge) == (1, usd(1_200_000))
    events = [(r.event, r.outcome) for r in bridge.audit(user="alice") if r.event == "withdraw"]
    assert events == [("withdraw", "denied"), ("withdraw", "allowed"), ("withdraw", "denied")]


def test_daily_room_shared_by_saturday_and_monday(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice")
    card = device(bridge, "alice", "scc", slsemu_home)
    saturday = dt.date(2026, 11, 28)
    assert rules.withdraw("alice", card, usd(150_000), saturday).business_day == dt.date(
        2026, 11, 30
    )
    decision = rules.withdraw("alice", card, usd(60_000), dt.date(2026, 11, 30))
    assert not decision.allowed and decision.day_room == usd(50_000)


def test_holiday_configured_in_the_store_moves_the_booking(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice")
    card = device(bridge, "alice", "scc", slsemu_home)
    thanksgiving = dt.date(2026, 11, 26)
    assert rules.add_holiday(thanksgiving, "Thanksgiving")
    assert not rules.add_holiday(thanksgiving)
    assert rules.withdraw("alice", card, usd(1), thanksgiving).business_day == dt.date(2026, 11, 27)
    assert rules.holiday_list() == [(thanksgiving, "Thanksgiving")]
    assert rules.remove_holiday(thanksgiving)


def test_withdrawals_of_the_account_share_the_window(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice", account="ACC1")
    add_user(bridge, "trader", account="ACC1")
    alice_card = device(bridge, "alice", "scc", slsemu_home)
    trader_card = device(bridge, "trader", "scc", slsemu_home)
    assert rules.withdraw("alice", alice_card, usd(200_000)).allowed
    assert not rules.withdraw("trader", trader_card, usd(1)).allowed


def test_locked_device_cannot_confirm_but_others_are_named(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice")
    card = device(bridge, "alice", "scc", slsemu_home)
    strong = device(bridge, "alice", "dscplus", slsemu_home)
    set_device(bridge, card, bridge.clock(), status="locked")
    decision = rules.withdraw("alice", card, usd(10))
    assert not decision.allowed
    assert "locked" in decision.reason
    assert decision.alternatives == (strong,)


def test_withdrawal_bad_input_changes_nothing(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice")
    add_user(bridge, "bob")
    bobs = device(bridge, "bob", "scc", slsemu_home)
    with pytest.raises(BridgeError):
        rules.withdraw("alice", bobs, usd(10))
    with pytest.raises(BridgeError):
        rules.withdraw("nobody", bobs, usd(10))
    with pytest.raises(BridgeError):
        rules.withdraw("bob", bobs, 0)
    assert rules.withdraw("bob", bobs, usd(10), dt.date(2026, 11, 25)).allowed
    with pytest.raises(BridgeError, match="earlier"):
        rules.withdraw("bob", bobs, usd(10), dt.date(2026, 11, 24))
    assert withdrawal_totals(bridge)[0] == 1


def test_full_opt_out_caps_withdrawals(bridge: Bridge, rules: Policies, slsemu_home: Path) -> None:
    add_user(bridge, "alice", primary=True)
    card = device(bridge, "alice", "dscplus", slsemu_home)
    assert rules.set_opt_out("alice", OptOut.FULL).changed
    assert not rules.withdraw("alice", card, usd(50_001)).allowed
    assert rules.withdraw("alice", card, usd(50_000)).allowed


# --- opt-out ---------------------------------------------------------------------------------


def test_only_the_primary_user_changes_the_mode_for_the_whole_account(
    bridge: Bridge, rules: Policies
) -> None:
    add_user(bridge, "owner", account="ACC1", primary=True)
    add_user(bridge, "trader", account="ACC1")
    refused = rules.set_opt_out("trader", OptOut.FULL)
    assert not refused.allowed and "owner" in refused.reason
    assert rules.opt_out("trader") is OptOut.NONE
    assert rules.set_opt_out("owner", OptOut.PARTIAL).changed
    assert rules.opt_out("trader") is OptOut.PARTIAL
    assert not rules.may_trade("trader", "otcbb")
    assert rules.may_trade("trader", "nyse")
    assert rules.set_opt_out("owner", OptOut.NONE).changed
    assert rules.may_trade("trader", "pink")
    outcomes = [r.outcome for r in bridge.audit() if r.event == "optout.set"]
    assert outcomes == ["refused", "changed", "changed"]


def test_account_without_primary_user_cannot_change(bridge: Bridge, rules: Policies) -> None:
    add_user(bridge, "trader", account="ACC1")
    assert not rules.set_opt_out("trader", OptOut.FULL).allowed


# --- sharing ---------------------------------------------------------------------------------


def test_sharing_same_entity_approved_then_cancelled_reactivates(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice", entity="E1", identification=ALICE_ID)
    add_user(bridge, "alice2", entity="E1", identification=ALICE_ID)
    card = device(bridge, "alice", "dscplus", slsemu_home)
    old = device(bridge, "alice2", "scc", slsemu_home)
    record, decision = share(rules, "alice2", card, slsemu_home)
    assert record.state is ShareState.APPROVED
    assert decision.redundant == (old,)
    assert [d.serial for d in bridge.devices("alice2")] == [card]
    assert bridge.device(old).status == "replaced"
    cancelled = rules.cancel_share(record.id)
    assert cancelled.state is ShareState.CANCELLED
    assert [d.serial for d in bridge.devices("alice2")] == [old]
    assert [d.serial for d in bridge.devices("alice")] == [card]


def test_sharing_across_entities_waits_for_compliance(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice", entity="E1", identification=ALICE_ID)
    add_user(bridge, "alice-ira", entity="E2", identification=ALICE_ID)
    card = device(bridge, "alice", "dscplus", slsemu_home)
    record, _ = share(rules, "alice-ira", card, slsemu_home)
    assert record.state is ShareState.PENDING
    assert bridge.devices("alice-ira") == []
    with pytest.raises(BridgeError, match="pending"):
        share(rules, "alice-ira", card, slsemu_home)
    approved, _ = rules.approve_share(record.id)
    assert approved.state is ShareState.APPROVED
    assert [d.serial for d in bridge.devices("alice-ira")] == [card]
    with pytest.raises(BridgeError):
        rules.approve_share(record.id)


def test_compliance_refusal(bridge: Bridge, rules: Policies, slsemu_home: Path) -> None:
    add_user(bridge, "alice", entity="E1", identification=ALICE_ID)
    add_user(bridge, "alice-ira", entity="E2", identification=ALICE_ID)
    card = device(bridge, "alice", "dscplus", slsemu_home)
    record, _ = share(rules, "alice-ira", card, slsemu_home)
    assert rules.refuse_share(record.id).state is ShareState.REFUSED
    assert bridge.devices("alice-ira") == []


def test_sharing_errors_from_the_store(bridge: Bridge, rules: Policies, slsemu_home: Path) -> None:
    add_user(bridge, "alice", entity="E1", identification=ALICE_ID)
    add_user(bridge, "alice2", entity="E1", identification=ALICE_ID)
    add_user(bridge, "bob", entity="E9")
    weak = device(bridge, "alice2", "scc", slsemu_home)
    strong = device(bridge, "alice", "dscplus", slsemu_home)
    record, decision = share(rules, "alice", weak, slsemu_home)
    assert decision.reason == LESS_SECURE_DEVICE and record.state is ShareState.REFUSED
    assert share(rules, "bob", strong, slsemu_home)[1].reason == DIFFERENT_IDENTIFICATION
    # Refused requests change nothing.
    assert [d.serial for d in bridge.devices("alice")] == [strong]


def test_ssn_identifies_us_persons(bridge: Bridge, rules: Policies, slsemu_home: Path) -> None:
    us = Identification("1965-01-01", "US", "US", "ssn", "078-05-1120")
    add_user(bridge, "sam", entity="E1", identification=us)
    add_user(bridge, "sam-llc", entity="E2", identification=us)
    card = device(bridge, "sam", "dscplus", slsemu_home)
    assert share(rules, "sam-llc", card, slsemu_home)[0].state is ShareState.PENDING


def test_temporary_code_blocks_sharing(bridge: Bridge, rules: Policies, slsemu_home: Path) -> None:
    add_user(bridge, "alice", entity="E1", identification=ALICE_ID)
    add_user(bridge, "alice2", entity="E1", identification=ALICE_ID)
    card = device(bridge, "alice", "dscplus", slsemu_home)
    rules.issue_temporary_code("alice2")
    assert share(rules, "alice2", card, slsemu_home)[1].state is ShareState.REFUSED


# --- temporary access ------------------------------------------------------------------------


def test_temporary_code_two_days_full_ten_portal_only(
    bridge: Bridge, rules: Policies, clock: Clock
) -> None:
    add_user(bridge, "alice")
    issued = rules.issue_temporary_code("alice")
    assert len(issued.code) == 8 and issued.code.isdigit()
    assert rules.check_temporary_code("alice", issued.code) is Access.FULL
    clock.now += 2 * DAY
    assert rules.check_temporary_code("alice", issued.code) is Access.PORTAL_ONLY
    clock.now += 10 * DAY
    assert rules.check_temporary_code("alice", issued.code) is Access.EXPIRED
    assert rules.check_temporary_code("alice", "00000000") is None
    # The code is stored only as a hash and never audited.
    dump = store_dump(bridge)
    assert issued.code not in dump
    assert issued.code not in repr(issued)


def test_never_two_temporary_codes_in_a_row(
    bridge: Bridge, rules: Policies, slsemu_home: Path, clock: Clock
) -> None:
    add_user(bridge, "alice")
    rules.issue_temporary_code("alice")
    clock.now += 13 * DAY  # even after it expired
    with pytest.raises(Refused):
        rules.issue_temporary_code("alice")
    device(bridge, "alice", "scc", slsemu_home)  # a permanent device activated since
    rules.issue_temporary_code("alice")


def test_online_scc_21_days_withdrawals_and_reactivation(
    bridge: Bridge, rules: Policies, slsemu_home: Path, clock: Clock
) -> None:
    add_user(bridge, "alice")
    card = device(bridge, "alice", "dscplus", slsemu_home)
    set_device(bridge, card, clock(), status="locked")
    with pytest.raises(Refused):
        rules.issue_online_scc("alice", slsemu_home / "online.img")
    assert not (slsemu_home / "online.img").exists()
    rules.issue_temporary_code("alice")
    clock.now += 3 * DAY  # portal-only: enough to print the Online SCC
    record = rules.issue_online_scc("alice", slsemu_home / "online.img")
    assert (slsemu_home / "online.img").exists()
    assert record.portal_until - record.issued == 21 * DAY
    assert record.serial is not None
    assert bridge.device(record.serial).valid_until == record.portal_until
    assert rules.withdraw("alice", record.serial, usd(200_000)).allowed
    assert not rules.withdraw("alice", record.serial, usd(1)).allowed  # SCC limits
    rules.reactivate("alice", card)
    assert bridge.device(card).status == "active"
    assert bridge.device(record.serial).status == "revoked"
    assert all(r.status == "replaced" for r in rules.temp_status("alice"))


def test_online_scc_expires_after_21_days(
    bridge: Bridge, rules: Policies, slsemu_home: Path, clock: Clock
) -> None:
    add_user(bridge, "alice")
    rules.issue_temporary_code("alice")
    record = rules.issue_online_scc("alice", None)
    clock.now += 21 * DAY
    assert record.serial is not None
    assert bridge.devices("alice") == []
    assert [r.access for r in rules.temp_status("alice")] == ["expired", "expired"]


def test_expired_temporary_code_prints_no_online_scc(
    bridge: Bridge, rules: Policies, clock: Clock
) -> None:
    add_user(bridge, "alice")
    rules.issue_temporary_code("alice")
    clock.now += 12 * DAY
    with pytest.raises(Refused, match="expired"):
        rules.issue_online_scc("alice", None)


# --- DSC+ orders -----------------------------------------------------------------------------


def test_order_ship_activate_with_the_soft_pin_return_releases_hold(
    bridge: Bridge, rules: Policies, slsemu_home: Path, clock: Clock
) -> None:
    add_user(bridge, "alice", balance_cents=usd(500_000))
    mobile = device(bridge, "alice", "ibkey", slsemu_home)
    order = rules.order_dscplus("alice", "1234", slsemu_home / "card.img")
    assert order.state is OrderState.ORDERED and order.hold is Hold.HELD
    assert order.hold_cents == usd(20)
    assert order.serial is not None and bridge.device(order.serial).status == "pending"
    assert (slsemu_home / "card.img").exists()
    with pytest.raises(Refused, match="already on order"):
        rules.order_dscplus("alice", "1234", slsemu_home / "card2.img")
    shipped_on = dt.date(2026, 11, 24)
    rules.ship_order(order.id, shipped_on)
    # Not a replacement: KB1943 ties auto-activation to "the replacement device".
    assert rules.sweep_orders(shipped_on + dt.timedelta(days=60)) == []
    assert rules.send_notices(shipped_on + dt.timedelta(days=20)) == []
    activated = rules.activate_order(order.id, "1234")
    assert activated.state is OrderState.ACTIVE
    assert {d.serial for d in bridge.devices("alice")} == {mobile, order.serial}  # M2FS
    returned = rules.return_order(order.id)
    assert returned.state is OrderState.RETURNED and returned.hold is Hold.RELEASED
    assert bridge.device(order.serial).status == "revoked"


def test_a_replacement_auto_activates_three_weeks_after_shipment_with_notices(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    """KB1943 note 3: "the replacement device is set to auto-activate within three weeks from
    the shipment date. IBKR will notify you when the auto-activation is approaching and when
    it is imminent." """
    order = replacement_order(bridge, rules, slsemu_home)
    shipped_on = dt.date(2026, 11, 24)
    rules.ship_order(order.id, shipped_on)
    assert rules.send_notices(shipped_on + dt.timedelta(days=13)) == []
    approaching = rules.send_notices(shipped_on + dt.timedelta(days=14))
    assert [n.kind for n in approaching] == ["auto-activation-approaching"]
    assert "2026-12-15" in approaching[0].text
    assert rules.send_notices(shipped_on + dt.timedelta(days=15)) == []  # once
    imminent = rules.send_notices(shipped_on + dt.timedelta(days=20))
    assert [n.kind for n in imminent] == ["auto-activation-imminent"]
    assert rules.send_notices(shipped_on + dt.timedelta(days=21)) == []
    assert rules.sweep_orders(shipped_on + dt.timedelta(days=20)) == []
    activated = rules.sweep_orders(shipped_on + dt.timedelta(days=21))
    assert [o.state for o in activated] == [OrderState.ACTIVE]
    kinds = [n.kind for n in rules.notices("alice")]
    assert kinds == ["confirmation", "auto-activation-approaching", "auto-activation-imminent"]
    audited = [r.outcome for r in bridge.audit() if r.event == "notice"]
    assert audited == kinds


def test_a_late_sweep_sends_only_the_imminent_notice(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    order = replacement_order(bridge, rules, slsemu_home)
    shipped_on = dt.date(2026, 11, 24)
    rules.ship_order(order.id, shipped_on)
    sent = rules.send_notices(shipped_on + dt.timedelta(days=21))
    assert [n.kind for n in sent] == ["auto-activation-imminent"]


def test_a_sweep_skips_a_card_activated_since_it_listed_the_orders(
    bridge: Bridge, rules: Policies, slsemu_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = replacement_order(bridge, rules, slsemu_home)
    shipped_on = dt.date(2026, 11, 24)
    rules.ship_order(order.id, shipped_on)
    listed = rules.orders()
    rules.activate_order(order.id, "4321")  # by the client (or another sweep) after the listing
    monkeypatch.setattr(rules, "orders", lambda user=None: listed)
    assert rules.sweep_orders(shipped_on + dt.timedelta(days=21)) == []
    assert rules.order(order.id).state is OrderState.ACTIVE


def test_activating_an_order_never_revives_a_revoked_card(
    bridge: Bridge, rules: Policies
) -> None:
    add_user(bridge, "alice", equity_cents=usd(1_000_001))
    order = rules.order_dscplus("alice", "1234", None)
    rules.ship_order(order.id)
    assert order.serial is not None
    bridge.revoke(order.serial)  # the administrator took the card out of use
    with pytest.raises(BridgeError, match="revoked"):
        rules.activate_order(order.id, "1234")
    assert rules.sweep_orders(rules.today() + dt.timedelta(days=30)) == []  # skipped, no error
    assert bridge.device(order.serial).status == "revoked"
    assert rules.order(order.id).state is OrderState.SHIPPED


def test_lost_card_keeps_the_hold(bridge: Bridge, rules: Policies, slsemu_home: Path) -> None:
    add_user(bridge, "alice", equity_cents=usd(1_000_001))
    order = rules.order_dscplus("alice", "1234", None)
    rules.ship_order(order.id)
    rules.activate_order(order.id, "1234")
    assert order.serial is not None
    lost = rules.report_lost(order.serial, LossReason.STOLEN)
    assert lost is not None and lost.hold is Hold.KEPT
    # Replacement: temporary access, then an Online SCC, then the order.
    with pytest.raises(Refused, match="Online Security Code Card"):
        rules.order_dscplus("alice", "4321", None, replacing=True)
    rules.issue_temporary_code("alice")
    rules.issue_online_scc("alice", None)
    replacement = rules.order_dscplus("alice", "4321", None, replacing=True)
    assert replacement.state is OrderState.ORDERED and replacement.replaces == order.serial


def test_ineligible_order_refused_and_audited(bridge: Bridge, rules: Policies) -> None:
    add_user(bridge, "alice", equity_cents=usd(1_000_000))
    with pytest.raises(Refused, match="equity above"):
        rules.order_dscplus("alice", "1234", None)
    with pytest.raises(BridgeError, match="4 digits"):
        rules.order_dscplus("alice", "12345", None)
    assert [r.outcome for r in bridge.audit() if r.event == "order.dscplus"] == ["refused"]
    assert rules.orders() == []


def test_order_transitions_refuse_bad_events(bridge: Bridge, rules: Policies) -> None:
    add_user(bridge, "alice", equity_cents=usd(2_000_000))
    order = rules.order_dscplus("alice", "1234", None)
    with pytest.raises(BridgeError):
        rules.return_order(order.id)
    with pytest.raises(BridgeError):
        rules.ship_order(order.id, dt.date(2020, 1, 1))
    with pytest.raises(BridgeError):
        rules.order(999)


def test_ib_key_add_user_instead_of_sharing(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice")
    add_user(bridge, "alice2")
    app = device(bridge, "alice", "ibkey", slsemu_home)
    assert share(rules, "alice2", app, slsemu_home)[1].reason == IB_KEY_ADD_USER
    with pytest.raises(Refused):
        rules.ibkey_add_user(app, "alice2", "wrong password")
    rules.ibkey_add_user(app, "alice2", "pw")
    assert [d.serial for d in bridge.devices("alice2")] == [app]
    with pytest.raises(BridgeError):
        rules.ibkey_add_user(app, "alice2", "pw")
    rules.ibkey_remove_user(app, "alice2")
    assert bridge.devices("alice2") == []
    with pytest.raises(BridgeError):
        rules.ibkey_remove_user(app, "alice")  # the owner stays


def test_policies_toml_overrides_the_seed_figures(
    bridge: Bridge, slsemu_home: Path, clock: Clock
) -> None:
    (slsemu_home / "policies.toml").write_text(
        "[withdrawal_limits]\n"
        'scc = [10, 20]\ndscplus = [1000, "unlimited"]\n'
        "[ordering]\nhold = 25\nauto_activation_days = 7\n"
        "[temporary]\nfull_access_days = 1\ncode_digits = 10\n"
    )
    config = load_policy_config(slsemu_home)
    assert config.limits["scc"] == Limit(usd(10), usd(20))
    assert config.limits["dscplus"] == Limit(usd(1000), None)
    assert config.limits["ibkey"] == Limit(usd(1_000_000), usd(1_000_000))
    assert config.ordering.hold_cents == usd(25)
    assert config.temporary.full_access == dt.timedelta(days=1)
    rules = Policies(bridge, config)
    add_user(bridge, "alice")
    card = device(bridge, "alice", "scc", slsemu_home)
    assert not rules.withdraw("alice", card, usd(11)).allowed
    assert len(rules.issue_temporary_code("alice").code) == 10


@pytest.mark.parametrize(
    "text",
    [
        "[withdrawal_limits]\nscc = [1]\n",
        "[withdrawal_limits]\nnonesuch = [1, 2]\n",
        '[withdrawal_limits]\nscc = [-1, "lots"]\n',
        "[ordering]\nhold = true\n",
        "[ordering]\ncolour = 1\n",
        "[extra]\n",
        "not toml [",
    ],
)
def test_bad_policies_toml_is_refused(slsemu_home: Path, text: str) -> None:
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "policies.toml").write_text(text)
    with pytest.raises(BridgeError, match=r"policies\.toml"):
        load_policy_config(slsemu_home)


def test_policies_toml_that_is_not_utf8_is_refused(slsemu_home: Path) -> None:
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "policies.toml").write_bytes(b"\xff\xfe[ordering]\n")
    with pytest.raises(BridgeError, match=r"policies\.toml"):
        load_policy_config(slsemu_home)


def test_a_card_not_yet_shipped_cannot_be_lost(bridge: Bridge, rules: Policies) -> None:
    add_user(bridge, "alice", equity_cents=usd(2_000_000))
    order = rules.order_dscplus("alice", "1234", None)
    assert order.serial is not None
    with pytest.raises(BridgeError, match="ordered"):
        rules.report_lost(order.serial)
    assert rules.order(order.id).state is OrderState.ORDERED
