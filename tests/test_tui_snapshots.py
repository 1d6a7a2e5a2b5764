"""Text snapshots of the faceplates at a fixed terminal size (100x40).

The expected text lives in `tests/snapshots/tui_*.txt`; it is compared exactly. After a deliberate
change of the look, regenerate with `SLSEMU_UPDATE_SNAPSHOTS=1 pytest tests/test_tui_snapshots.py`
and review the diff. Only the device pane is compared (the event log has wall-clock stamps).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from emulator.images import save_image
from emulator.session import DeviceSession
from emulator.tui.app import SlsApp
from emulator.tui.faceplates import SccFaceplate
from emulator.tui.keymap import load_keymap
from firmware_model.device import ImageSpec
from firmware_model.models import new_image
from tests.tui_pilot import settle

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("SLSEMU_UPDATE_SNAPSHOTS") == "1"
SIZE = (100, 40)
CLOCK = 1_800_000_000.0
KEY = bytes(range(1, 21))

# name → (model, serial, image options, keys pressed before the snapshot)
DEVICES: dict[str, tuple[str, str, dict[str, str], tuple[str, ...]]] = {
    "dscplus": ("dscplus", "DP0000000001", {"pin_mode": "soft"}, ("p", "1", "2")),
    "gold": ("gold", "GD0000000001", {"pin": "1234"}, ("p",)),
    "platinum": ("platinum", "PT0000000001", {"pin": "1234"}, ()),
    "dsc": ("dsc", "DS0000000001", {"pin": "1234"}, ("p", "1")),
    "scc": ("scc", "SC0000000001", {}, ()),
    "ibkey": ("ibkey", "IK0000000001", {"pin": "1234"}, ("p", "4", "2")),
}


def device_pane_text(app: SlsApp) -> str:
    strips = app.screen._compositor.render_strips()
    region = app.query_one("#devices").region
    lines = [
        strip.text[region.x : region.x + region.width].rstrip()
        for strip in strips[region.y : region.y + region.height]
    ]
    return "\n".join(lines).rstrip() + "\n"


@pytest.fixture
def images(tmp_path: Path, entropy: Callable[[int], bytes]) -> dict[str, Path]:
    paths = {}
    for name, (model, serial, options, _) in DEVICES.items():
        path = tmp_path / f"{name}.img"
        spec = ImageSpec(model, serial, KEY, options.get("pin"), options.get("pin_mode"))
        save_image(path, new_image(spec, entropy))
        paths[name] = path
    return paths


async def show(pilot: Pilot[None], app: SlsApp, serial: str) -> None:
    app.show_device(serial)
    await settle(pilot, lambda: app.focused is app.faceplate(serial), f"{serial} focused")


async def press(pilot: Pilot[None], session: DeviceSession, key: str) -> None:
    before = session.last_reaction  # each press makes a new Reaction
    await pilot.press(key)
    await settle(pilot, lambda: session.last_reaction is not before, f"{key!r} pressed")


async def test_faceplate_snapshots(images: dict[str, Path]) -> None:
    mismatches = []
    with contextlib.ExitStack() as stack:
        sessions = [
            stack.enter_context(DeviceSession(images[name], clock=CLOCK)) for name in DEVICES
        ]
        app = SlsApp(sessions, keymap=load_keymap(None), real_time=False)
        async with app.run_test(size=SIZE) as pilot:
            for name, (_, serial, _, keys) in DEVICES.items():
                await show(pilot, app, serial)
                face = app.faceplate(serial)
                if isinstance(face, SccFaceplate):
                    face.highlight = (3, 200)
                for key in keys:  # one at a time: each must reach the card before the next
                    await press(pilot, app.session(serial), key)
                await pilot.pause()
                text = device_pane_text(app)
                path = SNAPSHOTS / f"tui_{name}.txt"
                if UPDATE:
                    path.parent.mkdir(exist_ok=True)
                    path.write_text(text, encoding="utf-8")
                elif not path.exists() or path.read_text(encoding="utf-8") != text:
                    mismatches.append(f"{name}:\n{text}")
    assert not mismatches, "faceplate snapshots differ:\n" + "\n".join(mismatches)
