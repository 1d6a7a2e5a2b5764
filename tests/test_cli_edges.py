"""The CLI edge both console scripts share (issue 9): bytes that are not UTF-8 in arguments and on
stdin, the last-resort exit 70, bounded config files, and the ways to give a secret without
putting it in the process list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import emulator.commands.demo
import host_bridge.commands.init
import slsio.cli
from emulator.cli import main as slsemu_main
from emulator.images import load_image
from firmware_model.ocra import ocra
from host_bridge.cli import main as slsbridge_main
from slsio.cli import EXIT_INTERNAL
from tests.fuzz_helpers import call
from tests.serial_helpers import REPO, child_env

KEY_HEX = "3132333435363738393031323334353637383930"
SUITE = "OCRA-1:HOTP-SHA1-8:QN06-PSHA1"


def process(prog: str, *argv: bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """A console script in a process of its own, under a strict UTF-8 locale."""
    env = {**child_env(), "LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}
    module = {"slsemu": "emulator.cli", "slsbridge": "host_bridge.cli"}[prog]
    return subprocess.run(
        [sys.executable, "-m", module, *argv], input=stdin, capture_output=True, cwd=REPO,
        env=env, timeout=60, check=False,
    )


@pytest.fixture
def home(slsemu_home: Path) -> Path:
    slsemu_home.mkdir(parents=True, exist_ok=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 256\n")
    assert call(slsbridge_main, ["init"]).code == 0
    return slsemu_home


def test_bytes_that_are_not_utf8_in_an_argument_are_refused_in_one_line(home: Path) -> None:
    for prog, argv in (
        ("slsbridge", [b"user", b"show", b"\xff"]),
        ("slsbridge", [b"devices", b"--user", b"al\xc3ce"]),
        ("slsemu", [b"image", b"show", b"\xff.img"]),
        ("slsemu", [b"ocra", b"--suite", SUITE.encode(), b"--key", KEY_HEX.encode(),
                    b"--question", b"\xfe"]),
    ):
        done = process(prog, *argv)
        assert done.returncode == 2, done
        assert done.stderr.count(b"\n") == 1 and b"is not UTF-8 text" in done.stderr
        assert b"Traceback" not in done.stderr


def test_a_data_folder_name_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/home\xff"
    env = {**child_env(), "LC_ALL": "C.UTF-8"}
    env_bytes = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    env_bytes[b"SLSEMU_HOME"] = folder
    for module in ("emulator.cli", "host_bridge.cli"):
        done = subprocess.run([sys.executable, "-m", module, "demo" if "emulator" in module
                               else "init"], capture_output=True, cwd=REPO, env=env_bytes,
                              timeout=60, check=False)
        assert done.returncode == 2 and b"SLSEMU_HOME is not UTF-8" in done.stderr, done
        assert not os.path.exists(folder)


def test_stdin_that_is_not_utf8_is_refused_in_one_line(home: Path) -> None:
    for prog, argv, stdin in (
        ("slsbridge", [b"user", b"add", b"bob", b"--password-stdin"], b"\xff\xfe\n"),
        ("slsbridge", [b"temp", b"check", b"--user", b"bob"], b"\xc3(\n"),
        ("slsbridge", [b"verify", b"--serial", b"X", b"--challenge-id", b"1", b"--response",
                       b"-"], b"\xff\n"),
        ("slsemu", [b"ocra", b"--suite", SUITE.encode(), b"--key-stdin", b"--question",
                    b"123456"], b"\xff\n"),
    ):
        done = process(prog, *argv, stdin=stdin)
        assert done.returncode == 2, done
        assert done.stderr == f"{prog}: error: stdin is not UTF-8 text\n".encode(), done
    assert b"bob" not in process("slsbridge", b"user", b"show", b"bob").stdout  # nothing made


@pytest.mark.parametrize("prog", ["slsemu", "slsbridge"])
def test_a_bug_exits_70_in_one_line_without_its_message(
    prog: str, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    def broken(*args: object) -> int:
        raise KeyError("secret-1234\nsecond line")

    # A parser built afresh (not the process's cached one), so the handler is looked up now.
    monkeypatch.setattr(slsio.cli, "cached_parser", slsio.cli.build_parser)
    if prog == "slsemu":
        monkeypatch.setattr(emulator.commands.demo, "demo_command", broken)
        outcome = call(slsemu_main, ["demo"])
    else:
        monkeypatch.setattr(host_bridge.commands.init, "_init", broken)
        outcome = call(slsbridge_main, ["init"])
    assert outcome.code == EXIT_INTERNAL == 70
    assert outcome.err.count("\n") == 1 and "internal error: KeyError at " in outcome.err
    assert "secret-1234" not in outcome.err and "Traceback" not in outcome.err


# --- bounded config files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bridge.toml", "lockout_after = 2.5\n", "whole number"),
        ("bridge.toml", "lockout_after = " + "9" * 5000 + "\n", "too many digits"),
        ("bridge.toml", "x = " + "[" * 5000 + "\n", "nested"),
        ("policies.toml", "x = " + "[" * 5000 + "\n", "nested"),
        ("policies.toml", "[" + ".".join(["a"] * 200) + "]\n", "nested"),
    ],
)
def test_bad_bridge_config_files_are_one_line(
    home: Path, name: str, text: str, message: str
) -> None:
    (home / name).write_text(text)
    command = ["withdraw", "--user", "nobody", "--device", "X", "--amount", "1"]
    outcome = call(slsbridge_main, command if name == "policies.toml" else ["user", "show", "a"])
    assert outcome.code == 2 and message in outcome.err and name in outcome.err, outcome
    assert outcome.err.count("\n") == 1


def test_a_fifo_as_bridge_toml_or_pskc_file_is_refused_without_waiting(home: Path) -> None:
    fifo = home / "pipe.xml"
    os.mkfifo(fifo)
    outcome = call(slsbridge_main, ["pskc", "import", str(fifo), "--user", "alice"])
    assert outcome.code == 2 and outcome.err.count("\n") == 1, outcome
    (home / "bridge.toml").unlink()
    os.mkfifo(home / "bridge.toml")
    outcome = call(slsbridge_main, ["user", "show", "alice"])
    assert outcome.code == 2 and "not a regular file" in outcome.err, outcome


@pytest.mark.parametrize("text", ["[keys]\nx = " + "[" * 5000, "[" + ".".join("k" * 100) + "]"])
def test_a_deeply_nested_keymap_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(text)
    outcome = call(slsemu_main, ["tui", "--keymap", str(path)])
    assert outcome.code == 2 and outcome.err.count("\n") == 1 and "keymap" in outcome.err


# --- secrets off the command line -------------------------------------------------------------


def test_a_key_and_pin_from_stdin_file_or_environment_make_the_same_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY_HEX + "\n")
    key_file.chmod(0o600)
    monkeypatch.setenv("CARD_PIN", "2468")
    forms = {
        "argv": (["--key", KEY_HEX, "--pin", "2468"], b""),
        "stdin": (["--key-stdin", "--pin-stdin"], f"{KEY_HEX}\n2468\n".encode()),
        "file+env": (["--key-file", str(key_file), "--pin-env", "CARD_PIN"], b""),
    }
    for name, (secret_args, stdin) in forms.items():
        out = tmp_path / f"{name}.img"
        outcome = call(slsemu_main, ["image", "new", "--model", "dscplus", "--pin-mode", "device",
                                     "--serial", "DP1", "--out", str(out), *secret_args], stdin)
        assert outcome.code == 0, outcome
        assert load_image(out).key == bytes.fromhex(KEY_HEX)
        script = tmp_path / "pin.sls"
        script.write_text('press POWER\ntype 2468\npress OK\nexpect "CHALLNG>"\n')
        assert call(slsemu_main, ["script", str(script), "--image", str(out)]).code == 0


def test_ocra_and_script_variables_take_secrets_from_stdin_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = ocra(SUITE, bytes.fromhex(KEY_HEX), question="123456", pin="1234")
    monkeypatch.setenv("THE_PIN", "1234")
    base = ["ocra", "--suite", SUITE, "--question", "123456"]
    assert call(slsemu_main, [*base, "--key-stdin", "--pin-env", "THE_PIN"],
                f"{KEY_HEX}\n".encode()).out == expected + "\n"
    outcome = call(slsemu_main, [*base, "--key", KEY_HEX, "--pin", "1", "--pin-hash-env", "X"])
    assert outcome.code == 2 and "not allowed with" in outcome.err

    card = tmp_path / "card.img"
    assert call(slsemu_main, ["image", "new", "--model", "dscplus", "--key", KEY_HEX,
                              "--out", str(card)]).code == 0
    script = tmp_path / "login.sls"
    script.write_text("press POWER\ntype ${PIN}\npress OK\ntype ${CHALLENGE}\npress OK\n"
                      "capture R\n")
    challenge_file = tmp_path / "challenge"
    challenge_file.write_text("123456\n")
    outcome = call(slsemu_main, ["script", str(script), "--image", str(card), "--clock",
                                 "1700000000", "--set-stdin", "PIN", "--set-file",
                                 f"CHALLENGE={challenge_file}"], b"1234\n")
    assert outcome.code == 0 and outcome.out == f"R={expected}\n", outcome
    outcome = call(slsemu_main, ["script", str(script), "--image", str(card), "--set-env",
                                 "PIN=THE_PIN", "--set", "PIN=1"])
    assert outcome.code == 2 and "PIN given twice" in outcome.err


def test_a_missing_secret_source_is_one_line_that_never_shows_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.delenv("NOT_SET", raising=False)
    outcome = call(slsemu_main, ["ocra", "--suite", SUITE, "--key-env", "NOT_SET"])
    assert outcome.code == 2 and "NOT_SET is not set" in outcome.err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome = call(slsbridge_main, ["provision", "--user", "alice", "--model", "dscplus",
                                    "--pin-file", str(fifo), "--image", str(tmp_path / "x")])
    assert outcome.code == 2 and "not a regular file" in outcome.err, outcome
    outcome = call(slsemu_main, ["script", str(fifo), "--image", "x", "--set", "2468"])
    assert outcome.code == 2 and "2468" not in outcome.err


def test_bridge_secret_options_read_a_file(tmp_path: Path, home: Path) -> None:
    assert call(slsbridge_main, ["user", "add", "alice", "--password-stdin"], b"pw\n").code == 0
    pin_file = tmp_path / "pin"
    pin_file.write_text("2468\n")
    image = tmp_path / "dsc.img"
    outcome = call(slsbridge_main, ["provision", "--user", "alice", "--model", "dscplus",
                                    "--pin-file", str(pin_file), "--image", str(image)])
    assert outcome.code == 0, outcome
    outcome = call(slsbridge_main, ["activate", "--serial", "X", "--token-env",
                                    "NO_SUCH_VARIABLE"])
    assert outcome.code == 2 and "NO_SUCH_VARIABLE is not set" in outcome.err


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
