"""Store corruption fuzz (issue 9): rows edited past the schema's CHECK constraints, a NULL
`schema_version`, truncated files and garbled bytes or pages. Every command answers 0, 1 or 2 in
at most one line, never a traceback or exit 70; a damaged value read is "the store … is damaged"
(exit 2). Bounded: a fixed set of edits and a fixed number of seeded byte-level damages."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from host_bridge.cli import main
from tests.fuzz_helpers import Outcome, call
from tests.secret_env import env_secret

DAMAGES = 12  # seeded byte-level damages (each runs every command below)


class Store:
    """A store with a user, an SCC, a DSC+, a Temporary Code, a challenge and a withdrawal."""

    def __init__(self, home: Path) -> None:
        self.home = home
        (home / "bridge.toml").write_text("scrypt_n = 2\n")
        assert call(main, ["init"]).code == 0
        assert call(main, ["user", "add", "alice", "--password-stdin"], b"pw\n").code == 0
        self.scc = self._provision("scc")
        self.dscplus = self._provision("dscplus", *env_secret("--pin", "1234"))
        assert call(main, ["temp", "issue", "--user", "alice"]).code == 0
        assert call(main, ["challenge", "--serial", self.scc]).code == 0
        assert call(main, ["withdraw", "--user", "alice", "--device", self.dscplus,
                           "--amount", "100"]).code == 0

    def _provision(self, model: str, *extra: str) -> str:
        image = str(self.home / f"{model}.img")
        made = call(main, ["provision", "--user", "alice", "--model", model, *extra,
                           "--image", image])
        assert made.code == 0, made
        return made.out.strip()

    def commands(self) -> list[list[str]]:
        return [
            ["user", "show", "alice"], ["devices", "--user", "alice", "--all"],
            ["challenge", "--serial", self.scc], ["challenge", "--serial", self.dscplus],
            ["verify", "--serial", self.scc, "--challenge-id", "0" * 32,
             *env_secret("--response", "AAAAAA")],
            ["audit"], ["temp", "status", "--user", "alice"], ["temp", "check", "--user", "alice"],
            ["login", "--user", "alice", "--password-stdin", "--device", self.scc],
            ["withdraw", "--user", "alice", "--device", self.dscplus, "--amount", "5"],
            ["unlock", "--user", "alice"], ["user", "add", "bob", "--password-stdin"],
        ]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("pristine")
    before = os.environ.get("SLSEMU_HOME")
    os.environ["SLSEMU_HOME"] = str(home)
    try:
        yield Store(home)
    finally:
        if before is not None:
            os.environ["SLSEMU_HOME"] = before


@pytest.fixture
def copy(pristine: Store, slsemu_home: Path) -> Store:
    """A copy of the pristine store in this test's SLSEMU_HOME (the same serials)."""
    shutil.copytree(pristine.home, slsemu_home)
    store = object.__new__(Store)
    store.home, store.scc, store.dscplus = slsemu_home, pristine.scc, pristine.dscplus
    return store


def documented(outcome: Outcome, argv: list[str]) -> None:
    assert outcome.code in (0, 1, 2), (argv, outcome)
    assert "Traceback" not in outcome.err and outcome.err.count("\n") <= 1, (argv, outcome)


def edit(store: Store, script: str) -> None:
    db = sqlite3.connect(store.home / "bridge.sqlite3")
    try:
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.executescript(script)
        db.commit()
    finally:
        db.close()


EDITS = {
    "devices.status": ("UPDATE devices SET status = 'bogus'", ["user", "show", "alice"]),
    "devices.failures": ("UPDATE devices SET failures = -3", ["devices", "--user", "alice"]),
    "devices.counter": ("UPDATE devices SET counter = 'abc'", ["user", "show", "alice"]),
    "devices.model": ("UPDATE devices SET model = 'nomodel'", ["user", "show", "alice"]),
    "devices.key_enc": ("UPDATE devices SET key_enc = 'text'", ["user", "show", "alice"]),
    "devices.valid_until": ("UPDATE devices SET valid_until = 'x'", ["user", "show", "alice"]),
    "devices.temporary": ("UPDATE devices SET temporary = 7", ["user", "show", "alice"]),
    "users.opt_out": ("UPDATE users SET opt_out = 'x'", ["user", "show", "alice"]),
    "users.pw_n": ("UPDATE users SET pw_n = 3", ["user", "show", "alice"]),
    "users.equity": ("UPDATE users SET equity_cents = 'lots'", ["user", "show", "alice"]),
    "users.primary": ("UPDATE users SET primary_user = 7", ["user", "show", "alice"]),
    "device_users.role": ("UPDATE device_users SET role = 'x'", ["user", "show", "alice"]),
    "temp_access.kind": ("UPDATE temp_access SET kind = 'x'", ["temp", "status", "--user",
                                                                 "alice"]),
    "temp_access.issued": ("UPDATE temp_access SET issued = 'x'", ["temp", "status", "--user",
                                                                     "alice"]),
    "challenges.used": ("UPDATE challenges SET used = 5", None),
    "audit.detail": ("DROP TRIGGER audit_no_update; UPDATE audit SET detail = '[1]'", ["audit"]),
    "audit.at": ("DROP TRIGGER audit_no_update; UPDATE audit SET at = 'x'", ["audit"]),
    "schema_version NULL": (
        "DROP TABLE alembic_version; CREATE TABLE schema_version (version INTEGER); "
        "INSERT INTO schema_version VALUES (NULL)", ["audit"],
    ),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_rows_edited_past_the_constraints_are_a_damaged_store(copy: Store, name: str) -> None:
    script, reads_it = EDITS[name]
    edit(copy, script)
    for argv in copy.commands():
        documented(call(main, argv, b"pw\n"), argv)
    if reads_it is not None:
        outcome = call(main, reads_it)
        assert outcome.code == 2, outcome
        assert outcome.err.startswith(f"slsbridge: error: the store {copy.home}/bridge.sqlite3 "
                                      "is damaged ("), outcome


@pytest.mark.parametrize("seed", range(DAMAGES))
def test_truncated_or_garbled_store_files_get_a_documented_answer(copy: Store, seed: int) -> None:
    rng = random.Random(seed)
    path = copy.home / "bridge.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    mode = ("truncate", "bytes", "page")[seed % 3]
    if mode == "truncate":
        data = data[: rng.randrange(len(data))]
    elif mode == "bytes":
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    else:
        page = rng.randrange(len(data) // 4096)
        data[page * 4096:(page + 1) * 4096] = rng.randbytes(4096)
    path.write_bytes(bytes(data))
    for argv in copy.commands():
        documented(call(main, argv, b"pw\n"), argv)
