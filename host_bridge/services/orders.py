"""DSC+ orders (KB1943): eligibility, the Soft PIN, the USD 20 hold (on an account the client
chooses), the estimated shipment date, shipping, activation (by the client with the Soft PIN or,
for a replacement, three weeks after shipping, automatically, announced by notices), return and
loss. An activation never revives a card an administrator revoked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from host_bridge.audit import MAX_DETAIL_TEXT
from host_bridge.db.engine import Tx
from host_bridge.domain import DeviceStatus, OrderState
from host_bridge.errors import BridgeError, Locked, Refused
from host_bridge.policies.devices import DSCPLUS_MODELS
from host_bridge.policies.ordering import (
    LossReason,
    OrderEvent,
    auto_activation_date,
    auto_activation_due,
    check_soft_pin,
    dscplus_eligibility,
    estimated_shipment,
    hold_state,
    next_order_state,
    notice_due,
)
from host_bridge.repos import devices, orders, reports, users
from host_bridge.repos.orders import NewOrder, OrderRecord
from host_bridge.repos.reports import NoticeRecord
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.holdings import (
    discard,
    held_devices,
    hold_accounts,
    holiday_set,
    midnight,
    utc,
)
from host_bridge.services.policy_config import PolicyConfig
from host_bridge.services.provisioning import ProvisioningService
from host_bridge.services.softpin import SoftPinService


class OrderService:
    def __init__(
        self, ctx: Context, config: PolicyConfig, provisioning: ProvisioningService,
        soft_pins: SoftPinService,
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.provisioning = provisioning
        self.soft_pins = soft_pins

    def order_dscplus(
        self, user: str, soft_pin: str, image_path: Path | None, *, replacing: bool = False,
        hold_account: str | None = None,
    ) -> OrderRecord:
        """Order a DSC+: the card is provisioned now (image written to `image_path`) and stays
        `pending` until activated. The USD 20 is held on `hold_account` (default: the user's
        own; KB1943 step 3 "you may change the account on which the 20 USD deposit will be kept
        on hold"). Raises `Refused` if the user is not eligible."""
        try:
            check_soft_pin(soft_pin, self.config.ordering)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        refusal, order_id = self._order(user, soft_pin, image_path, replacing, hold_account)
        if refusal is not None:
            raise Refused(refusal)
        return self.order(order_id)

    @unit_of_work
    def _order(
        self, user: str, soft_pin: str, image_path: Path | None, replacing: bool,
        hold_account: str | None,
    ) -> tuple[str | None, int]:
        ctx = self.ctx
        now = ctx.clock()
        with ctx.db.transaction() as tx:
            record = users.get(tx, user, lock=True)
            accounts = hold_accounts(tx, user)
            account = record.account if hold_account is None else hold_account
            if account not in accounts:
                raise BridgeError(
                    f"the USD 20 can be held on {', '.join(accounts)} (the accounts of "
                    f"{user}'s own users), not on {account[:40]!r}"
                )
            replaced = orders.replaced(tx, user)
            reported = [
                serial for serial, why in reports.reported(tx, user).items()
                if why.replaceable and serial not in replaced
                and devices.get(tx, serial).model in DSCPLUS_MODELS
            ]
            eligibility = dscplus_eligibility(
                record.equity_cents, record.balance_cents, held_devices(tx, user, now),
                replacing=replacing, reported=reported, open_order=orders.has_open(tx, user),
                config=self.config.ordering,
            )
            if not eligibility.allowed:
                ctx.audit("order.dscplus", "refused", user=user, reason=eligibility.reason)
                return eligibility.reason, 0
            estimate = estimated_shipment(utc(now).date(), holiday_set(tx), self.config.ordering)
            new = NewOrder(
                self.config.ordering.hold_cents, account, estimate.isoformat(),
                reported[0] if replacing else None,
            )
            written = False
            try:
                result = self.provisioning.provision(
                    user, "dscplus", pin=soft_pin, image_path=image_path, pending=True
                )
                written = image_path is not None
                order_id = orders.add(tx, user, "dscplus", result.serial, now, new)
                ctx.audit(
                    "order.dscplus", "ordered", user=user, serial=result.serial, order=order_id,
                    why=eligibility.reason[:MAX_DETAIL_TEXT], hold_cents=new.hold_cents,
                    hold_account=account, estimated_shipment=new.ship_estimate,
                    replaces=new.replaces,
                )
                notify(ctx, tx, user, order_id, "confirmation",
                       f"DSC+ order {order_id} confirmed; estimated shipment date "
                       f"{new.ship_estimate}")
            except BaseException:
                discard(image_path if written else None)
                raise
        return None, order_id

    def ship_order(self, order_id: int, day: dt.date | None = None) -> OrderRecord:
        """The card left the warehouse on `day` (default today). A replacement's auto-activation
        is scheduled (KB1943 note 3: "the replacement device is set to auto-activate within
        three weeks from the shipment date"); any other card waits for its client."""
        shipped = midnight(day) if day is not None else self.ctx.clock()
        record = self.order(order_id)
        if day is not None and day < utc(record.ordered).date():
            raise BridgeError(f"order {order_id} cannot ship before it was placed")
        by = None
        if record.replaces is not None:
            by = shipped + self.config.ordering.auto_activation.total_seconds()
        return self._event(order_id, OrderEvent.SHIP, shipped=shipped, auto_activate_by=by)

    def activate_order(self, order_id: int, soft_pin: str) -> OrderRecord:
        """The client activates the shipped card with the Soft PIN chosen at ordering (KB1943
        step 3: "it will be necessary to activate and to operate your device"); the other
        devices stay active (M2FS). A wrong PIN: `Refused`, counted against the card."""
        ok = self._check_pin(order_id, soft_pin)
        if ok is None:
            raise Locked(f"order {order_id}: the card's failure budget is spent; an "
                         "administrator unlocks it (slsbridge unlock --serial)")
        if not ok:
            raise Refused(f"order {order_id}: wrong Soft PIN")
        return self._event(order_id, OrderEvent.ACTIVATE)

    @unit_of_work
    def _check_pin(self, order_id: int, soft_pin: str) -> bool | None:
        with self.ctx.db.transaction() as tx:
            record = orders.get(tx, order_id)
            if record.serial is None:
                raise BridgeError(f"order {order_id} has no card")
            try:  # a PIN is asked of a shipped card only (nothing charged otherwise)
                next_order_state(record.state, OrderEvent.ACTIVATE)
            except ValueError as exc:
                raise BridgeError(str(exc)) from None
            ok = self.soft_pins.check(tx, record.serial, soft_pin)
            self.ctx.audit(
                "order.soft_pin", "ok" if ok else "refused", user=record.user,
                serial=record.serial, order=order_id,
                **({"reason": "locked"} if ok is None else {}),
            )
            return ok

    def return_order(self, order_id: int) -> OrderRecord:
        """The card came back to the broker: the USD 20 hold is released."""
        return self._event(order_id, OrderEvent.RETURN)

    def report_lost(self, serial: str, reason: LossReason = LossReason.LOST) -> OrderRecord | None:
        """A card was lost, stolen, damaged or became inoperable, or its account was closed
        without returning it: it is revoked and reported (lost, stolen, damaged or inoperable
        make its owner eligible for a replacement). Its order's USD 20 hold is kept for loss,
        theft, intentional damage and a closed account (the order becomes `lost`, or `closed`);
        for an inoperable card the order stays as it is and the hold is released once the card
        is returned (KB1943 note 2)."""
        with self.ctx.db.read() as tx:
            order_id = orders.live_for_card(tx, serial)
        if order_id is not None and reason.keeps_hold:
            # An order not yet shipped has no card to lose: `_move` refuses it (nothing changes).
            return self._move(order_id, reason.event, False, None, None, None, reason)
        if order_id is not None and self.order(order_id).state is OrderState.ORDERED:
            raise BridgeError(f"order {order_id} is ordered: its card has not shipped yet")
        self._revoke_lost(serial, reason)
        return None if order_id is None else self.order(order_id)

    @unit_of_work
    def _revoke_lost(self, serial: str, reason: LossReason) -> None:
        with self.ctx.db.transaction() as tx:
            device = devices.get(tx, serial, lock=True)
            if device.status in (DeviceStatus.REVOKED, DeviceStatus.REPLACED):
                raise BridgeError(f"device {serial} is already {device.status}")
            devices.update_device(tx, serial, self.ctx.clock(), status=DeviceStatus.REVOKED)
            _report(tx, serial, reason, self.ctx.clock())
            self.ctx.audit("device.lost", "revoked", serial=serial, reason=reason.value)

    def sweep_orders(self, day: dt.date | None = None) -> list[OrderRecord]:
        """Activate every shipped replacement whose three weeks are over (KB1943 note 3)."""
        today = day or self.ctx.today()

        def is_due(record: OrderRecord) -> bool:
            shipped = None if record.shipped is None else utc(record.shipped).date()
            return record.auto_activate_by is not None and auto_activation_due(
                record.state, shipped, today, self.config.ordering
            )

        due = []
        for record in self.orders():
            if is_due(record):
                # Checked again under the write lock: another sweep (or the client) may have
                # activated or returned the card since the listing; that is no error.
                activated = self._move(
                    record.id, OrderEvent.ACTIVATE, True, None, None, is_due, None
                )
                if activated is not None:
                    due.append(activated)
        return due

    def send_notices(self, day: dt.date | None = None) -> list[NoticeRecord]:
        """KB1943 note 3: "IBKR will notify you when the auto-activation is approaching and when
        it is imminent" — for every shipped replacement, each notice once (ours: approaching
        7 days, imminent 1 day before the day; `OrderingConfig`). Returns the notices sent."""
        today = day or self.ctx.today()
        sent: list[NoticeRecord] = []
        for record in self.orders():
            if record.auto_activate_by is not None:
                sent.extend(self._notice(record.id, today))
        return sent

    @unit_of_work
    def _notice(self, order_id: int, today: dt.date) -> list[NoticeRecord]:
        with self.ctx.db.transaction() as tx:
            record = orders.get(tx, order_id, lock=True)
            shipped = None if record.shipped is None else utc(record.shipped).date()
            due = notice_due(record.state, shipped, today, record.notified, self.config.ordering)
            if due is None or shipped is None:
                return []
            on = auto_activation_date(shipped, self.config.ordering).isoformat()
            orders.set_notified(tx, order_id, due)
            return [notify(self.ctx, tx, record.user, order_id, f"auto-activation-{due.value}",
                           f"your replacement DSC+ {record.serial} auto-activates on {on} "
                           f"(auto-activation {due.value})")]

    def notices(self, user: str) -> list[NoticeRecord]:
        """The notices `user` sees (`BridgeError` for an unknown user)."""
        with self.ctx.db.read() as tx:
            users.get(tx, user)
            return reports.notices_of(tx, user)

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
        moved = self._move(order_id, event, auto, shipped, auto_activate_by, None, None)
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
        loss: LossReason | None,
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
                elif state in (OrderState.RETURNED, OrderState.LOST, OrderState.CLOSED):
                    devices.update_device(tx, record.serial, now, status=DeviceStatus.REVOKED)
                if loss is not None:
                    _report(tx, record.serial, loss, now)
            self.ctx.audit(
                f"order.{event.value}", state.value, user=record.user, serial=record.serial,
                order=order_id, hold=hold_state(state).value, auto=auto,
                **({"reason": loss.value} if loss is not None else {}),
            )
            return orders.get(tx, order_id)


def _report(tx: Tx, serial: str, reason: LossReason, now: float) -> None:
    owner = devices.owner_of(tx, serial)
    if owner is None:
        raise BridgeError(f"device {serial} has no owner to report it")
    if reports.reason_of(tx, serial) is not None:
        raise BridgeError(f"device {serial} was already reported")
    reports.report(tx, serial, owner, reason, now)


def notify(
    ctx: Context, tx: Tx, user: str, order_id: int, kind: str, body: str
) -> NoticeRecord:
    """A notice the user sees (`slsbridge order notices`), and its audit row."""
    notice = reports.notify(tx, user, ctx.clock(), kind, order_id, body)
    ctx.audit("notice", kind, user=user, order=order_id)
    return notice


def _card_status(tx: Tx, record: OrderRecord) -> DeviceStatus | None:
    """The status of the order's card (None before it has one)."""
    return None if record.serial is None else devices.get(tx, record.serial).status
