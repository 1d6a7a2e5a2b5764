"""What every DSC+ screen works on: the card's states, its memory, and the moves they share.

`DscPlusCore` is the card without its keys: it loads and saves the image (`dscplus_image`), holds
the volatile state (screen, typed digits, timers), answers the indicators (`display`, `status`,
…) and has the helpers every handler uses — enter a screen (`_enter`), show a notice
(`_notice`), pick the home screen (`_home`), power off, die. The handlers are layered on top:
the device-PIN screens (lock, unlock, new PIN) in `firmware_model.dscplus_device_mode`, then the
keypad itself, its handlers and its transition table in `firmware_model.dscplus` (the module
docstring there describes every screen). `State`, the prompts and the fixed event tuples live
here so all three modules share one definition.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import ClassVar, Final

from firmware_model import dscplus_image
from firmware_model.device import Device, Entropy
from firmware_model.dscplus_image import PIN_LENGTH, DscPlusConfig, DscPlusState
from firmware_model.events import BatteryDead, BatteryLow, DeviceEvent, PowerOff, PowerOn
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.ocra import OcraCalculator, OcraSuite

__all__ = [
    "EV_BATTERY_DEAD",
    "EV_POWER_OFF",
    "EV_POWER_ON",
    "EV_POWER_ON_LOW",
    "MASKED",
    "NO_EVENTS",
    "PROMPTS",
    "DscPlusCore",
    "Events",
    "NewPinReason",
    "State",
]


class State(enum.Enum):
    """Where the card is in its key sequence (see `firmware_model.dscplus`)."""

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


class NewPinReason(enum.Enum):
    """Why the card asks for a new PIN (what BACK and a confirmed PIN do depends on it)."""

    FIRST = "first"  # device mode, no PIN stored yet
    CHANGE = "change"  # PIN change after a right PIN
    UNLOCK = "unlock"  # after a right unlock code


# Events (constant tuples: no allocation per press).
Events = tuple[DeviceEvent, ...]
NO_EVENTS: Final[Events] = ()
EV_POWER_ON: Final = (PowerOn(),)
EV_POWER_ON_LOW: Final = (PowerOn(), BatteryLow())
EV_POWER_OFF: Final = (PowerOff(),)
EV_BATTERY_DEAD: Final = (BatteryDead(),)

PROMPTS: Final = {
    State.PIN: "PIN>",
    State.CHALLENGE: "CHALLNG>",
    State.LOCKED: "LOCK PIN",
    State.UNLOCK: "UNLOCK>",
    State.NEW_PIN: "NEW PIN",
    State.CONFIRM_PIN: "PIN CONF",
}
# Masked entry screens, precomputed: index = digits typed so far.
MASKED: Final = {
    State.PIN: tuple("PIN>" + "*" * n for n in range(PIN_LENGTH + 1)),
    State.NEW_PIN: ("NEW PIN", *("NEW>" + "*" * n for n in range(1, PIN_LENGTH + 1))),
    State.CONFIRM_PIN: ("PIN CONF", *("CNF>" + "*" * n for n in range(1, PIN_LENGTH + 1))),
}


class DscPlusCore(Device):
    """The DSC+ card's memory, indicators and shared moves (no keys: see `DscPlus`)."""

    # What a generation of the card shows (firmware_model.dscplus_classic overrides them): the
    # prompts and the masked entry screens.
    prompts: ClassVar[Mapping[State, str]] = PROMPTS
    masked: ClassVar[Mapping[State, tuple[str, ...]]] = MASKED

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
        self._reason = NewPinReason.FIRST
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

    # -- helpers -----------------------------------------------------------------------------

    def _battery_spent(self) -> bool:
        return self._presses_used >= self._config.battery_presses

    def _battery_low(self) -> bool:
        left = self._config.battery_presses - self._presses_used
        return left < self._config.battery_low_presses

    def _die(self) -> Events:
        self._power_off()
        self._state = State.DEAD
        return EV_BATTERY_DEAD

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
            self._reason = NewPinReason.FIRST
            return State.NEW_PIN
        return State.PIN
