"""IB Key activation and added users: the SMS-token flows that make a user active.

The seed (IB Key activation on Android): "Enter your IBKR Account Username and Password then tap
Continue", then "An SMS message will be sent with an Activation Token. Enter the token in the
Activation Code field, create a PIN then tap Activate"; and "The recovery PIN will be used to
enable additional users or re-enable IBKR Mobile if it has been uninstalled. It must be at least 4
and up to 6 characters (letters, numbers and special characters allowed)". The host checks the
credentials and sends the token (`slsbridge provision`, `Bridge.ibkey.activate`). On the app:

* `activate(username, token, new_pin, now)`: the first user — the SMS token (its salted hash came
  in the image) and a new app PIN (4-6 letters, digits, specials), which is also the recovery PIN.
  The phase goes AWAITING_ACTIVATION → ACTIVE.
* `offer_user(username, key, token_hash)`: the host enrols one more user (their key and the hash
  of their SMS token); `add_user(username, token, recovery_pin, now)` enables them with the
  recovery PIN (counted like any PIN) and the token.
* `enrolment(username)`: what the app tells the broker's server about an active user
  (`Enrolment`: the SHA-1 of the PIN the server verifies responses with).

Each SMS token allows `token_retries` wrong tries (counted before comparing, constant time), then
it is void. `IbKeyActivation` adds these to `IbKeyCore`; `firmware_model.ibkey.IbKey` has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_model.device import Reaction
from firmware_model.events import Activated, UserAdded
from firmware_model.ibkey_core import IbKeyCore, Screen, short_name
from firmware_model.ibkey_image import (
    COUNTER_LIMIT,
    MAX_USERS,
    PIN_HASH_BYTES,
    PIN_LABEL,
    TOKEN_LABEL,
    Pending,
    Phase,
    User,
    check_pin_rules,
    check_username,
    pin_sha1,
)
from firmware_model.secret_hash import SaltedHash

__all__ = ["Enrolment", "IbKeyActivation"]


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the app tells the broker's server when a user is activated or added.

    The server (host bridge) needs the SHA-1 of the app PIN to verify responses; the glue that
    carries this message decides how. Never printed: the PIN hash is hidden from the repr.
    """

    serial: str
    username: str
    counter: int
    pin_hash: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_username(self.username)
        if len(self.pin_hash) != PIN_HASH_BYTES:
            raise ValueError("pin_hash is the 20-byte SHA-1 of the PIN")
        if isinstance(self.counter, bool) or not 0 <= self.counter < COUNTER_LIMIT:
            raise ValueError("counter must be 0 to 2**64-1")


class IbKeyActivation(IbKeyCore):
    """Activation, added users and the enrolment message (see the module docstring)."""

    def enrolment(self, username: str) -> Enrolment:
        """The message for the server about active user `username` (see `Enrolment`)."""
        user = self._user(username)
        assert self._pin_sha1 is not None  # every active phase has a PIN
        return Enrolment(self._image.serial, user.username, user.counter, self._pin_sha1)

    def activate(self, username: str, token: str, new_pin: str, now: float) -> Reaction:
        """First activation: the SMS token and a new PIN (4-6 letters, digits, specials).

        A wrong token counts against that token (`token_retries`, then it is void). A PIN that
        breaks the rules or an unknown username is misuse (`ValueError`, nothing changes).
        """
        self._clock(now)
        self._require("activate")
        check_pin_rules(new_pin)
        pending = self._pending_for(username)
        if not self._check_token(pending, token):
            return self._show_notice(self._token_refusal(pending), persist=True)
        self._pending.remove(pending)
        self._pin = SaltedHash.make(PIN_LABEL, new_pin, self._entropy)
        self._pin_sha1 = pin_sha1(new_pin)
        self._users.append(self._new_user(pending))
        self._phase = Phase.ACTIVE
        self._selected = 0
        self._message = "IB Key activated"
        self._screen = Screen.NOTICE
        return Reaction(self.display, persist=True, events=(Activated(username),))

    def offer_user(self, username: str, key: bytes, token: SaltedHash) -> Reaction:
        """The host's enrolment of one more user ("Add user"): their key and SMS token hash."""
        self._require("offer_user")
        check_username(username)
        if username in self.usernames or username in self.pending_usernames:
            raise ValueError(f"user {username!r} is already on this app")
        if not isinstance(key, bytes) or not 1 <= len(key) <= 128:
            raise ValueError("key must be 1 to 128 bytes")
        if not isinstance(token, SaltedHash) or token.label != TOKEN_LABEL:
            raise ValueError("token must come from ibkey.token_hash")
        if len(self._users) + len(self._pending) >= MAX_USERS:
            raise ValueError(f"an IB Key app holds at most {MAX_USERS} users")
        self._pending.append(Pending(username, key, token, 0))
        return Reaction(self.display, persist=True)

    def add_user(self, username: str, token: str, recovery_pin: str, now: float) -> Reaction:
        """Enable an offered user: their SMS token and the app's recovery PIN."""
        self._clock(now)
        self._require("add_user")
        pending = self._pending_for(username)
        if self.pin_locked:
            return self._show_notice("PIN locked: recover IB Key")
        if not self._check_pin(recovery_pin):
            return self._wrong_pin()
        if not self._check_token(pending, token):
            return self._show_notice(self._token_refusal(pending), persist=True)
        self._pending.remove(pending)
        self._users.append(self._new_user(pending))
        self._message = f"User {short_name(username)} added"
        self._screen = Screen.NOTICE
        return Reaction(self.display, persist=True, events=(UserAdded(username),))

    # --- helpers ------------------------------------------------------------------------------

    def _pending_for(self, username: str) -> Pending:
        for pending in self._pending:
            if pending.username == username:
                return pending
        raise ValueError(f"no user {username!r} is waiting for activation on this app")

    @staticmethod
    def _new_user(pending: Pending) -> User:
        return User.make(pending.username, pending.key, 0)

    def _check_token(self, pending: Pending, token: str) -> bool:
        """Count the try first, then compare; a right token clears nothing but itself."""
        pending.failures += 1
        if isinstance(token, str) and pending.token.matches(token):
            return True
        if pending.failures >= self._token_retries:
            self._pending.remove(pending)
        return False

    def _token_refusal(self, pending: Pending) -> str:
        if pending not in self._pending:
            return "Token void: ask for a new one"
        return f"Wrong token, {self._token_retries - pending.failures} left"
