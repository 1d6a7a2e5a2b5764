"""A real `slsbridge serve --radius` on loopback for the RADIUS tests: started as a subprocess on
port 0 (it prints the port it bound once it listens: no polling, no port race), stopped with
SIGTERM (it must exit 0 without a traceback and print its counters)."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyrad import packet as rp
from pyrad.client import Client

from host_bridge.bridge import Bridge
from host_bridge.radius.wire import dictionary
from tests.bridge_helpers import dscplus_response, read_image

GIVE_UP_SECONDS = 120.0  # generous: a loaded 2-core CI machine; only a dead server reaches it
SECRET = b"testing123-radius"
PASSWORD = "correct horse"
PIN = "2468"


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    summary: str = ""
    stderr: str = field(default="", repr=False)


def prepare_home(home: Path) -> Bridge:
    """An initialised home with cheap scrypt (tests check behaviour, not hashing cost)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "bridge.toml").write_text("scrypt_n = 256\n")
    bridge = Bridge.open(home)
    bridge.init()
    return bridge


def add_dscplus(bridge: Bridge, home: Path, user: str = "alice") -> tuple[str, Path]:
    """`user` (password PASSWORD) with a DSC+ (soft PIN PIN); its serial and image."""
    try:
        bridge.user(user)
    except ValueError:
        bridge.add_user(user, PASSWORD)
    image = home / f"{user}-{len(bridge.all_devices(user))}.img"
    made = bridge.provision(user, "dscplus", pin=PIN, image_path=image)
    return made.serial, image


def home_with_card(home: Path) -> tuple[str, Path]:
    """`prepare_home` with alice and her DSC+ (the bridge closed again): serial and image."""
    bridge = prepare_home(home)
    try:
        return add_dscplus(bridge, home)
    finally:
        bridge.close()


def card_response(image: Path, challenge: str) -> str:
    return dscplus_response(read_image(image), PIN, challenge, time.time())


def write_clients(folder: Path, secret: bytes = SECRET, address: str = "127.0.0.1/32") -> Path:
    path = folder / "clients.toml"
    secret_file = folder / "gw.secret"
    secret_file.write_bytes(secret + b"\n")
    secret_file.chmod(0o600)
    path.write_text(f'[[client]]\nname = "gw"\naddress = "{address}"\n'
                    f'secret_file = "{secret_file.name}"\n')
    path.chmod(0o600)
    return path


def serve_command(clients: Path, address: str = "127.0.0.1:0") -> list[str]:
    return [sys.executable, "-m", "host_bridge.cli", "serve", "--radius", address,
            "--clients", str(clients)]


@contextmanager
def running_server(home: Path, clients: Path) -> Iterator[Server]:
    """The server until the block ends; then SIGTERM, exit 0, no traceback, counters kept."""
    env = dict(os.environ, SLSEMU_HOME=str(home))
    process = subprocess.Popen(
        serve_command(clients), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        line = _first_line(process)
        match = re.search(rb"RADIUS on udp 127\.0\.0\.1:([0-9]+) ", line)
        if match is None:
            process.kill()
            _out, err = process.communicate()
            raise AssertionError(f"the server did not start: {line!r} {err[-2000:]!r}")
        server = Server(int(match.group(1)), process)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=GIVE_UP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise AssertionError("the server did not stop on SIGTERM") from None
    server.summary = out.decode(errors="replace")
    server.stderr = err.decode(errors="replace")
    assert process.returncode == 0, server.stderr[-2000:]
    assert "Traceback" not in server.stderr, server.stderr[-2000:]


def _first_line(process: subprocess.Popen[bytes]) -> bytes:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(GIVE_UP_SECONDS):
            process.kill()
            process.communicate()
            raise AssertionError("the server printed nothing in time")
    return process.stdout.readline()


def pyrad_client(port: int, secret: bytes = SECRET) -> Client:
    """pyrad's own client; it requires a Message-Authenticator on every reply."""
    return Client("127.0.0.1", authport=port, secret=secret, dict=dictionary(),
                  retries=1, timeout=GIVE_UP_SECONDS, enforce_ma=True)


def access_request(
    client: Client, user: str | None, password: str | None, state: bytes | None = None
) -> rp.AuthPacket:
    request = client.CreateAuthPacket(code=rp.AccessRequest)
    if user is not None:
        request["User-Name"] = user
    if password is not None:
        request["User-Password"] = request.PwCrypt(password)
    if state is not None:
        request["State"] = state
    return request


def messages(reply: rp.Packet) -> str:
    return "".join(reply.get("Reply-Message", []))


def state_of(reply: rp.Packet) -> bytes:
    return bytes(reply["State"][0])


class RawClient:
    """A bare UDP socket for hand-made datagrams: send, then read replies in order."""

    def __init__(self, port: int) -> None:
        self.address = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(GIVE_UP_SECONDS)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.address)

    def receive(self) -> bytes:
        return self.sock.recv(65_536)

    def status(self, identifier: int, secret: bytes = SECRET) -> bytes:
        """Send a Status-Server (RFC 5997) and return the next reply that comes."""
        probe = rp.AuthPacket(code=rp.StatusServer, id=identifier, secret=secret,
                              dict=dictionary())
        probe.add_message_authenticator()
        self.send(probe.RequestPacket())
        return self.receive()

    def close(self) -> None:
        self.sock.close()
