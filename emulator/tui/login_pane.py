"""The broker's login screen, beside the devices: password → second factor → result; withdrawals.

Theory of operation: the pane is a view over the host bridge (`host_bridge.bridge.Bridge`); its
layout, steps and state are `emulator.tui.login_base.LoginBase`. Every host call is one `Bridge`
method, awaited in a Textual worker and run on the host's own thread (`HostThread`): the password
check and the store's commits never freeze the app, and a key pressed meanwhile is handled at
once. What happened goes to the event log as `HostEvent` messages; asking a device for a code
posts `SecondFactorChosen` (the app brings that faceplate forward, highlights an SCC's cells,
sends an IB Key its push) and dropping it posts `ChallengeClosed`. Secrets typed here (password,
response) are never logged.

After the right password the pane asks the host whether the password is enough
(`Bridge.password_is_enough`, the one opt-out rule every door asks, audited `login.optout`): a
fully opted-out user is then logged in without a second factor, straight to the withdrawal form,
whose caps follow the host's opt-out rule (`policies.optout.withdrawal_model`).

The steps and their transitions: `emulator.tui.login_steps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from emulator.tui.login_base import LoginBase, asking, device_label, prompt_for
from emulator.tui.login_messages import PUSH_PROMPT, SecondFactorChosen
from emulator.tui.login_steps import Step
from firmware_model.errors import SlsError
from firmware_model.models import ChallengeKind
from host_bridge.errors import StoreError

if TYPE_CHECKING:
    from host_bridge.verification import Challenge

CALLER = "tui"
"""How the audit names this door (`login.optout` rows)."""
OPTED_OUT_STATE = "logged in without a second factor (opted out of the SLS)"

__all__ = ["LoginPane"]


class LoginPane(LoginBase):
    """The login screen: `LoginBase` with its host calls."""

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
            store_problem = ""
            try:
                accepted = await self.host.call(
                    lambda bridge: bridge.check_password(name, password)
                )
            except SlsError as exc:
                accepted = False
                self._event(f"login {name}: {exc}")
                if isinstance(exc, StoreError):  # e.g. an empty store: say which, not "wrong"
                    store_problem = str(exc)
            if turn != self._turn:
                return
            if not accepted:
                self._event(f"password refused for {name}")
                self._say(f"Login failed: {store_problem or 'wrong username or password.'}")
                self.advance("password refused")
                return
            self.user = name
            if await self.host.call(lambda bridge: bridge.password_is_enough(name, caller=CALLER)):
                await self._without_second_factor(name)
                return
            await self._list_devices()
            self.advance("password accepted")
            self._event(f"password accepted for {name}")
        finally:
            self.busy = False

    async def _without_second_factor(self, name: str) -> None:
        """The host said the password is enough (a fully opted-out account): logged in, no
        device asked; the withdrawal form offers the devices with the opt-out caps."""
        await self.form.start(name, None)
        self._say(f"Login accepted: {name} is {OPTED_OUT_STATE}.")
        self.advance("opted out")
        self._event(f"password accepted for {name}: {OPTED_OUT_STATE}")

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
