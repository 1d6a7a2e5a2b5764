"""`slsbridge store migrate --to URL` and `slsbridge store check` on a real SQLite store and a
real PostgreSQL: the copy is whole and verified or nothing is written; bad input is one line."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from host_bridge.bridge import Bridge
from host_bridge.cli import main
from host_bridge.db import migrate
from host_bridge.db.engine import ENV_STORE, Database
from host_bridge.db.schema import metadata
from tests.bridge_helpers import FAST, dscplus_response, read_image

Cli = Callable[..., tuple[int, str, str]]
PASSWORD = "s3cret-pw"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv(ENV_STORE, raising=False)

    def call(*argv: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        code = main(["store", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


@pytest.fixture
def source(slsemu_home: Path, tmp_path: Path) -> str:
    """A SQLite store with a user, a DSC+, a used challenge and audit rows; its card's serial."""
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        bridge.init()
        bridge.add_user("alice", "pw")
        made = bridge.provision("alice", "dscplus", pin="2468", image_path=tmp_path / "card.img")
        bridge.provision("alice", "scc")
        challenge = bridge.issue_challenge(made.serial)
        response = dscplus_response(read_image(tmp_path / "card.img"), "2468", challenge.text,
                                    bridge.clock())
        assert bridge.verify(made.serial, challenge.id, response).accepted
        assert not bridge.verify(made.serial, challenge.id, response).accepted  # replay
    return made.serial


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    db = Database.connect(url)
    try:
        with db.read() as tx:
            return {
                table.name: [
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in tx.conn.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in metadata.sorted_tables
            }
    finally:
        db.close()


def _public_tables(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_migrate_copies_every_row_and_the_copy_serves_logins(
    cli: Cli, source: str, slsemu_home: Path, pg_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = cli("migrate", "--to", pg_url, "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    before = _rows(f"sqlite:///{slsemu_home / 'bridge.sqlite3'}")
    after = _rows(pg_url)
    assert after == before  # row by row, sealed keys byte for byte
    assert report["rows"] == {name: len(rows) for name, rows in before.items()}
    assert report["verified"] is True and report["revision"] == migrate.HEAD

    # The copy is a working store under the same master key: a login on the PostgreSQL copy,
    # its audit row numbered after the copied ones (the id sequence moved past them).
    copied = max(int(str(row[0])) for row in before["audit"])
    monkeypatch.setenv(ENV_STORE, pg_url)
    with Bridge.open(slsemu_home, config=FAST) as bridge:
        challenge = bridge.issue_challenge(source)
        response = dscplus_response(read_image(tmp_path / "card.img"), "2468", challenge.text,
                                    bridge.clock())
        assert bridge.verify(source, challenge.id, response).accepted
        new = bridge.audit(since_id=copied)
    assert [(r.id, r.event, r.outcome) for r in new] == [(copied + 1, "verify", "accepted")]


def test_migrate_refuses_a_target_that_is_not_empty(cli: Cli, source: str, pg_url: str) -> None:
    assert cli("migrate", "--to", pg_url)[0] == 0
    copied = _rows(pg_url)
    code, out, err = cli("migrate", "--to", pg_url)
    assert (code, out) == (2, "")
    assert "not empty" in err and err.count("\n") == 1
    assert _rows(pg_url) == copied


def test_migrate_refuses_the_store_itself(cli: Cli, source: str, slsemu_home: Path) -> None:
    code, _, err = cli("migrate", "--to", f"sqlite:///{slsemu_home / 'bridge.sqlite3'}")
    assert code == 2 and "the store itself" in err


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("postgresql://slsemu@/postgres?host=/nonexistent-sls-socket-dir", "not usable"),
        ("mysql://x@localhost/db", "unsupported store URL"),
        ("not a url", "bad store URL"),
    ],
)
def test_migrate_to_an_unusable_url_is_one_line(
    cli: Cli, source: str, target: str, expected: str
) -> None:
    code, out, err = cli("migrate", "--to", target)
    assert (code, out) == (2, "")
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_wrong_credentials_are_one_line_without_the_password(
    cli: Cli, source: str, pg_url: str
) -> None:
    wrong = pg_url.replace("postgresql://slsemu@", f"postgresql://nobody_here:{PASSWORD}@")
    code, out, err = cli("migrate", "--to", wrong)
    assert (code, out) == (2, "")
    assert "nobody_here" in err and err.count("\n") == 1
    assert PASSWORD not in err


def test_a_target_with_a_newer_schema_is_refused(cli: Cli, source: str, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    code, _, err = cli("migrate", "--to", pg_url)
    assert code == 2 and "newer than this build" in err
    assert _public_tables(pg_url) == 1  # nothing created beside it


def test_a_connection_lost_mid_copy_leaves_the_target_as_it_was(
    cli: Cli, source: str, pg_url: str
) -> None:
    target = Database.connect(pg_url)
    migrate.upgrade(target)
    target.close()
    with psycopg.connect(pg_url) as conn:  # the server drops the copy's connection half-way
        conn.execute(
            "CREATE FUNCTION drop_me() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER drop_me BEFORE INSERT ON devices "
            "FOR EACH ROW EXECUTE FUNCTION drop_me()"
        )
    code, out, err = cli("migrate", "--to", pg_url)
    assert (code, out) == (2, "")
    assert err.startswith("slsbridge: error: store ") and err.count("\n") == 1
    assert all(rows == [] for rows in _rows(pg_url).values())


def test_migrate_with_another_master_key_is_refused(
    cli: Cli, source: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLSEMU_MASTER_KEY", "11" * 32)
    code, _, err = cli("migrate", "--to", pg_url)
    assert code == 2 and "wrong master key" in err
    assert _public_tables(pg_url) == 0  # refused before the target was touched


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_check_reports_the_schema_and_integrity(
    cli: Cli, source: str, pg_url: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine == "postgresql":
        assert cli("migrate", "--to", pg_url)[0] == 0
        monkeypatch.setenv(ENV_STORE, pg_url)
    code, out, err = cli("check", "--json")
    assert (code, err) == (0, "")
    health = json.loads(out)
    assert health["engine"] == engine
    assert health["schema"] == {"revision": migrate.HEAD, "head": migrate.HEAD,
                                "state": "current"}
    assert health["integrity"] == "ok" and health["problems"] == []
    assert health["master_key"] == "matches"
    assert health["rows"]["devices"] == 2
    code, text, _ = cli("check")
    assert code == 0 and "integrity: ok" in text and f"schema: {migrate.HEAD}" in text


def test_check_finds_orphans_and_a_wrong_master_key(
    cli: Cli, source: str, slsemu_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = sqlite3.connect(slsemu_home / "bridge.sqlite3")  # foreign keys off: damage possible
    with conn:
        conn.execute("INSERT INTO device_users (serial, user, role, added) "
                     "VALUES ('XX0000000000', 'alice', 'owner', 0)")
    conn.close()
    monkeypatch.setenv("SLSEMU_MASTER_KEY", "22" * 32)
    code, out, _ = cli("check", "--json")
    assert code == 1
    health = json.loads(out)
    assert health["integrity"] == "damaged" and health["master_key"] == "wrong"
    assert any("device_users: 1 rows whose serial names no devices row" in problem
               for problem in health["problems"])


def test_check_of_a_newer_store_is_bad_input(
    cli: Cli, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    monkeypatch.setenv(ENV_STORE, pg_url)
    code, out, err = cli("check")
    assert (code, out) == (2, "")
    assert "newer than this build" in err and err.count("\n") == 1


def test_check_of_an_unreachable_store_is_bad_input(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_STORE, f"postgresql://u:{PASSWORD}@/x?host=/nonexistent-sls-dir")
    code, out, err = cli("check")
    assert (code, out) == (2, "")
    assert "not usable" in err and PASSWORD not in err and err.count("\n") == 1
