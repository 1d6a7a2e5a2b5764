"""`slsemu image new/show`, `scc show`, `script` and `demo`, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.images import ImageLock, load_image, save_image
from firmware_model.device import Entropy, ImageSpec
from firmware_model.models import new_image
from firmware_model.ocra import ocra
from firmware_model.scc import scc_code
from tests.secret_env import env_secret

REPO = Path(__file__).resolve().parent.parent
KEY_HEX = "3132333435363738393031323334353637383930"
KEY = bytes.fromhex(KEY_HEX)
LOGIN = REPO / "examples" / "dscplus-login.sls"
T0 = "1700000000"
Capture = pytest.CaptureFixture[str]


def slsemu(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def make(capsys: Capture, path: Path, *extra: str) -> str:
    code, out, err = slsemu(capsys, "image", "new", *env_secret("--key", KEY_HEX), "--out",
                            str(path), *extra)
    assert (code, err) == (0, ""), err
    return out.strip()


@pytest.fixture
def dscplus(tmp_path: Path, capsys: Capture) -> Path:
    path = tmp_path / "dp.img"
    make(capsys, path, "--model", "dscplus")
    return path


# --- image new ------------------------------------------------------------------------------------


def test_image_new_prints_a_fresh_serial_and_writes_a_0600_file(
    tmp_path: Path, capsys: Capture
) -> None:
    path = tmp_path / "dp.img"
    serial = make(capsys, path, "--model", "dscplus")
    assert re.fullmatch(r"DP\d{10}", serial)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    image = load_image(path)
    assert (image.model, image.serial, image.key) == ("dscplus", serial, KEY)
    assert image.suite == "OCRA-1:HOTP-SHA1-8:QN06-PSHA1"


def test_image_new_with_serial_pin_mode_and_options(
    tmp_path: Path, capsys: Capture
) -> None:
    path = tmp_path / "dp.img"
    serial = make(
        capsys, path, "--model", "dscplus", "--serial", "DP42", *env_secret("--pin", "2468"),
        "--pin-mode", "device", "--option", "pin_retries=5", "--option", "auto_off_seconds=40.5",
    )
    assert serial == "DP42"
    config = load_image(path).config
    assert (config["pin_mode"], config["pin_retries"], config["auto_off_seconds"]) == (
        "device", 5, 40.5,
    )


def test_image_new_refuses_to_overwrite_unless_forced(
    dscplus: Path, capsys: Capture
) -> None:
    before = dscplus.read_bytes()
    code, out, err = slsemu(
        capsys, "image", "new", "--model", "scc", *env_secret("--key", "aa"), "--out", str(dscplus)
    )
    assert (code, out) == (2, "")
    assert "exists" in err and "--force" in err and err.count("\n") == 1
    assert dscplus.read_bytes() == before
    make(capsys, dscplus, "--model", "scc", "--force")
    assert load_image(dscplus).model == "scc"


def test_image_new_refuses_an_image_in_use(dscplus: Path, capsys: Capture) -> None:
    with ImageLock(dscplus):
        code, _, err = slsemu(
            capsys, "image", "new", "--model", "scc", *env_secret("--key", "aa"), "--out",
            str(dscplus), "--force",
        )
    assert code == 2 and "in use" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--model", "dscplus", *env_secret("--key", "not-hex-secret")], "hexadecimal"),
        (["--model", "dscplus", *env_secret("--key", "")], "empty"),
        (["--model", "dscplus", *env_secret("--key", KEY_HEX), *env_secret("--pin", "1234")],
         "soft-PIN"),
        (["--model", "dscplus", *env_secret("--key", KEY_HEX), "--option", "nonsense"],
         "NAME=VALUE"),
        (["--model", "dscplus", *env_secret("--key", KEY_HEX), "--option", "zap=1"], "unknown"),
        (["--model", "dscplus", *env_secret("--key", KEY_HEX), "--serial", "bad serial!"],
         "serial"),
        (["--model", "dscplus", *env_secret("--key", KEY_HEX), "--suite", "OCRA-9:nope"], "suite"),
        (["--model", "toaster", *env_secret("--key", KEY_HEX)], "invalid choice"),
        (["--model", "scc", *env_secret("--key", KEY_HEX), *env_secret("--pin", "1234")], "PIN"),
    ],
)
def test_image_new_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: Capture, argv: list[str], fragment: str
) -> None:
    out_path = tmp_path / "x.img"
    code, out, err = slsemu(capsys, "image", "new", *argv, "--out", str(out_path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and fragment.lower() in err.lower(), err
    assert "not-hex-secret" not in err and "1234" not in err
    assert not out_path.exists()


def test_image_new_into_a_missing_folder(tmp_path: Path, capsys: Capture) -> None:
    code, _, err = slsemu(
        capsys, "image", "new", "--model", "scc", *env_secret("--key", "aa"),
        "--out", str(tmp_path / "nope" / "x.img"),
    )
    assert code == 2 and "no such folder" in err


@pytest.mark.parametrize("out", [".", "/", "folder"])
def test_image_new_onto_a_folder_is_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    code, _, err = slsemu(
        capsys, "image", "new", "--model", "scc", *env_secret("--key", "aa"), "--out", out,
        "--force",
    )
    assert code == 2 and "folder" in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


@pytest.mark.parametrize("command", [["script", str(LOGIN), "--set", "PIN=1", "--set",
                                      "CHALLENGE=123456"], ["serve", "--pty"]])
def test_a_folder_as_the_image_is_one_line(capsys: Capture, command: list[str]) -> None:
    code, _, err = slsemu(capsys, *command, "--image", ".")
    assert code == 2 and "not an image file" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("clock", ["-5", "nan", "inf", "1e400", "9" * 400])
@pytest.mark.parametrize(
    "command",
    [
        ["script", str(LOGIN), "--set", "PIN=1", "--set", "CHALLENGE=123456", "--image", "x.img"],
        ["demo"],
        ["serve", "--pty", "--virtual-clock", "--image", "x.img"],
    ],
)
def test_a_bad_clock_start_is_one_line(
    dscplus: Path, capsys: Capture, command: list[str], clock: str
) -> None:
    argv = [str(dscplus) if arg == "x.img" else arg for arg in command]
    code, _, err = slsemu(capsys, *argv, f"--clock={clock}")
    assert code == 2 and "--clock" in err and err.count("\n") == 1, err


# --- image show -----------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_image_show_never_shows_key_or_pin(
    tmp_path: Path, capsys: Capture, flag: list[str]
) -> None:
    path = tmp_path / "dp.img"
    make(capsys, path, "--model", "dscplus", "--pin-mode", "device", *env_secret("--pin", "9731"),
         "--serial", "DP7")
    code, out, err = slsemu(capsys, "image", "show", str(path), *flag)
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert (shown["model"], shown["serial"], shown["key_bytes"]) == ("dscplus", "DP7", len(KEY))
    raw_state = load_image(path).state
    secrets = [KEY_HEX, KEY_HEX.upper(), "9731", raw_state["pin"]["secret_hash"],
               raw_state["pin"]["secret_salt"]]
    for secret in secrets:
        assert secret not in out
    assert "secret_hash" not in out and '"key"' not in out


def _valid_image_bytes(tmp_path: Path, capsys: Capture) -> bytes:
    path = tmp_path / "good.img"
    make(capsys, path, "--model", "scc")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda data: b"", "empty"),
        (lambda data: data[: len(data) // 2], "not JSON"),
        (lambda data: data.replace(b'"online": false', b'"online": true'), "checksum"),
        (lambda data: b'{"format": "something-else"}', "foreign"),
        (lambda data: b"\x89PNG\r\n\x1a\n", "not JSON"),
    ],
    ids=["empty", "truncated", "damaged", "foreign", "binary"],
)
def test_bad_image_files_get_one_line_for_every_command(
    tmp_path: Path,
    capsys: Capture,
    damage: object,
    fragment: str,
) -> None:
    bad = tmp_path / "bad.img"
    bad.write_bytes(damage(_valid_image_bytes(tmp_path, capsys)))  # type: ignore[operator]
    script = tmp_path / "s.sls"
    script.write_text("press POWER\n")
    for argv in (
        ["image", "show", str(bad)],
        ["scc", "show", str(bad)],
        ["script", str(script), "--image", str(bad)],
    ):
        code, out, err = slsemu(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err.count("\n") == 1 and fragment in err and str(bad) in err, err


@pytest.mark.parametrize(
    ("model", "state_change", "fragment"),
    [
        ("dscplus", {"presses_used": -1}, "presses_used must be a whole number from 0"),
        ("dscplus", {"spare": 1}, "unknown state field(s) spare"),
        ("scc", {"unexpected": 1}, "unexpected"),
    ],
)
def test_inconsistent_image_is_refused_alike_everywhere(
    tmp_path: Path,
    capsys: Capture,
    model: str,
    state_change: dict[str, object],
    fragment: str,
) -> None:
    """A whole, checksummed file whose content its model refuses: `image show` runs the model's
    codec as loading does, so every command gives the same one line (and shows nothing)."""
    good = tmp_path / "good.img"
    make(capsys, good, "--model", model)
    image = load_image(good)
    bad = tmp_path / "odd.img"
    save_image(bad, image.with_state({**image.state, **state_change}))
    script = tmp_path / "s.sls"
    script.write_text("press POWER\n")
    for argv in (
        ["image", "show", str(bad)],
        ["script", str(script), "--image", str(bad)],
        *([["scc", "show", str(bad)]] if model == "scc" else []),
    ):
        code, out, err = slsemu(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err.count("\n") == 1 and str(bad) in err, err
        assert f"inconsistent {model} image" in err and fragment in err, err


def test_missing_image_file(tmp_path: Path, capsys: Capture) -> None:
    code, _, err = slsemu(capsys, "image", "show", str(tmp_path / "nope.img"))
    assert code == 2 and "No such file" in err and err.count("\n") == 1


def test_damaged_image_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.img"
    bad.write_bytes(b'{"format": "slsemu-image", "version": 1, "body": {}, "sha2')
    run = subprocess.run(
        [sys.executable, "-m", "emulator.cli", "image", "show", str(bad)],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1


# --- scc show -------------------------------------------------------------------------------------


def test_scc_show_prints_every_cell(tmp_path: Path, capsys: Capture) -> None:
    path = tmp_path / "card.img"
    make(capsys, path, "--model", "scc")
    code, out, _ = slsemu(capsys, "scc", "show", str(path))
    assert code == 0
    for index in (1, 17, 224):
        assert f"{index:>3} {scc_code(KEY, index)}" in out
    assert KEY_HEX not in out


def test_scc_show_refuses_another_model(dscplus: Path, capsys: Capture) -> None:
    code, out, err = slsemu(capsys, "scc", "show", str(dscplus))
    assert (code, out) == (2, "")
    assert "dscplus" in err and "not a Security Code Card" in err


# --- script ---------------------------------------------------------------------------------------


def test_login_script_passes_and_prints_the_captured_response(
    dscplus: Path, capsys: Capture
) -> None:
    code, out, err = slsemu(
        capsys, "script", str(LOGIN), "--image", str(dscplus),
        "--set", "PIN=1234", "--set", "CHALLENGE=654321", "--clock", T0,
    )
    assert (code, err) == (0, "")
    expected = ocra("OCRA-1:HOTP-SHA1-8:QN06-PSHA1", KEY, question="654321", pin="1234")
    assert out == f"RESPONSE={expected}\n"
    assert load_image(dscplus).state["presses_used"] == 13  # saved afterwards


def test_failed_expectations_exit_1_with_file_and_line(
    tmp_path: Path, dscplus: Path, capsys: Capture
) -> None:
    script = tmp_path / "s.sls"
    script.write_text(
        'press POWER\ncapture FIRST\nexpect "CHALLNG>"\n# comment\nexpect /X+/\n'
        'press POWER\ncapture SECOND\n'
    )
    code, out, err = slsemu(capsys, "script", str(script), "--image", str(dscplus))
    assert code == 1  # stopped at the first failure: nothing after it ran or was captured
    assert out == "FIRST=PIN>\n"
    assert err.splitlines() == [f'{script}:3: expected "CHALLNG>", display was "PIN>"']
    code, out, err = slsemu(
        capsys, "script", str(script), "--image", str(dscplus), "--keep-going"
    )
    assert code == 1
    assert out == "FIRST=PIN>\nSECOND=\n"
    assert err.splitlines() == [
        f'{script}:3: expected "CHALLNG>", display was "PIN>"',
        f'{script}:5: expected /X+/, display was "PIN>"',
    ]


def test_a_failed_login_expectation_stops_before_the_challenge_burns_pin_tries(
    tmp_path: Path, capsys: Capture, entropy: Entropy
) -> None:
    card = tmp_path / "card.img"
    image = new_image(ImageSpec("dscplus", "DP1", KEY, pin="1234", pin_mode="device"), entropy)
    save_image(card, image)
    script = tmp_path / "s.sls"
    script.write_text(
        'press POWER\ntype 9999\npress OK\nexpect "CHALLNG>"\ntype 123456\npress OK\n'
    )
    code, _, err = slsemu(capsys, "script", str(script), "--image", str(card))
    assert code == 1 and ":4: expected" in err
    assert load_image(card).state["failures"] == 1  # the challenge never reached the PIN prompt


def test_junit_xml_has_one_test_case_per_script(
    tmp_path: Path, dscplus: Path, capsys: Capture
) -> None:
    from xml.etree import ElementTree

    report = tmp_path / "junit.xml"
    args = ["script", str(LOGIN), "--image", str(dscplus), "--set", "PIN=1234",
            "--set", "CHALLENGE=123456", "--junit-xml", str(report)]
    assert slsemu(capsys, *args)[0] == 0
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.attrib["tests"] == "1" and suite.attrib["failures"] == "0"
    case = suite.find("testcase")
    assert case is not None and case.attrib["name"] == LOGIN.name and len(case) == 0

    script = tmp_path / "fails.sls"
    script.write_text('press POWER\nexpect "NOPE"\n')
    assert slsemu(capsys, "script", str(script), "--image", str(dscplus),
                  "--junit-xml", str(report))[0] == 1
    failure = ElementTree.parse(report).getroot().find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.attrib["message"] == f'{script}:2: expected "NOPE", display was "PIN>"'

    script.write_text("press POWER\npress APPROVE\n")
    assert slsemu(capsys, "script", str(script), "--image", str(dscplus),
                  "--junit-xml", str(report))[0] == 2
    error = ElementTree.parse(report).getroot().find("testsuite/testcase/error")
    assert error is not None and error.attrib["message"].startswith(f"{script}:2: press:")


def test_wait_advances_the_device_clock(
    tmp_path: Path, dscplus: Path, capsys: Capture
) -> None:
    script = tmp_path / "s.sls"
    script.write_text('press POWER\nwait 10\nexpect "PIN>"\nwait 1h\nexpect ""\n')
    code, _, err = slsemu(capsys, "script", str(script), "--image", str(dscplus), "--clock", T0)
    assert (code, err) == (0, "")


def test_trace_goes_to_stderr(dscplus: Path, capsys: Capture) -> None:
    code, out, err = slsemu(
        capsys, "script", str(LOGIN), "--image", str(dscplus), "--trace",
        "--set", "PIN=1234", "--set", "CHALLENGE=111111",
    )
    assert code == 0 and out.startswith("RESPONSE=")
    assert "[press POWER]        PIN>" in err
    assert "[type ${PIN}]        PIN>****" in err and "1234" not in err


@pytest.mark.parametrize(
    ("text", "extra", "fragment", "line"),
    [
        ("press POWER\nfrobnicate\n", [], "unknown statement", 2),
        ("press POWER\npress APPROVE\n", [], "APPROVE", 2),
        ("press POWER\ntype ${PIN}\n", [], "${PIN} is not set", 2),
        ("type ${PIN}\n", ["--set", "PIN=12a4"], "digits", 1),
    ],
)
def test_bad_script_input_exits_2_with_file_and_line(
    tmp_path: Path, dscplus: Path, capsys: Capture,
    text: str, extra: list[str], fragment: str, line: int,
) -> None:
    script = tmp_path / "s.sls"
    script.write_text(text)
    code, out, err = slsemu(capsys, "script", str(script), "--image", str(dscplus), *extra)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and f"{script}:{line}: " in err and fragment in err, err
    assert "12a4" not in err


def test_missing_variable_changes_nothing(
    tmp_path: Path, dscplus: Path, capsys: Capture
) -> None:
    before = dscplus.read_bytes()
    script = tmp_path / "s.sls"
    script.write_text("press POWER\npress OK\ntype ${CHALLENGE}\n")
    code, _, _ = slsemu(capsys, "script", str(script), "--image", str(dscplus))
    assert code == 2 and dscplus.read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "--image is required"),
        (["--port", "/dev/null", "--tui"], "exclude"),
        (["--image", "x.img", "--baud", "9600"], "--baud goes with --port"),
        (["--image", "x.img", "--keymap", "vim"], "--keymap goes with --tui"),
        (["--port", "/dev/null", "--clock", T0], "--clock"),
        (["--image", "x.img", "--set", "1234"], "NAME=VALUE"),
        (["--image", "x.img", "--set", "A=1", "--set", "A=2"], "twice"),
    ],
)
def test_script_argument_errors(
    tmp_path: Path, capsys: Capture, argv: list[str], fragment: str
) -> None:
    script = tmp_path / "s.sls"
    script.write_text("press POWER\n")
    code, _, err = slsemu(capsys, "script", str(script), *argv)
    assert code == 2 and fragment in err and err.count("\n") == 1, err
    assert "1234" not in err


def test_script_file_problems(tmp_path: Path, dscplus: Path, capsys: Capture) -> None:
    binary = tmp_path / "b.sls"
    binary.write_bytes(b"press \xff\n")
    code, _, err = slsemu(capsys, "script", str(binary), "--image", str(dscplus))
    assert code == 2 and "UTF-8" in err
    code, _, err = slsemu(capsys, "script", str(tmp_path / "none.sls"), "--image", str(dscplus))
    assert code == 2 and "No such file" in err


def test_serial_target_missing_is_a_clear_error(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "emulator.serial_target", None)  # as if not in this build
    script = tmp_path / "s.sls"
    script.write_text("press POWER\n")
    code, _, err = slsemu(capsys, "script", str(script), "--port", "/dev/ttyUSB9")
    assert code == 2 and "not available in this build" in err and err.count("\n") == 1


def test_script_on_an_image_in_use(dscplus: Path, tmp_path: Path,
                                   capsys: Capture) -> None:
    script = tmp_path / "s.sls"
    script.write_text("press POWER\n")
    with ImageLock(dscplus):
        code, _, err = slsemu(capsys, "script", str(script), "--image", str(dscplus))
    assert code == 2 and "in use by another process" in err


# --- demo -----------------------------------------------------------------------------------------


def test_demo_logs_in_and_the_host_accepts(capsys: Capture,
                                           slsemu_home: Path) -> None:
    code, out, err = slsemu(capsys, "demo", "--challenge", "123456", "--clock", T0)
    response = ocra("OCRA-1:HOTP-SHA1-8:QN06-PSHA1", KEY, question="123456", pin="1234")
    assert (code, err) == (0, ""), err
    steps = [line.strip() for line in out.splitlines() if line.startswith("  [")]
    assert steps == [
        "[press POWER]        PIN>",
        "[type ${PIN}]        PIN>****",
        "[press OK]           CHALLNG>",
        "[type ${CHALLENGE}]  123456",
        f"[press OK]           {response}",
    ]
    assert "ACCEPTED" in out
    assert (slsemu_home / "demo" / "dscplus-demo.img").exists()


def test_demo_runs_without_a_terminal(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "emulator.cli", "demo"],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
        env={**os.environ, "SLSEMU_HOME": str(tmp_path / "home"), "TERM": "dumb"},
    )
    assert run.returncode == 0, run.stderr
    assert "ACCEPTED" in run.stdout and run.stderr == ""


def test_demo_bad_challenge(capsys: Capture) -> None:
    code, _, err = slsemu(capsys, "demo", "--challenge", "12ab56")
    assert code == 2 and "6 digits" in err


# --- the examples in examples/ stay runnable ------------------------------------------------------

EXAMPLES: dict[str, tuple[list[str], list[str], list[str]]] = {
    # name: (image new arguments, script arguments, capture names)
    "dscplus-login.sls": (
        ["--model", "dscplus"], ["--set", "PIN=1234", "--set", "CHALLENGE=123456"], ["RESPONSE"],
    ),
    "dscplus-device-lockout.sls": (
        ["--model", "dscplus", "--pin-mode", "device", *env_secret("--pin", "1234")], [], ["LOCK"],
    ),
    "dscplus-timeouts.sls": (["--model", "dscplus"], ["--set", "PIN=1234"], []),
    "dscplus-classic-login.sls": (
        ["--model", "dscplus_classic"], ["--set", "PIN=1234"], ["FIRST", "LAST"],
    ),
    "scc-cells.sls": (
        ["--model", "scc"], ["--set", "FIRST=17", "--set", "SECOND=203"],
        ["FIRST_CELL", "SECOND_CELL"],
    ),
    "ibkey-challenge.sls": (
        ["--model", "ibkey", *env_secret("--pin", "1234"), "--option", "username=alice"],
        ["--set", "PIN=1234", "--set", "CHALLENGE=123456"], ["RESPONSE"],
    ),
    "dsc-passcode.sls": (["--model", "dsc", *env_secret("--pin", "1234")], ["--set", "PIN=1234"],
                         ["PASSCODE"]),
}


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in (REPO / "examples").glob("*.sls")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_passes(tmp_path: Path, capsys: Capture, name: str) -> None:
    image_args, script_args, captures = EXAMPLES[name]
    image = tmp_path / "card.img"
    make(capsys, image, *image_args)
    code, out, err = slsemu(
        capsys, "script", str(REPO / "examples" / name), "--image", str(image), "--clock", T0,
        *script_args,
    )
    assert (code, err) == (0, ""), err
    assert [line.split("=", 1)[0] for line in out.splitlines()] == captures


def _secret_values(values: object, secret: bool = False) -> list[str]:
    """Every value stored under a secret-named field (`is_secret_name`), recursively."""
    from firmware_model.image import is_secret_name

    if isinstance(values, dict):
        return [
            found
            for name, value in values.items()
            for found in _secret_values(value, secret or is_secret_name(name))
        ]
    if isinstance(values, list):
        return [found for value in values for found in _secret_values(value, secret)]
    return [str(values)] if secret and values not in (None, "", True, False) else []


@pytest.mark.parametrize(
    "argv",
    [
        ["--model", "dscplus", "--pin-mode", "device", *env_secret("--pin", "9731")],
        ["--model", "dsc", *env_secret("--pin", "9731")],
        ["--model", "gold", *env_secret("--pin", "9731")],
        ["--model", "platinum", *env_secret("--pin", "9731")],
        ["--model", "ibkey", *env_secret("--pin", "9731")],
        ["--model", "scc"],
    ],
    ids=lambda argv: argv[1],
)
def test_image_show_hides_every_secret_of_every_model(
    tmp_path: Path, capsys: Capture, argv: list[str]
) -> None:
    path = tmp_path / "x.img"
    make(capsys, path, *argv)
    code, out, _ = slsemu(capsys, "image", "show", str(path))
    assert code == 0
    image = load_image(path)
    hidden = [KEY_HEX, KEY_HEX.upper(), "9731"]
    hidden += _secret_values(dict(image.config)) + _secret_values(dict(image.state))
    for secret in hidden:
        if len(secret) >= 4:  # short values (e.g. a counter 0) would match by accident
            assert secret not in out, secret


def test_script_json_report(tmp_path: Path, dscplus: Path, capsys: Capture) -> None:
    script = tmp_path / "s.sls"
    script.write_text('press POWER\ncapture FIRST\nexpect "CHALLNG>"\n')
    code, out, err = slsemu(capsys, "script", str(script), "--image", str(dscplus), "--json")
    assert (code, err) == (1, "")
    assert json.loads(out) == {
        "passed": False,
        "captures": {"FIRST": "PIN>"},
        "failures": [{"line": 3, "expected": '"CHALLNG>"', "actual": "PIN>"}],
    }
