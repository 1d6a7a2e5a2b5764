"""The broker's login screen, beside the devices: password → second factor → result; withdrawals.

Theory of operation: the pane is a view over the host bridge (`host_bridge.bridge.Bridge`). Its
steps are an Enum with a transition table; the reactive `step` decides which widgets show. Every
host call is one `Bridge` method, awaited in a Textual worker and run on the host's own thread
(`HostThread`): the password check and the store's commits never freeze the app, and a key
pressed meanwhile is handled at once. What happened goes to the event log as `HostEvent`
messages; asking a device for a code posts `SecondFactorChosen` (the app brings that faceplate
forward, highlights an SCC's cells, sends an IB Key its push) and dropping it posts
`ChallengeClosed`. Secrets typed here (password, response) are never logged.

The steps and their transitions: `emulator.tui.login_steps`.

A host answer that arrives after the user moved on (logged out, chose another device) is dropped:
each such move starts a new `_turn`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from emulator.tui.host_thread import HostThread
from emulator.tui.login_messages import (
    MANUAL_PUSH_PROMPT,
    PUSH_PROMPT,
    ChallengeClosed,
    HostEvent,
    SecondFactorChosen,
)
from emulator.tui.login_steps import TRANSITIONS, Step, later_steps
from firmware_model.errors import SlsError
from firmware_model.models import short_name
from host_bridge.domain import ChallengeKind
from host_bridge.verification import Challenge

if TYPE_CHECKING:
    from emulator.tui.withdrawals import Limits, Withdraw, WithdrawalForm
    from host_bridge.bridge import Bridge
    from host_bridge.services.devices import DeviceInfo

# What the login screen says for each kind of challenge (`{text}` is the challenge text).
PROMPTS: Mapping[ChallengeKind, str] = {
    ChallengeKind.OCRA: "Challenge: {text}\nEnter it on the device, then type the response below.",
    ChallengeKind.SCC_CELLS: "Index numbers: {text}\nType the two codes side by side, no spaces.",
    ChallengeKind.TIME_PASSCODE: (
        "Turn the card on, enter the PIN and type the 6-digit passcode it shows."
    ),
    ChallengeKind.SMS_CODE: "A code was sent by SMS: type it below.",
}


def prompt_for(challenge: Challenge, *, manual_push: bool = False) -> str:
    """What the screen says for `challenge` (`manual_push`: an IB Key's typed challenge)."""
    template = MANUAL_PUSH_PROMPT if manual_push else PROMPTS.get(challenge.kind, "{text}")
    return template.format(text=challenge.text)


def device_label(device: DeviceInfo) -> str:
    """How the device lists name a device."""
    return f"{short_name(device.model)} {device.serial}"


def asking(
    serial: str, challenge: Challenge, user: str | None, model: str, push_id: str | None = None
) -> SecondFactorChosen:
    """The message that brings device `serial` (of `model`) forward for `challenge`: an SCC's
    cells, the keyboard unless it is an SCC, a push to the phone app (the IB Key's OCRA; the
    message then names the host's push id)."""
    scc = challenge.kind == ChallengeKind.SCC_CELLS
    return SecondFactorChosen(
        serial,
        push_id or challenge.id,
        challenge.text,
        user,
        indices=tuple(int(word) for word in challenge.text.split()) if scc else (),
        device_keys=not scc,
        push=model == "ibkey" and challenge.kind == ChallengeKind.OCRA,
    )


class LoginPane(Vertical):
    """The login screen.

    `connect` opens the host bridge; it is called on the host thread on the first login (not at
    start-up, so the first screen does not wait for the store), and the pane closes what it
    returned when it goes away.
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
        self.host: HostThread[Bridge] = HostThread(connect)
        self._default_user = user or ""
        self._withdraw = withdraw
        self._limits = limits
        self._models: dict[str, str] = {}
        self._turn = 0
        self.busy = False
        self.user: str | None = None
        self.challenge: Challenge | None = None
        self._push_id: str | None = None  # the host's push for the IB Key now asked

    def compose(self) -> ComposeResult:
        with Horizontal(id="login-top"):
            yield Static("Secure Login", classes="pane-title")
            yield Button("Log out (F3)", id="logout-button", compact=True)
        with Vertical(id="step-credentials", classes="step"):
            yield Input(
                value=self._default_user, placeholder="username", id="username", compact=True
            )
            yield Input(placeholder="password", password=True, id="password", compact=True)
            yield Button("Log in", id="login-button", variant="primary", compact=True)
        yield Static("", id="result")

    def on_mount(self) -> None:
        # Not a Tab stop (Tab from a card goes on to the response field): a click, or F3.
        self.query_one("#logout-button").can_focus = False
        self._show_step()
        # The later steps are hidden at first: mount them after the first frame (faster start).
        self.call_after_refresh(self._mount_later_steps)

    def on_unmount(self) -> None:
        self.host.close()

    async def _mount_later_steps(self) -> None:
        if not self.is_attached:
            return  # the app is already closing
        from emulator.tui.withdrawals import WithdrawalForm

        choose, respond = later_steps()
        done = WithdrawalForm(self.host, self._withdraw, self._limits)
        for step in (choose, respond, done):
            step.display = False
        result = self.query_one("#result")
        await self.mount(choose, respond, before=result)
        await self.mount(done, after=result)
        self._show_step(focus=False)

    @property
    def form(self) -> WithdrawalForm:
        from emulator.tui.withdrawals import WithdrawalForm

        return self.query_one(WithdrawalForm)

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
            self.app.refresh_bindings()  # "Log out" is offered only while logged in

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

    def answer_field(self) -> Input | None:
        """The field that waits for a device's code now (login response, withdrawal code)."""
        if self.step is Step.RESPOND and self.query_one("#response").display:
            return self.query_one("#response", Input)
        if self.step is Step.DONE and self.form.challenge is not None:
            return self.query_one("#confirm-code", Input)
        return None

    def _say(self, text: str) -> None:
        self.query_one("#result", Static).update(text)

    def _event(self, text: str) -> None:
        self.post_message(HostEvent(text))

    def _drop_challenge(self) -> None:
        """The login no longer waits for a code: the app un-highlights the SCC cells."""
        if self.challenge is not None:
            self.challenge = None
            self.post_message(ChallengeClosed())

    def _next_turn(self) -> int:
        self._turn += 1
        return self._turn

    # --- handlers: forward to the host ------------------------------------------------------------

    @on(Button.Pressed, "#login-button")
    @on(Input.Submitted, "#username,#password")
    def log_in(self) -> None:
        if self.busy or self.step is not Step.CREDENTIALS:
            return
        name = self.query_one("#username", Input).value.strip()
        password_input = self.query_one("#password", Input)
        password = password_input.value
        password_input.value = ""
        if not name:
            self._say("Enter your username.")
            return
        self._say("Checking the password…")
        self.busy = True
        self._check_password(name, password, self._turn)

    @work(group="host")
    async def _check_password(self, name: str, password: str, turn: int) -> None:
        try:
            try:
                accepted = await self.host.call(
                    lambda bridge: bridge.check_password(name, password)
                )
            except SlsError as exc:
                accepted = False
                self._event(f"login {name}: {exc}")
            if turn != self._turn:
                return
            if not accepted:
                self._event(f"password refused for {name}")
                self._say("Login failed: wrong username or password.")
                self.advance("password refused")
                return
            self.user = name
            await self._list_devices()
            self.advance("password accepted")
            self._event(f"password accepted for {name}")
        finally:
            self.busy = False

    async def _list_devices(self) -> None:
        user = self.user
        assert user is not None
        devices = await self.host.call(lambda bridge: bridge.devices(user))
        self._models = {device.serial: device.model for device in devices}
        listing = self.query_one("#device-list", OptionList)
        listing.clear_options()
        listing.add_options([Option(device_label(d), id=d.serial) for d in devices])
        if devices:
            listing.highlighted = 0
            self._say(f"Welcome {user}: choose a device ({len(devices)} active).")
        else:
            self._say(f"{user} has no active device.")

    @on(OptionList.OptionSelected, "#device-list")
    def choose_device(self, event: OptionList.OptionSelected) -> None:
        if event.option_id is not None and not self.busy:
            self.ask(event.option_id)

    def ask(self, serial: str) -> None:
        """Issue a challenge for device `serial` and show it."""
        self.busy = True
        self._issue(serial, self._turn)

    @work(group="host")
    async def _issue(self, serial: str, turn: int) -> None:
        try:
            await self._challenge(serial, turn)
        finally:
            self.busy = False

    async def _challenge(self, serial: str, turn: int) -> bool:
        """Ask the host for a challenge for `serial` and show it; False if it was refused."""
        model = self._models.get(serial, "")
        try:
            if model == "ibkey":  # the host sends the push; its challenge is the fallback
                sent = await self.host.call(lambda bridge: bridge.push.send(serial))
                challenge, push_id = sent.challenge, sent.push.id
            else:
                challenge = await self.host.call(lambda bridge: bridge.issue_challenge(serial))
                push_id = None
        except SlsError as exc:
            if turn != self._turn:
                return False
            if self.step is Step.RESPOND:
                self.advance("device unusable")
                await self._list_devices()
            else:
                self.advance("no challenge")
            self._say(f"Cannot use {serial}: {exc}")
            self._event(f"challenge for {serial} refused: {exc}")
            return False
        if turn != self._turn:
            return False
        self.challenge, self._push_id = challenge, push_id
        message = asking(serial, challenge, self.user, model, push_id)
        push = message.push
        self._show_challenge(challenge, push=push)
        self.post_message(message)
        if self.step is Step.CHOOSE:
            self.advance("device chosen")
        if challenge.kind == ChallengeKind.SCC_CELLS:
            # The card has no keys: what the user types goes to the response field.
            self.query_one("#response").focus()
            self._say(f"Read cells {challenge.text} on card {serial} and type both codes.")
        elif push:
            self._say(f"Device {serial}: approve the login on the phone.")
        else:
            self._say(f"Device {serial}: answer the challenge.")
        self._event(f"challenge for {serial}: {challenge.text or challenge.kind}")
        return True

    def _show_challenge(self, challenge: Challenge, *, push: bool) -> None:
        """The challenge prompt; for a push, one instruction and the link to the challenge."""
        self.query_one("#challenge", Static).update(
            PUSH_PROMPT if push else prompt_for(challenge, manual_push=False)
        )
        self.query_one("#no-push-button").display = push
        self.query_one("#response", Input).value = ""
        for widget in self.query("#response, #step-respond .row"):
            widget.display = not push

    @on(Button.Pressed, "#no-push-button")
    def no_push(self) -> None:
        """The seed's link: show the challenge to type into the phone, and the response field."""
        challenge = self.challenge
        if challenge is None:
            return
        self._push_id = None  # the typed response answers the push's challenge directly
        self._show_challenge(challenge, push=False)
        self.query_one("#challenge", Static).update(prompt_for(challenge, manual_push=True))
        self._event(f"manual challenge for {challenge.serial}")
        self.post_message(
            SecondFactorChosen(challenge.serial, challenge.id, challenge.text, self.user)
        )
        self._say(f"Device {challenge.serial}: answer the challenge.")

    @on(Button.Pressed, "#submit-button")
    @on(Input.Submitted, "#response")
    def submit(self) -> None:
        challenge = self.challenge
        if challenge is None or self.busy:
            return
        response_input = self.query_one("#response", Input)
        response = response_input.value
        response_input.value = ""
        self._say("Checking the response…")
        self.busy = True
        self._verify(challenge, response, self._turn)

    @work(group="host")
    async def _verify(
        self, challenge: Challenge, response: str, turn: int, push_id: str | None = None
    ) -> None:
        """Check a typed response, or (`push_id`) the app's approval through the host's push
        service."""
        try:
            try:
                verdict = await self.host.call(
                    lambda bridge: bridge.push.approve(push_id, response).verdict
                    if push_id is not None
                    else bridge.verify(challenge.serial, challenge.id, response)
                )
            except SlsError as exc:
                self._say(f"Error: {exc}")
                return
            if turn != self._turn:
                return
            self._drop_challenge()
            if verdict.accepted:
                assert self.user is not None
                await self.form.start(self.user, challenge.serial)
                self._say(f"Login accepted: {self.user} is logged in with {challenge.serial}.")
                self.advance("response accepted")
                self._event(f"response from {challenge.serial} accepted: {self.user} logged in")
                return
            self.advance("response refused")
            await self._challenge(challenge.serial, turn)  # a fresh one, or the device list
            hint = (
                "A new challenge was issued."
                if self.step is Step.RESPOND
                else f"{challenge.serial} can no longer be used; choose another device."
            )
            self._say(f"Login rejected: {verdict.reason}. {hint}")
            self._event(f"response from {challenge.serial} refused: {verdict.reason}")
        finally:
            self.busy = False

    def push_answered(self, push_id: str, response: str | None) -> None:
        """The phone answered the push for challenge `push_id`: approved (with the response the
        app computed, sent back to the host as the real app does) or denied (`None`)."""
        challenge = self.challenge
        if challenge is None or self._push_id is None or self._push_id != push_id:
            if self.step is Step.DONE:
                self.form.push_answered(push_id, response)
            return  # else an old push: its challenge is gone
        self._push_id = None
        if response is None:
            self._deny_at_host(push_id)
            self._drop_challenge()
            self.advance("choose again")
            self._relist(
                "Login denied on the phone: choose a device to try again.",
                f"push for {challenge.serial} denied on the phone",
            )
            return
        if not self.busy:
            self._say("Checking the approval…")
            self.busy = True
            self._verify(challenge, response, self._turn, push_id)

    @work(group="host")
    async def _deny_at_host(self, push_id: str) -> None:
        """The app's refusal reaches the host's push service (the push becomes `denied`)."""
        try:
            await self.host.call(lambda bridge: bridge.push.deny(push_id))
        except SlsError as exc:
            self._event(f"push denial not recorded: {exc}")

    @work(group="host")
    async def _relist(self, text: str, event: str | None = None) -> None:
        turn = self._turn
        await self._list_devices()
        if turn == self._turn:
            self._say(text)
        if event is not None:
            self._event(event)

    @on(Button.Pressed, "#other-button")
    def other_device(self) -> None:
        self._next_turn()
        self.busy = False
        self._drop_challenge()
        self.advance("choose again")
        self._relist("Choose a device.")

    @on(Button.Pressed, "#logout-button")
    def log_out(self) -> None:
        """Start over: every step and the withdrawal form forget this session."""
        if self.step is Step.CREDENTIALS:
            return
        self._next_turn()
        self.busy = False
        if self.user is not None:
            self._event(f"{self.user} logged out")
        self.user = None
        self._drop_challenge()
        self._models = {}
        self.query_one("#device-list", OptionList).clear_options()
        self.query_one("#challenge", Static).update("")
        self.query_one("#response", Input).value = ""
        self.form.reset()
        self._say("")
        self.advance("log out")
