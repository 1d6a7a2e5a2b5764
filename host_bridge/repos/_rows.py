"""Values read from the store are checked as they are read: a row someone edited past the
schema's constraints, a damaged page or a value of the wrong type becomes `StoreDamaged`
(one line, exit 2) at the repository, never a `TypeError` deep in a service.

Checks are by type, not by conversion (`int("12")` or `bytes(5)` would let damage through), and
cheap: the verification's hot path reads through them too.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from firmware_model.errors import SlsError
from host_bridge.errors import StoreDamaged

T = TypeVar("T")


@contextlib.contextmanager
def decoding(what: str) -> Iterator[None]:
    """Turn a `ValueError`/`TypeError` raised while a row becomes a record (a constructor's
    validation, an unknown enum value) into `StoreDamaged(what)`."""
    try:
        yield
    except SlsError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError):
        raise StoreDamaged(what) from None


def integer(value: Any) -> int:
    if type(value) is not int:
        raise TypeError("not an integer")
    return value


def real(value: Any) -> float:
    if type(value) is not float and type(value) is not int:
        raise TypeError("not a number")
    if not math.isfinite(value):
        raise ValueError("not finite")
    return float(value)


def text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError("not text")
    return value


def blob(value: Any) -> bytes:
    if isinstance(value, memoryview):
        return value.tobytes()
    if type(value) is not bytes:
        raise TypeError("not bytes")
    return value


def flag(value: Any) -> bool:
    if value not in (0, 1) or type(value) is not int:
        raise ValueError("not 0 or 1")
    return bool(value)


def opt(check: Callable[[Any], T], value: Any) -> T | None:
    return None if value is None else check(value)


def new_id(key: object) -> int:
    """The id of the row an INSERT just made (`result.inserted_primary_key`)."""
    if not isinstance(key, Sequence) or not key:
        raise StoreDamaged("the store returned no id for a new row")
    return int(key[0])
