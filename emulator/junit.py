"""A JUnit XML report for one keypress script, for CI systems outside pytest.

One `<testsuite>` holding one `<testcase>` named after the script file: a failed expectation is a
`<failure>` (its message is the line `slsemu script` prints), bad input or a device error that
stopped the run is an `<error>`. The file is written atomically, so a CI job never reads half a
report.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET  # writing only: nothing here parses XML

from firmware_model.script import ScriptResult
from slsio.files import atomic_write

SUITE_NAME = "slsemu script"
REPORT_MODE = 0o644


def junit_document(
    script: Path, result: ScriptResult | None, seconds: float, error: str | None = None
) -> bytes:
    """The report as bytes: `result` for a run that finished, `error` for one that could not."""
    failed = result is not None and not result.passed
    suite = ET.Element(
        "testsuite",
        name=SUITE_NAME,
        tests="1",
        failures=str(int(failed)),
        errors=str(int(result is None)),
        time=f"{seconds:.3f}",
    )
    case = ET.SubElement(
        suite, "testcase", classname="slsemu.script", name=script.name, file=str(script),
        time=f"{seconds:.3f}",
    )
    if result is None:
        ET.SubElement(case, "error", message=error or "the script did not run")
    elif failed:
        lines = [f"{script}:{failure.line}: {failure.message}" for failure in result.failures]
        node = ET.SubElement(case, "failure", message=lines[0])
        node.text = "\n".join(lines)
    root = ET.Element("testsuites")
    root.append(suite)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def write_junit(
    path: Path, script: Path, result: ScriptResult | None, seconds: float, error: str | None = None
) -> None:
    """Write the report for one script run to `path`."""
    atomic_write(path, junit_document(script, result, seconds, error), REPORT_MODE)
