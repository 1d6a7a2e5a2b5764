"""Devices on the network: `slsemu serve --tcp/--rfc2217` beside bare baselines.

`tcp_10000_devices`: one `slsemu serve --images DIR --tcp` process with 10,000 DSC+ images, one
TCP port each; one client process keeps one `PRESS 1` outstanding on every device (raw
non-blocking sockets, one `epoll`) and counts replies. Baseline: a bare asyncio TCP echo server
(an `asyncio.Protocol` answering `OK` per line) over 10,000 connections, driven by the same
client. Target ratio >= 0.5. Also printed: the server's resident memory per device (VmRSS with
every device connected, divided by the device count) and the baseline's per connection.

`rfc2217_roundtrip`: `PRESS 1` → `OK` round trips over one RFC 2217 connection (pyserial's
`rfc2217://` client) against one raw `socket://` connection to the same server (two devices of
one `--images` folder, one reached each way), the same `SerialClient` on both. Target >= 0.8.

The open-file limit: each side needs one descriptor per connection (the server one per device,
its folder lock being one descriptor), so the soft limit is raised to what is needed; the hard
limit must allow about 10,100.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from benchmarks.bench_serial import _best_rates, _child_env, _make_images, _press_with
from benchmarks.harness import BenchResult
from slsio.serial_client import SerialClient

REPO = Path(__file__).resolve().parent.parent
DEVICES = 10_000
REQUEST = b"PRESS 1\n"
ROUNDS = 3
ROUND_SECONDS = 2.0
ONE_ROUNDS = 8
ONE_SECONDS = 0.2
START_TIMEOUT = 300.0

# The bare baseline: asyncio, one listening port, `OK` per line. Prints "READY <port>".
ECHO_SERVER = r"""
import asyncio, resource, sys
class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(b"OK\n" * data.count(b"\n"))
async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0, backlog=4096)
    print("READY", server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(f"the benchmark needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@contextmanager
def _process(args: list[str]) -> Iterator[tuple[subprocess.Popen[bytes], bytes]]:
    """Start a server; yield it and its first stdout line (a listing or READY)."""
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env=_child_env(),
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else b""
        if not line:
            raise RuntimeError(f"server did not start: {args[:6]}")
        yield proc, line
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _connect_all(addresses: list[tuple[str, int]]) -> list[socket.socket]:
    """Connect to every address (in batches, so no listen backlog overflows)."""
    socks: list[socket.socket] = []
    for start in range(0, len(addresses), 500):
        batch = []
        for address in addresses[start : start + 500]:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            sock.connect_ex(address)
            batch.append(sock)
        for sock in batch:  # wait until each is connected (writable); poll: fds above 1024
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLOUT)
            if not poller.poll(30_000) or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                raise RuntimeError("a connection failed")
        socks.extend(batch)
    return socks


def _drive(socks: list[socket.socket], seconds: float) -> float:
    """Keep one request outstanding on every connection; replies per second."""
    poller = select.epoll(len(socks))
    by_fd = {sock.fileno(): sock for sock in socks}
    try:
        for fd, sock in by_fd.items():
            poller.register(fd, select.EPOLLIN)
            sock.send(REQUEST)
        done, start = 0, time.perf_counter()
        deadline = start + seconds
        while (now := time.perf_counter()) < deadline:
            for fd, _ in poller.poll(deadline - now, 4096):
                sock = by_fd[fd]
                lines = sock.recv(4096).count(b"\n")
                if lines:
                    done += lines
                    sock.send(REQUEST * lines)
        rate = done / (time.perf_counter() - start)
        _settle(socks, poller)
        return rate
    finally:
        poller.close()


def _settle(socks: list[socket.socket], poller: select.epoll) -> None:
    """Read the replies still in flight, so the next round starts from a quiet line."""
    quiet_since = time.perf_counter()
    while time.perf_counter() - quiet_since < 0.5:
        events = poller.poll(0.1, 4096)
        if events:
            quiet_since = time.perf_counter()
        for fd, _ in events:
            os.read(fd, 65536)


def _best_rate(addresses: list[tuple[str, int]], server_pid: int) -> tuple[float, int]:
    """Best-of-ROUNDS replies/s over connections to `addresses`, and the server's RSS (KiB)
    with all of them connected."""
    socks = _connect_all(addresses)
    try:
        rate = max(_drive(socks, ROUND_SECONDS) for _ in range(ROUNDS))
        return rate, _rss_kib(server_pid)
    finally:
        for sock in socks:
            sock.close()


def many_devices(folder: Path) -> BenchResult:
    """10,000 devices on TCP ports in one process vs a bare asyncio echo, same client."""
    _raise_fd_limit(DEVICES + 256)
    _make_images(folder, DEVICES)
    serve = [sys.executable, "-m", "emulator.cli", "serve", "--virtual-clock", "--json"]
    with ExitStack() as stack:
        proc, listing = stack.enter_context(
            _process([*serve, "--images", str(folder), "--tcp", "127.0.0.1:0"])
        )
        addresses = []
        for device in json.loads(listing)["devices"]:
            host, port = device["addresses"][0].removeprefix("socket://").split(":")
            addresses.append((host, int(port)))
        rate, rss = _best_rate(addresses, proc.pid)
        stack.close()  # one server at a time: each needs 10,000 descriptors of the client
        echo, ready = stack.enter_context(_process([sys.executable, "-c", ECHO_SERVER]))
        port = int(ready.split()[1])
        base, echo_rss = _best_rate([("127.0.0.1", port)] * DEVICES, echo.pid)
    return BenchResult(
        "tcp_10000_devices",
        rate,
        "roundtrips/s",
        rate / base,
        "asyncio_tcp_echo_10000_connections",
        target=">=0.5",
        extra=(
            f"devices={DEVICES} server_rss_mib={rss / 1024:.1f} "
            f"rss_per_device_kib={rss / DEVICES:.1f} "
            f"baseline_rss_per_connection_kib={echo_rss / DEVICES:.1f}"
        ),
    )


def rfc2217_roundtrip(folder: Path) -> BenchResult:
    """One RFC 2217 connection vs one raw connection to the same server, same client."""
    _make_images(folder, 2)
    serve = [sys.executable, "-m", "emulator.cli", "serve", "--virtual-clock", "--json"]
    args = [*serve, "--images", str(folder), "--tcp", "127.0.0.1:0", "--rfc2217", "127.0.0.1:0"]
    with ExitStack() as stack:
        _, listing = stack.enter_context(_process(args))
        first, second = json.loads(listing)["devices"]
        telnet = stack.enter_context(SerialClient(first["addresses"][1]))
        raw = stack.enter_context(SerialClient(second["addresses"][0]))
        telnet.power(False)
        raw.power(False)
        rates = _best_rates(
            {"rfc2217": _press_with(telnet), "raw": _press_with(raw)},
            rounds=ONE_ROUNDS,
            min_seconds=ONE_SECONDS,
        )
        telnet.close()
        raw.close()
        # The server's share alone: a bare socket client (send, read to the newline) on the
        # RFC 2217 port (its option requests read and ignored) and on the raw port.
        bare_telnet = stack.enter_context(_bare_client(first["addresses"][1]))
        bare_raw = stack.enter_context(_bare_client(second["addresses"][0]))
        bare = _best_rates(
            {"rfc2217": bare_telnet, "raw": bare_raw}, rounds=ONE_ROUNDS, min_seconds=ONE_SECONDS
        )
    server_ratio = bare["rfc2217"] / bare["raw"]
    return BenchResult(
        "rfc2217_roundtrip",
        rates["rfc2217"],
        "roundtrips/s",
        rates["rfc2217"] / rates["raw"],
        "raw_socket_same_server_same_client",
        target=">=0.8",
        extra=f"server_only_ratio={server_ratio:.3f}",
    )


@contextmanager
def _bare_client(url: str) -> Iterator[Callable[[], None]]:
    """A blocking socket that sends `PRESS 1` and reads up to the `OK` line."""
    host, port = url.split("://")[1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.settimeout(0.3)
        with contextlib.suppress(TimeoutError):  # Telnet option requests, if any
            while sock.recv(4096):
                pass
        sock.settimeout(10)

        def press() -> None:
            sock.send(REQUEST)
            data = sock.recv(4096)
            while not data.endswith(b"\n"):
                data += sock.recv(4096)

        yield press
    finally:
        sock.close()


def run() -> list[BenchResult]:
    """Both network figures."""
    results = []
    with tempfile.TemporaryDirectory(prefix="slsemu-bench-rfc2217-") as one:
        results.append(rfc2217_roundtrip(Path(one)))
    with tempfile.TemporaryDirectory(prefix="slsemu-bench-net-many-") as many:
        results.append(many_devices(Path(many)))
    return results


if __name__ == "__main__":
    for result in run():
        print(result.line(), flush=True)
