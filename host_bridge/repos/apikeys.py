"""The `api_keys` table: who may call the own HTTP API. Only a digest of each key is stored."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from host_bridge.db.engine import Tx
from host_bridge.db.schema import api_keys
from host_bridge.domain import ApiKeyRecord, ApiScope
from host_bridge.errors import BridgeError

_COLUMNS = (
    api_keys.c.id, api_keys.c.name, api_keys.c.scope, api_keys.c.digest, api_keys.c.created,
    api_keys.c.revoked,
)


_REVOKED = select(api_keys.c.revoked).where(api_keys.c.id == bindparam("id"))


def _record(row: tuple[object, ...]) -> ApiKeyRecord:
    key_id, name, scope, digest, created, revoked = row
    return ApiKeyRecord(
        id=str(key_id), name=str(name), scope=ApiScope(str(scope)), digest=bytes(digest),  # type: ignore[call-overload]
        created=float(created), revoked=None if revoked is None else float(revoked),  # type: ignore[arg-type]
    )


def insert_key(tx: Tx, record: ApiKeyRecord) -> None:
    if tx.conn.execute(select(api_keys.c.id).where(api_keys.c.name == record.name)).first():
        raise BridgeError(f"an API key named {record.name!r} exists already")
    tx.conn.execute(insert(api_keys).values(
        id=record.id, name=record.name, scope=record.scope.value, digest=record.digest,
        created=record.created, revoked=record.revoked,
    ))


def by_id(tx: Tx, key_id: str) -> ApiKeyRecord | None:
    row = tx.conn.execute(select(*_COLUMNS).where(api_keys.c.id == key_id)).first()
    return None if row is None else _record(tuple(row))


def revoked(tx: Tx, key_id: str) -> bool | None:
    """Whether key `key_id` is revoked; None if there is no such key."""
    row = tx.conn.execute(_REVOKED, {"id": key_id}).first()
    return None if row is None else row[0] is not None


def all_keys(tx: Tx) -> list[ApiKeyRecord]:
    rows = tx.conn.execute(select(*_COLUMNS).order_by(api_keys.c.name)).all()
    return [_record(tuple(row)) for row in rows]


def revoke(tx: Tx, name: str, now: float) -> bool:
    """Revoke the key `name`; False if there is no such unrevoked key."""
    result = tx.conn.execute(
        update(api_keys).where(api_keys.c.name == name, api_keys.c.revoked.is_(None))
        .values(revoked=now)
    )
    return bool(result.rowcount)
