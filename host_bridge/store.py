"""The bridge's SQLite store: users, devices, sharing, challenges, audit, and the policy tables.

Theory of operation: one file, `bridge.sqlite3` in the data folder, in WAL mode with
`synchronous=FULL`, so every COMMIT is on disk before it returns (a power cut never rolls a
counter or a used challenge back). The connection runs in autocommit mode; every write goes
through `Store.transaction()`, a `BEGIN IMMEDIATE` block: the write lock is taken up front, so a
read-check-write inside it (single-use challenges, withdrawal limits) cannot race with another
process. `busy_timeout` makes a second process wait for the lock instead of failing.

The schema and its migrations live in `host_bridge.schema`. Secrets (device keys, PINs) are
stored sealed by the master key (`host_bridge.masterkey`); this module stores and returns the
sealed bytes and never sees a plaintext secret.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

from host_bridge.errors import BridgeError, StoreError
from host_bridge.passwords import PasswordHash, ScryptParams
from host_bridge.schema import DEVICE_STATUSES, MIGRATIONS, OPT_OUT_STATES, Migration, migrate
from slsio.home import data_home

STORE_FILE_NAME: Final = "bridge.sqlite3"
DEFAULT_BUSY_TIMEOUT_MS: Final = 30_000
# One encoder for every audit row: `json.dumps` with options builds a new encoder per call.
_AUDIT_JSON: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Identification:
    """Identification data (KB2481 compares these for device sharing)."""

    date_of_birth: str | None = None
    citizenship: str | None = None
    residence: str | None = None
    id_type: str | None = None
    id_number: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One user row (the password hash is kept but never shown)."""

    name: str
    password: PasswordHash = field(repr=False)
    identification: Identification
    entity: str | None
    account: str
    equity_cents: int
    balance_cents: int
    opt_out: str
    primary_user: bool
    created: float

    def __post_init__(self) -> None:
        if self.opt_out not in OPT_OUT_STATES:
            raise ValueError(f"bad opt-out state {self.opt_out!r}")

    def public(self) -> dict[str, Any]:
        """What `slsbridge user show` prints (no password data, ID number masked)."""
        ident = self.identification
        masked = None
        if ident.id_number:
            masked = "*" * max(0, len(ident.id_number) - 4) + ident.id_number[-4:]
        return {
            "name": self.name,
            "date_of_birth": ident.date_of_birth,
            "citizenship": ident.citizenship,
            "residence": ident.residence,
            "id_type": ident.id_type,
            "id_number": masked,
            "entity": self.entity,
            "account": self.account,
            "equity_cents": self.equity_cents,
            "balance_cents": self.balance_cents,
            "opt_out": self.opt_out,
            "primary_user": self.primary_user,
        }


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """One device row. `key_enc`/`pin_enc` are sealed by the master key."""

    serial: str
    model: str
    status: str
    suite: str | None
    key_enc: bytes = field(repr=False)
    counter: int
    pin_mode: str | None
    pin_enc: bytes | None = field(repr=False)
    time_step: int | None
    drift: int
    last_step: int | None
    failures: int
    temporary: bool
    valid_until: float | None
    replaced_by: str | None
    created: float
    activated: float | None
    updated: float

    def __post_init__(self) -> None:
        if self.status not in DEVICE_STATUSES:
            raise ValueError(f"bad device status {self.status!r}")


@dataclass(frozen=True, slots=True)
class ChallengeRecord:
    """One issued challenge. `data_enc` holds sealed expected-input data (SMS codes) if any."""

    id: str
    serial: str
    kind: str
    text: str
    data_enc: bytes | None = field(repr=False)
    created: float
    expires: float
    used: bool
    used_at: float | None


class DeviceState(NamedTuple):
    """The device columns a verification reads, fetched under its write lock.

    A plain tuple, not a `DeviceRecord`: one is built for every login, and building a validated
    18-field dataclass cost more than the SELECT itself. The schema's CHECK constraints have
    validated the row already.
    """

    serial: str
    status: str
    suite: str | None
    key_enc: bytes
    counter: int
    pin_enc: bytes | None
    time_step: int | None
    drift: int
    last_step: int | None
    failures: int
    valid_until: float | None


class ClaimedChallenge(NamedTuple):
    """A challenge as `Store.claim_challenge` found it: `used` tells whether it had been used
    before (if not, the claim has used it now)."""

    id: str
    serial: str
    kind: str
    text: str
    data_enc: bytes | None
    created: float
    expires: float
    used: bool


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit row. `detail` never holds a secret."""

    id: int
    at: float
    event: str
    outcome: str
    user: str | None
    serial: str | None
    detail: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "event": self.event,
            "outcome": self.outcome,
            "user": self.user,
            "serial": self.serial,
            "detail": dict(self.detail),
        }


_DEVICE_COLUMNS: Final = (
    "serial, model, status, suite, key_enc, counter, pin_mode, pin_enc, time_step, drift, "
    "last_step, failures, temporary, valid_until, replaced_by, created, activated, updated"
)
_USER_COLUMNS: Final = (
    "name, pw_hash, pw_salt, pw_n, pw_r, pw_p, date_of_birth, citizenship, residence, id_type, "
    "id_number, entity, account, equity_cents, balance_cents, opt_out, primary_user, created"
)
_CHALLENGE_COLUMNS: Final = "id, serial, kind, text, data_enc, created, expires, used, used_at"
_STATE_SIZE: Final = len(DeviceState._fields)
_DEVICE_UPDATABLE: Final = frozenset(
    {"status", "counter", "pin_enc", "drift", "last_step", "failures", "valid_until",
     "replaced_by", "activated", "temporary", "suite", "time_step", "pin_mode"}
)


# A verification reads the device and the challenge in one statement (a LEFT JOIN: the device
# row always, the challenge row if there is one); cheaper than a SELECT plus an UPDATE … RETURNING.
_CLAIM_CHALLENGE: Final = (
    f"SELECT {', '.join('d.' + name for name in DeviceState._fields)}, "  # noqa: S608
    "c.serial, c.kind, c.text, c.data_enc, c.created, c.expires, c.used "
    # An IB Key activation token is stored as a challenge, but it is no login challenge: a
    # verification never sees (nor uses up) one.
    "FROM devices d LEFT JOIN challenges c ON c.id = ? AND c.kind <> 'activation' "
    "WHERE d.serial = ?"
)


class Transaction:
    """The context manager `Store.transaction()` returns (a class: cheaper than a generator on
    the hot path, where every verification enters several of them)."""

    __slots__ = ("_conn", "_outer")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._outer = False

    def __enter__(self) -> sqlite3.Connection:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
            self._outer = True
        return self._conn

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if not self._outer:
            return
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
                return
            except BaseException:
                # A failed COMMIT (deferred constraint, busy, I/O) can leave the transaction
                # open: roll it back, or every later `transaction()` of this connection would
                # join it and never commit.
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        # SQLite may have rolled back by itself (e.g. disk full): a second ROLLBACK would fail
        # and hide the error that matters.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


def default_path() -> Path:
    """`bridge.sqlite3` in the data folder."""
    return data_home() / STORE_FILE_NAME


class Store:
    """A connection to the bridge store. One per process (or thread); not shared across threads."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._conn = connection
        self.path = path

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> Store:
        """Open (creating and migrating if needed) the store at `path` (default: data folder)."""
        target = Path(path) if path is not None else default_path()
        try:
            conn = sqlite3.connect(
                target, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=True
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {target}: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"store {target}: cannot switch to WAL mode")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn, migrations)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"store {target} is not usable: {exc}") from None
        except BaseException:
            conn.close()
            raise
        for suffix in ("", "-wal", "-shm"):  # user data: private, like the folder (0700)
            with contextlib.suppress(OSError):  # e.g. a read-only mount or no WAL file yet
                Path(f"{target}{suffix}").chmod(0o600)
        return cls(conn, target)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for reads by other modules (write only inside `transaction()`)."""
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def transaction(self) -> Transaction:
        """A `BEGIN IMMEDIATE` … `COMMIT` block (ROLLBACK on any exception).

        Nested use simply joins the outer transaction (no SAVEPOINT: it would cost two statements
        per helper on the hot path). That is safe because SQLite undoes a failed statement by
        itself, and an exception from a nested block must propagate to the outermost block,
        which rolls everything back — never catch it and carry on inside the same transaction.
        """
        return Transaction(self._conn)

    # --- meta -------------------------------------------------------------------------------

    def get_meta(self, name: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return bytes(row[0]) if row else None

    def set_meta(self, name: str, value: bytes) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    # --- users ------------------------------------------------------------------------------

    def insert_user(self, user: UserRecord) -> None:
        """Add a user. Raises `BridgeError` if the name is taken."""
        ident, pw = user.identification, user.password
        try:
            with self.transaction() as conn:
                conn.execute(
                    f"INSERT INTO users ({_USER_COLUMNS}) VALUES "  # noqa: S608 (constant columns)
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user.name, pw.digest, pw.salt, pw.params.n, pw.params.r, pw.params.p,
                        ident.date_of_birth, ident.citizenship, ident.residence, ident.id_type,
                        ident.id_number, user.entity, user.account, user.equity_cents,
                        user.balance_cents, user.opt_out, int(user.primary_user), user.created,
                    ),
                )
        except sqlite3.IntegrityError:
            raise BridgeError(f"user {user.name!r} already exists") from None

    def get_user(self, name: str) -> UserRecord:
        """The user called `name`. Raises `BridgeError` if there is none."""
        row = self._conn.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)  # noqa: S608
        ).fetchone()
        if row is None:
            raise BridgeError(f"no user {name!r}")
        return _user(row)

    def user_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM users ORDER BY name")]

    # --- devices ----------------------------------------------------------------------------

    def insert_device(self, device: DeviceRecord, owner: str) -> None:
        """Add a device owned by user `owner`. Raises `BridgeError` on a duplicate serial."""
        values = (
            device.serial, device.model, device.status, device.suite, device.key_enc,
            device.counter, device.pin_mode, device.pin_enc, device.time_step, device.drift,
            device.last_step, device.failures, int(device.temporary), device.valid_until,
            device.replaced_by, device.created, device.activated, device.updated,
        )
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (owner,)).fetchone() is None:
                raise BridgeError(f"no user {owner!r}")
            try:
                conn.execute(
                    f"INSERT INTO devices ({_DEVICE_COLUMNS}) VALUES "  # noqa: S608
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
            except sqlite3.IntegrityError:
                raise BridgeError(f"device {device.serial!r} already exists") from None
            conn.execute(
                "INSERT INTO device_users (serial, user, role, added) VALUES (?, ?, 'owner', ?)",
                (device.serial, owner, device.created),
            )

    def get_device(self, serial: str) -> DeviceRecord:
        """The device `serial`. Raises `BridgeError` if there is none."""
        row = self._conn.execute(
            f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE serial = ?", (serial,)  # noqa: S608
        ).fetchone()
        if row is None:
            raise BridgeError(f"no device {serial!r}")
        return _device(row)

    def update_device(self, serial: str, now: float, **changes: Any) -> None:
        """Change some columns of a device row (inside the caller's transaction if any)."""
        unknown = set(changes) - _DEVICE_UPDATABLE
        if unknown or not changes:
            raise ValueError(f"cannot update device columns {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        with self.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE devices SET {assignments}, updated = ? WHERE serial = ?",  # noqa: S608
                (*values, now, serial),
            )
            if cursor.rowcount != 1:
                raise BridgeError(f"no device {serial!r}")

    def devices_of(self, user: str, statuses: Sequence[str] | None = None) -> list[DeviceRecord]:
        """The devices `user` may use (owned or shared), optionally only in `statuses`."""
        query = (
            f"SELECT {', '.join('d.' + c.strip() for c in _DEVICE_COLUMNS.split(','))} "  # noqa: S608
            "FROM devices d JOIN device_users u ON u.serial = d.serial WHERE u.user = ?"
        )
        params: list[Any] = [user]
        if statuses is not None:
            query += f" AND d.status IN ({', '.join('?' for _ in statuses)})"
            params.extend(statuses)
        query += " ORDER BY d.created, d.serial"
        return [_device(row) for row in self._conn.execute(query, params)]

    def users_of(self, serial: str) -> list[tuple[str, str]]:
        """(user, role) pairs that may use device `serial`."""
        rows = self._conn.execute(
            "SELECT user, role FROM device_users WHERE serial = ? ORDER BY added, user", (serial,)
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def link_user(self, serial: str, user: str, now: float, role: str = "shared") -> None:
        """Let `user` use device `serial` (sharing). Idempotent."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO device_users (serial, user, role, added) "
                "VALUES (?, ?, ?, ?)",
                (serial, user, role, now),
            )

    def unlink_user(self, serial: str, user: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM device_users WHERE serial = ? AND user = ?", (serial, user))

    # --- challenges -------------------------------------------------------------------------

    def insert_challenge(self, challenge: ChallengeRecord) -> None:
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO challenges ({_CHALLENGE_COLUMNS}) VALUES "  # noqa: S608
                "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    challenge.id, challenge.serial, challenge.kind, challenge.text,
                    challenge.data_enc, challenge.created, challenge.expires,
                    int(challenge.used), challenge.used_at,
                ),
            )

    def insert_challenge_if_usable(
        self, challenge: ChallengeRecord, suite: str | None, now: float
    ) -> bool:
        """Store `challenge` only if its device is active, unexpired and still has `suite`.

        One statement: outside a transaction SQLite commits it on its own (durably, with
        synchronous=FULL) — no BEGIN/COMMIT round trips. False: nothing stored.
        """
        cursor = self._conn.execute(
            f"INSERT INTO challenges ({_CHALLENGE_COLUMNS}) "  # noqa: S608
            "SELECT ?, serial, ?, ?, ?, ?, ?, 0, NULL FROM devices WHERE serial = ? "
            "AND status = 'active' AND (valid_until IS NULL OR valid_until > ?) "
            "AND suite IS ?",
            (
                challenge.id, challenge.kind, challenge.text, challenge.data_enc,
                challenge.created, challenge.expires, challenge.serial, now, suite,
            ),
        )
        return cursor.rowcount == 1

    def get_challenge(self, challenge_id: str) -> ChallengeRecord | None:
        row = self._conn.execute(
            f"SELECT {_CHALLENGE_COLUMNS} FROM challenges WHERE id = ?",  # noqa: S608
            (challenge_id,),
        ).fetchone()
        return _challenge(row) if row else None

    def claim_challenge(
        self, serial: str, challenge_id: str, now: float
    ) -> tuple[DeviceState, ClaimedChallenge | None]:
        """Device `serial` and challenge `challenge_id` as they are, marking the challenge used
        if it was not: the first step of a verification, inside its write transaction.

        The challenge is None if there is no such challenge. Raises `BridgeError` if there is no
        such device (then nothing is used).
        """
        with self.transaction() as conn:
            row = conn.execute(_CLAIM_CHALLENGE, (challenge_id, serial)).fetchone()
            if row is None:
                raise BridgeError(f"no device {serial!r}")
            device = DeviceState._make(row[:_STATE_SIZE])
            if row[_STATE_SIZE] is None:  # challenges.serial is NOT NULL: no challenge row
                return device, None
            challenge = ClaimedChallenge._make((challenge_id, *row[_STATE_SIZE:-1], bool(row[-1])))
            if not challenge.used:  # the write lock is held: nobody can use it in between
                conn.execute(
                    "UPDATE challenges SET used = 1, used_at = ? WHERE id = ?", (now, challenge_id)
                )
        return device, challenge

    def consume_challenge(self, challenge_id: str, now: float) -> bool:
        """Mark a challenge used. True if this call used it (False: already used or unknown)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE challenges SET used = 1, used_at = ? WHERE id = ? AND used = 0",
                (now, challenge_id),
            )
            return cursor.rowcount == 1

    def last_sms_time(self, serial: str) -> float | None:
        """When the newest SMS code for `serial` was issued (uses the partial index)."""
        row = self._conn.execute(
            "SELECT max(created) FROM challenges WHERE serial = ? AND kind = 'sms'", (serial,)
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def pending_sms_challenge(self, serial: str, now: float) -> ChallengeRecord | None:
        """The newest SMS code of `serial` that is still unused and unexpired, if any."""
        row = self._conn.execute(
            "SELECT id FROM challenges WHERE serial = ? AND kind = 'sms' AND used = 0 "
            "AND expires > ? ORDER BY created DESC LIMIT 1",
            (serial, now),
        ).fetchone()
        return None if row is None else self.get_challenge(str(row[0]))

    def open_activation_ids(self, serial: str, now: float) -> list[str]:
        """Unused, unexpired IB Key activation challenges of `serial`, newest first."""
        rows = self._conn.execute(
            "SELECT id FROM challenges WHERE serial = ? AND kind = 'activation' AND used = 0 "
            "AND expires > ? ORDER BY created DESC",
            (serial, now),
        )
        return [str(r[0]) for r in rows]

    # --- audit ------------------------------------------------------------------------------

    def append_audit(
        self,
        at: float,
        event: str,
        outcome: str,
        *,
        user: str | None = None,
        serial: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one audit row (the caller guarantees `detail` holds no secret)."""
        text = _AUDIT_JSON.encode(detail if isinstance(detail, dict) else dict(detail or {}))
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO audit (at, event, outcome, user, serial, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (at, event, outcome, user, serial, text),
            )

    def audit(
        self,
        *,
        user: str | None = None,
        serial: str | None = None,
        since_id: int = 0,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Audit rows in order, optionally filtered."""
        query = "SELECT id, at, event, outcome, user, serial, detail FROM audit WHERE id > ?"
        params: list[Any] = [since_id]
        if user is not None:
            query += " AND user = ?"
            params.append(user)
        if serial is not None:
            query += " AND serial = ?"
            params.append(serial)
        query += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [
            AuditRecord(int(r[0]), float(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]))
            for r in self._conn.execute(query, params)
        ]


def _user(row: Sequence[Any]) -> UserRecord:
    params = ScryptParams(int(row[3]), int(row[4]), int(row[5]))
    return UserRecord(
        name=row[0],
        password=PasswordHash(bytes(row[1]), bytes(row[2]), params),
        identification=Identification(row[6], row[7], row[8], row[9], row[10]),
        entity=row[11],
        account=row[12],
        equity_cents=int(row[13]),
        balance_cents=int(row[14]),
        opt_out=row[15],
        primary_user=bool(row[16]),
        created=float(row[17]),
    )


def _device(row: Sequence[Any]) -> DeviceRecord:
    return DeviceRecord(
        serial=row[0], model=row[1], status=row[2], suite=row[3], key_enc=bytes(row[4]),
        counter=int(row[5]), pin_mode=row[6], pin_enc=bytes(row[7]) if row[7] is not None else None,
        time_step=row[8], drift=int(row[9]), last_step=row[10], failures=int(row[11]),
        temporary=bool(row[12]), valid_until=row[13], replaced_by=row[14], created=float(row[15]),
        activated=row[16], updated=float(row[17]),
    )


def _challenge(row: Sequence[Any]) -> ChallengeRecord:
    return ChallengeRecord(
        id=row[0], serial=row[1], kind=row[2], text=row[3],
        data_enc=bytes(row[4]) if row[4] is not None else None, created=float(row[5]),
        expires=float(row[6]), used=bool(row[7]), used_at=row[8],
    )
