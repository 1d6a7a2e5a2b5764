"""Password hashing with scrypt (hashlib), parameters stored beside each hash.

Storing N, r, p with the hash lets the defaults grow later without breaking old users.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Final

SALT_BYTES: Final = 16
HASH_BYTES: Final = 32
MAX_PASSWORD_BYTES: Final = 1024


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt cost parameters. Defaults follow the common interactive-login choice (N=2^14, r=8)."""

    n: int = 1 << 14
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError("scrypt N must be a power of two ≥ 2")
        if not 1 <= self.r <= 64 or not 1 <= self.p <= 16:
            raise ValueError("scrypt r must be 1-64 and p 1-16")


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A stored password: scrypt digest, salt and the parameters used."""

    digest: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    params: ScryptParams

    def __post_init__(self) -> None:
        if len(self.digest) != HASH_BYTES or len(self.salt) < 8:
            raise ValueError("malformed password hash")


def _scrypt(password: str, salt: bytes, params: ScryptParams) -> bytes:
    data = password.encode("utf-8")
    if not data or len(data) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password must be 1 to {MAX_PASSWORD_BYTES} bytes")
    return hashlib.scrypt(
        data, salt=salt, n=params.n, r=params.r, p=params.p, maxmem=256 * 1024 * 1024,
        dklen=HASH_BYTES,
    )


def hash_password(password: str, params: ScryptParams | None = None) -> PasswordHash:
    """Hash `password` with a fresh random salt."""
    params = params or ScryptParams()
    salt = os.urandom(SALT_BYTES)
    return PasswordHash(_scrypt(password, salt, params), salt, params)


def check_password(stored: PasswordHash, password: str) -> bool:
    """Whether `password` matches `stored` (constant-time comparison)."""
    try:
        candidate = _scrypt(password, stored.salt, stored.params)
    except ValueError:
        return False
    return hmac.compare_digest(candidate, stored.digest)
