"""The audit trail: every decision the bridge makes, appended, never a secret.

Rows go to the `audit` table (append-only: triggers refuse UPDATE and DELETE). `AuditLog.record`
refuses detail fields whose names mark a secret, so a careless caller cannot log a PIN or a code
by accident; values are limited to short scalars. A row is written in the caller's open
transaction (the decision and its audit row commit together), or in a durable one of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final

from host_bridge.db.engine import Database
from host_bridge.domain import AuditRecord
from host_bridge.errors import BridgeError
from host_bridge.repos import audit as audit_repo

_SECRET_WORDS: Final = ("pin", "key", "code", "password", "secret", "response", "token")
MAX_DETAIL_TEXT: Final = 200
MAX_ROWS: Final = 100_000
"""The most rows one `AuditLog.rows` call returns."""
MAX_ROW_ID: Final = (1 << 63) - 1
"""Row ids are 64-bit on both engines; a larger `since_id` is bad input, not an overflow."""

DetailValue = str | int | float | bool | None


class AuditLog:
    """Append and read audit rows of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        at: float,
        event: str,
        outcome: str,
        *,
        user: str | None = None,
        serial: str | None = None,
        **detail: DetailValue,
    ) -> None:
        """Append one row. Raises `ValueError` if a detail name looks like a secret."""
        for name, value in detail.items():
            if _looks_secret(name):
                raise ValueError(f"audit detail {name!r} looks like a secret; not logged")
            if isinstance(value, str) and len(value) > MAX_DETAIL_TEXT:
                raise ValueError(f"audit detail {name!r} is too long")
        with self._db.transaction() as tx:
            audit_repo.append(tx, at, event, outcome, user=user, serial=serial, detail=detail)

    def rows(
        self,
        *,
        user: str | None = None,
        serial: str | None = None,
        since_id: int = 0,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Rows in order of writing, optionally only for one user or device."""
        if not 1 <= limit <= MAX_ROWS:
            raise BridgeError(f"limit must be 1 to {MAX_ROWS}")
        if not 0 <= since_id <= MAX_ROW_ID:
            raise BridgeError(f"since_id must be 0 to {MAX_ROW_ID}")
        with self._db.read() as tx:
            return audit_repo.rows(tx, user=user, serial=serial, since_id=since_id, limit=limit)


@functools.lru_cache(maxsize=256)
def _looks_secret(name: str) -> bool:
    """Whether a detail name marks a secret (cached: the same few names come every time)."""
    return any(word in name.lower() for word in _SECRET_WORDS)


def describe(detail: Mapping[str, object]) -> str:
    """`name=value` pairs, for the human-readable audit listing."""
    return " ".join(f"{name}={value}" for name, value in sorted(detail.items()))
