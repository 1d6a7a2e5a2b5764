"""The store's schema and its ordered migrations.

Theory of operation: `schema_version` holds one row, the version the database is at. A migration
is (version, SQL script); `migrate` applies, in order and each in its own `BEGIN IMMEDIATE`
transaction, every migration above the current version, so two processes opening a fresh store at
once cannot both apply one (the second waits, then sees the new version and skips it). A database
whose version is newer than the newest migration this build knows is refused: running old code on
a newer schema could silently corrupt it.

Version 1 creates every table, including the ones the policies (`host_bridge/policies/`) use:
share_requests, temp_access, orders, holidays, withdrawals. Money is integer cents; times are
Unix seconds (REAL); dates are ISO `YYYY-MM-DD` text.

Append-only audit: triggers refuse UPDATE and DELETE on `audit`. Challenges are kept too (the
`challenges` table is the record of every challenge issued; the audit row of its verification
names it); issuing one writes a single row, so a challenge costs one page in its commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from host_bridge.errors import StoreError

DEVICE_STATUSES: Final = ("pending", "active", "locked", "revoked", "replaced")
OPT_OUT_STATES: Final = ("none", "partial", "full")

_V1: Final = """
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE users (
    name           TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    pw_hash        BLOB NOT NULL,
    pw_salt        BLOB NOT NULL,
    pw_n           INTEGER NOT NULL,
    pw_r           INTEGER NOT NULL,
    pw_p           INTEGER NOT NULL,
    date_of_birth  TEXT,
    citizenship    TEXT,
    residence      TEXT,
    id_type        TEXT,
    id_number      TEXT,
    entity         TEXT,
    account        TEXT NOT NULL,
    equity_cents   INTEGER NOT NULL DEFAULT 0,
    balance_cents  INTEGER NOT NULL DEFAULT 0,
    opt_out        TEXT NOT NULL DEFAULT 'none' CHECK (opt_out IN ('none', 'partial', 'full')),
    primary_user   INTEGER NOT NULL DEFAULT 0 CHECK (primary_user IN (0, 1)),
    created        REAL NOT NULL
);
CREATE INDEX users_account ON users(account);
CREATE INDEX users_entity ON users(entity);

CREATE TABLE devices (
    serial         TEXT PRIMARY KEY,
    model          TEXT NOT NULL,
    status         TEXT NOT NULL
                   CHECK (status IN ('pending', 'active', 'locked', 'revoked', 'replaced')),
    suite          TEXT,
    key_enc        BLOB NOT NULL,
    counter        INTEGER NOT NULL DEFAULT 0 CHECK (counter >= 0),
    pin_mode       TEXT,
    pin_enc        BLOB,
    time_step      INTEGER,
    drift          INTEGER NOT NULL DEFAULT 0,
    last_step      INTEGER,
    failures       INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    temporary      INTEGER NOT NULL DEFAULT 0 CHECK (temporary IN (0, 1)),
    valid_until    REAL,
    replaced_by    TEXT,
    created        REAL NOT NULL,
    activated      REAL,
    updated        REAL NOT NULL
);

CREATE TABLE device_users (
    serial  TEXT NOT NULL REFERENCES devices(serial),
    user    TEXT NOT NULL REFERENCES users(name),
    role    TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'shared')),
    added   REAL NOT NULL,
    PRIMARY KEY (serial, user)
);
CREATE INDEX device_users_user ON device_users(user);

-- WITHOUT ROWID: the id is the table's own key, so storing a challenge writes one b-tree, not
-- a table and an index. The partial indexes serve the SMS resend limit and IB Key activation
-- only, so the common challenges (cards) touch no index at all.
CREATE TABLE challenges (
    id        TEXT PRIMARY KEY,
    serial    TEXT NOT NULL REFERENCES devices(serial),
    kind      TEXT NOT NULL,
    text      TEXT NOT NULL,
    data_enc  BLOB,
    created   REAL NOT NULL,
    expires   REAL NOT NULL,
    used      INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    used_at   REAL
) WITHOUT ROWID;
CREATE INDEX challenges_sms ON challenges(serial, created) WHERE kind = 'sms';
CREATE INDEX challenges_activation ON challenges(serial, created) WHERE kind = 'activation';

-- No AUTOINCREMENT (it would write sqlite_sequence on every row): rows are never deleted, so
-- rowids keep increasing anyway.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    event    TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    user     TEXT,
    serial   TEXT,
    detail   TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;


CREATE TABLE withdrawals (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account        TEXT NOT NULL,
    user           TEXT NOT NULL REFERENCES users(name),
    serial         TEXT,
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0),
    business_date  TEXT NOT NULL,
    created        REAL NOT NULL
);
CREATE INDEX withdrawals_account ON withdrawals(account, business_date);

CREATE TABLE share_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    requester  TEXT NOT NULL REFERENCES users(name),
    owner      TEXT NOT NULL REFERENCES users(name),
    serial     TEXT NOT NULL REFERENCES devices(serial),
    status     TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused', 'cancelled')),
    reason     TEXT,
    created    REAL NOT NULL,
    decided    REAL
);

CREATE TABLE temp_access (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user          TEXT NOT NULL REFERENCES users(name),
    kind          TEXT NOT NULL CHECK (kind IN ('temporary_code', 'online_scc')),
    code_hash     BLOB,
    code_salt     BLOB,
    serial        TEXT,
    issued        REAL NOT NULL,
    full_until    REAL NOT NULL,
    portal_until  REAL NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'expired', 'revoked', 'replaced'))
);
CREATE INDEX temp_access_user ON temp_access(user, issued);

CREATE TABLE orders (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user              TEXT NOT NULL REFERENCES users(name),
    model             TEXT NOT NULL,
    status            TEXT NOT NULL
                      CHECK (status IN ('ordered', 'shipped', 'activated', 'returned', 'lost')),
    serial            TEXT,
    pin_enc           BLOB,
    ordered           REAL NOT NULL,
    shipped           REAL,
    auto_activate_by  REAL,
    hold_cents        INTEGER NOT NULL DEFAULT 0 CHECK (hold_cents >= 0),
    hold_released     INTEGER NOT NULL DEFAULT 0 CHECK (hold_released IN (0, 1))
);

CREATE TABLE holidays (
    date  TEXT PRIMARY KEY,
    name  TEXT
);
"""

Migration = tuple[int, str]

MIGRATIONS: Final[tuple[Migration, ...]] = ((1, _V1),)
"""Ordered (version, SQL script) pairs. Append new versions; never edit a released one."""


def current_version(conn: sqlite3.Connection) -> int:
    """The version the database is at (0 for an empty database)."""
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row is None:
        return 0
    found = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(found[0]) if found else 0


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to the newest version in `migrations`; return that version.

    `conn` must be in autocommit mode (`isolation_level=None`). Raises `StoreError` if the
    database is newer than this build knows.
    """
    versions = [version for version, _ in migrations]
    if versions != sorted(set(versions)) or (versions and versions[0] < 1):
        raise ValueError("migrations must have strictly increasing versions from 1")
    newest = versions[-1] if versions else 0
    for version, script in migrations:
        if current_version(conn) >= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            found = current_version(conn)
            if found < version:
                if found != version - 1:
                    raise StoreError(f"store schema version {found} cannot migrate to {version}")
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    found = current_version(conn)
    if found > newest:
        raise StoreError(
            f"the store's schema version {found} is newer than this build knows ({newest}); "
            "upgrade slsemu"
        )
    return found


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError("incomplete SQL statement in a migration")
    return statements
