"""CLI fuzz over every subcommand of `slsemu` and `slsbridge` (issue 9): whatever the arguments
and stdin, the answer is a documented exit code (0, 1, 2) with at most one line on stderr and
never a traceback — not the last resort's 70 either, which would mean a bug got that far.

The values are the ones that broke the edges before: bytes that are not UTF-8 (in an argument
they reach Python as lone surrogates), file names with a newline, FIFOs, 5,000-digit integers,
deeply nested JSON, and real files (an image, a script, a keymap) so that commands get past
argument parsing. Bounded: a fixed number of examples, each an in-process call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulator.commands
import host_bridge.commands
from emulator.cli import main as slsemu_main
from host_bridge.cli import main as slsbridge_main
from tests.fuzz_helpers import Main, Outcome, call, subcommands
from tests.secret_env import env_secret

KEY_HEX = "3132333435363738393031323334353637383930"
# Flags left out: they start something that runs until stopped (a TUI, a server already
# excluded below) or print a line per step by design.
NOT_FUZZED_FLAGS = frozenset({"--tui", "--trace", "--help"})
# `serve` and `tui` run until stopped once their input is good: they get hostile values only.
RUNS_UNTIL_STOPPED = frozenset({("serve",), ("tui",)})

HOSTILE = [
    "\udcff",  # the byte 0xff in an argument, as Python hands it over
    "a\udcc3(b",
    "two\nlines",
    "9" * 5000,
    "[" * 3000,
    '{"a":' * 2000,
    "-",
    "",
    "-1",
    "1e400",
    "nan",
    "0",
    "123456",
    "12345678",
    "99999999999999999999",  # past SQLite's 64-bit integers
    "alice",
    "x=1",
    "PIN=\udcff",
    "pin_retries=" + "9" * 5000,
    "pin_retries=" + "[" * 5000,
    "2026-13-45",
    "/dev/null",
]
STDIN = [b"", b"\xff\xfe\n", b"\xc3(\n", b"1234\n", b"secret-pw\n1234\n", b"a" * 20_000 + b"\n"]


class Files:
    """Real inputs in a folder, so that fuzzed commands get past argument parsing."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        self.image = folder / "card.img"
        code = call(slsemu_main, ["image", "new", "--model", "dscplus", "--pin-mode", "device",
                                  *env_secret("--pin", "1234"), *env_secret("--key", KEY_HEX),
                                  "--out", str(self.image)])
        assert code.code == 0, code
        self.script = folder / "login.sls"
        self.script.write_text('press POWER\nexpect "PIN>"\ntype ${PIN}\npress OK\n')
        self.fifo = folder / "pipe.img"
        os.mkfifo(self.fifo)
        self.newline = folder / "new\nline.img"
        self.newline.write_text("not an image\n")
        self.open_image = folder / "open.img"
        self.open_image.write_bytes(self.image.read_bytes())
        self.open_image.chmod(0o644)
        self.keymap = folder / "deep.toml"
        self.keymap.write_text("[keys]\nx = " + "[" * 3000 + "\n")
        self.values = [str(p) for p in (self.image, self.script, self.fifo, self.newline,
                                        self.open_image, self.keymap, folder / "missing.img")]


@pytest.fixture
def files(tmp_path: Path, slsemu_home: Path) -> Iterator[Files]:
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 256\n")  # cheap hashing
    assert call(slsbridge_main, ["init"]).code == 0
    assert call(slsbridge_main, ["user", "add", "alice", "--password-stdin"], b"pw\n").code == 0
    yield Files(tmp_path / "inputs")


def check(outcome: Outcome, argv: list[str]) -> None:
    shown = [a[:40] for a in argv]
    allowed = {0, 1, 2}
    assert outcome.code in allowed, (shown, outcome)
    assert "Traceback" not in outcome.err, (shown, outcome.err)
    assert outcome.err.count("\n") <= 1, (shown, outcome.err)


def argv_strategy(
    prog: str, commands: object, files_values: list[str]
) -> st.SearchStrategy[list[str]]:
    leaves = list(subcommands(prog, commands))  # type: ignore[arg-type]

    def one(leaf: tuple[tuple[str, ...], list[str]]) -> st.SearchStrategy[list[str]]:
        path, flags = leaf
        values = HOSTILE if path in RUNS_UNTIL_STOPPED else HOSTILE + files_values
        flags = [f for f in flags if f not in NOT_FUZZED_FLAGS]
        token = st.sampled_from(flags + values) if flags else st.sampled_from(values)
        return st.lists(token, max_size=8).map(lambda rest: [*path, *rest])

    return st.sampled_from(leaves).flatmap(one)


CLIS = [("slsemu", emulator.commands, slsemu_main), ("slsbridge", host_bridge.commands,
                                                       slsbridge_main)]


@pytest.mark.parametrize(("prog", "commands", "main"), CLIS, ids=["slsemu", "slsbridge"])
def test_every_subcommand_meets_hostile_values_with_a_documented_answer(
    files: Files, prog: str, commands: object, main: Main
) -> None:
    # Deterministic sweep: every subcommand gets two of the hostile values as its argument, and
    # each of its options that takes a value one of them in turn.
    for number, (path, flags) in enumerate(subcommands(prog, commands, with_value=True)):  # type: ignore[arg-type]
        values = ["\udcff", "two\nlines", "9" * 5000, "[" * 3000]
        if path not in RUNS_UNTIL_STOPPED:
            values += [str(files.fifo), str(files.newline), str(files.open_image)]
        usable = [f for f in flags if f not in NOT_FUZZED_FLAGS]
        def value(k: int, values: list[str] = values, number: int = number) -> str:
            return values[(number + k) % len(values)]

        argvs = [[*path, value(0)], [*path, value(3)]]
        argvs += [[*path, flag, value(i)] for i, flag in enumerate(usable)]
        for argv in argvs:
            check(call(main, argv, b"\xff\n"), argv)


@pytest.mark.parametrize(("prog", "commands", "main"), CLIS, ids=["slsemu", "slsbridge"])
def test_random_argument_lists_and_stdin_get_a_documented_answer(
    files: Files, prog: str, commands: object, main: Main
) -> None:
    @settings(max_examples=150, suppress_health_check=list(HealthCheck))
    @given(argv=argv_strategy(prog, commands, files.values), stdin=st.sampled_from(STDIN))
    def run(argv: list[str], stdin: bytes) -> None:
        check(call(main, argv, stdin), argv)

    run()
