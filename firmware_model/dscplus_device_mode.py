"""The DSC+ device-PIN screens: the PIN check, the lock and unlock, a new PIN (first, change).

In device mode (Gold and Platinum always) the card checks the PIN itself. These are the handlers
of the screens only that mode reaches; `firmware_model.dscplus` puts them in its transition table
(`TRANSITIONS`), which is the whole truth about which screen each may lead to:

    PIN          OK with 4 digits: counts a failure, then compares the salted hash: right →
                 counter reset, CHALLENGE; wrong → `FAIL n` notice → PIN, or after `pin_retries`
                 failures → LOCKED with a fresh lock number.
    LOCKED       `LOCK PIN`. OK → LOCK_NUMBER, unless wrong unlock codes blocked the entry: then a
                 `WAIT nnM` notice (minutes left).
    LOCK_NUMBER  `L` + the 7-digit lock number. OK → UNLOCK; BACK → LOCKED.
    UNLOCK       `UNLOCK>`, then the 8 digits typed. OK with 8: counts an unlock failure, then
                 compares with `unlock_code(key, lock number)`: right → NEW_PIN; wrong →
                 `FAIL n` → LOCKED; after `unlock_retries` wrong codes the entry is blocked for
                 `unlock_block_seconds`.
    NEW_PIN      OK with 4 digits → CONFIRM_PIN.
    CONFIRM_PIN  OK with 4: same PIN → stored (and, after an unlock, the lock cleared and every
                 counter reset) → `PIN SET` notice → CHALLENGE; different → NEW_PIN.

Retry counters are counted before the comparison (decrement-before-compare): the failure is
added, then the PIN or unlock code is compared, and only a right answer takes it back — the caller
saves before it shows the display, so no result is visible before the failure it may cost is on
disk. Both comparisons are constant-time (`SaltedHash.matches`, `hmac.compare_digest`).
"""

from __future__ import annotations

import hmac
import math
from typing import Final

from firmware_model.device import DIGITS
from firmware_model.dscplus_core import NO_EVENTS, DscPlusCore, Events, NewPinReason, State
from firmware_model.dscplus_image import LOCK_NUMBER_DIGITS, PIN_LABEL, PIN_LENGTH
from firmware_model.events import (
    PinAccepted,
    PinLocked,
    PinRejected,
    PinSet,
    UnlockBlocked,
    Unlocked,
    UnlockFailed,
)
from firmware_model.models import random_digits
from firmware_model.ocra import OcraCalculator
from firmware_model.secret_hash import SaltedHash

__all__ = ["UNLOCK_DIGITS", "UNLOCK_SUITE", "DscPlusDeviceMode", "unlock_code"]

UNLOCK_SUITE: Final = "OCRA-1:HOTP-SHA256-8:QA08"
"""Unlock codes. Its question is alphanumeric (`L` + lock number) while every card suite must be
numeric (QN), so an unlock code and a login response never share an HMAC input."""
UNLOCK_DIGITS: Final = 8  # the unlock suite's truncation

_EV_PIN_OK: Final = (PinAccepted(),)
_EV_UNLOCK_FAIL: Final = (UnlockFailed(),)
_EV_UNLOCK_BLOCKED: Final = (UnlockFailed(), UnlockBlocked())
_EV_PIN_SET: Final = (PinSet(),)
_EV_UNLOCK: Final = (Unlocked(), PinSet())


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


class DscPlusDeviceMode(DscPlusCore):
    """The handlers of the device-PIN screens (see the module docstring); each takes
    (button, now) and returns the events."""

    def _check_pin(self, now: float) -> Events:
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

    def _locked_ok(self, button: str, now: float) -> Events:
        if self._blocked_until is not None:
            if now < self._blocked_until:
                minutes = min(999, math.ceil((self._blocked_until - now) / 60))
                self._notice(f"WAIT{minutes:3d}M", State.LOCKED, now)
                return NO_EVENTS
            self._blocked_until = None  # the block is over
        self._enter(State.LOCK_NUMBER)
        return NO_EVENTS

    def _lock_number_ok(self, button: str, now: float) -> Events:
        self._enter(State.UNLOCK)
        return NO_EVENTS

    def _lock_number_back(self, button: str, now: float) -> Events:
        self._enter(State.LOCKED)
        return NO_EVENTS

    def _unlock_ok(self, button: str, now: float) -> Events:
        if len(self._buffer) < UNLOCK_DIGITS:
            return NO_EVENTS
        assert self._lock_number is not None
        self._unlock_failures += 1  # counted before comparing
        expected = unlock_code(self._key, self._lock_number)
        if hmac.compare_digest(self._buffer.encode(), expected.encode()):
            self._unlock_failures = 0
            self._reason = NewPinReason.UNLOCK
            self._enter(State.NEW_PIN)  # the lock stays until the new PIN is confirmed
            return NO_EVENTS
        failures = self._unlock_failures
        events: Events = _EV_UNLOCK_FAIL
        if failures >= self._config.unlock_retries:
            self._unlock_failures = 0  # a fresh set of tries once the block is over
            self._blocked_until = now + self._config.unlock_block_seconds
            events = _EV_UNLOCK_BLOCKED
        self._notice(f"FAIL {failures}", State.LOCKED, now)
        return events

    def _new_pin_ok(self, button: str, now: float) -> Events:
        if len(self._buffer) < PIN_LENGTH:
            return NO_EVENTS
        self._new_pin = self._buffer
        self._enter(State.CONFIRM_PIN)
        return NO_EVENTS

    def _confirm_pin_ok(self, button: str, now: float) -> Events:
        if len(self._buffer) < PIN_LENGTH:
            return NO_EVENTS
        if not hmac.compare_digest(self._buffer.encode(), self._new_pin.encode()):
            self._new_pin = ""
            self._enter(State.NEW_PIN)  # mismatch: choose again
            return NO_EVENTS
        self._pin_hash = SaltedHash.make(PIN_LABEL, self._new_pin, self._entropy)
        self._new_pin = ""
        self._failures = 0
        events: Events = _EV_PIN_SET
        if self._reason is NewPinReason.UNLOCK:
            self._locked, self._lock_number = False, None
            self._unlock_failures, self._blocked_until = 0, None
            events = _EV_UNLOCK
        self._notice("PIN SET", State.CHALLENGE, now)
        return events
