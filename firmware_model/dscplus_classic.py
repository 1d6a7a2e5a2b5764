"""The older generation of the DSC+ ("classic"): the same card and codes, an older display.

DESIGN.md: "An older generation showed `Pn`/`Ch` and the 8 digits as 5 then 3, toggling every
10 s or on OK." So this is a `DscPlus` (same OCRA key and suite: the host verifies its codes as a
DSC+'s) with three differences, all on the display:

* the prompts are `Pn` (PIN, then `Pn` + one `*` per digit) and `Ch` (challenge) instead of
  `PIN>` and `CHALLNG>`;
* the 8-digit response is shown in two parts, its first 5 digits and then its last 3;
* the shown part toggles every `TOGGLE_SECONDS` (10 s) and on OK, which restarts the 10 s.

The card still turns off `response_seconds` after the response first showed (OK does not keep it
on), like the current generation. It is a soft-PIN card only: DESIGN.md describes its PIN,
challenge and response screens and nothing of a card-checked PIN (lock and unlock screens), so we
do not invent them; its table (`TRANSITIONS`) is the DSC+'s restricted to the states a soft-PIN
card reaches, plus OK on the response.

Time: the part shown is a function of the time since the last toggle, so the card is right at
any `now` it is told — a virtual clock jumping hours ahead (`CLOCK ADVANCE`, a script's `wait`)
or the real clock's ticks (TUI timer, the serial server's `EVT DISPLAY`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar, Final, cast

from firmware_model import dscplus
from firmware_model.device import Entropy, ImageSpec, Reaction
from firmware_model.dscplus import (
    PIN_LENGTH,
    SOFT_SUITE,
    DscPlus,
    DscPlusConfig,
    Handler,
    State,
    build_table,
)
from firmware_model.errors import ImageError
from firmware_model.fsm import Rule
from firmware_model.image import DeviceImage
from firmware_model.ocra import OcraSuite

__all__ = [
    "FIRST_PART_DIGITS",
    "RESPONSE_DIGITS",
    "TOGGLE_SECONDS",
    "TRANSITIONS",
    "DscPlusClassic",
    "response_parts",
]

RESPONSE_DIGITS: Final = 8
"""DESIGN.md: "the 8 digits as 5 then 3" — the classic card takes only suites with 8 digits."""
FIRST_PART_DIGITS: Final = 5
TOGGLE_SECONDS: Final = 10.0
"""DESIGN.md: "toggling every 10 s or on OK"."""

_PROMPTS: Final = {**DscPlus.prompts, State.PIN: "Pn", State.CHALLENGE: "Ch"}
_MASKED: Final = {**DscPlus.masked, State.PIN: tuple("Pn" + "*" * n for n in range(PIN_LENGTH + 1))}

SOFT_STATES: Final = frozenset(
    {State.OFF, State.DEAD, State.NOTICE, State.PIN, State.CHALLENGE, State.RESPONSE}
)
"""The states a soft-PIN card reaches (the others belong to a card-checked PIN)."""


def response_parts(code: str) -> tuple[str, str]:
    """The two parts the classic display shows of an 8-digit `code`: 5 digits, then 3."""
    if len(code) != RESPONSE_DIGITS or not code.isdigit():
        raise ValueError(f"a classic DSC+ response is {RESPONSE_DIGITS} digits")
    return code[:FIRST_PART_DIGITS], code[FIRST_PART_DIGITS:]


class DscPlusClassic(DscPlus):
    """The older DSC+ generation: `Pn`/`Ch` prompts, the response as 5 then 3 digits."""

    model: ClassVar[str] = "dscplus_classic"
    pin_modes: ClassVar[tuple[str, ...]] = ("soft",)
    default_suites: ClassVar[Mapping[str, str]] = {"soft": SOFT_SUITE}
    prompts: ClassVar[Mapping[State, str]] = _PROMPTS
    masked: ClassVar[Mapping[State, tuple[str, ...]]] = _MASKED

    @classmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        """A brand-new classic card (`ValueError` as for a DSC+, or for a suite that does not
        give 8 digits)."""
        image = super().new_image(spec, entropy)
        _check_digits(image.suite)
        return image

    @classmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> DscPlus:
        """Load a classic card, powered off (`ImageError` as for a DSC+, or a suite that does
        not give 8 digits)."""
        card = super().from_image(image, entropy)
        try:
            _check_digits(image.suite)
        except ValueError as error:
            raise ImageError(f"inconsistent {cls.model} image: {error}") from None
        return card

    def __init__(
        self, image: DeviceImage, config: DscPlusConfig, suite: OcraSuite, entropy: Entropy
    ) -> None:
        """Use `from_image` (as for a DSC+)."""
        super().__init__(image, config, suite, entropy)
        self._parts = ("", "")
        self._part = 0  # which part shows since `_toggled_at`
        self._toggled_at = math.inf

    # -- time: the shown part follows the clock ------------------------------------------------

    def press(self, button: str, now: float) -> Reaction:
        """As a DSC+; first the response part due at `now` is shown."""
        self._follow_clock(now)
        return super().press(button, now)

    def advance(self, now: float) -> Reaction:
        """As a DSC+; the response part toggles every 10 s."""
        self._follow_clock(now)
        return super().advance(now)

    def _follow_clock(self, now: float) -> None:
        if self._state is State.RESPONSE:
            self._display = self._parts[self._part_at(max(now, self._now))]

    def _part_at(self, now: float) -> int:
        """The part due at `now`: the one shown at `_toggled_at`, flipped per 10 s since."""
        if now <= self._toggled_at:
            return self._part
        return (self._part + math.floor((now - self._toggled_at) / TOGGLE_SECONDS)) % 2

    # -- handlers --------------------------------------------------------------------------------

    def _show_response(self, code: str, now: float) -> None:
        self._parts = response_parts(code)
        self._part = 0
        self._toggled_at = now
        self._display = self._parts[0]

    def _toggle(self, button: str, now: float) -> tuple[()]:
        """OK on the response: the other part, for a fresh 10 s."""
        self._part = self._part_at(now) ^ 1
        self._toggled_at = now
        self._display = self._parts[self._part]
        return ()


def _check_digits(suite: str | None) -> None:
    if suite is None or OcraSuite.parse(suite).digits != RESPONSE_DIGITS:
        raise ValueError(
            f"the classic DSC+ shows an {RESPONSE_DIGITS}-digit response as 5 then 3 digits "
            f"(its suite must be HOTP-…-{RESPONSE_DIGITS})"
        )


_DEVICE_PIN_MOVES: Final = frozenset({(State.PIN, State.NOTICE), (State.NOTICE, State.CHALLENGE)})
"""Moves only a card-checked PIN makes (`FAIL n`; `PIN SET` → challenge): a soft-PIN card's only
notice is `BATT LOW`, which leads to `Pn`."""

TRANSITIONS: Final[Mapping[tuple[State, str], Rule[State, Handler]]] = {
    **{
        (source, kind): Rule(
            frozenset(
                to for to in rule.targets & SOFT_STATES if (source, to) not in _DEVICE_PIN_MOVES
            ),
            rule.handler,
        )
        for (source, kind), rule in dscplus.TRANSITIONS.items()
        if source in SOFT_STATES
    },
    (State.RESPONSE, "OK"): Rule(
        frozenset({State.RESPONSE}), cast(Handler, DscPlusClassic._toggle)
    ),
}
"""The DSC+ table for the states a soft-PIN card reaches, and OK toggling the response."""

DscPlusClassic.table = build_table(TRANSITIONS)
