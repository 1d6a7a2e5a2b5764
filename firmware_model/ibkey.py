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

Modules, one flow each over `ibkey_core` (`IbKeyCore`: the app's memory, indicators, PIN check,
`Screen`, `PHASE_TRANSITIONS`): `ibkey_activation` (activate, add a user, `Enrolment`),
`ibkey_recovery` (reinstall, Android and iOS recovery, KB2748) and `ibkey_login` (manual
response, push). `IbKey` here joins them with the buttons and holds `SCREEN_TRANSITIONS`; every
public name stays importable from this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar, Final

from firmware_model import ibkey_image
from firmware_model.device import DIGITS, Entropy, ImageSpec, Reaction
from firmware_model.events import PushExpired
from firmware_model.fsm import DIGIT, TIMEOUT, Rule, kind_of
from firmware_model.ibkey_activation import Enrolment, IbKeyActivation
from firmware_model.ibkey_core import (
    BIOMETRIC,
    PHASE_TRANSITIONS,
    PIN_MAX,
    PIN_MIN,
    Biometric,
    IbKeyCore,
    Screen,
)
from firmware_model.ibkey_image import (
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
    Phase,
    check_pin_rules,
    check_username,
    pin_sha1,
    token_hash,
)
from firmware_model.ibkey_login import (
    CHALLENGE_DIGITS,
    PUSH_ID_RE,
    IbKeyLogin,
    check_challenge,
    ibkey_response,
)
from firmware_model.ibkey_recovery import IbKeyRecovery
from firmware_model.image import DeviceImage, JsonValue

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
    "IbKeyActivation",
    "IbKeyConfig",
    "IbKeyCore",
    "IbKeyLogin",
    "IbKeyRecovery",
    "Phase",
    "Screen",
    "check_challenge",
    "check_pin_rules",
    "check_username",
    "ibkey_response",
    "pin_sha1",
    "token_hash",
]

DEFAULT_CONFIG: Final[Mapping[str, JsonValue]] = IbKeyConfig().to_mapping()
BUTTONS = DIGITS | {"POWER", "OK", "BACK", "APPROVE", "DENY", "BIOMETRIC", "NEXT"}


class IbKey(IbKeyActivation, IbKeyRecovery, IbKeyLogin):
    """Model `ibkey`: the IBKR Mobile app with IB Key.

    `new_image` options: `username` (the first user), `activation_token` (then the image waits
    for activation; without it the app is made already active with `spec.pin`), `counter`
    (the first user's starting counter, 0), `pin_retries` (5), `recovery_retries` (3),
    `token_retries` (3), `push_seconds` (120), `biometric` (true: the phone has a fingerprint or
    Face ID enrolled).
    """

    model: ClassVar[str] = "ibkey"
    buttons: ClassVar[frozenset[str]] = frozenset(BUTTONS)

    # --- images -------------------------------------------------------------------------------

    @classmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        """A new app. `ValueError` for a bad spec (see the class docstring for the options)."""
        return ibkey_image.new_image(spec, entropy)

    @classmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> IbKey:
        """Load the app, closed. `ImageError` if the image does not describe a valid app."""
        return cls(image, entropy)

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


_Handler = Callable[[IbKey, str], Reaction]
_S = Screen
_OPEN: Final = frozenset(Screen) - {_S.CLOSED}
_HOME: Final = frozenset({_S.NOTICE, _S.PUSH, _S.CHALLENGE})  # `_open()`
_REFUSED: Final = frozenset({_S.WRONG_PIN, _S.NOTICE})  # `_unlock()`: a wrong or locked PIN


def _rule(handler: _Handler | None, *targets: Screen) -> Rule[Screen, _Handler]:
    return Rule(frozenset(targets), handler)


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
