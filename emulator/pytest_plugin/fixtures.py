"""The plugin's fixtures: `sls_device`, `sls_bridge`, `sls_serial_pair`, `sls_tui`.

Each device fixture is a factory taking the front matter's fields as keyword arguments (`model`,
`pin`, `pin_mode`, `key`, `suite`, `options`, `clock`); every device and server a test made is
closed when the test ends. See docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .bridge import SlsBridge
from .devices import SerialPair, SlsDevice, numbered, open_device, open_pair
from .front_matter import DEFAULT_CLOCK, SlsSpec

if TYPE_CHECKING:
    from emulator.tui.app import SlsApp

DEVICE_FIELDS = frozenset({"pin", "pin_mode", "key", "suite", "options"})


DeviceFactory = Callable[..., SlsDevice]
PairFactory = Callable[..., SerialPair]


def _spec(model: str, fields: dict[str, Any]) -> tuple[SlsSpec, Any]:
    """The device a factory call asks for, and its clock (`clock=`, front matter default)."""
    clock = fields.pop("clock", DEFAULT_CLOCK)
    unknown = sorted(set(fields) - DEVICE_FIELDS)
    if unknown:
        known = ", ".join(sorted(DEVICE_FIELDS))
        raise TypeError(f"unknown device field {unknown[0]!r} (known: {known}, clock)")
    return SlsSpec(model=model, **fields), clock


@pytest.fixture
def sls_device(tmp_path: Path) -> Iterator[DeviceFactory]:
    """Factory: `sls_device("dscplus", pin_mode="device", pin="1234")` → an `SlsDevice` (a
    fresh image, random key unless `key=`, in-process, virtual clock)."""
    folders = numbered(tmp_path, "sls-device")
    with ExitStack() as stack:

        def make(model: str = "dscplus", **fields: Any) -> SlsDevice:
            spec, clock = _spec(model, fields)
            return open_device(stack, next(folders), spec, clock)

        yield make


@pytest.fixture
def sls_serial_pair(tmp_path: Path) -> Iterator[PairFactory]:
    """Factory: `sls_serial_pair("dscplus")` → a `SerialPair`: the device served on a pty (virtual
    clock) and the serial client connected to it; `image=PATH` serves an existing image (one
    `sls_bridge` provisioned, say) instead of a new device."""
    folders = numbered(tmp_path, "sls-serial")
    with ExitStack() as stack:

        def make(model: str = "dscplus", *, image: Path | None = None, **fields: Any) -> SerialPair:
            spec, clock = _spec(model, fields)
            return open_pair(stack, next(folders), spec, clock, image)

        yield make


@pytest.fixture
def sls_bridge(tmp_path: Path) -> Iterator[SlsBridge]:
    """A throwaway host store (its own folder): add users, provision devices, open them."""
    with ExitStack() as stack:
        yield SlsBridge(stack, tmp_path / "sls-bridge")


@pytest.fixture
def sls_tui() -> Iterator[Callable[..., SlsApp]]:
    """Factory: `sls_tui(device, ..., bridge=sls_bridge, user="alice")` → the app (not started:
    `async with app.run_test() as pilot:`), on the devices' own sessions, virtual time. With a
    bridge, the login pane logs in against it."""
    from .tui import make_app

    yield make_app
