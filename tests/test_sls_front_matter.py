"""The `.sls` front matter: TOML in a comment block, so the file stays a plain script."""

from __future__ import annotations

import pytest

from emulator.pytest_plugin.front_matter import (
    NO_FRONT_MATTER,
    TRANSPORTS,
    FrontMatterError,
    RandomDigits,
    parse_front_matter,
)
from emulator.pytest_plugin.runner import fill_values
from firmware_model.script import parse_script

FULL = """\
# A header comment comes first.
#
# ---
# model = "dscplus"
# pin_mode = "device"
# pin = "1234"
# key = "3132333435363738393031323334353637383930"
# clock = 1800000000
# transports = ["inprocess", "tui"]
# options = { pin_retries = 5 }
# [vars]
# PIN = "1234"
# CHALLENGE = { random = 6 }
# [[cases]]
# id = "zeros"
# CHALLENGE = "000000"
# [[cases]]
# PIN = "9999"
# ---
press POWER
"""


def test_a_full_block_is_read_and_the_file_is_still_a_script() -> None:
    spec = parse_front_matter(FULL)
    assert (spec.model, spec.pin_mode, spec.pin, spec.clock) == ("dscplus", "device", "1234", 1.8e9)
    assert spec.key == b"12345678901234567890"
    assert spec.transports == ("inprocess", "tui")
    assert dict(spec.options) == {"pin_retries": 5}
    assert dict(spec.values) == {"PIN": "1234", "CHALLENGE": RandomDigits(6)}
    assert [case.id for case in spec.cases] == ["zeros", "2"]
    assert spec.line == 3
    assert [s.line for s in parse_script(FULL).statements] == [20]  # lines keep their numbers


def test_values_merge_cases_over_vars_and_random_ones_are_drawn_per_run() -> None:
    spec = parse_front_matter(FULL)
    assert fill_values(spec, spec.cases[0]) == {"PIN": "1234", "CHALLENGE": "000000"}
    drawn = fill_values(spec, spec.cases[1])
    assert drawn["PIN"] == "9999" and len(drawn["CHALLENGE"]) == 6 and drawn["CHALLENGE"].isdigit()


@pytest.mark.parametrize("text", ["press POWER\n", "# just a comment\npress OK\n", ""])
def test_no_block_means_the_defaults(text: str) -> None:
    spec = parse_front_matter(text)
    assert spec == NO_FRONT_MATTER and spec.transports == TRANSPORTS and spec.model == "dscplus"


def test_a_fence_after_the_first_statement_is_just_a_comment() -> None:
    assert parse_front_matter('press POWER\n# ---\n# model = "scc"\n# ---\n') == NO_FRONT_MATTER


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("# ---\n# model = \"dscplus\"\n", 1, "not closed"),
        ("# ---\npress POWER\n# ---\n", 2, "start with #"),
        ("# ---\n# model = \n# ---\n", 1, "not TOML"),
        ("# ---\n# colour = \"red\"\n# ---\n", 1, "unknown key 'colour'"),
        ("# ---\n# model = \"toaster\"\n# ---\n", 1, "unknown model"),
        ("# ---\n# transports = [\"usb\"]\n# ---\n", 1, "unknown transport"),
        ("# ---\n# key = \"zz\"\n# ---\n", 1, "hexadecimal"),
        ("# ---\n# [vars]\n# 1X = \"1\"\n# ---\n", 1, "bad variable name"),
        ("# ---\n# [vars]\n# X = 1\n# ---\n", 1, "a value is a string"),
        ("# ---\n# [vars]\n# X = { random = 0 }\n# ---\n", 1, "random takes"),
        ("# ---\n# [[cases]]\n# id = \"a\"\n# [[cases]]\n# id = \"a\"\n# ---\n", 1, "differ"),
        ("# ---\n# clock = -1\n# ---\n", 1, "clock"),
    ],
)
def test_a_bad_block_names_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(FrontMatterError) as caught:
        parse_front_matter(text)
    assert caught.value.line == line and message in str(caught.value)


def test_a_bad_key_is_never_echoed() -> None:
    with pytest.raises(FrontMatterError) as caught:
        parse_front_matter('# ---\n# key = "secretzz"\n# ---\n')
    assert "secret" not in str(caught.value)
