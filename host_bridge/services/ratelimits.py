"""Rate limits shared by every front-door process on one store: a fixed window per bucket
(client address, user, device, API key), counted in the store so N workers see one count.

A window's state lost in a power cut harms nobody, so the hits commit RELAXED. The device
lockout (`lockout_after`) is separate and always applies; this only slows callers down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from host_bridge.db.engine import Durability
from host_bridge.repos import ratelimits
from host_bridge.services.context import Context, unit_of_work


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `hits` requests per `window` seconds on bucket `bucket`."""

    bucket: str
    hits: int
    window: float

    def __post_init__(self) -> None:
        if self.hits < 1 or not 0 < self.window <= 86_400 or not self.bucket:
            raise ValueError("a rate limit needs a bucket, hits ≥ 1 and a window of 0-86400 s")


class RateLimitService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @unit_of_work
    def hit(self, limits: Sequence[Limit]) -> int | None:
        """Count one request against every limit; None if all allow it, else the seconds until
        the fullest bucket's window ends (for `Retry-After`)."""
        if not limits:
            return None
        now = self.ctx.clock()
        wait = 0.0
        with self.ctx.db.transaction(Durability.RELAXED) as tx:
            for limit in limits:
                hits, start = ratelimits.hit(tx, limit.bucket, now, limit.window)
                if hits > limit.hits:
                    wait = max(wait, start + limit.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else None
