"""Keypress script parser: every statement, every error with its line number, fuzz properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model.errors import ScriptError
from firmware_model.script import (
    MAX_LINE_CHARS,
    MAX_SECONDS,
    Capture,
    ExpectRegex,
    ExpectText,
    Hold,
    Press,
    Ref,
    Script,
    Type,
    Wait,
    describe,
    parse_script,
)


def one(text: str) -> object:
    script = parse_script(text)
    assert len(script.statements) == 1
    return script.statements[0]


def test_every_statement() -> None:
    script = parse_script(
        "\n".join(
            [
                "# a comment",
                "",
                "press POWER",
                "hold OK 2.5",
                "type 123456",
                "wait 30",
                'expect "PIN>"',
                "expect /[0-9]{8}/",
                "capture RESPONSE",
                'expect ""',
            ]
        )
    )
    assert [describe(s) for s in script.statements] == [
        "press POWER",
        "hold OK 2.5",
        "type 123456",
        "wait 30",
        'expect "PIN>"',
        "expect /[0-9]{8}/",
        "capture RESPONSE",
        'expect ""',
    ]
    assert [s.line for s in script.statements] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert script.statements[0] == Press(3, "POWER")
    assert script.statements[1] == Hold(4, "OK", 2.5)
    assert script.statements[3] == Wait(6, 30.0)
    assert script.statements[6] == Capture(9, "RESPONSE")


def test_comments_blank_lines_and_crlf() -> None:
    script = parse_script("  # indented comment\r\n\r\n\tpress OK   # trailing comment\r\n   \n")
    assert script.statements == (Press(3, "OK"),)


def test_empty_script() -> None:
    assert parse_script("") == Script(())
    assert parse_script("# only a comment\n\n") == Script(())


@pytest.mark.parametrize(
    ("word", "seconds"),
    [("0", 0.0), ("30", 30.0), ("0.5", 0.5), ("45s", 45.0), ("5m", 300.0), ("2h", 7200.0),
     ("21d", 21 * 86400.0), ("1.5m", 90.0)],
)
def test_seconds_and_units(word: str, seconds: float) -> None:
    assert one(f"wait {word}") == Wait(1, seconds)


def test_expect_text_escapes_and_hash_inside() -> None:
    statement = one(r'expect "a \"q\" # not a comment \\"  # a comment')
    assert isinstance(statement, ExpectText)
    assert statement.text.render({}) == 'a "q" # not a comment \\'
    assert statement.shown == r'"a \"q\" # not a comment \\"'


def test_expect_empty_display() -> None:
    statement = one('expect ""')
    assert isinstance(statement, ExpectText)
    assert statement.text.render({}) == ""


def test_expect_regex_keeps_escaped_slash_and_hash() -> None:
    statement = one(r"expect /a\/b#c/ # comment")
    assert isinstance(statement, ExpectRegex)
    assert statement.pattern.render({}) == r"a\/b#c"


def test_variables_in_type_and_expect() -> None:
    typed = one("type ${CHALLENGE}")
    assert isinstance(typed, Type)
    assert typed.digits.parts == (Ref("CHALLENGE"),)
    mixed = one('expect "R=${RESPONSE}$$"')
    assert isinstance(mixed, ExpectText)
    assert mixed.text.parts == ("R=", Ref("RESPONSE"), "$")
    assert parse_script("type 12${X}\nexpect /${Y}.*/").referenced() == {"X", "Y"}


def test_type_repr_hides_digits() -> None:
    assert "1234" not in repr(one("type 1234"))


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("jump OK", 1, "unknown statement"),
        ("\n\nPRESS OK", 3, "unknown statement"),
        ("press", 1, "press takes one button"),
        ("press OK BACK", 1, "press takes one button"),
        ("press O-K", 1, "bad button name"),
        ("hold OK", 1, "hold takes a button and seconds"),
        ("hold OK x", 1, "bad number of seconds"),
        ("wait", 1, "wait takes seconds"),
        ("wait -1", 1, "bad number of seconds"),
        ("wait 1e3", 1, "bad number of seconds"),
        ("wait inf", 1, "bad number of seconds"),
        ("wait 5y", 1, "bad number of seconds"),
        ("wait \u0663\u0660", 1, "bad number of seconds"),  # Arabic-Indic digits: not a number here
        (f"wait {MAX_SECONDS + 1}", 1, "at most"),
        ("wait 99999d", 1, "at most"),
        ("type", 1, "type takes digits"),
        ("type 12a4", 1, "digits 0-9"),
        ("type 12 34", 1, "type takes digits"),
        ("type ${1X}", 1, "bad variable name"),
        ("type ${X", 1, "unterminated"),
        ("expect", 1, "expect takes"),
        ("expect PIN>", 1, "expect takes"),
        ('expect "PIN>', 1, "unterminated string"),
        ('expect "a\\n"', 1, "unknown escape"),
        ('expect "PIN>" extra', 1, "unexpected text"),
        ("expect /[0-9/", 1, "invalid regex"),
        ("expect /abc", 1, "unterminated regex"),
        ("expect /a(/", 1, "invalid regex"),
        ("expect /x/ y", 1, "unexpected text"),
        ('expect "${}"', 1, "bad variable name"),
        ("capture", 1, "capture takes a name"),
        ("capture 9LIVES", 1, "bad name"),
        ("capture A B", 1, "capture takes a name"),
        ("press OK\n" + "#" * (MAX_LINE_CHARS + 1), 2, "longer than"),
    ],
)
def test_errors_name_their_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(text)
    assert caught.value.line == line
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"line {line}: ")


def test_first_bad_line_is_reported() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script("press OK\nbogus\nalso bogus")
    assert caught.value.line == 2


def test_line_at_the_limit_is_fine() -> None:
    assert parse_script("#" * MAX_LINE_CHARS) == Script(())


def test_error_never_echoes_a_whole_long_argument() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script("press " + "X" * 500 + "-")
    assert len(str(caught.value)) < 120


_LINES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["press OK", "hold POWER 1", "type 1234", "wait 5m", 'expect "PIN>"', "expect /\\d+/",
         "capture R", "type ${R}", 'expect "${R}"', "expect /${R}[/", "#", "", "expect /(/"]
    ).flatmap(lambda s: st.builds(lambda junk: s + junk, st.text(max_size=8))),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES, max_size=8).map("\n".join))
def test_any_text_is_a_script_or_a_script_error(text: str) -> None:
    try:
        script = parse_script(text)
    except ScriptError as exc:
        assert exc.line >= 1
        return
    for statement in script.statements:
        assert 1 <= statement.line <= text.count("\n") + 1
        describe(statement)  # every parsed statement can be shown again


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_characters="\n"), max_size=MAX_LINE_CHARS + 50))
def test_any_single_line_parses_or_fails_cleanly(text: str) -> None:
    try:
        script = parse_script(text)
    except ScriptError as exc:
        assert exc.line == 1
    else:
        assert len(script.statements) <= 1
