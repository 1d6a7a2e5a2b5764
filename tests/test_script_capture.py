"""`capture NAME /REGEX/`: keep just the part of the display a later line or the user needs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.images import save_image
from firmware_model.device import ImageSpec
from firmware_model.errors import ScriptError
from firmware_model.models import new_image
from firmware_model.ocra import ocra
from firmware_model.script import Capture, describe, parse_script, run_script

KEY = bytes.fromhex("3132333435363738393031323334353637383930")


class Screen:
    """A target whose display is whatever the test sets; keys are ignored."""

    def __init__(self, display: str) -> None:
        self.display = display

    def press(self, button: str) -> None:
        pass

    def hold(self, button: str, seconds: float) -> None:
        pass

    def type_digits(self, digits: str) -> None:
        pass

    def wait(self, seconds: float) -> None:
        pass

    def read_display(self) -> str:
        return self.display


def test_first_group_is_captured() -> None:
    script = parse_script("capture R /Response: (\\d{8})/\n")
    result = run_script(script, Screen("Response: 12345678"))
    assert result.captures == {"R": "12345678"}
    assert result.passed


def test_without_a_group_the_whole_match_is_captured() -> None:
    result = run_script(parse_script("capture R /\\d+/"), Screen("abc 0042 def"))
    assert result.captures == {"R": "0042"}


def test_no_match_is_a_failed_expectation_and_nothing_is_captured() -> None:
    result = run_script(parse_script("\ncapture R /(\\d{8})/"), Screen("PIN>"))
    assert result.captures == {}
    assert [(f.line, f.expected, f.actual) for f in result.failures] == [
        (2, "/(\\d{8})/", "PIN>")
    ]


def test_an_optional_group_that_matched_nothing_is_a_failed_expectation() -> None:
    script = parse_script("capture R /(\\d{8})?PIN>/\nexpect \"${R}\"")
    result = run_script(script, Screen("PIN>"))
    assert result.captures == {}
    assert [(f.line, f.expected, f.actual) for f in result.failures] == [
        (1, "/(\\d{8})?PIN>/", "PIN>")
    ]


def test_captured_value_feeds_later_lines_and_variables_fill_the_regex() -> None:
    script = parse_script('capture R /=(\\d+)/\nexpect /x=${R}/\ncapture S /(${P})/')
    result = run_script(script, Screen("x=77"), {"P": "77"})
    assert result.captures == {"R": "77", "S": "77"}
    assert result.passed


def test_variables_in_a_capture_regex_are_literal_text() -> None:
    result = run_script(parse_script("capture S /(${P})/"), Screen("x=77"), {"P": "7+"})
    assert result.captures == {}
    assert len(result.failures) == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("capture R (\\d+)", "optional /REGEX/"),
        ("capture R /(/", "regex"),
        ("capture R /abc", "unterminated regex"),
        ("capture R /a/ trailing", ""),
    ],
)
def test_bad_capture_lines_are_refused_with_their_line(line: str, message: str) -> None:
    with pytest.raises(ScriptError, match=f"line 1: .*{message}"):
        parse_script(line)


def test_plain_capture_still_parses_and_describes() -> None:
    assert parse_script("capture R  # note").statements == (Capture(1, "R"),)
    statement = parse_script("capture R /(\\d+)/").statements[0]
    assert describe(statement) == "capture R /(\\d+)/"


def test_ibkey_response_captured_without_its_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entropy: Callable[[int], bytes]
) -> None:
    image = new_image(ImageSpec(model="ibkey", serial="IK1", key=KEY, pin="1234"), entropy)
    path = tmp_path / "ik.img"
    save_image(path, image)
    script = tmp_path / "ik.sls"
    script.write_text(
        "press POWER\ntype 123456\npress OK\ntype 1234\npress OK\ncapture R /(\\d{8})$/\n"
    )
    assert main(["script", str(script), "--image", str(path), "--clock", "1000"]) == 0
    suite = "OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1"
    expected = ocra(suite, KEY, counter=0, question="123456", pin="1234")
    assert capsys.readouterr().out == f"R={expected}\n"
