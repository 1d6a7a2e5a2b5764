"""`Bridge`: the host bridge's Python API (the CLI, the TUI and the policies call this).

Theory of operation. A `Bridge` owns one `Store` connection, the master key (loaded on first need
and checked against the store's check value), a clock and an entropy source — both injectable, so
tests never sleep and can be reproducible. Every public method is one unit of work:

- `issue_challenge` stores the challenge and its audit row in ONE commit;
- `verify` consumes the challenge, checks the answer, moves counters / failure counts / lock
  state and appends the audit row in ONE `BEGIN IMMEDIATE` transaction, so two processes can never
  both accept one challenge, and a crash leaves either all of it or none.

Device life cycle (status column):

    pending  --activate-->  active  --failures reach lockout_after-->  locked
    locked   --unlock (admin)-->  active
    any      --revoke-->  revoked          active --replace--> replaced (policies)

New devices are `active`, except IB Key, which is `pending` until activated (`activate`): on the
real app, activation needs the SMS activation token.

Typical use:

    bridge = Bridge.open()                      # data folder from SLSEMU_HOME
    bridge.init()                               # once: master key + check value
    bridge.add_user("alice", "correct horse")
    result = bridge.provision("alice", "dscplus", pin="1234", image_path=Path("alice.img"))
    challenge = bridge.issue_challenge(result.serial)
    verdict = bridge.verify(result.serial, challenge.id, response)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, NamedTuple

from firmware_model.device import Entropy, ImageSpec
from firmware_model.image import DeviceImage, JsonValue, encode_image
from firmware_model.legacy_dsc import PASSCODE_STEP
from firmware_model.legacy_dsc import passcode as dsc_passcode
from firmware_model.models import (
    SERIAL_DIGITS,
    device_class,
    make_serial,
    new_image,
    random_digits,
)
from firmware_model.ocra import OcraCalculator, OcraSuite
from firmware_model.scc import scc_grid
from host_bridge import verification as v
from host_bridge.audit import AuditLog
from host_bridge.errors import BridgeError, NotUsable, StoreError
from host_bridge.masterkey import ENV_MASTER_KEY, MasterKey, create_key_file, load_master_key
from host_bridge.newfile import write_new
from host_bridge.passwords import PasswordHash, ScryptParams, check_password, hash_password
from host_bridge.sms import Message, Outbox
from host_bridge.store import (
    AuditRecord,
    ChallengeRecord,
    ClaimedChallenge,
    DeviceRecord,
    DeviceState,
    Identification,
    Store,
    UserRecord,
)
from host_bridge.verification import Challenge, Verdict
from slsio.home import data_home
from slsio.toml import TomlError, read_toml

CONFIG_FILE_NAME: Final = "bridge.toml"
_CHECK_META: Final = "master_check"
_PURPOSE_KEY: Final = "key"
_PURPOSE_PIN: Final = "pin"
_PURPOSE_SMS: Final = "sms"
NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
PROVISION_MODELS: Final = (
    "dscplus", "gold", "platinum", "dsc", "scc", "online_scc", "ibkey", "sms",
)
SMS_SERIAL_PREFIX: Final = "SM"
ACTIVATION_TOKEN_DIGITS: Final = 8
KEY_CACHE_SIZE: Final = 1024
KIND_ACTIVATION: Final = "activation"
DeviceRow = DeviceRecord | DeviceState
"""A full device row, or the columns a verification reads: both name the same fields."""


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """Tunable rules. Defaults follow the seed; a `bridge.toml` in the data folder overrides them.

    `challenge_ttl` seconds a challenge stays answerable; `lockout_after` consecutive wrong
    answers lock a device; `counter_window` is the IB Key look-ahead; `time_window` the legacy
    DSC window in 30-s steps either side of now + drift; `sms_resend_seconds` the minimum time
    between two new SMS codes (KB3196: 2 minutes); `sms_digits` the SMS code length;
    `activation_ttl` how long an IB Key activation token sent by SMS stays valid.
    """

    challenge_ttl: float = 120.0
    lockout_after: int = 5
    counter_window: int = 10
    time_window: int = 1
    sms_resend_seconds: float = 120.0
    sms_digits: int = 6
    activation_ttl: float = 86_400.0
    scrypt_n: int = 1 << 14
    busy_timeout_ms: int = 30_000

    def __post_init__(self) -> None:
        if not 1 <= self.challenge_ttl <= 86_400:
            raise ValueError("challenge_ttl must be 1 to 86400 seconds")
        if not 1 <= self.lockout_after <= 1000:
            raise ValueError("lockout_after must be 1 to 1000")
        if not 0 <= self.counter_window <= 1000:
            raise ValueError("counter_window must be 0 to 1000")
        if not 0 <= self.time_window <= 100:
            raise ValueError("time_window must be 0 to 100 steps")
        if not 0 <= self.sms_resend_seconds <= 86_400:
            raise ValueError("sms_resend_seconds must be 0 to 86400")
        if not 4 <= self.sms_digits <= 10:
            raise ValueError("sms_digits must be 4 to 10")
        if not 60 <= self.activation_ttl <= 30 * 86_400:
            raise ValueError("activation_ttl must be 60 s to 30 days")
        ScryptParams(n=self.scrypt_n)
        if not 0 <= self.busy_timeout_ms <= 600_000:
            raise ValueError("busy_timeout_ms must be 0 to 600000")

    @property
    def scrypt(self) -> ScryptParams:
        return ScryptParams(n=self.scrypt_n)

    @classmethod
    def load(cls, home: Path) -> BridgeConfig:
        """Defaults, overridden by `home/bridge.toml` if it exists. Bad files: `BridgeError`."""
        path = home / CONFIG_FILE_NAME
        try:
            values = read_toml(path)
        except FileNotFoundError:
            return cls()
        except TomlError as exc:
            raise BridgeError(str(exc)) from None
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise BridgeError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BridgeError(f"{path}: {name} must be a number")
            if known[name] == "int" and not isinstance(value, int):  # lockout_after = 2.5
                raise BridgeError(f"{path}: {name} must be a whole number")
        try:
            return cls(**values)
        except (ValueError, TypeError) as exc:
            raise BridgeError(f"{path}: {exc}") from None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device as a login screen or `slsbridge devices` shows it (no secret)."""

    serial: str
    model: str
    status: str
    kind: str
    type_code: str
    suite: str | None
    temporary: bool
    valid_until: float | None
    failures: int
    users: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "model": self.model,
            "status": self.status,
            "kind": self.kind,
            "type_code": self.type_code,
            "suite": self.suite,
            "temporary": self.temporary,
            "valid_until": self.valid_until,
            "failures": self.failures,
            "users": list(self.users),
        }


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    """A newly provisioned device: its serial and the image (None for SMS, which has none)."""

    serial: str
    image: DeviceImage | None = field(repr=False)
    status: str = "active"


@dataclass(frozen=True, slots=True)
class ImportedKey:
    """A device secret coming from outside (PSKC) rather than from `os.urandom`."""

    serial: str
    model: str
    key: bytes = field(repr=False)
    suite: str | None = None
    counter: int = 0
    pin: str | None = field(default=None, repr=False)


def check_name(name: str, what: str = "user name") -> str:
    """`name` if it is 1-64 characters of letters, digits and `._-@`; otherwise `BridgeError`."""
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not set(name) <= NAME_CHARS:
        raise BridgeError(f"bad {what} {name!r} (1-64 letters, digits, '._-@')")
    return name


MAX_IDENTIFICATION_CHARS: Final = 64
_ISO_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _check_identification(ident: Identification) -> None:
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


class Bridge:
    """The host bridge over one store. Not thread-safe: one per thread or process."""

    def __init__(
        self,
        store: Store,
        home: Path,
        *,
        clock: Callable[[], float] = time.time,
        entropy: Entropy = os.urandom,
        config: BridgeConfig | None = None,
    ) -> None:
        self.store = store
        self.home = home
        self.clock = clock
        self.entropy = entropy
        self.config = config or BridgeConfig()
        self.audit_log = AuditLog(store)
        self.outbox = Outbox(home)
        self._master: MasterKey | None = None
        # Decrypted keys and OCRA key schedules, per sealed value, bounded (KEY_CACHE_SIZE).
        self._keys: dict[tuple[str, bytes], bytes] = {}
        self._calculators: dict[tuple[str, bytes, str], OcraCalculator] = {}
        self._pin_hashes: dict[tuple[str, bytes], bytes] = {}
        self._static: dict[str, _StaticDevice] = {}

    @classmethod
    def open(
        cls,
        home: Path | None = None,
        clock: Callable[[], float] = time.time,
        *,
        entropy: Entropy = os.urandom,
        config: BridgeConfig | None = None,
    ) -> Bridge:
        """Open the bridge on data folder `home` (default: `SLSEMU_HOME` / the per-user folder)."""
        if home is None:
            home = data_home()
        else:
            home = Path(home)
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = config or BridgeConfig.load(home)
        store = Store.open(home / "bridge.sqlite3", busy_timeout_ms=config.busy_timeout_ms)
        return cls(store, home, clock=clock, entropy=entropy, config=config)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- master key -------------------------------------------------------------------------

    def init(self) -> Path | None:
        """Create the master key file (unless `SLSEMU_MASTER_KEY` is set) and the check value.

        Idempotent: a second run checks that the key still matches. Returns the key file created,
        or None if none was (already there, or the key comes from the environment).
        """
        created: Path | None = None
        if os.environ.get(ENV_MASTER_KEY) is None and not (self.home / "master.key").exists():
            if self.store.get_meta(_CHECK_META) is not None:
                raise StoreError(
                    "the store was initialised with another master key, and master.key is "
                    f"missing (restore it or set {ENV_MASTER_KEY})"
                )
            created = create_key_file(self.home)
        key = load_master_key(self.home)
        check = self.store.get_meta(_CHECK_META)
        if check is None:
            self.store.set_meta(_CHECK_META, key.check_value())
        elif not key.matches(check):
            raise StoreError("wrong master key for this store")
        self._master = key
        self._audit("init", "ok", created=created is not None)
        return created

    @property
    def master(self) -> MasterKey:
        """The master key, loaded and checked against the store on first use."""
        if self._master is None:
            check = self.store.get_meta(_CHECK_META)
            if check is None:
                raise StoreError("the store is not initialised (run `slsbridge init`)")
            key = load_master_key(self.home)
            if not key.matches(check):
                raise StoreError("wrong master key for this store")
            self._master = key
        return self._master

    # --- users ------------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        password: str,
        *,
        identification: Identification | None = None,
        entity: str | None = None,
        account: str | None = None,
        equity_cents: int = 0,
        balance_cents: int = 0,
        primary: bool = False,
    ) -> UserRecord:
        """Create a user. The account defaults to one of its own, named after the user."""
        check_name(name)
        if account is not None:
            check_name(account, "account")
        if entity is not None:
            check_name(entity, "entity")
        if equity_cents < 0 or balance_cents < 0:
            raise BridgeError("equity and balance must not be negative")
        _check_identification(identification or Identification())
        try:
            hashed = hash_password(password, self.config.scrypt)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        record = UserRecord(
            name=name,
            password=hashed,
            identification=identification or Identification(),
            entity=entity,
            account=account or name,
            equity_cents=equity_cents,
            balance_cents=balance_cents,
            opt_out="none",
            primary_user=primary,
            created=self.clock(),
        )
        with self.store.transaction():
            self.store.insert_user(record)
            self._audit("user.add", "ok", user=name, primary=primary)
        return record

    def user(self, name: str) -> UserRecord:
        """The user `name` (`BridgeError` if unknown)."""
        return self.store.get_user(name)

    def check_password(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s password. Unknown users cost the same time as known."""
        try:
            stored = self.store.get_user(name).password
        except BridgeError:
            stored = PasswordHash(b"\0" * 32, b"\0" * 16, self.config.scrypt)
            check_password(stored, password)
            self._audit("login.password", "refused", user=name, reason="unknown user")
            return False
        ok = check_password(stored, password)
        self._audit("login.password", "ok" if ok else "refused", user=name)
        return ok

    # --- devices ----------------------------------------------------------------------------

    def provision(
        self,
        user: str,
        model: str,
        *,
        pin: str | None = None,
        pin_mode: str | None = None,
        image_path: Path | None = None,
        suite: str | None = None,
        valid_until: float | None = None,
        options: Mapping[str, JsonValue] | None = None,
        pending: bool = False,
    ) -> ProvisionResult:
        """Make a new device for `user`: one random key, stored sealed and written to the image.

        The image (0600, atomic) is written inside the store transaction, so a failure leaves
        neither. `valid_until` (Unix seconds) makes a temporary device (Online SCC: required).
        `pending=True` stores it `pending` until activated (an ordered card still in the post);
        an IB Key made without a PIN is pending anyway (it waits for its activation token).
        SMS devices have no image. Raises `BridgeError` for bad input.
        """
        if model not in PROVISION_MODELS:
            raise BridgeError(f"unknown model {model!r} (known: {', '.join(PROVISION_MODELS)})")
        self.store.get_user(user)
        if image_path is not None and Path(image_path).exists():
            raise BridgeError(f"{image_path} already exists (refusing to overwrite a device)")
        now = self.clock()
        image: DeviceImage | None = None
        host_pin: str | None = None
        token: str | None = None
        if model == "sms":
            if pin is not None or image_path is not None or suite is not None:
                raise BridgeError("an SMS device takes no PIN, suite or image")
            serial = SMS_SERIAL_PREFIX + random_digits(SERIAL_DIGITS, self.entropy)
            key = self.entropy(20)
        else:
            image_model = "scc" if model == "online_scc" else model
            serial = make_serial(image_model, self.entropy)
            key = self.entropy(_key_bytes(image_model, suite))
            spec_options: dict[str, JsonValue] = dict(options or {})
            if model == "ibkey":
                spec_options.setdefault("username", user)
                if pin is None:
                    token = random_digits(ACTIVATION_TOKEN_DIGITS, self.entropy)
                    spec_options["activation_token"] = token
            if model == "online_scc":
                if valid_until is None:
                    raise BridgeError("an Online SCC needs valid_until")
                spec_options.setdefault("online", True)
                spec_options.setdefault("valid_until", _iso_date(valid_until))
            image_pin, host_pin = _split_pin(image_model, pin, pin_mode, suite)
            spec = ImageSpec(image_model, serial, key, image_pin, pin_mode, suite, spec_options)
            try:
                image = new_image(spec, self.entropy)
            except ValueError as exc:
                raise BridgeError(f"cannot make a {model} device: {exc}") from None
        if valid_until is not None and valid_until <= now:
            raise BridgeError("valid_until must be in the future")
        status = "pending" if pending or token is not None else "active"
        with self.store.transaction():
            self._insert_device(
                user, model, serial, key, status=status, now=now,
                suite=image.suite if image else None, pin=host_pin,
                pin_mode=pin_mode, valid_until=valid_until,
            )
            self._audit("device.provision", "ok", user=user, serial=serial, model=model,
                        status=status)
            if token is not None:
                self._send_activation_token(user, serial, token, now)
            if image is not None and image_path is not None:
                try:  # never replaces a file, not even one made since the check above
                    write_new(image_path, encode_image(image))
                except FileExistsError:
                    raise BridgeError(
                        f"{image_path} already exists (refusing to overwrite a device)"
                    ) from None
        return ProvisionResult(serial, image, status)

    def import_keys(self, user: str, keys: list[ImportedKey], source: str) -> list[str]:
        """Store devices whose secrets come from a file (PSKC): all of them, or none."""
        self.store.get_user(user)
        now = self.clock()
        serials: list[str] = []
        with self.store.transaction():
            for item in keys:
                if item.model not in PROVISION_MODELS or item.model == "sms":
                    raise BridgeError(f"cannot import a device of model {item.model!r}")
                check_name(item.serial, "serial")
                status = "pending" if item.model == "ibkey" else "active"
                pin_mode = None
                if item.model in ("dscplus", "gold", "platinum") and item.suite is not None:
                    pin_mode = "soft" if OcraSuite.parse(item.suite).pin_hash else "device"
                if item.pin is not None:
                    _check_host_pin(item.model, item.pin)
                self._insert_device(
                    user, item.model, item.serial, item.key, status=status, now=now,
                    suite=item.suite, pin=item.pin, pin_mode=pin_mode, valid_until=None,
                    counter=item.counter,
                )
                serials.append(item.serial)
            self._audit("pskc.import", "ok", user=user, devices=len(serials), source=source)
        return serials

    def export_key(self, serial: str) -> ImportedKey:
        """A device's secret, for PSKC export (the caller must protect it). Audited."""
        record = self.store.get_device(serial)
        key = self.master.open(_PURPOSE_KEY, serial, record.key_enc)
        pin = self._pin(record)
        self._audit("pskc.export", "ok", serial=serial)
        return ImportedKey(serial, record.model, key, record.suite, record.counter, pin)

    def _insert_device(
        self,
        user: str,
        model: str,
        serial: str,
        key: bytes,
        *,
        status: str,
        now: float,
        suite: str | None,
        pin: str | None,
        pin_mode: str | None,
        valid_until: float | None,
        counter: int = 0,
    ) -> None:
        if suite is not None:
            OcraSuite.parse(suite)
        record = DeviceRecord(
            serial=serial, model=model, status=status, suite=suite,
            key_enc=self.master.seal(_PURPOSE_KEY, serial, key), counter=counter,
            pin_mode=pin_mode,
            pin_enc=self.master.seal(_PURPOSE_PIN, serial, pin.encode()) if pin else None,
            time_step=PASSCODE_STEP if model == "dsc" else None, drift=0, last_step=None,
            failures=0, temporary=valid_until is not None, valid_until=valid_until,
            replaced_by=None, created=now, activated=now if status == "active" else None,
            updated=now,
        )
        self.store.insert_device(record, user)

    def device(self, serial: str) -> DeviceInfo:
        """One device (`BridgeError` if unknown)."""
        return self._info(self.store.get_device(serial))

    def devices(self, user: str) -> list[DeviceInfo]:
        """The devices a login of `user` may select (M2FS): every active, unexpired one, owned
        or shared."""
        self.store.get_user(user)
        now = self.clock()
        return [
            self._info(record)
            for record in self.store.devices_of(user, ("active",))
            if record.valid_until is None or record.valid_until > now
        ]

    def all_devices(self, user: str) -> list[DeviceInfo]:
        """Every device linked to `user`, whatever its status."""
        self.store.get_user(user)
        return [self._info(record) for record in self.store.devices_of(user)]

    def _info(self, record: DeviceRecord) -> DeviceInfo:
        return DeviceInfo(
            serial=record.serial, model=record.model, status=record.status,
            kind=v.kind_of(record.model), type_code=v.TYPE_CODE[record.model],
            suite=record.suite, temporary=record.temporary, valid_until=record.valid_until,
            failures=record.failures,
            users=tuple(name for name, _ in self.store.users_of(record.serial)),
        )

    def _send_activation_token(self, user: str, serial: str, token: str, now: float) -> None:
        """Store an IB Key activation token (as a single-use challenge) and "send" it by SMS."""
        challenge_id = self._new_challenge_id(now)
        self.store.insert_challenge(ChallengeRecord(
            id=challenge_id, serial=serial, kind=KIND_ACTIVATION, text="",
            data_enc=self.master.seal(_PURPOSE_SMS, challenge_id, token.encode()),
            created=now, expires=now + self.config.activation_ttl, used=False, used_at=None,
        ))
        self.outbox.send(Message(now, "sms", serial, user, challenge_id, token))
        self._audit("sms.send", "ok", user=user, serial=serial, channel="sms",
                    purpose="activation")

    def activate(self, serial: str, *, token: str | None = None, pin: str | None = None) -> bool:
        """Make a pending device active; others stay active (M2FS). Returns True if it did.

        IB Key provisioned without a PIN: the app is activated with the SMS activation token and
        the PIN the user picked, and the server learns both here — `token` must match the one
        sent (single use, `activation_ttl`) and `pin` becomes the PIN the host verifies with.
        A wrong or expired token returns False (audited). Other pending devices: admin
        activation without a token.
        """
        now = self.clock()
        # The status check and the write are one transaction: a device revoked by another
        # process in between must not come back to life.
        with self.store.transaction():
            record = self.store.get_device(serial)
            if record.status != "pending":
                raise BridgeError(f"device {serial} is {record.status}, not pending")
            needs_pin = record.suite is not None and OcraSuite.parse(record.suite).pin_hash
            if needs_pin and record.pin_enc is None and pin is None:
                raise BridgeError(f"device {serial} needs the PIN chosen at activation")
            if pin is not None and not needs_pin:
                raise BridgeError(f"device {serial} takes no PIN at activation")
            if pin is not None:
                _check_host_pin(record.model, pin)
            needs_token = token is not None or (record.model == "ibkey" and record.pin_enc is None)
            taken = token is not None and self._take_activation_token(serial, token, now)
            if needs_token and not taken:
                self._audit("device.activate", "refused", serial=serial,
                            reason="wrong or expired activation token")
                return False
            changes: dict[str, Any] = {"status": "active", "activated": now}
            if pin is not None:
                changes["pin_enc"] = self.master.seal(_PURPOSE_PIN, serial, pin.encode())
            self.store.update_device(serial, now, **changes)
            self._audit("device.activate", "ok", serial=serial)
        return True

    def _take_activation_token(self, serial: str, token: str, now: float) -> bool:
        for challenge_id in self.store.open_activation_ids(serial, now):
            challenge = self.store.get_challenge(challenge_id)
            if challenge is None or challenge.data_enc is None:
                continue
            sent = self.master.open(_PURPOSE_SMS, challenge_id, challenge.data_enc)
            if hmac.compare_digest(token.strip().encode(), sent):
                self.store.consume_challenge(challenge_id, now)
                return True
        return False

    def unlock(self, serial: str) -> None:
        """Admin unlock of a device the bridge locked: failures back to 0, active again."""
        with self.store.transaction():  # check and write at once (see `activate`)
            record = self.store.get_device(serial)
            if record.status not in ("locked", "active"):
                raise BridgeError(
                    f"device {serial} is {record.status}; only a locked device unlocks"
                )
            self.store.update_device(serial, self.clock(), status="active", failures=0)
            self._audit("device.unlock", "ok", serial=serial, was=record.status)

    def revoke(self, serial: str) -> None:
        """Take a device out of use for good."""
        with self.store.transaction():  # check and write at once (see `activate`)
            record = self.store.get_device(serial)
            if record.status in ("revoked", "replaced"):
                raise BridgeError(f"device {serial} is already {record.status}")
            self.store.update_device(serial, self.clock(), status="revoked")
            self._audit("device.revoke", "ok", serial=serial, was=record.status)

    def unlock_code(self, serial: str, lock_number: str) -> str:
        """The code that unlocks a DSC+ locked in `pin_mode="device"` showing `lock_number`."""
        from firmware_model.dscplus import unlock_code  # the DSC+ model owns the algorithm

        record = self.store.get_device(serial)
        if record.model not in ("dscplus", "gold", "platinum"):
            raise BridgeError(f"device {serial} is a {record.model}; unlock codes are for DSC+")
        if not lock_number.isdigit() or len(lock_number) > 16:
            raise BridgeError("a lock number is the digits the locked card shows")
        key = self.master.open(_PURPOSE_KEY, serial, record.key_enc)
        try:
            code: str = unlock_code(key, lock_number)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        self._audit("device.unlock_code", "issued", serial=serial)
        return code

    # --- challenges and verification --------------------------------------------------------

    def issue_challenge(self, serial: str, *, voice: bool = False) -> Challenge:
        """Store a new single-use challenge for device `serial` (one commit) and return it.

        Card challenges are ONE statement: an `INSERT … SELECT` that stores the challenge only if
        the device is still active and unexpired and still has the suite the question was made
        for (checked by the database at that instant, so a lock or revocation by another process
        is never missed). The device's kind, suite and question length are remembered per
        process; a device whose suite changed is looked up afresh.

        SMS devices: the code goes to the outbox; a new code at most every `sms_resend_seconds`
        (`TooSoon`, exit code 1, otherwise). `voice=True` is the voice callback for when the SMS
        does not arrive (KB3396): it reads out the code still pending — same challenge, no new
        code, so the resend limit does not stand in its way — or sends a new one by voice.
        """
        now = self.clock()
        static = self._static.get(serial)
        if static is None:
            record = self.store.get_device(serial)
            self._check_usable(record, now)
            static = _StaticDevice.of(record)
            if len(self._static) >= KEY_CACHE_SIZE:
                self._static.clear()
            self._static[serial] = static
        kind, suite, digits = static
        if kind == v.KIND_SMS:
            return self._issue_sms(serial, voice, now)
        if voice:
            raise BridgeError(f"device {serial} is no SMS device: it has no voice callback")
        if digits:
            text = random_digits(digits, self.entropy)
        elif kind == v.KIND_SCC:
            first, second = v.scc_indices(self.entropy)
            text = f"{first} {second}"
        else:
            text = ""
        record_ch = ChallengeRecord(
            id=self._new_challenge_id(now), serial=serial, kind=kind, text=text, data_enc=None,
            created=now, expires=now + self.config.challenge_ttl, used=False, used_at=None,
        )
        if not self.store.insert_challenge_if_usable(record_ch, suite, now):
            # Not usable any more (or re-suited): find out why from a fresh row.
            del self._static[serial]
            self._check_usable(self.store.get_device(serial), now)
            return self.issue_challenge(serial, voice=voice)
        return Challenge(record_ch.id, serial, kind, text, record_ch.expires)

    def _new_challenge_id(self, now: float) -> str:
        """32 hex digits: the time in ms, then 80 random bits (unguessable). Time-ordered ids
        put new challenges on the last page of their b-tree, so a commit writes few pages."""
        return f"{int(now * 1000) & 0xFFFFFFFFFFFF:012x}{self.entropy(10).hex()}"

    def _issue_sms(self, serial: str, voice: bool, now: float) -> Challenge:
        """An SMS (or voice) code: check the resend limit and store in one transaction."""
        challenge_id = self._new_challenge_id(now)
        code = random_digits(self.config.sms_digits, self.entropy)
        record_ch = ChallengeRecord(
            id=challenge_id, serial=serial, kind=v.KIND_SMS, text="",
            data_enc=self.master.seal(_PURPOSE_SMS, challenge_id, code.encode()),
            created=now, expires=now + self.config.challenge_ttl, used=False, used_at=None,
        )
        wait = 0.0
        with self.store.transaction():
            self._check_usable(self.store.get_device(serial), now)
            pending = self.store.pending_sms_challenge(serial, now) if voice else None
            if pending is not None and pending.data_enc is not None:
                code = self.master.open(_PURPOSE_SMS, pending.id, pending.data_enc).decode()
                self._deliver(serial, pending.id, code, "voice", now)
                return Challenge(pending.id, serial, v.KIND_SMS, "", pending.expires)
            last = self.store.last_sms_time(serial)
            wait = 0.0 if last is None else last + self.config.sms_resend_seconds - now
            if wait > 0:  # refused: commit the audit row, then report
                self._audit("sms.send", "refused", serial=serial, reason="resend limit")
            else:
                self._store_challenge(record_ch, code, voice, now)
        if wait > 0:
            raise TooSoon(math.ceil(wait))
        return Challenge(challenge_id, serial, v.KIND_SMS, "", record_ch.expires)

    def _store_challenge(
        self, record_ch: ChallengeRecord, code: str | None, voice: bool, now: float
    ) -> None:
        serial, challenge_id = record_ch.serial, record_ch.id
        self.store.insert_challenge(record_ch)
        if code is not None:
            self._deliver(serial, challenge_id, code, "voice" if voice else "sms", now)

    def _deliver(self, serial: str, challenge_id: str, code: str, channel: str, now: float) -> None:
        """Put a code in the outbox (the simulated phone) and audit that it went (not the code)."""
        owners = self.store.users_of(serial)
        self.outbox.send(
            Message(now, channel, serial, owners[0][0] if owners else None, challenge_id, code)
        )
        self._audit("sms.send", "ok", serial=serial, channel=channel)

    def verify(self, serial: str, challenge_id: str, response: str) -> Verdict:
        """Check `response` to challenge `challenge_id` of device `serial`. One transaction.

        A challenge answers once: any answer — right, wrong or late — consumes it. Wrong answers
        count against this device only; `lockout_after` in a row lock it.
        """
        if not isinstance(response, str) or len(response) > v.MAX_RESPONSE_CHARS:
            raise BridgeError(f"a response is at most {v.MAX_RESPONSE_CHARS} characters")
        if len(challenge_id) > v.MAX_CHALLENGE_ID_CHARS:
            raise BridgeError(f"a challenge id is at most {v.MAX_CHALLENGE_ID_CHARS} characters")
        now = self.clock()
        with self.store.transaction():
            verdict, failures, issued = self._verify_locked(serial, challenge_id, response, now)
            # Stamped with the decision's own time (no second clock read on the hot path).
            self.audit_log.record(
                now, "verify", "accepted" if verdict.accepted else "refused", serial=serial,
                reason=verdict.reason, challenge_id=challenge_id, issued=issued,
                failures=failures,
            )
        return verdict

    def _verify_locked(
        self, serial: str, challenge_id: str, response: str, now: float
    ) -> tuple[Verdict, int | None, float | None]:
        """The decision, the device's failure count after it, and when the challenge was
        issued (the audit row carries it: issuing a challenge writes no audit row of its own)."""
        # Unknown device: bad input (BridgeError). The challenge is consumed from here on.
        record, challenge = self.store.claim_challenge(serial, challenge_id, now)
        if challenge is None:
            return Verdict(False, v.UNKNOWN), None, None
        if challenge.used:
            return Verdict(False, v.USED), None, challenge.created
        if challenge.serial != serial:
            return Verdict(False, v.OTHER_DEVICE), None, challenge.created
        if now >= challenge.expires:
            return Verdict(False, v.EXPIRED), None, challenge.created
        refusal = _unusable_reason(record, now)
        if refusal is not None:
            return Verdict(False, refusal), None, challenge.created
        outcome = self._check_answer(record, challenge, response, now)
        if isinstance(outcome, str):  # refused, charged to this device
            failures = record.failures + 1
            if failures >= self.config.lockout_after:
                self.store.update_device(serial, now, failures=failures, status="locked")
                self._audit("device.lock", "locked", serial=serial, failures=failures)
            else:
                self.store.update_device(serial, now, failures=failures)
            return Verdict(False, outcome), failures, challenge.created
        changed = {name: value for name, value in outcome.items() if getattr(record, name) != value}
        if record.failures:
            changed["failures"] = 0
        if changed:  # an unchanged row is not rewritten: one page less in the commit
            self.store.update_device(serial, now, **changed)
        return Verdict(True, v.ACCEPTED), 0, challenge.created

    def _check_answer(
        self, record: DeviceRow, challenge: ClaimedChallenge, response: str, now: float
    ) -> str | dict[str, int]:
        """A refusal reason, or the device columns to store on success."""
        kind = challenge.kind
        if kind == v.KIND_SMS:
            if challenge.data_enc is None:
                raise StoreError(f"challenge {challenge.id} lost its code")
            code = self.master.open(_PURPOSE_SMS, challenge.id, challenge.data_enc)
            ok = hmac.compare_digest(v.normalise_response(response).encode(), code)
            return {} if ok else v.WRONG
        key = self._key(record)
        if kind == v.KIND_SCC:
            return {} if v.check_scc(key, challenge.text, response) else v.WRONG
        if kind == v.KIND_TIME:
            match = v.check_time_passcode(
                key, response, now, step_seconds=record.time_step or PASSCODE_STEP,
                drift=record.drift, window=self.config.time_window, last_step=record.last_step,
                passcode=dsc_passcode,
            )
            if match is None:
                return v.WRONG
            if isinstance(match, str):
                return match
            return {"drift": match.drift, "last_step": match.step}
        if record.suite is None:
            raise StoreError(f"device {record.serial} has no suite in the store")
        calculator = self._calculator(record, key)
        window = self.config.counter_window if calculator.suite.counter else 0
        next_counter = v.check_ocra(
            calculator, response, challenge.text, self._pin_hash(record, calculator),
            record.counter, window,
        )
        if next_counter is None:
            return v.WRONG
        return {"counter": next_counter} if calculator.suite.counter else {}

    def _key(self, record: DeviceRow) -> bytes:
        """The device key, decrypted (cached per sealed value: a re-keyed row misses)."""
        cached = self._keys.get((record.serial, record.key_enc))
        if cached is None:
            cached = self.master.open(_PURPOSE_KEY, record.serial, record.key_enc)
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.clear()
                self._calculators.clear()
            self._keys[(record.serial, record.key_enc)] = cached
        return cached

    def _calculator(self, record: DeviceRow, key: bytes) -> OcraCalculator:
        """An OCRA calculator for the device (key schedule set up once per process)."""
        assert record.suite is not None
        slot = (record.serial, record.key_enc, record.suite)
        calculator = self._calculators.get(slot)
        if calculator is None:
            calculator = OcraCalculator(record.suite, key)
            self._calculators[slot] = calculator
        return calculator

    def _pin_hash(self, record: DeviceRow, calculator: OcraCalculator) -> bytes | None:
        """The PIN hashed as the suite's P asks (cached per sealed PIN), or None without one."""
        algorithm = calculator.suite.pin_hash
        if record.pin_enc is None or algorithm is None:
            return None
        slot = (record.serial, record.pin_enc)
        cached = self._pin_hashes.get(slot)
        if cached is None:
            pin = self.master.open(_PURPOSE_PIN, record.serial, record.pin_enc)
            cached = hashlib.new(algorithm, pin).digest()
            if len(self._pin_hashes) >= KEY_CACHE_SIZE:
                self._pin_hashes.clear()
            self._pin_hashes[slot] = cached
        return cached

    def _pin(self, record: DeviceRecord) -> str | None:
        if record.pin_enc is None:
            return None
        return self.master.open(_PURPOSE_PIN, record.serial, record.pin_enc).decode()

    def _check_usable(self, record: DeviceRecord, now: float) -> None:
        reason = _unusable_reason(record, now)
        if reason is not None:
            raise NotUsable(f"device {record.serial}: {reason}")

    # --- audit ------------------------------------------------------------------------------

    def audit(
        self,
        *,
        user: str | None = None,
        serial: str | None = None,
        since_id: int = 0,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Audit rows, oldest first."""
        return self.audit_log.rows(user=user, serial=serial, since_id=since_id, limit=limit)

    def _audit(
        self,
        event: str,
        outcome: str,
        *,
        user: str | None = None,
        serial: str | None = None,
        **detail: str | int | float | bool | None,
    ) -> None:
        self.audit_log.record(self.clock(), event, outcome, user=user, serial=serial, **detail)

    # --- helpers for tests and the TUI ------------------------------------------------------

    def scc_cell_count(self, serial: str) -> int:
        """How many cells the card of `serial` has (a sanity check that needs the key)."""
        record = self.store.get_device(serial)
        return len(scc_grid(self.master.open(_PURPOSE_KEY, serial, record.key_enc)))


class _StaticDevice(NamedTuple):
    """What issuing a challenge needs of a device, remembered per process: its challenge kind,
    suite and (OCRA) question length. Each issue checks in SQL that the suite is unchanged."""

    kind: str
    suite: str | None
    digits: int  # 0: not an OCRA question

    @classmethod
    def of(cls, record: DeviceRecord) -> _StaticDevice:
        kind = v.kind_of(record.model)
        if kind != v.KIND_OCRA:
            return cls(kind, record.suite, 0)
        if record.suite is None:
            raise StoreError(f"device {record.serial} has no suite in the store")
        return cls(kind, record.suite, v.ocra_question_length(record.suite))


class TooSoon(BridgeError):
    """A new SMS code was asked for before the resend interval passed: a negative answer."""

    exit_code = 1

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(f"a new code can be sent in {wait_seconds} s (resend limit)")
        self.wait_seconds = wait_seconds


def _unusable_reason(record: DeviceRow, now: float) -> str | None:
    if record.status == "locked":
        return v.LOCKED
    if record.status != "active":
        return v.NOT_ACTIVE
    if record.valid_until is not None and now >= record.valid_until:
        return v.DEVICE_EXPIRED
    return None


def _key_bytes(model: str, suite: str | None) -> int:
    """Key size: the suite's hash output size (RFC 4226 asks for at least 128 bits), SCC 32."""
    if suite is not None:
        return {"sha1": 20, "sha256": 32, "sha512": 64}[OcraSuite.parse(suite).hash_name]
    return 32 if model == "scc" else 20


def _split_pin(
    model: str, pin: str | None, pin_mode: str | None, suite: str | None
) -> tuple[str | None, str | None]:
    """(PIN for the image, PIN the host keeps). A suite with P (DSC+ soft PIN, IB Key) feeds the
    PIN into the response, so the host keeps it and the card stores none; otherwise the PIN is
    checked on the device and the host never learns it."""
    if model == "ibkey":
        # The app checks its PIN locally and also feeds it to OCRA (suite with PSHA1). Without
        # a PIN the app waits for activation, where the user picks it (see `Bridge.activate`).
        return pin, pin
    cls = device_class(model)
    modes: tuple[str, ...] = getattr(cls, "pin_modes", ())
    defaults: Mapping[str, str] = getattr(cls, "default_suites", {})
    effective = suite
    if effective is None and modes:
        effective = defaults.get(pin_mode or modes[0])
    if effective is None or OcraSuite.parse(effective).pin_hash is None:
        return pin, None
    if pin is None:
        raise BridgeError(f"a {model} with suite {effective} needs a PIN (the host keeps it)")
    _check_host_pin(model, pin)
    return None, pin


def _check_host_pin(model: str, pin: str) -> None:
    """`BridgeError` unless `pin` is one the device would take. The host keeps a PIN that feeds
    the response (soft PIN, IB Key PIN); one the device would refuse makes the device useless.
    The message never holds the PIN."""
    if model == "ibkey":
        from firmware_model.ibkey import check_pin_rules  # the app's own rule

        try:
            check_pin_rules(pin)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        return
    length: int = getattr(sys.modules[device_class(model).__module__], "PIN_LENGTH", 4)
    if len(pin) != length or not pin.isdigit() or not pin.isascii():
        # The card cannot check a soft PIN, so the host does it here (KB1943: 4 digits).
        raise BridgeError(f"cannot make a {model} device: the soft PIN must be {length} digits")


def _iso_date(when: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(when, datetime.UTC).date().isoformat()
