"""The `rate_limits` table: one fixed window per bucket ("addr:127.0.0.1", "user:alice", …),
shared by every process on the store."""

from __future__ import annotations

from sqlalchemy import text

from host_bridge.db.engine import Tx

# One statement per hit (both engines speak this UPSERT … RETURNING): a window that has ended
# starts again at this hit.
_HIT = text(
    "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (:bucket, :now, 1) "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "hits = CASE WHEN rate_limits.window_start <= :start THEN 1 "
    "ELSE rate_limits.hits + 1 END, "
    "window_start = CASE WHEN rate_limits.window_start <= :start THEN :now "
    "ELSE rate_limits.window_start END "
    "RETURNING hits, window_start"
)


def hit(tx: Tx, bucket: str, now: float, window: float) -> tuple[int, float]:
    """Count one hit on `bucket`; return the hits in its window and when the window started."""
    row = tx.conn.execute(_HIT, {"bucket": bucket, "now": now, "start": now - window}).one()
    return int(row[0]), float(row[1])
