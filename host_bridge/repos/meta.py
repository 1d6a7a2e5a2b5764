"""The `meta` table: named values of the store itself (the master key's check value)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import insert, select, update

from host_bridge.db.engine import Tx
from host_bridge.db.schema import meta

MASTER_CHECK: Final = "master_check"
"""The row holding the master key's check value (services/context.py writes it; `store check`
and `store copy` compare a key against it)."""


def get(tx: Tx, name: str) -> bytes | None:
    found = tx.conn.execute(select(meta.c.value).where(meta.c.name == name)).scalar()
    return None if found is None else bytes(found)


def put(tx: Tx, name: str, value: bytes) -> None:
    """Set `name` (inside a write transaction: the check and the write cannot race)."""
    if get(tx, name) is None:
        tx.conn.execute(insert(meta).values(name=name, value=value))
    else:
        tx.conn.execute(update(meta).where(meta.c.name == name).values(value=value))
