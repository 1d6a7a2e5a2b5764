"""Temporary access (KB70, KB69, KB1873): the Temporary Code given by phone (never two in a row),
the Online SCC printed with it, and reactivating the permanent device with an Online SCC.

Refusals raise `Refused` (exit 1) after the refusal's audit row committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from firmware_model.models import random_digits
from host_bridge.db.engine import Tx
from host_bridge.domain import DeviceStatus, Guessed, TempKind, TempStatus
from host_bridge.errors import BridgeError, Refused
from host_bridge.passwords import PasswordHash, ScryptParams, check_password, hash_password
from host_bridge.policies import temporary as tmp
from host_bridge.repos import devices, temporary, users
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.guesses import GuessService
from host_bridge.services.holdings import discard, utc
from host_bridge.services.policy_config import PolicyConfig
from host_bridge.services.provisioning import ProvisioningService

TEMP_CODE_SCRYPT: Final = ScryptParams()
"""Temporary Codes are hashed with fixed scrypt parameters (`temp_access` stores none)."""
_CREDENTIAL: Final = {
    TempKind.TEMPORARY_CODE: tmp.Credential.TEMPORARY_CODE,
    TempKind.ONLINE_SCC: tmp.Credential.ONLINE_SCC,
}


@dataclass(frozen=True, slots=True)
class TempRecord:
    """One temporary credential (never its code hash), with the access it gives at `now`."""

    id: int
    user: str
    kind: TempKind
    serial: str | None
    issued: float
    full_until: float
    portal_until: float
    status: TempStatus
    access: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "kind": self.kind.value,
            "serial": self.serial,
            "issued": self.issued,
            "full_until": self.full_until,
            "portal_until": self.portal_until,
            "status": self.status.value,
            "access": self.access,
        }


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A Temporary Code just issued: `code` is shown once and never stored."""

    code: str = field(repr=False)
    record: TempRecord


class TemporaryService:
    def __init__(
        self, ctx: Context, config: PolicyConfig, provisioning: ProvisioningService
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.provisioning = provisioning
        self.guesses = GuessService(ctx)

    def issue_temporary_code(self, user: str) -> IssuedCode:
        """Issue a Temporary Code (KB70): never two in a row. Raises `Refused`."""
        code, refusal, row_id = self._issue_code(user)
        if refusal is not None:
            raise Refused(refusal)
        with self.ctx.db.read() as tx:
            return IssuedCode(code, self._temp(tx, row_id, self.ctx.clock()))

    @unit_of_work
    def _issue_code(self, user: str) -> tuple[str, str | None, int]:
        ctx = self.ctx
        now = ctx.clock()
        with ctx.db.transaction() as tx:
            users.get(tx, user, lock=True)
            decision = tmp.may_issue_temporary_code(self._last_credential(tx, user))
            if not decision.allowed:
                ctx.audit("temp.issue", "refused", user=user, kind="temporary_code",
                          reason=decision.reason[:200])
                return "", decision.reason, 0
            code = random_digits(self.config.temp_code_digits, ctx.entropy)
            hashed = hash_password(code, TEMP_CODE_SCRYPT)
            full_until = now + self.config.temporary.full_access.total_seconds()
            portal_until = full_until + self.config.temporary.portal_only.total_seconds()
            row_id = temporary.add_code(tx, user, hashed, now, full_until, portal_until)
            ctx.audit("temp.issue", "ok", user=user, kind="temporary_code", id=row_id)
        return code, None, row_id

    def check_temporary_code(self, user: str, code: str) -> tmp.Access | None:
        """The access `code` gives `user` now, or None if it is none of their working codes.

        Charged to `user`'s Temporary Code budget before it is compared: `Locked` (exit 1) once
        `lockout_after` wrong codes in a row spent it."""
        now = self.ctx.clock()
        found: list[tuple[int, tmp.Access]] = []

        def compare() -> bool:
            with self.ctx.db.read() as tx:
                rows = temporary.active_codes(tx, user)
            for row_id, digest, salt, issued in rows:
                if digest is None or salt is None:
                    continue
                if check_password(PasswordHash(digest, salt, TEMP_CODE_SCRYPT), code):
                    access = tmp.temporary_code_access(utc(issued), utc(now), self.config.temporary)
                    found.append((row_id, access))
                    return True
            return False

        def record(ok: bool | None, failures: int) -> None:
            if ok:
                row_id, access = found[0]
                self.ctx.audit("temp.check", access.value, user=user, id=row_id)
            else:
                extra = {"reason": "locked"} if ok is None else {}
                self.ctx.audit("temp.check", "refused", user=user, failures=failures, **extra)

        self.guesses.guess(Guessed.TEMPORARY_CODE, user, compare, record)
        return found[0][1] if found else None

    def issue_online_scc(self, user: str, image_path: Path | None) -> TempRecord:
        """Print an Online SCC (KB1873) with a working Temporary Code; valid 21 days."""
        refusal, row_id = self._online_scc(user, image_path)
        if refusal is not None:
            raise Refused(refusal)
        with self.ctx.db.read() as tx:
            return self._temp(tx, row_id, self.ctx.clock())

    @unit_of_work
    def _online_scc(self, user: str, image_path: Path | None) -> tuple[str | None, int]:
        ctx = self.ctx
        now = ctx.clock()
        with ctx.db.transaction() as tx:
            users.get(tx, user, lock=True)
            codes = temporary.active_codes(tx, user)
            access = None if not codes else tmp.temporary_code_access(
                utc(codes[0][3]), utc(now), self.config.temporary
            )
            decision = tmp.may_issue_online_scc(access)
            if not decision.allowed:
                ctx.audit("temp.online_scc", "refused", user=user, reason=decision.reason)
                return decision.reason, 0
            valid_until = now + self.config.temporary.online_scc_validity.total_seconds()
            written = False
            try:
                result = self.provisioning.provision(
                    user, "online_scc", valid_until=valid_until, image_path=image_path
                )
                written = image_path is not None
                row_id = temporary.add_online_scc(tx, user, result.serial, now, valid_until)
                ctx.audit("temp.online_scc", "ok", user=user, serial=result.serial,
                          valid_until=valid_until)
            except BaseException:
                discard(image_path if written else None)
                raise
        return None, row_id

    @unit_of_work
    def reactivate(self, user: str, serial: str) -> None:
        """With a valid Online SCC, make the user's permanent device `serial` active again; the
        temporary credentials end (KB1873, KB1942)."""
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            held = {d.serial: d for d in devices.of_user(tx, user)}
            target = held.get(serial)
            if target is None or target.temporary or target.model == "online_scc":
                raise BridgeError(f"{serial!r} is not a permanent device of {user}")
            if (target.status not in (DeviceStatus.LOCKED, DeviceStatus.REVOKED)
                    or target.replaced_by is not None):
                raise BridgeError(f"device {serial} is {target.status}; nothing to reactivate")
            scc_ok = any(
                d.model == "online_scc"
                and d.usable(now)
                and tmp.online_scc_allows(
                    utc(d.valid_until or 0), utc(now), tmp.Action.REACTIVATE_DEVICE
                )
                for d in held.values()
            )
            if not scc_ok:
                raise Refused("reactivating a device needs a valid Online Security Code Card")
            devices.update_device(
                tx, serial, now, status=DeviceStatus.ACTIVE, failures=0, activated=now
            )
            temporary.end_active(tx, user)
            for device in held.values():
                if device.model == "online_scc" and device.status is DeviceStatus.ACTIVE:
                    devices.update_device(tx, device.serial, now, status=DeviceStatus.REVOKED)
            self.ctx.audit("temp.reactivate", "ok", user=user, serial=serial)

    def temp_status(self, user: str) -> list[TempRecord]:
        now = self.ctx.clock()
        with self.ctx.db.read() as tx:
            users.get(tx, user)
            return [self._temp(tx, i, now) for i in temporary.ids(tx, user)]

    def _last_credential(self, tx: Tx, user: str) -> tmp.Credential | None:
        last = temporary.last_issued(tx, user)
        permanent = max(
            (
                d.activated
                for d in devices.of_user(tx, user)
                if not d.temporary and d.model != "online_scc" and d.activated is not None
            ),
            default=None,
        )
        if last is not None and (permanent is None or last[1] >= permanent):
            return _CREDENTIAL[last[0]]
        return None if permanent is None else tmp.Credential.PERMANENT

    def _temp(self, tx: Tx, row_id: int, now: float) -> TempRecord:
        row = temporary.get(tx, row_id)
        if row is None:
            raise BridgeError(f"no temporary access {row_id}")
        row_id, user, kind, serial, issued, full_until, portal_until, status = row
        if status is not TempStatus.ACTIVE:
            access = status.value
        elif kind is TempKind.TEMPORARY_CODE:
            access = tmp.temporary_code_access(
                utc(issued), utc(max(now, issued)), self.config.temporary
            ).value
        else:
            access = "valid" if now < portal_until else "expired"
        return TempRecord(
            row_id, user, kind, serial, issued, full_until, portal_until, status, access
        )
