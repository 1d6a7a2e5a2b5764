"""The field kinds of a device image's `config` and `state`: one validator, one message style.

Every model's codec (`firmware_model.dscplus_image`, `firmware_model.ibkey_image`, …) describes
its fields with these kinds, so loading an image, making one (`image new --option`) and the
messages a user sees come from one place:

    <field> must be a whole number from <low> to <high>
    <field> must be a number from <low> to <high>
    <field> must be true or false
    <field> must be one of 'a', 'b'
    <field> must be hex digits (<n> bytes)
    <field> must be text matching <rule>
    <field> must be an ISO date YYYY-MM-DD
    unknown <what> field(s) a, b        missing <what> field(s) a, b

A kind raises `FieldError` (a `ValueError`); the codec turns it into an `ImageError` for a file
(`inconsistent <model> image: <message>`, see `inconsistent`) or leaves it a `ValueError` for a
bad `ImageSpec`. No message ever echoes the value: a field may hold a secret.

`bool` is an `int` in Python; every numeric kind refuses it, and `Flag` takes only a bool. Ranges
are checked by comparison only, which refuses NaN and infinities and, unlike `math.isfinite`,
does not overflow on a JSON integer of hundreds of digits.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from firmware_model.errors import ImageError

__all__ = [
    "Choice",
    "FieldError",
    "Flag",
    "HexBytes",
    "IsoDate",
    "Kind",
    "Number",
    "Optional",
    "Text",
    "Whole",
    "check_fields",
    "inconsistent",
]

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Kind(Protocol[T_co]):
    """A field kind: `check` returns the value as the model uses it, or raises `FieldError`."""

    def check(self, value: object, name: str) -> T_co: ...


class FieldError(ValueError):
    """A config or state field that does not fit its kind (one line, never the value)."""


def inconsistent(model: str, error: ValueError) -> ImageError:
    """The one message style for an image whose content a model refuses."""
    return ImageError(f"inconsistent {model} image: {error}")


def check_fields(
    values: Mapping[str, object],
    what: str,
    *,
    allowed: Iterable[str],
    required: Iterable[str] = (),
) -> None:
    """Refuse fields that are not `allowed` and missing `required` ones (`FieldError`). A field
    this build does not write is a file from elsewhere or a hand edit, not data to carry along
    unread."""
    names = {str(name) for name in values}
    unknown = sorted(names - set(allowed))
    if unknown:
        raise FieldError(f"unknown {what} field(s) {', '.join(unknown)}")
    missing = sorted(set(required) - names)
    if missing:
        raise FieldError(f"missing {what} field(s) {', '.join(missing)}")


def _shown(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


@dataclass(frozen=True, slots=True)
class Whole:
    """A bounded integer (counters, retries, battery presses)."""

    low: int
    high: int

    def check(self, value: object, name: str) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (self.low <= value <= self.high)
        ):
            raise FieldError(f"{name} must be a whole number from {self.low} to {self.high}")
        return value


@dataclass(frozen=True, slots=True)
class Number:
    """A bounded int or float (seconds, device times)."""

    low: float
    high: float

    def check(self, value: object, name: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (self.low <= value <= self.high)
        ):
            raise FieldError(
                f"{name} must be a number from {_shown(self.low)} to {_shown(self.high)}"
            )
        return value


@dataclass(frozen=True, slots=True)
class Flag:
    """A JSON `true`/`false` (not 0/1)."""

    def check(self, value: object, name: str) -> bool:
        if not isinstance(value, bool):
            raise FieldError(f"{name} must be true or false")
        return value


@dataclass(frozen=True, slots=True)
class Choice(Generic[E]):
    """One of an enum's values, stored as the value (`"soft"`, `"active"`)."""

    kind: type[E]

    def check(self, value: object, name: str) -> E:
        for member in self.kind:
            if type(value) is type(member.value) and value == member.value:
                return member
        allowed = ", ".join(repr(member.value) for member in self.kind)
        raise FieldError(f"{name} must be one of {allowed}")


@dataclass(frozen=True, slots=True)
class HexBytes:
    """Bytes stored as hex digits, `low` to `high` bytes long (keys, hashes)."""

    low: int
    high: int

    def check(self, value: object, name: str) -> bytes:
        size = f"{self.low}" if self.low == self.high else f"{self.low} to {self.high}"
        try:
            if not isinstance(value, str):
                raise TypeError
            data = bytes.fromhex(value)
        except (TypeError, ValueError):
            raise FieldError(f"{name} must be hex digits ({size} bytes)") from None
        if not self.low <= len(data) <= self.high:
            raise FieldError(f"{name} must be hex digits ({size} bytes)")
        return data


@dataclass(frozen=True, slots=True)
class Text:
    """Text matching a pattern (whole match); `rule` says it in words for the message."""

    pattern: re.Pattern[str]
    rule: str

    def check(self, value: object, name: str) -> str:
        if not isinstance(value, str) or self.pattern.fullmatch(value) is None:
            raise FieldError(f"{name} must be text matching {self.rule}")
        return value


_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class IsoDate:
    """A calendar date as text `YYYY-MM-DD` (kept as the text: it is what the card prints)."""

    def check(self, value: object, name: str) -> str:
        # The pattern first: `date.fromisoformat` also takes week dates such as "2026-W01-1".
        if isinstance(value, str) and _ISO_DATE_RE.fullmatch(value):
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                pass
            else:
                return value
        raise FieldError(f"{name} must be an ISO date YYYY-MM-DD")


@dataclass(frozen=True, slots=True)
class Optional(Generic[T]):
    """`kind` or JSON `null` (None)."""

    kind: Kind[T]

    def check(self, value: object, name: str) -> T | None:
        return None if value is None else self.kind.check(value, name)
