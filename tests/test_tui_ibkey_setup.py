"""Issue 11, point 5 in the TUI: the IB Key phone's activation and recovery screens (F6) call the
host on the login pane's host thread (KB2260, KB2748)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from emulator.session import DeviceSession
from emulator.tui.app import SlsApp
from emulator.tui.demo_setup import DEMO_PASSWORD, DEMO_PIN, DEMO_USER, ensure_demo
from emulator.tui.ibkey_setup import IbKeySetup
from emulator.tui.keymap import load_keymap
from emulator.tui.login_pane import LoginPane
from firmware_model.ibkey import IbKey, Phase
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from tests.tui_pilot import click_button, settle

SIZE = (100, 40)
CONFIG = BridgeConfig(scrypt_n=1 << 10)


@pytest.fixture
def world(
    slsemu_home: Path, entropy: Callable[[int], bytes]
) -> Iterator[tuple[Bridge, list[DeviceSession]]]:
    """The demo (user demo, DSC+, SCC, IB Key) and one more IB Key waiting for activation."""
    bridge = Bridge.open(slsemu_home, entropy=entropy, config=CONFIG)
    setup = ensure_demo(bridge)
    pending = slsemu_home / "new-ibkey.img"
    bridge.provision(DEMO_USER, "ibkey", image_path=pending)
    with contextlib.ExitStack() as stack:
        sessions = [
            stack.enter_context(DeviceSession(path, clock=1_800_000_000.0))
            for path in (*setup.images, pending)
        ]
        yield bridge, sessions
    bridge.close()


@contextlib.asynccontextmanager
async def phone(
    bridge: Bridge, sessions: list[DeviceSession], session: DeviceSession
) -> AsyncIterator[tuple[SlsApp, Pilot[None]]]:
    """The app with `session`'s phone in front and its setup screen open (F6)."""
    login = LoginPane(lambda: Bridge.open(bridge.home, config=CONFIG), user=DEMO_USER)
    app = SlsApp(sessions, keymap=load_keymap(None), login=login, real_time=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: bool(app.query("#step-done")), "the login pane mounted")
        app.show_device(session.device.to_image().serial, focus=False)
        await pilot.press("f6")
        await settle(pilot, lambda: isinstance(app.screen, IbKeySetup), "the setup screen")
        yield app, pilot


def _status(app: SlsApp) -> str:
    return str(app.screen.query_one("#ibkey-status", Static).content)


async def _fill(pilot: Pilot[None], app: SlsApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#ibkey-{field.replace('_', '-')}", Input).value = value
    await pilot.pause()


async def _click(pilot: Pilot[None], app: SlsApp, button: str) -> None:
    await click_button(pilot, f"#ibkey-{button}")


def _ibkey(sessions: list[DeviceSession], phase: Phase) -> DeviceSession:
    for session in sessions:
        if isinstance(session.device, IbKey) and session.device.phase is phase:
            return session
    raise AssertionError(f"no IB Key in phase {phase}")


async def test_activation_starts_with_username_and_password(
    world: tuple[Bridge, list[DeviceSession]],
) -> None:
    bridge, sessions = world
    session = _ibkey(sessions, Phase.AWAITING_ACTIVATION)
    serial = session.device.to_image().serial
    message = bridge.outbox.latest(serial)
    assert message is not None
    async with phone(bridge, sessions, session) as (app, pilot):
        await _fill(pilot, app, user=DEMO_USER, password="wrong", token=message.code, pin="2580")
        await _click(pilot, app, "do-activate")
        await settle(pilot, lambda: "wrong user name or password" in _status(app), "refused")
        await _fill(pilot, app, password=DEMO_PASSWORD)
        await _click(pilot, app, "do-activate")
        await settle(pilot, lambda: _status(app) == "IB Key activated", "activated")
    assert session.device.phase is Phase.ACTIVE  # type: ignore[attr-defined]
    assert serial in {d.serial for d in bridge.devices(DEMO_USER)}


async def test_android_recovery_credentials_sms_submit(
    world: tuple[Bridge, list[DeviceSession]],
) -> None:
    bridge, sessions = world
    session = _ibkey(sessions, Phase.ACTIVE)
    session.device.reinstall()  # type: ignore[attr-defined]
    session.save()
    async with phone(bridge, sessions, session) as (app, pilot):
        await _click(pilot, app, "choose-android")
        await _fill(pilot, app, rec_user=DEMO_USER, rec_password=DEMO_PASSWORD)
        await _click(pilot, app, "initialize")
        await settle(pilot, lambda: "Activation Token is" in _status(app), "the SMS")
        code = _status(app).split()[-1]
        await _fill(pilot, app, code=code, rec_pin=DEMO_PIN)
        await _click(pilot, app, "submit")
        await settle(pilot, lambda: _status(app) == "IB Key recovered", "recovered")
    assert session.device.phase is Phase.ACTIVE  # type: ignore[attr-defined]


async def test_ios_recovery_yes_fingerprint_done(
    world: tuple[Bridge, list[DeviceSession]],
) -> None:
    bridge, sessions = world
    session = _ibkey(sessions, Phase.ACTIVE)
    session.device.reinstall()  # type: ignore[attr-defined]
    session.save()
    sent = len(bridge.outbox.messages())
    async with phone(bridge, sessions, session) as (app, pilot):
        await _click(pilot, app, "choose-ios")
        await _click(pilot, app, "biometric")
        await settle(pilot, lambda: _status(app) == "IB Key recovered", "recovered")
    assert session.device.phase is Phase.ACTIVE  # type: ignore[attr-defined]
    assert len(bridge.outbox.messages()) == sent  # no SMS on iOS
