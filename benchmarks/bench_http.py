"""BENCH http_login, http_validate_login, http_login_postgres: complete logins per second
through a real `slsbridge serve --http --workers 2` on SQLite (and PostgreSQL), beside a
minimal JSON endpoint on the same stack (benchmarks/http_baseline.py, uvicorn, 2 workers) driven
by the same client.

* `http_login`: POST /v1/challenges + POST /v1/verify (a DSC+ answer computed by the client with
  the card's key). Baseline: two POSTs to the minimal endpoint per "login". ratio = logins/s ÷
  baseline logins/s.
* `http_validate_login`: privacyIDEA's protocol, POST /validate/check twice, the first with the
  password (scrypt N=2^14, the default cost) — the password hash bounds it; same baseline.
* `http_login_postgres`: http_login with the store on the durable throwaway PostgreSQL `make
  bench` starts (SLSEMU_BENCH_PG_URL; skipped without it); same baseline.

The client: `THREADS` threads, each with its own keep-alive connection and its own user and
device, logging in back to back for `SECONDS`; p50/p99 are per-login latencies. Rounds alternate
project and baseline; the best round of each counts (a shared machine's noise only slows).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.harness import BenchResult
from benchmarks.pg_baseline import BENCH_URL_ENV
from firmware_model.image import decode_image
from firmware_model.ocra import ocra
from host_bridge.bridge import Bridge
from host_bridge.db.engine import ENV_STORE
from host_bridge.domain import ApiScope
from tests.pg_cluster import scratch_database

THREADS = 4
SECONDS = 3.0
ROUNDS = 2
PIN = "2468"
PASSWORD = "correct horse battery"
NO_LIMITS = ("--rate-per-user", "10000000", "--rate-per-address", "10000000",
             "--rate-per-key", "10000000")
Login = Callable[[httpx.Client, int], None]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(cmd: list[str], env: dict[str, str], url: str) -> Iterator[None]:
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {process.stderr.read()[-500:]!r}")  # type: ignore[union-attr]
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _drive(url: str, login: Login) -> tuple[float, list[float]]:
    """Logins per second over `SECONDS` with `THREADS` clients, and every login's latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS + 1)
    stop = threading.Event()

    def client(number: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=url, timeout=60) as http:
            login(http, number)  # warm: connection, per-process caches
            barrier.wait()
            while not stop.is_set():
                start = time.perf_counter()
                login(http, number)
                mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    stop.wait(SECONDS)  # the measuring window (a benchmark, not a test)
    stop.set()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def _quantiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def _setup(home: Path) -> tuple[list[tuple[str, str, bytes, str]], str]:
    """One user and DSC+ per client thread; an API key."""
    devices = []
    with Bridge.open(home) as bridge:
        bridge.init()
        for n in range(THREADS):
            bridge.add_user(f"user{n}", PASSWORD)
            made = bridge.provision(f"user{n}", "dscplus", pin=PIN, image_path=home / f"{n}.img")
            image = decode_image((home / f"{n}.img").read_bytes())
            devices.append((f"user{n}", made.serial, image.key, image.suite or ""))
        key = bridge.api_keys.create("bench", ApiScope.ADMIN).key
    return devices, key


def run() -> list[BenchResult]:
    results = _measure(None)
    server = os.environ.get(BENCH_URL_ENV)
    if server:  # `make bench` started a durable throwaway PostgreSQL
        with scratch_database(server) as url:
            results += _measure(url)
    return results


def _measure(store: str | None) -> list[BenchResult]:
    """The benches on SQLite (`store` None: http_login, http_validate_login) or on the
    PostgreSQL database `store` (http_login_postgres), beside the same baseline."""
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        home = Path(folder) / "home"
        home.mkdir(mode=0o700)
        if store is not None:  # the data folder's bridge.toml names the store (both sides)
            (home / "bridge.toml").write_text(f"store = {json.dumps(store)}\n")
        devices, key = _setup(home)
        env = dict(os.environ, SLSEMU_HOME=str(home))
        env.pop(ENV_STORE, None)
        auth = {"Authorization": f"Bearer {key}"}

        def v1_login(http: httpx.Client, n: int) -> None:
            _user, serial, secret, suite = devices[n]
            issued = http.post("/v1/challenges", json={"serial": serial}, headers=auth).json()
            response = ocra(suite, secret, question=issued["challenge"], pin=PIN)
            verdict = http.post("/v1/verify", headers=auth, json={
                "serial": serial, "challenge_id": issued["id"], "response": response}).json()
            assert verdict["accepted"], verdict

        def validate_login(http: httpx.Client, n: int) -> None:
            user, _serial, secret, suite = devices[n]
            first = http.post("/validate/check", data={"user": user, "pass": PASSWORD}).json()
            detail = first["detail"]
            question = detail["multi_challenge"][0]["message"].removeprefix("Challenge: ")
            second = http.post("/validate/check", data={
                "user": user, "transaction_id": detail["transaction_id"],
                "pass": ocra(suite, secret, question=question, pin=PIN)}).json()
            assert second["result"]["authentication"] == "ACCEPT", second

        def baseline_login(http: httpx.Client, n: int) -> None:
            http.post("/echo", json={"serial": "DP1", "challenge_id": "x" * 32})
            http.post("/echo", json={"serial": "DP1", "response": "12345678"})

        port, base_port = _port(), _port()
        url, base_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}"
        bridge_cmd = [sys.executable, "-m", "host_bridge.cli", "serve", "--http",
                      f"127.0.0.1:{port}", "--workers", "2", *NO_LIMITS]
        base_cmd = [sys.executable, "-m", "uvicorn", "benchmarks.http_baseline:app", "--host",
                    "127.0.0.1", "--port", str(base_port), "--workers", "2", "--log-level",
                    "warning", "--no-access-log"]
        best: dict[str, tuple[float, list[float]]] = {}
        with _serving(bridge_cmd, env, f"{url}/healthz"), \
                _serving(base_cmd, env, f"{base_url}/echo"):
            for _ in range(ROUNDS):
                for name, target, login in (
                    ("login", url, v1_login), ("baseline", base_url, baseline_login),
                    *([] if store else [("validate", url, validate_login)]),
                ):
                    rate, latencies = _drive(target, login)
                    if name not in best or rate > best[name][0]:
                        best[name] = (rate, latencies)
    base_rate, base_lat = best["baseline"]
    b50, b99 = _quantiles(base_lat)
    results = []
    names = [("login", "http_login_postgres")] if store else [
        ("login", "http_login"), ("validate", "http_validate_login")]
    for name, bench in names:
        rate, latencies = best[name]
        p50, p99 = _quantiles(latencies)
        results.append(BenchResult(
            bench, rate, "logins/s", rate / base_rate, "http_minimal_json_2req",
            extra=(f"p50_ms={p50:.2f} p99_ms={p99:.2f} baseline_rate={base_rate:.1f} "
                   f"baseline_p50_ms={b50:.2f} baseline_p99_ms={b99:.2f} workers=2 "
                   f"clients={THREADS} store={'postgresql' if store else 'sqlite'}"),
        ))
    return results
