"""The pure script runner against a fake target, and against real in-process device sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.images import save_image
from emulator.session import DeviceSession
from firmware_model.device import ImageSpec
from firmware_model.errors import ScriptError, UnknownButton
from firmware_model.models import new_image
from firmware_model.scc import scc_code
from firmware_model.script import (
    Failure,
    ScriptResult,
    Step,
    format_step,
    parse_script,
    run_script,
)

KEY = bytes.fromhex("3132333435363738393031323334353637383930")


class Calculator:
    """A fake target: digits append to the display, OK reverses it, BACK clears it."""

    BUTTONS = frozenset("0123456789") | {"OK", "BACK", "POWER"}

    def __init__(self) -> None:
        self.display = ""
        self.calls: list[tuple[str, ...]] = []
        self.clock = 0.0

    def press(self, button: str) -> None:
        self.calls.append(("press", button))
        if button not in self.BUTTONS:
            raise UnknownButton(f"calculator has no button {button!r}")
        if button == "OK":
            self.display = self.display[::-1]
        elif button == "BACK":
            self.display = ""
        elif button != "POWER":
            self.display += button

    def hold(self, button: str, seconds: float) -> None:
        self.calls.append(("hold", button, str(seconds)))
        self.press(button)
        self.clock += seconds

    def type_digits(self, digits: str) -> None:
        self.calls.append(("type", digits))
        for digit in digits:
            self.press(digit)

    def wait(self, seconds: float) -> None:
        self.calls.append(("wait", str(seconds)))
        self.clock += seconds

    def read_display(self) -> str:
        return self.display


def run(
    text: str, variables: dict[str, str] | None = None, *, keep_going: bool = False
) -> tuple[Calculator, ScriptResult]:
    target = Calculator()
    return target, run_script(parse_script(text), target, variables or {}, keep_going=keep_going)


def test_all_pass_and_calls_reach_the_target() -> None:
    target, result = run(
        'press POWER\nexpect ""\ntype 123\nexpect "123"\nhold OK 2\nexpect /32[0-9]/\nwait 5m\n'
    )
    assert result.failures == () and result.passed
    assert target.calls[0] == ("press", "POWER")
    assert ("type", "123") in target.calls
    assert ("hold", "OK", "2.0") in target.calls
    assert target.clock == 302.0


def test_the_first_failed_expectation_stops_the_run() -> None:
    target, result = run('type 12\nexpect "21"\npress OK\ncapture X')
    assert result.failures == (Failure(2, '"21"', "12"),)
    assert ("press", "OK") not in target.calls  # nothing after the failure reached the device
    assert result.captures == {}


def test_keep_going_collects_every_failure_with_its_line() -> None:
    text = 'type 12\nexpect "21"\nexpect /1/\npress OK\nexpect "21"\nexpect "x"'
    target, result = run(text, keep_going=True)
    assert result.failures == (
        Failure(2, '"21"', "12"),
        Failure(3, "/1/", "12"),
        Failure(6, '"x"', "21"),
    )
    assert ("press", "OK") in target.calls  # kept going after the first failure


def test_regex_is_a_full_match() -> None:
    _, result = run("type 123\nexpect /12/\nexpect /\\d{3}/")
    assert [f.line for f in result.failures] == [2]


def test_captures_in_order_and_usable_later() -> None:
    target, result = run(
        "type 31\ncapture FIRST\npress BACK\ntype 4\ncapture SECOND\n"
        'press BACK\ntype ${FIRST}\nexpect "${FIRST}"\nexpect /${FIRST}/\n'
    )
    assert result.passed
    assert list(result.captures.items()) == [("FIRST", "31"), ("SECOND", "4")]
    assert target.calls[-1] == ("press", "1")


def test_set_variables_and_regex_variables_match_literally() -> None:
    _, result = run("type ${A}\nexpect /${B}/", {"A": "1", "B": "."})
    assert [f.line for f in result.failures] == [2]
    _, result = run("type ${A}\nexpect /${A}[0-9]*/", {"A": "1"})
    assert result.passed


def test_missing_variable_fails_before_any_key_press() -> None:
    target = Calculator()
    with pytest.raises(ScriptError) as caught:
        run_script(parse_script("press 1\ncapture X\ntype ${X}\ntype ${Y}"), target, {})
    assert caught.value.line == 4
    assert "${Y}" in str(caught.value)
    assert target.calls == []


def test_target_error_stops_the_run_with_its_line() -> None:
    target = Calculator()
    with pytest.raises(ScriptError) as caught:
        run_script(parse_script("press 1\n\npress HELP\npress 2"), target)
    assert caught.value.line == 3
    assert "HELP" in str(caught.value)
    assert isinstance(caught.value.__cause__, UnknownButton)
    assert ("press", "2") not in target.calls


def test_non_digit_variable_for_type_is_an_error_without_its_value() -> None:
    with pytest.raises(ScriptError) as caught:
        run("type ${PIN}", {"PIN": "12a4"})
    assert caught.value.line == 1
    assert "12a4" not in str(caught.value)


def test_bad_variable_name_is_misuse() -> None:
    with pytest.raises(ValueError, match="bad variable name"):
        run("press 1", {"not a name": "1"})


def test_trace_sees_each_statement_and_display() -> None:
    steps: list[Step] = []
    target = Calculator()
    run_script(parse_script("type 12\npress OK\ntype ${P}"), target, {"P": "9"}, trace=steps.append)
    assert [format_step(s) for s in steps] == [
        "[type 12]            12",
        "[press OK]           21",
        "[type ${P}]          219",
    ]


def test_trace_shows_blank_display() -> None:
    steps: list[Step] = []
    run_script(parse_script("press POWER"), Calculator(), trace=steps.append)
    assert format_step(steps[0]).endswith("(blank)")


# --- against a real device in a session (Security Code Card: no durable state) --------------------


@pytest.fixture
def scc_image(tmp_path: Path, entropy: Callable[[int], bytes]) -> Path:
    path = tmp_path / "card.img"
    save_image(path, new_image(ImageSpec(model="scc", serial="SC1", key=KEY), entropy))
    return path


def test_script_on_a_real_scc_session(scc_image: Path) -> None:
    script = parse_script(
        'press POWER\nexpect "INDEX>"\ntype 17\npress OK\ncapture CELL\n'
        'expect /17 [0-9A-Z]{3}/\npress BACK\ntype ${N}\npress OK\ncapture OTHER\n'
    )
    with DeviceSession(scc_image, clock=1_700_000_000) as session:
        result = run_script(script, session, {"N": "224"})
    assert result.passed
    assert result.captures == {
        "CELL": f"17 {scc_code(KEY, 17)}",
        "OTHER": f"224 {scc_code(KEY, 224)}",
    }


def test_unknown_button_on_a_real_device(scc_image: Path) -> None:
    with DeviceSession(scc_image) as session, pytest.raises(ScriptError) as caught:
        run_script(parse_script("press POWER\npress APPROVE"), session)
    assert caught.value.line == 2


# --- property: any parsed script runs to a result or a documented error ---------------------------

_STATEMENTS = st.sampled_from(
    ["press 1", "press OK", "press BACK", "press POWER", "press NOPE", "hold OK 1", "type 42",
     "type ${V}", "wait 5", 'expect "12"', "expect /[0-9]*/", 'expect "${C}"', "capture C",
     "capture V"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_STATEMENTS, max_size=12), st.sampled_from([{}, {"V": "7"}, {"V": "x"}]))
def test_any_script_gives_a_result_or_a_script_error(
    lines: list[str], variables: dict[str, str]
) -> None:
    script = parse_script("\n".join(lines))
    target = Calculator()
    try:
        result = run_script(script, target, variables)
    except ScriptError as exc:
        assert 1 <= exc.line <= len(lines)
        return
    expects = sum(line.startswith("expect") for line in lines)
    assert len(result.failures) <= expects
    assert all(1 <= f.line <= len(lines) for f in result.failures)
    assert set(result.captures) <= {"C", "V"}
