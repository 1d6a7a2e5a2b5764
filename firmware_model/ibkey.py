"""IB Key (model `ibkey`): the IBKR Mobile authenticator app as a state machine.

Theory of operation. The app has two durable *phases* and a set of transient *screens*.

Phases (durable, in the image):

    AWAITING_ACTIVATION  `slsbridge provision` wrote the image: it holds the user's key and a
                         salted hash of the activation token the host sends by SMS. Nothing
                         else works until `activate(username, token, new_pin, now)`.
    ACTIVE               one or more users, each with a username, an own key and an own counter;
                         one app PIN (4-6 characters), which is also the recovery PIN.
    NEEDS_RECOVERY       after `reinstall()`: the app kept only what recovery needs (the users'
                         keys and counters and the PIN hashes — on a real phone the broker's
                         server and the keychain hold them); `recover(pin, token, now)` brings
                         the app back (Android: the recovery SMS token and the PIN); iOS:
                         `restore(pin_or_biometric, now)`, no SMS (KB2748).

Codes: challenge/response with RFC 6287 OCRA, suite `OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1`: the
6-digit challenge, the user's counter, SHA-1 of the app PIN, 8 digits. The counter stored for a
user is the value the *next* response uses; every response uses it and then raises it by one
(the reaction asks to persist). The host keeps its own counter with a look-ahead window.

Push: `receive_push(push_id, username, challenge, now)` is the notification (it opens the app on
the PUSH screen); `approve(pin_or_biometric, now)` answers it — the OCRA response for the push's
challenge travels back in `Reaction.events` as `PushApproved(push_id, response)` — and
`deny(now)` refuses it (`PushDenied`). A push not answered within `push_seconds` expires
(`PushExpired`). Events are `firmware_model.events` types.

Secrets and checks: the app PIN is kept as a salted hash (checked in constant time) and, as the
keychain item that a fingerprint/Face ID unlocks, as the SHA-1 the OCRA needs (`BIOMETRIC` uses
it; a PIN typed instead is hashed afresh). Every wrong PIN raises `pin_failures` (durably, before
the result shows); after `pin_retries` the PIN is locked and only recovery helps. Wrong recovery
attempts raise `recovery_failures`; after `recovery_retries` the app must be provisioned afresh.
Each SMS token (activation, added user, recovery) allows `token_retries` wrong tries, then it is
void. Counters only fall on success: a right PIN resets `pin_failures`, a recovery resets both.

The buttons drive the manual screens (digits only; a PIN with letters or specials needs the API
or the TUI). The whole truth about the screens is `SCREEN_TRANSITIONS`: for each (screen, kind)
the handler and every screen it may lead to — kinds are the buttons (`DIGIT` for 0-9), `TIMEOUT`
(a push expires) and the API calls (`activate`, `respond`, `push`, …), which move the screen
too; a pair not listed does nothing. `PHASE_TRANSITIONS` is the same for the durable phase: an
API call not listed for the phase is refused (`ValueError`). A reading guide:

    screen       event                         next         display (one line, <= 32 chars)
    CLOSED       POWER                         (home)       the screen the phase calls for:
    (home)       phase AWAITING_ACTIVATION     NOTICE       "Activate IB Key first"
    (home)       phase NEEDS_RECOVERY          NOTICE       "Recover IB Key first"
    (home)       PIN locked                    NOTICE       "PIN locked: recover IB Key"
    (home)       push pending                  PUSH         "Login request for alice"
    (home)       otherwise                     CHALLENGE    "alice challenge: _"
    CHALLENGE    digit (<= 6) / BACK           CHALLENGE    "alice challenge: 1234"
    CHALLENGE    NEXT                          CHALLENGE    next user, challenge cleared
    CHALLENGE    OK with 6 digits              PIN          "alice PIN: ****"
    PIN          digit (<= 6) / BACK           PIN          one '*' per digit
    PIN          OK (4-6 digits) right         RESPONSE     "Response: 12345678"   persist
    PIN          OK wrong                      WRONG_PIN    "Wrong PIN, 4 tries left" persist
                 (the last try, or locked)     NOTICE       "PIN locked: recover IB Key"
    PIN          BIOMETRIC                     RESPONSE     (when biometrics are enabled)
    PUSH         BIOMETRIC                     DONE         "Approved"             persist
    PUSH         APPROVE                       PUSH_PIN     "PIN to approve: "
    PUSH         NEXT                          CHALLENGE    the push stays pending (the manual
                                                            path: the login screen's "Click here
                                                            if you do not receive the notification")
    PUSH_PIN     digits, OK / BIOMETRIC        DONE         "Approved" (or WRONG_PIN / NOTICE)
    PUSH/PUSH_PIN DENY                         DONE         "Denied"
    PUSH/PUSH_PIN TIMEOUT (push expires)       (home)
    WRONG_PIN    OK / BACK                     PIN or PUSH_PIN, where the PIN was asked
                                               (home) when the PIN is now locked
    RESPONSE, DONE, NOTICE: OK / BACK → (home)
    any open     POWER                         CLOSED       ""
    CLOSED       any other key                 CLOSED       "" (nothing happens)

A keypress that means nothing on a screen is ignored. The app never closes itself.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final

from firmware_model import ibkey_image
from firmware_model.device import DIGITS, Device, Entropy, ImageSpec, Reaction
from firmware_model.events import (
    Activated,
    DeviceEvent,
    PinLocked,
    PinRejected,
    PushApproved,
    PushDenied,
    PushExpired,
    PushReplaced,
    Recovered,
    Reinstalled,
    ResponseComputed,
    UserAdded,
)
from firmware_model.fsm import DIGIT, TIMEOUT, Rule, kind_of
from firmware_model.ibkey_image import (
    COUNTER_LIMIT,
    IBKEY_SUITE,
    MAX_PENDING,
    MAX_USERS,
    PIN_HASH_BYTES,
    PIN_LABEL,
    PIN_RULE,
    TOKEN_LABEL,
    TOKEN_RE,
    USERNAME_RE,
    IbKeyConfig,
    IbKeyState,
    Pending,
    Phase,
    User,
    check_pin_rules,
    check_username,
    pin_sha1,
    token_hash,
)
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.ocra import OcraCalculator
from firmware_model.secret_hash import SaltedHash

__all__ = [
    "BIOMETRIC",
    "BUTTONS",
    "CHALLENGE_DIGITS",
    "DEFAULT_CONFIG",
    "IBKEY_SUITE",
    "MAX_PENDING",
    "MAX_USERS",
    "PHASE_TRANSITIONS",
    "PIN_HASH_BYTES",
    "PIN_LABEL",
    "PIN_MAX",
    "PIN_MIN",
    "PIN_RULE",
    "PUSH_ID_RE",
    "SCREEN_TRANSITIONS",
    "TOKEN_LABEL",
    "TOKEN_RE",
    "USERNAME_RE",
    "Biometric",
    "Enrolment",
    "IbKey",
    "IbKeyConfig",
    "Phase",
    "Screen",
    "check_challenge",
    "check_pin_rules",
    "check_username",
    "ibkey_response",
    "pin_sha1",
    "token_hash",
]

CHALLENGE_DIGITS = 6
PIN_MIN, PIN_MAX = PIN_RULE.min_length, PIN_RULE.max_length
PUSH_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DEFAULT_CONFIG: Final[Mapping[str, JsonValue]] = IbKeyConfig().to_mapping()
BUTTONS = DIGITS | {"POWER", "OK", "BACK", "APPROVE", "DENY", "BIOMETRIC", "NEXT"}


class Biometric(enum.Enum):
    """A fingerprint or Face ID that the phone accepted (the emulator has no failing finger)."""

    OK = "biometric"


BIOMETRIC = Biometric.OK


class Screen(enum.Enum):
    """The app's transient screens (see the table in the module docstring)."""

    CLOSED = "closed"
    NOTICE = "notice"
    CHALLENGE = "challenge"
    PIN = "pin"
    RESPONSE = "response"
    WRONG_PIN = "wrong_pin"
    PUSH = "push"
    PUSH_PIN = "push_pin"
    DONE = "done"


def check_challenge(challenge: str) -> str:
    """`challenge` if it is exactly 6 decimal digits."""
    if not isinstance(challenge, str) or len(challenge) != CHALLENGE_DIGITS:
        raise ValueError(f"an IB Key challenge is {CHALLENGE_DIGITS} digits")
    if not set(challenge) <= DIGITS:
        raise ValueError(f"an IB Key challenge is {CHALLENGE_DIGITS} digits")
    return challenge


def ibkey_response(key: bytes, counter: int, challenge: str, pin: str) -> str:
    """The IB Key response: OCRA `OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1` (host and tests use this)."""
    return OcraCalculator(IBKEY_SUITE, key).response(
        counter=counter, question=check_challenge(challenge), pin=pin
    )


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


@dataclass(frozen=True, slots=True)
class _Push:
    push_id: str
    username: str
    challenge: str
    expires: float


def _short(username: str) -> str:
    """A username cut to fit a screen line."""
    return username if len(username) <= 12 else username[:11] + "~"


class IbKey(Device):
    """Model `ibkey`: the IBKR Mobile app with IB Key.

    `new_image` options: `username` (the first user), `activation_token` (then the image waits
    for activation; without it the app is made already active with `spec.pin`), `counter`
    (the first user's starting counter, 0), `pin_retries` (5), `recovery_retries` (3),
    `token_retries` (3), `push_seconds` (120), `biometric` (true: the phone has a fingerprint or
    Face ID enrolled).
    """

    model: ClassVar[str] = "ibkey"
    buttons: ClassVar[frozenset[str]] = frozenset(BUTTONS)

    def __init__(self, image: DeviceImage, entropy: Entropy) -> None:
        self._image = image
        self._entropy = entropy
        config = ibkey_image.read_config(image)
        self._pin_retries = config.pin_retries
        self._recovery_retries = config.recovery_retries
        self._token_retries = config.token_retries
        self._push_seconds = config.push_seconds
        self._biometric = config.biometric
        loaded = ibkey_image.read_state(config, image)
        self._phase = loaded.phase
        self._users: list[User] = loaded.users
        self._pending: list[Pending] = loaded.pending
        self._pin: SaltedHash | None = loaded.pin
        self._pin_sha1: bytes | None = loaded.pin_sha1
        self._pin_failures = loaded.pin_failures
        self._recovery_token: SaltedHash | None = loaded.recovery_token
        self._recovery_token_failures = loaded.recovery_token_failures
        self._recovery_failures = loaded.recovery_failures
        # transient
        self._screen = Screen.CLOSED
        self._selected = 0
        self._typed = ""
        self._challenge = ""
        self._message = ""
        self._push: _Push | None = None
        self._now = 0.0

    # --- images -------------------------------------------------------------------------------

    @classmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        """A new app. `ValueError` for a bad spec (see the class docstring for the options)."""
        return ibkey_image.new_image(spec, entropy)

    @classmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> IbKey:
        """Load the app, closed. `ImageError` if the image does not describe a valid app."""
        return cls(image, entropy)

    def to_image(self) -> DeviceImage:
        state = IbKeyState(
            self._phase,
            self._users,
            self._pending,
            self._pin,
            self._pin_sha1,
            self._pin_failures,
            self._recovery_failures,
            self._recovery_token,
            self._recovery_token_failures,
        )
        return self._image.with_state(ibkey_image.write_state(state))

    # --- indicators ---------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """The durable phase."""
        return self._phase

    @property
    def screen(self) -> Screen:
        """The screen shown now."""
        return self._screen

    @property
    def pin_locked(self) -> bool:
        """Whether too many wrong PINs have locked the app (recovery needed)."""
        return self._pin_failures >= self._pin_retries

    @property
    def recovery_locked(self) -> bool:
        """Whether too many wrong recovery attempts mean only a new activation helps."""
        return self._recovery_failures >= self._recovery_retries

    @property
    def pin_failures(self) -> int:
        """Wrong PINs in a row (durable)."""
        return self._pin_failures

    @property
    def recovery_failures(self) -> int:
        """Wrong recovery attempts in a row (durable)."""
        return self._recovery_failures

    @property
    def usernames(self) -> tuple[str, ...]:
        """The active users, in the order NEXT cycles through them."""
        return tuple(user.username for user in self._users)

    @property
    def pending_usernames(self) -> tuple[str, ...]:
        """Users offered by the host and waiting for their SMS token."""
        return tuple(p.username for p in self._pending)

    @property
    def selected_user(self) -> str | None:
        """The user the challenge screen is for."""
        return self._users[self._selected].username if self._users else None

    def counter(self, username: str) -> int:
        """The counter the next response of `username` will use."""
        return self._user(username).counter

    @property
    def pending_push(self) -> str | None:
        """The id of the push waiting for an answer, if any."""
        return self._push.push_id if self._push else None

    @property
    def display(self) -> str:
        return self._render()

    @property
    def powered(self) -> bool:
        return self._screen is not Screen.CLOSED

    def status(self) -> dict[str, str | int | bool]:
        status = Device.status(self)
        status.update(
            phase=self._phase.value,
            screen=self._screen.value,
            users=len(self._users),
            pin_failures=self._pin_failures,
            pin_retries=self._pin_retries,
            pin_locked=self.pin_locked,
            recovery_failures=self._recovery_failures,
            recovery_locked=self.recovery_locked,
            push_pending=self._push is not None,
        )
        if self.selected_user is not None:
            status["selected_user"] = self.selected_user
        return status

    def enrolment(self, username: str) -> Enrolment:
        """The message for the server about active user `username` (see `Enrolment`)."""
        user = self._user(username)
        assert self._pin_sha1 is not None  # every active phase has a PIN
        return Enrolment(self._image.serial, user.username, user.counter, self._pin_sha1)

    # --- the high-level API (TUI, host tests) -------------------------------------------------

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
        self._message = f"User {_short(username)} added"
        self._screen = Screen.NOTICE
        return Reaction(self.display, persist=True, events=(UserAdded(username),))

    def respond(self, username: str, pin: str | Biometric, challenge: str, now: float) -> Reaction:
        """Manual challenge/response for `username`; the response is `Reaction.display`'s code
        and the event `ResponseComputed(username, response)`. A wrong PIN counts (persisted)."""
        self._clock(now)
        self._require("respond")
        user = self._user(username)
        check_challenge(challenge)
        refusal = self._unlock(pin)
        if refusal is not None:
            return refusal
        response = self._next_response(user, challenge)
        self._message = f"Response: {response}"
        self._screen = Screen.RESPONSE
        return Reaction(self.display, persist=True, events=(ResponseComputed(username, response),))

    def receive_push(self, push_id: str, username: str, challenge: str, now: float) -> Reaction:
        """A push notification for `username` carrying the login's challenge; it opens the app.

        A newer push replaces one still pending (the older is reported `PushReplaced`).
        """
        self._clock(now)
        self._require("push")
        if not isinstance(push_id, str) or not PUSH_ID_RE.fullmatch(push_id):
            raise ValueError("a push id is 1 to 64 letters, digits or . _ -")
        self._user(username)
        check_challenge(challenge)
        events: tuple[DeviceEvent, ...] = ()
        if self._push is not None:
            events = (PushReplaced(self._push.push_id),)
        self._push = _Push(push_id, username, challenge, self._now + self._push_seconds)
        self._typed = ""
        self._screen = Screen.PUSH
        return Reaction(self.display, events=events)

    def approve(self, pin_or_biometric: str | Biometric, now: float) -> Reaction:
        """Approve the pending push with the PIN or `BIOMETRIC`; the event carries the response."""
        before = self.advance(now)
        push = self._push
        if push is None:
            return self._no_push(before)
        refusal = self._unlock(pin_or_biometric)
        if refusal is not None:
            return before.then(refusal)
        response = self._next_response(self._user(push.username), push.challenge)
        self._push = None
        self._message = "Approved"
        self._screen = Screen.DONE
        events = (PushApproved(push.push_id, response),)
        return before.then(Reaction(self.display, persist=True, events=events))

    def deny(self, now: float) -> Reaction:
        """Refuse the pending push."""
        before = self.advance(now)
        push = self._push
        if push is None:
            return self._no_push(before)
        self._push = None
        self._message = "Denied"
        self._screen = Screen.DONE
        return before.then(Reaction(self.display, events=(PushDenied(push.push_id),)))

    def reinstall(self) -> Reaction:
        """Delete and reinstall the app: only what recovery needs survives."""
        self._require("reinstall")
        self._phase = Phase.NEEDS_RECOVERY
        self._push = None
        self._selected = 0
        self._typed = self._challenge = self._message = ""
        self._screen = Screen.CLOSED
        return Reaction(self.display, persist=True, events=(Reinstalled(),))

    def begin_recovery(self, token: SaltedHash) -> Reaction:
        """The host sent a recovery SMS token ("Initialize Recovery"); this is its hash."""
        self._require("begin_recovery")
        if self._phase is Phase.ACTIVE and not self.pin_locked:
            raise ValueError("IB Key needs no recovery (not reinstalled, PIN not locked)")
        if not isinstance(token, SaltedHash) or token.label != TOKEN_LABEL:
            raise ValueError("token must come from ibkey.token_hash")
        self._recovery_token = token
        self._recovery_token_failures = 0
        return Reaction(self.display, persist=True)

    def recover(self, pin: str, token: str, now: float) -> Reaction:
        """Recover with the recovery PIN and the recovery SMS token.

        Every failed try counts (`recovery_retries`, then the app must be activated afresh);
        success resets the PIN and recovery failure counters.
        """
        self._clock(now)
        self._require("recover")
        if self._phase is Phase.ACTIVE and not self.pin_locked:
            raise ValueError("IB Key needs no recovery (not reinstalled, PIN not locked)")
        if self.recovery_locked:
            return self._show_notice("Recovery locked: activate again")
        if self._recovery_token is None:
            return self._show_notice("Start recovery: get the SMS")
        # Count first, so a power cut during the check cannot give a free try.
        self._recovery_failures += 1
        assert self._pin is not None
        pin_ok = self._pin.matches(pin) if isinstance(pin, str) else False
        token_ok = self._recovery_token.matches(token) if isinstance(token, str) else False
        if not (pin_ok and token_ok):
            if not token_ok:
                self._recovery_token_failures += 1
                if self._recovery_token_failures >= self._token_retries:
                    self._recovery_token = None
            left = self._recovery_retries - self._recovery_failures
            text = f"Recovery failed, {left} left" if left else "Recovery locked: activate again"
            return self._show_notice(text, persist=True)
        self._phase = Phase.ACTIVE
        self._recovery_failures = 0
        self._pin_failures = 0
        self._recovery_token = None
        self._recovery_token_failures = 0
        return self._show_notice("IB Key recovered", persist=True, events=(Recovered(),))

    def restore(self, pin_or_biometric: str | Biometric, now: float) -> Reaction:
        """The iOS recovery (KB2748): "Tap Yes", then "the security element originally used to
        secure the app (Fingerprint, Face ID, PIN)", then Done — no SMS: the iOS keychain kept the
        PIN's keychain item through the reinstall. A wrong PIN counts like any PIN (and a locked
        PIN needs the SMS recovery, `recover`); success resets the failure counters."""
        self._clock(now)
        self._require("restore")
        refusal = self._unlock(pin_or_biometric)
        if refusal is not None:
            return refusal
        self._phase = Phase.ACTIVE
        self._recovery_failures = 0
        self._pin_failures = 0
        self._recovery_token = None
        self._recovery_token_failures = 0
        return self._show_notice("IB Key recovered", persist=True, events=(Recovered(),))

    # --- buttons ------------------------------------------------------------------------------

    def press(self, button: str, now: float) -> Reaction:
        self.check_button(button)
        reaction = self.advance(now)
        rule = SCREEN_TRANSITIONS.get((self._screen, kind_of(button)))
        if rule is None or rule.handler is None:
            return reaction
        return reaction.then(rule.handler(self, button))

    def advance(self, now: float) -> Reaction:
        self._clock(now)
        if self._push is not None and self._now >= self._push.expires:
            push, self._push = self._push, None
            if self._screen in (Screen.PUSH, Screen.PUSH_PIN):
                self._open()
            return Reaction(self.display, events=(PushExpired(push.push_id),))
        return Reaction(self.display)

    def _open(self) -> None:
        """Show the screen the phase calls for (the app opening, or going back home)."""
        self._typed = self._challenge = ""
        if self._phase is Phase.AWAITING_ACTIVATION:
            void = not self._pending
            self._message = "Activation void: provision again" if void else "Activate IB Key first"
        elif self.recovery_locked:
            self._message = "Recovery locked: activate again"
        elif self._phase is Phase.NEEDS_RECOVERY:
            self._message = "Recover IB Key first"
        elif self.pin_locked:
            self._message = "PIN locked: recover IB Key"
        elif self._push is not None:
            self._screen = Screen.PUSH
            return
        else:
            self._screen = Screen.CHALLENGE
            return
        self._screen = Screen.NOTICE

    def _close(self) -> None:
        self._typed = self._challenge = self._message = ""
        self._screen = Screen.CLOSED

    def _on_open(self, button: str) -> Reaction:
        """POWER on a closed app, or OK/BACK on a result: the screen the phase calls for."""
        self._open()
        return Reaction(self.display)

    def _on_close(self, button: str) -> Reaction:
        self._close()
        return Reaction(self.display)

    def _on_challenge_digit(self, button: str) -> Reaction:
        if len(self._typed) < CHALLENGE_DIGITS:
            self._typed += button
        return Reaction(self.display)

    def _on_pin_digit(self, button: str) -> Reaction:
        if len(self._typed) < PIN_MAX:
            self._typed += button
        return Reaction(self.display)

    def _on_back(self, button: str) -> Reaction:
        self._typed = self._typed[:-1]
        return Reaction(self.display)

    def _on_next(self, button: str) -> Reaction:
        self._selected = (self._selected + 1) % len(self._users)
        self._typed = ""
        return Reaction(self.display)

    def _on_challenge_ok(self, button: str) -> Reaction:
        if len(self._typed) != CHALLENGE_DIGITS:
            return Reaction(self.display)
        self._challenge, self._typed = self._typed, ""
        self._screen = Screen.PIN
        return Reaction(self.display)

    def _on_pin_ok(self, button: str) -> Reaction:
        if len(self._typed) < PIN_MIN:
            return Reaction(self.display)
        pin, self._typed = self._typed, ""
        return self._manual_response(pin)

    def _on_pin_biometric(self, button: str) -> Reaction:
        if not self._biometric:
            return Reaction(self.display)
        self._typed = ""
        return self._manual_response(BIOMETRIC)

    def _manual_response(self, secret: str | Biometric) -> Reaction:
        user = self._users[self._selected]
        return self.respond(user.username, secret, self._challenge, self._now)

    def _on_push_later(self, button: str) -> Reaction:
        self._typed = self._challenge = ""
        self._screen = Screen.CHALLENGE
        return Reaction(self.display)

    def _on_push_approve(self, button: str) -> Reaction:
        self._typed = ""
        self._screen = Screen.PUSH_PIN
        return Reaction(self.display)

    def _on_push_biometric(self, button: str) -> Reaction:
        if not self._biometric:
            return Reaction(self.display)
        return self.approve(BIOMETRIC, self._now)

    def _on_push_pin_ok(self, button: str) -> Reaction:
        if len(self._typed) < PIN_MIN:
            return Reaction(self.display)
        pin, self._typed = self._typed, ""
        return self.approve(pin, self._now)

    def _on_deny(self, button: str) -> Reaction:
        return self.deny(self._now)

    def _on_wrong_pin_back(self, button: str) -> Reaction:
        # Back to where the PIN was asked, unless the PIN is now locked.
        if self.pin_locked:
            self._open()
        elif self._push is not None:
            self._screen = Screen.PUSH_PIN
        elif self._challenge:
            self._screen = Screen.PIN
        else:
            self._open()
        self._typed = ""
        return Reaction(self.display)

    # --- helpers ------------------------------------------------------------------------------

    def _clock(self, now: float) -> None:
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise ValueError("now must be a finite number of seconds")
        if now < 0:
            raise ValueError("now must not be negative")
        self._now = max(self._now, float(now))

    def _require(self, event: str) -> None:
        if (self._phase, event) not in PHASE_TRANSITIONS:
            raise ValueError(f"IB Key cannot {event.replace('_', ' ')} now ({self._phase.value})")

    def _no_push(self, before: Reaction) -> Reaction:
        """The answer to approve/deny without a pending push: too late, or misuse."""
        if any(isinstance(event, PushExpired) for event in before.events):
            return before.then(self._show_notice("Login request expired"))
        raise ValueError("no push notification is waiting for an answer")

    def _user(self, username: str) -> User:
        for user in self._users:
            if user.username == username:
                return user
        raise ValueError(f"no user {username!r} on this app")

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

    def _check_pin(self, pin: str | Biometric) -> bool:
        """Check a PIN (counted before comparing) or accept an enabled biometric."""
        if isinstance(pin, Biometric):
            if not self._biometric:
                raise ValueError("biometrics are not enabled on this phone")
            return True
        if not isinstance(pin, str):
            raise TypeError("pin must be text or BIOMETRIC")
        assert self._pin is not None
        self._pin_failures += 1
        if self._pin.matches(pin):
            self._pin_failures = 0
            return True
        return False

    def _unlock(self, pin: str | Biometric) -> Reaction | None:
        """None if `pin` unlocks the app's key; else the refusal to return."""
        if self.pin_locked:
            return self._show_notice("PIN locked: recover IB Key")
        if self._check_pin(pin):
            return None
        return self._wrong_pin()

    def _wrong_pin(self) -> Reaction:
        left = self._pin_retries - self._pin_failures
        if left <= 0:
            self._message = "PIN locked: recover IB Key"
            self._screen = Screen.NOTICE
            return Reaction(self.display, persist=True, events=(PinLocked(),))
        self._message = f"Wrong PIN, {left} tries left"
        self._screen = Screen.WRONG_PIN
        return Reaction(self.display, persist=True, events=(PinRejected(self._pin_failures),))

    def _next_response(self, user: User, challenge: str) -> str:
        assert self._pin_sha1 is not None
        if user.counter + 1 >= COUNTER_LIMIT:
            raise ValueError("the counter is exhausted")
        response = user.calculator.response(
            counter=user.counter, question=challenge, pin_hash=self._pin_sha1
        )
        user.counter += 1
        return response

    def _show_notice(
        self, text: str, *, persist: bool = False, events: tuple[DeviceEvent, ...] = ()
    ) -> Reaction:
        self._message = text
        self._screen = Screen.NOTICE
        return Reaction(self.display, persist=persist, events=events)

    def _render(self) -> str:
        screen = self._screen
        name = _short(self.selected_user) if self.selected_user else ""
        if screen is Screen.CLOSED:
            return ""
        if screen is Screen.CHALLENGE:
            return f"{name} challenge: {self._typed or '_'}"
        if screen is Screen.PIN:
            return f"{name} PIN: {'*' * len(self._typed)}"
        if screen is Screen.PUSH and self._push is not None:
            return f"Login request for {_short(self._push.username)}"
        if screen is Screen.PUSH_PIN:
            return f"PIN to approve: {'*' * len(self._typed)}"
        return self._message


_Handler = Callable[[IbKey, str], Reaction]
_S = Screen
_OPEN: Final = frozenset(Screen) - {_S.CLOSED}
_HOME: Final = frozenset({_S.NOTICE, _S.PUSH, _S.CHALLENGE})  # `_open()`
_REFUSED: Final = frozenset({_S.WRONG_PIN, _S.NOTICE})  # `_unlock()`: a wrong or locked PIN


def _rule(handler: _Handler | None, *targets: Screen) -> Rule[Screen, _Handler]:
    return Rule(frozenset(targets), handler)


def _rule_phase(*targets: Phase) -> Rule[Phase, _Handler]:
    return Rule(frozenset(targets))


_K = IbKey
SCREEN_TRANSITIONS: Final[Mapping[tuple[Screen, str], Rule[Screen, _Handler]]] = {
    (_S.CLOSED, "POWER"): _rule(_K._on_open, *_HOME),
    **{(screen, "POWER"): _rule(_K._on_close, _S.CLOSED) for screen in _OPEN},
    (_S.CHALLENGE, DIGIT): _rule(_K._on_challenge_digit, _S.CHALLENGE),
    (_S.CHALLENGE, "BACK"): _rule(_K._on_back, _S.CHALLENGE),
    (_S.CHALLENGE, "NEXT"): _rule(_K._on_next, _S.CHALLENGE),
    (_S.CHALLENGE, "OK"): _rule(_K._on_challenge_ok, _S.CHALLENGE, _S.PIN),
    (_S.PIN, DIGIT): _rule(_K._on_pin_digit, _S.PIN),
    (_S.PIN, "BACK"): _rule(_K._on_back, _S.PIN),
    (_S.PIN, "OK"): _rule(_K._on_pin_ok, _S.PIN, _S.RESPONSE, *_REFUSED),
    (_S.PIN, "BIOMETRIC"): _rule(_K._on_pin_biometric, _S.PIN, _S.RESPONSE, _S.NOTICE),
    (_S.PUSH, "APPROVE"): _rule(_K._on_push_approve, _S.PUSH_PIN),
    (_S.PUSH, "BIOMETRIC"): _rule(_K._on_push_biometric, _S.PUSH, _S.DONE, _S.NOTICE),
    (_S.PUSH, "DENY"): _rule(_K._on_deny, _S.DONE),
    (_S.PUSH, "NEXT"): _rule(_K._on_push_later, _S.CHALLENGE),
    (_S.PUSH_PIN, DIGIT): _rule(_K._on_pin_digit, _S.PUSH_PIN),
    (_S.PUSH_PIN, "BACK"): _rule(_K._on_back, _S.PUSH_PIN),
    (_S.PUSH_PIN, "OK"): _rule(_K._on_push_pin_ok, _S.PUSH_PIN, _S.DONE, *_REFUSED),
    (_S.PUSH_PIN, "BIOMETRIC"): _rule(_K._on_push_biometric, _S.PUSH_PIN, _S.DONE, _S.NOTICE),
    (_S.PUSH_PIN, "DENY"): _rule(_K._on_deny, _S.DONE),
    # Back to where the PIN was asked, or home when the PIN is now locked.
    **{
        (_S.WRONG_PIN, kind): _rule(_K._on_wrong_pin_back, _S.PIN, _S.PUSH_PIN, *_HOME)
        for kind in ("OK", "BACK")
    },
    **{
        (screen, kind): _rule(_K._on_open, *_HOME)
        for screen in (_S.RESPONSE, _S.DONE, _S.NOTICE)
        for kind in ("OK", "BACK")
    },
    # The app's own clock: a push that expires takes its screens home (no push left).
    **{
        (screen, TIMEOUT): _rule(None, _S.NOTICE, _S.CHALLENGE) for screen in (_S.PUSH, _S.PUSH_PIN)
    },
    # The API calls, from any screen (closed too: a push or a result opens the app).
    **{
        (screen, call): _rule(None, *targets)
        for screen in Screen
        for call, targets in (
            ("activate", {_S.NOTICE}),
            ("add_user", _REFUSED),
            ("respond", {_S.RESPONSE, *_REFUSED}),
            ("push", {_S.PUSH}),
            ("approve", {_S.DONE, *_REFUSED}),
            ("deny", {_S.DONE, _S.NOTICE}),
            ("reinstall", {_S.CLOSED}),
            ("recover", {_S.NOTICE}),
            ("restore", {_S.NOTICE, *_REFUSED}),
        )
    },
}
"""(screen, kind) → the handler and every screen it may lead to (see the module docstring)."""

_P = Phase
PHASE_TRANSITIONS: Final[Mapping[tuple[Phase, str], Rule[Phase, _Handler]]] = {
    # A wrong activation token leaves the app waiting.
    (_P.AWAITING_ACTIVATION, "activate"): _rule_phase(_P.ACTIVE, _P.AWAITING_ACTIVATION),
    **{
        (_P.ACTIVE, call): _rule_phase(_P.ACTIVE)
        for call in ("offer_user", "add_user", "respond", "push", "begin_recovery", "recover")
    },
    (_P.ACTIVE, "reinstall"): _rule_phase(_P.NEEDS_RECOVERY),
    (_P.NEEDS_RECOVERY, "reinstall"): _rule_phase(_P.NEEDS_RECOVERY),
    (_P.NEEDS_RECOVERY, "begin_recovery"): _rule_phase(_P.NEEDS_RECOVERY),
    # A failed recovery leaves it waiting for the next try.
    (_P.NEEDS_RECOVERY, "recover"): _rule_phase(_P.ACTIVE, _P.NEEDS_RECOVERY),
    (_P.NEEDS_RECOVERY, "restore"): _rule_phase(_P.ACTIVE, _P.NEEDS_RECOVERY),
}
"""(phase, API call) → every phase the call may leave the app in; a call not listed is refused.
Buttons never change the phase. A locked PIN is recovered in place (ACTIVE stays ACTIVE)."""
