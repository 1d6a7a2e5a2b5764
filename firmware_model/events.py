"""Device events: what a device announces in `Reaction.events`, as frozen dataclasses.

Theory of operation. A device reports what happened (powered on, PIN rejected, push approved…)
as one of the event types below; every consumer reads the same types — the serial server puts
them on the line (`serial_codec.device_event`), the TUI logs them and routes push answers to the
login screen, scripts and tests compare them. Nobody parses a string to learn what happened.

Each type has one *name*, its spelling on the serial line (`EVT DEVICE <name> <args>`,
docs/serial-protocol.md): the card events in lower case (`power-on`, `pin-fail 2`), the IB Key
app's in upper case (`PUSH APPROVED <push_id> <response>`). The fields follow the name in the
order they are declared; `to_wire` and `from_wire` are each other's inverse.

Secrets: a field declared with `repr=False` holds a code (the response of an IB Key push or
manual response). It travels on the wire, as the app's answer does to the broker's server, but
never in `repr`, `str` or `describe()` — which is what the event log shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar, Final


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Base of every device event. Subclasses set `name` and declare their fields."""

    name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a device event is one of the DeviceEvent subclasses")
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"{self.name}: {spec.name} must be a positive integer")
            elif not _is_word(value):
                # One printable word: the line splits the arguments at spaces. Never echo it.
                raise ValueError(f"{self.name}: {spec.name} must be one word of printable ASCII")

    def args(self, *, secrets: bool) -> tuple[str, ...]:
        """The field values as text, in declaration order; without the secret ones unless
        `secrets`."""
        return tuple(str(getattr(self, f.name)) for f in fields(self) if secrets or f.repr)

    def describe(self) -> str:
        """One line for a log: the name and the arguments, never a code."""
        return " ".join((self.name, *self.args(secrets=False)))

    def __str__(self) -> str:
        return self.describe()


def _is_word(value: object) -> bool:
    return isinstance(value, str) and value != "" and all("!" <= c <= "~" for c in value)


# --- cards (DSC+, Gold, Platinum, legacy DSC) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PowerOn(DeviceEvent):
    """The device was switched on."""

    name: ClassVar[str] = "power-on"


@dataclass(frozen=True, slots=True)
class PowerOff(DeviceEvent):
    """The device was switched off (POWER, or a timeout)."""

    name: ClassVar[str] = "power-off"


@dataclass(frozen=True, slots=True)
class BatteryLow(DeviceEvent):
    """Few presses are left in the battery (shown at power-on)."""

    name: ClassVar[str] = "battery-low"


@dataclass(frozen=True, slots=True)
class BatteryDead(DeviceEvent):
    """The battery is spent: the device will never respond again."""

    name: ClassVar[str] = "battery-dead"


@dataclass(frozen=True, slots=True)
class ResponseShown(DeviceEvent):
    """A response is on the display (the code itself is only on the display)."""

    name: ClassVar[str] = "response"


@dataclass(frozen=True, slots=True)
class PinAccepted(DeviceEvent):
    """The device checked the PIN and it was right."""

    name: ClassVar[str] = "pin-ok"


@dataclass(frozen=True, slots=True)
class PinRejected(DeviceEvent):
    """The device checked the PIN and it was wrong; `failures` in a row so far."""

    name: ClassVar[str] = "pin-fail"
    failures: int


@dataclass(frozen=True, slots=True)
class PinLocked(DeviceEvent):
    """Too many wrong PINs: the PIN is locked (unlock code, or recovery on IB Key)."""

    name: ClassVar[str] = "lock"


@dataclass(frozen=True, slots=True)
class UnlockFailed(DeviceEvent):
    """A wrong unlock code was entered on a PIN-locked card."""

    name: ClassVar[str] = "unlock-fail"


@dataclass(frozen=True, slots=True)
class UnlockBlocked(DeviceEvent):
    """Too many wrong unlock codes: the card refuses more for a while."""

    name: ClassVar[str] = "unlock-blocked"


@dataclass(frozen=True, slots=True)
class PinSet(DeviceEvent):
    """A new PIN was chosen and confirmed."""

    name: ClassVar[str] = "pin-set"


@dataclass(frozen=True, slots=True)
class Unlocked(DeviceEvent):
    """The PIN lock was lifted (a right unlock code, then a new PIN)."""

    name: ClassVar[str] = "unlock"


# --- IB Key (the IBKR Mobile app) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activated(DeviceEvent):
    """The app was activated for `username`."""

    name: ClassVar[str] = "ACTIVATED"
    username: str


@dataclass(frozen=True, slots=True)
class UserAdded(DeviceEvent):
    """"Add user": `username` now uses this app too."""

    name: ClassVar[str] = "USER ADDED"
    username: str


@dataclass(frozen=True, slots=True)
class ResponseComputed(DeviceEvent):
    """The app computed `response` for `username`'s typed challenge."""

    name: ClassVar[str] = "RESPONSE"
    username: str
    response: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PushReplaced(DeviceEvent):
    """A newer push notification replaced the unanswered `push_id`."""

    name: ClassVar[str] = "PUSH REPLACED"
    push_id: str


@dataclass(frozen=True, slots=True)
class PushApproved(DeviceEvent):
    """The user approved push `push_id`; `response` is the app's answer to its challenge."""

    name: ClassVar[str] = "PUSH APPROVED"
    push_id: str
    response: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PushDenied(DeviceEvent):
    """The user denied push `push_id`."""

    name: ClassVar[str] = "PUSH DENIED"
    push_id: str


@dataclass(frozen=True, slots=True)
class PushExpired(DeviceEvent):
    """Push `push_id` went unanswered for too long."""

    name: ClassVar[str] = "PUSH EXPIRED"
    push_id: str


@dataclass(frozen=True, slots=True)
class Reinstalled(DeviceEvent):
    """The app was reinstalled: it needs recovery."""

    name: ClassVar[str] = "REINSTALLED"


@dataclass(frozen=True, slots=True)
class Recovered(DeviceEvent):
    """Recovery with the recovery PIN succeeded."""

    name: ClassVar[str] = "RECOVERED"


EVENT_TYPES: Final[tuple[type[DeviceEvent], ...]] = (
    PowerOn, PowerOff, BatteryLow, BatteryDead, ResponseShown, PinAccepted, PinRejected,
    PinLocked, UnlockFailed, UnlockBlocked, PinSet, Unlocked,
    Activated, UserAdded, ResponseComputed, PushReplaced, PushApproved, PushDenied, PushExpired,
    Reinstalled, Recovered,
)  # fmt: skip
_BY_NAME: Final = {cls.name: cls for cls in EVENT_TYPES}


def to_wire(event: DeviceEvent) -> str:
    """The event as the serial line spells it after `EVT DEVICE ` (secrets included: the
    response of a push is the app's answer)."""
    return " ".join((event.name, *event.args(secrets=True)))


def from_wire(text: str) -> DeviceEvent:
    """The event `to_wire` spelled as `text`. Raises `ValueError` for anything else (the message
    never repeats the arguments, which may hold a code)."""
    words = text.split(" ")
    for size in (2, 1):  # two-word names first: "PUSH APPROVED …"
        cls = _BY_NAME.get(" ".join(words[:size]))
        if cls is not None:
            break
    else:
        raise ValueError("not a device event")
    values = words[size:]
    specs = fields(cls)
    if len(values) != len(specs):
        raise ValueError(f"{cls.name}: expected {len(specs)} argument(s), got {len(values)}")
    kwargs: dict[str, object] = {}
    for spec, value in zip(specs, values, strict=True):
        if spec.type in ("int", int):
            if not value.isascii() or not value.isdigit() or len(value) > 9:
                raise ValueError(f"{cls.name}: {spec.name} must be a positive integer")
            kwargs[spec.name] = int(value)
        else:
            kwargs[spec.name] = value
    return cls(**kwargs)
