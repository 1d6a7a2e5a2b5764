"""The plain secret forms DESIGN.md's "Contracts other tools rely on" promises, run as an
external tool runs them: the real console scripts in a subprocess, the value on argv.

These seven options are the only plain secret options (`tests/test_secret_argv.py`: `CONTRACT`);
every other test gives secrets through `--X-env` (`tests/secret_env.py`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_model.ocra import ocra
from tests.bridge_helpers import dscplus_response, read_image
from tests.vector_file import load_vectors

REPO = Path(__file__).resolve().parent.parent
KEY_HEX = "3132333435363738393031323334353637383930"
DSCPLUS_SUITE = "OCRA-1:HOTP-SHA1-8:QN06-PSHA1"


def run(tool: str, home: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """`tool argv` in a fresh process with SLSEMU_HOME=`home`."""
    done = subprocess.run(
        [sys.executable, "-m", f"{tool}.cli", *argv], cwd=REPO, input=stdin,
        capture_output=True, text=True, check=False,
        env={**os.environ, "SLSEMU_HOME": str(home)},
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, done.stderr


def pin_vectors() -> list[dict[str, str]]:
    return [vector for vector in load_vectors("ocra/rfc6287.txt") if "PIN" in vector][:2]


@pytest.mark.parametrize("vector", pin_vectors(), ids=lambda vector: vector["SUITE"])
def test_ocra_takes_key_pin_and_pin_hash_plain(tmp_path: Path, vector: dict[str, str]) -> None:
    argv = ["ocra", "--suite", vector["SUITE"], "--key", vector["KEY"],
            "--question", vector["QUESTION"]]
    if "COUNTER" in vector:
        argv += ["--counter", vector["COUNTER"]]
    assert run("emulator", tmp_path, *argv, "--pin", vector["PIN"]) == (
        0, vector["OCRA"] + "\n", "")
    assert run("emulator", tmp_path, *argv, "--pin-hash", vector["PIN_HASH"]) == (
        0, vector["OCRA"] + "\n", "")


def test_ocra_plain_and_another_form_of_the_same_secret_is_one_line_exit_2(
    tmp_path: Path,
) -> None:
    code, out, err = run("emulator", tmp_path, "ocra", "--suite", DSCPLUS_SUITE, "--key", KEY_HEX,
                         "--key-stdin", "--question", "123456", stdin=KEY_HEX + "\n")
    assert (code, out) == (2, "") and err.count("\n") == 1 and KEY_HEX not in err


def test_image_new_takes_key_and_pin_plain(tmp_path: Path) -> None:
    image = tmp_path / "dp.img"
    code, out, err = run("emulator", tmp_path, "image", "new", "--model", "dscplus",
                         "--key", KEY_HEX, "--pin", "2468", "--pin-mode", "device",
                         "--out", str(image))
    assert (code, err) == (0, "") and out.strip()
    device = read_image(image)  # device mode: the card checks the PIN, the suite has no P
    expected = ocra("OCRA-1:HOTP-SHA1-8:QN06", bytes.fromhex(KEY_HEX), question="654321")
    assert dscplus_response(device, "2468", "654321", 1_700_000_000.0) == expected
    assert dscplus_response(device, "1357", "654321", 1_700_000_000.0) != expected


def test_provision_pin_then_verify_response_plain_accepts_then_refuses_the_replay(
    tmp_path: Path,
) -> None:
    (tmp_path / "bridge.toml").write_text("scrypt_n = 256\n")  # cheap hashing for tests
    assert run("host_bridge", tmp_path, "init")[0] == 0
    assert run("host_bridge", tmp_path, "user", "add", "alice", "--password-stdin",
               stdin="hunter2\n")[0] == 0
    image = tmp_path / "card.img"
    code, out, err = run("host_bridge", tmp_path, "provision", "--user", "alice",
                         "--model", "dscplus", "--pin", "2468", "--image", str(image))
    assert (code, err) == (0, "")
    serial = out.strip()

    def challenge() -> tuple[tuple[str, ...], str]:
        code, out, _ = run("host_bridge", tmp_path, "challenge", "--serial", serial, "--json")
        assert code == 0
        issued = json.loads(out)
        response = dscplus_response(read_image(image), "2468", issued["challenge"],
                                    issued["expires_at"] - 60)
        return ("verify", "--serial", serial, "--challenge-id", issued["id"]), response

    verify, response = challenge()
    assert run("host_bridge", tmp_path, *verify, "--response", response)[0] == 0
    assert run("host_bridge", tmp_path, *verify, "--response", response)[0] == 1
    verify, response = challenge()  # `--response -`: the documented stdin spelling
    assert run("host_bridge", tmp_path, *verify, "--response", "-", stdin=response + "\n")[0] == 0
