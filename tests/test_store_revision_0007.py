"""Revision 0007 (issue 11 point 4): `closed` joins the loss reasons and the order states, on both
engines; upgrading a 0006 store keeps its rows (SQLite rebuilds both tables in batch mode)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from host_bridge.bridge import Bridge
from host_bridge.db.migrate import HEAD, alembic_config, current_revision, upgrade
from host_bridge.db.schema import device_reports, orders
from host_bridge.policies.ordering import Hold, LossReason, OrderState
from host_bridge.services.policies import Policies
from tests.policy_helpers import (  # noqa: F401 (fixtures)
    add_user,
    bridge_fixture,
    clock_fixture,
    rules_fixture,
)


def _rows(bridge: Bridge) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with bridge.db.read() as tx:
        order_rows = [tuple(r) for r in tx.conn.execute(select(orders).order_by(orders.c.id))]
        reports = [tuple(r) for r in tx.conn.execute(select(device_reports))]
    return order_rows, reports


def test_a_0006_store_upgrades_keeping_its_rows_and_then_takes_closed(
    bridge: Bridge, rules: Policies
) -> None:
    add_user(bridge, "rich", equity_cents=200_000_000)
    add_user(bridge, "other", equity_cents=200_000_000)
    lost = rules.order_dscplus("rich", "1234", None)
    kept = rules.order_dscplus("other", "5678", None)
    assert lost.serial is not None and kept.serial is not None
    rules.ship_order(lost.id)
    rules.ship_order(kept.id)
    rules.report_lost(lost.serial, LossReason.STOLEN)
    with bridge.db.transaction() as tx:
        command.downgrade(alembic_config(tx), "0006")
    before = _rows(bridge)
    assert len(before[0]) == 2 and len(before[1]) == 1
    # At 0006 the store refuses the new reason (what 0007 is for); the failed insert rolls back.
    with pytest.raises(IntegrityError), bridge.db.transaction() as tx:
        tx.conn.execute(insert(device_reports).values(
            serial=kept.serial, user="other", reason="closed", reported=0.0
        ))
    assert upgrade(bridge.db) == HEAD == "0007"
    with bridge.db.read() as tx:
        assert current_revision(tx) == HEAD
    assert _rows(bridge) == before
    closed = rules.report_lost(kept.serial, LossReason.CLOSED)
    assert closed is not None and closed.state is OrderState.CLOSED and closed.hold is Hold.KEPT
    with bridge.db.read() as tx:
        reasons = tx.conn.execute(
            select(device_reports.c.reason, func.count()).group_by(device_reports.c.reason)
            .order_by(device_reports.c.reason)
        ).all()
    assert [tuple(r) for r in reasons] == [("closed", 1), ("stolen", 1)]
    # The rebuilt `orders` still numbers new rows after the old ones (AUTOINCREMENT kept).
    add_user(bridge, "third", equity_cents=200_000_000)
    assert rules.order_dscplus("third", "1234", None).id == kept.id + 1


def test_downgrade_with_a_closed_row_is_refused_and_changes_nothing(
    bridge: Bridge, rules: Policies
) -> None:
    add_user(bridge, "rich", equity_cents=200_000_000)
    order = rules.order_dscplus("rich", "1234", None)
    assert order.serial is not None
    rules.ship_order(order.id)
    rules.report_lost(order.serial, LossReason.CLOSED)
    before = _rows(bridge)
    with pytest.raises(IntegrityError), bridge.db.transaction() as tx:
        command.downgrade(alembic_config(tx), "0006")
    with bridge.db.read() as tx:
        assert current_revision(tx) == HEAD
    assert _rows(bridge) == before
