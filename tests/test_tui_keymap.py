"""Keymaps: the shipped files load, bad files are refused with one clear line, lookups are data."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.cli import main
from emulator.tui.keymap import (
    KNOWN_BUTTONS,
    Keymap,
    available_keymaps,
    load_keymap,
    normalise_key,
    parse_keymap,
)
from slsio.cli import UsageError


def test_shipped_keymaps_load() -> None:
    assert {"default", "numpad", "laptop"} <= set(available_keymaps())
    for name in available_keymaps():
        keymap = load_keymap(name)
        assert keymap.bindings, name
        assert set(keymap.bindings.values()) <= KNOWN_BUTTONS


def test_default_keymap_is_the_designed_one() -> None:
    keymap = load_keymap(None)
    assert keymap.name == "default"
    for digit in "0123456789":
        assert keymap.button_for(digit) == digit
    assert keymap.button_for("enter") == "OK"
    assert keymap.button_for("backspace") == "BACK"
    assert keymap.button_for("p") == "POWER"
    assert keymap.button_for("f5") is None


def test_numpad_binds_keypad_names_and_characters() -> None:
    keymap = load_keymap("numpad")
    assert keymap.button_for("asterisk") == "POWER"
    assert keymap.button_for("multiply") == "POWER"
    assert keymap.button_for("full_stop") == "BACK"
    assert keymap.keys_for("POWER") == ("asterisk", "multiply")


def test_load_by_file_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[keys]\nspace = "OK"\n"*" = "POWER"\n')
    keymap = load_keymap(str(path))
    assert keymap.name == "mine"
    assert keymap.button_for("space") == "OK"
    assert keymap.button_for("asterisk") == "POWER"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[keys]\nx = "LAUNCH"\n', "unknown button 'LAUNCH'"),
        ('[keys]\nEnter = "OK"\nenter = "BACK"\n', "key 'enter' bound twice"),
        ('[keys]\nreturn = "OK"\nenter = "BACK"\n', "key 'enter' bound twice"),
        ('[keys]\n"*" = "OK"\nasterisk = "BACK"\n', "key 'asterisk' bound twice"),
        ("[keys\n", "bad TOML"),
        ('[keys]\nx = "OK"\nx = "BACK"\n', "bad TOML"),
        ('[keys]\nhyperspace = "OK"\n', "unknown key name 'hyperspace'"),
        ('[keys]\n"ctrl+banana" = "OK"\n', "unknown key name"),
        ('[keys]\nf1 = "OK"\n', "reserved"),
        ('[keys]\n"?" = "OK"\n', "reserved"),
        ('name = "x"\n', "needs a [keys] table"),
        ('colour = "red"\n[keys]\nx = "OK"\n', "unknown setting 'colour'"),
        ("[keys]\nx = 3\n", "unknown button 3"),
    ],
)
def test_bad_keymaps_are_refused_with_a_clear_reason(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_keymap(text, name="bad", source="bad.toml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_keymap_name_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown keymap 'dvorak' \(known: default"):
        load_keymap("dvorak")


def test_missing_keymap_file() -> None:
    with pytest.raises(UsageError, match="not found"):
        load_keymap("/nonexistent/keys.toml")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Enter", "enter"),
        ("RETURN", "enter"),
        ("*", "asterisk"),
        (".", "full_stop"),
        ("-", "minus"),
        (" ", "space"),
        ("Ctrl+Shift+x", "ctrl+shift+x"),
        ("shift+ctrl+x", "ctrl+shift+x"),
        ("P", "P"),
        ("F5", "f5"),
    ],
)
def test_key_names_are_normalised(name: str, canonical: str) -> None:
    assert normalise_key(name) == canonical


def test_keymap_refuses_uncanonical_construction() -> None:
    with pytest.raises(ValueError, match="canonical"):
        Keymap(name="x", bindings={"Enter": "OK"})
    with pytest.raises(ValueError, match="unknown button"):
        Keymap(name="x", bindings={"enter": "FIRE"})


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_keymap_or_one_usage_error(text: str) -> None:
    try:
        keymap = parse_keymap(text, name="fuzz")
    except UsageError as exc:
        assert "\n" not in str(exc)
    else:
        assert set(keymap.bindings.values()) <= KNOWN_BUTTONS


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "1", "enter", "Enter", "space", " ", "*", "asterisk", "x"]),
        st.sampled_from(sorted(KNOWN_BUTTONS)),
        min_size=1,
    )
)
def test_valid_bindings_round_trip(bindings: dict[str, str]) -> None:
    lines = "\n".join(f'"{key}" = "{button}"' for key, button in bindings.items())
    try:
        keymap = parse_keymap("[keys]\n" + lines + "\n", name="gen")
    except UsageError as exc:  # only a duplicate after normalising may be refused
        assert "bound twice" in str(exc)
        return
    for key, button in bindings.items():
        assert keymap.button_for(normalise_key(key)) == button
        assert normalise_key(key) in keymap.keys_for(button)


def test_cli_bad_keymap_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "twice.toml"
    path.write_text('[keys]\np = "POWER"\nP = "POWER"\nspace = "OK"\nSPACE = "OK"\n')
    assert main(["tui", "--keymap", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "key 'space' bound twice" in err


def test_cli_unknown_button_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fire.toml"
    path.write_text('[keys]\nf = "FIRE"\n')
    assert main(["tui", "--keymap", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slsemu: error: keymap ") and "unknown button 'FIRE'" in err


def test_cli_without_a_terminal_is_one_line_exit_2(
    slsemu_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tui"]) == 2  # pytest's stdout is not a terminal
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a terminal" in err and "slsemu demo" in err
    assert not (slsemu_home / "tui-demo").exists()  # nothing was set up
