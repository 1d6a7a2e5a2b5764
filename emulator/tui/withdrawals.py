"""The withdrawal form's link to the host: which device may confirm how much, and the decision.

The limits come from the policy table (`host_bridge.policies.withdrawal.DEFAULT_LIMITS`); the
decision comes from the host's withdrawal service, which keeps the account's ledger.
"""

from __future__ import annotations

from emulator.tui.login_pane import SHORT_NAMES, Limits, Withdraw, WithdrawalAnswer
from host_bridge.policies.withdrawal import CENTS_PER_USD, DEFAULT_LIMITS
from host_bridge.service import Bridge


def _usd(cents: int | None) -> str:
    return "unlimited" if cents is None else f"{cents // CENTS_PER_USD:,}"


def limit_lines(bridge: Bridge, user: str) -> list[str]:
    """One line per active device of `user`: the caps it confirms (per day / per 5 days)."""
    lines = []
    for device in bridge.devices(user):
        limit = DEFAULT_LIMITS.get(device.model)
        if limit is None:
            continue
        if limit.per_day is None and limit.per_window is None:
            caps = "unlimited"
        else:
            caps = f"USD {_usd(limit.per_day)}/day, {_usd(limit.per_window)}/5 days"
        lines.append(f"{SHORT_NAMES.get(device.model, device.model)} {device.serial}: {caps}")
    return lines


def withdrawal_hooks(bridge: Bridge) -> tuple[Withdraw | None, Limits | None]:
    """The callables the login pane's withdrawal form uses."""

    def limits(user: str) -> list[str]:
        return limit_lines(bridge, user)

    def withdraw(user: str, serial: str, amount: str) -> WithdrawalAnswer:
        raise NotImplementedError

    return None, limits
