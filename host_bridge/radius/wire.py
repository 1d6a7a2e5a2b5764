"""RADIUS packets in and out, through pyrad (the packet format and the shipped dictionary).

`decode` turns a datagram from a known client into a `Request`, or says why it is dropped
(`Drop`): the size (RFC 2865: 20 to 4096 octets), the Length field and the attribute framing
(checked here before pyrad sees the bytes, so no packet reaches pyrad's decoder half-formed),
codes this server does not serve, a missing or wrong `Message-Authenticator` (RFC 3579 section
3.2: required on every Access-Request here, the BlastRADIUS mitigation, CVE-2024-3596), or text
that is not UTF-8. `encode` builds the reply: pyrad signs every reply to an Access-Request or a
Status-Server with a Message-Authenticator and copies `Proxy-State`.
"""

from __future__ import annotations

import enum
import functools
import importlib.resources
from dataclasses import dataclass, field
from typing import Any, Final

from pyrad import packet as rp
from pyrad.dictionary import Dictionary

from host_bridge.radius.flow import Answer, Outcome

MIN_PACKET: Final = 20
MAX_PACKET: Final = 4096
MAX_PASSWORD: Final = 128  # RFC 2865 section 5.2
MAX_TEXT: Final = 253  # one attribute's value
USER_NAME, USER_PASSWORD, STATE, MESSAGE_AUTHENTICATOR = 1, 2, 24, 80
_SINGLE: Final = (USER_NAME, USER_PASSWORD, STATE, MESSAGE_AUTHENTICATOR)
_CODES: Final = {
    Outcome.ACCEPT: rp.AccessAccept,
    Outcome.REJECT: rp.AccessReject,
    Outcome.CHALLENGE: rp.AccessChallenge,
}


class Drop(enum.Enum):
    """Why a datagram got no answer (each is counted)."""

    SIZE = "size"
    UNKNOWN_CLIENT = "unknown_client"
    MALFORMED = "malformed"
    UNSUPPORTED_CODE = "unsupported_code"
    NO_MESSAGE_AUTHENTICATOR = "no_message_authenticator"
    BAD_AUTHENTICATOR = "bad_authenticator"
    BUSY = "busy"
    STORE = "store"


class Kind(enum.Enum):
    ACCESS = rp.AccessRequest
    STATUS = rp.StatusServer


@dataclass(frozen=True, slots=True)
class Request:
    """A checked request: what the login needs of it, and pyrad's packet to reply to."""

    kind: Kind
    user: str | None
    password: str | None = field(repr=False)
    state: bytes | None = field(repr=False)
    packet: Any = field(repr=False, compare=False)


@functools.cache
def dictionary() -> Dictionary:
    """The dictionary shipped in this package (the attributes this server reads and writes)."""
    source = importlib.resources.files("host_bridge.radius").joinpath("dictionary")
    with importlib.resources.as_file(source) as path:
        return Dictionary(str(path))


def framing_problem(data: bytes) -> Drop | None:
    """Size, Length field and attribute framing (RFC 2865 sections 3 and 5)."""
    if not MIN_PACKET <= len(data) <= MAX_PACKET:
        return Drop.SIZE
    length = int.from_bytes(data[2:4], "big")
    if not MIN_PACKET <= length <= len(data):
        return Drop.MALFORMED
    seen: set[int] = set()
    position = MIN_PACKET
    while position < length:
        if position + 2 > length:
            return Drop.MALFORMED
        code, size = data[position], data[position + 1]
        if size < 2 or position + size > length:
            return Drop.MALFORMED
        if code in _SINGLE:
            if code in seen:
                return Drop.MALFORMED
            seen.add(code)
        if code == MESSAGE_AUTHENTICATOR and size != 18:
            return Drop.MALFORMED
        position += size
    return None


def decode(data: bytes, secret: bytes) -> Request | Drop:
    """Check and decode one datagram from the client whose shared secret is `secret`."""
    problem = framing_problem(data)
    if problem is not None:
        return problem
    if data[0] not in (rp.AccessRequest, rp.StatusServer):
        return Drop.UNSUPPORTED_CODE
    data = data[: int.from_bytes(data[2:4], "big")]  # octets past Length are padding
    try:
        packet = rp.AuthPacket(secret=secret, dict=dictionary(), packet=data)
    except rp.PacketError:
        return Drop.MALFORMED
    if not packet.message_authenticator:
        return Drop.NO_MESSAGE_AUTHENTICATOR
    if not packet.verify_message_authenticator():
        return Drop.BAD_AUTHENTICATOR
    kind = Kind(packet.code)
    if kind is Kind.STATUS:
        return Request(kind, None, None, None, packet)
    try:
        user = _single(packet, USER_NAME)
        hidden = _single(packet, USER_PASSWORD)
        state = _single(packet, STATE)
        name = None if user is None else user.decode("utf-8")
        password = None if hidden is None else packet.PwDecrypt(hidden)
    except (UnicodeDecodeError, rp.PacketError):
        return Drop.MALFORMED
    if hidden is not None and len(hidden) > MAX_PASSWORD:
        return Drop.MALFORMED
    return Request(kind, name, password, state, packet)


def _single(packet: Any, code: int) -> bytes | None:
    values = packet.get(code)
    return None if not values else bytes(values[0])


def encode(request: Request, answer: Answer | None) -> bytes:
    """The reply to `request`: `answer`'s outcome, Reply-Message and State; None answers a
    Status-Server (RFC 5997: an Access-Accept)."""
    reply = request.packet.CreateReply()
    if answer is None:
        reply.code = rp.AccessAccept
        return bytes(reply.ReplyPacket())
    reply.code = _CODES[answer.outcome]
    for piece in _pieces(answer.message):
        reply.AddAttribute("Reply-Message", piece)
    if answer.state is not None:
        reply.AddAttribute("State", answer.state)
    return bytes(reply.ReplyPacket())


def _pieces(text: str) -> list[str]:
    """`text` in Reply-Message sized pieces (RFC 2865 section 5.18: several are concatenated)."""
    pieces: list[str] = []
    current = ""
    for char in text:
        if len((current + char).encode("utf-8")) > MAX_TEXT:
            pieces.append(current)
            current = ""
        current += char
    if current:
        pieces.append(current)
    return pieces
