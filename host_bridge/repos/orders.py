"""DSC+ orders (KB1943): state, card, shipping dates, the USD 20 hold and the account holding it,
the DSC+ a replacement replaces, the last auto-activation notice sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from host_bridge.db.engine import Tx
from host_bridge.db.schema import orders
from host_bridge.domain import OrderState
from host_bridge.errors import BridgeError
from host_bridge.policies.ordering import Hold, Notice, hold_state
from host_bridge.repos._rows import decoding, integer, new_id, opt, real, text

_OPEN = (OrderState.ORDERED.value, OrderState.SHIPPED.value)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order."""

    id: int
    user: str
    model: str
    state: OrderState
    serial: str | None
    ordered: float
    shipped: float | None
    auto_activate_by: float | None
    hold_cents: int
    hold_account: str | None = None
    ship_estimate: str | None = None  # YYYY-MM-DD
    replaces: str | None = None
    notified: Notice | None = None

    @property
    def hold(self) -> Hold:
        return hold_state(self.state)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "model": self.model,
            "status": self.state.value,
            "serial": self.serial,
            "ordered": self.ordered,
            "shipped": self.shipped,
            "auto_activate_by": self.auto_activate_by,
            "hold_cents": self.hold_cents,
            "hold": self.hold.value,
            "hold_account": self.hold_account,
            "estimated_shipment": self.ship_estimate,
            "replaces": self.replaces,
            "notified": None if self.notified is None else self.notified.value,
        }


@dataclass(frozen=True, slots=True)
class NewOrder:
    """What a new order row carries besides its user and card."""

    hold_cents: int
    hold_account: str
    ship_estimate: str
    replaces: str | None = None


def add(tx: Tx, user: str, model: str, serial: str, now: float, new: NewOrder) -> int:
    result = tx.conn.execute(insert(orders).values(
        user=user, model=model, status=OrderState.ORDERED.value, serial=serial, pin_enc=None,
        ordered=now, hold_cents=new.hold_cents, hold_released=0, hold_account=new.hold_account,
        ship_estimate=new.ship_estimate, replaces=new.replaces,
    ))
    return new_id(result.inserted_primary_key)


def get(tx: Tx, order_id: int, *, lock: bool = False) -> OrderRecord:
    query = select(
        orders.c.id, orders.c.user, orders.c.model, orders.c.status, orders.c.serial,
        orders.c.ordered, orders.c.shipped, orders.c.auto_activate_by, orders.c.hold_cents,
        orders.c.hold_account, orders.c.ship_estimate, orders.c.replaces, orders.c.notified,
    ).where(orders.c.id == order_id)
    row = tx.conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise BridgeError(f"no order {order_id}")
    with decoding(f"orders row {order_id}"):
        return OrderRecord(
            integer(row[0]), text(row[1]), text(row[2]), OrderState(row[3]), opt(text, row[4]),
            real(row[5]), opt(real, row[6]), opt(real, row[7]), integer(row[8]),
            opt(text, row[9]), opt(text, row[10]), opt(text, row[11]),
            None if row[12] is None else Notice(row[12]),
        )


def ids(tx: Tx, user: str | None = None) -> list[int]:
    query = select(orders.c.id).order_by(orders.c.id)
    if user is not None:
        query = query.where(orders.c.user == user)
    return [int(i) for i in tx.conn.execute(query).scalars()]


def has_open(tx: Tx, user: str) -> bool:
    """Whether `user` has an order not yet delivered (ordered or shipped)."""
    return tx.conn.execute(
        select(orders.c.id).where(orders.c.user == user, orders.c.status.in_(_OPEN))
    ).first() is not None


def live_for_card(tx: Tx, serial: str) -> int | None:
    """The order (ordered, shipped or activated) whose card is `serial`, if any."""
    found = tx.conn.execute(select(orders.c.id).where(
        orders.c.serial == serial, orders.c.status.in_((*_OPEN, OrderState.ACTIVE.value))
    )).scalar()
    return None if found is None else int(found)


def replaced(tx: Tx, user: str) -> set[str]:
    """The serials `user`'s orders replace (or replaced)."""
    return {str(s) for s in tx.conn.execute(select(orders.c.replaces).where(
        orders.c.user == user, orders.c.replaces.is_not(None)
    )).scalars()}


def set_notified(tx: Tx, order_id: int, notice: Notice) -> None:
    tx.conn.execute(
        update(orders).where(orders.c.id == order_id).values(notified=notice.value)
    )


def move(
    tx: Tx,
    order_id: int,
    state: OrderState,
    *,
    shipped: float | None = None,
    auto_activate_by: float | None = None,
) -> None:
    """Set the order's state (and its shipping times when given); release the hold with it."""
    values: dict[str, Any] = {"status": state.value}
    if shipped is not None:
        values["shipped"] = shipped
    if auto_activate_by is not None:
        values["auto_activate_by"] = auto_activate_by
    if hold_state(state) is Hold.RELEASED:
        values["hold_released"] = 1
    tx.conn.execute(update(orders).where(orders.c.id == order_id).values(**values))
