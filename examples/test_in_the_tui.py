"""The examples in the terminal app, under Textual's Pilot: a person's keys, the host's verdict.

`sls_tui` puts the devices of `sls_bridge` in the app with the login pane in front; the keys go
through the default keymap (`p` POWER, digits, Enter OK, `b` BIOMETRIC). Every step waits for the
state it leads to (`settle`, `EventWatch`), never for time.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from emulator.pytest_plugin.bridge import TEST_PASSWORD
from emulator.pytest_plugin.pilot import EventWatch, answer, log_in, settle

SIZE = (100, 40)
PIN = "1234"


async def shows(pilot: Pilot[None], text: str) -> None:
    app: Any = pilot.app
    await settle(pilot, lambda: app.read_display() == text, f"the display shows {text!r}")


async def test_dscplus_soft_pin_login_in_the_tui(sls_bridge: Any, sls_tui: Any) -> None:
    sls_bridge.add_user("alice")
    card = sls_bridge.provision("alice", "dscplus", pin=PIN)
    app = sls_tui(sls_bridge.device(card), bridge=sls_bridge, user="alice")
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, TEST_PASSWORD, card.serial)
        challenge = app.query_one("LoginPane").challenge.text
        app.focus_device()
        await pilot.press("p")
        await shows(pilot, "PIN>")
        await pilot.press(*PIN, "enter")
        await shows(pilot, "CHALLNG>")
        await pilot.press(*challenge, "enter")
        await settle(pilot, lambda: len(app.read_display()) == 8, "the response")
        assert "accepted" in await answer(pilot, app.read_display())


async def test_ibkey_push_approved_in_the_tui(sls_bridge: Any, sls_tui: Any) -> None:
    sls_bridge.add_user("alice")
    phone = sls_bridge.provision("alice", "ibkey", pin=PIN)
    app = sls_tui(sls_bridge.device(phone), bridge=sls_bridge, user="alice")
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, TEST_PASSWORD, phone.serial)
        await shows(pilot, "Login request for alice")
        watch = EventWatch(app)
        app.focus_device()
        await pilot.press("b")  # BIOMETRIC: the fingerprint approves the push
        line = await watch.wait_for(pilot, "response from")
        assert "accepted" in line
