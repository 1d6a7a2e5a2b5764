"""The pytest plugin as a user runs it (pytester): `.sls` items, their reports, options, markers."""

from __future__ import annotations

import textwrap

# pytester's inline runs forget the modules a run imported; cryptography's Rust bindings cannot be
# imported twice, so everything an item touches is imported here, once, before any run.
import pytest

from emulator.pytest_plugin.front_matter import SlsSpec
from emulator.pytest_plugin.runner import make_device
from emulator.pytest_plugin.serving import serve_image

LOGIN = """\
# ---
# model = "dscplus"
# [vars]
# PIN = "1234"
# CHALLENGE = { random = 6 }
# ---
press POWER
expect "PIN>"
type ${PIN}
press OK
expect "CHALLNG>"
type ${CHALLENGE}
expect "${CHALLENGE}"
press OK
expect /[0-9]{8}/
capture RESPONSE
"""


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child pytest loads this plugin (and what a test names) only: other installed plugins
    would make every run slower and say nothing about this one. `make test` itself loads it
    through its entry point."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


PLUGIN = "emulator.pytest_plugin"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a child process, as a user runs it. (Not inline: an inline run forgets the
    modules it imported, and cryptography's Rust bindings cannot be imported a second time.)"""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", PLUGIN, *args)


def write(pytester: pytest.Pytester, name: str, text: str) -> None:
    pytester.path.joinpath(name).write_text(textwrap.dedent(text))


def test_sls_files_are_items_only_when_asked_for(pytester: pytest.Pytester) -> None:
    write(pytester, "login.sls", LOGIN)
    run(pytester).assert_outcomes()  # not collected without --sls
    run(pytester, "--sls").assert_outcomes(passed=1)


def test_the_ini_option_collects_them_for_good(pytester: pytest.Pytester) -> None:
    write(pytester, "login.sls", LOGIN)
    pytester.makeini("[pytest]\nsls = true\nsls_transports = inprocess serial\n")
    result = run(pytester, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*login.sls::inprocess PASSED*", "*login.sls::serial PASSED*"])


def test_a_failed_expect_reports_file_line_statement_displays_and_last_steps(
    pytester: pytest.Pytester,
) -> None:
    write(pytester, "broken.sls", LOGIN.replace('expect "CHALLNG>"', 'expect "CHALLENGE>"'))
    result = run(pytester, "--sls")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "broken.sls:11: expect \"CHALLENGE>\"",
            '  expected: "CHALLENGE>"',
            '  display:  "CHALLNG>"',
            "last steps (inprocess):",
            '*7  press POWER*"PIN>"',
            '*9  type ${PIN}*PIN>*',
            '  >   11  expect "CHALLENGE>"*"CHALLNG>"',
            # pytest 9 adds " - <first line of the report>" to the summary; pytest 8 does not
            "FAILED broken.sls::inprocess*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "1234" not in result.stdout.str()  # the PIN is shown as ${PIN}, never its value


def test_the_first_failure_stops_the_item_unless_keep_going(pytester: pytest.Pytester) -> None:
    write(pytester, "two.sls", 'press POWER\nexpect "X"\nexpect "Y"\n')
    result = run(pytester, "--sls")
    assert "line 3" not in result.stdout.str()
    result = run(pytester, "--sls", "--sls-keep-going")
    result.stdout.fnmatch_lines(['  line 3: expected: "Y"', '          display:  "PIN>"'])


def test_a_device_error_and_a_missing_variable_fail_the_item_in_one_line(
    pytester: pytest.Pytester,
) -> None:
    write(pytester, "button.sls", "press POWER\npress APPROVE\n")
    write(pytester, "var.sls", "press POWER\ntype ${NOPE}\n")
    result = run(pytester, "--sls")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["button.sls:2: press APPROVE", "  press: dscplus has no button 'APPROVE'",
         "var.sls:2: type ${NOPE}", "  variable ${NOPE} is not set*"]
    )


def test_a_bad_script_or_front_matter_is_a_collection_error_naming_the_line(
    pytester: pytest.Pytester,
) -> None:
    write(pytester, "bad.sls", "press POWER\npress ok now\n")
    write(pytester, "front.sls", "# ---\n# model = \"toaster\"\n# ---\npress POWER\n")
    result = run(pytester, "--sls")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*bad.sls:2: press takes one button*", "*front.sls:1: *toaster*"])


def test_cases_parametrise_and_transports_select(pytester: pytest.Pytester) -> None:
    write(
        pytester,
        "scc.sls",
        """\
        # ---
        # model = "scc"
        # transports = ["inprocess", "tui"]
        # [[cases]]
        # id = "low"
        # N = "1"
        # [[cases]]
        # id = "high"
        # N = "224"
        # ---
        press POWER
        type ${N}
        press OK
        expect /${N} [0-9A-Z]{3}/
        """,
    )
    result = run(pytester, "--sls", "--sls-transport", "all", "-v")
    result.assert_outcomes(passed=4)  # serial is not among the file's transports
    result.stdout.fnmatch_lines(["*scc.sls::inprocess?low? PASSED*", "*scc.sls::tui?high? PASSED*"])


def test_markers_select_by_transport_and_model(pytester: pytest.Pytester) -> None:
    write(pytester, "login.sls", LOGIN)
    write(pytester, "scc.sls", '# ---\n# model = "scc"\n# ---\npress POWER\nexpect "INDEX>"\n')
    args = ["--sls", "--sls-transport", "inprocess", "--sls-transport", "serial"]
    run(pytester, *args, "-m", "sls_scc").assert_outcomes(passed=2)
    run(pytester, *args, "-m", "sls_serial and sls_dscplus").assert_outcomes(passed=1)
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.sls_tui:*", "@pytest.mark.sls_ibkey:*"])


def test_sls_port_runs_the_serial_items_against_a_device_on_a_line(
    pytester: pytest.Pytester,
) -> None:
    write(pytester, "login.sls", LOGIN)
    image = make_device(SlsSpec(), pytester.path, pytester.path)
    with serve_image(image, clock=1_700_000_000) as path:
        result = run(pytester, "--sls", f"--sls-port={path}", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*login.sls::serial PASSED*"])


def test_items_run_under_xdist(pytester: pytest.Pytester) -> None:
    for number in range(4):
        write(pytester, f"login{number}.sls", LOGIN)
    result = run(pytester, "-p", "xdist.plugin", "--sls", "-n", "2")
    result.assert_outcomes(passed=4)
