"""Failure budgets of the secrets a person types: one `guess_budget` row per (secret, user),
made on the first guess. Only existing users have rows (a foreign key), so nothing a person typed
as a user name is ever stored here."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from host_bridge.db.engine import Dialect, Tx
from host_bridge.db.schema import guess_budget as budget
from host_bridge.domain import Guessed
from host_bridge.errors import StoreError


def failures(tx: Tx, secret: Guessed, user: str, *, lock: bool = False) -> int:
    """The wrong guesses in a row at `secret` of `user` (0 without a row). `lock`: make the row
    if it is missing and hold it until the transaction ends, so concurrent guesses count one
    after another."""
    if lock:
        maker = postgresql.insert if tx.dialect is Dialect.POSTGRESQL else sqlite.insert
        tx.conn.execute(maker(budget).values(
            secret=secret.value, user=user, failures=0, updated=0.0
        ).on_conflict_do_nothing())
    query = select(budget.c.failures).where(
        budget.c.secret == secret.value, budget.c.user == user
    )
    found = tx.conn.execute(query.with_for_update() if lock else query).scalar()
    if found is None:
        return 0
    if not isinstance(found, int) or found < 0:
        raise StoreError(f"guess_budget row of {secret.value} is damaged")
    return found


def set_failures(tx: Tx, secret: Guessed, user: str, count: int, now: float) -> None:
    """Store the count of a row `failures(…, lock=True)` made and holds."""
    tx.conn.execute(update(budget).where(
        budget.c.secret == secret.value, budget.c.user == user
    ).values(failures=count, updated=now))


def of_user(tx: Tx, user: str) -> dict[Guessed, int]:
    """Every budget of `user` with a row, and its count."""
    rows = tx.conn.execute(
        select(budget.c.secret, budget.c.failures).where(budget.c.user == user)
    )
    return {Guessed(r[0]): int(r[1]) for r in rows}


def reset(tx: Tx, user: str, secrets: tuple[Guessed, ...], now: float) -> None:
    """Wrong guesses back to 0 (admin unlock)."""
    tx.conn.execute(update(budget).where(
        budget.c.user == user, budget.c.secret.in_([s.value for s in secrets])
    ).values(failures=0, updated=now))
