"""The Digital Security Card+ (DSC+) and the legacy Gold/Platinum cards: one keypad state machine.

Theory of operation
-------------------
The card is a sans-I/O state machine (h11 style). The caller feeds `press(button, now)` and
`advance(now)`; `now` is the device clock in seconds and never goes backwards (a smaller value is
read as the last one seen). Each call returns a `Reaction`: the display text (at most 8
characters, "" when off), `persist` (durable state changed: save `to_image()` before showing the
display) and a few event names worth announcing.

States (`State`) and what the keys do in each (the whole truth is `TRANSITIONS`: every state a
handler may move to; a key with no rule is ignored — it still costs a battery press):

    OFF          POWER → power on (→ `BATT LOW` notice if the battery is low) → the home screen:
                 PIN (soft mode, or device mode with a PIN), LOCKED (locked card), NEW_PIN (device
                 mode with no PIN yet). Other keys do nothing at all.
    PIN          `PIN>` + one `*` per digit (4 digits; more are ignored). BACK erases one digit.
                 OK with fewer than 4 digits does nothing. OK with 4: soft mode keeps the PIN as a
                 response input → CHALLENGE; device mode counts a failure, then compares the
                 salted hash: right → counter reset, CHALLENGE; wrong → `FAIL n` notice → PIN,
                 or after `pin_retries` failures → LOCKED with a fresh lock number.
    CHALLENGE    `CHALLNG>`, then the digits as typed (the suite's QNxx length: 6, or 8 for
                 Platinum). OK with all digits → RESPONSE. Device mode: OK before any digit
                 starts the PIN change (→ NEW_PIN). Fewer digits: OK does nothing.
    RESPONSE     the OCRA response; stays `response_seconds`, then the card turns off. Keys other
                 than POWER are ignored.
    LOCKED       `LOCK PIN`. OK → LOCK_NUMBER, unless wrong unlock codes blocked the entry: then a
                 `WAIT nnM` notice (minutes left).
    LOCK_NUMBER  `L` + the 7-digit lock number. OK → UNLOCK; BACK → LOCKED.
    UNLOCK       `UNLOCK>`, then the 8 digits typed. OK with 8: counts an unlock failure, then
                 compares with `unlock_code(key, lock number)`: right → NEW_PIN; wrong →
                 `FAIL n` → LOCKED; after `unlock_retries` wrong codes the entry is blocked for
                 `unlock_block_seconds`.
    NEW_PIN      `NEW PIN`, then `NEW>` + `*`s. OK with 4 → CONFIRM_PIN. BACK on no digits
                 cancels a PIN change (→ CHALLENGE).
    CONFIRM_PIN  `PIN CONF`, then `CNF>` + `*`s. OK with 4: same PIN → stored (and, after an
                 unlock, the lock cleared and every counter reset) → `PIN SET` notice →
                 CHALLENGE; different → NEW_PIN. BACK on no digits → NEW_PIN.
    NOTICE       a short message (`BATT LOW`, `FAIL n`, `WAIT nnM`, `PIN SET`) for
                 `notice_seconds`, then the next screen. OK/BACK dismiss it; a digit dismisses it
                 and is typed into the next screen.
    DEAD         the battery is spent: nothing responds, the display stays empty.

In every powered state POWER turns the card off, and `auto_off_seconds` without a press turns it
off too. Every press the card acts on uses one press of the battery budget (`battery_presses`);
that count is durable, so every such press reports `persist=True` (see docs/devices-dscplus.md
for why). Power-cycling never resets a counter: they all live in the image state.

Retry counters are counted before the comparison (decrement-before-compare): within the one
`press` call the failure is added, then the PIN or unlock code is compared, and only a right
answer takes it back. Since the caller saves before it shows the display, no result is ever
visible before the failure it may cost is on disk.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
from collections.abc import Callable, Mapping
from typing import ClassVar, Final

from firmware_model import dscplus_image
from firmware_model.device import CARD_BUTTONS, DIGITS, Device, Entropy, ImageSpec, Reaction
from firmware_model.dscplus_image import (
    LOCK_NUMBER_DIGITS,
    PIN_LABEL,
    PIN_LENGTH,
    PIN_RULE,
    DscPlusConfig,
    DscPlusState,
)
from firmware_model.errors import UnknownButton
from firmware_model.events import (
    BatteryDead,
    BatteryLow,
    DeviceEvent,
    PinAccepted,
    PinLocked,
    PinRejected,
    PinSet,
    PowerOff,
    PowerOn,
    ResponseShown,
    UnlockBlocked,
    Unlocked,
    UnlockFailed,
)
from firmware_model.fsm import DIGIT, TIMEOUT, Rule, kind_of
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.models import random_digits
from firmware_model.ocra import OcraCalculator, OcraSuite
from firmware_model.secret_hash import SaltedHash

__all__ = [
    "DEVICE_SUITE",
    "GOLD_SUITE",
    "LOCK_NUMBER_DIGITS",
    "PIN_LENGTH",
    "PIN_RULE",
    "PLATINUM_SUITE",
    "SOFT_SUITE",
    "TRANSITIONS",
    "UNLOCK_SUITE",
    "DscPlus",
    "DscPlusConfig",
    "Gold",
    "Handler",
    "Platinum",
    "State",
    "build_table",
    "unlock_code",
]

SOFT_SUITE: Final = "OCRA-1:HOTP-SHA1-8:QN06-PSHA1"
"""DSC+ soft-PIN mode: the PIN typed is an input to the response; the host rejects a wrong one."""
DEVICE_SUITE: Final = "OCRA-1:HOTP-SHA1-8:QN06"
"""DSC+ device-PIN mode: the card checks the PIN itself, so the PIN is not an input."""
GOLD_SUITE: Final = "OCRA-1:HOTP-SHA1-8:QN06"
PLATINUM_SUITE: Final = "OCRA-1:HOTP-SHA256-8:QN08"
UNLOCK_SUITE: Final = "OCRA-1:HOTP-SHA256-8:QA08"
"""Unlock codes. Its question is alphanumeric (`L` + lock number) while every card suite must be
numeric (QN), so an unlock code and a login response never share an HMAC input."""

_UNLOCK_DIGITS: Final = 8  # the unlock suite's truncation


def unlock_code(key: bytes, lock_number: str) -> str:
    """The 8-digit code that unlocks a PIN-locked card showing `lock_number` (7 digits).

    Pure: the host bridge computes it from the card key it stores. It is OCRA with the distinct
    `UNLOCK_SUITE` over the question `"L" + lock_number` (exactly what the card displays).
    """
    if (
        not isinstance(lock_number, str)
        or len(lock_number) != LOCK_NUMBER_DIGITS
        or not set(lock_number) <= DIGITS
    ):
        raise ValueError(f"a lock number is {LOCK_NUMBER_DIGITS} digits")
    return OcraCalculator(UNLOCK_SUITE, key).response(question="L" + lock_number)


class State(enum.Enum):
    """Where the card is in its key sequence (see the module docstring)."""

    OFF = "off"
    DEAD = "dead"
    NOTICE = "notice"
    PIN = "pin"
    CHALLENGE = "challenge"
    RESPONSE = "response"
    LOCKED = "locked"
    LOCK_NUMBER = "lock-number"
    UNLOCK = "unlock"
    NEW_PIN = "new-pin"
    CONFIRM_PIN = "confirm-pin"

    # Identity hash (members are singletons): Enum's own __hash__ is a Python-level call, and
    # the transition table is looked up by state on every keypress.
    __hash__ = object.__hash__


_OFF: Final = State.OFF
_DEAD: Final = State.DEAD
_NOTICE: Final = State.NOTICE
_RESPONSE: Final = State.RESPONSE


class _NewPinReason(enum.Enum):
    FIRST = "first"  # device mode, no PIN stored yet
    CHANGE = "change"  # PIN change after a right PIN
    UNLOCK = "unlock"  # after a right unlock code


# Events (constant tuples: no allocation per press).
_Events = tuple[DeviceEvent, ...]
_NO_EVENTS: Final[_Events] = ()
_EV_POWER_ON: Final = (PowerOn(),)
_EV_POWER_ON_LOW: Final = (PowerOn(), BatteryLow())
_EV_POWER_OFF: Final = (PowerOff(),)
_EV_RESPONSE: Final = (ResponseShown(),)
_EV_PIN_OK: Final = (PinAccepted(),)
_EV_UNLOCK_FAIL: Final = (UnlockFailed(),)
_EV_UNLOCK_BLOCKED: Final = (UnlockFailed(), UnlockBlocked())
_EV_PIN_SET: Final = (PinSet(),)
_EV_UNLOCK: Final = (Unlocked(), PinSet())
_EV_BATTERY_DEAD: Final = (BatteryDead(),)

_PROMPTS: Final = {
    State.PIN: "PIN>",
    State.CHALLENGE: "CHALLNG>",
    State.LOCKED: "LOCK PIN",
    State.UNLOCK: "UNLOCK>",
    State.NEW_PIN: "NEW PIN",
    State.CONFIRM_PIN: "PIN CONF",
}
# Masked entry screens, precomputed: index = digits typed so far.
_MASKED: Final = {
    State.PIN: tuple("PIN>" + "*" * n for n in range(PIN_LENGTH + 1)),
    State.NEW_PIN: ("NEW PIN", *("NEW>" + "*" * n for n in range(1, PIN_LENGTH + 1))),
    State.CONFIRM_PIN: ("PIN CONF", *("CNF>" + "*" * n for n in range(1, PIN_LENGTH + 1))),
}


# --- the state machine ------------------------------------------------------------------------

_Handler = Callable[["DscPlus", str, float], _Events]
Handler = _Handler
"""What a table row runs for a key: (card, button, now) → the events (for card variants)."""


class DscPlus(Device):
    """The DSC+ challenge/response card (see the module docstring for its screens)."""

    model: ClassVar[str] = "dscplus"
    buttons: ClassVar[frozenset[str]] = CARD_BUTTONS
    pin_modes: ClassVar[tuple[str, ...]] = ("soft", "device")
    """Allowed PIN modes; the first is the default."""
    default_suites: ClassVar[Mapping[str, str]] = {"soft": SOFT_SUITE, "device": DEVICE_SUITE}
    # What a generation of the card shows and does (firmware_model.dscplus_classic overrides them):
    # the prompts, the masked entry screens, and the state → button → handler table.
    prompts: ClassVar[Mapping[State, str]] = _PROMPTS
    masked: ClassVar[Mapping[State, tuple[str, ...]]] = _MASKED
    table: ClassVar[Mapping[State, Mapping[str, _Handler]]]  # set below, once the table is built

    # -- making and loading ---------------------------------------------------------------------

    @classmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        """A brand-new card. `ValueError` for a bad spec (wrong model, PIN, suite or option)."""
        return dscplus_image.new_image(cls, spec, entropy)

    @classmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> DscPlus:
        """Load a card, powered off. `ImageError` if the image does not describe a valid card."""
        config, suite = dscplus_image.read_config(cls, image)
        return cls(image, config, suite, entropy)

    def __init__(
        self, image: DeviceImage, config: DscPlusConfig, suite: OcraSuite, entropy: Entropy
    ) -> None:
        """Use `from_image`; this trusts its arguments (config and suite already checked)."""
        self._image = image
        self._config = config
        self._device_pin = config.pin_mode == "device"
        self._key = image.key
        self._calculator = OcraCalculator(suite, image.key)  # key schedule once per card
        self._challenge_digits = suite.question_length
        self._entropy = entropy
        self._auto_off = float(config.auto_off_seconds)
        self._capacity = config.battery_presses
        self._load_state(image.state)
        # Volatile state (lost at power-off; never in the image).
        self._state = State.DEAD if self._battery_spent() else State.OFF
        self._display = ""
        self._buffer = ""
        # Soft mode: the PIN typed this session, kept only as the suite's PIN hash (the response
        # input), so the plain PIN is gone as soon as OK is pressed and OCRA takes its fast path.
        self._pin_input = b""
        self._soft_pin_hash = suite.pin_hash
        self._new_pin = ""
        self._reason = _NewPinReason.FIRST
        self._notice_next = State.OFF
        self._notice_until = math.inf
        self._off_at = math.inf  # auto power-off (or end of the response hold)
        self._now = 0.0

    def _load_state(self, state: Mapping[str, JsonValue]) -> None:
        loaded = dscplus_image.read_state(self.model, self._config, state)
        self._presses_used = loaded.presses_used
        self._failures, self._unlock_failures = loaded.failures, loaded.unlock_failures
        self._locked, self._lock_number = loaded.locked, loaded.lock_number
        self._blocked_until = loaded.unlock_blocked_until
        self._pin_hash = loaded.pin

    def to_image(self) -> DeviceImage:
        """Everything the card remembers: battery use and, in device mode, the PIN state."""
        state = DscPlusState(
            self._presses_used,
            self._failures,
            self._locked,
            self._lock_number,
            self._unlock_failures,
            self._blocked_until,
            self._pin_hash,
        )
        return self._image.with_state(dscplus_image.write_state(self._config, state))

    # -- what callers read --------------------------------------------------------------------

    @property
    def display(self) -> str:
        """The display text now ("" when off or dead)."""
        return self._display

    @property
    def powered(self) -> bool:
        """Whether the card is on."""
        return self._state is not State.OFF and self._state is not State.DEAD

    @property
    def state(self) -> State:
        """The state-machine state (for views and tests; not durable)."""
        return self._state

    @property
    def pin_mode(self) -> str:
        """'soft' or 'device'."""
        return self._config.pin_mode

    @property
    def config(self) -> DscPlusConfig:
        """The card's fixed settings (timeouts, retries, battery)."""
        return self._config

    def status(self) -> dict[str, str | int | bool]:
        """Indicators safe to show anywhere: power, screen, battery, lock (never a secret)."""
        left = max(0, self._config.battery_presses - self._presses_used)
        battery = "dead" if left == 0 else "low" if self._battery_low() else "ok"
        info: dict[str, str | int | bool] = {
            **super().status(),
            "state": self._state.value,
            "pin_mode": self._config.pin_mode,
            "battery": battery,
            "battery_presses_left": left,
            "locked": self._locked,
        }
        if self._device_pin:
            info["pin_set"] = self._pin_hash is not None
            info["pin_failures"] = self._failures
            info["unlock_failures"] = self._unlock_failures
            info["unlock_blocked"] = (
                self._blocked_until is not None and self._now < self._blocked_until
            )
        return info

    # -- events ------------------------------------------------------------------------------

    def press(self, button: str, now: float) -> Reaction:
        """Press and release `button` at device time `now`. `UnknownButton` for a foreign key."""
        # The hot path of every keypress: plain attribute reads, one row lookup, and a shared
        # Reaction for the fixed screens.
        if button not in self.buttons:
            raise UnknownButton(f"{self.model} has no button {button!r}")
        events = _NO_EVENTS
        if now > self._now:
            self._now = now
            if now >= self._off_at or now >= self._notice_until:
                events = self._expire(now)
        else:
            now = self._now
        state = self._state
        if state is _OFF:
            if button != "POWER":
                return Reaction(self._display, False, events)
        elif state is _DEAD:
            return Reaction(self._display, False, events)
        if self._presses_used >= self._capacity:
            return Reaction("", False, events + self._die())
        self._presses_used += 1  # durable: this press is reported with persist=True
        if state is not _RESPONSE:
            self._off_at = now + self._auto_off
        more = self.table[state][button](self, button, now)
        if events:
            return Reaction(self._display, True, events + more)
        if not more:
            shared = _FIXED_REACTIONS.get(self._display)
            if shared is not None:
                return shared
        return Reaction(self._display, True, more)

    def advance(self, now: float) -> Reaction:
        """Let time pass up to `now`: notices end, the response times out, the card turns off."""
        events = _NO_EVENTS
        if now > self._now:
            self._now = now
            if now >= self._off_at or now >= self._notice_until:
                events = self._expire(now)
        return Reaction(self._display, False, events)

    def _expire(self, now: float) -> _Events:
        """Run the timeouts that are due at `now` (nothing durable changes here)."""
        if self._notice_until <= now:
            self._enter(self._notice_next)
        if self._off_at <= now:
            self._power_off()
            return _EV_POWER_OFF
        return _NO_EVENTS

    # -- helpers -----------------------------------------------------------------------------

    def _battery_spent(self) -> bool:
        return self._presses_used >= self._config.battery_presses

    def _battery_low(self) -> bool:
        left = self._config.battery_presses - self._presses_used
        return left < self._config.battery_low_presses

    def _die(self) -> _Events:
        self._power_off()
        self._state = State.DEAD
        return _EV_BATTERY_DEAD

    def _power_off(self) -> None:
        self._state = State.OFF
        self._display = self._buffer = self._new_pin = ""
        self._pin_input = b""
        self._off_at = self._notice_until = math.inf

    def _enter(self, state: State) -> None:
        """Go to an entry screen with nothing typed yet."""
        self._state = state
        self._buffer = ""
        self._notice_until = math.inf  # only a NOTICE has an end time of its own
        if state is State.LOCK_NUMBER:
            self._display = "L" + (self._lock_number or "")
        else:
            self._display = self.prompts[state]

    def _notice(self, text: str, then: State, now: float) -> None:
        self._state = State.NOTICE
        self._display = text
        self._notice_next = then
        self._notice_until = now + self._config.notice_seconds

    def _home(self) -> State:
        """The first screen after power-on."""
        if not self._device_pin:
            return State.PIN
        if self._locked:
            return State.LOCKED
        if self._pin_hash is None:
            self._reason = _NewPinReason.FIRST
            return State.NEW_PIN
        return State.PIN

    # -- handlers: each takes (button, now) and returns the events --------------------------

    def _ignore(self, button: str, now: float) -> _Events:
        return _NO_EVENTS

    def _on(self, button: str, now: float) -> _Events:
        self._pin_input = b""
        home = self._home()
        if self._battery_low():
            self._notice("BATT LOW", home, now)
            return _EV_POWER_ON_LOW
        self._enter(home)
        return _EV_POWER_ON

    def _off(self, button: str, now: float) -> _Events:
        self._power_off()
        return _EV_POWER_OFF

    def _masked_digit(self, button: str, now: float) -> _Events:
        typed = len(self._buffer)
        if typed < PIN_LENGTH:
            self._buffer += button
            self._display = self.masked[self._state][typed + 1]
        return _NO_EVENTS

    def _masked_back(self, button: str, now: float) -> _Events:
        if self._buffer:
            self._buffer = self._buffer[:-1]
            self._display = self.masked[self._state][len(self._buffer)]
        elif self._state is State.NEW_PIN and self._reason is _NewPinReason.CHANGE:
            self._enter(State.CHALLENGE)  # cancel the PIN change
        elif self._state is State.CONFIRM_PIN:
            self._enter(State.NEW_PIN)
        return _NO_EVENTS

    def _open_digit(self, button: str, now: float) -> _Events:
        """A digit on a screen that shows what is typed (challenge, unlock code)."""
        limit = self._challenge_digits if self._state is State.CHALLENGE else _UNLOCK_DIGITS
        if len(self._buffer) < limit:
            self._buffer = self._display = self._buffer + button
        return _NO_EVENTS

    def _open_back(self, button: str, now: float) -> _Events:
        if self._buffer:
            self._buffer = self._buffer[:-1]
            self._display = self._buffer or self.prompts[self._state]
        return _NO_EVENTS

    def _pin_ok(self, button: str, now: float) -> _Events:
        if len(self._buffer) < PIN_LENGTH:
            return _NO_EVENTS  # too few digits: nothing happens
        if not self._device_pin:
            # Soft PIN: the card cannot tell a wrong one; it only feeds the response.
            assert self._soft_pin_hash is not None
            self._pin_input = hashlib.new(self._soft_pin_hash, self._buffer.encode()).digest()
            self._enter(State.CHALLENGE)
            return _NO_EVENTS
        return self._check_pin(now)

    def _check_pin(self, now: float) -> _Events:
        assert self._pin_hash is not None
        self._failures += 1  # counted before comparing (decrement-before-compare)
        if self._pin_hash.matches(self._buffer):
            self._failures = 0
            self._enter(State.CHALLENGE)
            return _EV_PIN_OK
        if self._failures >= self._config.pin_retries:
            self._locked = True
            self._lock_number = random_digits(LOCK_NUMBER_DIGITS, self._entropy)
            self._enter(State.LOCKED)
            return (PinRejected(self._failures), PinLocked())
        self._notice(f"FAIL {self._failures}", State.PIN, now)
        return (PinRejected(self._failures),)

    def _challenge_ok(self, button: str, now: float) -> _Events:
        typed = len(self._buffer)
        if typed == self._challenge_digits:
            if self._device_pin:
                code = self._calculator.response(question=self._buffer)
            else:
                code = self._calculator.response(question=self._buffer, pin_hash=self._pin_input)
            self._state = State.RESPONSE
            self._buffer = ""
            self._off_at = now + self._config.response_seconds
            self._show_response(code, now)
            return _EV_RESPONSE
        if typed == 0 and self._device_pin:
            self._reason = _NewPinReason.CHANGE
            self._enter(State.NEW_PIN)
        return _NO_EVENTS

    def _show_response(self, code: str, now: float) -> None:
        """Put the response on the display (all of it at once, on this generation)."""
        self._display = code

    def _locked_ok(self, button: str, now: float) -> _Events:
        if self._blocked_until is not None:
            if now < self._blocked_until:
                minutes = min(999, math.ceil((self._blocked_until - now) / 60))
                self._notice(f"WAIT{minutes:3d}M", State.LOCKED, now)
                return _NO_EVENTS
            self._blocked_until = None  # the block is over
        self._enter(State.LOCK_NUMBER)
        return _NO_EVENTS

    def _lock_number_ok(self, button: str, now: float) -> _Events:
        self._enter(State.UNLOCK)
        return _NO_EVENTS

    def _lock_number_back(self, button: str, now: float) -> _Events:
        self._enter(State.LOCKED)
        return _NO_EVENTS

    def _unlock_ok(self, button: str, now: float) -> _Events:
        if len(self._buffer) < _UNLOCK_DIGITS:
            return _NO_EVENTS
        assert self._lock_number is not None
        self._unlock_failures += 1  # counted before comparing
        expected = unlock_code(self._key, self._lock_number)
        if hmac.compare_digest(self._buffer.encode(), expected.encode()):
            self._unlock_failures = 0
            self._reason = _NewPinReason.UNLOCK
            self._enter(State.NEW_PIN)  # the lock stays until the new PIN is confirmed
            return _NO_EVENTS
        failures = self._unlock_failures
        events: _Events = _EV_UNLOCK_FAIL
        if failures >= self._config.unlock_retries:
            self._unlock_failures = 0  # a fresh set of tries once the block is over
            self._blocked_until = now + self._config.unlock_block_seconds
            events = _EV_UNLOCK_BLOCKED
        self._notice(f"FAIL {failures}", State.LOCKED, now)
        return events

    def _new_pin_ok(self, button: str, now: float) -> _Events:
        if len(self._buffer) < PIN_LENGTH:
            return _NO_EVENTS
        self._new_pin = self._buffer
        self._enter(State.CONFIRM_PIN)
        return _NO_EVENTS

    def _confirm_pin_ok(self, button: str, now: float) -> _Events:
        if len(self._buffer) < PIN_LENGTH:
            return _NO_EVENTS
        if not hmac.compare_digest(self._buffer.encode(), self._new_pin.encode()):
            self._new_pin = ""
            self._enter(State.NEW_PIN)  # mismatch: choose again
            return _NO_EVENTS
        self._pin_hash = SaltedHash.make(PIN_LABEL, self._new_pin, self._entropy)
        self._new_pin = ""
        self._failures = 0
        events: _Events = _EV_PIN_SET
        if self._reason is _NewPinReason.UNLOCK:
            self._locked, self._lock_number = False, None
            self._unlock_failures, self._blocked_until = 0, None
            events = _EV_UNLOCK
        self._notice("PIN SET", State.CHALLENGE, now)
        return events

    def _notice_dismiss(self, button: str, now: float) -> _Events:
        self._enter(self._notice_next)
        return _NO_EVENTS

    def _notice_digit(self, button: str, now: float) -> _Events:
        self._enter(self._notice_next)
        return self.table[self._state][button](self, button, now)


# The transition table, the whole truth: (state, kind) → the handler and every state it may
# leave the card in. Kinds: POWER, DIGIT, OK, BACK, and the card's own TIMEOUT (a notice ends,
# the response or auto-off time runs out) and BATTERY (the press the battery had not left). A
# pair not listed does nothing. `build_table` expands the key rows to state → button → handler,
# one dict lookup per press.
_S = State
_HOME: Final = frozenset({_S.PIN, _S.LOCKED, _S.NEW_PIN})  # `_home()`
_AFTER_NOTICE: Final = _HOME | {_S.CHALLENGE}  # every `_notice(…, then)`
_POWERED: Final = frozenset(State) - {_S.OFF, _S.DEAD}


def _rule(handler: _Handler | None, *targets: State) -> Rule[State, _Handler]:
    return Rule(frozenset(targets), handler)


TRANSITIONS: Final[Mapping[tuple[State, str], Rule[State, _Handler]]] = {
    (_S.OFF, "POWER"): _rule(DscPlus._on, *_HOME, _S.NOTICE),
    (_S.NOTICE, DIGIT): _rule(DscPlus._notice_digit, *_AFTER_NOTICE),
    (_S.NOTICE, "OK"): _rule(DscPlus._notice_dismiss, *_AFTER_NOTICE),
    (_S.NOTICE, "BACK"): _rule(DscPlus._notice_dismiss, *_AFTER_NOTICE),
    (_S.PIN, DIGIT): _rule(DscPlus._masked_digit, _S.PIN),
    (_S.PIN, "BACK"): _rule(DscPlus._masked_back, _S.PIN),
    (_S.PIN, "OK"): _rule(DscPlus._pin_ok, _S.PIN, _S.CHALLENGE, _S.NOTICE, _S.LOCKED),
    (_S.CHALLENGE, DIGIT): _rule(DscPlus._open_digit, _S.CHALLENGE),
    (_S.CHALLENGE, "BACK"): _rule(DscPlus._open_back, _S.CHALLENGE),
    (_S.CHALLENGE, "OK"): _rule(DscPlus._challenge_ok, _S.CHALLENGE, _S.RESPONSE, _S.NEW_PIN),
    (_S.LOCKED, "OK"): _rule(DscPlus._locked_ok, _S.NOTICE, _S.LOCK_NUMBER),
    (_S.LOCK_NUMBER, "OK"): _rule(DscPlus._lock_number_ok, _S.UNLOCK),
    (_S.LOCK_NUMBER, "BACK"): _rule(DscPlus._lock_number_back, _S.LOCKED),
    (_S.UNLOCK, DIGIT): _rule(DscPlus._open_digit, _S.UNLOCK),
    (_S.UNLOCK, "BACK"): _rule(DscPlus._open_back, _S.UNLOCK),
    (_S.UNLOCK, "OK"): _rule(DscPlus._unlock_ok, _S.UNLOCK, _S.NEW_PIN, _S.NOTICE),
    (_S.NEW_PIN, DIGIT): _rule(DscPlus._masked_digit, _S.NEW_PIN),
    (_S.NEW_PIN, "BACK"): _rule(DscPlus._masked_back, _S.NEW_PIN, _S.CHALLENGE),
    (_S.NEW_PIN, "OK"): _rule(DscPlus._new_pin_ok, _S.NEW_PIN, _S.CONFIRM_PIN),
    (_S.CONFIRM_PIN, DIGIT): _rule(DscPlus._masked_digit, _S.CONFIRM_PIN),
    (_S.CONFIRM_PIN, "BACK"): _rule(DscPlus._masked_back, _S.CONFIRM_PIN, _S.NEW_PIN),
    (_S.CONFIRM_PIN, "OK"): _rule(DscPlus._confirm_pin_ok, _S.CONFIRM_PIN, _S.NEW_PIN, _S.NOTICE),
    # In every powered state POWER turns the card off, and so does time (a notice first ends).
    **{(state, "POWER"): _rule(DscPlus._off, _S.OFF) for state in _POWERED},
    **{(state, TIMEOUT): _rule(None, _S.OFF) for state in _POWERED - {_S.NOTICE}},
    (_S.NOTICE, TIMEOUT): _rule(None, *_AFTER_NOTICE, _S.OFF),
    # A press the battery has no budget for: the card dies, whatever it showed.
    **{(state, "BATTERY"): _rule(None, _S.DEAD) for state in _POWERED | {_S.OFF}},
}


def build_table(
    transitions: Mapping[tuple[State, str], Rule[State, _Handler]],
) -> dict[State, dict[str, _Handler]]:
    """Expand a transition table to state → button → handler (a key with no rule: ignored)."""
    table: dict[State, dict[str, _Handler]] = {}
    for state in State:
        row: dict[str, _Handler] = {}
        for button in CARD_BUTTONS:
            rule = transitions.get((state, kind_of(button)))
            handler = None if rule is None else rule.handler
            row[button] = DscPlus._ignore if handler is None else handler
        table[state] = row
    return table


DscPlus.table = build_table(TRANSITIONS)
# Reactions are immutable, so the fixed screens (prompts, masked PINs, off) share one each.
_FIXED_REACTIONS: Final = {
    text: Reaction(text, True, ())
    for text in ("", *_PROMPTS.values(), *(t for row in _MASKED.values() for t in row))
}


class Gold(DscPlus):
    """Legacy Gold card — our model, not documented behaviour: a DSC+ with the PIN checked on
    the card (device mode forced) and a 6-digit challenge."""

    model: ClassVar[str] = "gold"
    pin_modes: ClassVar[tuple[str, ...]] = ("device",)
    default_suites: ClassVar[Mapping[str, str]] = {"device": GOLD_SUITE}


class Platinum(DscPlus):
    """Legacy Platinum card — our model, not documented behaviour: device-checked PIN, an
    8-digit challenge and HMAC-SHA256."""

    model: ClassVar[str] = "platinum"
    pin_modes: ClassVar[tuple[str, ...]] = ("device",)
    default_suites: ClassVar[Mapping[str, str]] = {"device": PLATINUM_SUITE}
