"""Device kinds as the policies see them: model names, which are temporary or physical, and
their protection levels.

The firmware models (`firmware_model.models.MODEL_NAMES`) are the devices one can emulate; the
policies also know three kinds that have no firmware: SMS codes, the Online Security Code Card
(printed from the portal) and the Temporary Code (given by phone). `NO_DEVICE` is the row of the
withdrawal table for an account that opted out of the Secure Login System.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from firmware_model.models import MODEL_NAMES

SMS = "sms"
ONLINE_SCC = "online_scc"
TEMPORARY = "temporary"
NO_DEVICE = "none"

KNOWN_MODELS: frozenset[str] = frozenset(MODEL_NAMES) | {SMS, ONLINE_SCC, TEMPORARY}
"""Every model a device record may carry (`NO_DEVICE` is not a device)."""

TEMPORARY_MODELS: frozenset[str] = frozenset({TEMPORARY, ONLINE_SCC})
"""KB2481 b): "temporary security device (Temporary Code, Online Security Code Card)"."""

DSCPLUS_MODELS: frozenset[str] = frozenset({"dscplus", "dscplus_classic"})
"""Both generations of the DSC+ (the older one shows `Pn`/`Ch`): one product to the policies."""

PHYSICAL_MODELS: frozenset[str] = frozenset(
    {"dscplus", "dscplus_classic", "platinum", "gold", "dsc", "scc"}
)
"""Devices one holds in the hand: the only ones KB2481 sharing applies to."""

# Protection levels, higher is stronger. The seed fixes the ends (KB2481: DSC+ "Highest", Security
# Code Card "Lowest"); in between we order by the withdrawal caps each device is trusted with
# (KB2895), current devices above legacy ones of equal caps, and Platinum above Gold as the names
# rank them. IB Key and SMS are ranked for completeness although they are never shared this way.
PROTECTION_LEVEL: Mapping[str, int] = MappingProxyType(
    {
        "dscplus": 7,
        "dscplus_classic": 7,  # the older DSC+ generation is a DSC+ (same codes, same caps)
        "platinum": 6,
        "gold": 5,
        "dsc": 4,
        "ibkey": 3,
        SMS: 2,
        "scc": 1,
    }
)

DISPLAY_NAME: Mapping[str, str] = MappingProxyType(
    {
        "dscplus": "Digital Security Card+",
        "dscplus_classic": "Digital Security Card+ (older generation)",
        "platinum": "Platinum device",
        "gold": "Gold device",
        "dsc": "Digital Security Card",
        "ibkey": "IBKR Mobile (IB Key)",
        SMS: "SMS",
        "scc": "Security Code Card",
        ONLINE_SCC: "Online Security Code Card",
        TEMPORARY: "Temporary Code",
        NO_DEVICE: "Secure Login opt-out",
    }
)


def display_name(model: str) -> str:
    """The human name of `model` (the model name itself if unknown)."""
    return DISPLAY_NAME.get(model, model)


@dataclass(frozen=True, slots=True)
class HeldDevice:
    """A device a user holds, as the policies see it. `temporary` marks a temporary record
    whatever its model."""

    serial: str
    model: str
    active: bool = True
    temporary: bool = False

    def __post_init__(self) -> None:
        if not self.serial:
            raise ValueError("a device has a serial")

    @property
    def is_temporary(self) -> bool:
        return self.temporary or self.model in TEMPORARY_MODELS

    @property
    def is_physical(self) -> bool:
        return self.model in PHYSICAL_MODELS and not self.is_temporary
