"""Devices and who may use them (`device_users`: the owner, and users it is shared with)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import delete, insert, select, update

from firmware_model.models import profile
from host_bridge.db.engine import Tx
from host_bridge.db.schema import device_users, devices
from host_bridge.domain import DeviceRecord, DeviceStatus, Role
from host_bridge.errors import BridgeError, NotFound
from host_bridge.repos import users
from host_bridge.repos._rows import blob, decoding, flag, integer, opt, real, text

_COLUMNS: Final = tuple(devices.c)
UPDATABLE: Final = frozenset(
    {"status", "counter", "pin_enc", "drift", "last_step", "failures", "valid_until",
     "replaced_by", "activated", "temporary", "suite", "time_step", "pin_mode"}
)


def insert_device(tx: Tx, device: DeviceRecord, owner: str) -> None:
    """Add a device owned by user `owner`. Raises `BridgeError` on a duplicate serial."""
    if not users.exists(tx, owner):
        raise NotFound(f"no user {owner!r}")
    if tx.conn.execute(select(devices.c.serial).where(devices.c.serial == device.serial)).first():
        raise BridgeError(f"device {device.serial!r} already exists")
    tx.conn.execute(insert(devices).values(
        serial=device.serial, model=device.model, status=device.status.value, suite=device.suite,
        key_enc=device.key_enc, counter=device.counter, pin_mode=device.pin_mode,
        pin_enc=device.pin_enc, time_step=device.time_step, drift=device.drift,
        last_step=device.last_step, failures=device.failures, temporary=int(device.temporary),
        valid_until=device.valid_until, replaced_by=device.replaced_by, created=device.created,
        activated=device.activated, updated=device.updated, otp=device.otp,
    ))
    tx.conn.execute(insert(device_users).values(
        serial=device.serial, user=owner, role=Role.OWNER.value, added=device.created
    ))


def exists(tx: Tx, serial: str) -> bool:
    query = select(devices.c.serial).where(devices.c.serial == serial)
    return tx.conn.execute(query).first() is not None


def get(tx: Tx, serial: str, *, lock: bool = False) -> DeviceRecord:
    """The device `serial` (`lock`: held until the transaction ends). `BridgeError` if none."""
    query = select(*_COLUMNS).where(devices.c.serial == serial)
    row = tx.conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"no device {serial!r}")
    return _device(row)


def update_device(tx: Tx, serial: str, now: float, **changes: Any) -> None:
    """Change some columns of a device row."""
    unknown = set(changes) - UPDATABLE
    if unknown or not changes:
        raise ValueError(f"cannot update device columns {sorted(unknown)}")
    values = {
        name: (int(v) if isinstance(v, bool) else v.value if isinstance(v, DeviceStatus) else v)
        for name, v in changes.items()
    }
    result = tx.conn.execute(
        update(devices).where(devices.c.serial == serial).values(**values, updated=now)
    )
    if result.rowcount != 1:
        raise NotFound(f"no device {serial!r}")


def of_user(
    tx: Tx, user: str, statuses: Iterable[DeviceStatus] | None = None
) -> list[DeviceRecord]:
    """The devices `user` may use (owned or shared), optionally only in `statuses`."""
    query = (
        select(*_COLUMNS)
        .join(device_users, device_users.c.serial == devices.c.serial)
        .where(device_users.c.user == user)
        .order_by(devices.c.created, devices.c.serial)
    )
    if statuses is not None:
        query = query.where(devices.c.status.in_([s.value for s in statuses]))
    return [_device(row) for row in tx.conn.execute(query)]


def users_of(tx: Tx, serial: str) -> list[tuple[str, Role]]:
    """(user, role) pairs that may use device `serial`, in the order they were added."""
    rows = tx.conn.execute(
        select(device_users.c.user, device_users.c.role)
        .where(device_users.c.serial == serial)
        .order_by(device_users.c.added, device_users.c.user)
    )
    with decoding(f"device_users row of {serial[:40]!r}"):
        return [(text(r[0]), Role(r[1])) for r in rows]


def owner_of(tx: Tx, serial: str) -> str | None:
    """The user who owns device `serial`, if any."""
    return next((name for name, role in users_of(tx, serial) if role is Role.OWNER), None)


def link(tx: Tx, serial: str, user: str, now: float, role: Role = Role.SHARED) -> None:
    """Let `user` use device `serial` (sharing). Idempotent."""
    if any(name == user for name, _ in users_of(tx, serial)):
        return
    tx.conn.execute(
        insert(device_users).values(serial=serial, user=user, role=role.value, added=now)
    )


def unlink(tx: Tx, serial: str, user: str) -> None:
    tx.conn.execute(
        delete(device_users).where(device_users.c.serial == serial, device_users.c.user == user)
    )


def _device(row: Sequence[Any]) -> DeviceRecord:
    with decoding(f"devices row {str(row[0])[:40]!r}"):
        profile(text(row[1]))  # a model this build knows
        return DeviceRecord(
            serial=text(row[0]), model=row[1], status=DeviceStatus(row[2]),
            suite=opt(text, row[3]), key_enc=blob(row[4]), counter=_count(row[5]),
            pin_mode=opt(text, row[6]), pin_enc=opt(blob, row[7]),
            time_step=opt(integer, row[8]), drift=integer(row[9]), last_step=opt(integer, row[10]),
            failures=_count(row[11]), temporary=flag(row[12]), valid_until=opt(real, row[13]),
            replaced_by=opt(text, row[14]), created=real(row[15]), activated=opt(real, row[16]),
            updated=real(row[17]), otp=opt(text, row[18]),
        )


def _count(value: Any) -> int:
    if integer(value) < 0:
        raise ValueError("negative count")
    return int(value)
