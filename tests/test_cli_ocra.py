"""`slsemu ocra`, `slsemu hotp`, `slsemu totp`: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main
from tests.secret_env import env_secret
from tests.vector_file import load_vectors

KEY20 = "3132333435363738393031323334353637383930"
KEY32 = KEY20 + "313233343536373839303132"
ROOT = Path(__file__).resolve().parent.parent


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors exit from inside parse_args
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _vector_argv(vector: dict[str, str]) -> list[str]:
    argv = ["ocra", "--suite", vector["SUITE"], *env_secret("--key", vector["KEY"])]
    argv += ["--question", vector["QUESTION"]]
    if "COUNTER" in vector:
        argv += ["--counter", vector["COUNTER"]]
    if "PIN" in vector:
        argv += [*env_secret("--pin", vector["PIN"])]
    if "T" in vector:
        argv += ["--time", str(int(vector["T"], 16) * 60)]  # the RFC's T suites step by 1 min
    return argv


@pytest.mark.parametrize("vector", load_vectors("ocra/rfc6287.txt")[::7])
def test_ocra_prints_exactly_the_response(
    capsys: pytest.CaptureFixture[str], vector: dict[str, str]
) -> None:
    assert _run(capsys, _vector_argv(vector)) == (0, vector["OCRA"] + "\n", "")


def test_ocra_with_pin_hash_session_and_decimal_time(capsys: pytest.CaptureFixture[str]) -> None:
    suite = "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1"
    pin_hash = "7110eda4d09e062aa5e4a390b0a572ac0d2c0220"
    argv = ["ocra", "--suite", suite, *env_secret("--key", KEY32), "--counter", "0", "--question",
            "12345678"]
    assert _run(capsys, [*argv, *env_secret("--pin-hash", pin_hash)]) == (0, "65347737\n", "")
    timed = ["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08-S008-T30S", *env_secret("--key", KEY20)]
    timed += ["--question", "1", "--session", "ab"]
    code, first, _ = _run(capsys, [*timed, "--time", "60"])
    assert code == 0 and len(first) == 7
    assert _run(capsys, [*timed, "--time", "89.9"]) == (0, first, "")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["ocra", "--suite", "OCRA-1:HOTP-MD5-6:QN08", "--question", "1"], "hash 'MD5'"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08"], "give the question"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", "--question", "12x"], "decimal digits"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:C-QN08", "--question", "1"], "give counter"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08-PSHA1", "--question", "1"], "give pin"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08-T1M", "--question", "1"], "give time"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", "--question", "1", "--time", "5"], "time"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", "--counter", "-1"], "whole number"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", "--counter", "\u0661"], "whole number"),
        (["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", "--time", "soon"], "Unix seconds"),
        (["ocra", "--suite", "S", *env_secret("--pin", "1234"), *env_secret("--pin-hash", "00")],
         "not allowed with"),
        (["ocra", *env_secret("--key", KEY20)], "required"),
    ],
)
def test_ocra_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    if "--key-env" not in argv:
        argv = [*argv, *env_secret("--key", KEY20)]
    code, out, err = _run(capsys, argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("slsemu")
    assert words in err


@pytest.mark.parametrize("key", ["xyz", "", "  ", "123"])
def test_ocra_bad_key_never_echoes_it(capsys: pytest.CaptureFixture[str], key: str) -> None:
    argv = ["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", "--question", "1",
            *env_secret("--key", key)]
    code, out, err = _run(capsys, argv)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert "--key" in err
    if key.strip():
        assert key not in err


def test_pin_never_appears_in_errors(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", "--question", "1"]
    code, _, err = _run(capsys, [*argv, *env_secret("--key", KEY20), *env_secret("--pin", "98765")])
    assert code == 2 and "no PIN" in err and "98765" not in err


def test_hotp_and_totp_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, ["hotp", *env_secret("--key", KEY20), "--counter", "1"]) == (0, "287082\n",
                                                                                     "")
    assert _run(capsys, ["hotp", *env_secret("--key", KEY20), "--counter", "0", "--digits",
                         "8"]) == (
        0,
        "84755224\n",
        "",
    )
    assert _run(capsys, ["totp", *env_secret("--key", KEY20), "--time", "59"]) == (0, "287082\n",
                                                                                   "")
    assert _run(capsys, ["totp", *env_secret("--key", KEY20), "--time", "59", "--digits", "8"]) == (
        0, "94287082\n", "")
    sha512 = (KEY20 * 4)[:128]
    sha512_args = ["--time", "59", "--algorithm", "SHA512", "--digits", "8"]
    assert _run(capsys, ["totp", *env_secret("--key", sha512), *sha512_args]) == (
        0,
        "90693936\n",
        "",
    )
    assert _run(capsys, ["totp", *env_secret("--key", KEY20), "--time", "100", "--t0", "41"]) == (
        0,
        "287082\n",  # (100 - 41) // 30 == 1, the same step as time 59
        "",
    )
    code, out, err = _run(capsys, ["totp", *env_secret("--key", KEY20), "--digits",
                                   "6"])  # wall clock
    assert code == 0 and len(out) == 7 and out[:6].isdigit() and err == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["hotp", *env_secret("--key", KEY20)],
        ["hotp", *env_secret("--key", KEY20), "--counter", "18446744073709551616"],
        ["hotp", *env_secret("--key", KEY20), "--counter", "1", "--digits", "5"],
        ["hotp", *env_secret("--key", KEY20), "--counter", "1", "--algorithm", "md5"],
        ["hotp", *env_secret("--key", "zz"), "--counter", "1"],
        ["totp", *env_secret("--key", KEY20), "--time", "10", "--t0", "20"],
        ["totp", *env_secret("--key", KEY20), "--time", "10", "--step", "0"],
        ["totp", *env_secret("--key", KEY20), "--time", "-5"],
    ],
)
def test_otp_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = _run(capsys, argv)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert "Traceback" not in err


_BAD_ARGVS = [
    ["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QN08", *env_secret("--key", KEY20)],
    ["ocra", "--suite", "x" * 5000, *env_secret("--key", KEY20), "--question", "1"],
    ["ocra", "--suite", "OCRA-1:HOTP-SHA1-6:QH08", *env_secret("--key", KEY20), "--question",
     "\udcff"],
    [
        "ocra",
        "--suite",
        "OCRA-1:HOTP-SHA1-6:QN08-S064",
        *env_secret("--key", KEY20),
        "--question",
        "1",
        "--session",
        "0" * 200,
    ],
    [
        "ocra",
        "--suite",
        "OCRA-1:HOTP-SHA1-6:QN08-PSHA1",
        *env_secret("--key", KEY20),
        "--question",
        "1",
        *env_secret("--pin-hash", "abc"),
    ],
    [
        "ocra",
        "--suite",
        "OCRA-1:HOTP-SHA1-6:QN08-T1M",
        *env_secret("--key", KEY20),
        "--question",
        "1",
        "--time",
        "1" * 400,
    ],
    ["hotp", *env_secret("--key", KEY20), "--counter", "9" * 30],
    ["totp", *env_secret("--key", KEY20), "--time", "1e9"],
    ["totp", *env_secret("--key", KEY20), "--time", "9" * 400 + ".5"],
]


def test_no_traceback_ever_in_a_real_process() -> None:
    # One child process runs every bad command line through the real entry point; an
    # exception escaping main() would print a traceback and stop the child early.
    script = (
        "import json, sys\n"
        "from emulator.cli import main\n"
        "codes = []\n"
        "for argv in json.loads(sys.stdin.read()):\n"
        "    try:\n"
        "        codes.append(main(argv))\n"
        "    except SystemExit as exc:\n"
        "        codes.append(exc.code)\n"
        "print(json.dumps(codes))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(_BAD_ARGVS),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 0
    assert json.loads(done.stdout) == [2] * len(_BAD_ARGVS)
    assert done.stderr.count("\n") == len(_BAD_ARGVS)


def test_console_entry_point_exit_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "emulator.cli", "ocra", "--suite", "OCRA-9",
         *env_secret("--key", KEY20)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
