"""Opt-out / opt-in (KB2545, KB1198): the account's Secure Login mode; only its primary user
changes it. The mode is an account setting, kept on every user row of the account."""

from __future__ import annotations

from host_bridge.policies.optout import (
    ModeChange,
    ModeDecision,
    OptOut,
    decide_mode_change,
    login_requires_device,
    may_trade,
)
from host_bridge.repos import users
from host_bridge.services.context import Context, unit_of_work


class OptOutService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @unit_of_work
    def set_opt_out(self, actor: str, mode: OptOut) -> ModeDecision:
        """Change the account's Secure Login mode; only its primary user may (KB2545)."""
        with self.ctx.db.transaction() as tx:
            record = users.get(tx, actor, lock=True)
            current = record.opt_out
            primary = actor if record.primary_user else users.primary_of(tx, record.account)
            if primary is None:
                decision = ModeDecision(
                    False,
                    f"account {record.account} has no primary user to change its "
                    "Secure Login settings",
                    current,
                    False,
                )
            else:
                decision = decide_mode_change(
                    ModeChange(actor, record.primary_user, primary, current, mode)
                )
            if decision.changed:
                users.set_opt_out(tx, record.account, decision.mode)
            self.ctx.audit(
                "optout.set",
                "changed" if decision.changed else ("unchanged" if decision.allowed else "refused"),
                user=actor,
                requested=mode.value,
                mode=decision.mode.value,
            )
        return decision

    def opt_out(self, user: str) -> OptOut:
        with self.ctx.db.read() as tx:
            return users.get(tx, user).opt_out

    def may_trade(self, user: str, venue: str) -> bool:
        """Whether `user`'s account may trade on `venue` (opted-out: no Pink Sheet / OTCBB)."""
        return may_trade(self.opt_out(user), venue)

    def password_is_enough(
        self, user: str, *, trading_platform: bool = False, caller: str | None = None
    ) -> bool:
        """Called after `user`'s right password: whether the login is complete without a second
        factor (`policies.optout.login_requires_device`: a fully opted-out account). When it is,
        the acceptance is audited here (`login.optout`), as a verified code is by the verify."""
        mode = self.opt_out(user)
        if login_requires_device(mode, trading_platform=trading_platform):
            return False
        extra = {"caller": caller} if caller else {}
        self.ctx.audit("login.optout", "accepted", user=user, mode=mode.value, **extra)
        return True
