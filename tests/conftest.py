"""Shared fixtures: every test gets its own SLSEMU_HOME and a deterministic entropy source."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import settings

from host_bridge.db import migrate
from host_bridge.db.engine import ENV_STORE, Database
from tests.pg_cluster import URL_ENV, scratch_database
from tests.processes import stop_server

# No per-example deadline: these machines are shared and noisy, and speed is measured by
# `make bench`, never by a test. In CI (CI=true) the examples are derandomized, so a run is
# reproducible and a red CI is never a roll of the dice; locally they explore as usual.
settings.register_profile("slsemu", deadline=None, print_blob=True)
settings.register_profile("slsemu-ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile("slsemu-ci" if os.environ.get("CI") else "slsemu")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (`--dist loadgroup`)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A module whose tests share a module-scoped fixture of its own (a server, a store full of
    devices) runs on one xdist worker: spread over two, each would build that fixture again.
    Every other test is scheduled on its own, to whichever worker is free (docs/testing.md)."""
    for item in items:
        module = item.getparent(pytest.Module)
        if module is None:
            continue
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else ()
        if any(d.scope == "module" and d.baseid == module.nodeid for ds in defs for d in ds):
            item.add_marker(pytest.mark.xdist_group(module.nodeid))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The race tests' forkserver (tests/processes.py) ends with the session, reaped."""
    stop_server()


@pytest.fixture(autouse=True)
def slsemu_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private data folder, so tests never touch the user's real one."""
    home = tmp_path / "slsemu-home"
    monkeypatch.setenv("SLSEMU_HOME", str(home))
    yield home


def counter_entropy(seed: int = 0) -> Callable[[int], bytes]:
    """A deterministic random source (SHA-256 in counter mode); `seed` picks its own stream."""
    counter = seed << 32

    def take(count: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < count:
            out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:count]

    return take


@pytest.fixture
def entropy() -> Callable[[int], bytes]:
    """A deterministic random source for reproducible devices."""
    return counter_entropy()


def _pg_server() -> str:
    """The PostgreSQL server of the run (SLSEMU_TEST_PG_URL); the test fails without one."""
    base = os.environ.get(URL_ENV)
    if not base:
        pytest.fail(
            f"{URL_ENV} is not set: run `make test` (it starts a throwaway PostgreSQL) or set it "
            "to a server where you may CREATE DATABASE (docs/host-bridge.md, 'Tests')",
            pytrace=False,
        )
    return base


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database of this test's own, dropped after it.

    The server is named by SLSEMU_TEST_PG_URL: `make test` starts a throwaway cluster and sets
    it; a developer may point it at a server of their own. Without it the test fails, never
    skips: the store's guarantees must hold on PostgreSQL too.
    """
    with scratch_database(_pg_server()) as url:
        yield url


@pytest.fixture(scope="session")
def pg_migrated_template() -> Iterator[str]:
    """A database with the store's schema at its newest revision, made once per test process,
    that fresh store databases are copied from (faster than migrating each one)."""
    with scratch_database(_pg_server()) as url:
        db = Database.connect(url)
        try:
            migrate.upgrade(db)
        finally:
            db.close()
        yield urlsplit(url).path.lstrip("/")


@pytest.fixture
def pg_store_url(pg_migrated_template: str) -> Iterator[str]:
    """A fresh PostgreSQL store of this test's own: the schema in place, no rows."""
    with scratch_database(_pg_server(), template=pg_migrated_template) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a store test on both engines: SQLite in the data folder, or a fresh PostgreSQL
    store named by SLSEMU_STORE (processes the test spawns inherit it)."""
    if request.param == "postgresql":
        monkeypatch.setenv(ENV_STORE, request.getfixturevalue("pg_store_url"))
    else:
        monkeypatch.delenv(ENV_STORE, raising=False)
    return str(request.param)
