"""The audit trail: every decision the bridge makes, appended, never a secret.

Rows go to the `audit` table (append-only: triggers refuse UPDATE and DELETE). `AuditLog.record`
refuses detail fields whose names mark a secret, so a careless caller cannot log a PIN or a code
by accident; values are limited to short scalars.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final

from host_bridge.store import AuditRecord, Store

_SECRET_WORDS: Final = ("pin", "key", "code", "password", "secret", "response", "token")
MAX_DETAIL_TEXT: Final = 200
MAX_ROWS: Final = 100_000
"""The most rows one `AuditLog.rows` call returns."""

DetailValue = str | int | float | bool | None


class AuditLog:
    """Append and read audit rows of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

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
        self._store.append_audit(at, event, outcome, user=user, serial=serial, detail=detail)

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
            raise ValueError(f"limit must be 1 to {MAX_ROWS}")
        return self._store.audit(user=user, serial=serial, since_id=since_id, limit=limit)


@functools.lru_cache(maxsize=256)
def _looks_secret(name: str) -> bool:
    """Whether a detail name marks a secret (cached: the same few names come every time)."""
    return any(word in name.lower() for word in _SECRET_WORDS)


def describe(detail: Mapping[str, object]) -> str:
    """`name=value` pairs, for the human-readable audit listing."""
    return " ".join(f"{name}={value}" for name, value in sorted(detail.items()))
