"""A store URL → one SQLAlchemy engine and connection; transactions with their durability.

Theory of operation. The store is named by a URL: `SLSEMU_STORE`, else `store = "…"` in
`bridge.toml`, else the embedded SQLite file `bridge.sqlite3` in the data folder. `Database`
holds one connection, plus one for RELAXED writes (per process or thread: not shared across
threads), and hands out transactions:

    with db.transaction(Durability.RELAXED) as tx:   # issuing a challenge
        ...
    with db.transaction() as tx:                     # everything else: DURABLE
        ...

* SQLite: the connection runs in driver autocommit and every write transaction is a
  `BEGIN IMMEDIATE` (the write lock up front, so a read-check-write cannot race another process);
  WAL mode, `busy_timeout` so a second process waits; the threads of one process queue on a
  lock of their own first (`writers.py`: no polling among them). DURABLE commits run with
  `synchronous=FULL`; a RELAXED one runs on a second connection of its own, opened on first use
  with `synchronous=OFF` and auto-checkpointing off (a checkpoint must never run unsynced: the
  durable connection does them). Each connection's settings are chosen once, at connect: no
  PRAGMA switching per transaction. The next durable commit's fsync of the write-ahead log
  covers the relaxed commits' frames before it too (one file).
* PostgreSQL (psycopg 3): every write transaction is SERIALIZABLE (a read-only one REPEATABLE
  READ: one snapshot, and it can never fail to serialise); a RELAXED one runs on a second
  connection whose session says `synchronous_commit = off` once (no `SET LOCAL` round trip per
  transaction). Serialization failures and deadlocks are retried by
  `retrying` (the whole unit of work again, after a short random back-off), never shown.

A nested `transaction()` joins the outer one (its durability is the outer one's); an exception
must reach the outermost block, which rolls everything back. `leading(step)` runs a front door's
checks and counts first inside a block's first write transaction (docs/http-api.md).
"""

from __future__ import annotations

import contextlib
import enum
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, create_engine, event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from host_bridge.db.writers import writer_lock, writing
from host_bridge.errors import StoreDamaged, StoreEmpty, StoreError

ENV_STORE: Final = "SLSEMU_STORE"
STORE_FILE_NAME: Final = "bridge.sqlite3"
DEFAULT_BUSY_TIMEOUT_MS: Final = 30_000
DEFAULT_RETRIES: Final = 30
_RETRY_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_PG_READ_ONLY: Final = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
T = TypeVar("T")


Step = Callable[["Tx"], BaseException | None]
"""A front door's checks for `Database.leading`: the refusal to raise, or None."""


class Durability(enum.Enum):
    """Whether a commit must be on disk before it returns."""

    DURABLE = "durable"
    RELAXED = "relaxed"  # lost in a power cut harms nobody (an issued challenge)


class Dialect(enum.Enum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def store_url(home: Path, configured: str | None = None) -> str:
    """The store URL: `SLSEMU_STORE`, else `configured` (bridge.toml), else the SQLite file."""
    chosen = os.environ.get(ENV_STORE) or configured
    if chosen:
        return chosen
    return f"sqlite:///{home / STORE_FILE_NAME}"


def parse_url(text: str) -> URL:
    """`text` as a store URL (`sqlite:///PATH` or `postgresql://…`); `StoreError` otherwise.

    `postgresql://` selects psycopg 3. The message never holds the password.
    """
    try:
        url = make_url(text)
    except exc.ArgumentError:
        raise StoreError("bad store URL (expected sqlite:///PATH or postgresql://…)") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StoreError("a SQLite store URL names a file: sqlite:///PATH")
        return url.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise StoreError(f"unsupported store URL scheme {url.drivername!r} (sqlite or postgresql)")


def _has_data(path: Path) -> bool:
    """Whether SQLite file `path` exists with something in it (SQLite would create it)."""
    try:
        return path.stat().st_size > 0
    except OSError:  # missing (or not reachable: connecting would say why)
        return path.exists()


def shown(url: URL) -> str:
    """The URL as messages show it (password hidden)."""
    return url.render_as_string(hide_password=True)


def is_retryable(error: BaseException) -> bool:
    """A PostgreSQL serialization failure or deadlock: the unit of work may simply run again."""
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES


class Tx:
    """One open transaction, as repositories see it (services only pass it on)."""

    __slots__ = ("conn", "dialect")

    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect


class Database:
    """The connection to the store (and, once a RELAXED transaction ran, the relaxed one).
    Not thread-safe: one per thread or process."""

    def __init__(
        self, engine: Engine, url: URL, *, retries: int = DEFAULT_RETRIES,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self.engine = engine
        self.url = url
        self.dialect = Dialect(engine.dialect.name)
        self.retries = retries
        self._busy_s = busy_timeout_ms / 1000
        # SQLite: this process's writers queue here, not in SQLite's polling busy handler.
        self._writer = (
            writer_lock(str(url.database))
            if self.dialect is Dialect.SQLITE and url.database else None
        )
        self._conn: Connection | None = None
        self._relaxed: Connection | None = None  # SQLite: the unsynced connection
        self._tx: Tx | None = None
        self._leading: Step | None = None  # see `leading`
        self._led = False

    @classmethod
    def connect(
        cls,
        text: str,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        retries: int = DEFAULT_RETRIES,
        create: bool = True,
    ) -> Database:
        """Open the store at URL `text` (no migration: see `host_bridge.db.migrate`).

        `create=False`: a SQLite file that is missing or empty is `StoreEmpty`, and nothing is
        created (a server's empty database is caught by `migrate.upgrade(create=False)`)."""
        url = parse_url(text)
        if url.get_backend_name() == "sqlite":
            if not create and not _has_data(Path(str(url.database))):
                raise StoreEmpty(str(Path(str(url.database))))
            engine = _sqlite_engine(url, busy_timeout_ms)
        else:
            engine = create_engine(
                url, poolclass=NullPool, isolation_level="SERIALIZABLE",
                connect_args={"connect_timeout": max(1, busy_timeout_ms // 1000)},
            )
        db = cls(engine, url, retries=retries, busy_timeout_ms=busy_timeout_ms)
        try:
            db.connection()
        except UnicodeDecodeError:  # a garbled header: SQLite's text encoding is off
            engine.dispose()
            raise StoreDamaged("text that is not UTF-8", shown(url)) from None
        except (exc.DBAPIError, sqlite3.Error) as error:
            engine.dispose()
            raise StoreError(f"store {shown(url)} is not usable: {first_line(error)}") from None
        return db

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for a server)."""
        if self.dialect is Dialect.SQLITE and self.url.database:
            return Path(self.url.database)
        return None

    def connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
        return self._conn

    def _relaxed_connection(self) -> Connection:
        """The connection RELAXED write transactions run on, its settings chosen once."""
        if self._relaxed is None or self._relaxed.closed:
            conn = self.engine.connect()
            if self.dialect is Dialect.SQLITE:
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA synchronous = OFF")
                raw.execute("PRAGMA wal_autocheckpoint = 0")
            else:
                with conn.begin():  # a session setting: it outlives this transaction
                    conn.exec_driver_sql("SET synchronous_commit = off")
            self._relaxed = conn
        return self._relaxed

    def close(self) -> None:
        for conn in (self._conn, self._relaxed):
            if conn is not None:
                with contextlib.suppress(exc.DBAPIError):
                    conn.close()
        self._conn = self._relaxed = None
        self.engine.dispose()

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    @property
    def name(self) -> str:
        """The SQLite file, or the server URL without its password."""
        return str(self.path) if self.path is not None else shown(self.url)

    @contextlib.contextmanager
    def transaction(
        self, durability: Durability = Durability.DURABLE, *, write: bool = True
    ) -> Iterator[Tx]:
        """A transaction (joins the open one if any). Rolled back on any exception.

        A damaged store — a page SQLite finds malformed, text that is not UTF-8, a value the
        repositories refuse (`StoreDamaged`) — is reported as `StoreDamaged` naming the store."""
        if self._tx is not None:
            yield self._tx
            return
        try:
            with self._transaction(durability, write) as tx:
                yield tx
        except StoreDamaged as error:
            if error.store is not None:
                raise
            raise StoreDamaged(error.what, self.name) from None
        except UnicodeDecodeError:
            raise StoreDamaged("text that is not UTF-8", self.name) from None
        except exc.DatabaseError as error:
            if not _is_damage(error):
                raise
            raise StoreDamaged(first_line(error.orig or error), self.name) from None

    @contextlib.contextmanager
    def _transaction(self, durability: Durability, write: bool) -> Iterator[Tx]:
        relaxed = durability is Durability.RELAXED and write
        conn = self._relaxed_connection() if relaxed else self.connection()
        if self.dialect is Dialect.SQLITE:
            conn.info["begin"] = "BEGIN IMMEDIATE" if write else "BEGIN"
        step = self._leading if write and not self._led else None
        queue = (
            writing(self._writer, self._busy_s, "BEGIN IMMEDIATE")
            if write and self._writer is not None else contextlib.nullcontext()
        )
        try:
            with queue, conn.begin():
                if self.dialect is Dialect.POSTGRESQL and not write:
                    # A snapshot that never fails to serialise (read only).
                    conn.exec_driver_sql(_PG_READ_ONLY)
                self._tx = Tx(conn, self.dialect)
                try:
                    refusal = None if step is None else step(self._tx)
                    if refusal is not None:
                        raise refusal
                    yield self._tx
                finally:
                    self._tx = None
            if step is not None:  # committed with this transaction
                self._led = True
        except BaseException:
            # A failed COMMIT (deferred constraint, busy, I/O) can leave the driver's transaction
            # open: roll it back, or every later transaction would join it and never commit.
            _rollback_driver(conn)
            raise

    @contextlib.contextmanager
    def leading(self, step: Step) -> Iterator[None]:
        """Run `step(tx)` first inside the next outermost write transaction opened in this
        block, so what it checks and writes commits (or rolls back, or is retried) with that
        transaction — a front door's checks and counts with the decision they guard, at no
        transaction of their own. A refusal it returns is raised there (the transaction rolls
        back). If no write transaction committed with it by the end of the block (the block
        only read, or failed, or was refused), `step` runs then in one RELAXED transaction of
        its own, which commits (the counts of a refused request stay) before its refusal is
        raised; that refusal replaces the block's exception."""
        if self._leading is not None or self._tx is not None:
            raise RuntimeError("leading() inside an open transaction or leading() block")
        self._leading, self._led = step, False
        try:
            yield
        finally:
            led, self._leading = self._led, None
            if not led:
                self.retrying(lambda: self._alone(step))

    def _alone(self, step: Step) -> None:
        with self.transaction(Durability.RELAXED) as tx:
            refusal = step(tx)
        if refusal is not None:
            raise refusal

    def read(self) -> contextlib.AbstractContextManager[Tx]:
        """A read-only transaction (SQLite: deferred, takes no write lock)."""
        return self.transaction(write=False)

    def retrying(self, work: Callable[[], T]) -> T:
        """Run `work` (one unit of work), again after a serialization failure or deadlock.

        Inside an open transaction `work` simply runs: only the outermost unit can retry.
        """
        if self._tx is not None:
            return work()
        attempt = 0
        while True:
            try:
                return work()
            except exc.DBAPIError as error:
                attempt += 1
                if not is_retryable(error) or attempt > self.retries:
                    raise
            # Random back-off so colliding processes spread out (not synchronisation).
            time.sleep(random.uniform(0, 0.002 * min(attempt, 20)))


_DAMAGE_WORDS: Final = ("malformed", "not a database", "file is not", "corrupt")


def _is_damage(error: exc.DatabaseError) -> bool:
    """Whether SQLite says its file is damaged (not busy, locked or full: those are no damage)."""
    text = str(error.orig or error).lower()
    return isinstance(error.orig, sqlite3.DatabaseError) and any(w in text for w in _DAMAGE_WORDS)


def first_line(error: BaseException) -> str:
    """The driver's message, first line only (no SQL, no parameters)."""
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    engine = create_engine(
        url, poolclass=NullPool,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": True},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Driver autocommit: we say BEGIN ourselves (the SQLAlchemy recipe for pysqlite).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"store {url.database}: cannot switch to WAL mode")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Straight to the driver: BEGIN returns no rows and needs no statement events. Its
        # errors (busy, locked) are wrapped as SQLAlchemy would, so callers see one error type.
        raw = conn.connection.driver_connection
        assert raw is not None
        statement = conn.info.get("begin", "BEGIN IMMEDIATE")
        try:
            raw.execute(statement)
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(
                statement, None, error, sqlite3.Error, dialect=conn.dialect
            ) from error

    return engine


def _rollback_driver(conn: Connection) -> None:
    if conn.closed or conn.invalidated:
        return
    raw = conn.connection.driver_connection
    if raw is not None and getattr(raw, "in_transaction", False):
        with contextlib.suppress(Exception):  # the error that matters is already on its way
            raw.rollback()

