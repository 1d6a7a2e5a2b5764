"""What every endpoint shares in one worker process: a `Bridge` per worker thread (a bridge is
not thread-safe), the rate limits, the metrics, and how a blocking service call is run.

Service calls block (scrypt, a durable commit), so they run in Starlette's thread pool; each
thread opens its own bridge on first use and `close` closes them all at shutdown.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from anyio import to_thread

from host_bridge.bridge import Bridge
from host_bridge.http.config import HttpConfig
from host_bridge.http.problems import Problem
from host_bridge.services.policies import Policies, load_policy_config
from host_bridge.services.ratelimits import Limit

T = TypeVar("T")


class Worker:
    """One bridge and its policies, owned by one thread."""

    def __init__(self, home: Path | None) -> None:
        self.bridge = Bridge.open(home)
        self.policies = Policies(self.bridge, load_policy_config(self.bridge.home))


class Runtime:
    def __init__(self, home: Path | None, config: HttpConfig) -> None:
        self.home = home
        self.config = config
        self.metrics = Metrics()
        self._local = threading.local()
        self._workers: list[Worker] = []
        self._lock = threading.Lock()

    def worker(self) -> Worker:
        found: Worker | None = getattr(self._local, "worker", None)
        if found is None:
            found = Worker(self.home)
            self._local.worker = found
            with self._lock:
                self._workers.append(found)
        return found

    async def run(self, work: Callable[[Worker], T]) -> T:
        """`work(worker)` in a pool thread with that thread's bridge."""
        return await to_thread.run_sync(lambda: work(self.worker()))

    def limit(self, worker: Worker, **buckets: str | None) -> None:
        """Count this request in each named bucket (address, user, device, key); `Problem` 429
        with `Retry-After` if any is over its rate."""
        rates = {
            "address": self.config.per_address, "user": self.config.per_user,
            "device": self.config.per_device, "key": self.config.per_key,
        }
        limits = [
            Limit(f"{name}:{value}", rates[name], self.config.window)
            for name, value in buckets.items() if value is not None
        ]
        wait = worker.bridge.rate_limits.hit(limits)
        if wait is not None:
            self.metrics.count("rate_limited")
            raise Problem(429, "Too many requests", "rate limit reached; try again later",
                          {"Retry-After": str(wait)})

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.bridge.close()


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
