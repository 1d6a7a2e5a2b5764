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

    state   event            next    display
    OFF     POWER            PIN     "[ ]"                 (or LOCKED when locked)
    PIN     digit            PIN     "[--3]" (at most 4 digits; a 5th is ignored)
    PIN     C / BACK         PIN     "[ ]"
    PIN     OK, right PIN    SHOW    "123456"              persist (counter back to 0)
    PIN     OK, wrong PIN    FAIL    "FAIL n"              persist (counter + 1)
    PIN     OK, last retry   LOCKED  "LOCKED"              persist
    FAIL    digit            PIN     starts a new PIN with that digit
    FAIL    C / BACK / OK    PIN     "[ ]"
    SHOW    (any key)        SHOW    unchanged (the passcode stays until it times out)
    on      POWER            OFF     ""
    on      time out         OFF     "" (SHOW after show_seconds, others after auto_off_seconds
                                        without a key press)
    OFF     anything else    OFF     "" (keys do nothing while off)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import ClassVar

from firmware_model.device import DIGITS, Device, Entropy, ImageSpec, Reaction
from firmware_model.errors import ImageError
from firmware_model.events import PinAccepted, PinLocked, PinRejected, PowerOff
from firmware_model.hotp import totp
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.models import pin_rule_of
from firmware_model.secret_hash import SaltedHash

PASSCODE_STEP = 30
PASSCODE_DIGITS = 6
PASSCODE_ALGORITHM = "sha1"
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


# (state, event) → next state. Events: POWER, DIGIT, CLEAR, OK_SHORT, OK_RIGHT, OK_WRONG,
# OK_LOCK, TIMEOUT. A pair that is missing means "nothing happens".
DSC_TRANSITIONS: dict[tuple[DscState, str], DscState] = {
    (DscState.OFF, "POWER"): DscState.PIN,
    (DscState.OFF, "POWER_LOCKED"): DscState.LOCKED,
    (DscState.PIN, "DIGIT"): DscState.PIN,
    (DscState.PIN, "CLEAR"): DscState.PIN,
    (DscState.PIN, "OK_RIGHT"): DscState.SHOW,
    (DscState.PIN, "OK_WRONG"): DscState.FAIL,
    (DscState.PIN, "OK_LOCK"): DscState.LOCKED,
    (DscState.FAIL, "DIGIT"): DscState.PIN,
    (DscState.FAIL, "CLEAR"): DscState.PIN,
    (DscState.FAIL, "OK_SHORT"): DscState.PIN,
    **{(state, "POWER"): DscState.OFF for state in DscState if state is not DscState.OFF},
    **{(state, "TIMEOUT"): DscState.OFF for state in DscState if state is not DscState.OFF},
}


def _int_setting(values: Mapping[str, JsonValue], name: str, error: type[ValueError]) -> int:
    value = values.get(name, DEFAULT_CONFIG[name])
    low, high = _LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise error(f"{name} must be a whole number from {low} to {high}")
    return value


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
            name: _int_setting(spec.options, name, ValueError) for name in DEFAULT_CONFIG
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
        if set(image.config) != set(DEFAULT_CONFIG):
            raise ImageError("dsc image config must hold exactly " + ", ".join(DEFAULT_CONFIG))
        if set(image.state) != {"pin_failures", "pin"}:
            raise ImageError("dsc image state must hold exactly pin_failures and pin")
        settings = {name: _int_setting(image.config, name, ImageError) for name in DEFAULT_CONFIG}
        failures = image.state["pin_failures"]
        if isinstance(failures, bool) or not isinstance(failures, int):
            raise ImageError("dsc pin_failures must be a whole number")
        if not 0 <= failures <= settings["pin_retries"]:
            raise ImageError("dsc pin_failures is outside 0..pin_retries")
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
        if button in DIGITS:
            event = "DIGIT"
        elif button in ("C", "BACK"):
            event = "CLEAR"
        elif button == "POWER":
            event = "POWER_LOCKED" if self._state is DscState.OFF and self.locked else "POWER"
        elif self._state is DscState.PIN and len(self._typed) == PIN_LENGTH:
            return reaction.then(self._check_pin())
        else:
            event = "OK_SHORT"
        next_state = DSC_TRANSITIONS.get((self._state, event))
        if next_state is None:
            return reaction
        if event == "DIGIT" and self._state is DscState.PIN and len(self._typed) == PIN_LENGTH:
            return reaction  # a fifth digit is ignored
        previous = self._state
        self._enter(next_state)
        if event == "DIGIT" and next_state is DscState.PIN:
            self._typed = (self._typed if previous is DscState.PIN else "") + button
        elif event == "CLEAR":
            self._typed = ""
        return reaction.then(Reaction(self.display))

    def _check_pin(self) -> Reaction:
        typed, self._typed = self._typed, ""
        # Count the attempt before comparing, so a power cut during the check cannot give a
        # free guess (the caller saves this state before it shows the result).
        self._failures += 1
        if self._pin_hash.matches(typed):
            self._failures = 0
            self._shown = passcode(self._image.key, self._now)
            self._enter(DSC_TRANSITIONS[(DscState.PIN, "OK_RIGHT")])
            return Reaction(self.display, persist=True, events=(PinAccepted(),))
        if self._failures >= self._retries:
            self._enter(DSC_TRANSITIONS[(DscState.PIN, "OK_LOCK")])
            return Reaction(self.display, persist=True, events=(PinLocked(),))
        self._enter(DSC_TRANSITIONS[(DscState.PIN, "OK_WRONG")])
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
            if state is not DscState.PIN:
                self._typed = ""
            self._deadline = self._now + self._auto_off

    def advance(self, now: float) -> Reaction:
        if not math.isfinite(now) or now < 0:
            raise ValueError("now must be a finite, non-negative number of Unix seconds")
        self._now = max(self._now, now)
        if self._state is not DscState.OFF and self._now >= self._deadline:
            self._enter(DSC_TRANSITIONS[(self._state, "TIMEOUT")])
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
