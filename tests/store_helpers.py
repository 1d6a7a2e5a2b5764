"""Reading a store in tests the same way on both engines (the store the environment selects)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from host_bridge.db.engine import Database, store_url
from host_bridge.db.schema import metadata


def count_rows(home: Path, table: str) -> int:
    """Rows in `table` of the store of data folder `home` (SLSEMU_STORE wins, as for the bridge)."""
    db = Database.connect(store_url(home))
    try:
        with db.read() as tx:
            return int(
                tx.conn.execute(select(func.count()).select_from(metadata.tables[table]))
                .scalar_one()
            )
    finally:
        db.close()


def sum_column(home: Path, table: str, column: str) -> int:
    """The sum of an integer column (0 for no rows)."""
    db = Database.connect(store_url(home))
    try:
        with db.read() as tx:
            column_ = metadata.tables[table].c[column]
            return int(tx.conn.execute(select(func.coalesce(func.sum(column_), 0))).scalar_one())
    finally:
        db.close()
