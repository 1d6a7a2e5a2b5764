"""Issue 11, points 1-4 on a real store, each from the seed's own wording: sharing needs the
owner's consent (KB2481), a replacement only replaces (KB1943), the Soft PIN activates the card
and changes in the portal (KB1943, KB1018), and the ordering details (KB1943)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from host_bridge.bridge import Bridge
from host_bridge.domain import Identification
from host_bridge.errors import BridgeError, Locked, Refused
from host_bridge.policies.ordering import Hold, LossReason, OrderState
from host_bridge.policies.sharing import ShareState
from host_bridge.services.consent import NOT_FOR_THIS
from host_bridge.services.policies import Policies
from host_bridge.verification import WRONG
from tests.bridge_helpers import device_answer
from tests.policy_helpers import (  # noqa: F401 (fixtures)
    ALICE_ID,
    add_user,
    bridge_fixture,
    card_answer,
    clock_fixture,
    device,
    replacement_order,
    rules_fixture,
    share,
)

# --- 1. sharing needs the owner's consent (KB2481 steps 6-7) -------------------------------


def two_alices(bridge: Bridge, home: Path, model: str = "dscplus") -> str:
    add_user(bridge, "alice", entity="E1", identification=ALICE_ID)
    add_user(bridge, "alice2", entity="E1", identification=ALICE_ID)
    return device(bridge, "alice", model, home)


@pytest.mark.parametrize("model", ["dscplus", "scc"])
def test_enter_the_credentials_of_the_device_owner(
    bridge: Bridge, rules: Policies, slsemu_home: Path, model: str
) -> None:
    """Step 6, "Enter the credentials of the device owner": a wrong password is refused,
    audited, and records no request."""
    card = two_alices(bridge, slsemu_home, model)
    with pytest.raises(Refused, match="owner credentials"):
        share(rules, "alice2", card, slsemu_home, password="not alice's")
    assert rules.shares() == [] and bridge.devices("alice2") == []
    refused = [r for r in bridge.audit() if r.event == "share.request"]
    assert [r.outcome for r in refused] == ["refused"]
    assert "not alice's" not in str(refused[0].detail)
    assert share(rules, "alice2", card, slsemu_home)[0].state is ShareState.APPROVED


@pytest.mark.parametrize("model", ["dscplus", "scc", "ibkey"])
def test_operate_the_sls_device_and_enter_the_response_code(
    bridge: Bridge, rules: Policies, slsemu_home: Path, model: str
) -> None:
    """Step 7, "Operate the SLS Device ... enter the response code": a wrong response is
    refused and counted against the device like any failed code."""
    card = two_alices(bridge, slsemu_home, model)
    issued = rules.share_challenge("alice2", card)
    with pytest.raises(Refused, match=WRONG):
        rules.request_share("alice2", card, "pw", issued.id, "00000000")
    assert bridge.device(card).failures == 1
    with pytest.raises(Refused):  # the challenge answered once: a right answer now is too late
        right = card_answer(bridge, slsemu_home, card, issued.text)
        rules.request_share("alice2", card, "pw", issued.id, right)
    assert rules.shares() == []


def test_a_login_challenge_is_not_a_sharing_consent(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    """The response must answer "a challenge issued for this request"."""
    card = two_alices(bridge, slsemu_home)
    login = bridge.issue_challenge(card)
    right = card_answer(bridge, slsemu_home, card, login.text)
    with pytest.raises(Refused, match=NOT_FOR_THIS):
        rules.request_share("alice2", card, "pw", login.id, right)
    add_user(bridge, "alice3", entity="E1", identification=ALICE_ID)
    other = rules.share_challenge("alice3", card)  # issued for alice3's request, not alice2's
    right = card_answer(bridge, slsemu_home, card, other.text)
    with pytest.raises(Refused, match=NOT_FOR_THIS):
        rules.request_share("alice2", card, "pw", other.id, right)
    assert rules.shares() == []


def test_the_owner_password_is_guess_limited(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    card = two_alices(bridge, slsemu_home)
    for _ in range(bridge.config.lockout_after):
        with pytest.raises(Refused):
            share(rules, "alice2", card, slsemu_home, password="guess")
    with pytest.raises(Locked):
        share(rules, "alice2", card, slsemu_home)


# --- 2. replacement orders only replace (KB1943) -------------------------------------------


def test_no_replacement_without_a_dscplus_reported(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    """Equity 0 and an Online SCC do not make a replacement: KB1943's replacement is for "a
    Digital Security Card+ which has been lost, stolen or has become inoperable"."""
    add_user(bridge, "bob")
    scc = device(bridge, "bob", "scc", slsemu_home)
    rules.report_lost(scc, LossReason.LOST)  # an SCC reported lost is no DSC+
    rules.issue_temporary_code("bob")
    rules.issue_online_scc("bob", None)
    with pytest.raises(Refused, match="reported lost, stolen or inoperable"):
        rules.order_dscplus("bob", "1234", None, replacing=True)
    assert rules.orders() == []


def test_one_replacement_per_reported_card(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    order = replacement_order(bridge, rules, slsemu_home)
    rules.ship_order(order.id)
    rules.activate_order(order.id, "4321")
    with pytest.raises(Refused, match="reported"):
        rules.order_dscplus("alice", "1234", None, replacing=True)


def test_only_a_replacement_auto_activates(bridge: Bridge, rules: Policies) -> None:
    add_user(bridge, "rich", equity_cents=200_000_000)
    order = rules.order_dscplus("rich", "1234", None)
    shipped = rules.ship_order(order.id, dt.date(2026, 11, 24))
    assert shipped.auto_activate_by is None
    assert rules.sweep_orders(dt.date(2027, 1, 1)) == []


# --- 3. the Soft PIN activates the card and changes in the portal (KB1943, KB1018) ----------


def test_activate_with_the_soft_pin_chosen_at_ordering(
    bridge: Bridge, rules: Policies
) -> None:
    """KB1943 step 3: the Soft PIN "will be necessary to activate and to operate your device"."""
    add_user(bridge, "rich", equity_cents=200_000_000)
    order = rules.order_dscplus("rich", "1234", None)
    assert order.serial is not None
    with pytest.raises(BridgeError, match="ordered"):  # not shipped: nothing is charged
        rules.activate_order(order.id, "1234")
    rules.ship_order(order.id)
    with pytest.raises(Refused, match="wrong Soft PIN"):
        rules.activate_order(order.id, "9999")
    assert bridge.device(order.serial).failures == 1
    assert bridge.device(order.serial).status == "pending"
    assert rules.activate_order(order.id, "1234").state is OrderState.ACTIVE
    assert bridge.device(order.serial).failures == 0
    outcomes = [r.outcome for r in bridge.audit() if r.event == "order.soft_pin"]
    assert outcomes == ["refused", "ok"]


def test_wrong_soft_pins_spend_the_cards_budget(bridge: Bridge, rules: Policies) -> None:
    add_user(bridge, "rich", equity_cents=200_000_000)
    order = rules.order_dscplus("rich", "1234", None)
    assert order.serial is not None
    rules.ship_order(order.id)
    for _ in range(bridge.config.lockout_after):
        with pytest.raises(Refused):
            rules.activate_order(order.id, "0000")
    with pytest.raises(Locked):
        rules.activate_order(order.id, "1234")  # refused without comparing
    bridge.unlock(order.serial)  # the administrator; the card stays pending
    assert bridge.device(order.serial).status == "pending"
    assert rules.activate_order(order.id, "1234").state is OrderState.ACTIVE


def login(bridge: Bridge, home: Path, serial: str, pin: str) -> bool:
    issued = bridge.issue_challenge(serial)
    image = home / "alice-dscplus.img"
    return bridge.verify(serial, issued.id, device_answer(image, issued.text, 0.0, pin)).accepted


def test_portal_soft_pin_change(bridge: Bridge, rules: Policies, slsemu_home: Path) -> None:
    """KB1018: the Soft PIN is changed in the portal, authenticated by the card's response under
    the old PIN; from then on the card answers with the new PIN (the card keeps no PIN)."""
    add_user(bridge, "alice")
    card = device(bridge, "alice", "dscplus", slsemu_home)
    image = slsemu_home / "alice-dscplus.img"
    issued = rules.pin_challenge(card)
    old_answer = device_answer(image, issued.text, 0.0, "1234")
    assert rules.change_pin(card, issued.id, old_answer, "5678").accepted
    assert login(bridge, slsemu_home, card, "5678")
    assert not login(bridge, slsemu_home, card, "1234")
    changes = [r.outcome for r in bridge.audit() if r.event == "pin.change"]
    assert changes == ["changed"]


def test_a_wrong_response_changes_no_pin(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice")
    card = device(bridge, "alice", "dscplus", slsemu_home)
    issued = rules.pin_challenge(card)
    verdict = rules.change_pin(card, issued.id, "12345678", "5678")
    assert not verdict.accepted and bridge.device(card).failures == 1
    login_challenge = bridge.issue_challenge(card)  # not issued for a PIN change
    right = device_answer(slsemu_home / "alice-dscplus.img", login_challenge.text, 0.0, "1234")
    assert rules.change_pin(card, login_challenge.id, right, "5678").reason == NOT_FOR_THIS
    with pytest.raises(BridgeError, match="4 digits"):
        rules.change_pin(card, rules.pin_challenge(card).id, right, "56789")
    assert login(bridge, slsemu_home, card, "1234")


def test_no_portal_pin_for_other_devices(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    add_user(bridge, "alice")
    scc = device(bridge, "alice", "scc", slsemu_home)
    with pytest.raises(BridgeError, match="no Soft PIN"):
        rules.pin_challenge(scc)
    on_card = bridge.provision("alice", "dscplus", pin="1234", pin_mode="device").serial
    with pytest.raises(BridgeError, match="change it on the card"):
        rules.pin_challenge(on_card)


# --- 4. ordering details (KB1943) ----------------------------------------------------------


def test_hold_account_and_estimated_shipment(bridge: Bridge, rules: Policies) -> None:
    """Step 3: "you may change the account on which the 20 USD deposit will be kept on hold";
    step 5: "a final confirmation containing the estimated shipment date"."""
    add_user(bridge, "rich", equity_cents=200_000_000, account="U1", entity="E1")
    add_user(bridge, "rich-ira", account="U2", entity="E1")
    add_user(bridge, "stranger", account="U9", entity="E9")
    with pytest.raises(BridgeError, match="held on U1, U2"):
        rules.order_dscplus("rich", "1234", None, hold_account="U9")
    assert rules.orders() == []
    order = rules.order_dscplus("rich", "1234", None, hold_account="U2")
    assert order.hold_account == "U2"
    assert order.ship_estimate == "2026-11-26"  # ordered Monday 2026-11-23: 3 business days
    confirmation = rules.notices("rich")
    assert [n.kind for n in confirmation] == ["confirmation"]
    assert "2026-11-26" in confirmation[0].text


def test_an_inoperable_card_keeps_no_hold_once_returned(
    bridge: Bridge, rules: Policies
) -> None:
    """KB1943 note 2: the hold is kept for a card "lost, intentionally damaged, stolen"; "In any
    other case, the hold will be released once your device has been returned"."""
    add_user(bridge, "rich", equity_cents=200_000_000)
    order = rules.order_dscplus("rich", "1234", None)
    assert order.serial is not None
    rules.ship_order(order.id)
    rules.activate_order(order.id, "1234")
    broken = rules.report_lost(order.serial, LossReason.INOPERABLE)
    assert broken is not None and broken.hold is Hold.HELD
    assert bridge.device(order.serial).status == "revoked"
    assert rules.return_order(order.id).hold is Hold.RELEASED
    with pytest.raises(BridgeError, match="already"):
        rules.report_lost(order.serial, LossReason.LOST)


def test_intentional_damage_keeps_the_hold(bridge: Bridge, rules: Policies) -> None:
    add_user(bridge, "rich", equity_cents=200_000_000)
    order = rules.order_dscplus("rich", "1234", None)
    assert order.serial is not None
    with pytest.raises(BridgeError, match="not shipped"):  # no card yet, for any reason
        rules.report_lost(order.serial, LossReason.INOPERABLE)
    assert bridge.device(order.serial).status == "pending"
    rules.ship_order(order.id)
    damaged = rules.report_lost(order.serial, LossReason.DAMAGED)
    assert damaged is not None and damaged.hold is Hold.KEPT


def test_a_request_without_the_consent_is_refused_and_audited(
    bridge: Bridge, rules: Policies, slsemu_home: Path
) -> None:
    """Today's reproducer (`share request` with neither password nor response) is refused."""
    card = two_alices(bridge, slsemu_home)
    with pytest.raises(Refused, match="no owner credentials"):
        rules.request_share("alice2", card, None, None, None)
    with pytest.raises(Refused, match="no response"):
        rules.request_share("alice2", card, "pw", None, None)
    assert rules.shares() == [] and bridge.devices("alice2") == []
    outcomes = [r.outcome for r in bridge.audit() if r.event == "share.request"]
    assert outcomes == ["refused", "refused"]


def test_a_closed_account_keeps_the_hold_and_orders_no_replacement(
    bridge: Bridge, rules: Policies
) -> None:
    """KB1943 note 2: "if you close your account without returning it to IBKR, we will use that
    amount as a compensation for the loss of the hardware"."""
    add_user(bridge, "rich", equity_cents=200_000_000)
    order = rules.order_dscplus("rich", "1234", None)
    assert order.serial is not None
    with pytest.raises(BridgeError, match="cannot close-account an order that is ordered"):
        rules.report_lost(order.serial, LossReason.CLOSED)  # nothing shipped: nothing to return
    assert rules.order(order.id).state is OrderState.ORDERED
    rules.ship_order(order.id)
    closed = rules.report_lost(order.serial, LossReason.CLOSED)
    assert closed is not None and closed.state is OrderState.CLOSED
    assert closed.hold is Hold.KEPT and bridge.device(order.serial).status == "revoked"
    assert [r.outcome for r in bridge.audit() if r.event == "order.close-account"] == ["closed"]
    with pytest.raises(BridgeError, match="cannot return an order that is closed"):
        rules.return_order(order.id)
    with pytest.raises(Refused, match="reported lost, stolen or inoperable"):
        rules.order_dscplus("rich", "1234", None, replacing=True)


def test_the_hold_accounts_are_the_same_individuals_without_reading_every_user(
    bridge: Bridge, rules: Policies
) -> None:
    """Ours (docs/policies.md): the USD 20 may be held on the accounts of the same entity or
    the same individual (KB2481's identification test) — found by one targeted query."""
    add_user(bridge, "alice", equity_cents=200_000_000, account="U1", identification=ALICE_ID)
    add_user(bridge, "alice-ira", account="U2", identification=ALICE_ID)
    add_user(bridge, "twin", account="U3",  # born the same day, another individual
             identification=Identification("1970-05-17", "IT", "CH", "passport", "ZZ1"))
    with pytest.raises(BridgeError, match="held on U1, U2 "):
        rules.order_dscplus("alice", "1234", None, hold_account="U3")
    assert rules.order_dscplus("alice", "1234", None, hold_account="U2").hold_account == "U2"
