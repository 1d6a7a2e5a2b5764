"""Exchange holidays: days that are not business days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select

from host_bridge.db.engine import Tx
from host_bridge.db.schema import holidays


def listing(tx: Tx) -> list[tuple[dt.date, str | None]]:
    rows = tx.conn.execute(select(holidays.c.date, holidays.c.name).order_by(holidays.c.date))
    return [(dt.date.fromisoformat(r[0]), r[1]) for r in rows]


def add(tx: Tx, day: dt.date, name: str | None) -> bool:
    """Make `day` a holiday. False if it already was one."""
    known = select(holidays.c.date).where(holidays.c.date == day.isoformat())
    if tx.conn.execute(known).first() is not None:
        return False
    tx.conn.execute(insert(holidays).values(date=day.isoformat(), name=name))
    return True


def remove(tx: Tx, day: dt.date) -> bool:
    """Make `day` an ordinary day. False if it was not a holiday."""
    result = tx.conn.execute(delete(holidays).where(holidays.c.date == day.isoformat()))
    return result.rowcount == 1
