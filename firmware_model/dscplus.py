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
                 response input → CHALLENGE; device mode checks it (→ CHALLENGE, a `FAIL n`
                 notice, or LOCKED).
    CHALLENGE    `CHALLNG>`, then the digits as typed (the suite's QNxx length: 6, or 8 for
                 Platinum). OK with all digits → RESPONSE. Device mode: OK before any digit
                 starts the PIN change (→ NEW_PIN). Fewer digits: OK does nothing.
    RESPONSE     the OCRA response; stays `response_seconds`, then the card turns off. Keys other
                 than POWER are ignored.
    LOCKED, LOCK_NUMBER, UNLOCK
                 device mode: `LOCK PIN`, `L` + the lock number, `UNLOCK>` + the 8-digit unlock
                 code (`firmware_model.dscplus_device_mode` describes them).
    NEW_PIN      `NEW PIN`, then `NEW>` + `*`s. OK with 4 → CONFIRM_PIN. BACK on no digits
                 cancels a PIN change (→ CHALLENGE).
    CONFIRM_PIN  `PIN CONF`, then `CNF>` + `*`s. OK with 4: same PIN → stored → `PIN SET` notice
                 → CHALLENGE; different → NEW_PIN. BACK on no digits → NEW_PIN.
    NOTICE       a short message (`BATT LOW`, `FAIL n`, `WAIT nnM`, `PIN SET`) for
                 `notice_seconds`, then the next screen. OK/BACK dismiss it; a digit dismisses it
                 and is typed into the next screen.
    DEAD         the battery is spent: nothing responds, the display stays empty.

In every powered state POWER turns the card off, and `auto_off_seconds` without a press turns it
off too. Every press the card acts on uses one press of the battery budget (`battery_presses`);
that count is durable, so every such press reports `persist=True` (see docs/devices-dscplus.md
for why). Power-cycling never resets a counter: they all live in the image state.

Retry counters are counted before the comparison (decrement-before-compare), so no result is
ever visible before the failure it may cost is on disk (`firmware_model.dscplus_device_mode`).

Modules: the card's memory, indicators and shared moves are `firmware_model.dscplus_core`
(`DscPlusCore`, `State`), the device-PIN handlers `firmware_model.dscplus_device_mode`
(`DscPlusDeviceMode`, `unlock_code`); `DscPlus` here adds the keypad (`press`, `advance`), the
handlers every mode uses and the transition table. Every public name stays importable from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import ClassVar, Final

from firmware_model import dscplus_image
from firmware_model.device import CARD_BUTTONS, Entropy, ImageSpec, Reaction
from firmware_model.dscplus_core import (
    EV_POWER_OFF,
    EV_POWER_ON,
    EV_POWER_ON_LOW,
    MASKED,
    NO_EVENTS,
    PROMPTS,
    DscPlusCore,
    Events,
    NewPinReason,
    State,
)
from firmware_model.dscplus_device_mode import (
    UNLOCK_DIGITS,
    UNLOCK_SUITE,
    DscPlusDeviceMode,
    unlock_code,
)
from firmware_model.dscplus_image import LOCK_NUMBER_DIGITS, PIN_LENGTH, PIN_RULE, DscPlusConfig
from firmware_model.errors import UnknownButton
from firmware_model.events import ResponseShown
from firmware_model.fsm import DIGIT, TIMEOUT, Rule, kind_of
from firmware_model.image import DeviceImage

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
    "DscPlusCore",
    "DscPlusDeviceMode",
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

_OFF: Final = State.OFF
_DEAD: Final = State.DEAD
_RESPONSE: Final = State.RESPONSE
_EV_RESPONSE: Final = (ResponseShown(),)


# --- the state machine ------------------------------------------------------------------------

_Handler = Callable[["DscPlus", str, float], Events]
Handler = _Handler
"""What a table row runs for a key: (card, button, now) → the events (for card variants)."""


class DscPlus(DscPlusDeviceMode):
    """The DSC+ challenge/response card (see the module docstring for its screens)."""

    model: ClassVar[str] = "dscplus"
    buttons: ClassVar[frozenset[str]] = CARD_BUTTONS
    pin_modes: ClassVar[tuple[str, ...]] = ("soft", "device")
    """Allowed PIN modes; the first is the default."""
    default_suites: ClassVar[Mapping[str, str]] = {"soft": SOFT_SUITE, "device": DEVICE_SUITE}
    # The state → button → handler table of a generation of the card (firmware_model.
    # dscplus_classic has its own, as it has its own prompts and masked screens).
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

    # -- events ------------------------------------------------------------------------------

    def press(self, button: str, now: float) -> Reaction:
        """Press and release `button` at device time `now`. `UnknownButton` for a foreign key."""
        # The hot path of every keypress: plain attribute reads, one row lookup, and a shared
        # Reaction for the fixed screens.
        if button not in self.buttons:
            raise UnknownButton(f"{self.model} has no button {button!r}")
        events = NO_EVENTS
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
        events = NO_EVENTS
        if now > self._now:
            self._now = now
            if now >= self._off_at or now >= self._notice_until:
                events = self._expire(now)
        return Reaction(self._display, False, events)

    def _expire(self, now: float) -> Events:
        """Run the timeouts that are due at `now` (nothing durable changes here)."""
        if self._notice_until <= now:
            self._enter(self._notice_next)
        if self._off_at <= now:
            self._power_off()
            return EV_POWER_OFF
        return NO_EVENTS

    # -- handlers: each takes (button, now) and returns the events --------------------------

    def _ignore(self, button: str, now: float) -> Events:
        return NO_EVENTS

    def _on(self, button: str, now: float) -> Events:
        self._pin_input = b""
        home = self._home()
        if self._battery_low():
            self._notice("BATT LOW", home, now)
            return EV_POWER_ON_LOW
        self._enter(home)
        return EV_POWER_ON

    def _off(self, button: str, now: float) -> Events:
        self._power_off()
        return EV_POWER_OFF

    def _masked_digit(self, button: str, now: float) -> Events:
        typed = len(self._buffer)
        if typed < PIN_LENGTH:
            self._buffer += button
            self._display = self.masked[self._state][typed + 1]
        return NO_EVENTS

    def _masked_back(self, button: str, now: float) -> Events:
        if self._buffer:
            self._buffer = self._buffer[:-1]
            self._display = self.masked[self._state][len(self._buffer)]
        elif self._state is State.NEW_PIN and self._reason is NewPinReason.CHANGE:
            self._enter(State.CHALLENGE)  # cancel the PIN change
        elif self._state is State.CONFIRM_PIN:
            self._enter(State.NEW_PIN)
        return NO_EVENTS

    def _open_digit(self, button: str, now: float) -> Events:
        """A digit on a screen that shows what is typed (challenge, unlock code)."""
        limit = self._challenge_digits if self._state is State.CHALLENGE else UNLOCK_DIGITS
        if len(self._buffer) < limit:
            self._buffer = self._display = self._buffer + button
        return NO_EVENTS

    def _open_back(self, button: str, now: float) -> Events:
        if self._buffer:
            self._buffer = self._buffer[:-1]
            self._display = self._buffer or self.prompts[self._state]
        return NO_EVENTS

    def _pin_ok(self, button: str, now: float) -> Events:
        if len(self._buffer) < PIN_LENGTH:
            return NO_EVENTS  # too few digits: nothing happens
        if not self._device_pin:
            # Soft PIN: the card cannot tell a wrong one; it only feeds the response.
            assert self._soft_pin_hash is not None
            self._pin_input = hashlib.new(self._soft_pin_hash, self._buffer.encode()).digest()
            self._enter(State.CHALLENGE)
            return NO_EVENTS
        return self._check_pin(now)

    def _challenge_ok(self, button: str, now: float) -> Events:
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
            self._reason = NewPinReason.CHANGE
            self._enter(State.NEW_PIN)
        return NO_EVENTS

    def _show_response(self, code: str, now: float) -> None:
        """Put the response on the display (all of it at once, on this generation)."""
        self._display = code

    def _notice_dismiss(self, button: str, now: float) -> Events:
        self._enter(self._notice_next)
        return NO_EVENTS

    def _notice_digit(self, button: str, now: float) -> Events:
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
    for text in ("", *PROMPTS.values(), *(t for row in MASKED.values() for t in row))
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
