"""Golden transcripts: `slsemu record` writes a session as an `.sls` file that replays."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import firmware_model.dscplus
from emulator.cli import main
from emulator.pytest_plugin.front_matter import parse_front_matter
from emulator.pytest_plugin.runner import fill_values, run_test_script
from emulator.pytest_plugin.serving import serve_image
from emulator.recording import Transcript
from firmware_model.script import parse_script
from tests.serial_helpers import RFC_KEY, make_image

KEY_HEX = RFC_KEY.hex()


# --- the transcript (pure) ------------------------------------------------------------------------


def test_a_random_challenge_becomes_a_variable_and_the_response_a_capture() -> None:
    t = Transcript()
    t.action("press POWER", "PIN>")
    t.typed("1234", "PIN>****")
    t.action("press OK", "CHALLNG>")
    t.random_value("CHALLENGE", "480151")
    t.typed("480151", "480151")
    t.action("press OK", "87654321")
    t.action("wait 5", "87654321")
    document = t.document("header", {"clock": "5"})
    assert t.lines == [
        "press POWER", 'expect "PIN>"', "type ${PIN}", 'expect "PIN>****"', "press OK",
        'expect "CHALLNG>"', "type ${CHALLENGE}", 'expect "${CHALLENGE}"', "press OK",
        "expect /[0-9]{8}/", "capture CODE1", "wait 5", 'expect "${CODE1}"',
    ]
    assert "# CHALLENGE = { random = 6 }" in document and '# PIN = "1234"' in document
    assert parse_front_matter(document).values["CHALLENGE"].count == 6  # type: ignore[union-attr]
    parse_script(document)  # the file is a valid script


def test_codes_stay_exact_until_randomness_enters() -> None:
    t = Transcript()
    t.action("press OK", "Response: 12345678")
    t.action("press OK", "L1234567", fresh=True)
    t.action("press OK", "costs $5 [x]")
    assert t.lines == [
        "press OK", 'expect "Response: 12345678"', "capture CODE1 /Response: (12345678)/",
        "press OK", "expect /L[0-9]{7}/", "capture CODE2",
        "press OK", 'expect "costs $$5 [x]"',
    ]
    parse_script("\n".join(t.lines))


def assert_replays(recording: Path, folder: Path) -> None:
    """The recording passes on every transport (the way the plugin runs it)."""
    text = recording.read_text()
    script, spec = parse_script(text), parse_front_matter(text)
    for transport in ("inprocess", "serial", "tui"):
        (folder / transport).mkdir()
        run = run_test_script(
            script, spec, transport, folder / transport, recording, fill_values(spec, None)
        )
        assert run.result.passed, (transport, run.result.failures)


# --- slsemu record, in-process and over a serial line ---------------------------------------------


def record(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str],
    keys: str,
) -> tuple[str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(keys))
    assert main(["record", *argv]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


LOCKOUT_KEYS = "POWER\n9999\nOK\nPOWER\nPOWER\ntype 9999\npress OK\nwait 3\n9999\nOK\nPOWER\n" \
    "POWER\nOK\nquit\n"


def test_a_recorded_lockout_replays_on_every_transport_and_catches_a_changed_model(
    tmp_path: Path, entropy: object, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = tmp_path / "card.img"
    make_image(image, entropy, pin_mode="device", pin="1234")  # type: ignore[arg-type]
    out = tmp_path / "lockout.sls"
    shown, _ = record(monkeypatch, capsys, ["--image", str(image), "--out", str(out)], LOCKOUT_KEYS)
    assert "  FAIL 2\n" in shown and "  LOCK PIN\n" in shown
    text = out.read_text()
    assert '# image = "lockout.img"' in text and "expect /L[0-9]{7}/\ncapture CODE1" in text
    assert (tmp_path / "lockout.img").stat().st_mode & 0o777 == 0o600
    assert_replays(out, tmp_path)
    script, spec = parse_script(text), parse_front_matter(text)
    changed = dict(firmware_model.dscplus.DscPlus.prompts)
    changed[firmware_model.dscplus.State.LOCKED] = "LOCKED"
    monkeypatch.setattr(firmware_model.dscplus.DscPlus, "prompts", changed)
    (tmp_path / "changed").mkdir()
    run = run_test_script(
        script, spec, "inprocess", tmp_path / "changed", out, fill_values(spec, None)
    )
    first = run.result.failures[0]
    assert (first.expected, first.actual) == ('"LOCK PIN"', "LOCKED")
    assert len(run.result.failures) == 1  # stopped at the first display that differs


def test_a_recorded_login_with_a_random_challenge_replays(
    tmp_path: Path, entropy: object, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = tmp_path / "card.img"
    make_image(image, entropy)  # type: ignore[arg-type]
    out = tmp_path / "login.sls"
    keys = "POWER\n1234\nOK\nchallenge\nexpect /[0-9]{6}/\nOK\nnot-a-statement\nquit\n"
    _, err = record(
        monkeypatch, capsys, ["--image", str(image), "--out", str(out), "--clock", "5"], keys
    )
    assert "unknown statement 'not-a-statement'" in err and "(not recorded)" in err
    text = out.read_text()
    assert "type ${CHALLENGE}" in text and "expect /[0-9]{6}/" in text
    assert "expect /[0-9]{8}/\ncapture CODE1" in text and "# clock = 5" in text
    script, spec = parse_script(text), parse_front_matter(text)
    values = fill_values(spec, None)
    run = run_test_script(script, spec, "inprocess", tmp_path, out, values)
    assert run.result.passed and run.result.captures["CODE1"].isdigit()


def test_a_session_over_a_serial_line_is_recorded_for_the_serial_transport(
    tmp_path: Path, entropy: object, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = tmp_path / "card.img"
    make_image(image, entropy)  # type: ignore[arg-type]
    out = tmp_path / "serial.sls"
    with serve_image(image, clock=1_700_000_000) as port:
        record(monkeypatch, capsys, ["--port", port, "--out", str(out)],
               "POWER\n1234\nOK\n123456\nOK\n")
        text = out.read_text()
        assert '# transports = ["serial"]' in text
        assert "expect /[0-9]{8}/" in text  # a line hides the device's entropy: codes by shape
        spec, script = parse_front_matter(text), parse_script(text)
        run = run_test_script(
            script, spec, "serial", tmp_path, out, fill_values(spec, None), port=port
        )
    assert run.result.passed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "x.sls"], "give --image IMG"),
        (["--out", "x.sls", "--image", "a.img", "--port", "/dev/null"], "give --image IMG"),
        (["--out", "nowhere/x.sls", "--image", "a.img"], "no such folder"),
    ],
)
def test_bad_arguments_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["record", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_host_session_passed_through_is_recorded_and_replays(
    tmp_path: Path, entropy: object
) -> None:
    import signal
    import subprocess
    import sys

    from slsio.serial_client import SerialClient
    from tests.serial_helpers import REPO, child_env

    image = tmp_path / "card.img"
    make_image(image, entropy)  # type: ignore[arg-type]
    out = tmp_path / "host.sls"
    with serve_image(image, clock=1_700_000_000) as port:
        recorder = subprocess.Popen(
            [sys.executable, "-m", "emulator.cli", "record", "--port", port, "--pass-through",
             "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=child_env(),
        )
        assert recorder.stdout is not None
        host_side = recorder.stdout.readline().strip()  # printed once the pty is ready
        assert host_side.startswith("/dev/"), recorder.stderr.read() if recorder.stderr else ""
        with SerialClient(host_side, 115200) as host:  # what a login server's rig would do
            host.hello()
            host.press("POWER")
            host.type_digits("1234")
            host.press("OK")
            host.type_digits("123456")
            host.press("OK")
            response = host.read_display()
        recorder.send_signal(signal.SIGTERM)
        _, err = recorder.communicate(timeout=60)
        assert recorder.returncode == 0, err
        text = out.read_text()
        assert "type ${PIN}" in text and "type 123456" in text
        assert "expect /[0-9]{8}/\ncapture CODE1" in text and response.isdigit()
        spec, script = parse_front_matter(text), parse_script(text)
        run = run_test_script(
            script, spec, "serial", tmp_path, out, fill_values(spec, None), port=port
        )
    assert run.result.passed, run.result.failures
