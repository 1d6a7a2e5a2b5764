"""The master key that encrypts device secrets (keys, PINs) at rest with AES-GCM.

The key is 32 random bytes. It lives in `master.key` (hex, one line, 0600) in the data folder,
created by `slsbridge init`, or comes from the environment variable `SLSEMU_MASTER_KEY` (hex),
which wins when set. The store keeps a *check value* (a fixed plaintext sealed under the master
key) so a wrong key is detected when the store opens, not later as a confusing decryption failure.

Every sealed value is bound to what it belongs to through the AES-GCM associated data
(`purpose:owner`, e.g. `key:DP0123456789`): a device key copied into another device's row, or a
PIN blob moved into a key column, fails to decrypt instead of being used.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from host_bridge.errors import StoreError
from host_bridge.newfile import write_new
from slsio.files import read_limited

ENV_MASTER_KEY: Final = "SLSEMU_MASTER_KEY"
KEY_FILE_NAME: Final = "master.key"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
_CHECK_PLAINTEXT: Final = b"slsemu master key check v1"
_CHECK_AAD: Final = b"check:master"


class MasterKey:
    """An AES-256-GCM key with seal/open helpers. Never printed (no key in repr)."""

    __slots__ = ("_aead", "_mac")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise StoreError(f"master key must be {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits)")
        self._aead = AESGCM(key)
        # A key of its own for tags, derived once: the AES key is never used for two things.
        self._mac = hmac.new(key, b"slsemu tag key", hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "MasterKey(<hidden>)"

    def seal(self, purpose: str, owner: str, plaintext: bytes) -> bytes:
        """Encrypt `plaintext` for (`purpose`, `owner`): nonce ‖ ciphertext ‖ tag."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, _aad(purpose, owner))

    def open(self, purpose: str, owner: str, sealed: bytes) -> bytes:
        """Decrypt a value sealed for (`purpose`, `owner`); `StoreError` if it does not fit."""
        if len(sealed) < NONCE_BYTES + 16:
            raise StoreError(f"damaged {purpose} for {owner} in the store")
        try:
            nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
            return self._aead.decrypt(nonce, body, _aad(purpose, owner))
        except InvalidTag:
            raise StoreError(
                f"cannot decrypt the {purpose} of {owner} (wrong master key or moved value)"
            ) from None

    def tag(self, purpose: str, text: str) -> str:
        """A keyed hash of `text` (16 hex digits): equal texts get equal tags, and without the
        master key a tag cannot be checked against guesses (the audit log names unknown login
        names this way)."""
        data = f"{purpose}:{text}".encode("utf-8", "surrogatepass")
        return hmac.new(self._mac, data, hashlib.sha256).hexdigest()[:16]

    def check_value(self) -> bytes:
        """A fresh check value to keep in the store."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, _CHECK_PLAINTEXT, _CHECK_AAD)

    def matches(self, check: bytes) -> bool:
        """Whether `check` was made by this key."""
        try:
            plain = self._aead.decrypt(check[:NONCE_BYTES], check[NONCE_BYTES:], _CHECK_AAD)
        except (InvalidTag, ValueError):
            return False
        return plain == _CHECK_PLAINTEXT


def _aad(purpose: str, owner: str) -> bytes:
    return f"{purpose}:{owner}".encode()


def key_file(home: Path) -> Path:
    """Where the master key file lives in data folder `home`."""
    return home / KEY_FILE_NAME


def create_key_file(home: Path) -> Path:
    """Create a new random master key file (0600). Refuses to replace an existing one."""
    path = key_file(home)
    try:
        write_new(path, os.urandom(KEY_BYTES).hex().encode() + b"\n")
    except FileExistsError:
        raise StoreError(f"{path} already exists (refusing to replace a master key)") from None
    return path


def load_master_key(home: Path) -> MasterKey:
    """The master key from `SLSEMU_MASTER_KEY` or `home/master.key`; one clear error otherwise."""
    from_env = os.environ.get(ENV_MASTER_KEY)
    if from_env is not None:
        return MasterKey(_parse_hex(from_env, f"${ENV_MASTER_KEY}"))
    path = key_file(home)
    try:
        mode = path.stat().st_mode
        text = read_limited(path, 4 * KEY_BYTES).decode("ascii", errors="replace")
    except FileNotFoundError:
        raise StoreError(
            f"no master key: {path} is missing (run `slsbridge init` or set {ENV_MASTER_KEY})"
        ) from None
    except ValueError:
        raise StoreError(f"malformed master key file {path}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise StoreError(f"master key file {path} is readable by others (chmod 600 it)")
    return MasterKey(_parse_hex(text, str(path)))


def _parse_hex(text: str, where: str) -> bytes:
    problem = f"malformed master key in {where} (expected {2 * KEY_BYTES} hex digits)"
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise StoreError(problem) from None
    if len(key) != KEY_BYTES:
        raise StoreError(problem)
    return key
