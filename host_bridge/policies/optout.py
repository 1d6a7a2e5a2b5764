"""Opting out of, partly out of, and back into the Secure Login System (KB2545, KB1198).

Theory of operation: an account is in one of three modes (`OptOut`). Any mode can change to any
other, but only the account's primary user may make the change (KB2545: "the primary user needs
to login"; anyone else gets a notice pointing to the user who has the right). The mode then
restricts what the account may do:

* `NONE` — full Secure Login protection: no restriction.
* `PARTIAL` — the partial opt-out "Secure Login not required for trading": the trading platform
  logs in without a device, so trading carries the opt-out restrictions (no Pink Sheet / OTCBB);
  the Client Portal still requires the device, so withdrawals keep the device's limits.
* `FULL` — the full opt-out: the same trading restrictions, and every withdrawal is capped at the
  "no device" row of the withdrawal table whatever device the user still holds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from host_bridge.policies.devices import NO_DEVICE


class OptOut(enum.Enum):
    """The Secure Login mode of an account (values as the store keeps them)."""

    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"


CLI_WORDS = {
    "none": OptOut.NONE,
    "trading": OptOut.PARTIAL,
    "partial": OptOut.PARTIAL,
    "full": OptOut.FULL,
}
"""`--mode` words: `trading` names the partial opt-out "Secure Login not required for trading"."""


NO_SECOND_FACTOR = "accepted without a second factor: opted out of Secure Login"
"""What every door says when the password alone completed a fully opted-out user's login."""


RESTRICTED_VENUES: frozenset[str] = frozenset({"pink", "otcbb"})
"""KB2545: opted-out clients may not trade Pink Sheet and OTCBB stocks."""


def parse_mode(text: str) -> OptOut:
    """`none`, `trading` (or `partial`) or `full`; raises `ValueError` for anything else."""
    try:
        return CLI_WORDS[text.strip().lower()]
    except KeyError:
        raise ValueError("mode must be one of: none, trading, full") from None


def may_trade(mode: OptOut, venue: str, restricted: Iterable[str] = RESTRICTED_VENUES) -> bool:
    """Whether an account in `mode` may trade on `venue` (case-insensitive venue name)."""
    if mode is OptOut.NONE:
        return True
    return venue.strip().lower() not in frozenset(v.lower() for v in restricted)


def login_requires_device(mode: OptOut, *, trading_platform: bool) -> bool:
    """Whether a login needs the second factor: never when fully opted out; for the trading
    platform not under the partial opt-out; always otherwise."""
    if mode is OptOut.FULL:
        return False
    return not (mode is OptOut.PARTIAL and trading_platform)


def withdrawal_model(mode: OptOut, confirming_model: str) -> str:
    """The row of the withdrawal table that caps a withdrawal confirmed with `confirming_model`."""
    return NO_DEVICE if mode is OptOut.FULL else confirming_model


@dataclass(frozen=True, slots=True)
class ModeChange:
    """A request to change the account's Secure Login mode."""

    actor: str
    actor_is_primary: bool
    primary_user: str
    current: OptOut
    requested: OptOut

    def __post_init__(self) -> None:
        if not self.actor or not self.primary_user:
            raise ValueError("actor and primary user must be named")
        if self.actor_is_primary and self.actor != self.primary_user:
            raise ValueError("the primary flag disagrees with the primary user's name")


@dataclass(frozen=True, slots=True)
class ModeDecision:
    """The answer to a `ModeChange`: `mode` is the account's mode afterwards."""

    allowed: bool
    reason: str
    mode: OptOut
    changed: bool


def decide_mode_change(change: ModeChange) -> ModeDecision:
    """Apply KB2545: only the primary user changes the security settings."""
    if not change.actor_is_primary:
        return ModeDecision(
            allowed=False,
            reason=(
                f"user {change.actor} may not change the Secure Login settings; "
                f"the primary user {change.primary_user} must do it"
            ),
            mode=change.current,
            changed=False,
        )
    if change.requested is change.current:
        return ModeDecision(True, f"already {_describe(change.current)}", change.current, False)
    return ModeDecision(True, f"now {_describe(change.requested)}", change.requested, True)


def _describe(mode: OptOut) -> str:
    return {
        OptOut.NONE: "opted in: Secure Login required for every login",
        OptOut.PARTIAL: "partly opted out: Secure Login not required for trading",
        OptOut.FULL: "opted out of the Secure Login System",
    }[mode]
