"""The legacy DSC, a device-PIN DSC+ and the older DSC+ generation in the TUI: a time-passcode
login, the on-card lock, and a login reading 5 then 3 digits (on the card's own clock and on the
real-time timer).

Same harness as `test_tui_app.py` (the demo user and store), with two more cards provisioned for
the demo user and shown beside the demo devices.
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
from emulator.tui.login_steps import Step
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


@dataclass
class Cards:
    bridge: Bridge
    sessions: list[DeviceSession]
    legacy: str
    locking: str
    classic: str


@pytest.fixture
def cards(slsemu_home: Path, entropy: Callable[[int], bytes]) -> Iterator[Cards]:
    bridge = Bridge.open(slsemu_home, entropy=entropy, config=BridgeConfig(scrypt_n=1 << 10))
    setup = ensure_demo(bridge)
    legacy = bridge.provision(DEMO_USER, "dsc", pin=CARD_PIN, image_path=slsemu_home / "dsc.img")
    locking = bridge.provision(
        DEMO_USER, "dscplus", pin=CARD_PIN, pin_mode="device", image_path=slsemu_home / "dev.img"
    )
    classic = bridge.provision(
        DEMO_USER, "dscplus_classic", pin=CARD_PIN, image_path=slsemu_home / "classic.img"
    )
    paths = [*setup.images, *(slsemu_home / n for n in ("dsc.img", "dev.img", "classic.img"))]
    with contextlib.ExitStack() as stack:
        # The legacy DSC's passcode is checked against the bridge's clock, and it is valid 30 s
        # from its step's start: the cards and the login pane's bridge share one fixed clock
        # (`make_app`), so a slow start of the app cannot age the passcode.
        sessions = [stack.enter_context(DeviceSession(path, clock=CLOCK)) for path in paths]
        yield Cards(bridge, sessions, legacy.serial, locking.serial, classic.serial)
    bridge.close()


CLOCK = float(int(time.time()) // 30 * 30)
"""The cards' and the pane's clock: the start of a 30-s step, fixed for the module."""


def make_app(cards: Cards, *, real_time: bool = False) -> SlsApp:
    def connect() -> Bridge:  # the pane's own connection, on its host thread
        return Bridge.open(cards.bridge.home, lambda: CLOCK, config=BridgeConfig(scrypt_n=1 << 10))

    login_pane = LoginPane(connect, user=DEMO_USER)
    return SlsApp(cards.sessions, keymap=load_keymap(None), login=login_pane, real_time=real_time)


async def test_legacy_dsc_time_passcode_login(cards: Cards) -> None:
    app = make_app(cards)
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, cards.legacy)
        prompt = str(app.query_one("#challenge", Static).content)
        assert "6-digit passcode" in prompt  # no challenge: the card shows a time passcode
        assert app.active_serial == cards.legacy
        await pilot.press("p")  # the faceplate has focus after choosing: p = POWER
        await display_is(pilot, app, "[ ]", cards.legacy)
        await pilot.press(*CARD_PIN, "enter")
        await settle(pilot, lambda: app.read_display(cards.legacy).isdigit(), "the passcode")
        passcode = app.read_display(cards.legacy)
        assert len(passcode) == 6 and passcode.isdigit()
        await answer(pilot, passcode)
        assert "Login accepted" in result_text(app)
        assert login(app).step is Step.DONE


async def test_device_pin_card_locks_itself_and_shows_it(cards: Cards) -> None:
    app = make_app(cards)
    serial = cards.locking
    async with running(app) as pilot:
        app.show_device(serial)
        await pilot.pause()
        for attempt in range(1, 4):
            for button in ("POWER", *"0000", "OK"):
                app.press_button(button, serial)
            await pilot.pause()
            display = app.read_display(serial)
            if attempt < 3:
                assert display == f"FAIL {attempt}"
                app.press_button("POWER", serial)  # power-cycling does not reset the count
        assert app.read_display(serial) == "LOCK PIN"
        indicators = str(app.faceplate(serial).query_one("#indicators", Static).content)
        assert "LOCKED" in indicators
        app.press_button("POWER", serial)
        app.press_button("POWER", serial)
        await pilot.pause()
        assert app.read_display(serial) == "LOCK PIN"  # still locked after a power cycle


def is_part(text: str, digits: int) -> bool:
    """Whether the display is one part of the older DSC+'s response (5 or 3 digits)."""
    return len(text) == digits and text.isdigit()


async def test_older_dscplus_login_reading_5_then_3_digits(cards: Cards) -> None:
    app = make_app(cards)
    serial = cards.classic
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        challenge = str(app.query_one("#challenge", Static).content)
        digits = "".join(ch for ch in challenge if ch.isdigit())[-6:]
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
        plain = str(app.faceplate(serial).query_one("#plain", Static).content)
        assert plain == f"display: {last}"
        await pilot.press("enter")  # OK shows the first part again
        await display_is(pilot, app, first, serial)
        await answer(pilot, first + last)
        assert "Login accepted" in result_text(app)
        assert login(app).step is Step.DONE


async def test_the_real_time_timer_toggles_the_older_dscpluss_response(
    cards: Cards, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = [time.time()]
    # The app's wall clock only (the timer still ticks in real time; the test moves the clock
    # it reads, and waits for the display, never for time).
    clock = types.SimpleNamespace(
        time=lambda: wall[0], strftime=time.strftime, localtime=time.localtime
    )
    monkeypatch.setattr(app_module, "time", clock)
    app = make_app(cards, real_time=True)
    serial = cards.classic
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
