"""The `validate_transactions` table: which challenges one privacyIDEA-protocol password step
issued (one row per device), so the second call can find them by `transaction_id`."""

from __future__ import annotations

from sqlalchemy import insert, select

from host_bridge.db.engine import Tx
from host_bridge.db.schema import challenges
from host_bridge.db.schema import validate_transactions as vt


def add(
    tx: Tx, transaction_id: str, user: str, members: list[tuple[str, str]], expires: float
) -> None:
    """Store the transaction: `members` are (serial, challenge id) pairs."""
    tx.conn.execute(insert(vt), [
        {"id": transaction_id, "challenge_id": challenge_id, "serial": serial, "user": user,
         "expires": expires}
        for serial, challenge_id in members
    ])


def members(
    tx: Tx, transaction_id: str, now: float
) -> tuple[str, list[tuple[str, str, str]]] | None:
    """The user and (serial, challenge id, challenge kind) of each challenge of an unexpired
    transaction, or None."""
    rows = tx.conn.execute(
        select(vt.c.user, vt.c.serial, vt.c.challenge_id, challenges.c.kind)
        .join(challenges, challenges.c.id == vt.c.challenge_id)
        .where(vt.c.id == transaction_id, vt.c.expires > now).order_by(vt.c.serial)
    ).all()
    if not rows:
        return None
    return str(rows[0][0]), [(str(row[1]), str(row[2]), str(row[3])) for row in rows]
