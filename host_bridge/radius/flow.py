"""The login as RADIUS does it, in terms of the `Bridge` (the CLI's own service calls).

Theory of operation: a login is two or three Access-Requests tied together by `State`
(RFC 2865 section 4.4, "Access-Challenge"):

    START  (User-Name, User-Password) --wrong--> REJECT
    START  --fully opted out (no second factor)--> ACCEPT
    START  --one device-------> CHALLENGE "Challenge: 123456" / "Index numbers: 12 187"  (ANSWER)
    START  --several (M2FS)---> CHALLENGE "Select Second Factor Device: 1 DSC+ DP…, 2 SCC SC…"
    SELECT (State, the number or serial) --> CHALLENGE as above                           (ANSWER)
    ANSWER (State, the code) --Bridge.verify--> ACCEPT | REJECT

A `State` value is 16 random bytes from the bridge's entropy source: unguessable, bound to the
RADIUS client and user it was issued to, used once (taken out of the table by the request that
presents it, whatever the outcome) and void after the bridge's `challenge_ttl`. The table keys
on a SHA-256 of the value, so a lookup's timing tells nothing about the values held. Password
checks, lockout, single-use challenges and the audit rows are the bridge's; the audit rows name
the RADIUS client (`caller`).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from firmware_model.models import short_name
from host_bridge.bridge import Bridge
from host_bridge.domain import WRONG_LOGIN
from host_bridge.errors import BridgeError, Locked
from host_bridge.policies.optout import NO_SECOND_FACTOR
from host_bridge.services.devices import DeviceInfo

STATE_BYTES: Final = 16
MAX_PENDING: Final = 10_000
STATE_VOID: Final = "unknown, used or expired State: log in again"


class Outcome(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    CHALLENGE = "challenge"


@dataclass(frozen=True, slots=True)
class Answer:
    """What to reply: the outcome, the Reply-Message, and for a challenge the State."""

    outcome: Outcome
    message: str
    state: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.state is None) == (self.outcome is Outcome.CHALLENGE):
            raise ValueError("a challenge, and only a challenge, carries a State")


@dataclass(frozen=True, slots=True)
class Pending:
    """A login waiting for its next Access-Request: a device choice, or the answer to a
    challenge of device `serial`."""

    client: str
    user: str
    expires: float
    devices: tuple[DeviceInfo, ...] = ()
    serial: str | None = None
    challenge_id: str | None = None

    def __post_init__(self) -> None:
        if bool(self.devices) == (self.serial is not None and self.challenge_id is not None):
            raise ValueError("a pending login waits for a device choice or for an answer")


def menu(devices: tuple[DeviceInfo, ...]) -> str:
    """The M2FS device menu as one Reply-Message."""
    listed = ", ".join(
        f"{number} {short_name(device.model)} {device.serial}"
        for number, device in enumerate(devices, start=1)
    )
    return f"Select Second Factor Device: {listed}"


class RadiusLogin:
    """The login steps over one `Bridge`. Not thread-safe: the server runs it on one thread."""

    def __init__(self, bridge: Bridge, clock: Callable[[], float] | None = None) -> None:
        self.bridge = bridge
        self.clock = clock or bridge.clock
        self._pending: dict[bytes, Pending] = {}

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self, client: str, user: str, password: str) -> Answer:
        """The first Access-Request: password, then the device menu or the challenge."""
        try:
            if not self.bridge.check_password(user, password, caller=client):
                return Answer(Outcome.REJECT, WRONG_LOGIN)
        except BridgeError:  # a name the store cannot hold: as an unknown user
            return Answer(Outcome.REJECT, WRONG_LOGIN)
        except Locked as exc:  # the password's guess budget is spent (as the CLI says it)
            return Answer(Outcome.REJECT, str(exc))
        if self.bridge.password_is_enough(user, caller=client):
            return Answer(Outcome.ACCEPT, f"Login {NO_SECOND_FACTOR}")
        devices = tuple(self.bridge.devices(user))
        if not devices:
            return Answer(Outcome.REJECT, "no active second factor device")
        if len(devices) == 1:
            return self._challenge(client, user, devices[0])
        pending = Pending(client, user, self._expiry(), devices=devices)
        return Answer(Outcome.CHALLENGE, menu(devices), self._remember(pending))

    def resume(self, client: str, user: str | None, state: bytes, text: str) -> Answer:
        """An Access-Request carrying `State`: the device choice or the code."""
        pending = self._pending.pop(_digest(state), None)
        if (
            pending is None or pending.client != client or self.clock() >= pending.expires
            or (user is not None and user != pending.user)
        ):
            return Answer(Outcome.REJECT, STATE_VOID)
        if pending.devices:
            choice = text.strip()
            for number, device in enumerate(pending.devices, start=1):
                if choice in (str(number), device.serial):
                    return self._challenge(client, pending.user, device)
            return Answer(Outcome.REJECT, "no such device in the list")
        assert pending.serial is not None and pending.challenge_id is not None
        try:
            verdict = self.bridge.verify(
                pending.serial, pending.challenge_id, text, caller=client
            )
        except BridgeError as exc:  # e.g. an answer longer than any code
            return Answer(Outcome.REJECT, str(exc))
        if verdict.accepted:
            return Answer(Outcome.ACCEPT, "Login accepted")
        return Answer(Outcome.REJECT, f"Login refused: {verdict.reason}")

    def _challenge(self, client: str, user: str, device: DeviceInfo) -> Answer:
        try:
            challenge = self.bridge.issue_challenge(device.serial)
        except BridgeError as exc:  # locked or revoked meanwhile, SMS resend limit
            return Answer(Outcome.REJECT, str(exc))
        pending = Pending(
            client, user, min(challenge.expires_at, self._expiry()), serial=device.serial,
            challenge_id=challenge.id,
        )
        return Answer(Outcome.CHALLENGE, challenge.message, self._remember(pending))

    def _expiry(self) -> float:
        return self.clock() + self.bridge.config.challenge_ttl

    def _remember(self, pending: Pending) -> bytes:
        if len(self._pending) >= MAX_PENDING:
            now = self.clock()
            for key in [key for key, item in self._pending.items() if now >= item.expires]:
                del self._pending[key]
            while len(self._pending) >= MAX_PENDING:  # still full: the oldest login goes
                del self._pending[next(iter(self._pending))]
        state = self.bridge.entropy(STATE_BYTES)
        self._pending[_digest(state)] = pending
        return state


def _digest(state: bytes) -> bytes:
    return hashlib.sha256(state).digest()
