"""The throwaway PostgreSQL the store tests run on: each test's database is its own and empty,
and the wrapper stops the server and removes its folder whatever the command did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from host_bridge.db import migrate
from tests.pg_cluster import URL_ENV, database_url, scratch_database


def _databases(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_each_test_gets_an_empty_database_of_its_own(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert name is not None and name[0].startswith("slsemu_")
    assert tables == (0,)
    assert pg_url == database_url(os.environ[URL_ENV], name[0])


def test_a_scratch_database_is_dropped_with_its_open_connections(pg_url: str) -> None:
    server = os.environ[URL_ENV]  # pg_url: fails the test as every store test does without it
    with scratch_database(server) as url:
        name = urlsplit(url).path.lstrip("/")
        left_open = psycopg.connect(url)  # a worker that never closed: DROP ... FORCE ends it
        assert name in _databases(server)
    assert name not in _databases(server)
    with pytest.raises(psycopg.OperationalError):
        left_open.execute("SELECT 1")
    left_open.close()


def test_database_url_keeps_credentials_host_and_query() -> None:
    assert (
        database_url("postgresql://me:pw@db.example:5433/postgres?sslmode=disable", "t1")
        == "postgresql://me:pw@db.example:5433/t1?sslmode=disable"
    )
    assert (
        database_url("postgresql://slsemu@/postgres?host=/tmp/slspg-x", "t2")
        == "postgresql://slsemu@/t2?host=/tmp/slspg-x"
    )


CHILD = """
import os, sys
from pathlib import Path
import psycopg
url = os.environ["SLSEMU_PROBE_URL"]
with psycopg.connect(url) as conn:
    row = conn.execute(
        "SELECT current_setting('fsync'), current_setting('data_directory')"
    ).fetchone()
Path(sys.argv[1]).write_text(row[0] + "\\n" + row[1] + "\\n" + url)
raise SystemExit(3)
"""


@pytest.mark.parametrize(("flags", "fsync"), [([], "off"), (["--durable"], "on")])
def test_wrapper_stops_and_removes_the_cluster_even_when_the_command_fails(
    tmp_path: Path, flags: list[str], fsync: str
) -> None:
    report = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "tests.pg_cluster", *flags, "--env", "SLSEMU_PROBE_URL", "--",
         sys.executable, "-c", CHILD, str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3, done.stderr  # the command's own exit code
    setting, data_directory, url = report.read_text().splitlines()
    assert setting == fsync
    assert "host=" in url and "@/postgres" in url  # a Unix socket, no TCP host
    folder = Path(data_directory).parent
    assert folder.name.startswith("slspg-")
    assert not folder.exists()  # stopped (pg_ctl -w) and removed
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)


def test_wrapper_without_a_command_is_bad_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.pg_cluster"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "no command given" in done.stderr


def test_a_store_database_starts_with_the_schema_and_no_rows(pg_store_url: str) -> None:
    with psycopg.connect(pg_store_url) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        devices = conn.execute("SELECT count(*) FROM devices").fetchone()
    assert revision == (migrate.HEAD,)
    assert devices == (0,)
