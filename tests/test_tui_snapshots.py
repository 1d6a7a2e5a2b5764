"""SVG snapshots (pytest-textual-snapshot) of the main screens at 80x24 and 160x50.

Each test drives the real app (the built-in demo on a fresh store, deterministic keys and
challenges, a fixed clock) to a screen and compares the SVG with the accepted one in
`tests/__snapshots__/test_tui_snapshots/`. The README and docs/tui.md show these same files. After
a deliberate change of the look: `pytest tests/test_tui_snapshots.py --snapshot-update`, then look
at the new SVGs (a failing run writes `snapshot_report.html` with both side by side).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from emulator.images import save_image
from emulator.session import DeviceSession
from emulator.tui.app import SlsApp
from emulator.tui.demo_setup import DEMO_PASSWORD, DEMO_PIN, DEMO_USER, ensure_demo
from emulator.tui.faceplates import SccFaceplate
from emulator.tui.keymap import load_keymap
from emulator.tui.login_pane import LoginPane
from emulator.tui.login_steps import Step
from emulator.tui.withdrawals import withdrawal_hooks
from firmware_model.device import ImageSpec
from firmware_model.models import new_image
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from tests.conftest import counter_entropy
from tests.tui_pilot import EventWatch, settle

CLOCK = 1_800_000_000.0
SIZES = {"80x24": (80, 24), "160x50": (160, 50)}
CONFIG = BridgeConfig(scrypt_n=1 << 10)

Snap = Callable[..., bool]
Steps = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture
def demo_app(slsemu_home: Path) -> Iterator[SlsApp]:
    """The app `slsemu tui` opens, made deterministic: keys, challenges, clocks."""
    with Bridge.open(slsemu_home, entropy=counter_entropy(1), config=CONFIG) as bridge:
        setup = ensure_demo(bridge)

    def connect() -> Bridge:
        return Bridge.open(slsemu_home, lambda: CLOCK, entropy=counter_entropy(2), config=CONFIG)

    with contextlib.ExitStack() as stack:
        sessions = [stack.enter_context(DeviceSession(p, clock=CLOCK)) for p in setup.images]
        withdraw, limits = withdrawal_hooks()
        login = LoginPane(connect, user=DEMO_USER, withdraw=withdraw, limits=limits)
        keymap = load_keymap(None)
        yield SlsApp(sessions, keymap=keymap, login=login, real_time=False, log_clock=lambda: CLOCK)


def pane(app: SlsApp) -> LoginPane:
    return app.query_one(LoginPane)


async def ready(pilot: Pilot[None]) -> None:
    """The login's later steps are mounted; cursors do not blink (a stable picture)."""
    app = pilot.app
    await settle(pilot, lambda: bool(app.query("#step-done")), "the login pane mounted")
    for field in app.query(Input):
        field.cursor_blink = False


async def logged_in_with_password(pilot: Pilot[None]) -> None:
    await ready(pilot)
    watch = EventWatch(pilot.app)
    await pilot.press(*DEMO_PASSWORD, "enter")
    await watch.wait_for(pilot, "password accepted")


async def chosen(pilot: Pilot[None], model: str) -> None:
    app = pilot.app
    assert isinstance(app, SlsApp)
    await logged_in_with_password(pilot)
    serial = next(s for s in app.serials if app.session(s).device.model == model)
    listing = app.query_one("#device-list", OptionList)
    listing.highlighted = [option.id for option in listing.options].index(serial)
    watch = EventWatch(app)
    await pilot.press("enter")
    await watch.wait_for(pilot, f"challenge for {serial}")
    want = app.query_one("#response") if model == "scc" else app.faceplate(serial)
    await settle(pilot, lambda: app.focused is want, f"{want} focused")


async def dscplus_challenge(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, SlsApp)
    await chosen(pilot, "dscplus")
    await pilot.press("p", *DEMO_PIN, "enter")
    await settle(pilot, lambda: app.read_display() == "CHALLNG>", "CHALLNG> shows")


async def scc_cells(pilot: Pilot[None]) -> None:
    await chosen(pilot, "scc")
    face = pilot.app.query_one(SccFaceplate)
    await settle(pilot, lambda: len(face.highlight) == 2, "the asked cells highlighted")


async def ibkey_push(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, SlsApp)
    await chosen(pilot, "ibkey")
    await settle(pilot, lambda: "Login request" in app.read_display(), "the push on the phone")


async def withdrawal_form(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, SlsApp)
    await dscplus_challenge(pilot)
    challenge = pane(app).challenge
    assert challenge is not None
    await pilot.press(*challenge.text, "enter")
    await settle(pilot, lambda: app.read_display().isdigit(), "the response shows")
    response = app.read_display()
    await pilot.press("tab", *response, "enter")
    await settle(pilot, lambda: pane(app).step is Step.DONE, "the login accepted")
    await settle(pilot, lambda: app.focused is app.query_one("#amount"), "the amount focused")


async def help_screen(pilot: Pilot[None]) -> None:
    await ready(pilot)
    await pilot.press("f1")  # from the password field: F1 is never text
    await settle(pilot, lambda: pilot.app.screen.id == "help", "the help open")


SCREENS: dict[str, Steps] = {
    "login": ready,
    "dscplus": dscplus_challenge,
    "scc": scc_cells,
    "ibkey": ibkey_push,
    "withdrawal": withdrawal_form,
    "help": help_screen,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(snap_compare: Snap, demo_app: SlsApp, screen: str, size: str) -> None:
    assert snap_compare(demo_app, terminal_size=SIZES[size], run_before=SCREENS[screen])


# The legacy cards, which the demo does not have: their faceplates alone (no login pane).
LEGACY: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "dsc": ("DS0000000001", {"pin": "1234"}, ("p", "1")),
    "gold": ("GD0000000001", {"pin": "1234"}, ("p",)),
    "platinum": ("PT0000000001", {"pin": "1234"}, ()),
    # The older DSC+ generation, on its response: the first 5 digits (then the last 3).
    "dscplus_classic": ("DC0000000001", {}, ("p", *"1234", "enter", *"123456", "enter")),
}


@pytest.mark.parametrize("model", LEGACY)
def test_legacy_card(
    snap_compare: Snap, tmp_path: Path, entropy: Callable[[int], bytes], model: str
) -> None:
    serial, options, keys = LEGACY[model]
    path = tmp_path / f"{model}.img"
    spec = ImageSpec(model, serial, bytes(range(1, 21)), options.get("pin"), None)
    save_image(path, new_image(spec, entropy))

    async def press_keys(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, SlsApp)
        session = app.session(serial)
        for key in keys:  # one at a time: each must reach the card before the next
            before = session.last_reaction
            await pilot.press(key)
            await settle(
                pilot, lambda b=before: session.last_reaction is not b, f"{key!r} pressed"
            )

    with DeviceSession(path, clock=CLOCK) as session:
        app = SlsApp([session], keymap=load_keymap(None), real_time=False, log_clock=lambda: CLOCK)
        assert snap_compare(app, terminal_size=(80, 24), run_before=press_keys)
