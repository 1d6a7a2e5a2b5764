"""How store rows map to the pure policies (docs/policies.md), shared by the policy services.

* a device is *active* for the policies when its status is `active` and it has not expired;
* a working Temporary Code (a `temp_access` row) counts as a temporary device of its user;
* a user with no entity belongs to an entity of its own, named after its account;
* an identification whose document type is `ssn` carries the SSN (KB2481's "or SSN").
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from host_bridge.db.engine import Tx
from host_bridge.domain import DeviceRecord, UserRecord
from host_bridge.policies import sharing as sh
from host_bridge.policies.devices import TEMPORARY, HeldDevice
from host_bridge.repos import devices, holidays, temporary, users


def held_devices(tx: Tx, user: str, now: float) -> list[HeldDevice]:
    """Every device `user` may use (owned or shared) and any working Temporary Code."""
    found = [held(record, now) for record in devices.of_user(tx, user)]
    for row_id in temporary.working_code_ids(tx, user, now):
        found.append(HeldDevice(f"temporary-code-{row_id}", TEMPORARY, temporary=True))
    return found


def held(record: DeviceRecord, now: float) -> HeldDevice:
    return HeldDevice(
        record.serial, record.model, active=record.usable(now), temporary=record.temporary
    )


def holiday_set(tx: Tx) -> frozenset[dt.date]:
    return frozenset(day for day, _ in holidays.listing(tx))


def participant(tx: Tx, name: str, now: float) -> sh.Participant:
    record = users.get(tx, name)
    return sh.Participant(
        user=name,
        entity=entity_of(record),
        identification=identification(record),
        devices=tuple(held_devices(tx, name, now)),
    )


def identification(record: UserRecord) -> sh.Identification:
    ident = record.identification
    try:
        born = dt.date.fromisoformat(ident.date_of_birth) if ident.date_of_birth else None
    except ValueError:
        born = None  # a malformed date never matches anything
    is_ssn = (ident.id_type or "").strip().casefold() == "ssn"
    return sh.Identification(
        date_of_birth=born,
        citizenship=ident.citizenship,
        residence=ident.residence,
        id_type=None if is_ssn else ident.id_type,
        id_number=None if is_ssn else ident.id_number,
        ssn=ident.id_number if is_ssn else None,
    )


def hold_accounts(tx: Tx, user: str) -> list[str]:
    """The accounts a DSC+ order of `user` may hold its USD 20 on: the accounts of every user
    of the same entity or the same individual (ours: KB2481's test of "the same entity or ...
    the same identification data", as for sharing), the user's own first."""
    me = users.get(tx, user)
    mine = identification(me)
    found = [me.account]
    # Only the candidates, not every user: the same account or entity, or the same date of birth
    # (which `matches` requires; as stored, and in its ISO form: the CLI stores that one).
    born = [me.identification.date_of_birth] if me.identification.date_of_birth else []
    if mine.date_of_birth is not None:
        born.append(mine.date_of_birth.isoformat())
    entities = [entity_of(me), *([] if me.entity is None else [me.entity])]
    for other in users.kin(tx, me.account, entities, born):
        same = entity_of(other) == entity_of(me) or identification(other).matches(mine)
        if same and other.account not in found:
            found.append(other.account)
    return found


def entity_of(record: UserRecord) -> str:
    return record.entity or f"account:{record.account}"


def utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def discard(image_path: Path | None) -> None:
    """Remove an image this unit of work wrote before it failed (the store rolled back)."""
    if image_path is not None:
        with contextlib.suppress(OSError):
            Path(image_path).unlink()
