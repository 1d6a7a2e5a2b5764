"""Issue 11 point 7 in the TUI: a fully opted-out user logs in on the password alone — the login
pane asks the host's `password_is_enough` (the same service as every other door, audited
`login.optout`) — and the withdrawal form then follows the host's opt-out caps
(`policies.optout.withdrawal_model`: the no-device row, USD 50K / 100K, whatever device
confirms). A partial opt-out still asks for the device (every door of ours is a portal login)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Input, Static

from emulator.tui.demo_setup import DEMO_PASSWORD, DEMO_USER
from emulator.tui.login_pane import OPTED_OUT_STATE
from emulator.tui.login_steps import Step
from emulator.tui.withdrawals import OPTED_OUT_HEADING
from host_bridge.db.schema import challenges
from host_bridge.domain import OptOut
from tests import test_tui_app
from tests.test_tui_app import (
    Demo,
    login,
    make_app,
    result_text,
    running,
    withdraw,
    withdraw_result,
)
from tests.tui_pilot import EventWatch, click_button, settle

demo = test_tui_app.demo  # the fixture: the demo user, its DSC+, SCC and IB Key


def challenges_issued(demo: Demo) -> int:
    with demo.bridge.db.read() as tx:
        return int(tx.conn.execute(select(func.count()).select_from(challenges)).scalar() or 0)


def opt_out(demo: Demo, mode: OptOut) -> None:
    """The account's primary user sets its Secure Login mode (KB2545: only the primary user)."""
    account = demo.bridge.user(DEMO_USER).account
    demo.bridge.add_user("owner", "owner-pw", account=account, primary=True)
    assert demo.bridge.optout.set_opt_out("owner", mode).mode is mode


async def click_log_in(pilot: Pilot[None]) -> None:
    watch = EventWatch(pilot.app)
    pilot.app.query_one("#password", Input).value = DEMO_PASSWORD
    await click_button(pilot, "#login-button")
    await watch.wait_for(pilot, "password")


async def test_a_fully_opted_out_user_logs_in_without_a_second_factor(demo: Demo) -> None:
    opt_out(demo, OptOut.FULL)
    app = make_app(demo)
    dscplus = demo.serial("dscplus")
    issued = challenges_issued(demo)
    async with running(app) as pilot:
        await click_log_in(pilot)
        pane = login(app)
        await settle(pilot, lambda: pane.step is Step.DONE, "logged in")
        assert OPTED_OUT_STATE in result_text(app)
        assert pane.challenge is None  # no device was asked
        audit = demo.bridge.audit()
        assert [(r.event, r.outcome, r.detail.get("caller")) for r in audit
                if r.event == "login.optout"] == [("login.optout", "accepted", "tui")]
        assert challenges_issued(demo) == issued  # no challenge went to any device
        # The withdrawal form: the host's opt-out caps for every device, none preselected.
        limits = str(app.query_one("#limits", Static).content)
        assert limits.startswith(OPTED_OUT_HEADING)
        assert "unlimited" not in limits and "50,000 / 100,000" in limits
        await withdraw(pilot, app, dscplus, "60000")  # a DSC+ would be unlimited
        assert withdraw_result(app).startswith("DENIED")
        assert "opt back in" in withdraw_result(app)
        await withdraw(pilot, app, dscplus, "40000")
        assert withdraw_result(app).startswith("ALLOWED")
        # Log out: the next login starts from the password again.
        await click_button(pilot, "#logout-button")
        await settle(pilot, lambda: pane.step is Step.CREDENTIALS, "logged out")
        assert pane.user is None and result_text(app) == ""


@pytest.mark.parametrize("mode", [OptOut.PARTIAL, OptOut.NONE])
async def test_a_partial_or_no_opt_out_still_chooses_a_device(demo: Demo, mode: OptOut) -> None:
    opt_out(demo, mode)
    app = make_app(demo)
    async with running(app) as pilot:
        await click_log_in(pilot)
        pane = login(app)
        await settle(pilot, lambda: pane.step is Step.CHOOSE, "the device list")
        assert OPTED_OUT_STATE not in result_text(app)
        assert not [r for r in demo.bridge.audit() if r.event == "login.optout"]
