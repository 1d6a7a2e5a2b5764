"""From a device session to what the TUI draws: its `DeviceView` snapshot and its faceplate.

The app (`emulator.tui.app`) calls these after every event and when it mounts a device; the
faceplate classes themselves are `emulator.tui.faceplates` (one per `FaceKind`, table-driven).
"""

from __future__ import annotations

from emulator.session import DeviceSession
from emulator.tui.faceplates import FACEPLATES, DeviceView, Faceplate, SccFaceplate
from emulator.tui.keymap import Keymap

__all__ = ["device_view", "make_faceplate"]


def device_view(session: DeviceSession, serial: str) -> DeviceView:
    """The drawable snapshot of a session's device."""
    device = session.device
    return DeviceView(
        model=device.model,
        serial=serial,
        display=device.display,
        powered=device.powered,
        buttons=device.buttons,
        status=device.status(),
    )


def make_faceplate(
    session: DeviceSession, view: DeviceView, widget_id: str, keymap: Keymap
) -> Faceplate:
    """The faceplate for a session's device model (table-driven: `FACEPLATES`)."""
    cls = FACEPLATES.get(view.model)
    if cls is None:
        raise ValueError(f"no faceplate for model {view.model!r}")
    if cls is SccFaceplate:
        card = getattr(session.device, "card", None)
        grid: tuple[str, ...] = card.grid() if card is not None else ()
        return SccFaceplate(view, grid, id=widget_id)
    return cls(view, id=widget_id, shortcuts=keymap.shortcuts(view.buttons))
