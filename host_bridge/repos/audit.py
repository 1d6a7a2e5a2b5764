"""The audit trail's rows (append-only: the schema's triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import bindparam, insert, select

from host_bridge.db.engine import Tx
from host_bridge.db.schema import audit
from host_bridge.domain import AuditRecord
from host_bridge.repos._rows import decoding, integer, opt, real, text

# One encoder for every row: `json.dumps` with options builds a new encoder per call.
_JSON: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_APPEND: Final = insert(audit).values(
    at=bindparam("b_at"), event=bindparam("b_event"), outcome=bindparam("b_outcome"),
    user=bindparam("b_user"), serial=bindparam("b_serial"), detail=bindparam("b_detail"),
)


def append(
    tx: Tx,
    at: float,
    event: str,
    outcome: str,
    *,
    user: str | None = None,
    serial: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one row (the caller guarantees `detail` holds no secret)."""
    text = _JSON.encode(detail if isinstance(detail, dict) else dict(detail or {}))
    tx.conn.execute(_APPEND, {
        "b_at": at, "b_event": event, "b_outcome": outcome, "b_user": user, "b_serial": serial,
        "b_detail": text,
    })


def rows(
    tx: Tx,
    *,
    user: str | None = None,
    serial: str | None = None,
    since_id: int = 0,
    limit: int = 1000,
) -> list[AuditRecord]:
    """Rows in order, optionally filtered."""
    query = select(*audit.c).where(audit.c.id > since_id)
    if user is not None:
        query = query.where(audit.c.user == user)
    if serial is not None:
        query = query.where(audit.c.serial == serial)
    return [_row(r) for r in tx.conn.execute(query.order_by(audit.c.id).limit(limit))]


def _row(r: Sequence[Any]) -> AuditRecord:
    with decoding(f"audit row {str(r[0])[:20]}"):
        detail = json.loads(text(r[6]))
        if not isinstance(detail, dict):
            raise TypeError("detail is not an object")
        return AuditRecord(
            integer(r[0]), real(r[1]), text(r[2]), text(r[3]), opt(text, r[4]), opt(text, r[5]),
            detail,
        )
