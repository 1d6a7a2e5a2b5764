"""Challenges: issued, single use, expiring. The hot path of every login lives here.

The statements a login runs are built once (bound parameters), so SQLAlchemy compiles each once
per process. A verification *claims* its challenge: one SELECT reads the device (FOR UPDATE on
PostgreSQL) and the challenge together, then `UPDATE … WHERE used = 0` uses it; a claim that
finds the challenge used by a concurrent verifier reports it used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    Integer,
    LargeBinary,
    Text,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)

from host_bridge.db.engine import Tx
from host_bridge.db.schema import Real, challenges, devices
from host_bridge.domain import (
    ChallengeKind,
    ChallengeRecord,
    ClaimedChallenge,
    DeviceState,
    DeviceStatus,
    RowKind,
    TokenKind,
    row_kind,
)
from host_bridge.errors import NotFound
from host_bridge.repos._rows import blob, decoding, flag, integer, opt, real, text

_STATE_SIZE: Final = len(DeviceState._fields)
_CLAIM: Final = (
    select(
        *(devices.c[name] for name in DeviceState._fields),
        challenges.c.serial, challenges.c.kind, challenges.c.text, challenges.c.data_enc,
        challenges.c.created, challenges.c.expires, challenges.c.used,
    )
    .select_from(devices.outerjoin(challenges, and_(
        challenges.c.id == bindparam("b_id"),
        # An IB Key token (activation, recovery) is stored as a challenge, but it is no login
        # challenge: a verification never sees (nor uses up) one.
        challenges.c.kind.notin_([kind.value for kind in TokenKind]),
    )))
    .where(devices.c.serial == bindparam("b_serial"))
    .with_for_update(of=devices)
)
_USE: Final = (
    update(challenges)
    .where(challenges.c.id == bindparam("b_id"), challenges.c.used == 0)
    .values(used=1, used_at=bindparam("b_now"))
)
_INSERT_IF_USABLE: Final = insert(challenges).from_select(
    ["id", "serial", "kind", "text", "data_enc", "created", "expires", "used"],
    select(
        bindparam("b_id", type_=Text), devices.c.serial, bindparam("b_kind", type_=Text),
        bindparam("b_text", type_=Text), bindparam("b_data_enc", type_=LargeBinary),
        bindparam("b_created", type_=Real), bindparam("b_expires", type_=Real), literal(0, Integer),
    ).where(
        devices.c.serial == bindparam("b_serial"),
        devices.c.status == DeviceStatus.ACTIVE.value,
        (devices.c.valid_until.is_(None)) | (devices.c.valid_until > bindparam("b_now")),
        devices.c.suite.is_not_distinct_from(bindparam("b_suite", type_=Text)),
    ),
).returning(challenges.c.id)  # psycopg reports no rowcount for INSERT … SELECT
_COLUMNS: Final = tuple(challenges.c)


def insert_challenge(tx: Tx, challenge: ChallengeRecord) -> None:
    tx.conn.execute(insert(challenges).values(
        id=challenge.id, serial=challenge.serial, kind=challenge.kind.value, text=challenge.text,
        data_enc=challenge.data_enc, created=challenge.created, expires=challenge.expires,
        used=int(challenge.used), used_at=challenge.used_at,
    ))


def insert_if_usable(tx: Tx, challenge: ChallengeRecord, suite: str | None, now: float) -> bool:
    """Store `challenge` only if its device is active, unexpired and still has `suite` (one
    statement: the database checks at that instant). False: nothing stored."""
    result = tx.conn.execute(_INSERT_IF_USABLE, {
        "b_id": challenge.id, "b_kind": challenge.kind.value, "b_text": challenge.text,
        "b_data_enc": challenge.data_enc, "b_created": challenge.created,
        "b_expires": challenge.expires, "b_serial": challenge.serial, "b_now": now,
        "b_suite": suite,
    })
    return result.first() is not None


def get(tx: Tx, challenge_id: str) -> ChallengeRecord | None:
    row = tx.conn.execute(select(*_COLUMNS).where(challenges.c.id == challenge_id)).first()
    return None if row is None else _challenge(row)


def claim(
    tx: Tx, serial: str, challenge_id: str, now: float
) -> tuple[DeviceState, ClaimedChallenge | None]:
    """Device `serial` (locked) and challenge `challenge_id`, marking the challenge used if it
    was not. The challenge is None if there is none. `BridgeError` if there is no such device
    (then nothing is used)."""
    row = tx.conn.execute(_CLAIM, {"b_id": challenge_id, "b_serial": serial}).first()
    if row is None:
        raise NotFound(f"no device {serial!r}")
    device = _state(row)
    if row[_STATE_SIZE] is None:  # challenges.serial is NOT NULL: no challenge row
        return device, None
    with decoding(f"challenges row {challenge_id[:40]!r}"):
        serial_of, kind, shown, data_enc, created, expires, used_flag = row[_STATE_SIZE:]
        claimed = (challenge_id, text(serial_of), text(kind), text(shown), opt(blob, data_enc),
                   real(created), real(expires))
        used = flag(used_flag)
    if not used:
        used = not use(tx, challenge_id, now)  # a concurrent verifier may have been first
    return device, ClaimedChallenge._make((*claimed, used))


def _state(row: Sequence[Any]) -> DeviceState:
    """The device columns of a claim, checked by type (the hot path: no record is built)."""
    with decoding(f"devices row {str(row[0])[:40]!r}"):
        (serial, status, suite, key_enc, counter, pin_enc, step, drift, last, failures, until,
         otp) = row[:_STATE_SIZE]
        if integer(counter) < 0 or integer(failures) < 0:
            raise ValueError("negative count")
        return DeviceState(
            text(serial), text(status), opt(text, suite), blob(key_enc), counter,
            opt(blob, pin_enc), opt(integer, step), integer(drift), opt(integer, last), failures,
            opt(real, until), opt(text, otp),
        )


def use(tx: Tx, challenge_id: str, now: float) -> bool:
    """Mark a challenge used. True if this call used it (False: already used or unknown)."""
    return tx.conn.execute(_USE, {"b_id": challenge_id, "b_now": now}).rowcount == 1


def last_sms_time(
    tx: Tx, serial: str, kind: RowKind = ChallengeKind.SMS_CODE
) -> float | None:
    """When the newest SMS of `kind` for `serial` was sent (SMS codes: the partial index)."""
    found = tx.conn.execute(
        select(func.max(challenges.c.created)).where(
            challenges.c.serial == serial, challenges.c.kind == kind.value
        )
    ).scalar()
    return None if found is None else float(found)


def pending_sms(tx: Tx, serial: str, now: float) -> ChallengeRecord | None:
    """The newest SMS code of `serial` that is still unused and unexpired, if any."""
    row = tx.conn.execute(
        select(*_COLUMNS)
        .where(challenges.c.serial == serial, challenges.c.kind == ChallengeKind.SMS_CODE.value,
               challenges.c.used == 0, challenges.c.expires > now)
        .order_by(challenges.c.created.desc())
        .limit(1)
    ).first()
    return None if row is None else _challenge(row)


def open_tokens(tx: Tx, serial: str, kind: TokenKind, now: float) -> list[ChallengeRecord]:
    """Unused, unexpired IB Key tokens of `kind` of `serial`, newest first."""
    rows = tx.conn.execute(
        select(*_COLUMNS)
        .where(challenges.c.serial == serial,
               challenges.c.kind == kind.value,
               challenges.c.used == 0, challenges.c.expires > now)
        .order_by(challenges.c.created.desc())
    )
    return [_challenge(row) for row in rows]


def count(tx: Tx) -> int:
    """How many challenges were ever issued (they are kept)."""
    return int(tx.conn.execute(select(func.count()).select_from(challenges)).scalar() or 0)


def _challenge(row: Sequence[Any]) -> ChallengeRecord:
    with decoding(f"challenges row {str(row[0])[:40]!r}"):
        return ChallengeRecord(
            id=text(row[0]), serial=text(row[1]), kind=row_kind(row[2]), text=text(row[3]),
            data_enc=opt(blob, row[4]), created=real(row[5]), expires=real(row[6]),
            used=flag(row[7]), used_at=opt(real, row[8]),
        )
