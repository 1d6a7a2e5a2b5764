"""Driving the app under Textual's Pilot without racing it: the helpers live in the pytest plugin
(`emulator.pytest_plugin.pilot`), so the project's tests and a plugin user's tests share them."""

from emulator.pytest_plugin.pilot import (
    GIVE_UP_SECONDS,
    EventWatch,
    click_button,
    event_lines,
    settle,
)

__all__ = ["GIVE_UP_SECONDS", "EventWatch", "click_button", "event_lines", "settle"]
