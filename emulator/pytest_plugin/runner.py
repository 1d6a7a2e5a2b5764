"""Run one `.sls` test file on one transport: the work of a test item, without pytest.

The pytest item and the `sls_items` benchmark's baseline both call `run_test_script`, so the
benchmark's ratio measures exactly what pytest and the plugin add.

A run makes the device (a fresh image from the front matter, or a copy of the named image) in
`folder`, fills in the values (a `{ random = N }` value is drawn now, from the OS), opens the
transport (in-process session, the headless TUI, a device served on a pty from a thread, or the
device on `port`) and runs the script through `firmware_model.script.run_script`, keeping the last
few steps for the failure report.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emulator.images import save_image
from emulator.targets import open_target
from firmware_model.device import ImageSpec
from firmware_model.models import make_serial, new_image, random_digits
from firmware_model.script import Script, ScriptResult, ScriptTarget, Step, run_script
from slsio.files import SECRET_MODE

from .front_matter import Case, RandomDigits, SlsSpec, Value

KEY_BYTES = 20
LAST_STEPS = 8
IMAGE_NAME = "device.img"


@dataclass(frozen=True, slots=True)
class TestRun:
    """A finished run: the script's result and its last few steps (oldest first)."""

    result: ScriptResult
    steps: tuple[Step, ...]


def make_device(spec: SlsSpec, folder: Path, source: Path) -> Path:
    """The device image for one run, in `folder`: a copy of `spec.image` (relative to the test
    file `source`) or a fresh image of `spec.model`."""
    path = folder / IMAGE_NAME
    if spec.image is not None:
        shutil.copyfile(source.parent / spec.image, path)
        os.chmod(path, SECRET_MODE)
        return path
    image = new_image(
        ImageSpec(
            model=spec.model,
            serial=make_serial(spec.model, os.urandom),
            key=spec.key if spec.key is not None else os.urandom(KEY_BYTES),
            pin=spec.pin,
            pin_mode=spec.pin_mode,
            suite=spec.suite,
            options=spec.options,
        ),
        os.urandom,
    )
    save_image(path, image)
    return path


def fill_values(spec: SlsSpec, case: Case | None) -> dict[str, str]:
    """The variables of one run: the front matter's, then the case's; random ones drawn now."""
    merged: dict[str, Value] = dict(spec.values)
    if case is not None:
        merged.update(case.values)
    return {name: _draw(value) for name, value in merged.items()}


def _draw(value: Value) -> str:
    if isinstance(value, RandomDigits):
        return random_digits(value.count, os.urandom)
    return value


@contextmanager
def transport_target(
    transport: str, image: Path | None, clock: float, *, port: str | None = None,
    baud: int | None = None,
) -> Iterator[ScriptTarget]:
    """The script target of `transport`; with `port`, the device on that line instead."""
    if port is not None:
        with open_target(None, port=port, baud=baud) as target:
            yield target
        return
    if transport == "serial":
        from .serving import serve_image

        assert image is not None
        with serve_image(image, clock=clock) as path, open_target(None, port=path) as target:
            yield target
        return
    with open_target(image, tui=transport == "tui", clock=clock) as target:
        yield target


def run_test_script(
    script: Script,
    spec: SlsSpec,
    transport: str,
    folder: Path,
    source: Path,
    variables: Mapping[str, str],
    *,
    port: str | None = None,
    baud: int | None = None,
    keep_going: bool = False,
    steps: deque[Step] | None = None,
) -> TestRun:
    """Make the device, run `script` on `transport`, return the result and the last steps.

    `steps` (a bounded deque) receives the steps as they happen, so a caller still has them when
    the run stops with a `ScriptError`."""
    last: deque[Step] = steps if steps is not None else deque(maxlen=LAST_STEPS)
    script.check_variables(variables)  # before a device is made
    image = None if port is not None else make_device(spec, folder, source)
    with transport_target(transport, image, spec.clock, port=port, baud=baud) as target:
        result = run_script(script, target, variables, trace=last.append, keep_going=keep_going)
    return TestRun(result, tuple(last))
