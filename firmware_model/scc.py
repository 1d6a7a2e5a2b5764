"""Security Code Card (SCC) and Online SCC: the grid derived from the card key, and the card.

Theory of operation. A Security Code Card is a printed grid of 224 indexed cells; each cell holds
a 3-character code over the 36 symbols `0-9A-Z`. The login screen names two indices and the user
types the two codes side by side, no space (`scc_response`). There is exactly one implementation of
the grid: the host bridge calls `scc_grid`/`scc_code` with the key from its store, the emulator
with the key from the device image, so both always agree.

Grid derivation (version 1, reproducible anywhere):

    block(n)  = HMAC-SHA256(key, b"slsemu-scc-v1" || uint32_be(n))     for n = 0, 1, 2, ...
    stream    = block(0) || block(1) || ...
    for each byte b of the stream, in order:
        if b < 252:  emit ALPHABET[b % 36]      (252 = 7 * 36: every symbol equally likely)
        else:        skip the byte              (rejection sampling: no modulo bias)
    stop after 224 * 3 = 672 symbols; cell i (1-based) = symbols[3*(i-1) : 3*i]

with ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".

The Online SCC is the same grid, flagged `online`, with a validity date (21 days from issue,
given as an ISO date when the image is made). The firmware model cannot tell the time of the
real world beyond the `now` it is told, so it only carries the date; the host enforces expiry.

A printed card has no buttons. For keypress scripts `SecurityCodeCardDevice` emulates "the person
reading the card" (an emulation convenience, not a device feature):

The whole truth about its states is `TRANSITIONS` (a pair not listed does nothing):

    state      event          next       display
    OFF        POWER          INDEX      "INDEX>"
    INDEX      digit          INDEX      the typed digits (at most 3; the prompt gives way to
                                         them, like a calculator card's display)
    INDEX      BACK           INDEX      one digit erased ("INDEX>" again when none is left)
    INDEX      OK             SHOWN      an index 1..224: "17 A3D" (the cell, index then code)
                              ERROR      anything else: "BAD IDX"
    SHOWN/ERROR digit         INDEX      starts a new index with that digit
    SHOWN/ERROR BACK / OK     INDEX      "INDEX>"
    any on     POWER          OFF        ""

Nothing on a card changes, so no event ever asks to persist.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final

from firmware_model.device import CARD_BUTTONS, Device, Entropy, ImageSpec, Reaction
from firmware_model.errors import ImageError
from firmware_model.fsm import DIGIT, Rule, kind_of
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.image_fields import Flag, IsoDate, Optional, check_fields, inconsistent

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CELLS = 224
CODE_LENGTH = 3
ONLINE_VALIDITY_DAYS = 21
DERIVATION_LABEL = b"slsemu-scc-v1"
_ACCEPT_BELOW = 252  # the largest multiple of 36 that fits in a byte
MAX_KEY_BYTES = 128
_VALID_UNTIL: Final = Optional(IsoDate())
_CONFIG_FIELDS: Final = ("online", "valid_until")


def scc_grid(key: bytes) -> tuple[str, ...]:
    """All 224 codes of the card with `key`; element 0 is cell 1 (see the module docstring)."""
    if not isinstance(key, bytes) or not 1 <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(f"an SCC key is 1 to {MAX_KEY_BYTES} bytes")
    wanted = CELLS * CODE_LENGTH
    symbols: list[str] = []
    block = 0
    while len(symbols) < wanted:
        chunk = hmac.digest(key, DERIVATION_LABEL + block.to_bytes(4, "big"), hashlib.sha256)
        block += 1
        for byte in chunk:
            if byte < _ACCEPT_BELOW:
                symbols.append(ALPHABET[byte % len(ALPHABET)])
                if len(symbols) == wanted:
                    break
    return tuple(
        "".join(symbols[start : start + CODE_LENGTH]) for start in range(0, wanted, CODE_LENGTH)
    )


def check_index(index: int) -> int:
    """`index` if it names a cell (1..224); otherwise `ValueError`."""
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= CELLS:
        raise ValueError(f"an SCC index is a whole number from 1 to {CELLS}")
    return index


def scc_code(key: bytes, index: int) -> str:
    """The 3-character code in cell `index` (1..224) of the card with `key`."""
    return scc_grid(key)[check_index(index) - 1]


def scc_response(key: bytes, first: int, second: int) -> str:
    """What the user types for the two indices the login screen shows: both codes, no space."""
    grid = scc_grid(key)
    return grid[check_index(first) - 1] + grid[check_index(second) - 1]


def check_valid_until(valid_until: str | None) -> str | None:
    """`valid_until` if it is None or an ISO date `YYYY-MM-DD`; otherwise `ValueError`."""
    return _VALID_UNTIL.check(valid_until, "valid_until")


def online_valid_until(issued: datetime.date) -> str:
    """The validity date of an Online SCC issued on `issued` (21 days later, ISO format)."""
    return (issued + datetime.timedelta(days=ONLINE_VALIDITY_DAYS)).isoformat()


# Printed layout: 8 columns of 28 cells, numbered down each column like a printed card.
RENDER_COLUMNS = 8
_RENDER_ROWS = CELLS // RENDER_COLUMNS
_COLUMN_GAP = "   "


def render_card(key: bytes, *, online: bool = False, valid_until: str | None = None) -> str:
    """The printed card as text: a header, then every cell as `index code` in 8 columns.

    Indices are right-aligned to three places (`  7 K2P`, ` 17 A3D`, `117 0ZZ`), so each cell is
    the index, one space and the code. Cells run down each column (1..28 in the first, 29..56 in
    the second, ...). The text ends with a newline.
    """
    check_valid_until(valid_until)
    grid = scc_grid(key)
    title = "ONLINE SECURITY CODE CARD" if online else "SECURITY CODE CARD"
    lines = [title]
    if valid_until is not None:
        lines.append(f"valid until {valid_until}")
    cell_width = 3 + 1 + CODE_LENGTH
    width = RENDER_COLUMNS * cell_width + (RENDER_COLUMNS - 1) * len(_COLUMN_GAP)
    lines.append("=" * width)
    for row in range(_RENDER_ROWS):
        cells = []
        for column in range(RENDER_COLUMNS):
            index = column * _RENDER_ROWS + row + 1
            cells.append(f"{index:>3} {grid[index - 1]}")
        lines.append(_COLUMN_GAP.join(cells))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class SecurityCodeCard:
    """A (printed or online) Security Code Card. The key never shows in its repr."""

    key: bytes = field(repr=False)
    online: bool = False
    valid_until: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or not 1 <= len(self.key) <= MAX_KEY_BYTES:
            raise ValueError(f"an SCC key is 1 to {MAX_KEY_BYTES} bytes")
        if not isinstance(self.online, bool):
            raise ValueError("online must be true or false")
        check_valid_until(self.valid_until)
        if self.valid_until is not None and not self.online:
            raise ValueError("only an Online SCC has a validity date")

    def code(self, index: int) -> str:
        """The code in cell `index` (1..224)."""
        return scc_code(self.key, index)

    def response(self, first: int, second: int) -> str:
        """The answer to the two indices the login screen shows."""
        return scc_response(self.key, first, second)

    def grid(self) -> tuple[str, ...]:
        """All 224 codes; element 0 is cell 1."""
        return scc_grid(self.key)

    def render(self) -> str:
        """The printed-card text (see `render_card`)."""
        return render_card(self.key, online=self.online, valid_until=self.valid_until)


class SccState(enum.Enum):
    """The states of the card reader emulation."""

    OFF = "off"
    INDEX = "index"  # typing an index
    SHOWN = "shown"  # one cell shown
    ERROR = "error"  # the typed index names no cell


INDEX_PROMPT = "INDEX>"
BAD_INDEX_TEXT = "BAD IDX"
MAX_INDEX_DIGITS = 3


class SecurityCodeCardDevice(Device):
    """Model `scc`: a Security Code Card (or Online SCC) read by an emulated person.

    Options for `new_image`: `online` (bool, default false) and `valid_until` (ISO date; only
    with `online`). Buttons: POWER, 0-9, OK, BACK.
    """

    model: ClassVar[str] = "scc"
    buttons: ClassVar[frozenset[str]] = CARD_BUTTONS

    def __init__(self, image: DeviceImage, card: SecurityCodeCard) -> None:
        self._image = image
        self._card = card
        self._state = SccState.OFF
        self._typed = ""
        self._shown = ""
        self._now = float("-inf")

    # --- images -------------------------------------------------------------------------------

    @classmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        if spec.model != cls.model:
            raise ValueError(f"spec is for model {spec.model!r}, not {cls.model!r}")
        unknown = set(spec.options) - {"online", "valid_until"}
        if unknown:
            raise ValueError(f"unknown scc option(s): {', '.join(sorted(unknown))}")
        if spec.pin is not None or spec.pin_mode is not None:
            raise ValueError("a Security Code Card has no PIN")
        if spec.suite is not None:
            raise ValueError("a Security Code Card has no OCRA suite")
        online = spec.options.get("online", False)
        valid_until = spec.options.get("valid_until")
        if not isinstance(online, bool):
            raise ValueError("option online must be true or false")
        if valid_until is not None and not isinstance(valid_until, str):
            raise ValueError("option valid_until must be an ISO date YYYY-MM-DD")
        SecurityCodeCard(spec.key, online, valid_until)  # validates key, date, combination
        config: dict[str, JsonValue] = {"online": online, "valid_until": valid_until}
        return DeviceImage(cls.model, spec.serial, spec.key, None, config, {})

    @classmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> SecurityCodeCardDevice:
        if image.model != cls.model:
            raise ImageError(f"image is of model {image.model!r}, not {cls.model!r}")
        if image.suite is not None:
            raise ImageError("an scc image has no suite")
        try:
            check_fields(image.config, "config", allowed=_CONFIG_FIELDS)
            check_fields(image.state, "state", allowed=())
            online = Flag().check(image.config.get("online", False), "online")
            valid_until = _VALID_UNTIL.check(image.config.get("valid_until"), "valid_until")
            card = SecurityCodeCard(image.key, online, valid_until)
        except ValueError as error:
            raise inconsistent(cls.model, error) from None
        return cls(image, card)

    def to_image(self) -> DeviceImage:
        return self._image

    @property
    def card(self) -> SecurityCodeCard:
        """The card this device shows."""
        return self._card

    # --- events -------------------------------------------------------------------------------

    def press(self, button: str, now: float) -> Reaction:
        self.check_button(button)
        self._now = max(self._now, now)
        rule = TRANSITIONS.get((self._state, kind_of(button)))
        if rule is not None and rule.handler is not None:
            rule.handler(self, button)
        return Reaction(self.display)

    # --- handlers: each takes the button and moves the reader ---------------------------------

    def _on(self, button: str) -> None:
        self._prompt(button)

    def _off(self, button: str) -> None:
        self._typed = ""
        self._state = SccState.OFF

    def _digit(self, button: str) -> None:
        if len(self._typed) < MAX_INDEX_DIGITS:
            self._typed += button

    def _erase(self, button: str) -> None:
        self._typed = self._typed[:-1]

    def _look_up(self, button: str) -> None:
        index = self._typed_index()
        self._typed = ""
        if index is None:
            self._state = SccState.ERROR
            return
        self._shown = f"{index} {self._card.code(index)}"
        self._state = SccState.SHOWN

    def _new_index(self, button: str) -> None:
        self._prompt(button)
        self._digit(button)

    def _prompt(self, button: str) -> None:
        self._typed = ""
        self._state = SccState.INDEX

    def _typed_index(self) -> int | None:
        if not self._typed:
            return None
        index = int(self._typed)
        return index if 1 <= index <= CELLS else None

    def advance(self, now: float) -> Reaction:
        # A card never turns itself off: a person holds it as long as they like.
        self._now = max(self._now, now)
        return Reaction(self.display)

    # --- indicators ---------------------------------------------------------------------------

    @property
    def state(self) -> SccState:
        """The reader's state now."""
        return self._state

    @property
    def display(self) -> str:
        if self._state is SccState.OFF:
            return ""
        if self._state is SccState.INDEX:
            return self._typed or INDEX_PROMPT
        if self._state is SccState.SHOWN:
            return self._shown
        return BAD_INDEX_TEXT

    @property
    def powered(self) -> bool:
        return self._state is not SccState.OFF

    def status(self) -> dict[str, str | int | bool]:
        status = Device.status(self)
        status["state"] = self._state.value
        status["online"] = self._card.online
        if self._card.valid_until is not None:
            status["valid_until"] = self._card.valid_until
        return status


_Handler = Callable[[SecurityCodeCardDevice, str], None]
_S = SccState


def _rule(handler: _Handler, *targets: SccState) -> Rule[SccState, _Handler]:
    return Rule(frozenset(targets), handler)


TRANSITIONS: Final[Mapping[tuple[SccState, str], Rule[SccState, _Handler]]] = {
    (_S.OFF, "POWER"): _rule(SecurityCodeCardDevice._on, _S.INDEX),
    (_S.INDEX, DIGIT): _rule(SecurityCodeCardDevice._digit, _S.INDEX),
    (_S.INDEX, "BACK"): _rule(SecurityCodeCardDevice._erase, _S.INDEX),
    (_S.INDEX, "OK"): _rule(SecurityCodeCardDevice._look_up, _S.SHOWN, _S.ERROR),
    **{
        (state, kind): _rule(handler, _S.INDEX)
        for state in (_S.SHOWN, _S.ERROR)
        for kind, handler in (
            (DIGIT, SecurityCodeCardDevice._new_index),
            ("BACK", SecurityCodeCardDevice._prompt),
            ("OK", SecurityCodeCardDevice._prompt),
        )
    },
    **{
        (state, "POWER"): _rule(SecurityCodeCardDevice._off, _S.OFF)
        for state in (_S.INDEX, _S.SHOWN, _S.ERROR)
    },
}
"""(state, kind) → the handler and every state it may lead to; see the module docstring."""
