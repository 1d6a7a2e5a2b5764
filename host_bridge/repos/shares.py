"""Sharing requests (KB2481) and their states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, or_, select, update

from host_bridge.db.engine import Tx
from host_bridge.db.schema import share_requests as shares
from host_bridge.domain import ShareState
from host_bridge.errors import BridgeError
from host_bridge.repos._rows import decoding, integer, new_id, opt, real, text


@dataclass(frozen=True, slots=True)
class ShareRecord:
    """One sharing request."""

    id: int
    requester: str
    owner: str
    serial: str
    state: ShareState
    reason: str | None
    created: float
    decided: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requester": self.requester,
            "owner": self.owner,
            "serial": self.serial,
            "status": self.state.value,
            "reason": self.reason,
            "created": self.created,
            "decided": self.decided,
        }


def add(
    tx: Tx, requester: str, owner: str, serial: str, state: ShareState, reason: str | None,
    now: float, decided: float | None,
) -> int:
    result = tx.conn.execute(insert(shares).values(
        requester=requester, owner=owner, serial=serial, status=state.value, reason=reason,
        created=now, decided=decided,
    ))
    return new_id(result.inserted_primary_key)


def get(tx: Tx, request_id: int, *, lock: bool = False) -> ShareRecord:
    query = select(*shares.c).where(shares.c.id == request_id)
    row = tx.conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise BridgeError(f"no sharing request {request_id}")
    with decoding(f"share_requests row {request_id}"):
        return ShareRecord(
            integer(row[0]), text(row[1]), text(row[2]), text(row[3]), ShareState(row[4]),
            opt(text, row[5]), real(row[6]), opt(real, row[7]),
        )


def pending_exists(tx: Tx, requester: str, serial: str) -> bool:
    return tx.conn.execute(select(shares.c.id).where(
        shares.c.requester == requester, shares.c.serial == serial,
        shares.c.status == ShareState.PENDING.value,
    )).first() is not None


def decide(tx: Tx, request_id: int, state: ShareState, reason: str | None, now: float) -> None:
    tx.conn.execute(update(shares).where(shares.c.id == request_id).values(
        status=state.value, reason=reason, decided=now
    ))


def ids(tx: Tx, user: str | None = None) -> list[int]:
    """Request ids, oldest first (only those `user` made or owns the device of)."""
    query = select(shares.c.id).order_by(shares.c.id)
    if user is not None:
        query = query.where(or_(shares.c.requester == user, shares.c.owner == user))
    return [int(i) for i in tx.conn.execute(query).scalars()]
