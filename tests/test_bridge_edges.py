"""The host bridge at the edges (issue 9): huge numbers in arguments, a FIFO as the outbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from host_bridge.cli import main as slsbridge_main
from tests.fuzz_helpers import call


@pytest.fixture
def home(slsemu_home: Path) -> Path:
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 256\n")
    assert call(slsbridge_main, ["init"]).code == 0
    return slsemu_home


@pytest.mark.parametrize("since", ["99999999999999999999", "-1", "9223372036854775808"])
def test_an_audit_row_id_past_64_bits_is_bad_input(home: Path, since: str) -> None:
    outcome = call(slsbridge_main, ["audit", "--since-id", since])
    assert outcome.code == 2 and outcome.err.count("\n") == 1, outcome
    assert "since_id must be 0 to 9223372036854775807" in outcome.err
    assert call(slsbridge_main, ["audit", "--since-id", "9223372036854775807"]).code == 0


def test_a_fifo_as_the_sms_outbox_is_refused_without_waiting(home: Path) -> None:
    assert call(slsbridge_main, ["user", "add", "alice", "--password-stdin"],
                stdin=b"correct horse\n").code == 0
    made = call(slsbridge_main, ["provision", "--user", "alice", "--model", "sms", "--json"])
    assert made.code == 0, made
    serial = made.out.split('"serial": "')[1].split('"')[0]
    os.mkfifo(home / "sms-outbox.jsonl")
    for argv in (["sms", "outbox", "--serial", serial], ["challenge", "--serial", serial]):
        outcome = call(slsbridge_main, argv)
        assert outcome.code == 2, (argv, outcome)
        assert "not a regular file" in outcome.err and outcome.err.count("\n") == 1, outcome
