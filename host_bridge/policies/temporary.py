"""Temporary Code and Online Security Code Card: access while the permanent device is missing
(KB70, KB69, KB1873, DESIGN.md).

Theory of operation: Client Services issues a Temporary Code by phone after checking the
holder's identity. From its issue it gives

    FULL         for 2 days   (trading platform and Client Portal),
    PORTAL_ONLY  10 more days (Client Portal, only to print an Online Security Code Card),
    EXPIRED      afterwards.

Two Temporary Codes are never issued in a row: after one, the user must move on to an Online
SCC or back to a permanent device before another may be issued. The Online SCC, printed from the
portal while a Temporary Code still works, is valid 21 days; it allows withdrawals (with the SCC
limits, see `withdrawal.DEFAULT_LIMITS`) and reactivating the permanent device — and, once
active, ordering a replacement DSC+ (KB1943).

Periods are exact durations from the moment of issue (`datetime`s, timezone-aware, passed in by
the caller), not calendar days.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class TemporaryConfig:
    """The periods of KB69 and KB1873, as configuration."""

    full_access: timedelta = timedelta(days=2)
    portal_only: timedelta = timedelta(days=10)
    online_scc_validity: timedelta = timedelta(days=21)

    def __post_init__(self) -> None:
        for period in (self.full_access, self.portal_only, self.online_scc_validity):
            if period < timedelta(0):
                raise ValueError("a period must not be negative")


DEFAULT_TEMPORARY = TemporaryConfig()


class Access(enum.Enum):
    """What a Temporary Code gives at a given moment."""

    FULL = "full"
    PORTAL_ONLY = "portal-only"
    EXPIRED = "expired"


class Action(enum.Enum):
    """Things a temporary credential may or may not allow."""

    TRADE = "trade"
    PORTAL = "portal"
    PRINT_ONLINE_SCC = "print-online-scc"
    WITHDRAW = "withdraw"
    REACTIVATE_DEVICE = "reactivate-device"
    ORDER_DEVICE = "order-device"


class Credential(enum.Enum):
    """What a user was last given to log in with, for the "never two in a row" rule."""

    TEMPORARY_CODE = "temporary"
    ONLINE_SCC = "online_scc"
    PERMANENT = "permanent"


_ALLOWED: MappingProxyType[Access, frozenset[Action]] = MappingProxyType(
    {
        Access.FULL: frozenset({Action.TRADE, Action.PORTAL, Action.PRINT_ONLINE_SCC}),
        Access.PORTAL_ONLY: frozenset({Action.PORTAL, Action.PRINT_ONLINE_SCC}),
        Access.EXPIRED: frozenset(),
    }
)

ONLINE_SCC_ACTIONS: frozenset[Action] = frozenset(
    {Action.TRADE, Action.PORTAL, Action.WITHDRAW, Action.REACTIVATE_DEVICE, Action.ORDER_DEVICE}
)
"""KB1873/KB1943: full Client Portal functionality, withdrawals, reactivation, ordering."""


def temporary_code_access(
    issued_at: datetime, now: datetime, config: TemporaryConfig = DEFAULT_TEMPORARY
) -> Access:
    """The access a Temporary Code issued at `issued_at` gives at `now`.

    Raises `ValueError` if `now` is before the issue.
    """
    elapsed = now - issued_at
    if elapsed < timedelta(0):
        raise ValueError("the Temporary Code was issued after the moment asked about")
    if elapsed < config.full_access:
        return Access.FULL
    if elapsed < config.full_access + config.portal_only:
        return Access.PORTAL_ONLY
    return Access.EXPIRED


def temporary_code_expires(
    issued_at: datetime, config: TemporaryConfig = DEFAULT_TEMPORARY
) -> datetime:
    """The end of the portal-only period: after it the code opens nothing."""
    return issued_at + config.full_access + config.portal_only


def temporary_code_allows(access: Access, action: Action) -> bool:
    """Whether a Temporary Code in `access` allows `action`."""
    return action in _ALLOWED[access]


@dataclass(frozen=True, slots=True)
class IssueDecision:
    """Whether a temporary credential may be issued, and why not."""

    allowed: bool
    reason: str


def may_issue_temporary_code(last: Credential | None) -> IssueDecision:
    """KB70: never two Temporary Codes in a row. `last` is the credential last issued or
    activated for the user (`None` if none)."""
    if last is Credential.TEMPORARY_CODE:
        return IssueDecision(
            False,
            "a Temporary Code was the last credential issued: print an Online Security Code "
            "Card with it or reactivate the permanent device before asking for another",
        )
    return IssueDecision(True, "Temporary Code may be issued")


def may_issue_online_scc(access: Access | None) -> IssueDecision:
    """KB1873: an Online SCC is printed in the portal after logging in with a Temporary Code that
    still works. `access` is that code's access now (`None` if the user has none)."""
    if access is None:
        return IssueDecision(False, "an Online Security Code Card needs a Temporary Code first")
    if not temporary_code_allows(access, Action.PRINT_ONLINE_SCC):
        return IssueDecision(False, "the Temporary Code has expired; call Client Services")
    return IssueDecision(True, "Online Security Code Card may be printed")


def online_scc_valid_until(
    issued_at: datetime, config: TemporaryConfig = DEFAULT_TEMPORARY
) -> datetime:
    """KB1943: an Online SCC works for 21 days from its activation."""
    return issued_at + config.online_scc_validity


def online_scc_allows(valid_until: datetime, now: datetime, action: Action) -> bool:
    """Whether an Online SCC valid until `valid_until` allows `action` at `now`."""
    return now < valid_until and action in ONLINE_SCC_ACTIONS
