"""Where a keypress script runs: one opener for the CLI (`slsemu script`, `slsemu record`) and the
pytest plugin.

`open_target` returns a context manager that yields a `ScriptTarget`: the image in-process (the
default), a device on a serial line (`port`), or the image through the headless TUI (`tui`). The
serial and TUI modules are imported only when asked for, so the in-process path (and pytest
collection) never pays for Textual.
"""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, cast

from emulator.session import DeviceSession
from firmware_model.script import ScriptTarget
from slsio.cli import UsageError

DEFAULT_BAUD = 115200
"""Used with `port` when no baud is given (unless the serial module names its own)."""

Target = AbstractContextManager[ScriptTarget]


def open_target(
    image: Path | None,
    *,
    port: str | None = None,
    baud: int | None = None,
    tui: bool = False,
    keymap: str | None = None,
    clock: float | None = None,
) -> Target:
    """The device a script drives: in-process (default), serial (`port`) or TUI (`tui`)."""
    if port is not None:
        module = optional_module("emulator.serial_target", "running scripts over serial (--port)")
        speed = baud if baud is not None else getattr(module, "DEFAULT_BAUD", DEFAULT_BAUD)
        return cast(Target, module.SerialScriptTarget(port, speed))
    if image is None:
        raise UsageError("an image is needed (unless a serial port is given)")
    if tui:
        module = optional_module("emulator.tui.script_target", "running scripts in the TUI (--tui)")
        extra = {} if clock is None else {"clock": clock}
        return cast(Target, module.TuiScriptTarget(image, keymap, **extra))
    return DeviceSession(image, clock=clock)


def optional_module(name: str, feature: str) -> Any:
    """Import `name`, or say (exit 2) that `feature` is not available in this build."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = "" if exc.name == name else f" (missing module {exc.name})"
        raise UsageError(f"{feature} is not available in this build{missing}") from None
