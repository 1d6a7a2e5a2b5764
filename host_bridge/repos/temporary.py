"""Temporary access: Temporary Codes (stored hashed only) and Online SCCs (KB70, KB1873)."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from host_bridge.db.engine import Tx
from host_bridge.db.schema import temp_access as temp
from host_bridge.domain import TempKind, TempStatus
from host_bridge.passwords import PasswordHash
from host_bridge.repos._rows import blob, decoding, integer, new_id, opt, real, text

TempRow = tuple[int, str, TempKind, str | None, float, float, float, TempStatus]
"""(id, user, kind, serial, issued, full_until, portal_until, status): never the code hash."""


def add_code(
    tx: Tx, user: str, hashed: PasswordHash, now: float, full_until: float, portal_until: float
) -> int:
    result = tx.conn.execute(insert(temp).values(
        user=user, kind=TempKind.TEMPORARY_CODE.value, code_hash=hashed.digest,
        code_salt=hashed.salt, serial=None, issued=now, full_until=full_until,
        portal_until=portal_until, status=TempStatus.ACTIVE.value,
    ))
    return new_id(result.inserted_primary_key)


def add_online_scc(tx: Tx, user: str, serial: str, now: float, valid_until: float) -> int:
    result = tx.conn.execute(insert(temp).values(
        user=user, kind=TempKind.ONLINE_SCC.value, code_hash=None, code_salt=None, serial=serial,
        issued=now, full_until=valid_until, portal_until=valid_until,
        status=TempStatus.ACTIVE.value,
    ))
    return new_id(result.inserted_primary_key)


def get(tx: Tx, row_id: int) -> TempRow | None:
    row = tx.conn.execute(select(
        temp.c.id, temp.c.user, temp.c.kind, temp.c.serial, temp.c.issued, temp.c.full_until,
        temp.c.portal_until, temp.c.status,
    ).where(temp.c.id == row_id)).first()
    if row is None:
        return None
    with decoding(f"temp_access row {row_id}"):
        return (integer(row[0]), text(row[1]), TempKind(row[2]), opt(text, row[3]),
                real(row[4]), real(row[5]), real(row[6]), TempStatus(row[7]))


def ids(tx: Tx, user: str) -> list[int]:
    query = select(temp.c.id).where(temp.c.user == user).order_by(temp.c.issued, temp.c.id)
    return [int(i) for i in tx.conn.execute(query).scalars()]


def active_codes(tx: Tx, user: str) -> list[tuple[int, bytes | None, bytes | None, float]]:
    """(id, code hash, salt, issued) of the user's active Temporary Codes, newest first."""
    rows = tx.conn.execute(
        select(temp.c.id, temp.c.code_hash, temp.c.code_salt, temp.c.issued)
        .where(temp.c.user == user, temp.c.kind == TempKind.TEMPORARY_CODE.value,
               temp.c.status == TempStatus.ACTIVE.value)
        .order_by(temp.c.issued.desc())
    )
    with decoding(f"temp_access rows of {user[:40]!r}"):
        return [(integer(r[0]), opt(blob, r[1]), opt(blob, r[2]), real(r[3])) for r in rows]


def working_code_ids(tx: Tx, user: str, now: float) -> list[int]:
    """Active Temporary Codes still inside their portal-only period."""
    rows = tx.conn.execute(select(temp.c.id).where(
        temp.c.user == user, temp.c.kind == TempKind.TEMPORARY_CODE.value,
        temp.c.status == TempStatus.ACTIVE.value, temp.c.portal_until > now,
    ))
    return [int(i) for i in rows.scalars()]


def last_issued(tx: Tx, user: str) -> tuple[TempKind, float] | None:
    """The kind and issue time of the user's newest temporary credential."""
    row = tx.conn.execute(
        select(temp.c.kind, temp.c.issued).where(temp.c.user == user)
        .order_by(temp.c.issued.desc(), temp.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    with decoding(f"temp_access rows of {user[:40]!r}"):
        return TempKind(row[0]), real(row[1])


def end_active(tx: Tx, user: str) -> None:
    """Every active temporary credential of `user` is replaced (the permanent device is back)."""
    tx.conn.execute(update(temp).where(
        temp.c.user == user, temp.c.status == TempStatus.ACTIVE.value
    ).values(status=TempStatus.REPLACED.value))
