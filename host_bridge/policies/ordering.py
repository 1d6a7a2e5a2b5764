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
    SHIPPED/ACTIVE --close-account--> CLOSED      (account closed, card not returned: hold kept)

A shipped card activates automatically three weeks after its shipment date if the client has
not activated it before (KB1943 note 3).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from host_bridge.policies.calendar import next_business_day
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
    shipment_lead_business_days: int = 3
    """Ours: the estimated shipment date is this many business days after the order."""
    notice_approaching: timedelta = timedelta(days=7)
    """Ours: "approaching" is sent this long (or less) before the auto-activation day."""
    notice_imminent: timedelta = timedelta(days=1)
    """Ours: "imminent" is sent this long (or less) before the auto-activation day."""

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
        if self.shipment_lead_business_days < 0:
            raise ValueError("the shipment lead time must not be negative")
        if not timedelta(0) <= self.notice_imminent <= self.notice_approaching:
            raise ValueError("0 <= notice_imminent <= notice_approaching")


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
    reported: Sequence[str] = (),
    open_order: bool = False,
    config: OrderingConfig = DEFAULT_ORDERING,
) -> Eligibility:
    """Decide whether a user with `devices` may order a DSC+, given the account's equity
    (KB1943's figure) and balance (KB2895's figure).

    `replacing` asks for a replacement; `reported` names the user's DSC+ cards reported lost,
    stolen or inoperable and not replaced yet (KB1943: a replacement is for "a Digital Security
    Card+ which has been lost, stolen or has become inoperable"). `open_order` means a DSC+
    ordered earlier has not yet been activated, returned or lost.
    """
    active = [d for d in devices if d.active]
    if open_order:
        return Eligibility(False, "a DSC+ is already on order")
    if replacing and not reported:
        return Eligibility(
            False,
            "a replacement needs a DSC+ reported lost, stolen or inoperable "
            "(slsbridge order lost --serial S --reason ...)",
        )
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

def next_order_state(state: OrderState, event: OrderEvent) -> OrderState:
    """The state after `event`; raises `ValueError` if `event` is not allowed in `state`."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise ValueError(f"cannot {event.value} an order that is {state.value}") from None


def hold_state(state: OrderState) -> Hold:
    """What became of the USD 20 hold in `state`."""
    return _HOLD[state]


class LossReason(enum.Enum):
    """Why a card is reported (`slsbridge order lost --reason`)."""

    LOST = "lost"
    STOLEN = "stolen"
    DAMAGED = "damaged"  # intentionally damaged
    INOPERABLE = "inoperable"  # broken without intent: the hold is released once it returns
    CLOSED = "closed"  # the account was closed without returning the card

    @property
    def keeps_hold(self) -> bool:
        """KB1943 note 2: "If your device is lost, intentionally damaged, stolen or if you close
        your account without returning it to IBKR, we will use that amount as a compensation
        ... In any other case, the hold will be released once your device has been returned"."""
        return self is not LossReason.INOPERABLE

    @property
    def event(self) -> OrderEvent:
        """What the report does to the card's order (when it keeps the hold)."""
        return OrderEvent.CLOSE_ACCOUNT if self is LossReason.CLOSED else OrderEvent.LOSE

    @property
    def replaceable(self) -> bool:
        """Whether the card may be replaced (KB1943: a replacement is for "a Digital Security
        Card+ which has been lost, stolen or has become inoperable"; a closed account orders
        none)."""
        return self is not LossReason.CLOSED


class Notice(enum.Enum):
    """KB1943 note 3: "IBKR will notify you when the auto-activation is approaching and when it
    is imminent." Ordered: a later notice supersedes an earlier one."""

    APPROACHING = "approaching"
    IMMINENT = "imminent"


def estimated_shipment(
    ordered_on: date, holidays: frozenset[date] = frozenset(),
    config: OrderingConfig = DEFAULT_ORDERING,
) -> date:
    """The estimated shipment date on the order's confirmation (KB1943 step 5): the business
    day `shipment_lead_business_days` after the order day (ours: the seed gives no figure)."""
    day = ordered_on
    for _ in range(config.shipment_lead_business_days):
        day = next_business_day(day, holidays)
    return day


def notice_due(
    state: OrderState,
    shipped_on: date | None,
    today: date,
    sent: Notice | None,
    config: OrderingConfig = DEFAULT_ORDERING,
) -> Notice | None:
    """The auto-activation notice to send `today` for a shipped card, or None: each notice at
    most once, "imminent" supersedes "approaching" (a late sweep sends only "imminent")."""
    if state is not OrderState.SHIPPED or shipped_on is None:
        return None
    left = auto_activation_date(shipped_on, config) - today
    due = None
    if left <= config.notice_imminent:
        due = Notice.IMMINENT
    elif left <= config.notice_approaching:
        due = Notice.APPROACHING
    if due is None or sent is Notice.IMMINENT or sent is due:
        return None
    return due


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
