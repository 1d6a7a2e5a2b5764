"""Legacy Digital Security Card (model `dsc`): PIN on the card, then a 6-digit time passcode.

Theory of operation. The card has a keypad (0-9, OK, C) and a "press" button (POWER). Pressing
POWER turns it on with the empty PIN field `[ ]`. The user types the 4-digit PIN: the field shows
the last digit typed and a `-` for each earlier one (`[1]`, `[-2]`, `[--3]`, `[---4]`), so
someone looking over the shoulder sees at most one digit at a time. `C` clears the whole field
(`BACK` is accepted as an alias so the common keymaps work). OK with fewer than 4 digits does
nothing. OK with 4 digits checks the PIN against the salted hash in the image: the failure counter
is raised *first* (and the reaction asks to persist), then the PIN is compared in constant time;
a right PIN sets the counter back to 0. A wrong PIN shows `FAIL n`; after `pin_retries` wrong PINs
in a row the card shows `LOCKED` for good (a legacy card has no unlock code: the broker replaces
it). Power-cycling never resets the counter.

A right PIN shows the passcode: `passcode(key, now)` = TOTP (RFC 6238) with HMAC-SHA1, a 30-second
step from the Unix epoch and 6 digits. It is computed once when OK is pressed and stays on the
display for `show_seconds` (15 s by default); then the card turns itself off. Valid "about 30 s"
is the host's business: it accepts the current step and a window around it.

The whole truth about the states is `TRANSITIONS`: for each (state, kind of key) the handler and
every state it may move to; a pair not listed does nothing (off, every key but POWER does
nothing; SHOW and LOCKED ignore every key but POWER):

    OFF     POWER            PIN     "[ ]"                 (LOCKED "LOCKED" when locked)
    PIN     digit            PIN     "[--3]" (at most 4 digits; a 5th is ignored)
    PIN     C / BACK         PIN     "[ ]"
    PIN     OK               PIN     fewer than 4 digits: nothing happens
                             SHOW    right PIN: "123456"   persist (counter back to 0)
                             FAIL    wrong PIN: "FAIL n"   persist (counter + 1)
                             LOCKED  the last retry: "LOCKED"  persist
    FAIL    digit            PIN     starts a new PIN with that digit
    FAIL    C / BACK / OK    PIN     "[ ]"
    on      POWER            OFF     ""
    on      TIMEOUT          OFF     "" (SHOW after show_seconds, others after auto_off_seconds
                                        without a key press)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from typing import ClassVar, Final

from firmware_model.device import DIGITS, Device, Entropy, ImageSpec, Reaction
from firmware_model.errors import ImageError
from firmware_model.events import PinAccepted, PinLocked, PinRejected, PowerOff
from firmware_model.fsm import DIGIT, TIMEOUT, Rule, kind_of
from firmware_model.hotp import totp
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.image_fields import Whole, check_fields, inconsistent
from firmware_model.models import pin_rule_of
from firmware_model.secret_hash import SaltedHash

PASSCODE_STEP = 30
PASSCODE_DIGITS = 6
PASSCODE_ALGORITHM = "sha1"
PASSCODE_VALID_SECONDS = 30
"""The seed: the passcode "must be used within 30 s" (the host enforces it, from the step start)."""
PIN_LENGTH = pin_rule_of("dsc").max_length
PIN_LABEL = "dsc-pin"

DEFAULT_CONFIG: dict[str, int] = {
    "pin_retries": 3,
    "show_seconds": 15,
    "auto_off_seconds": 30,
}
_LIMITS: dict[str, tuple[int, int]] = {
    "pin_retries": (1, 99),
    "show_seconds": (1, 3600),
    "auto_off_seconds": (1, 3600),
}

_STATE_FIELDS = ("pin_failures", "pin")

EMPTY_FIELD = "[ ]"
LOCKED_TEXT = "LOCKED"


def passcode(key: bytes, now: float) -> str:
    """The passcode a legacy DSC with `key` shows at Unix time `now` (TOTP-SHA1, 30 s, 6 digits)."""
    return totp(key, now, step=PASSCODE_STEP, digits=PASSCODE_DIGITS, algorithm=PASSCODE_ALGORITHM)


def masked_pin_field(typed: str) -> str:
    """The PIN field for the digits typed so far: earlier digits as `-`, the last one visible."""
    if not typed:
        return EMPTY_FIELD
    return "[" + "-" * (len(typed) - 1) + typed[-1] + "]"


class DscState(enum.Enum):
    """The states of the legacy DSC."""

    OFF = "off"
    PIN = "pin"
    FAIL = "fail"
    SHOW = "show"
    LOCKED = "locked"


def _int_setting(values: Mapping[str, JsonValue], name: str) -> int:
    return Whole(*_LIMITS[name]).check(values.get(name, DEFAULT_CONFIG[name]), name)


class LegacyDsc(Device):
    """Model `dsc`: the legacy Digital Security Card.

    `new_image` needs the key and a 4-digit `pin`; options `pin_retries` (3), `show_seconds` (15)
    and `auto_off_seconds` (30). Buttons: POWER, 0-9, OK, C, and BACK as an alias of C.
    """

    model: ClassVar[str] = "dsc"
    buttons: ClassVar[frozenset[str]] = DIGITS | {"POWER", "OK", "C", "BACK"}

    def __init__(
        self,
        image: DeviceImage,
        pin_hash: SaltedHash,
        failures: int,
        settings: dict[str, int],
    ) -> None:
        self._image = image
        self._pin_hash = pin_hash
        self._failures = failures
        self._retries = settings["pin_retries"]
        self._show_seconds = settings["show_seconds"]
        self._auto_off = settings["auto_off_seconds"]
        self._state = DscState.OFF
        self._typed = ""
        self._shown = ""
        self._now = float("-inf")
        self._deadline = float("inf")

    # --- images -------------------------------------------------------------------------------

    @classmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        if spec.model != cls.model:
            raise ValueError(f"spec is for model {spec.model!r}, not {cls.model!r}")
        unknown = set(spec.options) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown dsc option(s): {', '.join(sorted(unknown))}")
        if spec.suite is not None:
            raise ValueError("a legacy DSC has no OCRA suite (its passcode is TOTP)")
        if spec.pin_mode not in (None, "device"):
            raise ValueError("a legacy DSC checks its PIN on the card (pin_mode 'device')")
        pin = spec.pin
        if pin is None or len(pin) != PIN_LENGTH or not set(pin) <= DIGITS:
            raise ValueError(f"a legacy DSC needs a PIN of {PIN_LENGTH} digits")
        if not 1 <= len(spec.key) <= 128:
            raise ValueError("key must be 1 to 128 bytes")
        config: dict[str, JsonValue] = {
            name: _int_setting(spec.options, name) for name in DEFAULT_CONFIG
        }
        pin_hash = SaltedHash.make(PIN_LABEL, pin, entropy)
        state: dict[str, JsonValue] = {"pin_failures": 0, "pin": pin_hash.to_json()}
        return DeviceImage(cls.model, spec.serial, spec.key, None, config, state)

    @classmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> LegacyDsc:
        if image.model != cls.model:
            raise ImageError(f"image is of model {image.model!r}, not {cls.model!r}")
        if image.suite is not None:
            raise ImageError("a dsc image has no suite")
        try:
            check_fields(image.config, "config", allowed=DEFAULT_CONFIG, required=DEFAULT_CONFIG)
            check_fields(image.state, "state", allowed=_STATE_FIELDS, required=_STATE_FIELDS)
            settings = {name: _int_setting(image.config, name) for name in DEFAULT_CONFIG}
            failures = Whole(0, settings["pin_retries"]).check(
                image.state["pin_failures"], "pin_failures"
            )
        except ValueError as error:
            raise inconsistent(cls.model, error) from None
        pin_hash = SaltedHash.from_json(PIN_LABEL, image.state["pin"])
        return cls(image, pin_hash, failures, settings)

    def to_image(self) -> DeviceImage:
        state = dict(self._image.state)
        state["pin_failures"] = self._failures
        return self._image.with_state(state)

    # --- events -------------------------------------------------------------------------------

    def press(self, button: str, now: float) -> Reaction:
        self.check_button(button)
        reaction = self.advance(now)  # a timeout that fell due before this press comes first
        rule = TRANSITIONS.get((self._state, kind_of(button)))
        if rule is None or rule.handler is None:
            return reaction
        return reaction.then(rule.handler(self, button))

    # --- handlers: each takes the button and returns what the card did ----------------------

    def _on(self, button: str) -> Reaction:
        self._enter(DscState.LOCKED if self.locked else DscState.PIN)
        return Reaction(self.display)

    def _off(self, button: str) -> Reaction:
        self._enter(DscState.OFF)
        return Reaction(self.display)

    def _digit(self, button: str) -> Reaction:
        self._deadline = self._now + self._auto_off  # a key press keeps the card on
        if len(self._typed) < PIN_LENGTH:  # a fifth digit is ignored
            self._typed += button
        return Reaction(self.display)

    def _retry_digit(self, button: str) -> Reaction:
        """A digit after `FAIL n` starts the next PIN with it."""
        self._enter(DscState.PIN)
        return self._digit(button)

    def _clear(self, button: str) -> Reaction:
        self._enter(DscState.PIN)
        return Reaction(self.display)

    def _pin_ok(self, button: str) -> Reaction:
        if len(self._typed) < PIN_LENGTH:
            return Reaction(self.display)
        typed, self._typed = self._typed, ""
        # Count the attempt before comparing, so a power cut during the check cannot give a
        # free guess (the caller saves this state before it shows the result).
        self._failures += 1
        if self._pin_hash.matches(typed):
            self._failures = 0
            self._shown = passcode(self._image.key, self._now)
            self._enter(DscState.SHOW)
            return Reaction(self.display, persist=True, events=(PinAccepted(),))
        if self._failures >= self._retries:
            self._enter(DscState.LOCKED)
            return Reaction(self.display, persist=True, events=(PinLocked(),))
        self._enter(DscState.FAIL)
        return Reaction(self.display, persist=True, events=(PinRejected(self._failures),))

    def _enter(self, state: DscState) -> None:
        """Move to `state` and set when the card will next turn itself off."""
        self._state = state
        if state is DscState.OFF:
            self._typed = self._shown = ""
            self._deadline = float("inf")
        elif state is DscState.SHOW:
            self._deadline = self._now + self._show_seconds
        else:
            self._typed = ""
            self._deadline = self._now + self._auto_off

    def advance(self, now: float) -> Reaction:
        if not math.isfinite(now) or now < 0:
            raise ValueError("now must be a finite, non-negative number of Unix seconds")
        self._now = max(self._now, now)
        if self._state is not DscState.OFF and self._now >= self._deadline:
            self._enter(DscState.OFF)
            return Reaction(self.display, events=(PowerOff(),))
        return Reaction(self.display)

    # --- indicators ---------------------------------------------------------------------------

    @property
    def state(self) -> DscState:
        """The card's state now."""
        return self._state

    @property
    def locked(self) -> bool:
        """Whether too many wrong PINs have locked the card for good."""
        return self._failures >= self._retries

    @property
    def pin_failures(self) -> int:
        """Wrong PINs in a row so far (durable)."""
        return self._failures

    @property
    def display(self) -> str:
        if self._state is DscState.PIN:
            return masked_pin_field(self._typed)
        if self._state is DscState.FAIL:
            return f"FAIL {self._failures}"
        if self._state is DscState.SHOW:
            return self._shown
        if self._state is DscState.LOCKED:
            return LOCKED_TEXT
        return ""

    @property
    def powered(self) -> bool:
        return self._state is not DscState.OFF

    def status(self) -> dict[str, str | int | bool]:
        status = Device.status(self)
        status.update(
            state=self._state.value,
            pin_failures=self._failures,
            pin_retries=self._retries,
            locked=self.locked,
        )
        return status


_Handler = Callable[[LegacyDsc, str], Reaction]
_S = DscState
_ON: Final = frozenset(DscState) - {_S.OFF}


def _rule(handler: _Handler | None, *targets: DscState) -> Rule[DscState, _Handler]:
    return Rule(frozenset(targets), handler)


TRANSITIONS: Final[Mapping[tuple[DscState, str], Rule[DscState, _Handler]]] = {
    (_S.OFF, "POWER"): _rule(LegacyDsc._on, _S.PIN, _S.LOCKED),
    (_S.PIN, DIGIT): _rule(LegacyDsc._digit, _S.PIN),
    (_S.PIN, "C"): _rule(LegacyDsc._clear, _S.PIN),
    (_S.PIN, "BACK"): _rule(LegacyDsc._clear, _S.PIN),
    (_S.PIN, "OK"): _rule(LegacyDsc._pin_ok, _S.PIN, _S.SHOW, _S.FAIL, _S.LOCKED),
    (_S.FAIL, DIGIT): _rule(LegacyDsc._retry_digit, _S.PIN),
    (_S.FAIL, "C"): _rule(LegacyDsc._clear, _S.PIN),
    (_S.FAIL, "BACK"): _rule(LegacyDsc._clear, _S.PIN),
    (_S.FAIL, "OK"): _rule(LegacyDsc._clear, _S.PIN),
    **{(state, "POWER"): _rule(LegacyDsc._off, _S.OFF) for state in _ON},
    **{(state, TIMEOUT): _rule(None, _S.OFF) for state in _ON},
}
"""(state, kind) → the handler and every state it may lead to; see the module docstring."""
