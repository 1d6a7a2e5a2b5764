"""Shared I/O: the data folder, durable atomic writes, the CLI edge's exit codes."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest

from firmware_model.serial_codec import Display, Read
from slsio.files import atomic_write, read_limited
from slsio.home import data_home
from slsio.serial_client import ClientConfig, Exchange


def test_data_home_follows_slsemu_home(slsemu_home: Path) -> None:
    assert data_home() == slsemu_home
    assert slsemu_home.is_dir()


def test_atomic_write_replaces_whole_file_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "secret.bin"
    atomic_write(target, b"first")
    atomic_write(target, b"second version")
    assert target.read_bytes() == b"second version"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.bin"], "no temp files left behind"


def test_atomic_write_failure_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "data"
    atomic_write(target, b"old")
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data"]


def test_read_limited_refuses_large_files(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    assert read_limited(big, 11) == b"x" * 11
    with pytest.raises(ValueError, match="larger than 10 bytes"):
        read_limited(big, 10)


@pytest.mark.parametrize("timeout", [0.0, -1.0, math.inf, math.nan])
def test_client_config_refuses_a_timeout_no_wait_can_keep(timeout: float) -> None:
    # An infinite deadline would hang a host on a silent line (and overflow the poll call).
    with pytest.raises(ValueError, match="timeout"):
        ClientConfig(timeout=timeout)


def test_a_stray_reply_never_passes_for_the_answer_to_the_next_request() -> None:
    exchange = Exchange(ClientConfig())
    exchange.encode(Read())
    exchange.feed(b"DISPLAY PIN>\nOK\nOK\n")  # the answer, then lines nobody asked for
    assert exchange.answer() == Display("PIN>")
    exchange.encode(Read())
    exchange.feed(b"DISPLAY CHALLNG>\n")
    assert exchange.answer() == Display("CHALLNG>")
    assert exchange.answer() is None
