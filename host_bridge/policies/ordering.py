"""Ordering a Digital Security Card+: eligibility, replacement, the USD 20 hold, auto-activation
(KB1943, KB2895). These rules belong to the client's ordering flow; `slsbridge provision` is the
administrator's tool and applies none of them.

Theory of operation: a DSC+ may be ordered

* as a *replacement* for a card lost, stolen or inoperable — after temporary access by phone and
  activating an Online Security Code Card, so an active Online SCC is required (KB1943 steps 1-3);
* by an IBKR Mobile (IB Key) client whose account balance is at least USD 500K (KB2895);
* alongside any current device, or as a first device, with equity *above* USD 1M (KB1943).

The order carries a four-digit Soft PIN. USD 20 of the account is held from the order on; an
order then moves through `TRANSITIONS`:

    ORDERED --ship--> SHIPPED --activate--> ACTIVE
    SHIPPED/ACTIVE --return--> RETURNED          (hold released)
    SHIPPED/ACTIVE --lose----> LOST              (lost, stolen, intentionally damaged: hold kept)
    ORDERED/SHIPPED/ACTIVE --close-account--> CLOSED   (hold kept)

A shipped card activates automatically three weeks after its shipment date if the client has
not activated it before (KB1943 note 3).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from host_bridge.policies.devices import DSCPLUS_MODELS, ONLINE_SCC, HeldDevice
from host_bridge.policies.withdrawal import format_usd, usd


@dataclass(frozen=True, slots=True)
class OrderingConfig:
    """KB1943 and KB2895's figures, as configuration (amounts in cents)."""

    mobile_client_balance_cents: int = usd(500_000)
    additional_device_equity_cents: int = usd(1_000_000)
    hold_cents: int = usd(20)
    auto_activation: timedelta = timedelta(weeks=3)
    soft_pin_digits: int = 4

    def __post_init__(self) -> None:
        for cents in (
            self.mobile_client_balance_cents,
            self.additional_device_equity_cents,
            self.hold_cents,
        ):
            if cents < 0:
                raise ValueError("an amount must not be negative")
        if self.auto_activation < timedelta(0) or self.soft_pin_digits < 1:
            raise ValueError("auto-activation delay and PIN length must be positive")


DEFAULT_ORDERING = OrderingConfig()


class OrderKind(enum.Enum):
    """Why a DSC+ order is allowed."""

    REPLACEMENT = "replacement"
    MOBILE_CLIENT = "mobile-client"
    HIGH_EQUITY = "high-equity"


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Whether the user may order a DSC+ now; `kind` is set when allowed."""

    allowed: bool
    reason: str
    kind: OrderKind | None = None


def dscplus_eligibility(
    equity_cents: int,
    balance_cents: int,
    devices: Sequence[HeldDevice],
    *,
    replacing: bool = False,
    open_order: bool = False,
    config: OrderingConfig = DEFAULT_ORDERING,
) -> Eligibility:
    """Decide whether a user with `devices` may order a DSC+, given the account's equity
    (KB1943's figure) and balance (KB2895's figure).

    `replacing` means the user's DSC+ was reported lost, stolen or inoperable; `open_order` that a
    DSC+ ordered earlier has not yet been activated, returned or lost.
    """
    active = [d for d in devices if d.active]
    if open_order:
        return Eligibility(False, "a DSC+ is already on order")
    if replacing:
        if any(d.model == ONLINE_SCC for d in active):
            return Eligibility(True, "replacement DSC+", OrderKind.REPLACEMENT)
        return Eligibility(
            False,
            "a replacement is ordered after activating an Online Security Code Card "
            "(call Client Services for temporary access first)",
        )
    if any(d.model in DSCPLUS_MODELS for d in active):
        return Eligibility(False, "the user already holds an active DSC+")
    if equity_cents > config.additional_device_equity_cents:
        return Eligibility(
            True,
            f"equity above {format_usd(config.additional_device_equity_cents)}",
            OrderKind.HIGH_EQUITY,
        )
    if (
        any(d.model == "ibkey" for d in active)
        and balance_cents >= config.mobile_client_balance_cents
    ):
        return Eligibility(
            True,
            f"IBKR Mobile client with at least {format_usd(config.mobile_client_balance_cents)}",
            OrderKind.MOBILE_CLIENT,
        )
    return Eligibility(
        False,
        f"a DSC+ needs equity above {format_usd(config.additional_device_equity_cents)}, or "
        f"IBKR Mobile and at least {format_usd(config.mobile_client_balance_cents)}",
    )


def check_soft_pin(pin: str, config: OrderingConfig = DEFAULT_ORDERING) -> str:
    """Return `pin` if it is a Soft PIN of exactly `config.soft_pin_digits` ASCII digits.

    Raises `ValueError` (whose message never contains the PIN) otherwise.
    """
    if len(pin) != config.soft_pin_digits or not all("0" <= c <= "9" for c in pin):
        raise ValueError(f"the Soft PIN is exactly {config.soft_pin_digits} digits")
    return pin


class OrderState(enum.Enum):
    """Where an ordered card is."""

    ORDERED = "ordered"
    SHIPPED = "shipped"
    ACTIVE = "activated"
    RETURNED = "returned"
    LOST = "lost"
    CLOSED = "closed"


class OrderEvent(enum.Enum):
    """What happens to an ordered card."""

    SHIP = "ship"
    ACTIVATE = "activate"
    RETURN = "return"
    LOSE = "lose"
    CLOSE_ACCOUNT = "close-account"


class Hold(enum.Enum):
    """The USD 20 held when the card is ordered."""

    HELD = "held"
    RELEASED = "released"
    KEPT = "kept"


TRANSITIONS = MappingProxyType(
    {
        (OrderState.ORDERED, OrderEvent.SHIP): OrderState.SHIPPED,
        (OrderState.SHIPPED, OrderEvent.ACTIVATE): OrderState.ACTIVE,
        (OrderState.SHIPPED, OrderEvent.RETURN): OrderState.RETURNED,
        (OrderState.ACTIVE, OrderEvent.RETURN): OrderState.RETURNED,
        (OrderState.SHIPPED, OrderEvent.LOSE): OrderState.LOST,
        (OrderState.ACTIVE, OrderEvent.LOSE): OrderState.LOST,
        (OrderState.ORDERED, OrderEvent.CLOSE_ACCOUNT): OrderState.CLOSED,
        (OrderState.SHIPPED, OrderEvent.CLOSE_ACCOUNT): OrderState.CLOSED,
        (OrderState.ACTIVE, OrderEvent.CLOSE_ACCOUNT): OrderState.CLOSED,
    }
)

_HOLD = MappingProxyType(
    {
        OrderState.ORDERED: Hold.HELD,
        OrderState.SHIPPED: Hold.HELD,
        OrderState.ACTIVE: Hold.HELD,
        OrderState.RETURNED: Hold.RELEASED,
        OrderState.LOST: Hold.KEPT,
        OrderState.CLOSED: Hold.KEPT,
    }
)

OPEN_STATES: frozenset[OrderState] = frozenset({OrderState.ORDERED, OrderState.SHIPPED})
"""An order in these states blocks another order (the card has not arrived yet)."""


def next_order_state(state: OrderState, event: OrderEvent) -> OrderState:
    """The state after `event`; raises `ValueError` if `event` is not allowed in `state`."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise ValueError(f"cannot {event.value} an order that is {state.value}") from None


def hold_state(state: OrderState) -> Hold:
    """What became of the USD 20 hold in `state`."""
    return _HOLD[state]


def auto_activation_date(shipped_on: date, config: OrderingConfig = DEFAULT_ORDERING) -> date:
    """The day a shipped card activates on its own (three weeks after shipment)."""
    return shipped_on + config.auto_activation


def auto_activation_due(
    state: OrderState,
    shipped_on: date | None,
    today: date,
    config: OrderingConfig = DEFAULT_ORDERING,
) -> bool:
    """Whether a shipped, not yet activated card must be activated automatically `today`."""
    return (
        state is OrderState.SHIPPED
        and shipped_on is not None
        and today >= auto_activation_date(shipped_on, config)
    )
