"""Real serial lines for tests: socat pty pairs and `slsemu serve` in a child process.

socat is required: without it the serial tests fail (never skip) with a clear message, so a CI
machine that lacks it cannot pass by accident (`make test` installs it when it can).
"""

from __future__ import annotations

import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator.images import save_image
from firmware_model.device import Entropy, ImageSpec
from firmware_model.image import DeviceImage
from firmware_model.models import new_image

REPO = Path(__file__).resolve().parent.parent
RFC_KEY = bytes.fromhex("3132333435363738393031323334353637383930")
START_TIMEOUT = 15.0
SOFT_SUITE = "OCRA-1:HOTP-SHA1-8:QN06-PSHA1"
LOGIN_SCRIPT = (
    'press POWER\nexpect "PIN>"\ntype 1234\npress OK\nexpect "CHALLNG>"\n'
    'type 112233\npress OK\ncapture RESPONSE\nwait 40\nexpect ""\n'
)
"""A DSC+ login (PIN 1234, challenge 112233) that captures RESPONSE, then lets it switch off."""
_PTY_RE = re.compile(r"PTY is (/dev/\S+)")


def require_socat() -> str:
    """The socat binary, or a test failure saying how to get it."""
    path = shutil.which("socat")
    if path is None:
        pytest.fail(
            "socat is required by the serial tests and was not found: "
            "install it (apt-get install socat, or `make system-deps`)",
            pytrace=False,
        )
    return path


@contextmanager
def socat_pair() -> Iterator[tuple[str, str]]:
    """A connected pair of raw ptys made by socat; yields the two paths, kills socat after."""
    socat = require_socat()
    proc = subprocess.Popen(
        [socat, "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        paths: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT
        while len(paths) < 2:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"socat did not report two ptys (got {paths})", pytrace=False)
            line = proc.stderr.readline()
            match = _PTY_RE.search(line)
            if match:
                paths.append(match.group(1))
        # socat prints the paths before its transfer loop runs; wait until both exist.
        while not all(os.path.exists(p) for p in paths):
            time.sleep(0.01)
        yield paths[0], paths[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def make_image(
    path: Path,
    entropy: Entropy,
    model: str = "dscplus",
    serial: str = "DP0000000001",
    key: bytes = RFC_KEY,
    **spec: object,
) -> DeviceImage:
    """Write a fresh device image to `path`."""
    image = new_image(ImageSpec(model=model, serial=serial, key=key, **spec), entropy)  # type: ignore[arg-type]
    save_image(path, image)
    return image


def child_env() -> dict[str, str]:
    """The environment for child processes: this checkout importable, same SLSEMU_HOME."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@dataclass
class Served:
    """A running `slsemu serve` child and the `(serial, path)` pairs it printed (one pair per
    URL when a network device lists several)."""

    proc: subprocess.Popen[str]
    lines: list[tuple[str, str]]

    @property
    def path(self) -> str:
        return self.lines[0][1]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, str]:
        """Signal the server, wait, return (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            pytest.fail(f"slsemu serve did not stop on signal {signum}: {err}", pytrace=False)
        return self.proc.returncode, err


def start_serve(args: list[str], devices: int = 1) -> Served:
    """Start `slsemu serve ARGS` and wait for its `<SERIAL> <PATH>` lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "serve", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=child_env(),
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + START_TIMEOUT
    while buffer.count(b"\n") < devices:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"slsemu serve did not start ({proc.returncode}): {err}", pytrace=False)
        buffer += chunk
    lines: list[tuple[str, str]] = []
    for line in buffer.decode().splitlines():
        serial, path, *more = line.split()  # network devices may list a second URL
        lines.append((serial, path))
        lines.extend((serial, url) for url in more)
    return Served(proc, lines)


STEADY = "127.0.0.1:STEADY"
"""An address argument `serving` replaces with a free port below the kernel's ephemeral range.

A network device stops listening while its client is connected and listens again under the same
number when the client leaves (docs/serial-protocol.md, "One client per device"). An ephemeral
port can be taken in between by any process that binds port 0 — another test's 1000-device farm
once answered a reconnecting test as DP0000000085. No bind to port 0 ever gets a port below the
range, so a device on one keeps its number for the whole test."""


_PICK = random.SystemRandom()  # not the seeded `random` (hypothesis seeds it alike in every worker)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def steady_port() -> int:
    """A port below the ephemeral range that nothing holds right now (see `STEADY`)."""
    low = _ephemeral_low()
    while True:
        port = _PICK.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def _start_steady(args: list[str], devices: int) -> Served:
    """`start_serve` with each `STEADY` argument on a fresh steady port; another test that took
    one in between (they are picked at random) costs a new attempt."""
    for attempt in range(5):
        concrete = [f"127.0.0.1:{steady_port()}" if arg == STEADY else arg for arg in args]
        try:
            return start_serve(concrete, devices)
        except pytest.fail.Exception:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


@contextmanager
def serving(args: list[str], devices: int = 1) -> Iterator[Served]:
    """`start_serve` that always stops the child (`STEADY` addresses: see there)."""
    served = _start_steady(args, devices) if STEADY in args else start_serve(args, devices)
    try:
        yield served
    finally:
        if served.proc.poll() is None:
            served.stop()
