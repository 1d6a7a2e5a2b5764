"""Provisioning: a new device from one random key (stored sealed, written to the image), PSKC
import and export. `slsbridge provision` is the administrator's tool: no ordering rules here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from firmware_model.device import ImageSpec
from firmware_model.hotp import OtpSpec
from firmware_model.image import DeviceImage, JsonValue, encode_image
from firmware_model.legacy_dsc import PASSCODE_STEP
from firmware_model.models import (
    PROFILES,
    SERIAL_DIGITS,
    ChallengeKind,
    device_class,
    make_serial,
    new_image,
    pin_rule_of,
    profile,
    random_digits,
)
from firmware_model.ocra import OcraSuite
from host_bridge.domain import DeviceRecord, DeviceStatus, TokenKind
from host_bridge.errors import BridgeError
from host_bridge.inputs import check_name
from host_bridge.newfile import write_new
from host_bridge.repos import devices, users
from host_bridge.repos.outbox import Message
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.keys import PURPOSE_KEY, PURPOSE_PIN
from host_bridge.services.sms import ACTIVATION_TOKEN_DIGITS, SmsService

PROVISION_MODELS: Final = tuple(name for name, p in PROFILES.items() if p.serial_prefix)
"""Every model with a serial of its own (the registry's; the Temporary Code is no device)."""


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    """A newly provisioned device: its serial and the image (None for SMS, which has none)."""

    serial: str
    image: DeviceImage | None = field(repr=False)
    status: DeviceStatus = DeviceStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class ImportedKey:
    """A device secret coming from outside (PSKC) rather than from `os.urandom`."""

    serial: str
    model: str
    key: bytes = field(repr=False)
    suite: str | None = None
    counter: int = 0
    pin: str | None = field(default=None, repr=False)
    otp: str | None = None
    """An OATH token's HOTP/TOTP (`OtpSpec` text); None: the model's own codes."""
    time_step: int | None = None
    """TOTP seconds per step (None: the model's own)."""


class ProvisioningService:
    def __init__(self, ctx: Context, sms: SmsService) -> None:
        self.ctx = ctx
        self.sms = sms

    @unit_of_work
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
        """Make a new device for `user`.

        The image (0600, never replacing a file) is written inside the store transaction, so a
        failure leaves neither. `valid_until` (Unix seconds) makes a temporary device (Online
        SCC: required). `pending=True` stores it `pending` until activated; an IB Key made
        without a PIN is pending anyway (it waits for its activation token). SMS devices have
        no image. Raises `BridgeError` for bad input.
        """
        ctx = self.ctx
        if model not in PROVISION_MODELS:
            raise BridgeError(f"unknown model {model!r} (known: {', '.join(PROVISION_MODELS)})")
        with ctx.db.read() as tx:
            users.get(tx, user)
        if image_path is not None and Path(image_path).exists():
            raise BridgeError(f"{image_path} already exists (refusing to overwrite a device)")
        now = ctx.clock()
        image: DeviceImage | None = None
        host_pin: str | None = None
        token: str | None = None
        if model == "sms":
            if pin is not None or image_path is not None or suite is not None:
                raise BridgeError("an SMS device takes no PIN, suite or image")
            serial = f"{profile(model).serial_prefix}{random_digits(SERIAL_DIGITS, ctx.entropy)}"
            key = ctx.entropy(20)
        else:
            image_model = profile(model).image_model or model
            serial = make_serial(image_model, ctx.entropy)
            key = ctx.entropy(_key_bytes(image_model, suite))
            spec_options: dict[str, JsonValue] = dict(options or {})
            if model == "ibkey":
                spec_options.setdefault("username", user)
                if pin is None:
                    token = random_digits(ACTIVATION_TOKEN_DIGITS, ctx.entropy)
                    spec_options["activation_token"] = token
            if model == "online_scc":
                if valid_until is None:
                    raise BridgeError("an Online SCC needs valid_until")
                spec_options.setdefault("online", True)
                spec_options.setdefault("valid_until", _iso_date(valid_until))
            image_pin, host_pin = _split_pin(image_model, pin, pin_mode, suite)
            spec = ImageSpec(image_model, serial, key, image_pin, pin_mode, suite, spec_options)
            try:
                image = new_image(spec, ctx.entropy)
            except ValueError as exc:
                raise BridgeError(f"cannot make a {model} device: {exc}") from None
        if valid_until is not None and valid_until <= now:
            raise BridgeError("valid_until must be in the future")
        status = DeviceStatus.PENDING if pending or token is not None else DeviceStatus.ACTIVE
        message: Message | None = None
        written = False
        try:
            with ctx.db.transaction():
                self.insert(
                    user, model, serial, key, status=status, now=now,
                    suite=image.suite if image else None, pin=host_pin,
                    pin_mode=pin_mode, valid_until=valid_until,
                )
                ctx.audit("device.provision", "ok", user=user, serial=serial, model=model,
                          status=status.value)
                if token is not None:
                    message = self.sms.store_token(TokenKind.ACTIVATION, user, serial, token, now)
                if image is not None and image_path is not None:
                    try:  # never replaces a file, not even one made since the check above
                        write_new(image_path, encode_image(image))
                    except FileExistsError:
                        raise BridgeError(
                            f"{image_path} already exists (refusing to overwrite a device)"
                        ) from None
                    written = True
        except BaseException:
            if written and image_path is not None:  # the store rolled back: no image either
                Path(image_path).unlink(missing_ok=True)
            raise
        if message is not None:  # after the commit (or inside a caller's unit of work)
            ctx.outbox.send(message)
        return ProvisionResult(serial, image, status)

    @unit_of_work
    def import_keys(self, user: str, keys: list[ImportedKey], source: str) -> list[str]:
        """Store devices whose secrets come from a file (PSKC): all of them, or none."""
        ctx = self.ctx
        now = ctx.clock()
        serials: list[str] = []
        with ctx.db.transaction() as tx:
            users.get(tx, user)
            for item in keys:
                if item.model not in PROVISION_MODELS or item.model == "sms":
                    raise BridgeError(f"cannot import a device of model {item.model!r}")
                check_name(item.serial, "serial")
                if item.model == "ibkey" and item.pin is None:
                    # no activation token exists for it: pending would be pending forever
                    raise BridgeError(f"IB Key {item.serial}: imported with its PIN only")
                status = DeviceStatus.ACTIVE
                pin_mode = None
                if is_ocra_card(item.model) and item.suite is not None:
                    pin_mode = "soft" if OcraSuite.parse(item.suite).pin_hash else "device"
                if item.pin is not None:
                    check_host_pin(item.model, item.pin)
                self.insert(
                    user, item.model, item.serial, item.key, status=status, now=now,
                    suite=item.suite, pin=item.pin, pin_mode=pin_mode, valid_until=None,
                    counter=item.counter, otp=item.otp, time_step=item.time_step,
                )
                serials.append(item.serial)
            # The file name is text a person typed: only its keyed tag is logged.
            ctx.audit("pskc.import", "ok", user=user, devices=len(serials),
                      file_tag=ctx.master.tag("audit-file", source))
        return serials

    def export_key(self, serial: str) -> ImportedKey:
        """A device's secret, for PSKC export (the caller must protect it). Audited."""
        ctx = self.ctx
        with ctx.db.read() as tx:
            record = devices.get(tx, serial)
        key = ctx.master.open(PURPOSE_KEY, serial, record.key_enc)
        pin = None
        if record.pin_enc is not None:
            pin = ctx.master.open(PURPOSE_PIN, serial, record.pin_enc).decode()
        ctx.audit("pskc.export", "ok", serial=serial)
        return ImportedKey(serial, record.model, key, record.suite, record.counter, pin,
                           record.otp, record.time_step)

    def insert(
        self,
        user: str,
        model: str,
        serial: str,
        key: bytes,
        *,
        status: DeviceStatus,
        now: float,
        suite: str | None,
        pin: str | None,
        pin_mode: str | None,
        valid_until: float | None,
        counter: int = 0,
        otp: str | None = None,
        time_step: int | None = None,
    ) -> None:
        if suite is not None:
            OcraSuite.parse(suite)
        if otp is not None:
            OtpSpec.parse(otp)
        if model == "dsc" and time_step is None:
            time_step = PASSCODE_STEP
        master = self.ctx.master
        record = DeviceRecord(
            serial=serial, model=model, status=status, suite=suite,
            key_enc=master.seal(PURPOSE_KEY, serial, key), counter=counter, pin_mode=pin_mode,
            pin_enc=master.seal(PURPOSE_PIN, serial, pin.encode()) if pin else None,
            time_step=time_step, drift=0, last_step=None,
            failures=0, temporary=valid_until is not None, valid_until=valid_until,
            replaced_by=None, created=now,
            activated=now if status is DeviceStatus.ACTIVE else None, updated=now, otp=otp,
        )
        with self.ctx.db.transaction() as tx:
            devices.insert_device(tx, record, user)


def _key_bytes(model: str, suite: str | None) -> int:
    """Key size: the hash output size of the suite the device will use — the one given, else the
    model's default (Platinum's SHA-256 suite: 32) — as RFC 4226 asks for at least 128 bits;
    SCC 32."""
    if suite is None and profile(model).challenge is ChallengeKind.OCRA:
        defaults: Mapping[str, str] = getattr(device_class(model), "default_suites", {})
        suite = next(iter(defaults.values()), None)
    if suite is not None:
        return {"sha1": 20, "sha256": 32, "sha512": 64}[OcraSuite.parse(suite).hash_name]
    return 32 if profile(model).challenge is ChallengeKind.SCC_CELLS else 20


def _split_pin(
    model: str, pin: str | None, pin_mode: str | None, suite: str | None
) -> tuple[str | None, str | None]:
    """(PIN for the image, PIN the host keeps). A suite with P (DSC+ soft PIN, IB Key) feeds the
    PIN into the response, so the host keeps it and the card stores none; otherwise the PIN is
    checked on the device and the host never learns it."""
    if model == "ibkey":
        # The app checks its PIN locally and also feeds it to OCRA (suite with PSHA1). Without
        # a PIN the app waits for activation, where the user picks it (see `activate`).
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
    check_host_pin(model, pin)
    return None, pin


def check_host_pin(model: str, pin: str) -> None:
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
    rule = pin_rule_of(model)
    if not rule.allows(pin):
        # The card cannot check a soft PIN, so the host does it here (KB1943: 4 digits).
        raise BridgeError(f"cannot make a {model} device: the soft PIN must be {rule.describe()}")


def is_ocra_card(model: str) -> bool:
    """A card that answers OCRA challenges (DSC+, Gold, Platinum): soft or device PIN mode."""
    found = PROFILES.get(model)
    return found is not None and found.physical and found.challenge is ChallengeKind.OCRA


def _iso_date(when: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(when, datetime.UTC).date().isoformat()
