"""PSKC (RFC 6030) export of device secrets, with python-pskc: files other servers accept.

Every key gets what RFC 6030 and the algorithm profiles ask of it (URIs and rules:
`host_bridge.pskc_profiles`): `DeviceInfo` with a prefixed `Manufacturer`, the serial and our
model name; `AlgorithmParameters` on every key (an importer that reads `ResponseFormat` must
never meet a key without it); for OCRA the suite in `<Suite>`, the challenge as
`<ChallengeFormat Encoding Min Max>` and `<ResponseFormat Encoding Length>`; `<Counter>` for a
suite with C; `<Counter>` for HOTP, `<TimeInterval>` for TOTP, `<Suite>` the hash of a
HOTP/TOTP token that is not SHA-1. A PIN the host keeps (a suite with P) is a
PIN key of its own (`…pskc:pin`, in a KeyPackage with the same DeviceInfo) that the device key's
`<PINPolicy PINKeyId PINUsageMode="Algorithmic">` names; a card that checks its PIN itself gets
`PINUsageMode="Local"` and its PIN rule, no PIN key (the host never learns that PIN). Every
export validates against the RFC 6030 schema (tests/vectors/pskc/schema/).

Encryption as python-pskc does it: with a password, PBKDF2 (HMAC-SHA1, 100 000 iterations, 16-byte
salt) → AES-128-CBC and an HMAC-SHA1 MAC; with a pre-shared key, AES-CBC under that key and the
same MAC; or plain. A PIN key is encrypted like the device keys.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pskc

from firmware_model.hotp import LEGACY_DSC_OTP, OtpSpec
from firmware_model.legacy_dsc import PASSCODE_STEP
from firmware_model.models import PinCharset, profile
from firmware_model.ocra import OcraSuite
from host_bridge.errors import PskcError
from host_bridge.pskc_profiles import (
    MANUFACTURER,
    SCC_CODE_CHARS,
    Algorithm,
    algorithm_of,
)
from host_bridge.services.provisioning import ImportedKey
from slsio.files import atomic_write

_HEX_DIGITS = {"sha1": 40, "sha256": 64, "sha512": 128}
PRESHARED_KEY_NAME = "Pre-shared-key"
"""The `ds:KeyName` of a pre-shared key (the schema wants EncryptionKey to name it somehow)."""
PIN_KEY_SUFFIX = ".pin"
"""A PIN key's Id: the device key's Id (the serial) and this suffix."""


@dataclass(frozen=True, slots=True)
class Encryption:
    """How to protect the secrets of an export: a password (PBKDF2) or a pre-shared key."""

    password: str | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.password is not None and self.key is not None:
            raise ValueError("give a password or a key, not both")
        if self.key is not None and len(self.key) not in (16, 24, 32):
            raise ValueError("a pre-shared key is 16, 24 or 32 bytes (AES)")
        if self.password == "":
            raise ValueError("the password must not be empty")


def write_pskc(
    path: Path,
    keys: Sequence[ImportedKey],
    *,
    password: str | None = None,
    encryption: Encryption | None = None,
) -> None:
    """Write `keys` to a new PSKC file (0600, atomic); `password` is `Encryption(password=…)`."""
    if password is not None:
        encryption = Encryption(password=password)
    atomic_write(path, pskc_bytes(keys, encryption=encryption))


def pskc_bytes(keys: Sequence[ImportedKey], *, encryption: Encryption | None = None) -> bytes:
    """The PSKC document holding `keys`. `PskcError` for a device that cannot be exported."""
    container = pskc.PSKC()
    for item in keys:
        _add(container, item)
    if encryption is not None and encryption.password is not None:
        container.encryption.setup_pbkdf2(encryption.password)
    elif encryption is not None and encryption.key is not None:
        container.encryption.setup_preshared_key(key=encryption.key, key_name=PRESHARED_KEY_NAME)
    buffer = io.BytesIO()
    container.write(buffer)
    return buffer.getvalue()


def _add(container: pskc.PSKC, item: ImportedKey) -> None:
    otp = OtpSpec.parse(item.otp) if item.otp is not None else None
    try:
        algorithm = algorithm_of(item.model, otp)
    except ValueError as exc:
        raise PskcError(f"device {item.serial}: {exc}") from None
    key = container.add_key(
        id=item.serial, serial=item.serial, manufacturer=MANUFACTURER, model=item.model,
        algorithm=algorithm.value, secret=item.key,
    )
    suite = None
    if algorithm == Algorithm.OCRA:
        if item.suite is None:
            raise PskcError(f"device {item.serial} has no suite")
        suite = OcraSuite.parse(item.suite)
        key.algorithm_suite = suite.text
        key.challenge_encoding = {"N": "DECIMAL", "H": "HEXADECIMAL"}.get(
            suite.question_format, "ALPHANUMERIC")
        key.challenge_min_length = key.challenge_max_length = suite.question_length
        # digits 0 is the whole HMAC as hex (docs/codes.md); a card never uses it
        key.response_encoding = "DECIMAL" if suite.digits else "HEXADECIMAL"
        key.response_length = suite.digits or _HEX_DIGITS[suite.hash_name]
        if suite.counter:
            key.counter = item.counter
    elif algorithm in (Algorithm.TOTP, Algorithm.HOTP):
        spec = otp or LEGACY_DSC_OTP
        key.response_encoding = "DECIMAL"
        key.response_length = spec.digits
        if spec.algorithm != "sha1":  # privacyIDEA and LinOTP read the hash from <Suite>
            key.algorithm_suite = spec.algorithm.upper()
        if spec.event:
            key.counter = item.counter
        else:
            key.time_interval = item.time_step or PASSCODE_STEP
    else:  # the SCC: two indices in, two 3-character cells out
        key.challenge_encoding = "DECIMAL"
        key.challenge_min_length, key.challenge_max_length = 1, 3
        key.response_encoding = "ALPHANUMERIC"
        key.response_length = SCC_CODE_CHARS
    _pin_policy(container, key, item, suite)


def _pin_policy(
    container: pskc.PSKC, key: pskc.key.Key, item: ImportedKey, suite: OcraSuite | None
) -> None:
    rule = profile(item.model).pin_rule
    if rule is None:
        return
    policy = key.policy
    policy.pin_min_length = rule.min_length
    policy.pin_max_length = rule.max_length
    if rule.charset is PinCharset.DIGITS:
        policy.pin_encoding = "DECIMAL"
    if suite is None or suite.pin_hash is None:
        policy.pin_usage = "Local"  # the device checks it; the host does not know it
        return
    if item.pin is None:
        raise PskcError(f"device {item.serial}: suite {suite.text} needs a PIN; the host has none")
    policy.pin_usage = "Algorithmic"
    pin_key = container.add_key(
        id=item.serial + PIN_KEY_SUFFIX, serial=item.serial, manufacturer=MANUFACTURER,
        model=item.model, algorithm=Algorithm.PIN.value, secret=item.pin.encode("utf-8"),
    )
    pin_key.response_encoding = policy.pin_encoding or "ALPHANUMERIC"
    pin_key.response_length = rule.max_length  # the rule's, so an encrypted file hides the length
    policy.pin_key_id = pin_key.id
