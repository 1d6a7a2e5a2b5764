"""The policy tests' store fixtures (a bridge on each engine, a clock moved by hand; import the
`*_fixture` names to use them) and the client's steps they share: users, devices with their
images, a sharing request with the owner's consent, the KB1943 replacement path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.domain import Identification
from host_bridge.policies.ordering import LossReason
from host_bridge.policies.sharing import ShareDecision
from host_bridge.repos import devices as devices_repo
from host_bridge.repos.orders import OrderRecord
from host_bridge.repos.shares import ShareRecord
from host_bridge.services.policies import Policies
from tests.bridge_helpers import device_answer

MONDAY_NOON = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC).timestamp()
DAY = 86_400.0
ALICE_ID = Identification("1970-05-17", "IT", "CH", "passport", "YA1234567")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock(MONDAY_NOON)


@pytest.fixture(name="bridge")
def bridge_fixture(slsemu_home: Path, clock: Clock, store_engine: str) -> Iterator[Bridge]:
    """A bridge on each engine in turn."""
    with Bridge.open(slsemu_home, clock, config=BridgeConfig(scrypt_n=2)) as opened:
        opened.init()
        yield opened


@pytest.fixture(name="rules")
def rules_fixture(bridge: Bridge) -> Policies:
    return Policies(bridge)


def add_user(bridge: Bridge, name: str, **kwargs: Any) -> None:
    bridge.add_user(name, "pw", **kwargs)


def share(
    rules: Policies, requester: str, serial: str, home: Path, *, password: str = "pw"
) -> tuple[ShareRecord, ShareDecision]:
    """A sharing request with the owner's consent: the owner's password and the card's answer
    to a challenge issued for this request (KB2481 steps 6-7)."""
    issued = rules.share_challenge(requester, serial)
    response = card_answer(rules.bridge, home, serial, issued.text)
    return rules.request_share(requester, serial, password, issued.id, response)


def card_answer(bridge: Bridge, home: Path, serial: str, text: str) -> str:
    """What the owner's emulated card shows for `text` (`device` wrote its image)."""
    with bridge.db.read() as tx:
        owner = devices_repo.owner_of(tx, serial)
        model = devices_repo.get(tx, serial).model
    return device_answer(home / f"{owner}-{model}.img", text, bridge.clock())


def device(bridge: Bridge, user: str, model: str, home: Path) -> str:
    pin = "1234" if model in ("dscplus", "ibkey") else None
    serial = bridge.provision(user, model, pin=pin, image_path=home / f"{user}-{model}.img").serial
    if bridge.device(serial).status == "pending":
        bridge.activate(serial)
    return serial


def replacement_order(bridge: Bridge, rules: Policies, home: Path) -> OrderRecord:
    """KB1943's path: a DSC+ reported lost, temporary access by phone, an Online SCC, then the
    replacement order."""
    add_user(bridge, "alice")
    card = device(bridge, "alice", "dscplus", home)
    rules.report_lost(card, LossReason.LOST)
    rules.issue_temporary_code("alice")
    rules.issue_online_scc("alice", None)
    order = rules.order_dscplus("alice", "4321", None, replacing=True)
    assert order.replaces == card
    return order


