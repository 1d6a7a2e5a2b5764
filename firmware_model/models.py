"""The model registry: one `ModelProfile` per kind of device, read by every layer.

A profile holds what a model *is* — its name, serial prefix, device class, PIN rule, challenge
kind, default withdrawal limits, names for people, faceplate hint and the broker's device type
codes — so that no other module spells a model list of its own. It holds no behaviour: the state
machines stay in their device modules, the policies in `host_bridge`.

Firmware models (DESIGN.md: `dscplus` and its older generation `dscplus_classic`, `scc`, `dsc`,
`gold`, `platinum`, `ibkey`) have a device class and can be emulated (`MODEL_NAMES`). The
registry also knows the kinds the host issues that have no firmware of their own: SMS codes, the
Online Security Code Card (a printed SCC, so its image is an `scc` image) and the Temporary Code
given by phone.

Facts come from the seed and DESIGN.md: withdrawal limits from KB2895 (SCC 200K/600K, IBKR Mobile
1M/1M, DSC 1M/1.5M, DSC+/Gold/Platinum unlimited, SMS 200K/600K), device type codes from the
broker's login protocol. The Online SCC's and Temporary Code's limits are our decisions
(docs/policies.md).
"""

from __future__ import annotations

import enum
import importlib
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast

from firmware_model.device import Device, Entropy, ImageSpec
from firmware_model.image import DeviceImage

SERIAL_DIGITS = 10


class PinCharset(enum.Enum):
    """Which characters a PIN may hold."""

    DIGITS = frozenset(string.digits)
    """A card keypad: 0-9."""
    PRINTABLE = frozenset(string.ascii_letters + string.digits + string.punctuation)
    """A phone app: letters, digits and ASCII specials (IB Key)."""


@dataclass(frozen=True, slots=True)
class PinRule:
    """The PIN a model takes: `min_length` to `max_length` characters of `charset`."""

    min_length: int
    max_length: int
    charset: PinCharset

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("a PIN rule needs 1 <= min_length <= max_length")

    @property
    def fixed_length(self) -> bool:
        """Whether every PIN has the same length (a card: the PIN is complete at that length)."""
        return self.min_length == self.max_length

    def describe(self) -> str:
        """The rule in words, e.g. "4 digits"."""
        what = "digits" if self.charset is PinCharset.DIGITS else "letters, digits or specials"
        if self.fixed_length:
            return f"{self.max_length} {what}"
        return f"{self.min_length} to {self.max_length} {what}"

    def allows(self, pin: object) -> bool:
        """Whether `pin` follows the rule."""
        return (
            isinstance(pin, str)
            and self.min_length <= len(pin) <= self.max_length
            and set(pin) <= self.charset.value
        )

    def check(self, pin: object, device: str) -> str:
        """`pin` if it follows the rule, else `ValueError` naming `device` (never the PIN)."""
        if not self.allows(pin):
            raise ValueError(f"the {device} PIN must be {self.describe()}")
        return cast(str, pin)


class ChallengeKind(enum.Enum):
    """How the host asks a model for a code. The values are the host's stored kind names."""

    OCRA = "ocra"
    """A decimal challenge typed into the device; an OCRA response (RFC 6287)."""
    SCC_CELLS = "scc"
    """Two cell indices of a Security Code Card; the two 3-character codes side by side."""
    TIME_PASSCODE = "time"
    """No challenge: the device shows a time-based passcode (legacy DSC)."""
    SMS_CODE = "sms"
    """The host sends a code by SMS (or reads it by voice)."""
    NONE = "none"
    """The host issues no challenge to it (the Temporary Code is a static code)."""


class FaceKind(enum.Enum):
    """Which kind of faceplate draws a model in the TUI."""

    CARD = "card"
    """A credit-card device with a segment LCD and a keypad with BACK (◄)."""
    LEGACY_CARD = "legacy_card"
    """A legacy card: segment LCD, keypad with C instead of BACK."""
    SCC_GRID = "scc_grid"
    """A printed grid of indexed cells."""
    PHONE = "phone"
    """A phone app."""
    NONE = "none"
    """Nothing to draw (SMS, Temporary Code)."""


@dataclass(frozen=True, slots=True)
class FaceplateHint:
    """How a model looks: the kind of faceplate and the title printed on it."""

    kind: FaceKind
    title: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FaceKind):
            raise ValueError("a faceplate hint needs a FaceKind")


@dataclass(frozen=True, slots=True)
class WithdrawalLimits:
    """Default caps in whole US dollars per business day and per five business days (rolling).
    `None` is unlimited. The host turns them into its own units and may override them."""

    per_day_usd: int | None
    per_five_days_usd: int | None

    def __post_init__(self) -> None:
        for cap in (self.per_day_usd, self.per_five_days_usd):
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
                raise ValueError("a withdrawal limit is a non-negative number of USD or None")

    @property
    def unlimited(self) -> bool:
        """Whether neither window has a cap."""
        return self.per_day_usd is None and self.per_five_days_usd is None


UNLIMITED = WithdrawalLimits(None, None)


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """Everything the layers need to know about one model (see the module docstring).

    `firmware` is `(module, class)` of the device that emulates it, imported only when asked for
    (`device_class`), so loading one model does not load them all; `image_model` is the model
    written into its image (an Online SCC is an `scc` image). Both are `None` for kinds without
    firmware. `type_codes` are the broker's device type codes (IB Key has one per platform).
    `physical`: a device held in the hand (the only kind KB2481 sharing applies to);
    `temporary`: a temporary device (KB2481 b: Temporary Code, Online SCC).
    """

    name: str
    display_name: str
    short_name: str
    serial_prefix: str | None
    image_model: str | None
    firmware: tuple[str, str] | None
    pin_rule: PinRule | None
    challenge: ChallengeKind
    limits: WithdrawalLimits
    faceplate: FaceplateHint
    type_codes: tuple[str, ...]
    physical: bool
    temporary: bool

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier():
            raise ValueError(f"bad model name {self.name!r}")
        prefix = self.serial_prefix
        if prefix is not None and not (len(prefix) == 2 and prefix.isascii() and prefix.isupper()):
            raise ValueError(f"{self.name}: a serial prefix is two capital letters")
        if (self.image_model is None) != (self.firmware is None):
            raise ValueError(f"{self.name}: image_model and firmware go together")
        for field_type, value in (
            (ChallengeKind, self.challenge),
            (WithdrawalLimits, self.limits),
            (FaceplateHint, self.faceplate),
        ):
            if not isinstance(value, field_type):
                raise ValueError(f"{self.name}: expected a {field_type.__name__}")
        if self.pin_rule is not None and not isinstance(self.pin_rule, PinRule):
            raise ValueError(f"{self.name}: expected a PinRule or None")

    @property
    def emulated(self) -> bool:
        """Whether the model has firmware of its own (an image of this model can be made)."""
        return self.image_model == self.name

    def device_class(self) -> type[Device]:
        """The class that emulates this model's image. `ValueError` for a kind without one."""
        if self.firmware is None:
            raise ValueError(f"the {self.display_name} has no device to emulate")
        module_name, class_name = self.firmware
        return cast(type[Device], getattr(importlib.import_module(module_name), class_name))


_CARD_PIN = PinRule(4, 4, PinCharset.DIGITS)  # KB1943: a 4-digit Soft PIN; legacy DSC: 4 digits
_APP_PIN = PinRule(4, 6, PinCharset.PRINTABLE)  # IBKR Mobile: 4-6 letters, digits, specials
_200K_600K = WithdrawalLimits(200_000, 600_000)
_SCC_FIRMWARE = ("firmware_model.scc", "SecurityCodeCardDevice")

_PROFILES: tuple[ModelProfile, ...] = (
    ModelProfile(
        name="dscplus", display_name="Digital Security Card+", short_name="DSC+",
        serial_prefix="DP", image_model="dscplus", firmware=("firmware_model.dscplus", "DscPlus"),
        pin_rule=_CARD_PIN, challenge=ChallengeKind.OCRA, limits=UNLIMITED,
        faceplate=FaceplateHint(FaceKind.CARD, "Digital Security Card+"),
        type_codes=("5.1",), physical=True, temporary=False,
    ),
    ModelProfile(
        # The older DSC+ generation (DESIGN.md: `Pn`/`Ch`, the response as 5 then 3 digits): its
        # own model, so the display is the emulator's business and the host verifies it as a DSC+
        # (same suite, limits and type code). Serial prefix "DC" is ours.
        name="dscplus_classic", display_name="Digital Security Card+ (older generation)",
        short_name="DSC+ classic", serial_prefix="DC", image_model="dscplus_classic",
        firmware=("firmware_model.dscplus_classic", "DscPlusClassic"),
        pin_rule=_CARD_PIN, challenge=ChallengeKind.OCRA, limits=UNLIMITED,
        faceplate=FaceplateHint(FaceKind.CARD, "Digital Security Card+"),
        type_codes=("5.1",), physical=True, temporary=False,
    ),
    ModelProfile(
        name="gold", display_name="Gold device", short_name="Gold",
        serial_prefix="GD", image_model="gold", firmware=("firmware_model.dscplus", "Gold"),
        pin_rule=_CARD_PIN, challenge=ChallengeKind.OCRA, limits=UNLIMITED,
        faceplate=FaceplateHint(FaceKind.CARD, "Gold Security Device"),
        type_codes=("5",), physical=True, temporary=False,
    ),
    ModelProfile(
        name="platinum", display_name="Platinum device", short_name="Platinum",
        serial_prefix="PT", image_model="platinum", firmware=("firmware_model.dscplus", "Platinum"),
        pin_rule=_CARD_PIN, challenge=ChallengeKind.OCRA, limits=UNLIMITED,
        faceplate=FaceplateHint(FaceKind.CARD, "Platinum Security Device"),
        type_codes=("5",), physical=True, temporary=False,
    ),
    ModelProfile(
        name="dsc", display_name="Digital Security Card", short_name="DSC",
        serial_prefix="DS", image_model="dsc", firmware=("firmware_model.legacy_dsc", "LegacyDsc"),
        pin_rule=_CARD_PIN, challenge=ChallengeKind.TIME_PASSCODE,
        limits=WithdrawalLimits(1_000_000, 1_500_000),
        faceplate=FaceplateHint(FaceKind.LEGACY_CARD, "Digital Security Card"),
        type_codes=("4.1",), physical=True, temporary=False,
    ),
    ModelProfile(
        name="scc", display_name="Security Code Card", short_name="SCC",
        serial_prefix="SC", image_model="scc", firmware=_SCC_FIRMWARE,
        pin_rule=None, challenge=ChallengeKind.SCC_CELLS, limits=_200K_600K,
        faceplate=FaceplateHint(FaceKind.SCC_GRID, "Security Code Card"),
        type_codes=("3",), physical=True, temporary=False,
    ),
    ModelProfile(
        name="ibkey", display_name="IBKR Mobile (IB Key)", short_name="IB Key",
        serial_prefix="IK", image_model="ibkey", firmware=("firmware_model.ibkey", "IbKey"),
        pin_rule=_APP_PIN, challenge=ChallengeKind.OCRA,
        limits=WithdrawalLimits(1_000_000, 1_000_000),
        faceplate=FaceplateHint(FaceKind.PHONE, "IBKR Mobile · IB Key"),
        type_codes=("5.2a", "5.2i"), physical=False, temporary=False,
    ),
    # Kinds without firmware of their own. The Online SCC is printed from the portal: an SCC
    # image, and temporary (KB2481 b).
    ModelProfile(
        name="online_scc", display_name="Online Security Code Card", short_name="Online SCC",
        serial_prefix="SC", image_model="scc", firmware=_SCC_FIRMWARE,
        pin_rule=None, challenge=ChallengeKind.SCC_CELLS, limits=_200K_600K,
        faceplate=FaceplateHint(FaceKind.SCC_GRID, "Online Security Code Card"),
        type_codes=("3",), physical=False, temporary=True,
    ),
    ModelProfile(
        name="sms", display_name="SMS", short_name="SMS",
        serial_prefix="SM", image_model=None, firmware=None,
        pin_rule=None, challenge=ChallengeKind.SMS_CODE, limits=_200K_600K,
        faceplate=FaceplateHint(FaceKind.NONE, "SMS"),
        type_codes=("4.2",), physical=False, temporary=False,
    ),
    ModelProfile(
        # The Temporary Code only reaches the Online SCC (KB69/KB70): it confirms no withdrawal.
        # It is a code, not a device: no serial of its own.
        name="temporary", display_name="Temporary Code", short_name="Temporary",
        serial_prefix=None, image_model=None, firmware=None,
        pin_rule=None, challenge=ChallengeKind.NONE, limits=WithdrawalLimits(0, 0),
        faceplate=FaceplateHint(FaceKind.NONE, "Temporary Code"),
        type_codes=(), physical=False, temporary=True,
    ),
)

PROFILES: Mapping[str, ModelProfile] = MappingProxyType({p.name: p for p in _PROFILES})
"""Every model a device record may carry, by name."""

MODEL_NAMES: tuple[str, ...] = tuple(p.name for p in _PROFILES if p.emulated)
"""The models one can emulate (`slsemu image new --model`)."""


def profile(model: str) -> ModelProfile:
    """The profile of `model`. Raises `ValueError` for an unknown model."""
    try:
        return PROFILES[model]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown model {model!r} (known: {known})") from None


def short_name(model: str) -> str:
    """The short name of `model` for tabs and narrow lists (the model name itself if unknown)."""
    known = PROFILES.get(model)
    return known.short_name if known is not None else model


def pin_rule_of(model: str) -> PinRule:
    """The PIN rule of `model`. Raises `ValueError` if it is unknown or takes no PIN."""
    rule = profile(model).pin_rule
    if rule is None:
        raise ValueError(f"a {model} takes no PIN")
    return rule


def device_class(model: str) -> type[Device]:
    """The class that emulates images of `model`. Raises `ValueError` for an unknown model."""
    if model not in MODEL_NAMES:
        known = ", ".join(MODEL_NAMES)
        raise ValueError(f"unknown model {model!r} (known: {known})")
    return PROFILES[model].device_class()


def new_image(spec: ImageSpec, entropy: Entropy) -> DeviceImage:
    """Make the image of a brand-new device of `spec.model`."""
    return device_class(spec.model).new_image(spec, entropy)


def load_device(image: DeviceImage, entropy: Entropy) -> Device:
    """Load the device an image describes (powered off)."""
    return device_class(image.model).from_image(image, entropy)


def make_serial(model: str, entropy: Entropy) -> str:
    """A fresh serial for `model`: its prefix and ten unbiased random digits."""
    prefix = profile(model).serial_prefix
    if prefix is None:
        raise ValueError(f"a {model} has no serial of its own")
    return prefix + random_digits(SERIAL_DIGITS, entropy)


def random_digits(count: int, entropy: Entropy) -> str:
    """`count` uniformly random decimal digits (rejection sampling: no modulo bias)."""
    digits: list[str] = []
    while len(digits) < count:
        for byte in entropy(count):
            if byte < 250:  # 250 = 25 * 10: keeps each digit equally likely
                digits.append(str(byte % 10))
                if len(digits) == count:
                    break
    return "".join(digits)
