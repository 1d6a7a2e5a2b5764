"""Withdrawals (KB2895): check against the confirming device's limits, book if allowed.

The read of the ledger, the check and the insert are one transaction with the account's user
rows locked (SQLite: the `BEGIN IMMEDIATE` write lock; PostgreSQL: SERIALIZABLE plus
`FOR UPDATE`), so two processes withdrawing on one account are serialised and together can never
exceed a limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from host_bridge.audit import MAX_DETAIL_TEXT
from host_bridge.domain import DeviceRecord
from host_bridge.errors import BridgeError
from host_bridge.policies.calendar import window
from host_bridge.policies.devices import HeldDevice
from host_bridge.policies.withdrawal import (
    Withdrawal,
    WithdrawalDecision,
    able_devices,
    check_amount,
    check_withdrawal,
    ledger_usage,
)
from host_bridge.repos import devices, users, withdrawals
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.holdings import held_devices, holiday_set
from host_bridge.services.policy_config import PolicyConfig


class WithdrawalService:
    def __init__(self, ctx: Context, config: PolicyConfig) -> None:
        self.ctx = ctx
        self.config = config

    @unit_of_work
    def withdraw(
        self, user: str, serial: str, amount_cents: int, day: dt.date | None = None, *,
        caller: str | None = None,
    ) -> WithdrawalDecision:
        """Check a withdrawal confirmed with device `serial` and book it if allowed.

        Raises `BridgeError` for an unknown user, a device that is not the user's, a non-positive
        amount or a date before the account's latest withdrawal.
        """
        ctx = self.ctx
        day = day or ctx.today()
        now = ctx.clock()
        with ctx.db.transaction() as tx:
            record = users.get(tx, user)
            users.lock_account(tx, record.account)
            linked = {d.serial: d for d in devices.of_user(tx, user)}
            if serial not in linked:
                raise BridgeError(f"device {serial!r} is not one of {user}'s devices")
            device = linked[serial]
            holidays = holiday_set(tx)
            held = held_devices(tx, user, now)
            try:
                # Everything from the window's first day on: the window itself, plus any later
                # entry so the policy can refuse a back-dated withdrawal.
                ledger = withdrawals.since(tx, record.account, window(day, holidays)[0])
                if device.usable(now):
                    decision = check_withdrawal(
                        amount_cents, day, device.model, ledger, holidays, held,
                        limits=self.config.limits, opt_out=record.opt_out,
                    )
                else:
                    decision = self._unusable(device, amount_cents, day, ledger, holidays, held)
            except ValueError as exc:
                raise BridgeError(str(exc)) from None
            if decision.allowed:
                withdrawals.book(
                    tx, record.account, user, serial, amount_cents, decision.business_day, now
                )
            ctx.audit(
                "withdraw",
                "allowed" if decision.allowed else "denied",
                user=user,
                serial=serial,
                amount_cents=amount_cents,
                business_date=decision.business_day.isoformat(),
                day_room=decision.day_room,
                window_room=decision.window_room,
                alternatives=",".join(decision.alternatives)[:MAX_DETAIL_TEXT],
                **({"caller": caller} if caller else {}),
            )
        return decision

    def _unusable(
        self,
        device: DeviceRecord,
        amount_cents: int,
        day: dt.date,
        ledger: Sequence[Withdrawal],
        holidays: frozenset[dt.date],
        held: Sequence[HeldDevice],
    ) -> WithdrawalDecision:
        """A device that cannot confirm anything now (locked, pending, revoked, expired)."""
        check_amount(amount_cents)
        business_day, used_day, used_window = ledger_usage(day, ledger, holidays)
        others = [d for d in held if d.serial != device.serial]
        alternatives = able_devices(amount_cents, used_day, used_window, others, self.config.limits)
        state = "expired" if device.status == "active" else device.status.value
        reason = f"device {device.serial} is {state} and cannot confirm a withdrawal"
        reason += f"; confirm it with {', '.join(alternatives)}" if alternatives else ""
        return WithdrawalDecision(False, reason, business_day, 0, 0, alternatives)


