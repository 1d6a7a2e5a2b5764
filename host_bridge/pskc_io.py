"""PSKC (RFC 6030) import and export of device secrets, with python-pskc.

Theory of operation. A token vendor's PSKC file is parsed and decrypted *completely* before
anything is stored: every key must decrypt (password → PBKDF2, or a pre-shared key), pass its MAC,
have a secret and a serial, and name an algorithm the bridge can verify. Only then do all keys go
into the store in ONE transaction (`Bridge.import_keys`), so a malformed, unsupported or
half-readable file — or a duplicate serial — imports nothing.

Algorithms understood (the `Algorithm` attribute of each key):

    urn:ietf:params:xml:ns:keyprov:pskc#<OCRA suite>   OCRA (RFC 6287) → dscplus / gold /
                                                        platinum / ibkey (suite with C → ibkey)
    urn:ietf:params:xml:ns:keyprov:pskc:totp            legacy DSC (TOTP-SHA1, 6 digits, 30 s)
    urn:slsemu:params:algorithm:scc-v1                  Security Code Card grid key (ours)

Plain HOTP (`…pskc:hotp`, the algorithm of most RFC 6030 figures) is refused: no emulated device
shows event-based HOTP codes. A soft-PIN DSC+ (suite with P) needs its PIN, which PSKC files do
not carry for us: give it with `pin=` (one key per file). Export writes the same algorithms and,
with a password, encrypts with PBKDF2 + AES-128-CBC and an HMAC-SHA1 MAC (python-pskc defaults).
The PIN is never exported.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pskc
import pskc.exceptions

from firmware_model.errors import SuiteError
from firmware_model.ocra import OcraSuite
from host_bridge.errors import PskcError
from host_bridge.inputs import check_name
from host_bridge.services.provisioning import ImportedKey
from slsio.files import atomic_write, read_limited

MAX_PSKC_BYTES: Final = 4 << 20
MAX_KEYS: Final = 10_000
OCRA_PREFIX: Final = "urn:ietf:params:xml:ns:keyprov:pskc#"
TOTP_ALGORITHM: Final = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
HOTP_ALGORITHM: Final = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
SCC_ALGORITHM: Final = "urn:slsemu:params:algorithm:scc-v1"
OCRA_MODELS: Final = ("dscplus", "gold", "platinum", "ibkey")
MANUFACTURER: Final = "slsemu"


@dataclass(frozen=True, slots=True)
class Decryption:
    """How to open an encrypted file: a password (PBKDF2) or a pre-shared key."""

    password: str | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.password is not None and self.key is not None:
            raise ValueError("give a password or a key, not both")


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
    if model is not None and model not in (*OCRA_MODELS, "dsc", "scc"):
        raise PskcError(f"cannot import keys as model {model!r}")
    try:
        container = pskc.PSKC(io.BytesIO(data))
    except pskc.exceptions.PSKCError as exc:
        raise PskcError(f"{name}: not a valid PSKC file ({_short(exc)})") from None
    except (ValueError, TypeError) as exc:  # lxml and python-pskc raise these on odd content
        raise PskcError(f"{name}: not a valid PSKC file ({_short(exc)})") from None
    keys = container.keys
    if not keys:
        raise PskcError(f"{name}: holds no keys")
    if len(keys) > MAX_KEYS:
        raise PskcError(f"{name}: more than {MAX_KEYS} keys")
    _open_encryption(container, decryption, name)
    imported: list[ImportedKey] = []
    for number, key in enumerate(keys, start=1):
        where = f"{name}: key {number}"
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
        key_model, suite = _model_and_suite(key, model, where)
        key_pin = None
        if suite is not None and OcraSuite.parse(suite).pin_hash is not None:
            if pin is None:
                raise PskcError(f"{where}: suite {suite} needs the PIN (give it with --pin)")
            if len(keys) != 1:
                raise PskcError(f"{name}: a PIN can be given for a file with one key only")
            key_pin = pin
        imported.append(
            ImportedKey(str(serial), key_model, bytes(secret), suite, counter or 0, key_pin)
        )
    serials = [item.serial for item in imported]
    if len(set(serials)) != len(serials):
        raise PskcError(f"{name}: the same serial appears twice")
    return imported


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


def _model_and_suite(key: pskc.key.Key, hint: str | None, where: str) -> tuple[str, str | None]:
    algorithm = key.algorithm or ""
    if algorithm.startswith(OCRA_PREFIX):
        suite = algorithm[len(OCRA_PREFIX) :]
        try:
            parsed = OcraSuite.parse(suite)
        except SuiteError as exc:
            raise PskcError(f"{where}: {exc}") from None
        model = hint or ("ibkey" if parsed.counter else "dscplus")
        if model not in OCRA_MODELS:
            raise PskcError(f"{where}: an OCRA key cannot be a {model}")
        if (model == "ibkey") != parsed.counter:
            raise PskcError(f"{where}: suite {suite} does not fit a {model}")
        if parsed.question_format != "N" or parsed.time_step or parsed.session_length:
            raise PskcError(f"{where}: suite {suite} is not one a card can answer")
        return model, suite
    if algorithm == TOTP_ALGORITHM:
        if hint not in (None, "dsc"):
            raise PskcError(f"{where}: a TOTP key cannot be a {hint}")
        if key.response_length not in (None, 6) or key.time_interval not in (None, 30):
            raise PskcError(f"{where}: only 6-digit, 30-second TOTP (legacy DSC) is supported")
        return "dsc", None
    if algorithm == SCC_ALGORITHM:
        if hint not in (None, "scc"):
            raise PskcError(f"{where}: an SCC key cannot be a {hint}")
        return "scc", None
    if algorithm == HOTP_ALGORITHM:
        raise PskcError(f"{where}: unsupported algorithm HOTP (no emulated device shows it)")
    raise PskcError(f"{where}: unsupported algorithm {algorithm or '(none)'!r}")


def write_pskc(path: Path, keys: Sequence[ImportedKey], *, password: str | None = None) -> None:
    """Write `keys` to a new PSKC file (0600, atomic), encrypted when `password` is given."""
    container = pskc.PSKC()
    for item in keys:
        if item.model in OCRA_MODELS:
            if item.suite is None:
                raise PskcError(f"device {item.serial} has no suite")
            algorithm = OCRA_PREFIX + item.suite
        elif item.model == "dsc":
            algorithm = TOTP_ALGORITHM
        elif item.model in ("scc", "online_scc"):
            algorithm = SCC_ALGORITHM
        else:
            raise PskcError(f"cannot export a device of model {item.model!r}")
        fields: dict[str, str | bytes | int] = {
            "id": item.serial,
            "serial": item.serial,
            "manufacturer": MANUFACTURER,
            "algorithm": algorithm,
            "secret": item.key,
        }
        if item.model == "ibkey":
            fields["counter"] = item.counter
        if item.model == "dsc":
            fields["response_length"] = 6
            fields["time_interval"] = 30
        elif item.suite is not None:
            fields["response_length"] = OcraSuite.parse(item.suite).digits
        container.add_key(**fields)
    if password is not None:
        container.encryption.setup_pbkdf2(password)
    buffer = io.BytesIO()
    container.write(buffer)
    atomic_write(path, buffer.getvalue())


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
