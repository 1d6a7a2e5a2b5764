"""The server as a process: two workers on one store (SQLite, and PostgreSQL) never accept a
challenge — nor approve a push — twice (16 concurrent clients), TLS from certificate files, the
command line's refusals."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from firmware_model.scc import scc_response
from host_bridge.cli import main
from tests.bridge_helpers import read_image
from tests.http_helpers import new_key, prepare_home, running_server
from tests.push_helpers import Phone

CLIENTS = 16
ROUNDS = 2
NO_LIMITS = ("--rate-per-user", "1000000", "--rate-per-address", "1000000",
             "--rate-per-key", "1000000")


def all_at_once(
    count: int, call: Callable[[httpx.Client], httpx.Response]
) -> list[httpx.Response]:
    """`count` threads make `call()` together (released by a barrier); their answers."""
    barrier = threading.Barrier(count)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def run() -> None:
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            answer = call(client)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_workers_never_accept_one_challenge_twice(
    tmp_path: Path, store_engine: str
) -> None:
    home = tmp_path / "home"
    with prepare_home(home) as bridge:
        bridge.add_user("alice", "correct horse")
        serial = bridge.provision("alice", "scc", image_path=home / "scc.img").serial
        ibkey = bridge.provision("alice", "ibkey", pin="2468", image_path=home / "ik.img").serial
    phone = Phone(home / "ik.img")
    card = read_image(home / "scc.img")
    key = new_key(home, "k", "verify")
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(home, *NO_LIMITS, workers=2) as server:
        for _ in range(ROUNDS):
            issued = httpx.post(f"{server.url}/v1/challenges", json={"serial": serial},
                                headers=auth).json()
            first, second = map(int, issued["challenge"].split())
            body = {"serial": serial, "challenge_id": issued["id"],
                    "response": scc_response(card.key, first, second)}
            answers = all_at_once(
                CLIENTS, lambda c, b=body: c.post(f"{server.url}/v1/verify", json=b, headers=auth)
            )
            assert all(a.status_code == 200 for a in answers)
            verdicts = [a.json() for a in answers]
            assert sum(v["accepted"] for v in verdicts) == 1
            assert {v["reason"] for v in verdicts if not v["accepted"]} == {
                "challenge already used"}

            started = httpx.post(f"{server.url}/validate/check",
                                 data={"user": "alice", "pass": "correct horse"}).json()
            message = started["detail"]["multi_challenge"][0]["message"]
            first, second = map(int, message.removeprefix("Index numbers: ").split())
            form = {"user": "alice", "transaction_id": started["detail"]["transaction_id"],
                    "pass": scc_response(card.key, first, second)}
            answers = all_at_once(
                CLIENTS, lambda c, f=form: c.post(f"{server.url}/validate/check", data=f)
            )
            results = [a.json()["result"]["authentication"] for a in answers]
            assert sorted(results) == ["ACCEPT"] + ["REJECT"] * (CLIENTS - 1)

            httpx.post(f"{server.url}/v1/push", json={"serial": ibkey}, headers=auth)
            push_id = phone.receive(home, ibkey, time.time())
            approval = {"approve": True, "response": phone.approve("2468", time.time()).response}
            answers = all_at_once(CLIENTS, lambda c, p=push_id, b=approval: c.post(
                f"{server.url}/v1/push/{p}/answer", json=b, headers=auth))
            assert sum(a.json()["accepted"] for a in answers) == 1
            # A loser may answer while the winner's status update is still on its way.
            assert {a.json()["status"] for a in answers} <= {"approved", "pending"}
            status = httpx.get(f"{server.url}/v1/push/{push_id}", headers=auth).json()
            assert status["status"] == "approved"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


def test_tls_from_certificate_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prepare_home(home).close()
    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.create_default_context(cafile=str(cert_file))
    with running_server(home, "--tls-cert", str(cert_file), "--tls-key", str(key_file),
                        scheme="https", verify=context) as server:
        assert httpx.get(f"{server.url}/healthz", verify=context).json() == {"status": "ok"}


@pytest.mark.parametrize("args", [
    ["--http", "nonsense"], ["--http", "127.0.0.1:80", "--workers", "0"],
    ["--http", "127.0.0.1:80", "--tls-cert", "x.pem"],
    ["--http", "127.0.0.1:80", "--client-network", "not-a-net"],
    ["--http", "127.0.0.1:80", "--tls-cert", "no.pem", "--tls-key", "no.pem"],
])
def test_command_line_refusals_are_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
