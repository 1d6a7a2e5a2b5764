"""The IB Key phone's activation and recovery screens (F6 on the phone's tab), through the host.

The emulated app never talks to a store: like the real app talks to the broker's server, these
screens call the host bridge (`Bridge.ibkey`, `host_bridge.services.ibkey`) on the login pane's
host thread, awaited in Textual workers, and the app model (`firmware_model.ibkey`) on the device
session. What the screen shows follows the app's phase:

    awaiting activation  username, password, SMS activation token, new PIN → Activate
                         (the host checks username and password first, then token and PIN)
    needs recovery       KB2748: "Recover Setup" (Android) or "Yes" (iOS)
      Android            Continue → credentials → Initialize Recovery (the host sends the SMS;
                         the phone shows it) → Activation Code + PIN → Submit → Done
      iOS                fingerprint / Face ID or PIN → the host's challenge answered by the
                         restored app → Done (no SMS)
    active               nothing to do (Done)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from emulator.session import DeviceSession
from emulator.tui.host_thread import HostThread
from firmware_model.device import Reaction
from firmware_model.errors import SlsError
from firmware_model.events import ResponseComputed
from firmware_model.ibkey import BIOMETRIC, Biometric, IbKey, Phase, token_hash

if TYPE_CHECKING:
    from host_bridge.bridge import Bridge

_PANELS = ("activate", "choose", "android-credentials", "android-submit", "ios", "done")


class IbKeySetup(ModalScreen[None]):
    """The phone's setup screens for device `serial` (an IB Key session)."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(
        self,
        host: HostThread[Bridge],
        session: DeviceSession,
        serial: str,
        changed: Callable[[str], None],
    ) -> None:
        super().__init__(id="ibkey-setup")
        self.host, self.session, self.serial = host, session, serial
        self._changed = changed  # (event text) → the app logs it and redraws the faceplate

    @property
    def app_model(self) -> IbKey:
        device = self.session.device
        if not isinstance(device, IbKey):
            raise TypeError("the IB Key setup needs an IB Key")
        return device

    def compose(self) -> ComposeResult:
        with Vertical(id="ibkey-box"):
            yield Static("IBKR Mobile — IB Key", id="ibkey-title")
            yield Static("", id="ibkey-status")
            with Vertical(id="ibkey-activate"):
                yield Input(placeholder="Username", id="ibkey-user")
                yield Input(placeholder="Password", password=True, id="ibkey-password")
                yield Input(placeholder="Activation token (SMS)", id="ibkey-token")
                yield Input(placeholder="New PIN (4-6)", password=True, id="ibkey-pin")
                yield Button("Activate", id="ibkey-do-activate")
            with Vertical(id="ibkey-choose"):
                yield Static("Recover the setup?")
                yield Button("Recover Setup (Android)", id="ibkey-choose-android")
                yield Button("Yes (iOS)", id="ibkey-choose-ios")
            with Vertical(id="ibkey-android-credentials"):
                yield Static("Recovery: enter your credentials, then Initialize Recovery.")
                yield Input(placeholder="Username", id="ibkey-rec-user")
                yield Input(placeholder="Password", password=True, id="ibkey-rec-password")
                yield Button("Initialize Recovery", id="ibkey-initialize")
            with Vertical(id="ibkey-android-submit"):
                yield Input(placeholder="Activation Code (SMS)", id="ibkey-code")
                yield Input(placeholder="PIN", password=True, id="ibkey-rec-pin")
                yield Button("Submit", id="ibkey-submit")
            with Vertical(id="ibkey-ios"):
                yield Input(placeholder="PIN (or use the fingerprint)", password=True,
                            id="ibkey-ios-pin")
                yield Button("Fingerprint / Face ID", id="ibkey-biometric")
                yield Button("Use PIN", id="ibkey-ios-use-pin")
            with Vertical(id="ibkey-done"):
                yield Button("Done", id="ibkey-close")

    def on_mount(self) -> None:
        phase = self.app_model.phase
        if phase is Phase.AWAITING_ACTIVATION:
            self.show("activate", "Activate IB Key: your username and password first.")
        elif phase is Phase.NEEDS_RECOVERY:
            self.show("choose", "The app was reinstalled or the phone's system updated.")
        else:
            self.show("done", "IB Key is active: nothing to set up.")

    def show(self, panel: str, status: str) -> None:
        """Show one panel and a status line."""
        for name in _PANELS:
            self.query_one(f"#ibkey-{name}").display = name == panel
        self.query_one("#ibkey-status", Static).update(status)

    def _value(self, field: str) -> str:
        return self.query_one(f"#ibkey-{field}", Input).value

    def _device(self, call: Callable[[IbKey, float], Reaction]) -> Reaction:
        """One call of the app model: saved when it asks, logged, the faceplate redrawn."""
        reaction = call(self.app_model, self.session.now)
        if reaction.persist:
            self.session.save()
        for event in reaction.events:
            self._changed(event.describe())  # never a code
        self._changed("")
        return reaction

    async def _host(self, call: Callable[[Bridge], object]) -> object | SlsError:
        """A host call on the host thread; a refusal comes back as the error (shown)."""
        try:
            return await self.host.call(call)
        except SlsError as exc:
            return exc

    # --- activation ---------------------------------------------------------------------------

    @on(Button.Pressed, "#ibkey-do-activate")
    @work(group="ibkey", exclusive=True)
    async def activate(self) -> None:
        user, password = self._value("user"), self._value("password")
        token, pin = self._value("token"), self._value("pin")
        if user not in self.app_model.pending_usernames:
            self.show("activate", f"{user or 'that user'} is not waiting on this app")
            return
        serial = self.serial
        done = await self._host(lambda b: b.ibkey.activate(user, password, serial, token, pin))
        if isinstance(done, SlsError) or not done:
            self.show("activate", str(done) if done else "Wrong or expired activation token")
            return
        reaction = self._device(lambda app, now: app.activate(user, token, pin, now))
        self.show("done", reaction.display)

    # --- recovery -----------------------------------------------------------------------------

    @on(Button.Pressed, "#ibkey-choose-android")
    def android(self) -> None:
        self.show("android-credentials", "Review the Recovery directions, then Continue.")

    @on(Button.Pressed, "#ibkey-initialize")
    @work(group="ibkey", exclusive=True)
    async def initialize(self) -> None:
        user, password, serial = self._value("rec-user"), self._value("rec-password"), self.serial

        def start(bridge: Bridge) -> str:
            bridge.ibkey.initialize_recovery(user, password, serial)
            message = bridge.outbox.latest(serial)
            return "" if message is None else message.code

        code = await self._host(start)
        if isinstance(code, SlsError) or not isinstance(code, str):
            self.show("android-credentials", str(code))
            return
        self._device(lambda app, now: app.begin_recovery(token_hash(code, os.urandom)))
        self.show("android-submit", f"SMS from IBKR: your Activation Token is {code}")

    @on(Button.Pressed, "#ibkey-submit")
    @work(group="ibkey", exclusive=True)
    async def submit(self) -> None:
        code, pin, serial = self._value("code"), self._value("rec-pin"), self.serial
        taken = await self._host(lambda b: b.ibkey.submit_recovery(serial, code))
        if isinstance(taken, SlsError) or not taken:
            self.show("android-submit", str(taken) if taken else "Wrong or expired token")
            return
        reaction = self._device(lambda app, now: app.recover(pin, code, now))
        done = self.app_model.phase is Phase.ACTIVE
        self.show("done" if done else "android-submit", reaction.display)

    @on(Button.Pressed, "#ibkey-choose-ios")
    def ios(self) -> None:
        self.show("ios", "Provide the fingerprint, Face ID or PIN that secured the app.")

    @on(Button.Pressed, "#ibkey-biometric")
    def biometric(self) -> None:
        self.restore(BIOMETRIC)

    @on(Button.Pressed, "#ibkey-ios-use-pin")
    def ios_pin(self) -> None:
        self.restore(self._value("ios-pin"))

    @work(group="ibkey", exclusive=True)
    async def restore(self, secret: str | Biometric) -> None:
        reaction = self._device(lambda app, now: app.restore(secret, now))
        if self.app_model.phase is not Phase.ACTIVE:
            self.show("ios", reaction.display)
            return
        serial = self.serial
        challenge = await self._host(lambda b: b.ibkey.ios_recovery_challenge(serial))
        if isinstance(challenge, SlsError):
            self.show("done", f"recovered on the phone; the host refused: {challenge}")
            return
        text, challenge_id = getattr(challenge, "text", ""), getattr(challenge, "id", "")
        user = self.app_model.usernames[0]
        answered = self._device(lambda app, now: app.respond(user, secret, text, now))
        response = next(e.response for e in answered.events if isinstance(e, ResponseComputed))
        verdict = await self._host(
            lambda b: b.ibkey.confirm_ios_recovery(serial, challenge_id, response)
        )
        if getattr(verdict, "accepted", False):
            self.show("done", "IB Key recovered")
        else:
            self.show("done", f"the host refused: {getattr(verdict, 'reason', verdict)}")

    @on(Button.Pressed, "#ibkey-close")
    def close_setup(self) -> None:
        self.dismiss()
