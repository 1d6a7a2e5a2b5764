"""Whole logins through the TUI (Pilot): keys on the faceplates, answers in the login pane.

Each test runs the real app headless at 100x40 against a fresh store in the test's SLSEMU_HOME,
with the built-in demo (user `demo`, DSC+, SCC, IB Key) made by `ensure_demo`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, RichLog, Static

from emulator.session import DeviceSession
from emulator.tui.app import SlsApp
from emulator.tui.demo_setup import DEMO_PASSWORD, DEMO_PIN, DEMO_USER, DemoSetup, ensure_demo
from emulator.tui.faceplates import CardFaceplate, SccFaceplate
from emulator.tui.keymap import load_keymap
from emulator.tui.login_pane import LoginPane
from emulator.tui.login_steps import Step
from emulator.tui.withdrawals import WithdrawalForm, withdrawal_hooks
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.domain import ChallengeKind, PushStatus
from host_bridge.repos.outbox import PUSH_OUTBOX_FILE_NAME, Outbox
from host_bridge.verification import Challenge
from tests.tui_pilot import EventWatch, click_button, settle

SIZE = (100, 40)
LOCKOUT_AFTER = 3


@dataclass
class Demo:
    bridge: Bridge
    setup: DemoSetup
    sessions: list[DeviceSession]
    config: BridgeConfig

    def connect(self) -> Bridge:
        """The login pane's own connection (opened and closed on its host thread)."""
        return Bridge.open(self.bridge.home, config=self.config)

    def serial(self, model: str) -> str:
        for device in self.bridge.devices(DEMO_USER):
            if device.model == model:
                return device.serial
        raise AssertionError(f"no {model}")


@pytest.fixture
def demo(slsemu_home: Path, entropy: Callable[[int], bytes]) -> Iterator[Demo]:
    config = BridgeConfig(scrypt_n=1 << 10, lockout_after=LOCKOUT_AFTER)
    bridge = Bridge.open(slsemu_home, entropy=entropy, config=config)
    setup = ensure_demo(bridge)
    with contextlib.ExitStack() as stack:
        sessions = [
            stack.enter_context(DeviceSession(path, clock=1_800_000_000.0)) for path in setup.images
        ]
        yield Demo(bridge, setup, sessions, config)
    bridge.close()


def make_app(demo: Demo, keymap: str | None = None) -> SlsApp:
    withdraw, limits = withdrawal_hooks()
    login = LoginPane(demo.connect, user=DEMO_USER, withdraw=withdraw, limits=limits)
    return SlsApp(demo.sessions, keymap=load_keymap(keymap), login=login, real_time=False)


@contextlib.asynccontextmanager
async def running(app: SlsApp) -> AsyncIterator[Pilot[None]]:
    async with app.run_test(size=SIZE) as pilot:
        # The login's later steps are mounted after the first frame.
        await settle(pilot, lambda: bool(app.query("#step-done")), "the login pane mounted")
        yield pilot


async def log_in_with_password(pilot: Pilot[None], password: str = DEMO_PASSWORD) -> None:
    watch = EventWatch(pilot.app)
    field = pilot.app.query_one("#password", Input)
    field.focus()
    field.value = password
    await pilot.press("enter")
    await watch.wait_for(pilot, "password")  # accepted or refused


async def choose(pilot: Pilot[None], app: SlsApp, serial: str) -> None:
    watch = EventWatch(app)
    listing = app.query_one("#device-list", OptionList)
    listing.focus()
    listing.highlighted = [option.id for option in listing.options].index(serial)
    await pilot.press("enter")
    line = await watch.wait_for(pilot, f"challenge for {serial}")
    if "refused" not in line:
        # The app brings the chosen card forward and focuses it after the next frame; an SCC
        # has no keys, so there the response field gets them.
        face = app.faceplate(serial)
        want = app.query_one("#response") if isinstance(face, SccFaceplate) else face
        await settle(pilot, lambda: app.focused is want, f"{want} focused")


async def answer(pilot: Pilot[None], response: str) -> None:
    watch = EventWatch(pilot.app)
    field = pilot.app.query_one("#response", Input)
    field.focus()
    field.value = response
    await pilot.press("enter")
    await watch.wait_for(pilot, "response from")
    assert field.value == ""  # submitted and cleared (the response is not kept)


async def click_key(pilot: Pilot[None], app: SlsApp, serial: str, button: str) -> None:
    """Click a device key with the mouse (callers wait for the display they expect)."""
    keypad, offset = app.faceplate(serial).key_at(button)
    await pilot.click(keypad, offset=offset)


async def display_is(pilot: Pilot[None], app: SlsApp, text: str, serial: str | None = None) -> None:
    """Wait until the faceplate shows `text` (keys travel through the app's queue)."""
    await settle(pilot, lambda: app.read_display(serial) == text, f"the display shows {text!r}")


def result_text(app: SlsApp) -> str:
    return str(app.query_one("#result", Static).content)


def login(app: SlsApp) -> LoginPane:
    return app.query_one(LoginPane)


async def test_dscplus_login_then_withdrawals(demo: Demo) -> None:
    app = make_app(demo)
    serial = demo.serial("dscplus")
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        assert login(app).step is Step.CHOOSE
        await choose(pilot, app, serial)
        challenge = login(app).challenge
        assert challenge is not None and len(challenge.text) == 6
        assert app.active_serial == serial
        assert isinstance(app.focused, CardFaceplate)  # the keymap now drives the card
        await click_key(pilot, app, serial, "POWER")  # the "press" button, with the mouse
        await display_is(pilot, app, "PIN>")
        await pilot.press(*DEMO_PIN)
        await display_is(pilot, app, "PIN>****")
        await click_key(pilot, app, serial, "OK")
        await display_is(pilot, app, "CHALLNG>")
        await pilot.press(*challenge.text, "enter")
        await settle(pilot, lambda: app.read_display().isdigit(), "the response shows")
        response = app.read_display()
        assert re.fullmatch(r"[0-9]{8}", response)
        plain = str(app.query_one(f"#face-{serial} #plain", Static).content)
        assert plain == f"display: {response}"  # the display as text, for copying
        await answer(pilot, response)
        assert "Login accepted" in result_text(app)
        assert login(app).step is Step.DONE

        # The form shows which device may confirm how much ...
        limits = str(app.query_one("#limits", Static).content)
        assert re.search(rf"DSC\+ {serial[-4:]} +unlimited", limits)
        assert re.search(rf"SCC {demo.serial('scc')[-4:]} +200,000 / 600,000", limits)
        # ... and a withdrawal too large for the SCC names the devices that could confirm it.
        await withdraw(pilot, app, demo.serial("scc"), "250000")
        denial = withdraw_result(app)
        assert denial.startswith("DENIED")
        assert serial in denial and demo.serial("ibkey") in denial
        await withdraw(pilot, app, serial, "250000")
        assert withdraw_result(app).startswith("ALLOWED")


def scc_indices(challenge: Challenge) -> tuple[int, ...]:
    """The two cells an SCC challenge names ("26 54")."""
    return tuple(int(word) for word in challenge.text.split())


def scc_codes(app: SlsApp, serial: str, indices: tuple[int, ...]) -> str:
    """Read the asked cells off the card as a person would (they are drawn highlighted)."""
    face = app.faceplate(serial)
    assert isinstance(face, SccFaceplate)
    assert face.highlight == indices
    grid = face.query_one("#grid", Static).content
    assert isinstance(grid, Text)
    highlighted = [
        grid.plain[span.start : span.end].strip()
        for span in grid.spans
        if "reverse" in str(span.style)
    ]
    codes = []
    for index in indices:
        match = re.search(rf"(?<![0-9]){index} ([0-9A-Z]{{3}})", grid.plain)
        assert match is not None
        assert match.group(0) in highlighted  # the requested cells are drawn highlighted
        codes.append(match.group(1))
    return "".join(codes)


async def dscplus_code(pilot: Pilot[None], app: SlsApp, serial: str, challenge: str) -> str:
    """Work the DSC+ (it has the keyboard): on, PIN, OK, challenge, OK; the 8 digits."""
    await settle(pilot, lambda: app.focused is app.faceplate(serial), f"{serial} focused")
    if app.read_display(serial):
        await pilot.press("p")  # still on from the last code: off first
        await display_is(pilot, app, "", serial)
    await pilot.press("p", *DEMO_PIN, "enter")
    await display_is(pilot, app, "CHALLNG>", serial)
    await pilot.press(*challenge, "enter")
    await settle(pilot, lambda: app.read_display(serial).isdigit(), "the response shows")
    return app.read_display(serial)


async def withdraw(
    pilot: Pilot[None], app: SlsApp, serial: str, amount: str, code: str | None = None
) -> None:
    """Fill in the form, answer the confirming device's challenge (`code`: type this instead)."""
    watch = EventWatch(app)
    listing = app.query_one("#withdraw-device", OptionList)
    listing.highlighted = [option.id for option in listing.options].index(serial)
    app.query_one("#amount", Input).value = amount
    await click_button(pilot, "#withdraw-button")
    await watch.wait_for(pilot, f"confirmation challenge for {serial}")
    challenge = app.query_one(WithdrawalForm).challenge
    assert challenge is not None and challenge.serial == serial
    if code is None:
        if challenge.kind == ChallengeKind.SCC_CELLS:
            code = scc_codes(app, serial, scc_indices(challenge))
        else:
            code = await dscplus_code(pilot, app, serial, challenge.text)
    field = app.query_one("#confirm-code", Input)
    field.focus()
    field.value = code
    await pilot.press("enter")
    await watch.wait_for(pilot, f"withdrawal of {amount} with {serial}")


async def logged_in_with_scc(pilot: Pilot[None], app: SlsApp, serial: str) -> None:
    """Password, the SCC chosen, its two codes read off the card: logged in."""
    await log_in_with_password(pilot)
    await choose(pilot, app, serial)
    challenge = login(app).challenge
    assert challenge is not None
    await answer(pilot, scc_codes(app, serial, scc_indices(challenge)))
    assert login(app).step is Step.DONE


def withdraw_result(app: SlsApp) -> str:
    return str(app.query_one("#withdraw-result", Static).content)


async def test_scc_login_highlights_the_requested_cells(demo: Demo) -> None:
    app = make_app(demo)
    serial = demo.serial("scc")
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        challenge = login(app).challenge
        assert challenge is not None
        assert app.focused is app.query_one("#response")  # typing goes to the response
        codes = scc_codes(app, serial, scc_indices(challenge))
        await pilot.press(*codes, "enter")
        await settle(pilot, lambda: "Login accepted" in result_text(app), "the login accepted")
        assert "Login accepted" in result_text(app)


async def test_ibkey_push_approved_then_denied(demo: Demo) -> None:
    app = make_app(demo)
    serial = demo.serial("ibkey")
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        assert "Login request" in app.read_display()
        watch = EventWatch(app)
        await pilot.press("b")  # default keymap: b = BIOMETRIC (Face ID / fingerprint)
        await watch.wait_for(pilot, "response from")
        assert "Login accepted" in result_text(app)
        events = "\n".join(line.text for line in app.query_one("#events", RichLog).lines)
        assert "PUSH APPROVED" in events
        assert re.search(r"\b[0-9]{8}\b", events) is None  # the response code is not logged
        # The login went through the host's push service: issued there, approved there.
        approved = host_push(demo, serial)
        assert demo.bridge.push.status(approved).status is PushStatus.APPROVED

        watch = EventWatch(app)
        await click_button(pilot, "#logout-button")
        await watch.wait_for(pilot, "logged out")
        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        watch = EventWatch(app)
        await click_key(pilot, app, serial, "DENY")
        await watch.wait_for(pilot, f"push for {serial} denied")
        assert "denied on the phone" in result_text(app)
        assert login(app).step is Step.CHOOSE
        denied = host_push(demo, serial)
        assert denied != approved
        await settle(pilot, lambda: demo.bridge.push.status(denied).status is PushStatus.DENIED,
                     "the denial recorded at the host")


def host_push(demo: Demo, serial: str) -> str:
    """The id of the newest push the host sent to `serial` (its push outbox)."""
    message = Outbox(demo.bridge.home, PUSH_OUTBOX_FILE_NAME).latest(serial)
    assert message is not None
    return message.challenge_id


async def test_wrong_password_then_lockout_at_the_host(demo: Demo) -> None:
    app = make_app(demo)
    serial = demo.serial("dscplus")
    async with running(app) as pilot:
        await log_in_with_password(pilot, "not-it")
        assert "Login failed" in result_text(app)
        assert login(app).step is Step.CREDENTIALS

        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        for attempt in range(LOCKOUT_AFTER):
            await answer(pilot, "00000000")
            if attempt < LOCKOUT_AFTER - 1:
                assert "A new challenge was issued" in result_text(app)
        assert "can no longer be used" in result_text(app)
        assert login(app).step is Step.CHOOSE
        assert demo.bridge.device(serial).status == "locked"
        listing = app.query_one("#device-list", OptionList)
        assert serial not in [option.id for option in listing.options]


async def test_keymap_focus_and_help(demo: Demo) -> None:
    app = make_app(demo, keymap="laptop")
    serial = demo.serial("dscplus")
    async with running(app) as pilot:
        username = app.query_one("#username", Input)
        await pilot.click("#username")
        await settle(pilot, lambda: app.focused is username, "the username field focused")
        await pilot.press("q")  # typed into the field, not a POWER press
        await settle(pilot, lambda: "q" in username.value, "q typed into the username")
        assert app.read_display(serial) == ""
        app.focus_device()
        await pilot.press("q", "a", "s", "d", "f")  # laptop keymap: q = POWER, a s d f = 1 2 3 4
        await display_is(pilot, app, "PIN>****", serial)
        await pilot.press("x")  # x = BACK
        await display_is(pilot, app, "PIN>***", serial)

        await pilot.press("question_mark")
        await settle(pilot, lambda: app.screen.id == "help", "the help screen open")
        table = app.screen.query_one("#help-table", DataTable)
        rows = {
            str(table.get_row_at(index)[0]): str(table.get_row_at(index)[1])
            for index in range(table.row_count)
        }
        assert rows["POWER"] == "q"
        assert rows["1"] == "a, 1"
        assert rows["OK"] == "space, enter"
        await pilot.press("a")  # with the help open, keys do not reach the device
        await pilot.press("escape")
        # Keys are handled in order: once escape closed the help, the "a" was handled too.
        await settle(pilot, lambda: app.screen.id != "help", "the help screen closed")
        assert app.read_display(serial) == "PIN>***"


def test_demo_setup_is_idempotent(slsemu_home: Path) -> None:
    config = BridgeConfig(scrypt_n=1 << 10)
    with Bridge.open(slsemu_home, config=config) as bridge:
        first = ensure_demo(bridge)
        assert len(first.created) == 3
        assert {device.model for device in bridge.devices(DEMO_USER)} == {
            "dscplus",
            "scc",
            "ibkey",
        }
        before = [path.read_bytes() for path in first.images]
        second = ensure_demo(bridge)
        assert second.created == ()
        assert second.images == first.images
        assert [path.read_bytes() for path in second.images] == before
        assert len(bridge.devices(DEMO_USER)) == 3
        assert bridge.check_password(DEMO_USER, DEMO_PASSWORD)
        for path in first.images:
            assert path.stat().st_mode & 0o777 == 0o600


async def test_open_tui_sets_up_the_demo_once_and_logs_in(slsemu_home: Path) -> None:
    from emulator.commands.tui import open_tui

    (slsemu_home).mkdir(parents=True, exist_ok=True)
    (slsemu_home / "bridge.toml").write_text("scrypt_n = 1024\n")
    for run in range(2):  # first run: the demo is made; second run: it is found
        with contextlib.ExitStack() as stack:
            app = open_tui(stack, images=[], user=None, keymap=load_keymap(None))
            assert [app.session(s).device.model for s in app.serials] == ["dscplus", "scc", "ibkey"]
            async with running(app) as pilot:
                assert app.query_one("#username", Input).value == DEMO_USER
                await log_in_with_password(pilot)
                assert login(app).step is Step.CHOOSE, run
                listing = app.query_one("#device-list", OptionList)
                assert [option.id for option in listing.options] == app.serials


async def test_typing_at_start_goes_to_the_password_not_the_card(demo: Demo) -> None:
    """A newcomer types the password first: no key of it may press the card (p = POWER)."""
    app = make_app(demo)
    serial = demo.serial("dscplus")
    async with running(app) as pilot:
        watch = EventWatch(app)
        await pilot.press(*"demo-password", "enter")
        await watch.wait_for(pilot, "password accepted")
        assert app.read_display(serial) == ""
        assert login(app).step is Step.CHOOSE


async def test_an_image_that_cannot_be_saved_is_reported_not_a_crash(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full or read-only disk: the key is not acknowledged as saved, the app keeps running
    # and says so (as `slsemu serve` answers ERR INTERNAL), instead of dying with a traceback.
    import emulator.session

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    app = make_app(demo)
    serial = demo.serial("dscplus")
    async with running(app) as pilot:
        app.show_device(serial)
        save_image = emulator.session.save_image
        monkeypatch.setattr(emulator.session, "save_image", disk_full)
        watch = EventWatch(app)
        app.press_button("POWER")  # a press uses the battery: durable state changed
        assert isinstance(app.last_error, OSError)
        line = await watch.wait_for(pilot, "could not be saved")
        assert "No space left" in line
        monkeypatch.setattr(emulator.session, "save_image", save_image)
        app.press_button("POWER")  # the disk is back: the next key saves again
        await pilot.pause()
        assert app.last_error is None
        assert app.is_running


async def test_tab_from_the_chosen_device_reaches_the_response_field(demo: Demo) -> None:
    # docs/tui.md: after answering on the card, "Tab (or click) to the response field".
    app = make_app(demo)
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, demo.serial("dscplus"))
        assert app.focused is app.faceplate(demo.serial("dscplus"))
        response = app.query_one("#response", Input)
        await pilot.press("tab")
        await settle(pilot, lambda: app.focused is response, "the response field focused")


async def test_after_the_login_the_amount_field_has_focus(demo: Demo) -> None:
    # Typing straight on after "Login accepted" fills in a withdrawal (the login's device is
    # preselected to confirm it) instead of going nowhere.
    app = make_app(demo)
    serial = demo.serial("dscplus")
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        challenge = login(app).challenge
        assert challenge is not None
        await pilot.press("p", *DEMO_PIN, "enter", *challenge.text, "enter")
        await settle(pilot, lambda: app.read_display().isdigit(), "the response shows")
        await answer(pilot, app.read_display())
        assert login(app).step is Step.DONE
        amount = app.query_one("#amount", Input)
        await settle(pilot, lambda: app.focused is amount, "the amount field focused")
        watch = EventWatch(app)
        await pilot.press(*"1000", "enter")
        await watch.wait_for(pilot, f"confirmation challenge for {serial}")
        # The card has the keys again (item 7: the confirming device is asked for a code) ...
        challenge = app.query_one(WithdrawalForm).challenge
        assert challenge is not None
        code = await dscplus_code(pilot, app, serial, challenge.text)
        # ... and Tab takes them on to the field that waits for the code.
        await pilot.press("tab")
        code_field = app.query_one("#confirm-code", Input)
        await settle(pilot, lambda: app.focused is code_field, "the code field focused")
        await pilot.press(*code, "enter")
        await watch.wait_for(pilot, f"withdrawal of 1000 with {serial}")
        assert "ALLOWED" in withdraw_result(app)
