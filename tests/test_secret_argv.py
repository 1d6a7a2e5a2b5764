"""No secret on the command line, anywhere: every option of both console scripts whose name says
it carries a secret (a PIN, password, key, response, secret, code or token) takes no plain value.

The options are found by walking the real parsers, so a new command is covered without a list to
edit. Only the forms `add_secret_option` gives may carry such a name: `--X-stdin` (a flag),
`--X-file FILE` (a path), `--X-env VAR` (a variable's name) and `--X` itself, which is refused at
parsing with one line that never repeats the value. `NOT_SECRETS` names the few options whose
name says a secret word but whose value is none, each with the reason; it must not go stale.
`CONTRACT` is the one allow-list of plain secret options: exactly the seven whose plain form
/work/shared/DESIGN.md ("Contracts other tools rely on") promises to external tools; it is checked
against the parsers both ways (each takes a plain value beside its three forms, and no other
option does).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from types import ModuleType

import pytest

from emulator import commands as device_commands
from host_bridge import commands as bridge_commands
from slsio.cli import build_parser
from slsio.secret_args import OffTheCommandLine
from tests.secret_env import shown

SECRET_WORDS = frozenset(
    {"pin", "password", "passcode", "response", "key", "secret", "code", "token", "otp"}
)
FORMS = ("-stdin", "-file", "-env")
NOT_SECRETS: dict[tuple[str, str], str] = {
    ("slsemu image new", "--pin-mode"): "a choice: where a DSC+ PIN counts",
    ("slsbridge provision", "--pin-mode"): "a choice: where a DSC+ PIN counts",
    ("slsbridge serve", "--tls-key"): "the path of a PEM file (0600), not the key",
    ("slsbridge serve", "--rate-per-key"): "a number of requests per API key",
    ("slsbridge unlock", "--secret"): "a choice: which guess budget to clear",
}
CONTRACT_REASON = "DESIGN.md contract"
CONTRACT: dict[tuple[str, str], str] = {
    ("slsemu ocra", "--key"): CONTRACT_REASON,
    ("slsemu ocra", "--pin"): CONTRACT_REASON,
    ("slsemu ocra", "--pin-hash"): CONTRACT_REASON,
    ("slsemu image new", "--key"): CONTRACT_REASON,
    ("slsemu image new", "--pin"): CONTRACT_REASON,
    ("slsbridge provision", "--pin"): CONTRACT_REASON,
    ("slsbridge verify", "--response"): CONTRACT_REASON,
}
TOOLS: dict[str, ModuleType] = {"slsemu": device_commands, "slsbridge": bridge_commands}
VALUE = "2468135790"


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command parser of `parser`, with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def secret_named(option: str) -> bool:
    """Whether a word of `option` (split at `-`) says it carries a secret."""
    return not SECRET_WORDS.isdisjoint(option.lstrip("-").split("-"))


def walk() -> list[tuple[str, tuple[str, ...], str, argparse.Action]]:
    """(tool, command words, option, action) for every option named like a secret."""
    found = []
    for tool, package in TOOLS.items():
        for path, parser in commands(build_parser(tool, "", package), ()):
            for action in parser._actions:
                for option in action.option_strings:
                    if option.startswith("--") and secret_named(option):
                        found.append((tool, path, option, action))
    return found


SECRET_OPTIONS = walk()


def test_the_walk_finds_the_known_secret_options() -> None:
    """A guard on the walk itself: it reaches nested commands of both tools."""
    names = {(tool, " ".join(path), option) for tool, path, option, _ in SECRET_OPTIONS}
    for known in [
        ("slsbridge", "verify", "--response"), ("slsbridge", "login", "--pin"),
        ("slsbridge", "pskc import", "--pin"), ("slsbridge", "ibkey submit", "--token"),
        ("slsbridge", "share request", "--owner-password"), ("slsemu", "image new", "--key"),
        ("slsemu", "ocra", "--pin-hash"), ("slsemu", "totp", "--key"),
    ]:
        assert known in names


def plain_secret_options() -> list[tuple[str, str]]:
    """(command, option) for every option named like a secret that takes a plain value."""
    plain = []
    for tool, path, option, action in SECRET_OPTIONS:
        where = " ".join((tool, *path))
        if (where, option) in NOT_SECRETS:
            continue
        if isinstance(action, OffTheCommandLine) or action.nargs == 0:
            continue  # `--X` refused; `--X-stdin` and other flags carry no value
        base = next((option[: -len(form)] for form in FORMS if option.endswith(form)), None)
        if base is not None and (_refused(where, base) or (where, base) in CONTRACT):
            continue  # a path or a variable name, beside `--X` (refused, or the contract's)
        plain.append((where, option))
    return plain


def test_no_option_named_like_a_secret_takes_a_plain_value_but_the_contract() -> None:
    """Both ways: every plain secret option is in `CONTRACT`, and every entry is one."""
    assert sorted(plain_secret_options()) == sorted(CONTRACT)
    assert set(CONTRACT.values()) == {CONTRACT_REASON}


@pytest.mark.parametrize(("where", "option"), sorted(CONTRACT))
def test_a_contract_option_keeps_the_three_forms_and_warns_of_ps(
    where: str, option: str
) -> None:
    present = {(" ".join((tool, *path)), name): action
               for tool, path, name, action in SECRET_OPTIONS}
    action = present[(where, option)]
    assert not isinstance(action, OffTheCommandLine) and action.nargs is None
    assert action.help is not None and "shows in ps" in action.help
    for form in FORMS:
        assert form in action.help and (where, f"{option}{form}") in present


def test_the_exceptions_are_still_there_and_not_secrets() -> None:
    present = {(" ".join((tool, *path)), option): action
               for tool, path, option, action in SECRET_OPTIONS}
    for where_option, reason in NOT_SECRETS.items():
        action = present[where_option]  # a stale exception fails here
        assert reason and not isinstance(action, OffTheCommandLine)
        assert action.choices is not None or action.type is not None  # a choice, number, path


def _refused(where: str, option: str) -> bool:
    return any(
        isinstance(action, OffTheCommandLine)
        for tool, path, name, action in SECRET_OPTIONS
        if " ".join((tool, *path)) == where and name == option
    )


REFUSED = [
    pytest.param(tool, path, option, id=" ".join((tool, *path, option)))
    for tool, path, option, action in SECRET_OPTIONS
    if isinstance(action, OffTheCommandLine)
]


@pytest.mark.parametrize("spelling", ["separate", "equals"])
@pytest.mark.parametrize(("tool", "path", "option"), REFUSED)
def test_a_plain_secret_is_refused_in_one_line_that_never_repeats_it(
    tool: str, path: tuple[str, ...], option: str, spelling: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [option, VALUE] if spelling == "separate" else [f"{option}={VALUE}"]
    with pytest.raises(SystemExit) as exit_info:
        build_parser(tool, "", TOOLS[tool]).parse_args([*path, *argv])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and VALUE not in err
    assert f"{option}-stdin, {option}-file FILE or {option}-env VAR" in err


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["hotp", "--ke=2468135790", "--counter", "1"], "ambiguous option: --ke could match"),
        (["hotp", "--key-stdin", "2468135790", "--counter", "1"], "1 value(s) (not repeated"),
        (["hotp", "--key-stdin", "-2468135790", "--frob=2468135790", "--counter", "1"],
         "arguments: --frob, 1 value"),
    ],
)
def test_argparse_errors_never_quote_a_stray_value(
    argv: list[str], shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value in the wrong place (after a flag, glued to an abbreviation) is not repeated."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser("slsemu", "", device_commands).parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and VALUE not in err and shown in err


def test_the_leak_check_finds_a_secret_as_a_value_not_inside_other_digits() -> None:
    """`tests.secret_env.shown`, which the output checks use: a PIN printed as a value is found,
    the same digits inside a timestamp or serial are not (that flaked a plain substring test)."""
    assert shown("2468", '{"pin": "2468"}') and shown("2468", "pin=2468\n")
    assert shown("44862446", "response 44862446 accepted")
    assert not shown("2468", '{"at": 1796318374.0624683, "serial": "DC5291024680"}')
