"""`sls_items`: `.sls` test items per second through pytest, against a bare loop.

A suite of `SCRIPTS` generated DSC+ login scripts (each its own file, front matter and challenge)
runs through `pytest --sls` (`pytest.main` in this process: collection, the plugin's items,
reporting) on the in-process transport. The baseline runs the same files in this
process with a bare loop over what an item does (`emulator.pytest_plugin.runner.run_test_script`:
parse, make the device image, run the script), so the ratio (project / baseline) is what pytest
and the plugin cost on top. Target: ratio >= 0.5. pytest loads only this plugin
(`PYTEST_DISABLE_PLUGIN_AUTOLOAD`), so other installed plugins do not blur the figure.

The files and the device images sit on a tmpfs when there is one (`/dev/shm`): every DSC+ press
is durable (battery), so on a disk both sides would mostly measure fsync.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import pytest

from benchmarks.harness import BenchResult
from emulator.pytest_plugin.front_matter import parse_front_matter
from emulator.pytest_plugin.runner import fill_values, run_test_script
from firmware_model.script import parse_script

SCRIPTS = 1000
ROUNDS = 3
AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
PLUGIN = "emulator.pytest_plugin"
TEMPLATE = """\
# ---
# model = "dscplus"
# [vars]
# PIN = "1234"
# CHALLENGE = "{challenge:06d}"
# ---
press POWER
expect "PIN>"
type ${{PIN}}
expect "PIN>****"
press OK
expect "CHALLNG>"
type ${{CHALLENGE}}
expect "${{CHALLENGE}}"
press OK
expect /[0-9]{{8}}/
capture RESPONSE
"""


def _scratch() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _write_suite(folder: Path) -> list[Path]:
    paths = []
    for number in range(SCRIPTS):
        path = folder / f"login_{number:04d}.sls"
        path.write_text(TEMPLATE.format(challenge=number * 997 % 1_000_000))
        paths.append(path)
    return paths


def _through_pytest(folder: Path) -> float:
    """Seconds for `pytest --sls FOLDER`, run in this process (`pytest.main`): collection, the
    items, the reports — not the interpreter's start-up, which is no per-item cost."""
    out = io.StringIO()
    saved = os.environ.get(AUTOLOAD)
    os.environ[AUTOLOAD] = "1"
    try:
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = pytest.main(
                [str(folder), "--sls", "-q", "-p", "no:cacheprovider", "-p", PLUGIN,
                 "--rootdir", str(folder)]
            )
        elapsed = time.perf_counter() - start
    finally:
        if saved is None:
            os.environ.pop(AUTOLOAD, None)
        else:
            os.environ[AUTOLOAD] = saved
    if code != 0 or f"{SCRIPTS} passed" not in out.getvalue():
        raise RuntimeError(f"pytest did not pass the suite: {out.getvalue()[-500:]}")
    return elapsed


def _bare_loop(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        text = path.read_text()
        spec, script = parse_front_matter(text), parse_script(text)
        with tempfile.TemporaryDirectory(prefix="sls-") as folder:
            run = run_test_script(script, spec, "inprocess", Path(folder), path,
                                  fill_values(spec, None))
        if not run.result.passed:
            raise RuntimeError(f"{path}: {run.result.failures}")
    return time.perf_counter() - start


def run() -> list[BenchResult]:
    with tempfile.TemporaryDirectory(prefix="bench-sls-", dir=_scratch()) as root:
        suite = Path(root) / "suite"
        suite.mkdir()
        paths = _write_suite(suite)
        best_pytest = best_loop = float("inf")
        previous = tempfile.tempdir
        tempfile.tempdir = root  # the baseline's per-run folders on the same tmpfs
        try:
            for _ in range(ROUNDS):
                best_pytest = min(best_pytest, _through_pytest(suite))
                best_loop = min(best_loop, _bare_loop(paths))
        finally:
            tempfile.tempdir = previous
    project, baseline = SCRIPTS / best_pytest, SCRIPTS / best_loop
    return [
        BenchResult(
            "sls_items", project, "items/s", project / baseline, "bare_script_loop",
            extra=f"target>=0.5 baseline_rate={baseline:.1f}/s",
        )
    ]
