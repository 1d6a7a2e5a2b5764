"""A newcomer's first hour in the TUI (issue 10): no key goes nowhere, no stale screen, no freeze,
and a withdrawal confirmed by the device's own code. Pilot, on the demo of tests/test_tui_app.py;
every wait is on a state, never on time."""

from __future__ import annotations

import threading
from typing import cast

from textual.widgets import Input, OptionList, Static

from emulator.tui.faceplates import SccFaceplate
from emulator.tui.login_messages import NO_PUSH_LINK
from emulator.tui.login_steps import Step
from emulator.tui.withdrawals import withdrawal_hooks
from host_bridge.bridge import Bridge
from tests.test_tui_app import (
    Demo,
    answer,
    choose,
    demo,
    display_is,
    dscplus_code,
    log_in_with_password,
    logged_in_with_scc,
    login,
    make_app,
    result_text,
    running,
    withdraw,
    withdraw_result,
)
from tests.tui_pilot import EventWatch, settle

__all__ = ["demo"]  # the fixture


async def test_f1_opens_help_from_the_password_field_and_types_nothing(demo: Demo) -> None:
    app = make_app(demo)
    async with running(app) as pilot:
        password = app.query_one("#password", Input)
        await settle(pilot, lambda: app.focused is password, "the password field focused")
        await pilot.press("f1")
        await settle(pilot, lambda: app.screen.id == "help", "the help open")
        await pilot.press("f1")  # F1 again closes it
        await settle(pilot, lambda: app.screen.id != "help", "the help closed")
        assert password.value == ""
        # `?` may be part of a password: in a text field it is text, never a command.
        await pilot.press("question_mark")
        await settle(pilot, lambda: password.value == "?", "? typed into the password")
        assert app.screen.id != "help"
        password.value = ""
        await log_in_with_password(pilot)
        # Outside a text field `?` opens the help (here: the device list has the keys).
        listing = app.query_one("#device-list", OptionList)
        await settle(pilot, lambda: app.focused is listing, "the device list focused")
        await pilot.press("question_mark")
        await settle(pilot, lambda: app.screen.id == "help", "the help open from the list")


async def test_f3_logs_out_and_every_pane_forgets_the_session(demo: Demo) -> None:
    app = make_app(demo)
    scc, dscplus = demo.serial("scc"), demo.serial("dscplus")
    async with running(app) as pilot:
        await logged_in_with_scc(pilot, app, scc)
        await withdraw(pilot, app, scc, "250000")
        assert withdraw_result(app).startswith("DENIED")
        face = app.faceplate(scc)
        assert isinstance(face, SccFaceplate) and face.highlight == ()  # no code asked now

        assert app.query_one("#logout-button").display  # visible while logged in
        watch = EventWatch(app)
        await pilot.press("f3")
        await watch.wait_for(pilot, "logged out")
        assert login(app).step is Step.CREDENTIALS
        assert not app.query_one("#logout-button").display
        await log_in_with_password(pilot)
        await choose(pilot, app, dscplus)
        # F2 to the SCC while the DSC+ challenge is open: no cells of an old challenge.
        await pilot.press("f2")
        await settle(pilot, lambda: app.active_serial == scc, "the SCC in front")
        assert face.highlight == ()
        assert "none" in str(face.query_one("#asked", Static).content)
        challenge = login(app).challenge
        assert challenge is not None
        app.show_device(dscplus)
        await answer(pilot, await dscplus_code(pilot, app, dscplus, challenge.text))
        assert login(app).step is Step.DONE
        # The new session's withdrawal form: no amount, no verdict from the last one.
        assert app.query_one("#amount", Input).value == ""
        assert withdraw_result(app) == ""


async def test_ibkey_push_says_one_thing_and_the_link_leads_to_the_challenge(demo: Demo) -> None:
    app = make_app(demo)
    serial = demo.serial("ibkey")
    async with running(app) as pilot:
        await log_in_with_password(pilot)
        await choose(pilot, app, serial)
        prompt = str(app.query_one("#challenge", Static).content)
        assert "Approve it in IBKR Mobile" in prompt and "response" not in prompt
        assert not app.query_one("#response").display  # nothing to type while the push waits
        link = app.query_one("#no-push-button")
        assert link.display and NO_PUSH_LINK in str(link.render())
        challenge = login(app).challenge
        assert challenge is not None

        # Tab from the phone reaches the link; Enter follows it.
        await pilot.press("tab")
        await settle(pilot, lambda: app.focused is link, "the link focused")
        watch = EventWatch(app)
        await pilot.press("enter")
        await watch.wait_for(pilot, f"manual challenge for {serial}")
        prompt = str(app.query_one("#challenge", Static).content)
        assert f"Challenge: {challenge.text}" in prompt
        await settle(pilot, lambda: app.focused is app.faceplate(serial), "the phone focused")
        # On the phone: Next leaves the notification for the Authenticate screen.
        await pilot.press("n")
        await display_is(pilot, app, "demo challenge: _", serial)
        await pilot.press(*challenge.text, "enter", "1", "2", "3", "4", "enter")
        await settle(pilot, lambda: app.read_display(serial).startswith("Response"), "response")
        response = app.read_display(serial).removeprefix("Response: ")
        await pilot.press("tab")
        field = app.query_one("#response", Input)
        await settle(pilot, lambda: app.focused is field, "the response field focused")
        watch = EventWatch(app)
        await pilot.press(*response, "enter")
        await watch.wait_for(pilot, "response from")
        assert "Login accepted" in result_text(app)


class SlowBridge:
    """A bridge whose password check waits until the test opens the gate (a slow scrypt)."""

    def __init__(self, bridge: Bridge, gate: threading.Event) -> None:
        self._bridge = bridge
        self._gate = gate

    def check_password(self, name: str, password: str) -> bool:
        self._gate.wait()
        return self._bridge.check_password(name, password)

    def __getattr__(self, name: str) -> object:
        return getattr(self._bridge, name)


async def test_keys_are_handled_while_the_password_is_checked(demo: Demo) -> None:
    from emulator.tui.app import SlsApp
    from emulator.tui.keymap import load_keymap
    from emulator.tui.login_pane import LoginPane

    gate = threading.Event()
    withdraw_hook, limits = withdrawal_hooks()
    pane = LoginPane(
        lambda: cast(Bridge, SlowBridge(demo.connect(), gate)),
        user="demo",
        withdraw=withdraw_hook,
        limits=limits,
    )
    app = SlsApp(demo.sessions, keymap=load_keymap(None), login=pane, real_time=False)
    async with running(app) as pilot:
        try:  # the gate opens whatever happens: closing the app waits for the host thread
            field = app.query_one("#password", Input)
            field.focus()
            field.value = "demo-password"
            await pilot.press("enter")
            await settle(pilot, lambda: "Checking" in result_text(app), "the check under way")
            first = app.active_serial
            await pilot.press("f2")  # the check is still waiting: the app is not
            await settle(pilot, lambda: app.active_serial != first, "the next device shown")
            assert login(app).step is Step.CREDENTIALS
            watch = EventWatch(app)
            gate.set()
            await watch.wait_for(pilot, "password accepted")
            assert login(app).step is Step.CHOOSE
        finally:
            gate.set()


async def test_a_withdrawal_needs_the_confirming_devices_code(demo: Demo) -> None:
    app = make_app(demo)
    scc = demo.serial("scc")
    async with running(app) as pilot:
        await logged_in_with_scc(pilot, app, scc)
        await withdraw(pilot, app, scc, "1000", code="AAAAAA")
        assert "code from" in withdraw_result(app) and "refused" in withdraw_result(app)
        await withdraw(pilot, app, scc, "1000")  # the right cells this time
        assert withdraw_result(app).startswith("ALLOWED")
        assert "199,000" in withdraw_result(app)  # only this one was booked (SCC: 200,000/day)
