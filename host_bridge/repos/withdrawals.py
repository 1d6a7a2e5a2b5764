"""The withdrawal ledger: every allowed withdrawal, per account and business day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select

from host_bridge.db.engine import Tx
from host_bridge.db.schema import withdrawals
from host_bridge.policies.withdrawal import Withdrawal


def book(
    tx: Tx, account: str, user: str, serial: str, amount_cents: int, day: dt.date, now: float
) -> None:
    tx.conn.execute(insert(withdrawals).values(
        account=account, user=user, serial=serial, amount_cents=amount_cents,
        business_date=day.isoformat(), created=now,
    ))


def since(tx: Tx, account: str, start: dt.date) -> list[Withdrawal]:
    """The account's withdrawals booked on `start` or later."""
    rows = tx.conn.execute(
        select(withdrawals.c.business_date, withdrawals.c.amount_cents).where(
            withdrawals.c.account == account, withdrawals.c.business_date >= start.isoformat()
        )
    )
    return [Withdrawal(dt.date.fromisoformat(r[0]), int(r[1])) for r in rows]


def totals(tx: Tx) -> tuple[int, int]:
    """(count, sum of cents) over the whole ledger."""
    row = tx.conn.execute(
        select(func.count(), func.coalesce(func.sum(withdrawals.c.amount_cents), 0))
    ).one()
    return int(row[0]), int(row[1])
