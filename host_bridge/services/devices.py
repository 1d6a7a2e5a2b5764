"""Devices after provisioning: listing (as a login screen shows them), activation, admin unlock
and revocation, DSC+ unlock codes. Every status check and its write are one transaction, so a
device revoked by another process in between never comes back to life."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from firmware_model.ocra import OcraSuite
from firmware_model.scc import scc_grid
from host_bridge import verification as v
from host_bridge.domain import DeviceRecord, DeviceStatus, Guessed, Role
from host_bridge.errors import BridgeError, Locked
from host_bridge.repos import devices, users
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.guesses import GuessService
from host_bridge.services.keys import PURPOSE_KEY, PURPOSE_PIN
from host_bridge.services.provisioning import check_host_pin, is_ocra_card
from host_bridge.services.sms import SmsService


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device as a login screen or `slsbridge devices` shows it (no secret)."""

    serial: str
    model: str
    status: DeviceStatus
    kind: str
    type_code: str
    suite: str | None
    temporary: bool
    valid_until: float | None
    failures: int
    users: tuple[str, ...]
    otp: str | None = None
    """An imported OATH token's HOTP/TOTP (e.g. `TOTP-SHA256-8`); None: the model's own codes."""

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "model": self.model,
            "status": self.status.value,
            "kind": self.kind,
            "type_code": self.type_code,
            "suite": self.suite,
            "temporary": self.temporary,
            "valid_until": self.valid_until,
            "failures": self.failures,
            "users": list(self.users),
            "otp": self.otp,
        }


class DeviceService:
    def __init__(self, ctx: Context, sms: SmsService) -> None:
        self.ctx = ctx
        self.sms = sms
        self.guesses = GuessService(ctx)

    def device(self, serial: str) -> DeviceInfo:
        """One device (`BridgeError` if unknown)."""
        with self.ctx.db.read() as tx:
            return self._info(tx, devices.get(tx, serial))

    def devices(self, user: str) -> list[DeviceInfo]:
        """The devices a login of `user` may select (M2FS): every active, unexpired one, owned
        or shared."""
        now = self.ctx.clock()
        with self.ctx.db.read() as tx:
            users.get(tx, user)
            return [
                self._info(tx, record)
                for record in devices.of_user(tx, user, (DeviceStatus.ACTIVE,))
                if record.valid_until is None or record.valid_until > now
            ]

    def all_devices(self, user: str) -> list[DeviceInfo]:
        """Every device linked to `user`, whatever its status."""
        with self.ctx.db.read() as tx:
            users.get(tx, user)
            return [self._info(tx, record) for record in devices.of_user(tx, user)]

    def _info(self, tx: Any, record: DeviceRecord) -> DeviceInfo:
        return DeviceInfo(
            serial=record.serial, model=record.model, status=record.status,
            kind=v.kind_of(record.model).value, type_code=v.type_code(record.model),
            suite=record.suite, temporary=record.temporary, valid_until=record.valid_until,
            failures=record.failures,
            users=tuple(name for name, _ in devices.users_of(tx, record.serial)),
            otp=record.otp,
        )

    def activate(self, serial: str, *, token: str | None = None, pin: str | None = None) -> bool:
        """Make a pending device active; others stay active (M2FS). Returns True if it did.

        IB Key provisioned without a PIN: the app is activated with the SMS activation token and
        the PIN the user picked, and the server learns both here — `token` must match the one
        sent (single use, `activation_ttl`) and `pin` becomes the PIN the host verifies with.
        A wrong or expired token returns False (audited). Other pending devices: admin
        activation without a token. Tokens are charged to the owner's activation token budget
        before they are compared: `Locked` (exit 1) once `lockout_after` wrong ones in a row
        spent it.
        """
        done = self._activate(serial, token, pin)
        if done is None:
            owner = self.device(serial).users[0]
            raise Locked(self.guesses.locked_message(Guessed.ACTIVATION_TOKEN, owner))
        return done

    @unit_of_work
    def _activate(self, serial: str, token: str | None, pin: str | None) -> bool | None:
        ctx = self.ctx
        now = ctx.clock()
        with ctx.db.transaction() as tx:
            record = devices.get(tx, serial, lock=True)
            if record.status is not DeviceStatus.PENDING:
                raise BridgeError(f"device {serial} is {record.status}, not pending")
            needs_pin = record.suite is not None and OcraSuite.parse(record.suite).pin_hash
            if needs_pin and record.pin_enc is None and pin is None:
                raise BridgeError(f"device {serial} needs the PIN chosen at activation")
            if pin is not None and not needs_pin:
                raise BridgeError(f"device {serial} takes no PIN at activation")
            if pin is not None:
                check_host_pin(record.model, pin)
            needs_token = token is not None or (record.model == "ibkey" and record.pin_enc is None)
            if needs_token and token is None:
                ctx.audit("device.activate", "refused", serial=serial, reason="no activation token")
                return False
            if token is not None:
                owner = _owner(tx, serial)
                # Charged to the owner's token budget before it is compared, in this transaction:
                # the charge commits with the answer.
                charged = self.guesses.charge(tx, Guessed.ACTIVATION_TOKEN, owner)
                if charged is None:
                    ctx.audit("device.activate", "refused", user=owner, serial=serial,
                              reason="locked", failures=self.guesses.budget.limit)
                    return None
                taken = self.sms.take_activation_token(serial, token, now)
                failures = self.guesses.settle(
                    tx, Guessed.ACTIVATION_TOKEN, owner, charged, taken
                )
                if not taken:
                    ctx.audit("device.activate", "refused", user=owner, serial=serial,
                              reason="wrong or expired activation token", failures=failures)
                    return False
            changes: dict[str, Any] = {"status": DeviceStatus.ACTIVE, "activated": now}
            if pin is not None:
                changes["pin_enc"] = ctx.master.seal(PURPOSE_PIN, serial, pin.encode())
            devices.update_device(tx, serial, now, **changes)
            ctx.audit("device.activate", "ok", serial=serial)
        return True

    @unit_of_work
    def unlock(self, serial: str) -> None:
        """Admin unlock of a device the bridge locked: failures back to 0, active again. A
        pending card (an ordered DSC+ whose Soft PIN guesses spent its budget) stays pending."""
        with self.ctx.db.transaction() as tx:
            record = devices.get(tx, serial, lock=True)
            unlocked = {
                DeviceStatus.LOCKED: DeviceStatus.ACTIVE,
                DeviceStatus.ACTIVE: DeviceStatus.ACTIVE,
                DeviceStatus.PENDING: DeviceStatus.PENDING,
            }.get(record.status)
            if unlocked is None:
                raise BridgeError(
                    f"device {serial} is {record.status}; only a locked device unlocks"
                )
            devices.update_device(tx, serial, self.ctx.clock(), status=unlocked, failures=0)
            self.ctx.audit("device.unlock", "ok", serial=serial, was=record.status.value)

    @unit_of_work
    def revoke(self, serial: str) -> None:
        """Take a device out of use for good."""
        with self.ctx.db.transaction() as tx:
            record = devices.get(tx, serial, lock=True)
            if record.status in (DeviceStatus.REVOKED, DeviceStatus.REPLACED):
                raise BridgeError(f"device {serial} is already {record.status}")
            devices.update_device(tx, serial, self.ctx.clock(), status=DeviceStatus.REVOKED)
            self.ctx.audit("device.revoke", "ok", serial=serial, was=record.status.value)

    def unlock_code(self, serial: str, lock_number: str) -> str:
        """The code that unlocks a DSC+ locked in `pin_mode="device"` showing `lock_number`."""
        from firmware_model.dscplus import unlock_code  # the DSC+ model owns the algorithm

        with self.ctx.db.read() as tx:
            record = devices.get(tx, serial)
        if not is_ocra_card(record.model):
            raise BridgeError(f"device {serial} is a {record.model}; unlock codes are for DSC+")
        if not lock_number.isdigit() or len(lock_number) > 16:
            raise BridgeError("a lock number is the digits the locked card shows")
        key = self.ctx.master.open(PURPOSE_KEY, serial, record.key_enc)
        try:
            code: str = unlock_code(key, lock_number)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        self.ctx.audit("device.unlock_code", "issued", serial=serial)
        return code

    def scc_cell_count(self, serial: str) -> int:
        """How many cells the card of `serial` has (a sanity check that needs the key)."""
        with self.ctx.db.read() as tx:
            record = devices.get(tx, serial)
        return len(scc_grid(self.ctx.master.open(PURPOSE_KEY, serial, record.key_enc)))


def _owner(tx: Any, serial: str) -> str:
    """The user who owns device `serial` (whose budget an activation token is charged to)."""
    for name, role in devices.users_of(tx, serial):
        if role is Role.OWNER:
            return name
    raise BridgeError(f"device {serial} has no owner")
