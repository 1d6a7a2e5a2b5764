"""Choosing the store by URL: SLSEMU_STORE, `store` in bridge.toml, the SQLite default; bad or
unreachable URLs are one line on stderr and exit 2, never with the password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.db.engine import ENV_STORE, store_url
from host_bridge.errors import BridgeError
from tests.bridge_helpers import FAST, FakeClock


def _slsbridge(
    home: Path, *args: str, store: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_STORE}
    env["SLSEMU_HOME"] = str(home)
    if store is not None:
        env[ENV_STORE] = store
    return subprocess.run(
        [sys.executable, "-m", "host_bridge.cli", *args], env=env, capture_output=True,
        text=True, timeout=120,
    )


def test_the_default_is_the_sqlite_file_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_STORE, raising=False)
    assert store_url(tmp_path) == f"sqlite:///{tmp_path / 'bridge.sqlite3'}"
    assert store_url(tmp_path, "sqlite:////x/y.db") == "sqlite:////x/y.db"
    monkeypatch.setenv(ENV_STORE, "sqlite:////a/b.db")
    assert store_url(tmp_path, "sqlite:////x/y.db") == "sqlite:////a/b.db"  # the env wins


def test_bridge_toml_names_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_STORE, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "elsewhere.sqlite3"
    (home / "bridge.toml").write_text(f'store = "sqlite:///{elsewhere}"\nscrypt_n = 256\n')
    with Bridge.open(home, FakeClock()) as bridge:
        bridge.init()
        bridge.add_user("alice", "pw")
        assert bridge.store_name == str(elsewhere)
    assert elsewhere.exists() and not (home / "bridge.sqlite3").exists()
    (home / "bridge.toml").write_text("store = 5\n")
    with pytest.raises(BridgeError, match="store must be a URL"):
        BridgeConfig.load(home)


def test_the_environment_names_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = tmp_path / "chosen.sqlite3"
    monkeypatch.setenv(ENV_STORE, f"sqlite:///{chosen}")
    with Bridge.open(tmp_path / "home", FakeClock(), config=FAST) as bridge:
        bridge.init()
    assert chosen.exists() and not (tmp_path / "home" / "bridge.sqlite3").exists()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@127.0.0.1/sls",
        "sqlite://",
        "::not a url::",
        # Port 1 on the loopback: nothing listens there, the connection is refused at once.
        "postgresql://bridge:s3cret-pw@127.0.0.1:1/sls?connect_timeout=5",
    ],
)
def test_a_bad_or_unreachable_store_is_one_line_and_exit_2(tmp_path: Path, url: str) -> None:
    done = _slsbridge(tmp_path / "home", "init", store=url)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("slsbridge: ")
    assert "Traceback" not in done.stderr and "s3cret-pw" not in done.stderr
    assert not (tmp_path / "home" / "master.key").exists()  # nothing half-made
