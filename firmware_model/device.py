"""What every emulated device offers its callers (script runner, serial server, TUI).

Theory of operation (sans-I/O, like h11): the caller feeds events — `press(button, now)`,
`advance(now)` — and reads back a `Reaction` (the display now, whether durable state changed, and
events worth announcing, typed as in `firmware_model.events`). The device never reads a clock or a
random source of its own: `now` is the device clock in seconds (by convention Unix seconds, so
time-based codes line up with the host) and randomness comes from the `Entropy` callable given at
construction.

`now` never goes backwards: a smaller value than the last one seen is treated as the last one.

When `Reaction.persist` is true the durable state (counters, retry counter, lock, battery)
changed; the caller must save `to_image()` durably *before* it shows the display or acknowledges
the key, so a power cut can never roll a counter back.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from firmware_model.errors import UnknownButton
from firmware_model.events import DeviceEvent
from firmware_model.image import DeviceImage, JsonValue

Entropy = Callable[[int], bytes]
"""A source of random bytes, e.g. `os.urandom` at the edge or a seeded generator in tests."""

DIGITS = frozenset("0123456789")
CARD_BUTTONS = DIGITS | {"POWER", "OK", "BACK"}


@dataclass(frozen=True, slots=True)
class Reaction:
    """What a device did in answer to one event."""

    display: str
    persist: bool = False
    events: tuple[DeviceEvent, ...] = ()

    def then(self, later: Reaction) -> Reaction:
        """Combine with a reaction that came after this one."""
        return Reaction(
            display=later.display,
            persist=self.persist or later.persist,
            events=self.events + later.events,
        )


class Device(abc.ABC):
    """An emulated security device. Subclasses own their state machine."""

    model: ClassVar[str]
    buttons: ClassVar[frozenset[str]]

    @classmethod
    @abc.abstractmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        """Make the image of a brand-new device. Raises `ValueError` for a bad spec."""

    @classmethod
    @abc.abstractmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> Device:
        """Load a device from its image (powered off). Raises `ImageError` if inconsistent."""

    @abc.abstractmethod
    def press(self, button: str, now: float) -> Reaction:
        """Press and release `button` at device time `now`. Raises `UnknownButton`."""

    @abc.abstractmethod
    def advance(self, now: float) -> Reaction:
        """Let time pass up to `now` (timeouts: auto power-off, display hold)."""

    def hold(self, button: str, seconds: float, now: float) -> Reaction:
        """Hold `button` down for `seconds` starting at `now`.

        Default: the press takes effect on the way down, then time passes. Devices for which the
        length of a hold matters override this.
        """
        if seconds < 0:
            raise ValueError("hold time must not be negative")
        return self.press(button, now).then(self.advance(now + seconds))

    def type_digits(self, digits: str, now: float) -> Reaction:
        """Press each digit in turn at `now`."""
        if not digits or not set(digits) <= DIGITS:
            raise ValueError("type takes one or more digits 0-9")
        reaction = Reaction(display=self.display)
        for digit in digits:
            reaction = reaction.then(self.press(digit, now))
        return reaction

    @property
    @abc.abstractmethod
    def display(self) -> str:
        """The display text now ("" when off)."""

    @property
    @abc.abstractmethod
    def powered(self) -> bool:
        """Whether the device is on."""

    @abc.abstractmethod
    def to_image(self) -> DeviceImage:
        """Everything the device remembers, for saving."""

    def status(self) -> dict[str, str | int | bool]:
        """Indicators safe to show anywhere (never a secret): power, state, battery, lock."""
        return {"model": self.model, "powered": self.powered, "display": self.display}

    def check_button(self, button: str) -> None:
        """Raise `UnknownButton` unless this device has `button`."""
        if button not in self.buttons:
            raise UnknownButton(f"{self.model} has no button {button!r}")


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """What is needed to make a new device image (`slsemu image new`, `slsbridge provision`).

    `options` carries model-specific settings (e.g. `pin_retries`, `battery_presses`,
    `valid_until` for an Online SCC); each model documents and validates its own.
    """

    model: str
    serial: str
    key: bytes = b""
    pin: str | None = None
    pin_mode: str | None = None
    suite: str | None = None
    options: Mapping[str, JsonValue] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show key or PIN
        return f"ImageSpec(model={self.model!r}, serial={self.serial!r}, suite={self.suite!r})"
