"""What the login screen says and tells the app: prompts, device labels, messages.

Shared by the login pane and the withdrawal form (both ask a device for a code). Messages never
carry a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual.message import Message

from firmware_model.models import short_name
from host_bridge.domain import ChallengeKind

if TYPE_CHECKING:
    from host_bridge.services.devices import DeviceInfo
    from host_bridge.verification import Challenge

# What the login screen says for each kind of challenge (`{text}` is the challenge text).
PROMPTS: Mapping[ChallengeKind, str] = {
    ChallengeKind.OCRA: "Challenge: {text}\nEnter it on the device, then type the response below.",
    ChallengeKind.SCC_CELLS: "Index numbers: {text}\nType the two codes side by side, no spaces.",
    ChallengeKind.TIME_PASSCODE: (
        "Turn the card on, enter the PIN and type the 6-digit passcode it shows."
    ),
    ChallengeKind.SMS_CODE: "A code was sent by SMS: type it below.",
}
# The IB Key's seamless login (the seed's "Two Factor Authentication Prompt"): one instruction,
# and the seed's link to the manual path.
PUSH_PROMPT = "A notification was sent to your phone.\nApprove it in IBKR Mobile."
NO_PUSH_LINK = "Click here if you do not receive the notification"
# The IB Key's manual path (the seed's "What if I don't receive the notification?").
MANUAL_PUSH_PROMPT = (
    "Challenge: {text}\nIn IBKR Mobile: Next (n) to Authenticate, type the challenge, OK, "
    "your PIN, OK; then type the response string below."
)


def prompt_for(challenge: Challenge, *, manual_push: bool = False) -> str:
    """What the screen says for `challenge` (`manual_push`: an IB Key's typed challenge)."""
    template = MANUAL_PUSH_PROMPT if manual_push else PROMPTS.get(challenge.kind, "{text}")
    return template.format(text=challenge.text)


def wants_push(model: str, challenge: Challenge) -> bool:
    """Whether the code is asked by a push to the phone app (the IB Key's seamless login)."""
    return model == "ibkey" and challenge.kind == ChallengeKind.OCRA


def scc_indices(challenge: Challenge) -> tuple[int, ...]:
    """The cells an SCC challenge asks for (none for other kinds)."""
    if challenge.kind != ChallengeKind.SCC_CELLS:
        return ()
    return tuple(int(word) for word in challenge.text.split())


def device_label(device: DeviceInfo) -> str:
    """How the device lists name a device."""
    return f"{short_name(device.model)} {device.serial}"


class HostEvent(Message):
    """Something happened at the host (for the event log). Never carries a secret."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SecondFactorChosen(Message):
    """The screen asks device `serial` for a code for `challenge` (a login or a withdrawal).

    The app brings the device forward; it gives it the keyboard unless it is an SCC (whose codes
    are typed into the response field), highlights an SCC's cells (`indices`), and, when `push`,
    delivers the challenge to the phone app as a push notification for `user`."""

    def __init__(
        self, serial: str, challenge: Challenge, user: str | None, *, push: bool = False
    ) -> None:
        super().__init__()
        self.serial = serial
        self.challenge = challenge
        self.user = user
        self.push = push
        self.indices = scc_indices(challenge)
        self.device_keys = challenge.kind != ChallengeKind.SCC_CELLS


class ChallengeClosed(Message):
    """The screen no longer waits for a code (answered, abandoned, logged out)."""
