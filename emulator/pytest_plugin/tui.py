"""The `sls_tui` fixture's factory: the terminal app on a test's devices, ready for Pilot."""

from __future__ import annotations

from emulator.tui.app import SlsApp
from emulator.tui.keymap import load_keymap
from emulator.tui.login_pane import LoginPane
from emulator.tui.withdrawals import withdrawal_hooks

from .bridge import SlsBridge
from .devices import SlsDevice


def make_app(
    *devices: SlsDevice,
    bridge: SlsBridge | None = None,
    user: str | None = None,
    keymap: str | None = None,
) -> SlsApp:
    """The app showing `devices` (their sessions: what the app does, the test sees), on virtual
    time; with `bridge`, the login pane in front of it."""
    if not devices:
        raise ValueError("sls_tui needs at least one device")
    login = None
    if bridge is not None:
        withdraw, limits = withdrawal_hooks()
        login = LoginPane(bridge.connect, user=user, withdraw=withdraw, limits=limits)
    sessions = [device.session for device in devices]
    return SlsApp(sessions, keymap=load_keymap(keymap), login=login, real_time=False)
