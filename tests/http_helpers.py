"""A real `slsbridge serve --http` on loopback for the HTTP tests: started as a subprocess,
awaited by polling /healthz (no sleeping as synchronisation), stopped with SIGTERM (it must stop
cleanly, no traceback: the shutdown is part of what is tested)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import httpx

from host_bridge.bridge import Bridge
from host_bridge.cli import main as slsbridge_main
from tests.fuzz_helpers import call

GIVE_UP_SECONDS = 120.0  # generous: a loaded 2-core CI machine; only a dead server reaches it
FAST_TOML = "scrypt_n = 256\n"


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        return server_env(self.home)


def server_env(home: Path) -> dict[str, str]:
    env = dict(os.environ, SLSEMU_HOME=str(home))
    env.pop("SLSEMU_HTTP_CONFIG", None)
    return env


def prepare_home(home: Path) -> Bridge:
    """An initialised home with cheap scrypt (tests check behaviour, not hashing cost)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "bridge.toml").write_text(FAST_TOML)
    bridge = Bridge.open(home)
    bridge.init()
    return bridge


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(
    url: str, process: subprocess.Popen[bytes], verify: bool | ssl.SSLContext
) -> bool:
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/healthz", timeout=5, verify=verify).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # a poll interval: the loop ends as soon as the server answers
    raise AssertionError("the HTTP server did not answer /healthz in time")


@contextmanager
def running_server(
    home: Path, *extra: str, workers: int = 1, scheme: str = "http",
    verify: bool | ssl.SSLContext = True,
) -> Iterator[Server]:
    """`slsbridge serve --http` on a free loopback port until the block ends (then SIGTERM,
    and it must exit 0). A port taken in between by another test: try another one."""
    for _attempt in range(5):
        port = free_port()
        cmd: Sequence[str] = [
            sys.executable, "-m", "host_bridge.cli", "serve", "--http", f"127.0.0.1:{port}",
            "--workers", str(workers), *extra,
        ]
        process = subprocess.Popen(
            cmd, env=server_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        url = f"{scheme}://127.0.0.1:{port}"
        try:
            ready = _wait_ready(url, process, verify)
        except BaseException:
            process.kill()
            process.communicate()
            raise
        if not ready:
            _out, err = process.communicate()
            if b"address already in use" in err.lower():
                continue
            raise AssertionError(f"the server exited: {err.decode(errors='replace')[-2000:]}")
        try:
            yield Server(url, home, process)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                _out, err = process.communicate(timeout=GIVE_UP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                raise AssertionError("the server did not stop on SIGTERM") from None
        # uvicorn finishes the in-flight requests, runs the shutdown, then ends with the signal
        # it got (status 143), so a supervisor sees the server was stopped, not that it failed.
        assert process.returncode in (0, -signal.SIGTERM), err.decode(errors="replace")[-2000:]
        assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
        return
    raise AssertionError("no free port for the HTTP server")


def new_key(home: Path, name: str, scope: str) -> str:
    """An API key made through the CLI (shown once): its real entry point, run in this process
    (a child interpreter would spend a second importing the bridge for one row)."""
    with mock.patch.dict(os.environ, server_env(home), clear=True):
        done = call(slsbridge_main, ["api-key", "create", "--name", name, "--scope", scope])
    assert done.code == 0, done.err
    return done.out.strip()
