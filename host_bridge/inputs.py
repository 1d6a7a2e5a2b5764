"""Checks of what callers type: names, identification data, amounts. `BridgeError` otherwise."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from host_bridge.domain import Identification
from host_bridge.errors import BridgeError

NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


def check_name(name: str, what: str = "user name") -> str:
    """`name` if it is 1-64 characters of letters, digits and `._-@`; otherwise `BridgeError`."""
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not set(name) <= NAME_CHARS:
        raise BridgeError(f"bad {what} {name!r} (1-64 letters, digits, '._-@')")
    return name


MAX_IDENTIFICATION_CHARS: Final = 64
_ISO_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def check_identification(ident: Identification) -> None:
    """`BridgeError` unless the date of birth is `YYYY-MM-DD` and every other field is 1-64
    characters. The values are not echoed: the ID number is personal data."""
    born = ident.date_of_birth
    if born is not None:
        try:
            if not _ISO_DATE_RE.fullmatch(born):
                raise ValueError(born)
            dt.date.fromisoformat(born)
        except ValueError:
            raise BridgeError("a date of birth is YYYY-MM-DD") from None
    for name in ("citizenship", "residence", "id_type", "id_number"):
        value = getattr(ident, name)
        if value is not None and not 1 <= len(value) <= MAX_IDENTIFICATION_CHARS:
            raise BridgeError(
                f"{name.replace('_', ' ')} must be 1 to {MAX_IDENTIFICATION_CHARS} characters"
            )


# ASCII digits only (str.isdigit would take "١٢٣"), commas only as thousands separators, at most
# two decimals, and at most 15 digits before the point (a trillion dollars and then some).
_AMOUNT_RE = re.compile(r"([0-9]{1,3}(?:,[0-9]{3}){1,4}|[0-9]{1,15})(?:\.([0-9]{1,2}))?")


def money_to_cents(text: str) -> int:
    """`"1234.56"` or `"1,234.56"` (USD) → 123456 cents. Raises `BridgeError` otherwise."""
    match = _AMOUNT_RE.fullmatch(text.strip())
    if match is None:
        raise BridgeError(f"bad amount {text[:40]!r} (USD, e.g. 1500000, 1,500,000 or 1234.56)")
    whole, frac = match.group(1).replace(",", ""), match.group(2) or ""
    return int(whole) * 100 + int(frac.ljust(2, "0"))
