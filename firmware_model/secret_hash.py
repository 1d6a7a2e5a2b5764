"""Salted hashes of short secrets a device checks itself (device PINs, activation tokens).

A device image stores `salt` and `HMAC-SHA256(salt, label || 0x00 || secret)`, never the secret.
The label keeps a PIN hash and a token hash apart even if the texts were equal. There is no slow
key-derivation step on purpose: a 4-digit PIN has 10,000 values, so stretching would not stop an
attacker holding the image — who holds the device key in the same file anyway. What the hash buys
is that the PIN never appears in an image, a summary or a log. Checks compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from firmware_model.device import Entropy
from firmware_model.errors import ImageError
from firmware_model.image import JsonValue

SALT_BYTES = 16
_DIGEST_BYTES = 32


def _digest(salt: bytes, label: str, secret: str) -> bytes:
    message = label.encode("ascii") + b"\0" + secret.encode("utf-8")
    return hmac.digest(salt, message, hashlib.sha256)


@dataclass(frozen=True, slots=True)
class SaltedHash:
    """A salted hash of one secret, for one purpose (`label`). Nothing secret in its repr."""

    label: str
    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.label or not self.label.isascii():
            raise ValueError("label must be non-empty ASCII")
        if len(self.salt) != SALT_BYTES or len(self.digest) != _DIGEST_BYTES:
            raise ValueError("salt or digest has the wrong size")

    @classmethod
    def make(cls, label: str, secret: str, entropy: Entropy) -> SaltedHash:
        """Hash `secret` under a fresh salt from `entropy`."""
        salt = entropy(SALT_BYTES)
        if len(salt) != SALT_BYTES:
            raise ValueError("entropy returned too few bytes")
        return cls(label, salt, _digest(salt, label, secret))

    def matches(self, secret: str) -> bool:
        """Whether `secret` is the hashed one (constant-time comparison)."""
        return hmac.compare_digest(_digest(self.salt, self.label, secret), self.digest)

    def to_json(self) -> dict[str, JsonValue]:
        """The image form: salt and hash in hex (field names mark them secret for summaries)."""
        return {"secret_salt": self.salt.hex(), "secret_hash": self.digest.hex()}

    @classmethod
    def from_json(cls, label: str, value: JsonValue) -> SaltedHash:
        """Read the image form back. Raises `ImageError` if malformed."""
        if not isinstance(value, Mapping):
            raise ImageError(f"{label} hash in image is not an object")
        try:
            salt = bytes.fromhex(value["secret_salt"])
            digest = bytes.fromhex(value["secret_hash"])
            return cls(label, salt, digest)
        except (KeyError, TypeError, ValueError):
            raise ImageError(f"{label} hash in image is malformed") from None
