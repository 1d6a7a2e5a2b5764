"""Cards reported lost, stolen, damaged or inoperable (`slsbridge order lost`), the notices a user
sees (KB1943 note 3's auto-activation notices) and what a challenge was issued for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from host_bridge.db.engine import Tx
from host_bridge.db.schema import challenge_purposes, device_reports, notices
from host_bridge.policies.ordering import LossReason
from host_bridge.repos._rows import decoding, integer, new_id, opt, real, text


def report(tx: Tx, serial: str, user: str, reason: LossReason, now: float) -> None:
    tx.conn.execute(insert(device_reports).values(
        serial=serial, user=user, reason=reason.value, reported=now
    ))


def reported(tx: Tx, user: str) -> dict[str, LossReason]:
    """`user`'s reported cards, serial → reason."""
    rows = tx.conn.execute(select(device_reports.c.serial, device_reports.c.reason).where(
        device_reports.c.user == user
    ))
    return {str(serial): LossReason(reason) for serial, reason in rows}


def reason_of(tx: Tx, serial: str) -> LossReason | None:
    found = tx.conn.execute(
        select(device_reports.c.reason).where(device_reports.c.serial == serial)
    ).scalar()
    return None if found is None else LossReason(found)


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """One notice a user sees."""

    id: int
    user: str
    at: float
    kind: str
    order_id: int | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "at": self.at, "kind": self.kind,
                "order": self.order_id, "text": self.text}


def notify(
    tx: Tx, user: str, now: float, kind: str, order_id: int | None, body: str
) -> NoticeRecord:
    result = tx.conn.execute(insert(notices).values(
        user=user, at=now, kind=kind, order_id=order_id, text=body
    ))
    return NoticeRecord(new_id(result.inserted_primary_key), user, now, kind, order_id, body)


def notices_of(tx: Tx, user: str) -> list[NoticeRecord]:
    rows = tx.conn.execute(select(
        notices.c.id, notices.c.user, notices.c.at, notices.c.kind, notices.c.order_id,
        notices.c.text,
    ).where(notices.c.user == user).order_by(notices.c.id))
    found = []
    for row in rows:
        with decoding(f"notices row {row[0]}"):
            found.append(NoticeRecord(
                integer(row[0]), text(row[1]), real(row[2]), text(row[3]), opt(integer, row[4]),
                text(row[5]),
            ))
    return found


def bind(tx: Tx, challenge_id: str, purpose: str, subject: str) -> None:
    """Remember that challenge `challenge_id` was issued for `purpose` on behalf of `subject`."""
    tx.conn.execute(insert(challenge_purposes).values(
        challenge_id=challenge_id, purpose=purpose, subject=subject
    ))


def bound(tx: Tx, challenge_id: str) -> tuple[str, str] | None:
    """(purpose, subject) of a challenge issued for a purpose, or None."""
    row = tx.conn.execute(select(challenge_purposes.c.purpose, challenge_purposes.c.subject).where(
        challenge_purposes.c.challenge_id == challenge_id
    )).first()
    return None if row is None else (str(row[0]), str(row[1]))
