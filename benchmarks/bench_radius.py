"""BENCH radius_login: complete RADIUS challenge logins per second through `slsbridge serve
--radius` (Access-Request with the password → Access-Challenge → Access-Request with the card's
response → Access-Accept), beside a minimal asyncio UDP server that answers every request with a
fixed valid reply made by the same library (pyrad), driven by the same client in the same run.

Both servers run as their own processes; the client is pyrad's, sequential, one login at a time,
and computes the emulated DSC+'s response for both (so the client's work is the same). The
project's login includes the password hash (scrypt at the store's setting) and a durable commit:
`ratio` is logins/s ÷ baseline logins/s; `fast_hash_ratio` is the same with `scrypt_n = 256`
(what the RADIUS layer and the store cost without the password hash).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyrad import packet as rp
from pyrad.client import Client

from benchmarks.harness import BenchResult
from firmware_model.image import decode_image
from firmware_model.models import load_device
from host_bridge.bridge import Bridge
from host_bridge.radius.wire import dictionary

SECRET = b"bench-radius-secret"
PASSWORD = "correct horse"
PIN = "2468"
SECONDS = 3.0
ROUNDS = 3

BASELINE = r'''
import asyncio, sys
from pyrad import packet as rp
from host_bridge.radius.wire import dictionary
SECRET = sys.argv[1].encode()
class Fixed(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        request = rp.AuthPacket(secret=SECRET, dict=dictionary(), packet=data)
        reply = request.CreateReply()
        if request.get(24):
            reply.code = rp.AccessAccept
            reply.AddAttribute("Reply-Message", "Login accepted")
        else:
            reply.code = rp.AccessChallenge
            reply.AddAttribute("Reply-Message", "Challenge: 123456")
            reply.AddAttribute("State", b"0123456789abcdef")
        self.transport.sendto(reply.ReplyPacket(), addr)
async def main():
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Fixed, local_addr=("127.0.0.1", 0))
    print(f"RADIUS on udp 127.0.0.1:{transport.get_extra_info('sockname')[1]} ", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
'''


def _start(command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(rb"RADIUS on udp 127\.0\.0\.1:([0-9]+) ", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, int(match.group(1))


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def _logins_per_second(port: int, image: bytes) -> float:
    client = Client("127.0.0.1", authport=port, secret=SECRET, dict=dictionary(),
                    retries=3, timeout=30, enforce_ma=True)
    device_image = decode_image(image)
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        first = client.CreateAuthPacket(code=rp.AccessRequest, User_Name="alice")
        first["User-Password"] = first.PwCrypt(PASSWORD)
        challenge = client.SendPacket(first)
        text = challenge["Reply-Message"][0].split()[-1]
        now = time.time()
        device = load_device(device_image, lambda n: bytes(n))
        device.press("POWER", now)
        device.type_digits(PIN, now)
        device.press("OK", now)
        device.type_digits(text, now)
        response = device.press("OK", now).display.strip()
        second = client.CreateAuthPacket(code=rp.AccessRequest, User_Name="alice")
        second["User-Password"] = second.PwCrypt(response)
        second["State"] = challenge["State"][0]
        if client.SendPacket(second).code not in (rp.AccessAccept, rp.AccessReject):
            raise RuntimeError("no answer to a login")
        done += 1
    return done / (time.perf_counter() - start)


def _measure(folder: Path, scrypt_n: int | None) -> tuple[float, float]:
    home = folder / f"home-{scrypt_n}"
    home.mkdir()
    if scrypt_n is not None:
        (home / "bridge.toml").write_text(f"scrypt_n = {scrypt_n}\n")
    with Bridge.open(home) as bridge:
        bridge.init()
        bridge.add_user("alice", PASSWORD)
        bridge.provision("alice", "dscplus", pin=PIN, image_path=home / "card.img")
    clients = folder / "clients.toml"
    clients.write_text(f'[[client]]\nname = "bench"\naddress = "127.0.0.1"\n'
                       f'secret = "{SECRET.decode()}"\n')
    clients.chmod(0o600)
    env = dict(os.environ, SLSEMU_HOME=str(home))
    image = (home / "card.img").read_bytes()
    project, project_port = _start(
        [sys.executable, "-m", "host_bridge.cli", "serve", "--radius", "127.0.0.1:0",
         "--clients", str(clients)], env)
    baseline, baseline_port = _start([sys.executable, "-c", BASELINE, SECRET.decode()], env)
    try:
        best_project = best_baseline = 0.0
        for _ in range(ROUNDS):
            best_project = max(best_project, _logins_per_second(project_port, image))
            best_baseline = max(best_baseline, _logins_per_second(baseline_port, image))
    finally:
        _stop(project)
        _stop(baseline)
    return best_project, best_baseline


def run() -> list[BenchResult]:
    with tempfile.TemporaryDirectory() as tmp:
        project, baseline = _measure(Path(tmp), None)
        fast, fast_baseline = _measure(Path(tmp), 256)
    return [BenchResult(
        "radius_login", project, "logins/s", project / baseline, "asyncio_udp_fixed_reply",
        extra=(f"baseline_logins_per_s={baseline:.1f} fast_hash_logins_per_s={fast:.1f} "
               f"fast_hash_ratio={fast / fast_baseline:.3f}"),
    )]
