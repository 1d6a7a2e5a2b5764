"""`slsbridge store check`: a store's schema revision and integrity, read-only.

Theory of operation. One read transaction; nothing is migrated or written. The schema revision
is compared with the newest this build knows: current, older (the next command that opens the
store migrates it), or newer — refused as bad input (`StoreError`), as opening it would be.
Integrity is what can be checked on both engines the same way: every foreign key has its parent
row (SQLite may hold orphans if foreign keys were ever off; PostgreSQL enforces them, so a hit
there means damage), and the master key's check value opens with the key at hand. SQLite adds
its own `PRAGMA integrity_check` (pages, indexes); PostgreSQL checks its pages itself as it reads
them and has no equivalent that needs no extension.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKeyConstraint, and_, exists, func, inspect, not_, select

from host_bridge.db import migrate
from host_bridge.db.engine import Database, Dialect, Tx
from host_bridge.db.schema import metadata
from host_bridge.errors import StoreError
from host_bridge.masterkey import MasterKey
from host_bridge.repos import meta


class SchemaState(enum.Enum):
    CURRENT = "current"
    OLDER = "older"  # migrated by the next command that opens the store


class KeyState(enum.Enum):
    MATCHES = "matches"
    WRONG = "wrong"
    NOT_CHECKED = "not checked"  # no master key at hand (another machine, an operator)
    NOT_INITIALISED = "not initialised"


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """The answer of `store check`. `problems` empty means the store is sound."""

    engine: Dialect
    revision: str
    head: str
    schema: SchemaState
    master_key: KeyState
    rows: Mapping[str, int]
    problems: tuple[str, ...]

    @property
    def sound(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine.value,
            "schema": {"revision": self.revision, "head": self.head, "state": self.schema.value},
            "master_key": self.master_key.value,
            "rows": dict(self.rows),
            "integrity": "ok" if self.sound else "damaged",
            "problems": list(self.problems),
        }


def check_store(db: Database, key: MasterKey | None) -> StoreHealth:
    """Check the store `db` (see the module doc); `key` None skips the master key check."""
    head = migrate.HEAD
    with db.read() as tx:
        tables = set(inspect(tx.conn).get_table_names())
        revision = migrate.current_revision(tx)
        if revision is None:
            if "schema_version" not in tables:
                raise StoreError("no store there (run `slsbridge init`)")
            revision = "legacy"  # the first, hand-written schema: adopted on the next open
        elif not migrate.known(revision):
            raise migrate.newer_than_build(f"revision {revision}")
        problems = list(_engine_problems(tx)) + list(_orphans(tx))
        rows = {
            table.name: tx.conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
            if table.name in tables
        }
        master = _master_key(tx, key)
    if master is KeyState.WRONG:
        problems.append("the master key at hand does not open this store's check value")
    state = SchemaState.CURRENT if revision == head else SchemaState.OLDER
    return StoreHealth(db.dialect, revision, head, state, master, rows, tuple(problems))


def _engine_problems(tx: Tx) -> list[str]:
    if tx.dialect is not Dialect.SQLITE:
        return []
    found = [str(row[0]) for row in tx.conn.exec_driver_sql("PRAGMA integrity_check")]
    return [] if found == ["ok"] else [f"SQLite integrity_check: {line}" for line in found[:10]]


def _orphans(tx: Tx) -> list[str]:
    """Rows whose foreign key names no parent row, per foreign key of the schema."""
    problems = []
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            if not isinstance(constraint, ForeignKeyConstraint):
                continue
            child = [element.parent for element in constraint.elements]
            parent = [element.column for element in constraint.elements]
            has_parent = exists().where(
                and_(*(p == c for p, c in zip(parent, child, strict=True)))
            )
            orphans = tx.conn.execute(
                select(func.count())
                .select_from(table)
                .where(and_(*(c.is_not(None) for c in child)), not_(has_parent))
            ).scalar_one()
            if orphans:
                names = ", ".join(c.name for c in child)
                problems.append(
                    f"{table.name}: {orphans} rows whose {names} names no "
                    f"{parent[0].table.name} row"
                )
    return problems


def _master_key(tx: Tx, key: MasterKey | None) -> KeyState:
    check = meta.get(tx, meta.MASTER_CHECK)
    if check is None:
        return KeyState.NOT_INITIALISED
    if key is None:
        return KeyState.NOT_CHECKED
    return KeyState.MATCHES if key.matches(check) else KeyState.WRONG
