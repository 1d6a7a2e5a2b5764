"""Copy a store to another engine (`slsbridge store migrate --to URL`), then verify the copy.

Theory of operation. The source is read in one read transaction (one consistent snapshot, while
other processes may go on writing). The target gets everything in ONE write transaction: it is
checked to hold no row of ours (a store is never merged into another), brought to the source's
schema revision by the migrations, filled table by table in foreign-key order, its row-id
sequences moved past the copied ids (PostgreSQL), and then read back and compared with the
source row by row. Only then does it commit: a refused target, a row the target rejects, a
difference, or a connection lost half-way leaves the target as it was (DDL is transactional on
both engines).

Sealed values (device keys, PINs, SMS codes) are copied as the bytes they are: they stay sealed
under the same master key, and their associated data (`purpose:owner`) still fits since owners
(serials, challenge ids) are copied unchanged. The caller checks the master key against both
stores' check values (`check_master_key`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, Final

from sqlalchemy import Table, func, inspect, select

from host_bridge.db import migrate
from host_bridge.db.engine import Database, Dialect, Tx, shown
from host_bridge.db.schema import metadata
from host_bridge.errors import StoreError
from host_bridge.masterkey import MasterKey
from host_bridge.repos import meta

BATCH_ROWS: Final = 500


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied: the schema revision and the rows per table (all verified)."""

    revision: str
    rows: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def check_master_key(tx: Tx, key: MasterKey, where: str) -> None:
    """`StoreError` unless the store's check value was made by `key`."""
    check = meta.get(tx, meta.MASTER_CHECK)
    if check is None:
        raise StoreError(f"{where} is not initialised (run `slsbridge init`)")
    if not key.matches(check):
        raise StoreError(f"wrong master key for {where}")


def copy_store(source: Database, target: Database, key: MasterKey) -> CopyReport:
    """Copy every row of `source` into the empty `target` and verify it; see the module doc."""
    if source.url == target.url:
        raise StoreError("the target is the store itself")
    revision = migrate.upgrade(source)
    with source.read() as src:
        check_master_key(src, key, "the source store")
        with target.transaction() as dst:
            _refuse_rows(dst, shown(target.url))
            if migrate.upgrade(target) != revision:
                raise StoreError("the target's schema revision differs from the source's")
            for table in metadata.sorted_tables:
                _copy_table(src, dst, table)
                if dst.dialect is Dialect.POSTGRESQL:
                    _move_sequence(dst, table)
            rows = {table.name: _verify_table(src, dst, table) for table in metadata.sorted_tables}
            check_master_key(dst, key, "the copy")
    return CopyReport(revision, rows)


def _refuse_rows(tx: Tx, where: str) -> None:
    """A target holding any row of ours is refused: copying must never merge two stores."""
    existing = set(inspect(tx.conn).get_table_names())
    for table in metadata.sorted_tables:
        if table.name in existing:
            count = tx.conn.execute(select(func.count()).select_from(table)).scalar_one()
            if count:
                raise StoreError(
                    f"target {where} is not empty ({table.name} has {count} rows); "
                    "refusing to copy into it"
                )


def _ordered(tx: Tx, table: Table) -> Iterator[tuple[Any, ...]]:
    """Every row of `table`, in primary-key order."""
    result = tx.conn.execute(select(table).order_by(*table.primary_key.columns))
    for row in result:
        yield tuple(row)


def _copy_table(src: Tx, dst: Tx, table: Table) -> None:
    names = [column.name for column in table.columns]
    batch: list[dict[str, Any]] = []
    for row in _ordered(src, table):
        batch.append(dict(zip(names, row, strict=True)))
        if len(batch) == BATCH_ROWS:
            dst.conn.execute(table.insert(), batch)
            batch = []
    if batch:
        dst.conn.execute(table.insert(), batch)


def _move_sequence(tx: Tx, table: Table) -> None:
    """After explicit ids, the next id PostgreSQL hands out must be past the copied ones."""
    column = table.autoincrement_column
    if column is None:
        return
    sequence = func.pg_get_serial_sequence(table.name, column.name)
    next_id = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
    tx.conn.execute(select(func.setval(sequence, next_id, False)))


def _verify_table(src: Tx, dst: Tx, table: Table) -> int:
    """Compare `table` row by row on both sides; the number of rows, or `StoreError`.

    The message names the table and the row's position, never a value (values may be sealed
    secrets or personal data).
    """
    count = 0
    for number, (theirs, ours) in enumerate(
        zip_longest(_ordered(src, table), _ordered(dst, table)), start=1
    ):
        if theirs is None or ours is None:
            raise StoreError(f"verification failed: {table.name} has a different number of rows")
        if _normal(theirs) != _normal(ours):
            raise StoreError(f"verification failed: {table.name} row {number} differs")
        count = number
    return count


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drivers return BLOBs as bytes or memoryview: compare the bytes."""
    return tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)
