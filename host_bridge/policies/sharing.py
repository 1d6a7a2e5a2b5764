"""Sharing one physical security device between several users (KB2481).

Theory of operation: a *requesting* user asks to use a device held by its *owner* (and possibly
already shared with *co-users*). `decide_share` checks KB2481's three prerequisites, in the
seed's order, over every participant:

a) same entity, or the same identification data (date of birth, citizenship, country of legal
   residence, and ID document type and number — or the SSN for US citizens and residents);
   otherwise "Different identification information";
b) no participant holds a temporary device (Temporary Code, Online Security Code Card);
c) the shared device offers the highest protection among the participants' physical devices
   (`devices.PROTECTION_LEVEL`; a tie is fine); otherwise "Less secure device".

IB Key is never shared this way: IBKR Mobile enables more users itself (Authenticate -> Add user).

A request that passes is approved at once, or waits for compliance (`PENDING`) when
`needs_compliance` says so — by default when participants belong to different entities and are
linked only by matching identification data. A request then moves through `TRANSITIONS`:

    PENDING --approve--> APPROVED    PENDING --refuse--> REFUSED
    PENDING --cancel---> CANCELLED   APPROVED --cancel--> CANCELLED

When sharing takes effect (APPROVED), the requester's own physical devices become redundant and
are deactivated; cancelling an active sharing reactivates them (KB2481 note b).
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from host_bridge.policies.devices import PROTECTION_LEVEL, HeldDevice, display_name

LESS_SECURE_DEVICE = "Less secure device"
DIFFERENT_IDENTIFICATION = "Different identification information"
TEMPORARY_DEVICE = "Temporary security device assigned"
IB_KEY_ADD_USER = "IB Key is not shared: use Add user in IBKR Mobile"
NOT_PHYSICAL = "Only a physical security device can be shared"

US = "US"


class ShareState(enum.Enum):
    """Where a sharing request is."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class ShareEvent(enum.Enum):
    """What compliance or the users do to a request."""

    APPROVE = "approve"
    REFUSE = "refuse"
    CANCEL = "cancel"


TRANSITIONS = MappingProxyType(
    {
        (ShareState.PENDING, ShareEvent.APPROVE): ShareState.APPROVED,
        (ShareState.PENDING, ShareEvent.REFUSE): ShareState.REFUSED,
        (ShareState.PENDING, ShareEvent.CANCEL): ShareState.CANCELLED,
        (ShareState.APPROVED, ShareEvent.CANCEL): ShareState.CANCELLED,
    }
)


def next_state(state: ShareState, event: ShareEvent) -> ShareState:
    """The state after `event`; raises `ValueError` if `event` is not allowed in `state`."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise ValueError(f"cannot {event.value} a sharing request that is {state.value}") from None


def _norm(value: str | None) -> str:
    return "" if value is None else " ".join(value.split()).casefold()


def _same(a: str | None, b: str | None) -> bool:
    left, right = _norm(a), _norm(b)
    # Identification numbers are personal data: compare without leaking timing.
    return bool(left) and hmac.compare_digest(left.encode(), right.encode())


@dataclass(frozen=True, slots=True)
class Identification:
    """KB2481 a)'s identification data. Never shown in errors or output."""

    date_of_birth: date | None = None
    citizenship: str | None = None
    residence: str | None = None
    id_type: str | None = None
    id_number: str | None = field(default=None, repr=False)
    ssn: str | None = field(default=None, repr=False)

    @property
    def us_person(self) -> bool:
        """US citizen or resident: identified by SSN rather than an ID document."""
        return _norm(self.citizenship) == US.casefold() or _norm(self.residence) == US.casefold()

    def matches(self, other: Identification) -> bool:
        """Whether both describe the same individual; missing data never matches."""
        if self.date_of_birth is None or self.date_of_birth != other.date_of_birth:
            return False
        if not (
            _same(self.citizenship, other.citizenship) and _same(self.residence, other.residence)
        ):
            return False
        if self.us_person:
            return _same(self.ssn, other.ssn)
        return _same(self.id_type, other.id_type) and _same(self.id_number, other.id_number)


@dataclass(frozen=True, slots=True)
class Participant:
    """A user taking part in a sharing request."""

    user: str
    entity: str
    identification: Identification
    devices: tuple[HeldDevice, ...] = ()

    def __post_init__(self) -> None:
        if not self.user or not self.entity:
            raise ValueError("a participant has a user name and an entity")

    def active_devices(self) -> Iterator[HeldDevice]:
        return (device for device in self.devices if device.active)


@dataclass(frozen=True, slots=True)
class ShareRequest:
    """`requester` asks to use the device `serial` held by `owner` (already used by `co_users`)."""

    serial: str
    owner: Participant
    requester: Participant
    co_users: tuple[Participant, ...] = ()

    def __post_init__(self) -> None:
        names = [p.user for p in self.participants]
        if len(set(names)) != len(names):
            raise ValueError("a user takes part in a sharing request only once")
        if not any(d.serial == self.serial for d in self.owner.devices):
            raise ValueError(f"device {self.serial} does not belong to user {self.owner.user}")

    @property
    def participants(self) -> tuple[Participant, ...]:
        return (self.owner, self.requester, *self.co_users)

    @property
    def device(self) -> HeldDevice:
        return next(d for d in self.owner.devices if d.serial == self.serial)


@dataclass(frozen=True, slots=True)
class ShareDecision:
    """`reason` is the seed's error message (or a short status); `detail` explains it.

    `redundant` lists the requester's devices that sharing makes redundant: they are deactivated
    when the sharing is APPROVED and reactivated when it is cancelled.
    """

    state: ShareState
    reason: str
    detail: str
    redundant: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.state is not ShareState.REFUSED


def different_entities(request: ShareRequest) -> bool:
    """Default compliance rule: users of different entities linked only by identification data."""
    return len({p.entity for p in request.participants}) > 1


def decide_share(
    request: ShareRequest,
    needs_compliance: Callable[[ShareRequest], bool] = different_entities,
) -> ShareDecision:
    """Apply KB2481 to `request`: APPROVED at once, PENDING (compliance) or REFUSED."""
    device = request.device
    if device.model == "ibkey":
        return _refuse(IB_KEY_ADD_USER, "in IBKR Mobile: Authenticate -> Add user")
    if device.is_temporary:
        return _refuse(TEMPORARY_DEVICE, "a temporary device cannot be shared")
    if not device.is_physical:
        return _refuse(NOT_PHYSICAL, f"the {display_name(device.model)} is not a physical device")
    if not device.active:
        return _refuse("Device not active", f"device {device.serial} is not active")

    for other in request.participants[1:]:
        same_entity = other.entity == request.owner.entity
        if not same_entity and not request.owner.identification.matches(other.identification):
            return _refuse(
                DIFFERENT_IDENTIFICATION,
                f"the identification data of {request.owner.user} and {other.user} do not match",
            )

    for participant in request.participants:
        if any(d.is_temporary for d in participant.active_devices()):
            return _refuse(
                TEMPORARY_DEVICE,
                f"user {participant.user} holds a Temporary Code or Online Security Code Card",
            )

    level = PROTECTION_LEVEL[device.model]
    stronger = [
        d
        for p in request.participants
        for d in p.active_devices()
        if d.is_physical and PROTECTION_LEVEL[d.model] > level
    ]
    if stronger:
        best = max(stronger, key=lambda d: PROTECTION_LEVEL[d.model])
        return _refuse(
            LESS_SECURE_DEVICE,
            f"share the most secure device instead: {best.serial} ({display_name(best.model)})",
        )

    redundant = tuple(d.serial for d in request.requester.active_devices() if d.is_physical)
    if needs_compliance(request):
        return ShareDecision(
            ShareState.PENDING,
            "Pending compliance approval",
            "the users belong to different entities with the same identification data",
            redundant,
        )
    return ShareDecision(
        ShareState.APPROVED,
        "Approved",
        f"{request.requester.user} now uses {device.serial}",
        redundant,
    )


def _refuse(reason: str, detail: str) -> ShareDecision:
    return ShareDecision(ShareState.REFUSED, reason, detail)
