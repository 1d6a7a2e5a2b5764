"""The login screen's steps: an Enum, the transition table, and the widgets of the later steps.

step        event                          next
CREDENTIALS password accepted              CHOOSE   (the user's active devices, M2FS)
CREDENTIALS password refused               CREDENTIALS
CREDENTIALS opted out                      DONE     (the password is enough: a fully opted-out
                                                     user, no second factor; withdrawal form)
CHOOSE      device chosen                  RESPOND  (the challenge is shown)
RESPOND     response accepted              DONE     (withdrawal form enabled)
RESPOND     response refused               RESPOND  (a fresh challenge) or CHOOSE if the
                                                     device can no longer be used
any         "Log out"                      CREDENTIALS
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, OptionList, Static

from emulator.tui.login_messages import NO_PUSH_LINK


class Step(enum.Enum):
    """Where the login is."""

    CREDENTIALS = "credentials"
    CHOOSE = "choose"
    RESPOND = "respond"
    DONE = "done"


# (step, outcome) → next step
TRANSITIONS: Mapping[tuple[Step, str], Step] = {
    (Step.CREDENTIALS, "password accepted"): Step.CHOOSE,
    (Step.CREDENTIALS, "password refused"): Step.CREDENTIALS,
    (Step.CREDENTIALS, "opted out"): Step.DONE,
    (Step.CHOOSE, "device chosen"): Step.RESPOND,
    (Step.CHOOSE, "no challenge"): Step.CHOOSE,
    (Step.RESPOND, "response accepted"): Step.DONE,
    (Step.RESPOND, "response refused"): Step.RESPOND,
    (Step.RESPOND, "device unusable"): Step.CHOOSE,
    (Step.RESPOND, "choose again"): Step.CHOOSE,
    (Step.CHOOSE, "log out"): Step.CREDENTIALS,
    (Step.RESPOND, "log out"): Step.CREDENTIALS,
    (Step.DONE, "log out"): Step.CREDENTIALS,
}


def later_steps() -> tuple[Vertical, Vertical]:
    """The CHOOSE and RESPOND steps (mounted after the first frame: a faster start)."""
    choose = Vertical(
        Static("Select Second Factor Device", classes="step-title"),
        OptionList(id="device-list"),
        id="step-choose",
        classes="step",
    )
    respond = Vertical(
        Static("", id="challenge"),
        Button(NO_PUSH_LINK, id="no-push-button", compact=True, classes="link"),
        Input(placeholder="response", id="response", compact=True),
        Horizontal(
            Button("Submit", id="submit-button", variant="primary", compact=True),
            Button("Other device", id="other-button", compact=True),
            classes="row",
        ),
        id="step-respond",
        classes="step",
    )
    return choose, respond
