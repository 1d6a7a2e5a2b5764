"""The broker's login screen, beside the devices: password → second factor → result; withdrawals.

Theory of operation: the pane is a view over the host bridge (`host_bridge.bridge.Bridge`). Its
steps are an Enum with a transition table; the reactive `step` decides which widgets show (CSS
classes in `app.tcss`). Every host call is one `Bridge` method; what happened goes to the event log
as `HostEvent` messages, and choosing a device posts `SecondFactorChosen` so the app can bring that
faceplate forward (and highlight an SCC's cells). Secrets typed here (password, response) are never
logged.

    step        event                          next
    CREDENTIALS password accepted              CHOOSE   (the user's active devices, M2FS)
    CREDENTIALS password refused               CREDENTIALS
    CHOOSE      device chosen                  RESPOND  (the challenge is shown)
    RESPOND     response accepted              DONE     (withdrawal form enabled)
    RESPOND     response refused               RESPOND  (a fresh challenge) or CHOOSE if the
                                                         device can no longer be used
    any         "Log out"                      CREDENTIALS
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from firmware_model.errors import SlsError
from firmware_model.models import short_name
from host_bridge.domain import ChallengeKind
from host_bridge.verification import Challenge

if TYPE_CHECKING:
    from host_bridge.bridge import Bridge
    from host_bridge.services.devices import DeviceInfo


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

# What the login screen says for each kind of challenge (`{text}` is the challenge text).
PROMPTS: Mapping[ChallengeKind, str] = {
    ChallengeKind.OCRA: "Challenge: {text}\nEnter it on the device, then type the response below.",
    ChallengeKind.SCC_CELLS: "Index numbers: {text}\nType the two codes side by side, no spaces.",
    ChallengeKind.TIME_PASSCODE: (
        "Turn the card on, enter the PIN and type the 6-digit passcode it shows."
    ),
    ChallengeKind.SMS_CODE: "A code was sent by SMS: type it below.",
}


class HostEvent(Message):
    """Something happened at the host (for the event log). Never carries a secret."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SecondFactorChosen(Message):
    """The login asks device `serial` for a code; `indices` are an SCC's requested cells.

    `challenge` and `user` let a phone app receive the login as a push notification (`push`: the
    challenge is one an app answers, OCRA). The app shell reads these fields and never imports
    `host_bridge` itself (docs/architecture.md)."""

    def __init__(
        self, serial: str, indices: tuple[int, ...], challenge: Challenge, user: str | None
    ) -> None:
        super().__init__()
        self.serial = serial
        self.indices = indices
        self.challenge = challenge
        self.user = user
        self.push = challenge.kind == ChallengeKind.OCRA


@dataclass(frozen=True, slots=True)
class WithdrawalAnswer:
    """A withdrawal decision as the form shows it."""

    allowed: bool
    text: str


Withdraw = Callable[[str, str, str], WithdrawalAnswer]
"""(user, confirming device serial, amount text) → the decision. Raises `SlsError`/`ValueError`."""
Limits = Callable[[str], list[str]]
"""user → one line per device: which device may confirm how much."""


def device_label(device: DeviceInfo) -> str:
    """How the device lists name a device."""
    return f"{short_name(device.model)} {device.serial}"


class LoginPane(Vertical):
    """The login screen.

    `connect` returns the host bridge; it is called on the first login, not at start-up, so the
    first screen does not wait for the store (and its crypto) to load. The bridge is used from the
    app's thread only (sqlite).
    """

    step: reactive[Step] = reactive(Step.CREDENTIALS)

    def __init__(
        self,
        connect: Callable[[], Bridge],
        *,
        user: str | None = None,
        withdraw: Withdraw | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(id="login")
        self._connect = connect
        self._bridge: Bridge | None = None
        self._default_user = user or ""
        self._withdraw = withdraw
        self._limits = limits
        self.user: str | None = None
        self.challenge: Challenge | None = None

    @property
    def bridge(self) -> Bridge:
        """The host bridge (connected on first use)."""
        if self._bridge is None:
            self._bridge = self._connect()
        return self._bridge

    def compose(self) -> ComposeResult:
        yield Static("Secure Login", classes="pane-title")
        with Vertical(id="step-credentials", classes="step"):
            yield Input(
                value=self._default_user, placeholder="username", id="username", compact=True
            )
            yield Input(placeholder="password", password=True, id="password", compact=True)
            yield Button("Log in", id="login-button", variant="primary", compact=True)
        yield Static("", id="result")
        yield Button("Log out", id="logout-button", compact=True)

    def on_mount(self) -> None:
        self._show_step()
        # The later steps are hidden at first: mount them after the first frame (faster start).
        self.call_after_refresh(self._mount_later_steps)

    async def _mount_later_steps(self) -> None:
        if not self.is_attached:
            return  # the app is already closing
        choose = Vertical(
            Static("Select Second Factor Device", classes="step-title"),
            OptionList(id="device-list"),
            id="step-choose",
            classes="step",
        )
        respond = Vertical(
            Static("", id="challenge"),
            Input(placeholder="response", id="response", compact=True),
            Horizontal(
                Button("Submit", id="submit-button", variant="primary", compact=True),
                Button("Other device", id="other-button", compact=True),
                classes="row",
            ),
            id="step-respond",
            classes="step",
        )
        done = VerticalScroll(
            Static("Withdrawal", classes="step-title"),
            Static("", id="limits"),
            OptionList(id="withdraw-device"),
            Input(placeholder="amount in USD", id="amount", compact=True),
            Button("Withdraw", id="withdraw-button", compact=True),
            Static("", id="withdraw-result"),
            id="step-done",
            classes="step",
        )
        for step in (choose, respond, done):
            step.display = False
        result = self.query_one("#result")
        await self.mount(choose, respond, before=result)
        await self.mount(done, after=result)
        self._show_step(focus=False)

    # --- step machine -----------------------------------------------------------------------------

    def advance(self, outcome: str) -> None:
        """Move the login along its transition table."""
        try:
            self.step = TRANSITIONS[(self.step, outcome)]
        except KeyError:
            raise ValueError(f"no transition from {self.step.value} on {outcome!r}") from None

    def watch_step(self) -> None:
        if self.is_mounted:
            self._show_step()

    def _show_step(self, focus: bool = True) -> None:
        for step in Step:
            for container in self.query(f"#step-{step.value}"):  # later steps may not be mounted
                container.display = step is self.step
        self.query_one("#logout-button").display = self.step is not Step.CREDENTIALS
        # While answering, focus goes to the device (the app moves it there), so its keys work.
        if not focus:
            return
        if self.step is Step.CREDENTIALS:
            self.query_one("#password" if self._default_user else "#username").focus()
        elif self.step is Step.CHOOSE:
            self.query_one("#device-list").focus()
        elif self.step is Step.DONE:
            # The response field just went away; without this nothing has focus and the next
            # keys go nowhere. The confirming device is preselected (the login's).
            self.query_one("#amount").focus()

    def focus_entry(self) -> None:
        """Focus the field the current step wants typed into (password first)."""
        self._show_step(focus=True)

    def _say(self, text: str) -> None:
        self.query_one("#result", Static).update(text)

    def _event(self, text: str) -> None:
        self.post_message(HostEvent(text))

    # --- handlers: forward to the host ------------------------------------------------------------

    @on(Button.Pressed, "#login-button")
    @on(Input.Submitted, "#username,#password")
    def log_in(self) -> None:
        name = self.query_one("#username", Input).value.strip()
        password_input = self.query_one("#password", Input)
        password = password_input.value
        password_input.value = ""
        if not name:
            self._say("Enter your username.")
            return
        try:
            accepted = self.bridge.check_password(name, password)
        except SlsError as exc:
            accepted = False
            self._event(f"login {name}: {exc}")
        if not accepted:
            self._event(f"password refused for {name}")
            self._say("Login failed: wrong username or password.")
            self.advance("password refused")
            return
        self.user = name
        self._event(f"password accepted for {name}")
        self._list_devices()
        self.advance("password accepted")

    def _list_devices(self) -> None:
        assert self.user is not None
        devices = self.bridge.devices(self.user)
        listing = self.query_one("#device-list", OptionList)
        listing.clear_options()
        listing.add_options([Option(device_label(d), id=d.serial) for d in devices])
        if devices:
            listing.highlighted = 0
            self._say(f"Welcome {self.user}: choose a device ({len(devices)} active).")
        else:
            self._say(f"{self.user} has no active device.")

    @on(OptionList.OptionSelected, "#device-list")
    def choose_device(self, event: OptionList.OptionSelected) -> None:
        serial = event.option_id
        if serial is None:
            return
        self.ask(serial)

    def ask(self, serial: str) -> None:
        """Issue a challenge for device `serial` and show it."""
        try:
            challenge = self.bridge.issue_challenge(serial)
        except SlsError as exc:
            self._event(f"challenge for {serial} refused: {exc}")
            self._say(f"Cannot use {serial}: {exc}")
            if self.step is Step.RESPOND:
                self.advance("device unusable")
                self._list_devices()
            else:
                self.advance("no challenge")
            return
        self.challenge = challenge
        prompt = PROMPTS.get(challenge.kind, "{text}").format(text=challenge.text)
        self.query_one("#challenge", Static).update(prompt)
        self.query_one("#response", Input).value = ""
        indices: tuple[int, ...] = ()
        if challenge.kind == ChallengeKind.SCC_CELLS:
            indices = tuple(int(word) for word in challenge.text.split())
        self._event(f"challenge for {serial}: {challenge.text or challenge.kind}")
        self.post_message(SecondFactorChosen(serial, indices, challenge, self.user))
        if self.step is Step.CHOOSE:
            self.advance("device chosen")
        self._say(f"Device {serial}: answer the challenge.")

    @on(Button.Pressed, "#submit-button")
    @on(Input.Submitted, "#response")
    def submit(self) -> None:
        challenge = self.challenge
        if challenge is None:
            return
        response_input = self.query_one("#response", Input)
        response = response_input.value
        response_input.value = ""
        try:
            verdict = self.bridge.verify(challenge.serial, challenge.id, response)
        except SlsError as exc:
            self._say(f"Error: {exc}")
            return
        self.challenge = None
        if verdict.accepted:
            self._event(f"response from {challenge.serial} accepted: {self.user} logged in")
            self._say(f"Login accepted: {self.user} is logged in with {challenge.serial}.")
            self.advance("response accepted")
            self._show_limits(challenge.serial)
            return
        self._event(f"response from {challenge.serial} refused: {verdict.reason}")
        self.advance("response refused")
        self.ask(challenge.serial)
        self._say(f"Login rejected: {verdict.reason}. " + self._retry_hint(challenge.serial))

    def _retry_hint(self, serial: str) -> str:
        if self.step is Step.RESPOND:
            return "A new challenge was issued."
        return f"{serial} can no longer be used; choose another device."

    def push_answered(self, push_id: str, response: str | None) -> None:
        """The phone answered the push for challenge `push_id`: approved (with the response the
        app computed, sent back to the host as the real app does) or denied (`None`)."""
        challenge = self.challenge
        if challenge is None or challenge.id != push_id:
            return  # an old push: its challenge is gone
        if response is None:
            self.challenge = None
            self._event(f"push for {challenge.serial} denied on the phone")
            self._list_devices()
            self.advance("choose again")
            self._say("Login denied on the phone: choose a device to try again.")
            return
        self.query_one("#response", Input).value = response
        self.submit()

    @on(Button.Pressed, "#other-button")
    def other_device(self) -> None:
        self.challenge = None
        self._list_devices()
        self.advance("choose again")

    @on(Button.Pressed, "#logout-button")
    def log_out(self) -> None:
        if self.user is not None:
            self._event(f"{self.user} logged out")
        self.user = None
        self.challenge = None
        self._say("")
        self.advance("log out")

    # --- withdrawals ------------------------------------------------------------------------------

    def _show_limits(self, login_serial: str) -> None:
        assert self.user is not None
        lines = self._limits(self.user) if self._limits is not None else []
        self.query_one("#limits", Static).update("\n".join(lines) or "(no withdrawal policy)")
        listing = self.query_one("#withdraw-device", OptionList)
        listing.clear_options()
        devices = self.bridge.devices(self.user)
        listing.add_options(
            [Option(f"confirm with {device_label(d)}", id=d.serial) for d in devices]
        )
        serials = [d.serial for d in devices]
        if login_serial in serials:
            listing.highlighted = serials.index(login_serial)

    @on(Button.Pressed, "#withdraw-button")
    @on(Input.Submitted, "#amount")
    def withdraw(self) -> None:
        listing = self.query_one("#withdraw-device", OptionList)
        result = self.query_one("#withdraw-result", Static)
        if self.user is None or self._withdraw is None or listing.highlighted is None:
            result.update("Choose the confirming device first.")
            return
        option = listing.get_option_at_index(listing.highlighted)
        serial = option.id or ""
        amount = self.query_one("#amount", Input).value
        try:
            answer = self._withdraw(self.user, serial, amount)
        except (SlsError, ValueError) as exc:
            result.update(f"Error: {exc}")
            return
        verdict = "ALLOWED" if answer.allowed else "DENIED"
        result.update(f"{verdict}: {answer.text}")
        self._event(f"withdrawal of {amount} with {serial}: {verdict.lower()}")
        if self._limits is not None:
            self.query_one("#limits", Static).update("\n".join(self._limits(self.user)))
