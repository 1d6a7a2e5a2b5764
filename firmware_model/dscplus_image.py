"""The image codec of the DSC+ family (`dscplus`, `gold`, `platinum`): config, suite and state.

`firmware_model.dscplus` runs the card; this module alone knows how a card is written into an
image and read back (`DeviceImage.config`, `.suite`, `.state`), with the field kinds of
`firmware_model.image_fields` and their one message style. The on-disk format is unchanged
from when this lived in the card class (docs/images.md).

    config  pin_mode, auto_off_seconds, response_seconds, notice_seconds, battery_presses,
            battery_low_presses; device mode also pin_retries, unlock_retries,
            unlock_block_seconds
    state   presses_used; device mode also failures, locked, lock_number, unlock_failures,
            unlock_blocked_until, pin (a `SaltedHash` of the card PIN, or null)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import ClassVar, Final, Protocol

from firmware_model.device import Entropy, ImageSpec
from firmware_model.errors import ImageError, SuiteError
from firmware_model.image import DeviceImage, JsonValue
from firmware_model.image_fields import (
    FieldError,
    Flag,
    Number,
    Optional,
    Text,
    Whole,
    check_fields,
    inconsistent,
)
from firmware_model.models import pin_rule_of
from firmware_model.ocra import OcraSuite
from firmware_model.secret_hash import SaltedHash

PIN_RULE: Final = pin_rule_of("dscplus")
PIN_LENGTH: Final = PIN_RULE.max_length
LOCK_NUMBER_DIGITS: Final = 7
DISPLAY_WIDTH: Final = 8
PIN_LABEL: Final = "dscplus-pin"
"""The `SaltedHash` label of the card PIN (see `firmware_model.secret_hash` for why a plain salted
HMAC and not a slow KDF: the image holds the card key too)."""
MAX_CLOCK: Final = float(2**62)
"""Bound for a device time read from an image: far beyond any real clock, and a float holds it."""

_DAY: Final = 86_400
# 99 retries at most so that `FAIL nn` fits the 8-character display.
_CONFIG_KINDS: Final[Mapping[str, Whole | Number]] = {
    "auto_off_seconds": Number(1, _DAY),
    "response_seconds": Number(1, _DAY),
    "notice_seconds": Number(0.1, 60),
    "battery_presses": Whole(1, 10**9),
    "battery_low_presses": Whole(0, 10**9),
    "pin_retries": Whole(1, 99),
    "unlock_retries": Whole(1, 99),
    "unlock_block_seconds": Number(0, 365 * _DAY),
}
_PRESSES: Final = Whole(0, 2**63 - 1)
_LOCK_NUMBER: Final = Optional(Text(re.compile(rf"[0-9]{{{LOCK_NUMBER_DIGITS}}}"), "7 digits"))
_TIME: Final = Optional(Number(-MAX_CLOCK, MAX_CLOCK))
_SOFT_STATE_FIELDS: Final = frozenset({"presses_used"})
_DEVICE_STATE_FIELDS: Final = _SOFT_STATE_FIELDS | {
    "failures",
    "locked",
    "lock_number",
    "unlock_failures",
    "unlock_blocked_until",
    "pin",
}
"""What `write_state` writes in each PIN mode: the only `state` fields a card loads."""


@dataclass(frozen=True, slots=True)
class DscPlusConfig:
    """Settings fixed when the card is made (`image.config`; `ImageSpec.options` overrides)."""

    pin_mode: str = "soft"
    auto_off_seconds: float = 30
    response_seconds: float = 30
    notice_seconds: float = 2
    battery_presses: int = 20_000
    battery_low_presses: int = 1_000
    # Device mode only:
    pin_retries: int = 3
    unlock_retries: int = 3
    unlock_block_seconds: float = 1_800

    DEVICE_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"pin_retries", "unlock_retries", "unlock_block_seconds"}
    )

    def __post_init__(self) -> None:
        if self.pin_mode not in ("soft", "device"):
            raise FieldError("pin_mode must be 'soft' or 'device'")
        for name, kind in _CONFIG_KINDS.items():
            kind.check(getattr(self, name), name)
        if self.battery_low_presses > self.battery_presses:
            raise FieldError("battery_low_presses must not exceed battery_presses")

    @classmethod
    def from_mapping(cls, values: Mapping[str, JsonValue]) -> DscPlusConfig:
        """Read settings; missing ones take defaults. `ValueError` for unknown or bad ones."""
        check_fields(values, "DSC+ setting", allowed=(f.name for f in fields(cls)))
        if values.get("pin_mode", "soft") == "soft":
            extra = sorted(cls.DEVICE_ONLY & set(values))
            if extra:
                raise FieldError(
                    f"{', '.join(extra)} only apply to pin_mode 'device' (a soft-PIN card never "
                    "checks the PIN)"
                )
        return cls(**dict(values))

    def to_mapping(self) -> dict[str, JsonValue]:
        """The settings as stored in the image (device-only ones only for device mode)."""
        values: dict[str, JsonValue] = asdict(self)
        if self.pin_mode == "soft":
            for name in self.DEVICE_ONLY:
                del values[name]
        return values


@dataclass(slots=True)
class DscPlusState:
    """The durable state of one card (soft mode uses `presses_used` only)."""

    presses_used: int = 0
    failures: int = 0
    locked: bool = False
    lock_number: str | None = None
    unlock_failures: int = 0
    unlock_blocked_until: float | None = None
    pin: SaltedHash | None = None


class CardModel(Protocol):
    """What the codec needs to know of a card class (`DscPlus`, `Gold`, `Platinum`)."""

    @property
    def model(self) -> str: ...
    @property
    def pin_modes(self) -> tuple[str, ...]: ...
    @property
    def default_suites(self) -> Mapping[str, str]: ...


def check_suite(text: str, pin_mode: str) -> OcraSuite:
    """The suite a card may use: a numeric challenge the keypad can type, a response the display
    can show, and a PIN input exactly when the card does not check the PIN itself."""
    suite = OcraSuite.parse(text)
    where = f"suite {text!r}"
    if suite.question_format != "N" or not 4 <= suite.question_length <= DISPLAY_WIDTH:
        raise SuiteError(f"{where}: the card takes a numeric challenge of 4-8 digits (QN04-QN08)")
    if suite.counter or suite.session_length is not None or suite.time_step is not None:
        raise SuiteError(f"{where}: the card keeps no counter, session or clock input (C, S, T)")
    if not 4 <= suite.digits <= DISPLAY_WIDTH:
        raise SuiteError(f"{where}: the response must be 4 to 8 digits to fit the display")
    if pin_mode == "soft" and suite.pin_hash is None:
        raise SuiteError(f"{where}: a soft-PIN card feeds the PIN into the response (needs P..)")
    if pin_mode == "device" and suite.pin_hash is not None:
        raise SuiteError(f"{where}: a device-PIN card checks the PIN itself (no P.. item)")
    return suite


def new_image(card: CardModel, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
    """A brand-new card. `ValueError` for a bad spec (wrong model, PIN, suite or option)."""
    if spec.model != card.model:
        raise ValueError(f"spec is for model {spec.model!r}, not {card.model!r}")
    mode = spec.pin_mode or card.pin_modes[0]
    if mode not in card.pin_modes:
        allowed = " or ".join(repr(m) for m in card.pin_modes)
        raise ValueError(f"{card.model} pin_mode must be {allowed}, not {mode!r}")
    if not spec.key:
        raise ValueError(f"a {card.model} card needs a key")
    options = dict(spec.options)
    if "pin_mode" in options:
        raise ValueError("give the PIN mode as pin_mode (--pin-mode), not as an option")
    options["pin_mode"] = mode
    config = DscPlusConfig.from_mapping(options)
    suite = spec.suite or card.default_suites[mode]
    check_suite(suite, mode)
    if mode == "soft" and spec.pin is not None:
        raise ValueError(
            "a soft-PIN card stores no PIN (the PIN feeds the response and the host keeps "
            "it): make the image without a PIN, or use pin_mode 'device'"
        )
    pin = None
    if spec.pin is not None:
        pin = SaltedHash.make(PIN_LABEL, PIN_RULE.check(spec.pin, "card"), entropy)
    state = write_state(config, DscPlusState(pin=pin))
    return DeviceImage(card.model, spec.serial, spec.key, suite, config.to_mapping(), state)


def read_config(card: CardModel, image: DeviceImage) -> tuple[DscPlusConfig, OcraSuite]:
    """The settings and suite of a card image. `ImageError` if they do not describe a valid card
    of this model."""
    if image.model != card.model:
        raise ImageError(f"image is of model {image.model!r}, not {card.model!r}")
    try:
        config = DscPlusConfig.from_mapping(image.config)
        if config.pin_mode not in card.pin_modes:
            raise FieldError(f"{card.model} cannot use pin_mode {config.pin_mode!r}")
        if image.suite is None:
            raise FieldError("no suite")
        return config, check_suite(image.suite, config.pin_mode)
    except ValueError as error:
        raise inconsistent(card.model, error) from None


def read_state(model: str, config: DscPlusConfig, state: Mapping[str, JsonValue]) -> DscPlusState:
    """The durable state of a card image. `ImageError` for a missing, unknown or bad field."""
    device_pin = config.pin_mode == "device"
    known = _DEVICE_STATE_FIELDS if device_pin else _SOFT_STATE_FIELDS
    try:
        check_fields(state, "state", allowed=known, required=known)
        used = _PRESSES.check(state["presses_used"], "presses_used")
        if not device_pin:
            return DscPlusState(presses_used=used)
        loaded = DscPlusState(
            presses_used=used,
            failures=Whole(0, config.pin_retries).check(state["failures"], "failures"),
            locked=Flag().check(state["locked"], "locked"),
            unlock_failures=Whole(0, config.unlock_retries - 1).check(
                state["unlock_failures"], "unlock_failures"
            ),
        )
        if loaded.locked != (state["lock_number"] is not None):
            raise FieldError("lock state and lock number disagree")
        loaded.lock_number = _LOCK_NUMBER.check(state["lock_number"], "lock_number")
        blocked = _TIME.check(state["unlock_blocked_until"], "unlock_blocked_until")
        loaded.unlock_blocked_until = None if blocked is None else float(blocked)
        if state["pin"] is not None:
            try:
                loaded.pin = SaltedHash.from_json(PIN_LABEL, state["pin"])
            except ImageError:
                raise FieldError("PIN hash is malformed") from None
    except ValueError as error:
        raise inconsistent(model, error) from None
    return loaded


def write_state(config: DscPlusConfig, state: DscPlusState) -> dict[str, JsonValue]:
    """The image `state` of a card: battery use and, in device mode, the PIN state."""
    values: dict[str, JsonValue] = {"presses_used": state.presses_used}
    if config.pin_mode == "device":
        values.update(
            failures=state.failures,
            locked=state.locked,
            lock_number=state.lock_number,
            unlock_failures=state.unlock_failures,
            unlock_blocked_until=state.unlock_blocked_until,
            pin=None if state.pin is None else state.pin.to_json(),
        )
    return values
