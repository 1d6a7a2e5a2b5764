"""What the login screen tells the app, and its fixed texts. Shared by the login pane and the
withdrawal form (both ask a device for a code). Messages never carry a secret.

No `host_bridge` import here (docs/architecture.md): the senders, which may read the host's
types, fill in plain fields.
"""

from __future__ import annotations

from textual.message import Message

# The IB Key's seamless login (the seed's "Two Factor Authentication Prompt"): one instruction,
# and the seed's link to the manual path.
PUSH_PROMPT = "A notification was sent to your phone.\nApprove it in IBKR Mobile."
NO_PUSH_LINK = "Click here if you do not receive the notification"
# The IB Key's manual path (the seed's "What if I don't receive the notification?").
MANUAL_PUSH_PROMPT = (
    "Challenge: {text}\nIn IBKR Mobile: Next (n) to Authenticate, type the challenge, OK, "
    "your PIN, OK; then type the response string below."
)


class HostEvent(Message):
    """Something happened at the host (for the event log). Never carries a secret."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SecondFactorChosen(Message):
    """The screen asks device `serial` for a code for challenge `challenge_id` (a login or a
    withdrawal; `text` is what the screen shows).

    The app brings the device forward; it gives it the keyboard when `device_keys` (not for an
    SCC, whose codes are typed into the screen), highlights an SCC's cells (`indices`), and, when
    `push`, delivers the challenge to the phone app as a push notification for `user`."""

    def __init__(
        self,
        serial: str,
        challenge_id: str,
        text: str,
        user: str | None,
        *,
        indices: tuple[int, ...] = (),
        device_keys: bool = True,
        push: bool = False,
    ) -> None:
        super().__init__()
        self.serial = serial
        self.challenge_id = challenge_id
        self.text = text
        self.user = user
        self.indices = indices
        self.device_keys = device_keys
        self.push = push


class ChallengeClosed(Message):
    """The screen no longer waits for a code (answered, abandoned, logged out)."""
