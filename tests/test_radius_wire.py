"""RADIUS on the wire: what the server drops (and counts), the RFC 5080 reply cache, and a bounded
fuzz run of random and mutated datagrams after which the server still logs users in."""

from __future__ import annotations

import hashlib
import hmac
import random
import socket
import struct
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from pyrad import packet as rp

from host_bridge.radius.wire import MAX_PACKET, Drop, Request, decode, dictionary
from tests.radius_helpers import (
    PASSWORD,
    SECRET,
    RawClient,
    access_request,
    card_response,
    home_with_card,
    messages,
    pyrad_client,
    running_server,
    state_of,
    write_clients,
)


def signed(code: int, identifier: int, attributes: bytes, secret: bytes = SECRET,
           authenticator: bytes = b"\x42" * 16) -> bytes:
    """A request with `attributes` and a Message-Authenticator that is right for them."""
    zero = bytes([80, 18]) + bytes(16)
    header = struct.pack("!BBH", code, identifier, 20 + len(attributes) + 18) + authenticator
    digest = hmac.new(secret, header + attributes + zero, hashlib.md5).digest()
    return header + attributes + bytes([80, 18]) + digest


def login_request(user: str, password: str, identifier: int = 7) -> bytes:
    packet = rp.AuthPacket(id=identifier, secret=SECRET, dict=dictionary())
    packet["User-Name"] = user
    packet["User-Password"] = packet.PwCrypt(password)
    packet.add_message_authenticator()
    return bytes(packet.RequestPacket())


def unsigned_request(user: str, password: str) -> bytes:
    packet = rp.AuthPacket(id=9, secret=SECRET, dict=dictionary(), message_authenticator=False)
    packet["User-Name"] = user
    packet["User-Password"] = packet.PwCrypt(password)
    return bytes(packet.RequestPacket())


def _no_datagram_waiting(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        sock.recv(65_536)
    except BlockingIOError:
        return True
    return False


def test_drops_are_silent_and_counted(slsemu_home: Path, tmp_path: Path) -> None:
    home_with_card(slsemu_home)
    with running_server(slsemu_home, write_clients(tmp_path)) as server:
        raw = RawClient(server.port)
        try:
            raw.send(unsigned_request("alice", PASSWORD))
            raw.send(login_request("alice", PASSWORD) + bytes(MAX_PACKET))  # over 4096 octets
            raw.send(b"\x01\x02\x00")  # shorter than a header
            broken = bytearray(login_request("alice", PASSWORD))
            broken[21] = 0xFF  # an attribute running past the packet
            raw.send(bytes(broken))
            raw.send(signed(rp.AccessRequest, 3, b"", secret=b"another secret!"))
            raw.send(signed(rp.AccountingRequest, 4, b""))
            # The server takes datagrams in order: the first reply is the Status-Server's.
            reply = rp.Packet(packet=raw.status(200), secret=SECRET, dict=dictionary())
            assert (reply.code, reply.id) == (rp.AccessAccept, 200)
            assert _no_datagram_waiting(raw.sock)
        finally:
            raw.close()
    for counted in ("no_message_authenticator=1", "size=2", "malformed=1",
                    "bad_authenticator=1", "unsupported_code=1"):
        assert counted in server.summary, server.summary


def test_duplicates_are_answered_from_the_cache(slsemu_home: Path, tmp_path: Path) -> None:
    home_with_card(slsemu_home)
    with running_server(slsemu_home, write_clients(tmp_path)) as server:
        raw = RawClient(server.port)
        try:
            request = login_request("alice", PASSWORD)
            raw.send(request)
            first = raw.receive()
            raw.send(request)  # a retransmission: same port, Identifier and authenticator
            assert raw.receive() == first
        finally:
            raw.close()
    assert "duplicates=1" in server.summary, server.summary
    from host_bridge.bridge import Bridge

    with Bridge.open(slsemu_home) as bridge:
        checks = [row for row in bridge.audit() if row.event == "login.password"]
    assert len(checks) == 1  # processed once


def _fuzz_datagrams(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    valid = login_request("alice", PASSWORD, identifier=1)
    out: list[bytes] = []
    for number in range(count):
        choice = number % 4
        if choice == 0:
            out.append(rng.randbytes(rng.randrange(0, 300)))
        elif choice == 1:
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            out.append(bytes(mutated[: rng.randrange(len(mutated) + 1)]))
        else:  # well signed, so the attributes reach the decoder and the login
            attributes = b""
            for _ in range(rng.randrange(0, 6)):
                code = rng.choice([1, 2, 24, 26, 18, 33, 79, rng.randrange(256)])
                value = rng.randbytes(rng.randrange(0, 40))
                attributes += bytes([code, len(value) + 2]) + value
            code = rng.choice([rp.AccessRequest, rp.AccessRequest, rp.StatusServer, 4, 40])
            out.append(signed(code, number % 200, attributes,
                              authenticator=rng.randbytes(16)))
    return out


def test_fuzz_then_a_login_still_works(slsemu_home: Path, tmp_path: Path) -> None:
    _serial, image = home_with_card(slsemu_home)
    with running_server(slsemu_home, write_clients(tmp_path)) as server:
        raw = RawClient(server.port)
        try:
            datagrams = _fuzz_datagrams(seed=13, count=600)
            # In batches, each closed by a Status-Server (Identifier 250, which no fuzz datagram
            # uses) whose reply is awaited: every datagram before it was taken, and the socket
            # buffers never overflow (a lost probe would hang, not pass).
            for start in range(0, len(datagrams), 40):
                for datagram in datagrams[start:start + 40]:
                    raw.send(datagram)
                reply = raw.status(250)
                while not (reply[0] == rp.AccessAccept and reply[1] == 250):
                    reply = raw.receive()
        finally:
            raw.close()
        client = pyrad_client(server.port)
        first = client.SendPacket(access_request(client, "alice", PASSWORD))
        response = card_response(image, messages(first).split()[-1])
        done = client.SendPacket(access_request(client, "alice", response, state_of(first)))
        assert done.code == rp.AccessAccept
    assert "malformed=" in server.summary, server.summary


@given(st.binary(max_size=MAX_PACKET + 64))
def test_decode_any_bytes(data: bytes) -> None:
    assert isinstance(decode(data, SECRET), Request | Drop)


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=60)), max_size=8),
       st.sampled_from([rp.AccessRequest, rp.StatusServer]), st.binary(min_size=16, max_size=16))
def test_decode_signed_attributes(
    attributes: list[tuple[int, bytes]], code: int, authenticator: bytes
) -> None:
    body = b"".join(bytes([attr, len(value) + 2]) + value for attr, value in attributes)
    result = decode(signed(code, 1, body, authenticator=authenticator), SECRET)
    assert isinstance(result, Request | Drop)
    assert result is not Drop.BAD_AUTHENTICATOR
