"""The withdrawal form after a login, and its link to the host.

Which device may confirm how much, and the decision, come from the host's policy layer
(`host_bridge.services.policies.Policies`): the caps from its configured limits, the decision from
`Policies.withdraw`, which checks the account's ledger and books an allowed withdrawal in one
transaction. A denial's reason names the user's devices that could confirm the amount.

The form asks the confirming device for a code first, as a withdrawal confirmation does: a
challenge to that device (`Bridge.issue_challenge`, brought forward as at the login) and its
response (`Bridge.verify`); only an accepted code goes on to the decision. Host calls run on the
login pane's host thread, awaited in workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from emulator.tui.host_thread import HostThread
from emulator.tui.login_base import asking, device_label, prompt_for
from emulator.tui.login_messages import ChallengeClosed, HostEvent
from firmware_model.errors import SlsError
from firmware_model.models import ChallengeKind, short_name
from host_bridge.policies.optout import OptOut, withdrawal_model
from host_bridge.policies.withdrawal import CENTS_PER_USD, DEFAULT_LIMITS, Limit, format_usd

if TYPE_CHECKING:
    from host_bridge.bridge import Bridge
    from host_bridge.services.policies import Policies
    from host_bridge.verification import Challenge


@dataclass(frozen=True, slots=True)
class WithdrawalAnswer:
    """A withdrawal decision as the form shows it."""

    allowed: bool
    text: str


Withdraw = Callable[["Bridge", str, str, str], WithdrawalAnswer]
"""(bridge, user, confirming device serial, amount text) → the decision. Raises `SlsError`/
`ValueError`."""
Limits = Callable[["Bridge", str], list[str]]
"""(bridge, user) → one line per device: which device may confirm how much."""


def _usd(cents: int | None) -> str:
    return "unlimited" if cents is None else f"{cents // CENTS_PER_USD:,}"


LIMITS_HEADING = "Confirms up to (USD a day / 5 days):"
OPTED_OUT_HEADING = "Opted out of the SLS: every device confirms up to (USD a day / 5 days):"


def limit_lines(bridge: Bridge, limits: Mapping[str, Limit], user: str) -> list[str]:
    """A heading, then one line per active device of `user`: the caps it confirms (per day /
    per 5 days) — the row the host's rule picks (`policies.optout.withdrawal_model`: the
    no-device row for every device when the account is fully opted out). Short enough for the
    login pane at 80 columns."""
    mode = bridge.optout.opt_out(user)
    rows = []
    for device in bridge.devices(user):
        limit = limits.get(withdrawal_model(mode, device.model))
        if limit is None:
            continue
        if limit.per_day is None and limit.per_window is None:
            caps = "unlimited"
        else:
            caps = f"{_usd(limit.per_day)} / {_usd(limit.per_window)}"
        rows.append((f"{short_name(device.model)} {device.serial[-4:]}", caps))
    width = max((len(name) for name, _ in rows), default=0)
    heading = OPTED_OUT_HEADING if mode is OptOut.FULL else LIMITS_HEADING
    return [heading, *(f"{name.ljust(width)}  {caps}" for name, caps in rows)]


def withdrawal_hooks(policies: Policies | None = None) -> tuple[Withdraw, Limits]:
    """The callables the withdrawal form uses (on the host thread, with its bridge).

    The policy layer is loaded on the first withdrawal, not at start-up (a faster first screen).
    """
    made: list[Policies] = [policies] if policies is not None else []

    def policy(bridge: Bridge) -> Policies:
        if not made:
            from host_bridge.services.policies import Policies

            made.append(Policies(bridge))
        return made[0]

    def limits(bridge: Bridge, user: str) -> list[str]:
        caps = made[0].config.limits if made else DEFAULT_LIMITS
        return limit_lines(bridge, caps, user)

    def withdraw(bridge: Bridge, user: str, serial: str, amount: str) -> WithdrawalAnswer:
        from host_bridge.inputs import money_to_cents

        decision = policy(bridge).withdraw(user, serial, money_to_cents(amount))
        text = decision.reason
        if decision.allowed:
            text += f" (room left today: {format_usd(decision.day_room)})"
        return WithdrawalAnswer(decision.allowed, text)

    return withdraw, limits


class WithdrawalForm(VerticalScroll):
    """Limits, the confirming device, the amount; then that device's code; then the decision."""

    def __init__(
        self, host: HostThread[Bridge], withdraw: Withdraw | None, limits: Limits | None
    ) -> None:
        super().__init__(id="step-done", classes="step")
        self._host = host
        self._withdraw = withdraw
        self._limits = limits
        self.user: str | None = None
        self.challenge: Challenge | None = None
        self._amount = ""
        self._models: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("Withdrawal", classes="step-title")
        yield Static("", id="limits")
        yield Static("Confirm with:")
        yield OptionList(id="withdraw-device")
        yield Input(placeholder="amount in USD", id="amount", compact=True)
        yield Button("Withdraw", id="withdraw-button", compact=True)
        with Vertical(id="confirm"):
            yield Static("", id="confirm-prompt")
            yield Input(placeholder="confirmation code", id="confirm-code", compact=True)
        yield Static("", id="withdraw-result")

    def on_mount(self) -> None:
        self.query_one("#confirm").display = False

    def _result(self, text: str) -> None:
        self.query_one("#withdraw-result", Static).update(text)

    def reset(self) -> None:
        """Forget the session: no user, limits, devices, amount, code or verdict."""
        self.user = None
        self._close_confirmation()
        self.query_one("#limits", Static).update("")
        self.query_one("#withdraw-device", OptionList).clear_options()
        self.query_one("#amount", Input).value = ""
        self._result("")

    async def start(self, user: str, login_serial: str | None) -> None:
        """A fresh form for `user`, the login's device preselected to confirm (`None`: a login
        without a second factor, nothing preselected)."""
        self.reset()
        self.user = user
        limits = self._limits
        lines, devices = await self._host.call(
            lambda bridge: (
                limits(bridge, user) if limits is not None else [],
                bridge.devices(user),
            )
        )
        self._models = {device.serial: device.model for device in devices}
        self.query_one("#limits", Static).update("\n".join(lines) or "(no withdrawal policy)")
        listing = self.query_one("#withdraw-device", OptionList)
        listing.add_options([Option(device_label(d), id=d.serial) for d in devices])
        serials = [d.serial for d in devices]
        if login_serial in serials:
            listing.highlighted = serials.index(login_serial)

    # --- 1. amount → a challenge to the confirming device -----------------------------------------

    @on(Button.Pressed, "#withdraw-button")
    @on(Input.Submitted, "#amount")
    def withdraw(self) -> None:
        listing = self.query_one("#withdraw-device", OptionList)
        if self.user is None or self._withdraw is None or listing.highlighted is None:
            self._result("Choose the confirming device first.")
            return
        amount = self.query_one("#amount", Input).value.strip()
        if not amount:
            self._result("Type the amount first.")
            return
        serial = listing.get_option_at_index(listing.highlighted).id or ""
        self._amount = amount
        self._ask(self.user, serial)

    @work(group="host")
    async def _ask(self, user: str, serial: str) -> None:
        try:
            challenge = await self._host.call(lambda bridge: bridge.issue_challenge(serial))
        except SlsError as exc:
            self._result(f"Cannot confirm with {serial}: {exc}")
            self.post_message(HostEvent(f"confirmation challenge for {serial} refused: {exc}"))
            return
        self.challenge = challenge
        self.query_one("#confirm").display = True
        self.query_one("#confirm-prompt", Static).update(
            f"Confirm USD {self._amount} with {serial}.\n" + prompt_for(challenge)
        )
        self.query_one("#confirm-code", Input).value = ""
        self.post_message(asking(serial, challenge, user, self._models.get(serial, "")))
        if challenge.kind == ChallengeKind.SCC_CELLS:
            self.query_one("#confirm-code").focus()
        self._result("")
        self.post_message(HostEvent(f"confirmation challenge for {serial}: {challenge.text}"))

    # --- 2. the device's code → the decision ------------------------------------------------------

    @on(Input.Submitted, "#confirm-code")
    def confirm(self) -> None:
        challenge = self.challenge
        if challenge is None or self.user is None:
            return
        code_input = self.query_one("#confirm-code", Input)
        code, code_input.value = code_input.value, ""
        self._close_confirmation()
        self._decide(self.user, challenge, code, self._amount)

    def push_answered(self, push_id: str, response: str | None) -> None:
        """The phone answered the confirmation's push (`None`: denied)."""
        challenge = self.challenge
        if challenge is None or challenge.id != push_id or self.user is None:
            return
        self._close_confirmation()
        if response is None:
            self._result(f"DENIED: the withdrawal was refused on {challenge.serial}.")
            self.post_message(HostEvent(f"withdrawal confirmation denied on {challenge.serial}"))
            return
        self._decide(self.user, challenge, response, self._amount)

    def _close_confirmation(self) -> None:
        self.query_one("#confirm").display = False
        if self.challenge is not None:
            self.challenge = None
            self.post_message(ChallengeClosed())

    @work(group="host")
    async def _decide(self, user: str, challenge: Challenge, code: str, amount: str) -> None:
        serial = challenge.serial
        withdraw = self._withdraw
        assert withdraw is not None

        def decide(bridge: Bridge) -> WithdrawalAnswer | None:
            if not bridge.verify(serial, challenge.id, code).accepted:
                return None
            return withdraw(bridge, user, serial, amount)

        try:
            answer = await self._host.call(decide)
        except (SlsError, ValueError) as exc:
            self._result(f"Error: {exc}")
            return
        if user != self.user:
            return  # logged out meanwhile
        if answer is None:
            self._result(f"DENIED: the code from {serial} was refused.")
            self.post_message(HostEvent(f"withdrawal of {amount} with {serial}: code refused"))
            return
        verdict = "ALLOWED" if answer.allowed else "DENIED"
        self._result(f"{verdict}: {answer.text}")
        limits = self._limits
        if limits is not None:
            lines = await self._host.call(lambda bridge: limits(bridge, user))
            self.query_one("#limits", Static).update("\n".join(lines))
        self.query_one("#amount").focus()
        self.post_message(HostEvent(f"withdrawal of {amount} with {serial}: {verdict.lower()}"))
