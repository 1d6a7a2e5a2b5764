"""Driving the app under Textual's Pilot without racing it: wait on states, never on time.

Part of the pytest plugin, so a project testing with `sls_tui` has the same helpers as this
project's own tests (`tests/tui_pilot.py` re-exports them).

`pilot.pause()` and `pilot.press()` return once the app *looks* idle, which on a busy machine can
be before a message has travelled from the widget that got the click or key to the handler that
acts on it (a button's `Pressed` bubbles to the login pane one hop later). So after every action
a test waits, with `settle`, until the state it expects is there: a new line in the event log,
a display, a focused widget, a screen. `GIVE_UP_SECONDS` only turns a hang into a failure with a
message; a slow machine makes a test slower, never red.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Button, RichLog

# SLSEMU_TEST_GIVE_UP shortens the deadline while developing (a hang fails sooner).
GIVE_UP_SECONDS = float(os.environ.get("SLSEMU_TEST_GIVE_UP", "120"))


async def settle(pilot: Pilot[None], done: Callable[[], bool], what: str) -> None:
    """Let the app run until `done()` holds; fail (after a long deadline) saying `what`."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never reached this state: {what}")
        await pilot.pause()


async def click_button(pilot: Pilot[None], selector: str) -> None:
    """Click the button `selector` once it can take a click: shown, enabled, and its press
    effect over. Textual ignores a click on a button still showing its last press (`-active`,
    `Button.active_effect_duration`, 0.2 s), so a second click that comes quickly after the
    first, on a fast machine, would otherwise go nowhere."""
    app = pilot.app

    def ready() -> bool:
        buttons = app.screen.query(selector)
        if not buttons:
            return False
        button = buttons.first(Button)
        return button.display and not button.disabled and not button.has_class("-active")

    await settle(pilot, ready, f"the button {selector} ready for a click")
    await pilot.click(selector)


def event_lines(app: App[None]) -> list[str]:
    """The event log, one string a line (host decisions and device events)."""
    return [line.text for line in app.query_one("#events", RichLog).lines]


class EventWatch:
    """Remembers how long the event log was, to wait for the line an action adds."""

    def __init__(self, app: App[None]) -> None:
        self._app = app
        self._seen = len(event_lines(app))

    def new_lines(self) -> list[str]:
        return event_lines(self._app)[self._seen :]

    async def wait_for(self, pilot: Pilot[None], text: str) -> str:
        """Wait until a line containing `text` was logged since the watch began; return it."""

        def found() -> bool:
            return any(text in line for line in self.new_lines())

        await settle(pilot, found, f"an event log line with {text!r}")
        return next(line for line in self.new_lines() if text in line)


async def log_in(pilot: Pilot[None], password: str, serial: str) -> None:
    """On the login pane: the password, then device `serial` from the list; returns once the
    device's challenge was issued (its event logged)."""
    from textual.widgets import Input, OptionList

    app = pilot.app
    await settle(pilot, lambda: bool(app.query("#step-done")), "the login pane mounted")
    watch = EventWatch(app)
    field = app.query_one("#password", Input)
    field.focus()
    field.value = password
    await pilot.press("enter")
    await watch.wait_for(pilot, "password")
    watch = EventWatch(app)
    listing = app.query_one("#device-list", OptionList)
    listing.focus()
    listing.highlighted = [option.id for option in listing.options].index(serial)
    await pilot.press("enter")
    await watch.wait_for(pilot, f"challenge for {serial}")


async def answer(pilot: Pilot[None], response: str) -> str:
    """Type `response` into the login pane's response field and submit it; return the event-log
    line with the host's verdict (`response from ... accepted` or `... refused`)."""
    from textual.widgets import Input

    watch = EventWatch(pilot.app)
    field = pilot.app.query_one("#response", Input)
    field.focus()
    field.value = response
    await pilot.press("enter")
    return await watch.wait_for(pilot, "response from")
