"""What a newcomer types first: `--version`, and a bare command (usage and the commands)."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from emulator.cli import main as slsemu
from emulator.commands.tui import open_tui
from emulator.tui.keymap import load_keymap
from host_bridge import commands as bridge_commands
from host_bridge.cli import main as slsbridge
from host_bridge.db.engine import ENV_STORE, STORE_FILE_NAME, Database, parse_url, shown
from slsio.cli import build_parser, package_version
from tests.serial_helpers import make_image
from tests.test_tui_app import log_in_with_password, result_text, running

Main = Callable[[Sequence[str] | None], int]
TOOLS: dict[str, Main] = {"slsemu": slsemu, "slsbridge": slsbridge}


@pytest.mark.parametrize("name", TOOLS)
def test_version(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        TOOLS[name](["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"{name} {package_version()}\n"
    assert package_version()[0].isdigit()  # the installed distribution's, e.g. 0.1.0


@pytest.mark.parametrize("name", TOOLS)
def test_bare_command_prints_the_usage_and_the_commands(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert TOOLS[name]([]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"usage: {name}")
    assert "commands:" in out and ("tui" in out if name == "slsemu" else "init" in out)
    assert err.count("\n") == 1 and "choose a command" in err  # the one line of exit 2


# --- a store used before `slsbridge init` (or under another SLSEMU_HOME) ------------------------

# Every `slsbridge` command but `init`, with arguments it accepts. Each must stop at the store: one
# line naming it and saying it is empty, exit 2, and nothing created (not even the data folder).
NEEDS_A_STORE: dict[tuple[str, ...], tuple[str, ...]] = {
    ("activate",): ("--serial", "DP0000000001"),
    ("api-key", "create"): ("--name", "ops", "--scope", "verify"),
    ("api-key", "list"): (),
    ("api-key", "revoke"): ("--name", "ops"),
    ("audit",): (),
    ("challenge",): ("--serial", "DP0000000001"),
    ("devices",): ("--user", "alice"),
    ("holidays", "add"): ("2026-12-24",),
    ("holidays", "list"): (),
    ("holidays", "remove"): ("2026-12-24",),
    ("ibkey", "activate"): ("--user", "alice", "--password-stdin", "--serial", "IK0000000001",
                            "--token-env", "SLSEMU_NO_SUCH_TOKEN", "--pin-stdin"),
    ("ibkey", "recover"): ("--platform", "android", "--serial", "IK0000000001", "--user",
                           "alice", "--password-stdin"),
    ("ibkey", "submit"): ("--serial", "IK0000000001", "--token-stdin"),
    ("login",): ("--user", "alice", "--password-stdin"),
    ("optout", "set"): ("--user", "alice", "--mode", "none"),
    ("optout", "show"): ("--user", "alice"),
    ("optout", "trade"): ("--user", "alice", "--venue", "nyse"),
    ("order", "activate"): ("1",),
    ("order", "dscplus"): ("--user", "alice", "--image", "{tmp}/new.img"),
    ("order", "list"): (),
    ("order", "return"): ("1",),
    ("order", "lost"): ("--serial", "DP0000000001"),
    ("order", "notices"): ("--user", "alice"),
    ("order", "ship"): ("1",),
    ("order", "sweep"): (),
    ("pin", "challenge"): ("--serial", "DP0000000001"),
    ("pin", "change"): ("--serial", "DP0000000001", "--challenge-id", "1"),
    ("provision",): ("--user", "alice", "--model", "scc", "--image", "{tmp}/new.img"),
    ("pskc", "export"): ("--serial", "DP0000000001", "--out", "{tmp}/keys.xml"),
    ("pskc", "import"): ("{tmp}/keys.xml", "--user", "alice", "--password-stdin"),
    ("revoke",): ("--serial", "DP0000000001"),
    ("serve",): ("--http", "127.0.0.1:0"),
    ("push", "approve"): ("--push-id", "1", "--response-stdin"),
    ("push", "deliver"): ("--serial", "IK0000000001", "--via", "{tmp}/no-such-port"),
    ("push", "deny"): ("--push-id", "1"),
    ("push", "outbox"): ("--serial", "IK0000000001"),
    ("push", "send"): ("--serial", "IK0000000001"),
    ("push", "status"): ("--push-id", "1"),
    ("share", "add-user"): ("--device", "IK0000000001", "--user", "bob"),
    ("share", "approve"): ("1",),
    ("share", "challenge"): ("--user", "bob", "--device", "DP0000000001"),
    ("share", "cancel"): ("1",),
    ("share", "list"): (),
    ("share", "refuse"): ("1",),
    ("share", "remove-user"): ("--device", "IK0000000001", "--user", "bob"),
    ("share", "request"): ("--user", "bob", "--device", "DP0000000001"),
    ("sms", "outbox"): ("--serial", "SM0000000001"),
    ("store", "check"): (),
    ("store", "migrate"): ("--to", "sqlite:///{tmp}/copy.sqlite3"),
    ("temp", "check"): ("--user", "alice"),
    ("temp", "issue"): ("--user", "alice"),
    ("temp", "online-scc"): ("--user", "alice", "--image", "{tmp}/new.img"),
    ("temp", "reactivate"): ("--user", "alice", "--device", "DP0000000001"),
    ("temp", "status"): ("--user", "alice"),
    ("unlock",): ("--user", "alice"),
    ("unlock-code",): ("--serial", "DP0000000001", "--lock-number", "1234"),
    ("user", "add"): ("alice", "--password-stdin"),
    ("user", "show"): ("alice",),
    ("verify",): ("--serial", "DP0000000001", "--challenge-id", "1", "--response", "123456"),
    ("withdraw",): ("--user", "alice", "--device", "DP0000000001", "--amount", "100"),
}


Path_ = tuple[str, ...]


def _command_paths(parser: argparse.ArgumentParser, prefix: Path_ = ()) -> set[Path_]:
    """Every runnable (sub)command of `parser`, as the words that name it."""
    paths: set[Path_] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths |= _command_paths(sub, (*prefix, name))
    return paths or {prefix}


def test_the_table_names_every_command_but_init() -> None:
    parser = build_parser("slsbridge", "", bridge_commands)
    assert _command_paths(parser) - set(NEEDS_A_STORE) == {("init",)}
    assert set(NEEDS_A_STORE) <= _command_paths(parser)


def _fresh_home_call(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\nmore\n"))
    code = slsbridge(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("folder", ["missing", "empty"])
@pytest.mark.parametrize("command", sorted(NEEDS_A_STORE), ids=" ".join)
def test_a_command_before_init_names_the_empty_store_and_creates_nothing(
    command: tuple[str, ...],
    folder: str,
    tmp_path: Path,
    slsemu_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(ENV_STORE, raising=False)
    if folder == "empty":
        slsemu_home.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    extra = [arg.replace("{tmp}", str(outside)) for arg in NEEDS_A_STORE[command]]
    code, out, err = _fresh_home_call([*command, *extra], monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert f"the store {slsemu_home / STORE_FILE_NAME} is empty" in err
    assert "run `slsbridge init` first" in err and "SLSEMU_HOME" in err
    # Nothing appeared: no folder (or an empty one stays empty), no file the command names.
    assert (sorted(slsemu_home.iterdir()) == []) if folder == "empty" else not slsemu_home.exists()
    assert list(outside.iterdir()) == []


def test_init_then_the_same_command_works(
    slsemu_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _fresh_home_call(["init"], monkeypatch, capsys)[0] == 0
    assert (slsemu_home / STORE_FILE_NAME).is_file()
    code, out, _ = _fresh_home_call(["audit", "--json"], monkeypatch, capsys)
    assert code == 0 and '"init"' in out


def test_an_empty_postgresql_database_is_named_without_its_password_and_left_empty(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The throwaway cluster trusts its socket, so a password in the URL is not needed to connect;
    # it is there to show that the message hides it.
    with_password = make_url(pg_url).set(password="s3cret-pw").render_as_string(False)
    monkeypatch.setenv(ENV_STORE, with_password)
    for argv in (["user", "show", "alice"], ["store", "check"], ["audit"]):
        code, out, err = _fresh_home_call(argv, monkeypatch, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1
        assert f"the store {shown(parse_url(with_password))} is empty" in err
        assert "s3cret-pw" not in err and ":***@" in err
    db = Database.connect(pg_url)
    try:
        with db.read() as tx:
            assert inspect(tx.conn).get_table_names() == []
    finally:
        db.close()


async def test_the_tui_on_a_fresh_home_says_the_store_is_empty(
    tmp_path: Path, slsemu_home: Path
) -> None:
    image = tmp_path / "card.img"
    make_image(image, lambda n: bytes(n))
    with contextlib.ExitStack() as stack:
        app = open_tui(
            stack, images=[image], user="alice", keymap=load_keymap(None), home=slsemu_home
        )
        async with running(app) as pilot:
            await log_in_with_password(pilot, "pw")
            text = result_text(app)
    assert text.startswith("Login failed: the store ") and "is empty" in text
    assert str(slsemu_home / STORE_FILE_NAME) in text
    assert not slsemu_home.exists()
