"""The older DSC+ generation in the TUI: a login with its `Pn`/`Ch` screens and its response read
in two parts, on the app's own clock (`wait_device`) and on the real-time timer.

Same harness as `test_tui_cards.py`: the demo user and store, with a classic card provisioned for
the demo user beside the demo devices. Waits are on states (`settle`), never on time: on the real
clock the wall clock the app reads is the test's, moved by hand.
"""

from __future__ import annotations

import contextlib
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import Static

from emulator.session import DeviceSession
from emulator.tui import app as app_module
from emulator.tui.app import SlsApp
from emulator.tui.demo_setup import DEMO_USER, ensure_demo
from emulator.tui.keymap import load_keymap
from emulator.tui.login_pane import LoginPane
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from tests.test_tui_app import (
    answer,
    choose,
    display_is,
    log_in_with_password,
    login,
    result_text,
    running,
)
from tests.tui_pilot import settle

CARD_PIN = "4321"
START = 1_800_000_000.0


@dataclass
class Setup:
    bridge: Bridge
    sessions: list[DeviceSession]
    serial: str


@pytest.fixture
def setup(slsemu_home: Path, entropy: Callable[[int], bytes]) -> Iterator[Setup]:
    bridge = Bridge.open(slsemu_home, entropy=entropy, config=BridgeConfig(scrypt_n=1 << 10))
    demo = ensure_demo(bridge)
    image = slsemu_home / "classic.img"
    made = bridge.provision(DEMO_USER, "dscplus_classic", pin=CARD_PIN, image_path=image)
    with contextlib.ExitStack() as stack:
        sessions = [
            stack.enter_context(DeviceSession(path, clock=START))
            for path in (*demo.images, image)
        ]
        yield Setup(bridge, sessions, made.serial)
    bridge.close()


def make_app(setup: Setup, *, real_time: bool = False) -> SlsApp:
    def connect() -> Bridge:  # the pane's own connection, on its host thread
        return Bridge.open(setup.bridge.home, config=BridgeConfig(scrypt_n=1 << 10))

    pane = LoginPane(connect, user=DEMO_USER)
    return SlsApp(setup.sessions, keymap=load_keymap(None), login=pane, real_time=real_time)


def is_part(text: str, digits: int) -> bool:
    return len(text) == digits and text.isdigit()


async def test_a_login_reading_5_then_3_digits(setup: Setup) -> None:
    app = make_app(setup)
    serial = setup.serial
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        tab = str(app.faceplate(serial).border_subtitle)
        assert tab == serial
        challenge = str(app.query_one("#challenge", Static).content)
        digits = "".join(ch for ch in challenge.split(":")[-1] if ch.isdigit())[-6:]
        await pilot.press("p")  # the faceplate has the keys: p = POWER
        await display_is(pilot, app, "Pn", serial)
        await pilot.press(*CARD_PIN)
        await display_is(pilot, app, "Pn****", serial)
        await pilot.press("enter")
        await display_is(pilot, app, "Ch", serial)
        await pilot.press(*digits, "enter")
        await settle(pilot, lambda: is_part(app.read_display(serial), 5), "the first 5 digits")
        first = app.read_display(serial)
        app.wait_device(10, serial)  # the card's 10 s, on its own clock
        await settle(pilot, lambda: is_part(app.read_display(serial), 3), "the last 3 digits")
        last = app.read_display(serial)
        lcd = str(app.faceplate(serial).query_one("#plain", Static).content)
        assert lcd == f"display: {last}"
        await pilot.press("enter")  # OK shows the first part again
        await display_is(pilot, app, first, serial)
        await answer(pilot, first + last)
        assert "Login accepted" in result_text(app)
        assert login(app).step.name == "DONE"


async def test_the_real_time_timer_toggles_the_shown_part(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = [START]
    clock = types.SimpleNamespace(
        time=lambda: wall[0], strftime=time.strftime, localtime=time.localtime
    )
    monkeypatch.setattr(app_module, "time", clock)  # the app's wall clock only
    app = make_app(setup, real_time=True)
    serial = setup.serial
    async with running(app) as pilot:
        app.show_device(serial)
        for button in ("POWER", *CARD_PIN, "OK", *"123456", "OK"):
            app.press_button(button, serial)
        await settle(pilot, lambda: is_part(app.read_display(serial), 5), "the first 5 digits")
        first = app.read_display(serial)
        wall[0] += 10  # the timer's next tick sees 10 s gone
        await settle(pilot, lambda: is_part(app.read_display(serial), 3), "the timer's toggle")
        wall[0] += 10
        await settle(pilot, lambda: app.read_display(serial) == first, "the toggle back")
        wall[0] += 10
        await settle(pilot, lambda: app.read_display(serial) == "", "off after 30 s")
