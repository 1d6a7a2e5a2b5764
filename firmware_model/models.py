"""The model registry: model name → device class, and the serial-number scheme.

Models (DESIGN.md): `dscplus`, `scc`, `dsc`, `gold`, `platinum`, `ibkey`.
"""

from __future__ import annotations

import importlib
from typing import cast

from firmware_model.device import Device, Entropy, ImageSpec
from firmware_model.image import DeviceImage

# model name → (module, class). Imported lazily so loading one model does not load them all.
_MODELS: dict[str, tuple[str, str]] = {
    "dscplus": ("firmware_model.dscplus", "DscPlus"),
    "gold": ("firmware_model.dscplus", "Gold"),
    "platinum": ("firmware_model.dscplus", "Platinum"),
    "dsc": ("firmware_model.legacy_dsc", "LegacyDsc"),
    "scc": ("firmware_model.scc", "SecurityCodeCardDevice"),
    "ibkey": ("firmware_model.ibkey", "IbKey"),
}
MODEL_NAMES: tuple[str, ...] = tuple(_MODELS)

# Serial prefixes; the digits after them come from the caller's entropy.
SERIAL_PREFIX: dict[str, str] = {
    "dscplus": "DP",
    "gold": "GD",
    "platinum": "PT",
    "dsc": "DS",
    "scc": "SC",
    "ibkey": "IK",
}
SERIAL_DIGITS = 10


def device_class(model: str) -> type[Device]:
    """The class that emulates `model`. Raises `ValueError` for an unknown model."""
    try:
        module_name, class_name = _MODELS[model]
    except KeyError:
        known = ", ".join(MODEL_NAMES)
        raise ValueError(f"unknown model {model!r} (known: {known})") from None
    module = importlib.import_module(module_name)
    return cast(type[Device], getattr(module, class_name))


def new_image(spec: ImageSpec, entropy: Entropy) -> DeviceImage:
    """Make the image of a brand-new device of `spec.model`."""
    return device_class(spec.model).new_image(spec, entropy)


def load_device(image: DeviceImage, entropy: Entropy) -> Device:
    """Load the device an image describes (powered off)."""
    return device_class(image.model).from_image(image, entropy)


def make_serial(model: str, entropy: Entropy) -> str:
    """A fresh serial for `model`: its prefix and ten unbiased random digits."""
    if model not in SERIAL_PREFIX:
        raise ValueError(f"unknown model {model!r}")
    return SERIAL_PREFIX[model] + random_digits(SERIAL_DIGITS, entropy)


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
