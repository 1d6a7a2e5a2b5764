"""`slsemu serve --tcp/--rfc2217`: devices on loopback ports, driven by real clients (pyserial
`socket://` and `rfc2217://`, socat), with the guarantees of a pty."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.cli import main as slsemu
from firmware_model.ocra import ocra
from firmware_model.serial_codec import CANCEL, ErrCode, ProtocolError
from host_bridge.serial_client import ClientConfig, SerialClient
from tests.secret_env import env_secret
from tests.serial_helpers import (
    LOGIN_SCRIPT,
    RFC_KEY,
    SOFT_SUITE,
    STEADY,
    child_env,
    make_image,
    require_socat,
    serving,
)
from tests.test_serial_login import PASSWORD, provisioned, run  # noqa: F401 (a fixture)

pytestmark = pytest.mark.serial

FAST = ClientConfig(timeout=10.0)
DEADLINE = 30.0
ANY_PORT = ["--tcp", STEADY]  # one device: a port no other test can take (serial_helpers.STEADY)
FARM_PORTS = ["--tcp", "127.0.0.1:0"]  # a folder of devices: each on an ephemeral port


def host_port(url: str) -> tuple[str, int]:
    match = re.fullmatch(r"(?:socket|rfc2217)://([\d.]+):(\d+)", url)
    assert match, url
    return match.group(1), int(match.group(2))


def open_client(url: str) -> SerialClient:
    """A client on `url` once the device listens (again: a client that just left is a power
    cut the server handles first)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            return SerialClient(url, config=FAST)
        except OSError as exc:
            if "refused" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def card(folder: Path, name: str = "card.img", serial: str = "DP0000000001") -> Path:
    image = folder / name
    make_image(image, os.urandom, serial=serial)
    return image


@pytest.fixture
def tcp_card(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """One virtual-clock device on both kinds of port: (socket URL, rfc2217 URL, image)."""
    image = card(tmp_path)
    args = ["--image", str(image), *ANY_PORT, "--rfc2217", STEADY, "--virtual-clock"]
    with serving(args) as served:
        (_, raw), (_, telnet) = served.lines
        yield raw, telnet, image


# --- clients of every kind ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [0, 1], ids=["socket", "rfc2217"])
def test_pyserial_urls_drive_a_whole_login(tcp_card: tuple[str, str, Path], kind: int) -> None:
    url = tcp_card[kind]
    with SerialClient(url, config=FAST) as client:
        assert client.hello().serial == "DP0000000001"
        client.power(True)
        client.type_digits("1234")
        client.press("OK")
        client.type_digits("654321")
        client.press("OK")
        assert client.read_display() == ocra(SOFT_SUITE, RFC_KEY, question="654321", pin="1234")


def test_socat_as_a_client(tcp_card: tuple[str, str, Path]) -> None:
    host, port = host_port(tcp_card[0])
    done = subprocess.run(
        [require_socat(), "-t", "5", "-", f"TCP:{host}:{port}"],
        input=b"HELLO\nPOWER ON\nREAD\n",
        capture_output=True,
        timeout=DEADLINE,
        check=True,
    )
    replies = [line for line in done.stdout.decode().splitlines() if not line.startswith("EVT ")]
    assert replies == [
        "HELLO slsemu 1 dscplus DP0000000001",
        "OK",
        "DISPLAY PIN>",
    ]


def test_bridge_login_through_socket_url(
    provisioned: tuple[str, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serial, image = provisioned
    with serving(["--image", str(image), *ANY_PORT]) as served:
        assert served.lines[0][0] == serial
        login = ["login", "--user", "alice", "--password-stdin", "--via", served.path]
        assert run([*login, *env_secret("--pin", "2580")], PASSWORD + "\n", monkeypatch) == 0
        assert "Login accepted" in capsys.readouterr().out


def test_script_through_rfc2217_gives_the_in_process_captures(
    tcp_card: tuple[str, str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = tmp_path / "login.sls"
    script.write_text(LOGIN_SCRIPT)
    assert slsemu(["script", str(script), "--port", tcp_card[1]]) == 0
    expected = ocra(SOFT_SUITE, RFC_KEY, question="112233", pin="1234")
    assert capsys.readouterr().out == f"RESPONSE={expected}\n"


# --- one client per device, vanishing clients, idle clients ------------------------------------


def test_a_second_client_is_refused_until_the_first_leaves(tcp_card: tuple[str, str, Path]) -> None:
    raw, telnet, _ = tcp_card
    with SerialClient(raw, config=FAST) as first:
        assert first.hello().serial == "DP0000000001"
        for url in (raw, telnet):  # either port of the device: it is in use
            with pytest.raises(OSError, match="refused"):
                SerialClient(url, config=FAST)
    with open_client(telnet) as second:
        assert second.hello().serial == "DP0000000001"


def test_a_client_vanishing_mid_line_is_a_power_cut(tcp_card: tuple[str, str, Path]) -> None:
    raw = tcp_card[0]
    with socket.create_connection(host_port(raw)) as sock:
        sock.sendall(b"POWER ON\nTYPE 12\nREAD\n")
        got = b""
        while b"DISPLAY" not in got:
            got += sock.recv(4096)
        assert got.decode().splitlines()[-1] == "DISPLAY PIN>**"
        sock.sendall(b"PRESS PO")  # ... and the host is gone mid-line
    with open_client(raw) as client:
        state = client.state()
        assert state["powered"] is False and client.read_display() == ""


def test_idle_clients_time_out(tmp_path: Path) -> None:
    image = card(tmp_path)
    args = ["--image", str(image), *ANY_PORT, "--virtual-clock", "--idle-timeout", "0.2"]
    with serving(args) as served, socket.create_connection(host_port(served.path)) as sock:
        sock.settimeout(DEADLINE)
        assert sock.recv(4096) == b""  # the server closed the silent connection
    with serving(args) as served, open_client(served.path) as client:
        assert client.hello().serial == "DP0000000001"


# --- faults -------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=600), telnet=st.booleans())
def test_garbage_never_breaks_a_device(
    tcp_card: tuple[str, str, Path], data: bytes, telnet: bool
) -> None:
    url = tcp_card[1] if telnet else tcp_card[0]
    with open_client(url) as client:
        client.port.write(data + CANCEL)
        client.port.write(b"\n")
        client.discard()
        with contextlib.suppress(ProtocolError):  # a stray reply to the garbage may come first
            client.hello()
        client.port.write(CANCEL + b"\n")
        assert client.hello().serial == "DP0000000001"


def test_rfc2217_garbage_subnegotiation_is_ignored(tcp_card: tuple[str, str, Path]) -> None:
    with socket.create_connection(host_port(tcp_card[1]), timeout=DEADLINE) as sock:
        sock.sendall(b"\xff\xfa\x2c\x01\x00\xff\xf0" + b"\xff\xfa\x2c\x03\xff\xf0" + b"HELLO\n")
        got = b""
        while b"HELLO slsemu" not in got:
            chunk = sock.recv(4096)
            assert chunk, "the server closed the connection"
            got += chunk


def test_range_bounds_every_duration_on_the_real_clock(tmp_path: Path) -> None:
    image = card(tmp_path)
    with (
        serving(["--image", str(image), *ANY_PORT]) as served,
        SerialClient(served.path, config=FAST) as client,
    ):
        with pytest.raises(ProtocolError) as info:
            client.hold("5", 1_000_000_000)
        assert info.value.code is ErrCode.RANGE
        assert client.hello().serial == "DP0000000001"  # the line is not wedged


def pipeline(fd: int, count: int, request: bytes = b"HELLO\n") -> list[bytes]:
    """Send `count` requests on a non-blocking `fd` while reading; return the reply lines."""
    out = memoryview(request * count)
    received = bytearray()
    deadline = time.monotonic() + 120
    while received.count(b"\n") < count:
        if time.monotonic() > deadline:
            got = received.count(b"\n")
            pytest.fail(f"{got} of {count} replies", pytrace=False)
        readable, writable, _ = select.select([fd], [fd] if out else [], [], 1.0)
        if writable:
            with contextlib.suppress(BlockingIOError):
                out = out[os.write(fd, out[:65536]) :]
        if readable:
            received += os.read(fd, 1 << 20)
    return bytes(received).splitlines()


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_100000_pipelined_requests_lose_no_reply(tmp_path: Path, transport: str) -> None:
    image = card(tmp_path)
    where = ["--pty"] if transport == "pty" else ANY_PORT
    with serving(["--image", str(image), *where, "--virtual-clock"]) as served:
        if transport == "pty":
            fd = os.open(served.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            closer: Callable[[], None] = lambda: os.close(fd)  # noqa: E731
        else:
            sock = socket.create_connection(host_port(served.path))
            sock.setblocking(False)
            fd, closer = sock.fileno(), sock.close
        try:
            replies = pipeline(fd, 100_000)
        finally:
            closer()
    assert len(replies) == 100_000
    assert set(replies) == {b"HELLO slsemu 1 dscplus DP0000000001"}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_client_that_never_reads_cannot_grow_the_server(tmp_path: Path) -> None:
    image = card(tmp_path)
    with serving(["--image", str(image), *ANY_PORT, "--virtual-clock"]) as served:
        before = rss_kib(served.proc.pid)
        sock = socket.create_connection(host_port(served.path))
        sock.setblocking(False)
        sent, blocked = 0, 0
        deadline = time.monotonic() + DEADLINE
        while blocked < 20 and time.monotonic() < deadline:  # until the server stops taking
            try:
                sent += sock.send(b"STATE\n" * 10_000)
                blocked = 0
            except BlockingIOError:
                blocked += 1
                select.select([], [sock], [], 0.1)
        grown = rss_kib(served.proc.pid) - before
        sock.close()
        assert blocked >= 20, "the server kept reading a client that never reads"
        assert sent < 64 * 2**20  # what the kernel buffers plus one read, not everything
        assert grown < 16 * 1024, f"server grew by {grown} KiB"


# --- many devices, one process --------------------------------------------------------------------


def test_1000_devices_concurrent_clients(tmp_path: Path) -> None:
    folder = tmp_path / "farm"
    folder.mkdir()
    count = 1000
    for n in range(count):
        card(folder, f"card{n:04}.img", serial=f"DP{n:010}")
    args = ["--images", str(folder), *FARM_PORTS, "--virtual-clock", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    try:
        assert proc.stdout is not None
        listing = json.loads(proc.stdout.readline())
        devices = listing["devices"]
        assert len(devices) == count
        assert [d["serial"] for d in devices] == [f"DP{n:010}" for n in range(count)]
        code = (  # 1000 concurrent clients in one process, one connection per device
            "import asyncio, json, sys\n"
            "async def one(d):\n"
            "    host, port = d['addresses'][0].removeprefix('socket://').split(':')\n"
            "    reader, writer = await asyncio.open_connection(host, int(port))\n"
            "    writer.write(b'HELLO\\nPOWER ON\\nREAD\\n')\n"
            "    lines = []\n"
            "    while not lines or not lines[-1].startswith(b'DISPLAY'):\n"
            "        line = await reader.readline()\n"
            "        if not line: break\n"
            "        if not line.startswith(b'EVT '): lines.append(line.strip())\n"
            "    writer.close()\n"
            "    hello = f\"HELLO slsemu 1 dscplus {d['serial']}\".encode()\n"
            "    return lines == [hello, b'OK', b'DISPLAY PIN>']\n"
            "async def main(devices):\n"
            "    return await asyncio.gather(*(one(d) for d in devices))\n"
            "print(sum(asyncio.run(main(json.load(sys.stdin)['devices']))))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(listing).encode(),
            capture_output=True,
            timeout=300,
            env=child_env(),
        )
        assert done.stdout.decode().strip() == str(count), done.stderr.decode()[-2000:]
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_a_served_folder_locks_its_images(tmp_path: Path) -> None:
    image = card(tmp_path)
    with serving(["--images", str(tmp_path), *FARM_PORTS, "--virtual-clock"]):
        second = start_serve_failure(["--image", str(image), "--tcp", "127.0.0.1:0"])
        assert "in use" in second
    with serving(["--image", str(image), *ANY_PORT, "--virtual-clock"]):
        second = start_serve_failure(["--images", str(tmp_path), "--tcp", "127.0.0.1:0"])
        assert "in use" in second


def start_serve_failure(args: list[str]) -> str:
    """Run a `slsemu serve` that must refuse to start; its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "emulator.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=child_env(),
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


def test_bad_network_arguments_exit_2(tmp_path: Path) -> None:
    image = card(tmp_path)
    for bad in (
        ["--tcp", "127.0.0.1:99999"],
        ["--tcp", "nonsense"],
        ["--tcp", "127.0.0.1:0", "--pty"],
        ["--tcp", "127.0.0.1:0", "--idle-timeout", "0"],
    ):
        start_serve_failure(["--image", str(image), *bad])
    with serving(["--image", str(image), *ANY_PORT]) as served:
        _, port = host_port(served.path)
        other = card(tmp_path, "other.img")
        assert "in use" in start_serve_failure(["--image", str(other), "--tcp", f":{port}"])
