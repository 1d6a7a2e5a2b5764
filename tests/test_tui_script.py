"""`slsemu script --tui`: a script run through the headless TUI gives what the in-process run gives.

Each comparison runs the same script on two copies of one image (so both start from the same
durable state) with the same device clock: once on a `DeviceSession`, once on a `TuiScriptTarget`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.images import load_image, save_image
from emulator.session import DeviceSession
from emulator.tui.script_target import TuiScriptTarget
from firmware_model.device import ImageSpec
from firmware_model.errors import ScriptError
from firmware_model.models import new_image
from firmware_model.script import ScriptResult, parse_script, run_script

CLOCK = 1_800_000_000.0
KEY = bytes(range(1, 21))

DSCPLUS_LOGIN = """\
press POWER
expect "PIN>"
type 1234
expect "PIN>****"
press BACK
type 4
press OK
expect "CHALLNG>"
type 123456
capture SHOWN
press OK
expect /[0-9]{8}/
capture RESPONSE
expect "WRONG"
"""

LEGACY_DSC = """\
hold POWER 1.5
capture START
type 12
press C
type 1234
press OK
capture PASSCODE
wait 20
capture LATER
wait 60
capture OFF
"""


def make_image(folder: Path, model: str, entropy: Callable[[int], bytes], **spec: str) -> Path:
    path = folder / f"{model}.img"
    spec_ = ImageSpec(
        model, f"{model.upper()}0000000001", KEY, spec.get("pin"), spec.get("pin_mode")
    )
    image = new_image(spec_, entropy)
    save_image(path, image)
    return path


def both_ways(image: Path, text: str, keymap: str | None = None) -> tuple[ScriptResult, ...]:
    """Run `text` in-process and through the TUI on copies of `image`; both results."""
    script = parse_script(text)
    inproc, tui = image.with_suffix(".inproc.img"), image.with_suffix(".tui.img")
    shutil.copy(image, inproc)
    shutil.copy(image, tui)
    with DeviceSession(inproc, clock=CLOCK) as session:
        expected = run_script(script, session)
    with TuiScriptTarget(tui, keymap, clock=CLOCK) as target:
        actual = run_script(script, target)
    assert load_image(tui) == load_image(inproc)  # and the same durable state afterwards
    return expected, actual


def test_dscplus_login_same_captures_and_failures(
    tmp_path: Path, entropy: Callable[[int], bytes]
) -> None:
    image = make_image(tmp_path, "dscplus", entropy, pin_mode="soft")
    expected, actual = both_ways(image, DSCPLUS_LOGIN)
    assert actual == expected
    assert expected.captures["SHOWN"] == "123456"
    assert len(expected.captures["RESPONSE"]) == 8
    assert [failure.line for failure in expected.failures] == [14]  # the deliberate mismatch


def test_legacy_dsc_hold_wait_and_clear_key(
    tmp_path: Path, entropy: Callable[[int], bytes]
) -> None:
    image = make_image(tmp_path, "dsc", entropy, pin="1234")
    expected, actual = both_ways(image, LEGACY_DSC)
    assert actual == expected
    assert expected.captures["PASSCODE"].isdigit()


@pytest.mark.parametrize("keymap", ["numpad", "laptop"])
def test_other_keymaps_give_the_same_result(
    tmp_path: Path, entropy: Callable[[int], bytes], keymap: str
) -> None:
    image = make_image(tmp_path, "dscplus", entropy, pin_mode="soft")
    expected, actual = both_ways(image, DSCPLUS_LOGIN, keymap)
    assert actual == expected


def test_buttons_without_a_key_are_pressed_on_the_faceplate(
    tmp_path: Path, entropy: Callable[[int], bytes]
) -> None:
    digits_only = tmp_path / "digits.toml"
    digits_only.write_text("[keys]\n" + "".join(f'"{d}" = "{d}"\n' for d in "0123456789"))
    image = make_image(tmp_path, "dscplus", entropy, pin_mode="soft")
    expected, actual = both_ways(image, DSCPLUS_LOGIN, str(digits_only))
    assert actual == expected


def test_unknown_button_is_the_same_error(tmp_path: Path, entropy: Callable[[int], bytes]) -> None:
    image = make_image(tmp_path, "dscplus", entropy, pin_mode="soft")
    script = parse_script("press POWER\npress APPROVE\n")
    with DeviceSession(image, clock=CLOCK) as session, pytest.raises(ScriptError) as inproc:
        run_script(script, session)
    with TuiScriptTarget(image, clock=CLOCK) as target, pytest.raises(ScriptError) as tui:
        run_script(script, target)
    assert str(tui.value) == str(inproc.value)
    assert tui.value.line == 2


def test_cli_script_tui_prints_the_same(
    tmp_path: Path, entropy: Callable[[int], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    image = make_image(tmp_path, "dscplus", entropy, pin_mode="soft")
    script = tmp_path / "login.sls"
    script.write_text(DSCPLUS_LOGIN.replace('expect "WRONG"\n', ""))
    shutil.copy(image, tmp_path / "copy.img")
    clock = ["--clock", str(CLOCK)]
    assert main(["script", str(script), "--image", str(image), *clock]) == 0
    inproc = capsys.readouterr().out
    assert (
        main(["script", str(script), "--image", str(tmp_path / "copy.img"), "--tui", *clock]) == 0
    )
    assert capsys.readouterr().out == inproc
    assert "RESPONSE=" in inproc
