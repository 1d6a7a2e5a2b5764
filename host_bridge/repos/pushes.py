"""The `pushes` table: IB Key push transactions (`host_bridge.services.push`).

A status leaves `pending` once, by a conditional UPDATE (`settle`): of two answers racing for
one push only one moves it; an approval is granted to a login once (`claim`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update

from host_bridge.db.engine import Tx
from host_bridge.db.schema import pushes
from host_bridge.domain import PushRecord, PushStatus

_COLUMNS = (
    pushes.c.id, pushes.c.challenge_id, pushes.c.serial, pushes.c.user, pushes.c.status,
    pushes.c.created, pushes.c.expires, pushes.c.answered, pushes.c.claimed,
)


def _opt(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _record(row: Sequence[object]) -> PushRecord:
    push_id, challenge_id, serial, user, status, created, expires, answered, claimed = row
    return PushRecord(
        id=str(push_id), challenge_id=str(challenge_id), serial=str(serial),
        user=None if user is None else str(user), status=PushStatus(str(status)),
        created=float(created), expires=float(expires),  # type: ignore[arg-type]
        answered=_opt(answered), claimed=_opt(claimed),
    )


def add(tx: Tx, record: PushRecord) -> None:
    tx.conn.execute(insert(pushes).values(
        id=record.id, challenge_id=record.challenge_id, serial=record.serial, user=record.user,
        status=record.status.value, created=record.created, expires=record.expires,
        answered=record.answered, claimed=record.claimed,
    ))


def get(tx: Tx, push_id: str) -> PushRecord | None:
    row = tx.conn.execute(select(*_COLUMNS).where(pushes.c.id == push_id)).first()
    return None if row is None else _record(tuple(row))


def of_challenges(tx: Tx, challenge_ids: Sequence[str]) -> list[PushRecord]:
    """The pushes whose challenges are among `challenge_ids`, by id."""
    if not challenge_ids:
        return []
    rows = tx.conn.execute(
        select(*_COLUMNS).where(pushes.c.challenge_id.in_(list(challenge_ids)))
        .order_by(pushes.c.id)
    ).all()
    return [_record(tuple(row)) for row in rows]


def settle(tx: Tx, push_id: str, status: PushStatus, now: float) -> bool:
    """Move a pending push to `status`. True if this call moved it."""
    return tx.conn.execute(
        update(pushes).where(pushes.c.id == push_id, pushes.c.status == PushStatus.PENDING.value)
        .values(status=status.value, answered=now)
    ).rowcount == 1


def claim(tx: Tx, push_id: str, now: float) -> bool:
    """Grant an approved push to one login. True if this call claimed it."""
    return tx.conn.execute(
        update(pushes).where(
            pushes.c.id == push_id, pushes.c.status == PushStatus.APPROVED.value,
            pushes.c.claimed.is_(None),
        ).values(claimed=now)
    ).rowcount == 1
