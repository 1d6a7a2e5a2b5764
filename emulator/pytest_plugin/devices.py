"""What the `sls_device` and `sls_serial_pair` fixtures hand a test.

`SlsDevice` is an emulated device in this process on a virtual clock: `press`, `type`, `hold`,
`wait` and `display`, plus `run` for a script written inline. `SerialPair` is a device served on a
pty (see `serving`) with the one serial client connected to it. Both start from an image made by
`runner.make_device`, so a fixture device and an `.sls` item's device are made the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.session import DeviceSession
from firmware_model.device import Device
from firmware_model.image import DeviceImage
from firmware_model.script import ScriptResult, ScriptTarget, parse_script, run_script

from .front_matter import DEFAULT_CLOCK, SlsSpec
from .runner import make_device

if TYPE_CHECKING:  # the serial modules load only when a test asks for a serial pair
    from emulator.serial_target import SerialScriptTarget
    from slsio.serial_client import SerialClient


def run_text(target: ScriptTarget, text: str, variables: Mapping[str, str]) -> ScriptResult:
    """Run a script given as text on `target` (stops at the first failed expectation)."""
    return run_script(parse_script(text), target, variables)


class SlsDevice:
    """An emulated device in this process, on a virtual clock (a `ScriptTarget` too)."""

    def __init__(self, session: DeviceSession) -> None:
        self.session = session

    @property
    def device(self) -> Device:
        """The firmware model (read its state; send events through this object)."""
        return self.session.device

    @property
    def image_path(self) -> Path:
        return self.session.image_path

    @property
    def image(self) -> DeviceImage:
        """The device's image as it is now (the key is in it: never print it)."""
        return self.session.device.to_image()

    @property
    def display(self) -> str:
        """The display now ("" when off)."""
        return self.session.read_display()

    @property
    def now(self) -> float:
        return self.session.now

    def press(self, *buttons: str) -> str:
        """Press each button in turn; the display after the last."""
        for button in buttons:
            self.session.press(button)
        return self.display

    def type(self, digits: str) -> str:
        """Press each digit in turn; the display after."""
        self.session.type_digits(digits)
        return self.display

    def hold(self, button: str, seconds: float) -> str:
        self.session.hold(button, seconds)
        return self.display

    def wait(self, seconds: float) -> str:
        """Let `seconds` pass on the device clock (nothing really sleeps)."""
        self.session.wait(seconds)
        return self.display

    # ScriptTarget, so `run_script(script, sls_device(...))` works as well
    def type_digits(self, digits: str) -> None:
        self.session.type_digits(digits)

    def read_display(self) -> str:
        return self.display

    def run(self, text: str, **variables: str) -> ScriptResult:
        """Run a keypress script given as text."""
        return run_text(self.session, text, variables)


@dataclass(frozen=True, slots=True)
class SerialPair:
    """A device served on a pty, and a connected client (`target` drives it as a script does)."""

    path: str
    image_path: Path
    target: SerialScriptTarget

    @property
    def client(self) -> SerialClient:
        return self.target.client

    @property
    def display(self) -> str:
        """The display now, read over the line."""
        return self.target.read_display()

    def run(self, text: str, **variables: str) -> ScriptResult:
        """Run a keypress script given as text over the line."""
        return run_text(self.target, text, variables)


@dataclass(frozen=True, slots=True)
class TuiDevice:
    """A device image driven through the headless terminal app, one app per `run` (the image
    keeps the device's state between runs, as a card keeps it between uses)."""

    image_path: Path
    clock: float | None = None

    def run(self, text: str, **variables: str) -> ScriptResult:
        """Run a keypress script given as text through the app's keymap."""
        from emulator.targets import open_target

        with open_target(self.image_path, tui=True, clock=self.clock) as target:
            return run_text(target, text, variables)


def open_device(stack: ExitStack, folder: Path, spec: SlsSpec, clock: float) -> SlsDevice:
    """Make the device `spec` describes in `folder` and open it in-process; `stack` closes it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = make_device(spec, folder, folder)
    return SlsDevice(stack.enter_context(DeviceSession(path, clock=clock)))


def open_image(stack: ExitStack, path: Path, clock: float | None = DEFAULT_CLOCK) -> SlsDevice:
    """Open an existing image (one the bridge provisioned, say) in-process (`clock=None`: the
    device clock starts at the wall clock, as a host that checks times expects)."""
    return SlsDevice(stack.enter_context(DeviceSession(path, clock=clock)))


def open_pair(
    stack: ExitStack, folder: Path, spec: SlsSpec, clock: float | None, image: Path | None = None
) -> SerialPair:
    """Serve `image` (default: the device `spec` describes, made in `folder`) on a pty, its
    virtual clock starting at `clock` (None: now), and connect the client."""
    from emulator.serial_target import SerialScriptTarget

    from .serving import serve_image

    if image is None:
        folder.mkdir(parents=True, exist_ok=True)
        image = make_device(spec, folder, folder)
    path = image
    pty = stack.enter_context(serve_image(path, clock=clock))
    target = stack.enter_context(SerialScriptTarget(pty))
    return SerialPair(pty, path, target)


def numbered(folder: Path, prefix: str) -> Iterator[Path]:
    """`folder/prefix-1`, `folder/prefix-2`, ...: one folder per device a test makes."""
    number = 0
    while True:
        number += 1
        yield folder / f"{prefix}-{number}"
