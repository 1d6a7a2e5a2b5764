"""Failure budgets on the secrets a person types (issue 9): passwords, Temporary Codes and IB Key
activation tokens lock after `lockout_after` wrong guesses in a row, per user, charged before the
comparison, exact under racing processes, audited, unlocked by an administrator."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host_bridge.bridge import Bridge
from host_bridge.cli import main
from host_bridge.config import BridgeConfig
from host_bridge.domain import Guessed
from host_bridge.errors import Locked
from host_bridge.policies.lockout import Budget
from host_bridge.services.context import UNKNOWN
from host_bridge.services.policies import Policies
from tests.bridge_helpers import FakeClock, open_bridge
from tests.processes import WithEnv, racing_context

LIMIT = 5  # lockout_after's default: the same budget as a device's answers


@pytest.fixture
def bridge(tmp_path: Path) -> Bridge:
    bridge = open_bridge(tmp_path / "home", FakeClock())
    bridge.add_user("alice", "correct horse")
    return bridge


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str,
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_wrong_passwords_lock_the_password_and_the_admin_unlocks_it(bridge: Bridge) -> None:
    for _ in range(LIMIT - 1):
        assert not bridge.check_password("alice", "wrong")
    assert bridge.check_password("alice", "correct horse")  # a success starts the count again
    for _ in range(LIMIT):
        assert not bridge.check_password("alice", "wrong")
    with pytest.raises(Locked, match="password locked after 5 wrong guesses"):
        bridge.check_password("alice", "correct horse")  # not even compared
    assert bridge.guesses.failures("alice")[Guessed.PASSWORD] == LIMIT
    assert bridge.guesses.unlock("alice", (Guessed.PASSWORD,)) == {Guessed.PASSWORD: LIMIT}
    assert bridge.check_password("alice", "correct horse")
    rows = [r for r in bridge.audit() if r.event in ("login.password", "guess.lock",
                                                      "guess.unlock")]
    assert [r.event for r in rows].count("guess.lock") == 1
    assert [r.detail.get("reason") for r in rows if r.event == "login.password"].count(
        "locked") == 1
    assert rows[-2].event == "guess.unlock" and rows[-2].detail == {"budget": "password",
                                                                     "was": LIMIT}


def test_budgets_are_per_user_and_per_secret(bridge: Bridge) -> None:
    bridge.add_user("bob", "bobs secret")
    for _ in range(LIMIT):
        bridge.check_password("alice", "wrong")
    assert bridge.check_password("bob", "bobs secret")
    assert Policies(bridge).check_temporary_code("alice", "12345678") is None  # own budget
    assert bridge.guesses.failures("alice") == {
        Guessed.PASSWORD: LIMIT, Guessed.TEMPORARY_CODE: 1, Guessed.ACTIVATION_TOKEN: 0,
    }


def test_the_temporary_code_reproducer_is_refused_after_the_budget(
    slsemu_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9: 205 wrong guesses then the right one answered `full`."""
    slsemu_home.mkdir(parents=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 2\n")
    assert cli(monkeypatch, capsys, "init")[0] == 0
    assert cli(monkeypatch, capsys, "user", "add", "alice", "--password-stdin",
               stdin="pw\n")[0] == 0
    code, out, _ = cli(monkeypatch, capsys, "temp", "issue", "--user", "alice")
    assert code == 0
    temporary_code = out.strip()
    wrong = str((int(temporary_code) + 1) % 10 ** len(temporary_code)).zfill(len(temporary_code))
    for _ in range(LIMIT):
        assert cli(monkeypatch, capsys, "temp", "check", "--user", "alice",
                   stdin=wrong + "\n")[:2] == (1, "refused\n")
    for _ in range(200):  # the rest of the reproducer's 205: refused without a comparison
        code, out, err = cli(monkeypatch, capsys, "temp", "check", "--user", "alice",
                             stdin=wrong + "\n")
        assert (code, out) == (1, "")
        assert err == ("slsbridge: error: temporary code locked after 5 wrong guesses; an "
                       "administrator unlocks it (slsbridge unlock --user alice)\n")
    assert cli(monkeypatch, capsys, "temp", "check", "--user", "alice",
               stdin=temporary_code + "\n")[0] == 1
    code, out, _ = cli(monkeypatch, capsys, "unlock", "--user", "alice", "--secret",
                       "temporary_code", "--json")
    assert code == 0 and json.loads(out) == {"user": "alice", "cleared": {"temporary_code": LIMIT}}
    assert cli(monkeypatch, capsys, "temp", "check", "--user", "alice",
               stdin=temporary_code + "\n")[:2] == (0, "full\n")
    code, _, err = cli(monkeypatch, capsys, "unlock", "--serial", "DP1", "--secret", "password")
    assert code == 2 and err.count("\n") == 1
    code, _, err = cli(monkeypatch, capsys, "unlock", "--user", "nobody")
    assert code == 2 and "nobody" in err


def test_wrong_activation_tokens_lock_the_owners_token_budget(
    bridge: Bridge, tmp_path: Path
) -> None:
    result = bridge.provision("alice", "ibkey", image_path=tmp_path / "ik.img")
    message = bridge.outbox.latest(result.serial)
    assert message is not None
    for guess in range(LIMIT):
        assert not bridge.activate(result.serial, token=f"{guess:08d}", pin="4321")
    with pytest.raises(Locked, match="activation token locked"):
        bridge.activate(result.serial, token=message.code, pin="4321")
    bridge.guesses.unlock("alice")
    assert bridge.activate(result.serial, token=message.code, pin="4321")
    assert bridge.guesses.failures("alice")[Guessed.ACTIVATION_TOKEN] == 0
    refused = [r for r in bridge.audit() if r.event == "device.activate" and r.outcome != "ok"]
    assert [r.detail.get("failures") for r in refused[:LIMIT]] == list(range(1, LIMIT + 1))
    assert all(r.user == "alice" for r in refused)


def test_a_name_that_is_no_user_is_not_charged_and_not_logged(bridge: Bridge) -> None:
    typed = "my-Secret.Passw0rd"  # a password typed into the user name field
    for _ in range(LIMIT + 2):
        assert not bridge.check_password(typed, "correct horse")
    assert Policies(bridge).check_temporary_code(typed, "12345678") is None
    rows = [r for r in bridge.audit() if r.event in ("login.password", "temp.check")]
    assert len(rows) == LIMIT + 3
    assert {r.user for r in rows} == {UNKNOWN}
    tags = {r.detail["name_tag"] for r in rows}
    assert len(tags) == 1 and len(next(iter(tags))) == 16  # the same name, the same tag
    text = json.dumps([r.to_json() for r in bridge.audit()])
    assert typed not in text and typed.lower() not in text.lower()
    assert not bridge.check_password("alice", "wrong")  # a real user is named
    assert bridge.audit()[-1].user == "alice" and "name_tag" not in bridge.audit()[-1].detail


def test_an_unknown_challenge_id_or_serial_is_not_logged(bridge: Bridge, tmp_path: Path) -> None:
    made = bridge.provision("alice", "scc", image_path=tmp_path / "scc.img")
    typed = "hunter2-typed-as-an-id"
    assert bridge.verify(made.serial, typed, "ABCDEF").reason == "unknown challenge"
    assert bridge.audit()[-1].detail["challenge_id"] == UNKNOWN
    bridge.ctx.audit("withdraw", "denied", user="alice", serial="not-a-serial-hunter2")
    last = bridge.audit()[-1]
    assert last.serial == UNKNOWN and len(str(last.detail["serial_tag"])) == 16
    assert "hunter2" not in json.dumps([r.to_json() for r in bridge.audit()])


@given(st.lists(st.booleans(), max_size=40), st.integers(1, 8))
def test_the_budget_rule_counts_wrong_guesses_in_a_row(outcomes: list[bool], limit: int) -> None:
    """Sequentially, the count is the wrong guesses since the last right one, and no guess is
    compared once `limit` wrong ones came in a row."""
    budget, failures, in_a_row = Budget(limit), 0, 0
    for ok in outcomes:
        charged = budget.charge(failures)
        if charged is None:
            assert in_a_row >= limit
            continue
        failures = Budget.after_success(charged, charged) if ok else charged
        in_a_row = 0 if ok else in_a_row + 1
        assert failures == in_a_row


def test_a_success_keeps_the_wrong_guesses_charged_after_it() -> None:
    assert Budget.after_success(failures=4, charged=2) == 2
    assert Budget.after_success(failures=0, charged=3) == 0  # an admin unlock came between


WORKERS = 4
TRIES = 6
RACE_LIMIT = 7


def _guesser(home: str) -> list[str]:
    """Guess wrong passwords TRIES times; what each answer was."""
    seen: list[str] = []
    config = BridgeConfig(scrypt_n=1 << 8, lockout_after=RACE_LIMIT)
    with Bridge.open(Path(home), config=config) as bridge:
        for _ in range(TRIES):
            try:
                seen.append("ok" if bridge.check_password("alice", "wrong") else "refused")
            except Locked:
                seen.append("locked")
    return seen


def test_racing_processes_get_exactly_the_budget(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = BridgeConfig(scrypt_n=1 << 8, lockout_after=RACE_LIMIT)
    with open_bridge(home, FakeClock(time.time()), config) as bridge:
        bridge.add_user("alice", "correct horse")
    context = racing_context()
    with context.Pool(WORKERS) as pool:
        answers = [a for seen in pool.map(WithEnv(_guesser), [str(home)] * WORKERS) for a in seen]
    assert answers.count("refused") == RACE_LIMIT  # compared: exactly the budget
    assert answers.count("locked") == WORKERS * TRIES - RACE_LIMIT
    with Bridge.open(home, config=config) as after:
        assert after.guesses.failures("alice")[Guessed.PASSWORD] == RACE_LIMIT
        rows = [r for r in after.audit() if r.event == "login.password"]
        assert len(rows) == WORKERS * TRIES
        charged = sorted(int(r.detail["failures"]) for r in rows if "reason" not in r.detail)
        assert charged == list(range(1, RACE_LIMIT + 1))  # every count once: none lost
        assert [r.event for r in after.audit()].count("guess.lock") == 1
