"""What every endpoint shares in one worker process: a few `Worker`s (each a thread of its own
with its own `Bridge`: a bridge and its SQLite connection belong to one thread), the rate
limits, the metrics.

Service calls block (scrypt, a durable commit), so a handler borrows an idle worker and runs the
call on that worker's thread; the event loop stays free. `close` closes each bridge on its own
thread at shutdown.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TypeVar

from host_bridge.bridge import Bridge
from host_bridge.http.config import HttpConfig
from host_bridge.http.problems import Problem
from host_bridge.services.policies import Policies, load_policy_config
from host_bridge.services.ratelimits import Limit

T = TypeVar("T")
THREADS: Final = 4
"""Workers per process: enough to overlap password hashing with commits; SQLite serialises the
writes anyway."""


class Worker:
    """One thread, and the bridge and policies it opens on first use."""

    def __init__(self, home: Path | None, number: int) -> None:
        self.home = home
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"slsbridge-http-{number}")
        self._bridge: Bridge | None = None
        self._policies: Policies | None = None

    @property
    def bridge(self) -> Bridge:
        if self._bridge is None:
            self._bridge = Bridge.open(self.home, create=False)
        return self._bridge

    @property
    def policies(self) -> Policies:
        if self._policies is None:
            self._policies = Policies(self.bridge, load_policy_config(self.bridge.home))
        return self._policies

    def close(self) -> None:
        if self._bridge is not None:
            self._bridge.close()
            self._bridge = self._policies = None


class Runtime:
    def __init__(self, home: Path | None, config: HttpConfig, threads: int = THREADS) -> None:
        self.home = home
        self.config = config
        self.metrics = Metrics()
        self._workers = [Worker(home, n) for n in range(threads)]
        self._idle: asyncio.Queue[Worker] | None = None

    async def run(self, work: Callable[[Worker], T]) -> T:
        """`work(worker)` on an idle worker's thread."""
        if self._idle is None:
            self._idle = asyncio.Queue()
            for worker in self._workers:
                self._idle.put_nowait(worker)
        worker = await self._idle.get()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                worker.executor, work, worker
            )
        finally:
            self._idle.put_nowait(worker)

    def limit(self, worker: Worker, **buckets: str | None) -> None:
        """Count this request in each named bucket (address, user, device, key) now;
        `RateLimited` (429 with `Retry-After`) if any is over its rate."""
        refusal = self.over_limit(worker, buckets)
        if refusal is not None:
            raise refusal

    def over_limit(self, worker: Worker, buckets: Mapping[str, str | None]) -> RateLimited | None:
        """Count one hit in each named bucket (in the open transaction, if any); the 429 to
        answer if any is over its rate."""
        rates = {
            "address": self.config.per_address, "user": self.config.per_user,
            "device": self.config.per_device, "key": self.config.per_key,
        }
        limits = [
            Limit(f"{name}:{value}", rates[name], self.config.window)
            for name, value in buckets.items() if value is not None
        ]
        wait = worker.bridge.rate_limits.hit(limits)
        return None if wait is None else RateLimited(wait)

    def close(self) -> None:
        """Close every bridge on its own thread (after in-flight calls finished)."""
        for worker in self._workers:
            worker.executor.submit(worker.close).result()
            worker.executor.shutdown()


class RateLimited(Problem):
    """429: a rate limit's window is full (`Retry-After`: seconds until it ends)."""

    def __init__(self, wait: int) -> None:
        super().__init__(429, "Too many requests", "rate limit reached; try again later",
                         {"Retry-After": str(wait)})


class Metrics:
    """Counters and a latency sum in the Prometheus text format (per worker process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.decisions: Counter[tuple[str, str]] = Counter()
        self.events: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.started = time.monotonic()

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            self.seconds[route] += seconds

    def decision(self, kind: str, result: str) -> None:
        with self._lock:
            self.decisions[(kind, result)] += 1

    def count(self, event: str) -> None:
        with self._lock:
            self.events[event] += 1

    def text(self) -> str:
        lines = [
            "# HELP slsbridge_http_requests_total HTTP requests by method, route and status.",
            "# TYPE slsbridge_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'slsbridge_http_requests_total{{method="{method}",route="{route}",'
                    f'status="{status}"}} {n}'
                )
            lines += [
                "# HELP slsbridge_http_request_seconds_total Time spent answering, by route.",
                "# TYPE slsbridge_http_request_seconds_total counter",
            ]
            for route, total in sorted(self.seconds.items()):
                lines.append(f'slsbridge_http_request_seconds_total{{route="{route}"}} {total:.6f}')
            lines += [
                "# HELP slsbridge_decisions_total Decisions by kind and result.",
                "# TYPE slsbridge_decisions_total counter",
            ]
            for (kind, result), n in sorted(self.decisions.items()):
                lines.append(f'slsbridge_decisions_total{{kind="{kind}",result="{result}"}} {n}')
            lines += [
                "# HELP slsbridge_http_events_total Refusals at the door (auth, rate, network).",
                "# TYPE slsbridge_http_events_total counter",
            ]
            for event, n in sorted(self.events.items()):
                lines.append(f'slsbridge_http_events_total{{event="{event}"}} {n}')
        return "\n".join(lines) + "\n"
