"""PSKC (RFC 6030) import of device secrets, with python-pskc; export is `pskc_write`.

Theory of operation. A token vendor's PSKC file is parsed and decrypted *completely* before
anything is stored: every key must decrypt (password → PBKDF2, or a pre-shared key), pass its MAC,
have a secret and a serial, and be a working device of the model it maps to (the firmware's own
`new_image` checks the suite). Only then do all keys go into the store in ONE transaction
(`Bridge.import_keys`), so a malformed, unsupported or half-readable file — or a duplicate
serial — imports nothing. Each refusal is one line naming the key (its Id and serial).

Algorithms read and the model each becomes: `host_bridge.pskc_profiles`. PIN keys
(`…pskc:pin`) are not devices: a device key's `<PINPolicy PINKeyId>` names one, and its PIN goes
where the model keeps it — the host for a suite with P (DSC+ soft PIN, IB Key), nowhere for a
card that checks its PIN itself (the host never learns a device PIN; the card's image has it).
`pin=` (`--pin`) gives the PIN of a one-key file without a PIN key.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

import pskc
import pskc.exceptions

from firmware_model.device import ImageSpec
from firmware_model.errors import SuiteError
from firmware_model.hotp import LEGACY_DSC_OTP, OtpSpec
from firmware_model.legacy_dsc import PASSCODE_DIGITS, PASSCODE_STEP
from firmware_model.models import new_image
from firmware_model.ocra import OcraSuite
from host_bridge.errors import PskcError
from host_bridge.inputs import check_name
from host_bridge.pskc_profiles import (
    IMPORT_MODELS,
    MANUFACTURER,
    OCRA_DRAFT_PREFIX,
    OTP_HASHES,
    Algorithm,
    model_for,
)
from host_bridge.pskc_write import Encryption, write_pskc
from host_bridge.services.provisioning import ImportedKey
from slsio.files import read_limited

__all__ = ["Decryption", "parse_pskc", "read_pskc", "write_pskc"]

MAX_PSKC_BYTES: Final = 4 << 20
MAX_KEYS: Final = 10_000
MAX_TIME_STEP: Final = 86_400


Decryption = Encryption
"""How to open an encrypted file: the password (PBKDF2) or the pre-shared key."""


def read_pskc(
    path: Path,
    *,
    decryption: Decryption | None = None,
    model: str | None = None,
    pin: str | None = None,
) -> list[ImportedKey]:
    """Parse, decrypt and check every key of a PSKC file. Raises `PskcError`; stores nothing."""
    try:
        data = read_limited(path, MAX_PSKC_BYTES)
    except ValueError as exc:
        raise PskcError(str(exc)) from None
    return parse_pskc(data, decryption=decryption, model=model, pin=pin, name=str(path))


def parse_pskc(
    data: bytes,
    *,
    decryption: Decryption | None = None,
    model: str | None = None,
    pin: str | None = None,
    name: str = "PSKC file",
) -> list[ImportedKey]:
    """Like `read_pskc`, from bytes."""
    if model is not None and model not in IMPORT_MODELS:
        raise PskcError(f"cannot import keys as model {model!r}")
    try:
        container = pskc.PSKC(io.BytesIO(data))
    except (pskc.exceptions.PSKCError, ValueError, TypeError) as exc:
        # python-pskc raises its own errors; lxml and python-pskc raise these on odd content
        raise PskcError(f"{name}: not a valid PSKC file ({_short(exc)})") from None
    keys = container.keys
    if not keys:
        raise PskcError(f"{name}: holds no keys")
    if len(keys) > MAX_KEYS:
        raise PskcError(f"{name}: more than {MAX_KEYS} keys")
    _open_encryption(container, decryption, name)
    devices = [key for key in keys if key.algorithm != Algorithm.PIN]
    if not devices:
        raise PskcError(f"{name}: holds only PIN keys, no device key")
    if pin is not None and len(devices) != 1:
        raise PskcError(f"{name}: --pin is for a file with one key (give each key a PIN key)")
    referenced = {key.policy.pin_key_id for key in devices if key.policy.pin_key_id}
    imported: list[ImportedKey] = []
    for number, key in enumerate(keys, start=1):
        if key.algorithm == Algorithm.PIN:
            if key.id not in referenced:
                raise PskcError(f"{_where(name, number, key)}: a PIN key no device key refers to")
            continue
        imported.append(_device_key(key, _where(name, number, key), model, pin))
    serials = [item.serial for item in imported]
    if len(set(serials)) != len(serials):
        raise PskcError(f"{name}: the same serial appears twice")
    return imported


def _device_key(key: pskc.key.Key, where: str, hint: str | None, pin: str | None) -> ImportedKey:
    """One device key, checked: a working device of the model it maps to, or `PskcError`."""
    try:
        secret = key.secret
        counter = key.counter
    except pskc.exceptions.DecryptionError:
        raise PskcError(
            f"{where}: cannot decrypt (wrong password or key, or a damaged file)"
        ) from None
    except pskc.exceptions.PSKCError as exc:
        raise PskcError(f"{where}: cannot read ({_short(exc)})") from None
    if not secret:
        raise PskcError(f"{where}: has no secret")
    if not 1 <= len(secret) <= 128:
        raise PskcError(f"{where}: secret must be 1 to 128 bytes")
    serial = key.serial
    if not serial:
        raise PskcError(f"{where}: has no serial number (DeviceInfo/SerialNo)")
    try:
        check_name(str(serial), "serial")
    except ValueError as exc:
        raise PskcError(f"{where}: {exc}") from None
    if counter is not None and (not isinstance(counter, int) or counter < 0):
        raise PskcError(f"{where}: bad counter")
    algorithm, suite = _algorithm_and_suite(key, where)
    ours = key.model if key.manufacturer == MANUFACTURER else None
    try:
        model = model_for(algorithm, suite, hint or ours)
    except ValueError as exc:
        raise PskcError(f"{where}: {exc}") from None
    file_pin = _file_pin(key, where)
    if pin is not None and file_pin is not None:
        raise PskcError(f"{where}: the file carries the PIN; give no --pin")
    given = file_pin if file_pin is not None else pin
    host_pin = None
    if suite is not None and OcraSuite.parse(suite).pin_hash is not None:
        if given is None:
            raise PskcError(f"{where}: suite {suite} needs the PIN (a PIN key, or --pin)")
        host_pin = given
    elif pin is not None:
        raise PskcError(f"{where}: the host keeps no PIN for a {model} (not in its codes)")
    otp: str | None = None
    step: int | None = None
    if algorithm == Algorithm.OCRA:
        assert suite is not None
        _check_ocra_device(model, str(serial), bytes(secret), suite, host_pin, counter, where)
    elif algorithm in (Algorithm.TOTP, Algorithm.HOTP):
        otp, step = _otp_of(key, algorithm, where)
    elif algorithm == Algorithm.SCC and key.response_length not in (None, 6):
        raise PskcError(f"{where}: an SCC answer has 6 characters, not {key.response_length}")
    return ImportedKey(str(serial), model, bytes(secret), suite,
                       counter or 0 if algorithm != Algorithm.TOTP else 0, host_pin, otp, step)


def _algorithm_and_suite(key: pskc.key.Key, where: str) -> tuple[str, str | None]:
    """The key's algorithm URI (the draft's `…pskc#<suite>` read as `…pskc:ocra`) and its OCRA
    suite (from `<Suite>`, or the draft URI's fragment; both: they must agree)."""
    algorithm = (key.algorithm or "").strip()
    suite = (key.algorithm_suite or "").strip() or None
    if algorithm.startswith(OCRA_DRAFT_PREFIX):
        fragment = algorithm[len(OCRA_DRAFT_PREFIX):]
        if fragment != "OCRA-1":  # the draft's bare `#OCRA-1` leaves the suite to <Suite>
            if suite is not None and suite != fragment:
                raise PskcError(f"{where}: the algorithm URI and <Suite> name different suites")
            suite = fragment
        algorithm = Algorithm.OCRA
    if algorithm != Algorithm.OCRA:
        return algorithm, None
    if suite is None:
        raise PskcError(f"{where}: an OCRA key needs its suite in <Suite>")
    try:
        parsed = OcraSuite.parse(suite)
    except SuiteError as exc:
        raise PskcError(f"{where}: {exc}") from None
    if key.response_length is not None and key.response_length != parsed.digits:
        raise PskcError(
            f"{where}: ResponseFormat Length {key.response_length} does not match suite {suite}"
        )
    return algorithm, suite


def _file_pin(key: pskc.key.Key, where: str) -> str | None:
    """The PIN of the PIN key the key's `PINKeyId` names, or None without one."""
    pin_id = key.policy.pin_key_id
    if not pin_id:
        return None
    pin_key = key.policy.pin_key
    if pin_key is None:
        raise PskcError(f"{where}: PINKeyId {pin_id!r} names no key in the file")
    if pin_key.algorithm != Algorithm.PIN:
        raise PskcError(f"{where}: PINKeyId {pin_id!r} names a key that is no PIN key")
    try:
        value = pin_key.secret
    except pskc.exceptions.DecryptionError:
        raise PskcError(f"{where}: cannot decrypt its PIN key") from None
    except pskc.exceptions.PSKCError as exc:
        raise PskcError(f"{where}: cannot read its PIN key ({_short(exc)})") from None
    if not value:
        raise PskcError(f"{where}: its PIN key has no PIN")
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise PskcError(f"{where}: its PIN is not UTF-8 text") from None


def _check_ocra_device(
    model: str, serial: str, secret: bytes, suite: str, host_pin: str | None,
    counter: int | None, where: str,
) -> None:
    """The firmware makes (and throws away) the image this key describes: whatever it refuses —
    a suite the card cannot show or type, an IB Key suite other than the app's — cannot be a
    working device."""
    if model == "ibkey":
        spec = ImageSpec(model, serial, secret, host_pin, None, suite, {"counter": counter or 0})
    else:
        mode = "soft" if host_pin is not None else "device"
        spec = ImageSpec(model, serial, secret, None, mode, suite, {})
    try:
        new_image(spec, _throwaway_entropy)
    except ValueError as exc:
        raise PskcError(f"{where}: cannot be a working {model}: {_short(exc)}") from None


def _throwaway_entropy(count: int) -> bytes:
    """Salts of an image that is only checked, never kept."""
    return bytes(count)


def _otp_of(key: pskc.key.Key, algorithm: str, where: str) -> tuple[str | None, int | None]:
    """(`OtpSpec` text, TOTP step) of a HOTP/TOTP key; (None, None) for the legacy DSC's own
    TOTP-SHA1, 6 digits, 30 s, which the emulated card shows too."""
    if key.response_encoding not in (None, "DECIMAL"):
        raise PskcError(f"{where}: an OATH code is DECIMAL, not {key.response_encoding}")
    suite = (key.algorithm_suite or "SHA1").strip().upper().removeprefix("HMAC-")
    if suite not in OTP_HASHES:
        raise PskcError(f"{where}: <Suite> {suite[:20]!r} names no hash (SHA1, SHA256, SHA512)")
    digits = key.response_length if key.response_length is not None else PASSCODE_DIGITS
    try:
        spec = OtpSpec(algorithm == Algorithm.HOTP, OTP_HASHES[suite], digits)
    except (TypeError, ValueError) as exc:
        raise PskcError(f"{where}: {exc}") from None
    if spec.event:
        return spec.text, None
    step = key.time_interval if key.time_interval is not None else PASSCODE_STEP
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= MAX_TIME_STEP:
        raise PskcError(f"{where}: TimeInterval must be 1 to {MAX_TIME_STEP} seconds")
    if spec == LEGACY_DSC_OTP and step == PASSCODE_STEP:
        return None, None
    return spec.text, step


def _where(name: str, number: int, key: pskc.key.Key) -> str:
    """How a refusal names the key: its place, Id and serial (never its secret)."""
    label = ", ".join(
        part for part in (
            f"Id {key.id!r}" if key.id else "",
            f"serial {key.serial!r}" if key.serial else "",
        ) if part
    )
    return f"{name}: key {number}" + (f" ({label})" if label else "")


def _open_encryption(container: pskc.PSKC, decryption: Decryption | None, name: str) -> None:
    if not container.encryption.is_encrypted:
        return
    if decryption is None or (decryption.password is None and decryption.key is None):
        raise PskcError(f"{name}: keys are encrypted; give the password or the key")
    try:
        if decryption.password is not None:
            container.encryption.derive_key(decryption.password)
        else:
            container.encryption.key = decryption.key
    except pskc.exceptions.PSKCError as exc:
        raise PskcError(f"{name}: cannot set up decryption ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
