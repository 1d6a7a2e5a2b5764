"""The store: migrations, durability settings, append-only audit, sealed secrets, master key.

Every test that is not about one engine's own file or settings runs on both: `empty_store` (a
new, empty store: SQLite file or PostgreSQL database) and `store_engine` (a bridge's store).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import alembic.command
import pytest
from sqlalchemy import inspect, update
from sqlalchemy.exc import DatabaseError, IntegrityError

from host_bridge.audit import AuditLog
from host_bridge.bridge import Bridge
from host_bridge.db.engine import Database, Dialect, Durability
from host_bridge.db.migrate import HEAD, current_revision, head, upgrade
from host_bridge.db.schema import devices
from host_bridge.errors import BridgeError, StoreError
from host_bridge.masterkey import ENV_MASTER_KEY, MasterKey
from tests.bridge_helpers import (
    FAST,
    START,
    FakeClock,
    dscplus_response,
    open_bridge,
    read_image,
    stored_device,
)

OLD_STORE = Path(__file__).parent / "vectors" / "old_store"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty store (no schema): a SQLite file, or a PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 's.sqlite3'}"


def _db(path: Path | str, busy_timeout_ms: int = 30_000) -> Database:
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    db = Database.connect(url, busy_timeout_ms=busy_timeout_ms)
    upgrade(db)
    return db


def _tables(db: Database) -> set[str]:
    with db.read() as tx:
        return set(inspect(tx.conn).get_table_names())


def _raw(db: Database) -> sqlite3.Connection:
    raw = db.connection().connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def test_the_first_revision_creates_every_table(empty_store: str) -> None:
    db = _db(empty_store)
    tables = _tables(db)
    assert {"users", "devices", "device_users", "challenges", "audit", "withdrawals",
            "share_requests", "temp_access", "orders", "holidays", "alembic_version"} <= tables
    with db.read() as tx:
        assert current_revision(tx) == HEAD
    assert head() == HEAD  # the constant the fast path trusts is Alembic's head
    db.close()


def test_durability_settings(tmp_path: Path) -> None:
    db = _db(tmp_path / "s.sqlite3", busy_timeout_ms=1234)
    conn = _raw(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    bridge = open_bridge(tmp_path / "home", FakeClock())
    assert (tmp_path / "home" / "bridge.sqlite3").stat().st_mode & 0o777 == 0o600
    bridge.close()


def test_a_relaxed_transaction_runs_unsynced_on_its_own_connection(tmp_path: Path) -> None:
    db = _db(tmp_path / "s.sqlite3")
    conn = _raw(db)
    with db.transaction(Durability.RELAXED) as tx:
        relaxed = tx.conn.connection.driver_connection
        assert isinstance(relaxed, sqlite3.Connection) and relaxed is not conn
        assert relaxed.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
        assert relaxed.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        with db.transaction() as inner:  # a nested transaction joins the relaxed one
            assert inner is tx
    # The durable connection never switched: FULL, and it runs the checkpoints.
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    with pytest.raises(RuntimeError), db.transaction(Durability.RELAXED):
        raise RuntimeError("rolled back")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    with db.transaction() as tx:
        assert tx.conn.connection.driver_connection is conn


_SYNC = "SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'"


def test_postgres_relaxed_commits_skip_the_flush_on_their_own_connection(pg_url: str) -> None:
    db = _db(pg_url)
    with db.transaction(Durability.RELAXED) as tx:
        relaxed = tx.conn
        assert tuple(tx.conn.exec_driver_sql(_SYNC).one()) == ("off", "session")
    with db.transaction() as tx:  # the durable connection keeps the server's own setting
        assert tx.conn is not relaxed
        assert tx.conn.exec_driver_sql(_SYNC).one()[1] != "session"
    with db.transaction(Durability.RELAXED) as tx:  # the setting outlives each transaction
        assert tx.conn is relaxed
        assert tuple(tx.conn.exec_driver_sql(_SYNC).one()) == ("off", "session")
    db.close()


def test_an_upgrade_runs_once(empty_store: str) -> None:
    _db(empty_store).close()
    db = _db(empty_store)  # a second open finds the store at the head revision
    with db.read() as tx:
        assert tx.conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    db.close()


def test_a_store_of_the_first_schema_is_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store made by the hand-written schema (schema_version 1) opens and keeps working:
    its user logs in with the card provisioned then."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("bridge.sqlite3", "alice-dscplus.img"):
        shutil.copy(OLD_STORE / name, home / name)
    monkeypatch.setenv(ENV_MASTER_KEY, "11" * 32)
    bridge = Bridge.open(home, FakeClock(), config=FAST)
    with bridge.db.read() as tx:
        assert current_revision(tx) == HEAD
    [card] = bridge.devices("alice")
    assert bridge.check_password("alice", "pw-alice")
    image = read_image(home / "alice-dscplus.img")
    challenge = bridge.issue_challenge(card.serial)
    response = dscplus_response(image, "2468", challenge.text, START)
    assert bridge.verify(card.serial, challenge.id, response).accepted
    bridge.close()


def test_a_newer_store_is_refused(tmp_path: Path, empty_store: str) -> None:
    db = _db(empty_store)
    with db.transaction() as tx:
        tx.conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    db.close()
    with pytest.raises(StoreError, match="newer than this build knows"):
        _db(empty_store)
    if not empty_store.startswith("sqlite"):
        return  # the hand-written schema (schema_version) was SQLite only
    legacy = tmp_path / "legacy.sqlite3"
    raw = sqlite3.connect(legacy)
    raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    raw.execute("INSERT INTO schema_version VALUES (2)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer than this build knows"):
        _db(legacy)


def test_a_failing_migration_changes_nothing(
    empty_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = alembic.command.upgrade

    def half_then_fail(config: object, target: str) -> None:
        real(config, target)  # type: ignore[arg-type]
        raise StoreError("the disk went away")

    monkeypatch.setattr(alembic.command, "upgrade", half_then_fail)
    db = Database.connect(empty_store)
    with pytest.raises(StoreError, match="went away"):
        upgrade(db)
    assert _tables(db) == set()
    monkeypatch.undo()
    assert upgrade(db) == HEAD
    db.close()


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="not usable"):
        _db(path)


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite://", "not a url at all"])
def test_a_bad_store_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        Database.connect(url)
    assert "\n" not in str(caught.value)


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    # Port 1 on the loopback: nothing listens, the connection is refused at once.
    with pytest.raises(StoreError, match="not usable") as caught:
        Database.connect("postgresql://bridge:s3cret-pw@127.0.0.1:1/sls", busy_timeout_ms=1000)
    assert "s3cret-pw" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_audit_log_is_append_only(empty_store: str) -> None:
    db = _db(empty_store)
    log = AuditLog(db)
    log.record(1.0, "x", "ok")
    with pytest.raises(DatabaseError, match="append-only"), db.transaction() as tx:
        tx.conn.exec_driver_sql("UPDATE audit SET outcome = 'changed'")
    with pytest.raises(DatabaseError, match="append-only"), db.transaction() as tx:
        tx.conn.exec_driver_sql("DELETE FROM audit")
    assert [r.outcome for r in log.rows()] == ["ok"]
    db.close()


def test_a_failed_commit_leaves_no_transaction_open(empty_store: str) -> None:
    """After a COMMIT that fails, the next write still commits (a long-running process — TUI,
    serial server — must not go on writing into a transaction that never ends)."""
    db = _db(empty_store)
    with db.transaction() as tx:  # a deferred constraint fails at COMMIT, not before
        tx.conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        tx.conn.exec_driver_sql("CREATE TABLE child (parent INTEGER REFERENCES parent(id) "
                                "DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(IntegrityError), db.transaction() as tx:
        tx.conn.exec_driver_sql("INSERT INTO child VALUES (99)")
    assert not db.in_transaction
    assert not db.connection().in_transaction()
    AuditLog(db).record(1.0, "x", "ok")
    other = Database.connect(empty_store)  # another connection sees what was committed
    with other.read() as tx:
        assert tx.conn.exec_driver_sql("SELECT count(*) FROM audit").scalar() == 1
        assert tx.conn.exec_driver_sql("SELECT count(*) FROM child").scalar() == 0
    other.close()
    db.close()


def test_keys_are_sealed_and_bound_to_their_device(tmp_path: Path, store_engine: str) -> None:
    clock = FakeClock()
    bridge = open_bridge(tmp_path / "home", clock)
    bridge.add_user("alice", "pw")
    a = bridge.provision("alice", "scc", image_path=tmp_path / "a.img")
    b = bridge.provision("alice", "scc", image_path=tmp_path / "b.img")
    assert a.image is not None
    with bridge.db.read() as tx:  # no column of any row holds the key in the clear
        rows = tx.conn.execute(devices.select()).all()
    assert rows and not any(
        a.image.key in value for row in rows for value in row if isinstance(value, bytes)
    )
    if bridge.db.dialect is Dialect.SQLITE:
        assert a.image.key not in (tmp_path / "home" / "bridge.sqlite3").read_bytes()
    # Moving a's sealed key into b's row makes b unusable instead of answering with a's key.
    key_a = stored_device(bridge, a.serial).key_enc
    with bridge.db.transaction() as tx:
        tx.conn.execute(update(devices).where(devices.c.serial == b.serial).values(key_enc=key_a))
    challenge = bridge.issue_challenge(b.serial)
    with pytest.raises(StoreError, match="cannot decrypt"):
        bridge.verify(b.serial, challenge.id, "AAABBB")


def test_missing_master_key(tmp_path: Path, store_engine: str) -> None:
    home = tmp_path / "home"
    bridge = open_bridge(home, FakeClock())
    bridge.close()
    (home / "master.key").unlink()
    fresh = Bridge.open(home, FakeClock(), config=FAST)
    with pytest.raises(StoreError, match="missing"):
        _ = fresh.master
    with pytest.raises(StoreError, match="missing"):
        fresh.init()  # init must not silently make a new key for an existing store


def test_wrong_or_malformed_master_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_engine: str
) -> None:
    home = tmp_path / "home"
    open_bridge(home, FakeClock()).close()
    monkeypatch.setenv(ENV_MASTER_KEY, os.urandom(32).hex())
    with pytest.raises(StoreError, match="wrong master key"):
        _ = Bridge.open(home, FakeClock(), config=FAST).master
    monkeypatch.setenv(ENV_MASTER_KEY, "not hex")
    with pytest.raises(StoreError, match="malformed master key"):
        _ = Bridge.open(home, FakeClock(), config=FAST).master
    monkeypatch.delenv(ENV_MASTER_KEY)
    (home / "master.key").write_text("abcd\n")
    with pytest.raises(StoreError, match="malformed master key"):
        _ = Bridge.open(home, FakeClock(), config=FAST).master


def test_master_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_engine: str
) -> None:
    monkeypatch.setenv(ENV_MASTER_KEY, os.urandom(32).hex())
    bridge = open_bridge(tmp_path / "home", FakeClock())
    assert not (tmp_path / "home" / "master.key").exists()
    bridge.add_user("alice", "pw")
    assert bridge.provision("alice", "sms").serial.startswith("SM")


def test_master_key_file_is_private(tmp_path: Path, store_engine: str) -> None:
    home = tmp_path / "home"
    open_bridge(home, FakeClock()).close()
    key_file = home / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key_file.chmod(0o644)
    with pytest.raises(StoreError, match="readable by others"):
        _ = Bridge.open(home, FakeClock(), config=FAST).master


def test_master_key_repr_hides_the_key() -> None:
    key = os.urandom(32)
    assert key.hex() not in repr(MasterKey(key))


def test_sealed_values_do_not_open_for_another_purpose() -> None:
    master = MasterKey(os.urandom(32))
    sealed = master.seal("pin", "DP1", b"1234")
    assert master.open("pin", "DP1", sealed) == b"1234"
    with pytest.raises(StoreError):
        master.open("key", "DP1", sealed)
    with pytest.raises(StoreError):
        master.open("pin", "DP2", sealed)


def _appears_meanwhile(
    monkeypatch: pytest.MonkeyPatch, target: Path, content: bytes
) -> None:
    """Make `target` appear (another process) just before the next atomic write finishes."""
    from host_bridge import newfile

    real = newfile.atomic_write

    def racing_write(path: str | os.PathLike[str], data: bytes) -> None:
        target.write_bytes(content)
        real(path, data)

    monkeypatch.setattr(newfile, "atomic_write", racing_write)


def test_a_master_key_made_meanwhile_by_another_init_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from host_bridge.masterkey import create_key_file

    tmp_path.mkdir(exist_ok=True)
    theirs = b"ab" * 32 + b"\n"
    _appears_meanwhile(monkeypatch, tmp_path / "master.key", theirs)
    with pytest.raises(StoreError, match="already exists"):
        create_key_file(tmp_path)
    assert (tmp_path / "master.key").read_bytes() == theirs
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]  # no temp file left


def test_an_image_made_meanwhile_by_another_provision_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    bridge.add_user("alice", "pw")
    image = tmp_path / "card.img"
    _appears_meanwhile(monkeypatch, image, b"another device's image")
    with pytest.raises(BridgeError, match="already exists"):
        bridge.provision("alice", "scc", image_path=image)
    assert image.read_bytes() == b"another device's image"
    assert bridge.all_devices("alice") == []  # and no device without its image


def test_write_new_without_hard_links_still_never_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system without hard links (FAT) the file is still written, and an existing
    one is still refused."""
    import errno

    from host_bridge import newfile

    def no_links(src: object, dst: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(newfile.os, "link", no_links)
    newfile.write_new(tmp_path / "a.img", b"first")
    assert (tmp_path / "a.img").read_bytes() == b"first"
    assert (tmp_path / "a.img").stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        newfile.write_new(tmp_path / "a.img", b"second")
    assert (tmp_path / "a.img").read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.img"]
