"""Failure budgets of the secrets a person types (issue 9): passwords, Temporary Codes and IB Key
activation tokens, each counted per user with the devices' rule (`host_bridge.policies.lockout`:
`lockout_after` wrong guesses in a row lock; charged before comparing; admin unlock).

Every front door calls the services that use this, so every door gets the same budget. Two forms:
`charge`/`settle` run inside the caller's transaction (a cheap comparison: the charge commits
with the decision), `guess` commits the charge durably *before* a slow comparison (scrypt) and
settles in a second transaction, so a killed or racing caller never gets an uncounted answer.

A name that is no user is not charged (it has no secret to guess, and the store keeps no row for
a name a person typed); its answer is the same refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from host_bridge.db.engine import Tx
from host_bridge.domain import Guessed
from host_bridge.errors import BridgeError, Locked
from host_bridge.policies.lockout import Budget
from host_bridge.repos import guesses, users
from host_bridge.services.context import Context, unit_of_work

NOT_CHARGED: Final = 0
"""The charge number of a guess at a name that is no user."""
ALL: Final = tuple(Guessed)


class GuessService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def budget(self) -> Budget:
        return Budget(self.ctx.config.lockout_after)

    def charge(self, tx: Tx, secret: Guessed, user: str) -> int | None:
        """Charge one guess at `user`'s `secret` in the open transaction: its number in the row
        (compare only then), `NOT_CHARGED` for a name that is no user, or None when the budget
        is spent (refuse without comparing)."""
        if not users.exists(tx, user):
            return NOT_CHARGED
        charged = self.budget.charge(guesses.failures(tx, secret, user, lock=True))
        if charged is not None:
            guesses.set_failures(tx, secret, user, charged, self.ctx.clock())
        return charged

    def settle(self, tx: Tx, secret: Guessed, user: str, charged: int, ok: bool) -> int:
        """Record the outcome of guess number `charged`. Returns the count its audit row
        carries: a wrong guess's own number in the row (exact under racing guesses: each number
        once), or after a right one the wrong guesses still counted (those that raced with it).
        The guess that spends the budget writes the `guess.lock` audit row."""
        if charged == NOT_CHARGED:
            return 0
        if not ok:
            if charged == self.budget.limit:
                self.ctx.audit("guess.lock", "locked", user=user, budget=secret.value,
                               failures=charged)
            return charged
        current = guesses.failures(tx, secret, user, lock=True)
        left = Budget.after_success(current, charged)
        guesses.set_failures(tx, secret, user, left, self.ctx.clock())
        return left

    def guess(
        self,
        secret: Guessed,
        user: str,
        check: Callable[[], bool],
        record: Callable[[bool | None, int], None],
    ) -> bool:
        """Charge a guess durably, then `check()` it, then settle. `record(ok, failures)` writes
        the caller's audit row in the deciding transaction (`ok` None: refused as locked).
        Raises `Locked` (exit 1) when the budget is spent."""
        charged = self._charge(secret, user, record)
        if charged is None:
            raise Locked(self.locked_message(secret, user))
        ok = check()
        self._settle(secret, user, charged, ok, record)
        return ok

    def locked_message(self, secret: Guessed, user: str) -> str:
        return (f"{secret.label} locked after {self.budget.limit} wrong guesses; an "
                f"administrator unlocks it (slsbridge unlock --user {user})")

    @unit_of_work
    def _charge(
        self, secret: Guessed, user: str, record: Callable[[bool | None, int], None]
    ) -> int | None:
        with self.ctx.db.transaction() as tx:
            charged = self.charge(tx, secret, user)
            if charged is None:
                record(None, self.budget.limit)
            return charged

    @unit_of_work
    def _settle(
        self, secret: Guessed, user: str, charged: int, ok: bool,
        record: Callable[[bool | None, int], None],
    ) -> None:
        with self.ctx.db.transaction() as tx:
            record(ok, self.settle(tx, secret, user, charged, ok))

    def failures(self, user: str) -> dict[Guessed, int]:
        """`user`'s wrong guesses in a row per secret (`BridgeError` for an unknown user)."""
        with self.ctx.db.read() as tx:
            users.get(tx, user)
            found = guesses.of_user(tx, user)
        return {secret: found.get(secret, 0) for secret in ALL}

    @unit_of_work
    def unlock(self, user: str, secrets: tuple[Guessed, ...] = ALL) -> dict[Guessed, int]:
        """Admin unlock: `user`'s wrong guesses at `secrets` back to 0. Returns the counts it
        cleared (audited)."""
        if not secrets:
            raise BridgeError("name at least one secret to unlock")
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            users.get(tx, user, lock=True)
            before = guesses.of_user(tx, user)
            guesses.reset(tx, user, secrets, now)
            cleared = {s: before.get(s, 0) for s in secrets}
            for secret, count in cleared.items():
                self.ctx.audit("guess.unlock", "ok", user=user, budget=secret.value,
                               was=count)
        return cleared
