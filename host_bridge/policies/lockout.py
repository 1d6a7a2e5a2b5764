"""The failure budget: one rule for every secret the bridge checks — a device's answers (the
`failures` column of its row) and the secrets a person types (passwords, Temporary Codes, IB Key
activation tokens: `host_bridge.services.guesses`).

Theory of operation. A guess is *charged before it is compared* (the retry counter is decremented
first, as on the cards): the count goes up, durably, and only then is the answer looked at, so no
caller — however many run at once, however often one is killed — learns an answer that was not
counted. `limit` wrong guesses in a row lock the secret; a locked secret is not compared at all
and stays locked until an administrator unlocks it (`slsbridge unlock`). A right guess takes back
its own charge and every one before it — the wrong guesses that raced with it and were charged
after it stay counted, so a success never hides an attacker's concurrent guesses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `limit` wrong guesses in a row (`lockout_after` in bridge.toml)."""

    limit: int

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 1000:
            raise ValueError("a failure budget is 1 to 1000 guesses")

    def locked(self, failures: int) -> bool:
        """Whether `failures` wrong guesses in a row have spent the budget."""
        return failures >= self.limit

    def charge(self, failures: int) -> int | None:
        """The count with one more guess charged, or None when the budget is spent (locked:
        refuse without comparing)."""
        return None if self.locked(failures) else failures + 1

    @staticmethod
    def after_success(failures: int, charged: int) -> int:
        """The count after a right guess that was charged as number `charged`: the guesses
        charged after it (racing with it) stay."""
        return max(0, failures - charged)
