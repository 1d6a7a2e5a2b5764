"""The withdrawal form's link to the host: which device may confirm how much, and the decision.

Both come from the host's policy layer (`host_bridge.services.policies.Policies`): the caps from its
configured limits, the decision from `Policies.withdraw`, which checks the account's ledger and
books an allowed withdrawal in one transaction. A denial's reason names the user's devices that
could confirm the amount.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from emulator.tui.login_pane import Limits, Withdraw, WithdrawalAnswer
from firmware_model.models import short_name
from host_bridge.policies.withdrawal import CENTS_PER_USD, DEFAULT_LIMITS, Limit, format_usd

if TYPE_CHECKING:
    from host_bridge.bridge import Bridge
    from host_bridge.services.policies import Policies


def _usd(cents: int | None) -> str:
    return "unlimited" if cents is None else f"{cents // CENTS_PER_USD:,}"


def limit_lines(bridge: Bridge, limits: Mapping[str, Limit], user: str) -> list[str]:
    """One line per active device of `user`: the caps it confirms (per day / per 5 days)."""
    lines = []
    for device in bridge.devices(user):
        limit = limits.get(device.model)
        if limit is None:
            continue
        if limit.per_day is None and limit.per_window is None:
            caps = "unlimited"
        else:
            caps = f"USD {_usd(limit.per_day)}/day, {_usd(limit.per_window)}/5 days"
        lines.append(f"{short_name(device.model)} {device.serial}: {caps}")
    return lines


def withdrawal_hooks(
    connect: Callable[[], Bridge], policies: Policies | None = None
) -> tuple[Withdraw, Limits]:
    """The callables the login pane's withdrawal form uses (on the app's thread).

    `connect` returns the host bridge (the login pane's, already open when a form is shown). The
    policy layer is loaded on the first withdrawal, not at start-up (a faster first screen).
    """
    made: list[Policies] = [policies] if policies is not None else []

    def policy() -> Policies:
        if not made:
            from host_bridge.services.policies import Policies

            made.append(Policies(connect()))
        return made[0]

    def limits(user: str) -> list[str]:
        caps = made[0].config.limits if made else DEFAULT_LIMITS
        return limit_lines(connect(), caps, user)

    def withdraw(user: str, serial: str, amount: str) -> WithdrawalAnswer:
        from host_bridge.inputs import money_to_cents

        decision = policy().withdraw(user, serial, money_to_cents(amount))
        text = decision.reason
        if decision.allowed:
            text += f" (room left today: {format_usd(decision.day_room)})"
        return WithdrawalAnswer(decision.allowed, text)

    return withdraw, limits
