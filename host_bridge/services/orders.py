"""DSC+ orders (KB1943): eligibility, the Soft PIN, the USD 20 hold, shipping, activation (by the
client or, three weeks after shipping, automatically), return and loss. An activation never
revives a card an administrator revoked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from host_bridge.audit import MAX_DETAIL_TEXT
from host_bridge.db.engine import Tx
from host_bridge.domain import DeviceStatus, OrderState
from host_bridge.errors import BridgeError, Refused
from host_bridge.policies.ordering import (
    OrderEvent,
    auto_activation_due,
    check_soft_pin,
    dscplus_eligibility,
    hold_state,
    next_order_state,
)
from host_bridge.repos import devices, orders, users
from host_bridge.repos.orders import OrderRecord
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.holdings import discard, held_devices, midnight, utc
from host_bridge.services.policy_config import PolicyConfig
from host_bridge.services.provisioning import ProvisioningService


class OrderService:
    def __init__(
        self, ctx: Context, config: PolicyConfig, provisioning: ProvisioningService
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.provisioning = provisioning

    def order_dscplus(
        self, user: str, soft_pin: str, image_path: Path | None, *, replacing: bool = False
    ) -> OrderRecord:
        """Order a DSC+: the card is provisioned now (image written to `image_path`) and stays
        `pending` until activated. Raises `Refused` if the user is not eligible."""
        try:
            check_soft_pin(soft_pin, self.config.ordering)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        refusal, order_id = self._order(user, soft_pin, image_path, replacing)
        if refusal is not None:
            raise Refused(refusal)
        return self.order(order_id)

    @unit_of_work
    def _order(
        self, user: str, soft_pin: str, image_path: Path | None, replacing: bool
    ) -> tuple[str | None, int]:
        ctx = self.ctx
        now = ctx.clock()
        with ctx.db.transaction() as tx:
            record = users.get(tx, user, lock=True)
            eligibility = dscplus_eligibility(
                record.equity_cents, record.balance_cents, held_devices(tx, user, now),
                replacing=replacing, open_order=orders.has_open(tx, user),
                config=self.config.ordering,
            )
            if not eligibility.allowed:
                ctx.audit("order.dscplus", "refused", user=user, reason=eligibility.reason)
                return eligibility.reason, 0
            written = False
            try:
                result = self.provisioning.provision(
                    user, "dscplus", pin=soft_pin, image_path=image_path, pending=True
                )
                written = image_path is not None
                hold = self.config.ordering.hold_cents
                order_id = orders.add(tx, user, "dscplus", result.serial, now, hold)
                ctx.audit(
                    "order.dscplus", "ordered", user=user, serial=result.serial, order=order_id,
                    why=eligibility.reason[:MAX_DETAIL_TEXT], hold_cents=hold,
                )
            except BaseException:
                discard(image_path if written else None)
                raise
        return None, order_id

    def ship_order(self, order_id: int, day: dt.date | None = None) -> OrderRecord:
        """The card left the warehouse on `day` (default today): auto-activation is scheduled."""
        shipped = midnight(day) if day is not None else self.ctx.clock()
        if day is not None and day < utc(self.order(order_id).ordered).date():
            raise BridgeError(f"order {order_id} cannot ship before it was placed")
        by = shipped + self.config.ordering.auto_activation.total_seconds()
        return self._event(order_id, OrderEvent.SHIP, shipped=shipped, auto_activate_by=by)

    def activate_order(self, order_id: int) -> OrderRecord:
        """The client activates the shipped card (the other devices stay active: M2FS)."""
        return self._event(order_id, OrderEvent.ACTIVATE)

    def return_order(self, order_id: int) -> OrderRecord:
        """The card came back to the broker: the USD 20 hold is released."""
        return self._event(order_id, OrderEvent.RETURN)

    def report_lost(self, serial: str) -> OrderRecord | None:
        """A card was lost, stolen or damaged: it is revoked; its order's hold is kept."""
        with self.ctx.db.read() as tx:
            order_id = orders.live_for_card(tx, serial)
        if order_id is not None:
            # An order not yet shipped has no card to lose: `_event` refuses it.
            return self._event(order_id, OrderEvent.LOSE)
        self._revoke_lost(serial)
        return None

    @unit_of_work
    def _revoke_lost(self, serial: str) -> None:
        with self.ctx.db.transaction() as tx:
            device = devices.get(tx, serial, lock=True)
            if device.status in (DeviceStatus.REVOKED, DeviceStatus.REPLACED):
                raise BridgeError(f"device {serial} is already {device.status}")
            devices.update_device(tx, serial, self.ctx.clock(), status=DeviceStatus.REVOKED)
            self.ctx.audit("device.lost", "revoked", serial=serial)

    def sweep_orders(self, day: dt.date | None = None) -> list[OrderRecord]:
        """Activate every shipped card whose three weeks are over (KB1943 note 3)."""
        today = day or self.ctx.today()

        def is_due(record: OrderRecord) -> bool:
            shipped = None if record.shipped is None else utc(record.shipped).date()
            return auto_activation_due(record.state, shipped, today, self.config.ordering)

        due = []
        for record in self.orders():
            if is_due(record):
                # Checked again under the write lock: another sweep (or the client) may have
                # activated or returned the card since the listing; that is no error.
                activated = self._move(record.id, OrderEvent.ACTIVATE, True, None, None, is_due)
                if activated is not None:
                    due.append(activated)
        return due

    def orders(self, user: str | None = None) -> list[OrderRecord]:
        with self.ctx.db.read() as tx:
            return [orders.get(tx, i) for i in orders.ids(tx, user)]

    def order(self, order_id: int) -> OrderRecord:
        with self.ctx.db.read() as tx:
            return orders.get(tx, order_id)

    def _event(
        self,
        order_id: int,
        event: OrderEvent,
        *,
        auto: bool = False,
        shipped: float | None = None,
        auto_activate_by: float | None = None,
    ) -> OrderRecord:
        moved = self._move(order_id, event, auto, shipped, auto_activate_by, None)
        assert moved is not None  # only a sweep's `due` check skips an order
        return moved

    @unit_of_work
    def _move(
        self,
        order_id: int,
        event: OrderEvent,
        auto: bool,
        shipped: float | None,
        auto_activate_by: float | None,
        due: Callable[[OrderRecord], bool] | None,
    ) -> OrderRecord | None:
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            record = orders.get(tx, order_id, lock=True)
            card = _card_status(tx, record)
            if due is not None and not (due(record) and card in (None, DeviceStatus.PENDING)):
                return None
            try:
                state = next_order_state(record.state, event)
            except ValueError as exc:
                raise BridgeError(str(exc)) from None
            if state is OrderState.ACTIVE and card not in (None, DeviceStatus.PENDING):
                # e.g. revoked by an administrator: activating the order must not revive it
                raise BridgeError(f"the card {record.serial} of order {order_id} is {card}")
            orders.move(tx, order_id, state, shipped=shipped, auto_activate_by=auto_activate_by)
            if record.serial is not None:
                if state is OrderState.ACTIVE:
                    devices.update_device(
                        tx, record.serial, now, status=DeviceStatus.ACTIVE, activated=now
                    )
                elif state in (OrderState.RETURNED, OrderState.LOST):
                    devices.update_device(tx, record.serial, now, status=DeviceStatus.REVOKED)
            self.ctx.audit(
                f"order.{event.value}", state.value, user=record.user, serial=record.serial,
                order=order_id, hold=hold_state(state).value, auto=auto,
            )
            return orders.get(tx, order_id)


def _card_status(tx: Tx, record: OrderRecord) -> DeviceStatus | None:
    """The status of the order's card (None before it has one)."""
    return None if record.serial is None else devices.get(tx, record.serial).status
