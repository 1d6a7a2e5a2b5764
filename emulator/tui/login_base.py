"""The login screen's frame: its layout, its step machine and the state a login keeps; the
texts it shows for a challenge. `emulator.tui.login_pane.LoginPane` builds the login itself (the
host calls: password, opt-out, device choice, challenge, push, response) on this base.

Theory of operation: the reactive `step` (`emulator.tui.login_steps`) decides which widgets show
and where the focus goes; `advance` moves it along the transition table. A host answer that
arrives after the user moved on (logged out, chose another device) is dropped: each such move
starts a new `_turn`. Secrets typed here (password, response) are never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Button, Input, Static

from emulator.tui.host_thread import HostThread
from emulator.tui.login_messages import (
    MANUAL_PUSH_PROMPT,
    ChallengeClosed,
    HostEvent,
    SecondFactorChosen,
)
from emulator.tui.login_steps import TRANSITIONS, Step, later_steps
from firmware_model.models import ChallengeKind, short_name

if TYPE_CHECKING:  # the host bridge loads on the host thread, at the first login
    from emulator.tui.withdrawals import Limits, Withdraw, WithdrawalForm
    from host_bridge.bridge import Bridge
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


class LoginBase(Vertical):
    """The login screen's layout, steps and state (`LoginPane` adds the host calls).

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

