"""HOTP (RFC 4226) and TOTP (RFC 6238), and the pieces OCRA (RFC 6287) shares with them.

Theory of operation: every OATH code is HMAC(key, message) followed by the RFC 4226 "dynamic
truncation" to a number of decimal digits. This module owns the two shared pieces —
`KeyedHmac` (a key set up once, then one HMAC per call) and `truncate` — and HOTP/TOTP on top
of them. `firmware_model.ocra` imports both; its fast path for numeric suites inlines the
truncation arithmetic (a call less per code), and a property test holds it equal to `truncate`.

Pure: no clock. TOTP takes the time as an argument; the caller reads the clock.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.hashes import SHA1, SHA256, SHA512, HashAlgorithm
from cryptography.hazmat.primitives.hmac import HMAC

__all__ = [
    "ALGORITHMS",
    "LEGACY_DSC_OTP",
    "MAX_DIGITS",
    "KeyedHmac",
    "OtpSpec",
    "hotp",
    "time_step",
    "totp",
    "truncate",
]

#: Hash names accepted everywhere in the project (lower case, as hashlib spells them).
ALGORITHMS: Final = ("sha1", "sha256", "sha512")

#: The truncated value has 31 bits (at most 2147483647), so more than 10 digits adds nothing.
MAX_DIGITS: Final = 10

#: RFC 4226 section 5.3: "at a minimum" 6 digits for HOTP; RFC 6238 inherits it.
MIN_OTP_DIGITS: Final = 6

_HASH_TYPES: Final[dict[str, type[HashAlgorithm]]] = {
    "sha1": SHA1,
    "sha256": SHA256,
    "sha512": SHA512,
}
_COUNTER_LIMIT: Final = 1 << 64  # C and T are 8-byte unsigned integers
_POWERS: Final = tuple(10**n for n in range(MAX_DIGITS + 1))
_UINT32_AT: Final = struct.Struct(">I").unpack_from


class KeyedHmac:
    """HMAC (RFC 2104) with the key set up once; `digest(message)` costs one HMAC, no key setup.

    Why not `hmac.digest` or a new HMAC object per call: both redo the key schedule (two hash
    compressions and a fresh context) every time. Here a keyed `cryptography` HMAC context is
    made once and copied per call (`HMAC.copy()`), which measured fastest of the options
    (`hmac.digest`, a stdlib `hmac` object copied, hashlib ipad/opad states copied).
    """

    __slots__ = ("_template", "algorithm", "digest_size")

    def __init__(self, key: bytes, algorithm: str = "sha1") -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        if not isinstance(key, bytes | bytearray | memoryview):
            raise TypeError("key must be bytes")
        if not len(key):
            raise ValueError("key must not be empty")
        self._template = HMAC(bytes(key), _HASH_TYPES[algorithm]())
        self.algorithm = algorithm
        self.digest_size: int = self._template.algorithm.digest_size

    def prefixed(self, prefix: bytes) -> KeyedHmac:
        """A KeyedHmac whose `digest(m)` is HMAC(key, prefix ‖ m): a fixed start absorbed once."""
        clone = object.__new__(KeyedHmac)
        clone._template = self._template.copy()
        clone._template.update(prefix)
        clone.algorithm = self.algorithm
        clone.digest_size = self.digest_size
        return clone

    @property
    def new_context(self) -> Callable[[], HMAC]:
        """A fresh keyed context per call (`update`, then `finalize`): for hot loops, as it
        saves the Python frame of `digest`."""
        return self._template.copy

    def digest(self, message: bytes) -> bytes:
        """HMAC(key, message)."""
        context = self._template.copy()
        context.update(message)
        return context.finalize()

    def __repr__(self) -> str:  # never the key
        return f"KeyedHmac(algorithm={self.algorithm!r})"


def truncate(mac: bytes, digits: int) -> str:
    """RFC 4226 section 5.3 dynamic truncation to `digits` decimal digits (1-10).

    The 31-bit number at the offset given by the last nibble, modulo 10**digits, zero-padded.
    With 10 digits the whole 31-bit number shows (it is below 2**31 < 10**10).
    """
    if not 1 <= digits <= MAX_DIGITS:
        raise ValueError(f"digits must be 1 to {MAX_DIGITS}")
    number = _UINT32_AT(mac, mac[-1] & 0x0F)[0] & 0x7FFFFFFF
    return str(number % _POWERS[digits]).zfill(digits)


def _check_digits(digits: int) -> None:
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise TypeError("digits must be an int")
    if not MIN_OTP_DIGITS <= digits <= MAX_DIGITS:
        raise ValueError(f"digits must be {MIN_OTP_DIGITS} to {MAX_DIGITS}")


def _check_counter(counter: int, what: str) -> None:
    if isinstance(counter, bool) or not isinstance(counter, int):
        raise TypeError(f"{what} must be an int")
    if not 0 <= counter < _COUNTER_LIMIT:
        raise ValueError(f"{what} must be 0 to 2**64-1")


def hotp(key: bytes, counter: int, *, digits: int = 6, algorithm: str = "sha1") -> str:
    """RFC 4226 HOTP: HMAC(key, 8-byte big-endian counter), truncated to `digits` (6-10)."""
    _check_digits(digits)
    _check_counter(counter, "counter")
    mac = KeyedHmac(key, algorithm).digest(counter.to_bytes(8, "big"))
    return truncate(mac, digits)


def time_step(time: int | float, step: int = 30, t0: int = 0) -> int:
    """RFC 6238 T = floor((time - t0) / step), for Unix seconds `time` ≥ `t0`.

    Exact for large integers (no float division when `time` is an int).
    """
    if isinstance(step, bool) or not isinstance(step, int):
        raise TypeError("step must be an int")
    if step < 1:
        raise ValueError("step must be at least 1 second")
    if isinstance(t0, bool) or not isinstance(t0, int):
        raise TypeError("t0 must be an int")
    if isinstance(time, bool) or not isinstance(time, int | float):
        raise TypeError("time must be a number of seconds")
    if isinstance(time, float):
        if not math.isfinite(time):
            raise ValueError("time must be finite")
        time = math.floor(time)  # floor(floor(x) / s) == floor(x / s) for s > 0
    if time < t0:
        raise ValueError("time must not be before t0")
    steps = (time - t0) // step
    _check_counter(steps, "time step")
    return steps


def totp(
    key: bytes,
    time: int | float,
    *,
    step: int = 30,
    t0: int = 0,
    digits: int = 6,
    algorithm: str = "sha1",
) -> str:
    """RFC 6238 TOTP: HOTP with the counter T = floor((time - t0) / step)."""
    return hotp(key, time_step(time, step, t0), digits=digits, algorithm=algorithm)


@dataclass(frozen=True, slots=True)
class OtpSpec:
    """What codes an OATH token without a challenge shows: HOTP (`event`, a counter) or TOTP
    (time steps), with its hash and digits. `text` is the stored form, e.g. `TOTP-SHA256-8`.
    The legacy DSC is `TOTP-SHA1-6` (`LEGACY_DSC_OTP`)."""

    event: bool
    algorithm: str
    digits: int

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"an OTP hash is {', '.join(ALGORITHMS)}, not {self.algorithm!r}")
        _check_digits(self.digits)

    @property
    def text(self) -> str:
        kind = "HOTP" if self.event else "TOTP"
        return f"{kind}-{self.algorithm.upper()}-{self.digits}"

    @classmethod
    def parse(cls, text: str) -> OtpSpec:
        """The spec `text` (`HOTP-SHA1-6`) names. `ValueError` for anything else."""
        kind, algorithm, digits = [*text.split("-"), "", "", ""][:3]
        if kind not in ("HOTP", "TOTP") or not digits.isdigit() or text.count("-") != 2:
            raise ValueError(f"not an OTP spec: {text[:40]!r}")
        spec = cls(kind == "HOTP", algorithm.lower(), int(digits))
        if spec.text != text:
            raise ValueError(f"not an OTP spec: {text[:40]!r}")
        return spec


LEGACY_DSC_OTP: Final = OtpSpec(event=False, algorithm="sha1", digits=6)
