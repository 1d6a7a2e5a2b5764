"""The TUI's built-in demo: a user with a DSC+, a Security Code Card and an IB Key.

`ensure_demo` is idempotent: the first run creates the user and provisions each device through
the host bridge (one key, written to the store and the image in one transaction); later runs find
them and change nothing. A run killed half-way is finished by the next one, because each device is
made only when its image file is missing — and the bridge writes the image inside the same store
transaction that records the device.

DEMO ONLY: the password and PINs below are published in docs/tui.md so a newcomer can log in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_model.ibkey import IBKEY_SUITE
from slsio.home import data_home

if TYPE_CHECKING:
    from host_bridge.bridge import Bridge

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - published demo credential, see docs/tui.md
DEMO_PIN = "1234"
DEMO_FOLDER = "tui-demo"


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """One demo device: model, image file name and the PIN it is provisioned with."""

    model: str
    image_name: str
    pin: str | None
    suite: str | None = None


DEMO_DEVICES: tuple[DemoDevice, ...] = (
    DemoDevice("dscplus", "dscplus.img", DEMO_PIN),
    DemoDevice("scc", "scc.img", None),
    # The suite is named so the bridge keeps the app PIN, which the IB Key's OCRA suite hashes
    # into every response.
    DemoDevice("ibkey", "ibkey.img", DEMO_PIN, IBKEY_SUITE),
)

# model → extra image options for the demo device (IB Key: the app's user is the demo user)
_OPTIONS: Mapping[str, Mapping[str, str]] = {"ibkey": {"username": DEMO_USER}}


@dataclass(frozen=True, slots=True)
class DemoSetup:
    """What the demo consists of: the user and the device images, in display order."""

    user: str
    images: tuple[Path, ...]
    created: tuple[str, ...]


def demo_folder(home: Path | None = None) -> Path:
    """Where the demo images live (inside the data folder)."""
    return (home or data_home()) / DEMO_FOLDER


def demo_images(folder: Path | None = None) -> tuple[Path, ...] | None:
    """The demo's image files if every one exists (the demo is set up), else None."""
    folder = folder or demo_folder()
    images = tuple(folder / device.image_name for device in DEMO_DEVICES)
    return images if all(path.is_file() for path in images) else None


def ensure_demo(bridge: Bridge, folder: Path | None = None) -> DemoSetup:
    """Create whatever part of the demo is missing; return the demo. Idempotent."""
    from host_bridge.errors import BridgeError

    folder = folder or demo_folder(bridge.home)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    bridge.init()
    try:
        bridge.user(DEMO_USER)
    except BridgeError:
        bridge.add_user(DEMO_USER, DEMO_PASSWORD)
    created: list[str] = []
    images: list[Path] = []
    for device in DEMO_DEVICES:
        path = folder / device.image_name
        if not path.exists():
            result = bridge.provision(
                DEMO_USER,
                device.model,
                pin=device.pin,
                image_path=path,
                suite=device.suite,
                options=_OPTIONS.get(device.model),
            )
            if result.status == "pending":
                # The demo phone is already set up: a real IB Key is activated with the SMS
                # token, which the emulated app does not need when it is made with its PIN.
                bridge.activate(result.serial)
            created.append(result.serial)
        images.append(path)
    return DemoSetup(DEMO_USER, tuple(images), tuple(created))
