"""`slsbridge store migrate --to URL` and `slsbridge store check`: move and inspect a store.

Both work on the configured store (`SLSEMU_STORE`, else `store` in bridge.toml, else the SQLite
file in the data folder). A database error on the way (a server that goes away, a connection
lost mid-transaction) is one line and exit 2; the migration's single transaction leaves the
target as it was.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import exc

from host_bridge.commands._common import add_json
from host_bridge.config import BridgeConfig
from host_bridge.db.check import StoreHealth, check_store
from host_bridge.db.engine import Database, first_line, shown, store_url
from host_bridge.db.transfer import copy_store
from host_bridge.errors import StoreError
from host_bridge.masterkey import MasterKey, load_master_key
from slsio.cli import EXIT_NEGATIVE, emit
from slsio.home import data_home


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("store", help="migrate or check the store")
    sub = parser.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    migrate = sub.add_parser(
        "migrate", help="copy the store into another (empty) one and verify the copy"
    )
    migrate.add_argument("--to", required=True, metavar="URL", help="e.g. postgresql://…")
    add_json(migrate)
    migrate.set_defaults(handler=_migrate)
    check = sub.add_parser("check", help="schema version and integrity of the store")
    add_json(check)
    check.set_defaults(handler=_check)


@contextlib.contextmanager
def _opened(url: str, *, create: bool) -> Iterator[Database]:
    """The store at `url`; any database error inside becomes one line (`StoreError`).
    `create=False`: a missing or empty SQLite file is `StoreEmpty` and is not created."""
    db = Database.connect(url, create=create)
    try:
        yield db
    except exc.SQLAlchemyError as error:
        raise StoreError(f"store {shown(db.url)}: {first_line(error)}") from None
    finally:
        db.close()


def _configured() -> tuple[str, MasterKey | None, StoreError | None]:
    """The configured store's URL and the master key (or why there is none)."""
    home = data_home(create=False)
    url = store_url(home, BridgeConfig.load(home).store)
    try:
        return url, load_master_key(home), None
    except StoreError as error:
        return url, None, error


def _migrate(args: argparse.Namespace) -> int:
    source_url, key, missing = _configured()
    with _opened(source_url, create=False) as source:
        if key is None:
            assert missing is not None
            raise missing
        with _opened(args.to, create=True) as target:
            report = copy_store(source, target, key)
    emit(
        args,
        {
            "from": shown(source.url),
            "to": shown(target.url),
            "revision": report.revision,
            "rows": dict(report.rows),
            "verified": True,
        },
        f"copied {report.total} rows in {len(report.rows)} tables to {shown(target.url)} "
        f"(schema {report.revision}); verified row by row",
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    url, key, _ = _configured()
    with _opened(url, create=False) as db:
        health = check_store(db, key)
        emit(args, {"store": shown(db.url), **health.as_json()}, _text(shown(db.url), health))
    return 0 if health.sound else EXIT_NEGATIVE


def _text(where: str, health: StoreHealth) -> str:
    lines = [
        f"store: {where} ({health.engine.value})",
        f"schema: {health.revision} ({health.schema.value}; this build: {health.head})",
        f"master key: {health.master_key.value}",
        f"rows: {sum(health.rows.values())} in {len(health.rows)} tables",
        f"integrity: {'ok' if health.sound else 'DAMAGED'}",
    ]
    lines.extend(f"  {problem}" for problem in health.problems)
    return "\n".join(lines)
