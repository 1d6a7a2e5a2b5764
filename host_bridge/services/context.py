"""What every service shares: the database, the data folder, clock, entropy, configuration, the
master key, the audit trail and the SMS outbox."""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, Final, ParamSpec, Protocol, TypeVar

from firmware_model.device import Entropy
from host_bridge.audit import AuditLog, DetailValue
from host_bridge.config import BridgeConfig
from host_bridge.db.engine import Database
from host_bridge.errors import StoreError
from host_bridge.masterkey import ENV_MASTER_KEY, MasterKey, create_key_file, load_master_key
from host_bridge.repos import devices, meta, users
from host_bridge.repos.outbox import PUSH_OUTBOX_FILE_NAME, Outbox

UNKNOWN: Final = "(unknown)"
"""What the audit log names instead of a user name or serial that names nothing in the store
(no user can be called this: names are letters, digits and `._-@`)."""
P = ParamSpec("P")
R = TypeVar("R")


class Context:
    """The shared parts of one bridge (one per process or thread)."""

    def __init__(
        self,
        db: Database,
        home: Path,
        *,
        clock: Callable[[], float],
        entropy: Entropy,
        config: BridgeConfig,
    ) -> None:
        self.db = db
        self.home = home
        self.clock = clock
        self.entropy = entropy
        self.config = config
        self.audit_log = AuditLog(db)
        self.outbox = Outbox(home)
        self.push_outbox = Outbox(home, PUSH_OUTBOX_FILE_NAME)
        self._master: MasterKey | None = None

    def init_master(self) -> Path | None:
        """Create the master key file (unless `SLSEMU_MASTER_KEY` is set) and the check value;
        a second run checks the key still matches. Returns the key file created, if any."""
        created: Path | None = None
        with self.db.transaction() as tx:
            check = meta.get(tx, meta.MASTER_CHECK)
            if os.environ.get(ENV_MASTER_KEY) is None and not (self.home / "master.key").exists():
                if check is not None:
                    raise StoreError(
                        "the store was initialised with another master key, and master.key is "
                        f"missing (restore it or set {ENV_MASTER_KEY})"
                    )
                created = create_key_file(self.home)
            key = load_master_key(self.home)
            if check is None:
                meta.put(tx, meta.MASTER_CHECK, key.check_value())
            elif not key.matches(check):
                raise StoreError("wrong master key for this store")
            self._master = key
            self.audit("init", "ok", created=created is not None)
        return created

    @property
    def master(self) -> MasterKey:
        """The master key, loaded and checked against the store on first use."""
        if self._master is None:
            with self.db.read() as tx:
                check = meta.get(tx, meta.MASTER_CHECK)
            if check is None:
                raise StoreError("the store is not initialised (run `slsbridge init`)")
            key = load_master_key(self.home)
            if not key.matches(check):
                raise StoreError("wrong master key for this store")
            self._master = key
        return self._master

    def today(self) -> dt.date:
        """The current date in UTC (the day a withdrawal without a date is booked on)."""
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date()

    def audit(
        self,
        event: str,
        outcome: str,
        *,
        user: str | None = None,
        serial: str | None = None,
        **detail: DetailValue,
    ) -> None:
        """One audit row, in the open transaction (or its own durable one).

        A `user` or `serial` is recorded only when it names an existing user or device; any
        other text a person typed there (a password typed as the user name…) becomes `UNKNOWN`
        and a keyed hash (`name_tag`, `serial_tag`: equal texts, equal tags)."""
        with self.db.transaction() as tx:
            if user is not None and not users.exists(tx, user):
                user, detail["name_tag"] = UNKNOWN, self.master.tag("audit-name", user)
            if serial is not None and not devices.exists(tx, serial):
                serial, detail["serial_tag"] = UNKNOWN, self.master.tag("audit-serial", serial)
            self.audit_log.record(
                self.clock(), event, outcome, user=user, serial=serial, **detail
            )


class HasContext(Protocol):
    ctx: Context


S = TypeVar("S", bound=HasContext)


def unit_of_work(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run the method again after a serialization failure or deadlock (PostgreSQL)."""

    @functools.wraps(method)
    def run(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.ctx.db.retrying(lambda: method(self, *args, **kwargs))

    return run  # type: ignore[return-value]
