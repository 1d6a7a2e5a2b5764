"""Bring a store to the schema this build knows, with Alembic; adopt a store of the first schema.

Theory of operation. `alembic_version` names the revision a store is at. `upgrade` runs in ONE
write transaction (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock), so
two processes opening a fresh store at once cannot both create it, and a failed migration leaves
the store as it was (DDL is transactional on both engines). Cases:

* at `HEAD`: nothing to do (the common case costs one query; Alembic's scripts are not loaded);
* empty database: every revision runs;
* a store of the first, hand-written schema (`schema_version` = 1, no `alembic_version`): it is
  that schema exactly, so it is stamped with revision 0001 and upgraded from there;
* a revision this build does not know, or a `schema_version` above 1: the store is newer than the
  code and is refused (`StoreError`): old code on a newer schema could corrupt it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Column, Integer, MetaData, Table, func, inspect, select

from host_bridge.db.engine import Database, Dialect, Tx
from host_bridge.errors import StoreDamaged, StoreEmpty, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration (or a revision look-up) needs it, not with this module:
# every command opens the store through `upgrade`, whose common case (at HEAD) is one query, and
# importing Alembic costs a short-lived process (each CLI run) more CPU than the command itself.

HEAD: Final = "0007"
"""The newest revision (tests check it is Alembic's head)."""
MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
_LOCK_ID: Final = 0x51_5E_1D  # the advisory lock that serialises migrations on PostgreSQL
_legacy = MetaData()
_schema_version = Table("schema_version", _legacy, Column("version", Integer, nullable=False))
_alembic_version = Table("alembic_version", _legacy, Column("version_num", Integer))


def alembic_config(tx: Tx | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if tx is not None:
        config.attributes["connection"] = tx.conn
    return config


def head() -> str | None:
    """Alembic's head revision, read from the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(tx: Tx) -> str | None:
    """The revision the store is at (None: not an Alembic store)."""
    if not inspect(tx.conn).has_table("alembic_version"):
        return None
    found = tx.conn.execute(select(_alembic_version.c.version_num)).scalar()
    return None if found is None else str(found)


def upgrade(db: Database, target: str = "head", *, create: bool = True) -> str:
    """Migrate `db` to `target` (default: the newest revision); return the revision it is at.

    `create=False`: a store with no schema at all is `StoreEmpty` (nothing is written)."""
    with db.transaction() as tx:
        if tx.dialect is Dialect.POSTGRESQL:
            tx.conn.execute(select(func.pg_advisory_xact_lock(_LOCK_ID)))
        current = current_revision(tx)
        if current == HEAD and target == "head":
            return HEAD
        from alembic import command
        from alembic.util import CommandError

        if current is None and inspect(tx.conn).has_table("schema_version"):
            legacy = tx.conn.execute(select(_schema_version.c.version)).scalar()
            if type(legacy) is not int:  # NULL, text, a float: no version this project wrote
                raise StoreDamaged(f"schema_version {str(legacy)[:20]!r}")
            if legacy > 1:
                raise newer_than_build(f"version {legacy}")
            if legacy == 1:  # the first schema, exactly revision 0001
                command.stamp(alembic_config(tx), "0001")
                current = "0001"
        if current is None and not create:
            raise StoreEmpty(db.name)
        if current is not None and not known(current):
            raise newer_than_build(f"revision {current}")
        try:
            command.upgrade(alembic_config(tx), target)
        except CommandError as error:
            raise StoreError(f"cannot migrate the store: {error}") from None
        return current_revision(tx) or ""


def known(revision: str) -> bool:
    """Whether `revision` is one of this build's migrations (else the store is newer)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def newer_than_build(what: str) -> StoreError:
    """The refusal of a store whose schema is newer than this build knows."""
    return StoreError(f"the store's schema ({what}) is newer than this build knows; upgrade slsemu")
