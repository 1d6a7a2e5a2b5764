"""What every IB Key flow works on: the app's screens, its memory, and the checks they share.

`IbKeyCore` is the app without its flows: it loads and saves the image (`ibkey_image`), holds the
transient state (screen, typed digits, pending push), answers the indicators (`phase`, `screen`,
`status`, …) and has the helpers every flow uses — the clock, the phase check against
`PHASE_TRANSITIONS`, the PIN check (counted before comparing, constant time), the next OCRA
response, notices and rendering. The flows are layered on top, one module each:
`ibkey_activation` (activate, add a user), `ibkey_recovery` (reinstall, Android and iOS
recovery, KB2748), `ibkey_login` (manual response, push); `firmware_model.ibkey` joins them with
the buttons into `IbKey` and holds the screen table (its module docstring describes the app).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from firmware_model import ibkey_image
from firmware_model.device import Device, Entropy, Reaction
from firmware_model.events import DeviceEvent, PinLocked, PinRejected
from firmware_model.fsm import Rule
from firmware_model.ibkey_image import COUNTER_LIMIT, PIN_RULE, IbKeyState, Pending, Phase, User
from firmware_model.image import DeviceImage
from firmware_model.secret_hash import SaltedHash

__all__ = [
    "BIOMETRIC",
    "PHASE_TRANSITIONS",
    "PIN_MAX",
    "PIN_MIN",
    "Biometric",
    "IbKeyCore",
    "PendingPush",
    "Screen",
    "short_name",
]

PIN_MIN, PIN_MAX = PIN_RULE.min_length, PIN_RULE.max_length


class Biometric(enum.Enum):
    """A fingerprint or Face ID that the phone accepted (the emulator has no failing finger)."""

    OK = "biometric"


BIOMETRIC = Biometric.OK


class Screen(enum.Enum):
    """The app's transient screens (see the table in `firmware_model.ibkey`'s docstring)."""

    CLOSED = "closed"
    NOTICE = "notice"
    CHALLENGE = "challenge"
    PIN = "pin"
    RESPONSE = "response"
    WRONG_PIN = "wrong_pin"
    PUSH = "push"
    PUSH_PIN = "push_pin"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class PendingPush:
    """The push notification waiting for an answer (transient: not in the image)."""

    push_id: str
    username: str
    challenge: str
    expires: float


def short_name(username: str) -> str:
    """A username cut to fit a screen line."""
    return username if len(username) <= 12 else username[:11] + "~"


def _rule_phase(*targets: Phase) -> Rule[Phase, Callable[..., Reaction]]:
    return Rule(frozenset(targets))


_P = Phase
PHASE_TRANSITIONS: Final[Mapping[tuple[Phase, str], Rule[Phase, Callable[..., Reaction]]]] = {
    # A wrong activation token leaves the app waiting.
    (_P.AWAITING_ACTIVATION, "activate"): _rule_phase(_P.ACTIVE, _P.AWAITING_ACTIVATION),
    **{
        (_P.ACTIVE, call): _rule_phase(_P.ACTIVE)
        for call in ("offer_user", "add_user", "respond", "push", "begin_recovery", "recover")
    },
    (_P.ACTIVE, "reinstall"): _rule_phase(_P.NEEDS_RECOVERY),
    (_P.NEEDS_RECOVERY, "reinstall"): _rule_phase(_P.NEEDS_RECOVERY),
    (_P.NEEDS_RECOVERY, "begin_recovery"): _rule_phase(_P.NEEDS_RECOVERY),
    # A failed recovery leaves it waiting for the next try.
    (_P.NEEDS_RECOVERY, "recover"): _rule_phase(_P.ACTIVE, _P.NEEDS_RECOVERY),
    (_P.NEEDS_RECOVERY, "restore"): _rule_phase(_P.ACTIVE, _P.NEEDS_RECOVERY),
}
"""(phase, API call) → every phase the call may leave the app in; a call not listed is refused.
Buttons never change the phase. A locked PIN is recovered in place (ACTIVE stays ACTIVE). The API
method the kind names makes the move, so no rule has a handler."""


class IbKeyCore(Device):
    """The IB Key app's memory, indicators and shared checks (no flows: see `IbKey`)."""

    def __init__(self, image: DeviceImage, entropy: Entropy) -> None:
        self._image = image
        self._entropy = entropy
        config = ibkey_image.read_config(image)
        self._pin_retries = config.pin_retries
        self._recovery_retries = config.recovery_retries
        self._token_retries = config.token_retries
        self._push_seconds = config.push_seconds
        self._biometric = config.biometric
        loaded = ibkey_image.read_state(config, image)
        self._phase = loaded.phase
        self._users: list[User] = loaded.users
        self._pending: list[Pending] = loaded.pending
        self._pin: SaltedHash | None = loaded.pin
        self._pin_sha1: bytes | None = loaded.pin_sha1
        self._pin_failures = loaded.pin_failures
        self._recovery_token: SaltedHash | None = loaded.recovery_token
        self._recovery_token_failures = loaded.recovery_token_failures
        self._recovery_failures = loaded.recovery_failures
        # transient
        self._screen = Screen.CLOSED
        self._selected = 0
        self._typed = ""
        self._challenge = ""
        self._message = ""
        self._push: PendingPush | None = None
        self._now = 0.0

    def to_image(self) -> DeviceImage:
        state = IbKeyState(
            self._phase,
            self._users,
            self._pending,
            self._pin,
            self._pin_sha1,
            self._pin_failures,
            self._recovery_failures,
            self._recovery_token,
            self._recovery_token_failures,
        )
        return self._image.with_state(ibkey_image.write_state(state))

    # --- indicators ---------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """The durable phase."""
        return self._phase

    @property
    def screen(self) -> Screen:
        """The screen shown now."""
        return self._screen

    @property
    def pin_locked(self) -> bool:
        """Whether too many wrong PINs have locked the app (recovery needed)."""
        return self._pin_failures >= self._pin_retries

    @property
    def recovery_locked(self) -> bool:
        """Whether too many wrong recovery attempts mean only a new activation helps."""
        return self._recovery_failures >= self._recovery_retries

    @property
    def pin_failures(self) -> int:
        """Wrong PINs in a row (durable)."""
        return self._pin_failures

    @property
    def recovery_failures(self) -> int:
        """Wrong recovery attempts in a row (durable)."""
        return self._recovery_failures

    @property
    def usernames(self) -> tuple[str, ...]:
        """The active users, in the order NEXT cycles through them."""
        return tuple(user.username for user in self._users)

    @property
    def pending_usernames(self) -> tuple[str, ...]:
        """Users offered by the host and waiting for their SMS token."""
        return tuple(p.username for p in self._pending)

    @property
    def selected_user(self) -> str | None:
        """The user the challenge screen is for."""
        return self._users[self._selected].username if self._users else None

    def counter(self, username: str) -> int:
        """The counter the next response of `username` will use."""
        return self._user(username).counter

    @property
    def pending_push(self) -> str | None:
        """The id of the push waiting for an answer, if any."""
        return self._push.push_id if self._push else None

    @property
    def display(self) -> str:
        return self._render()

    @property
    def powered(self) -> bool:
        return self._screen is not Screen.CLOSED

    def status(self) -> dict[str, str | int | bool]:
        status = Device.status(self)
        status.update(
            phase=self._phase.value,
            screen=self._screen.value,
            users=len(self._users),
            pin_failures=self._pin_failures,
            pin_retries=self._pin_retries,
            pin_locked=self.pin_locked,
            recovery_failures=self._recovery_failures,
            recovery_locked=self.recovery_locked,
            push_pending=self._push is not None,
        )
        if self.selected_user is not None:
            status["selected_user"] = self.selected_user
        return status

    def _open(self) -> None:
        """Show the screen the phase calls for (the app opening, or going back home)."""
        self._typed = self._challenge = ""
        if self._phase is Phase.AWAITING_ACTIVATION:
            void = not self._pending
            self._message = "Activation void: provision again" if void else "Activate IB Key first"
        elif self.recovery_locked:
            self._message = "Recovery locked: activate again"
        elif self._phase is Phase.NEEDS_RECOVERY:
            self._message = "Recover IB Key first"
        elif self.pin_locked:
            self._message = "PIN locked: recover IB Key"
        elif self._push is not None:
            self._screen = Screen.PUSH
            return
        else:
            self._screen = Screen.CHALLENGE
            return
        self._screen = Screen.NOTICE

    def _close(self) -> None:
        self._typed = self._challenge = self._message = ""
        self._screen = Screen.CLOSED

    # --- helpers ------------------------------------------------------------------------------

    def _clock(self, now: float) -> None:
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise ValueError("now must be a finite number of seconds")
        if now < 0:
            raise ValueError("now must not be negative")
        self._now = max(self._now, float(now))

    def _require(self, event: str) -> None:
        if (self._phase, event) not in PHASE_TRANSITIONS:
            raise ValueError(f"IB Key cannot {event.replace('_', ' ')} now ({self._phase.value})")

    def _user(self, username: str) -> User:
        for user in self._users:
            if user.username == username:
                return user
        raise ValueError(f"no user {username!r} on this app")

    def _check_pin(self, pin: str | Biometric) -> bool:
        """Check a PIN (counted before comparing) or accept an enabled biometric."""
        if isinstance(pin, Biometric):
            if not self._biometric:
                raise ValueError("biometrics are not enabled on this phone")
            return True
        if not isinstance(pin, str):
            raise TypeError("pin must be text or BIOMETRIC")
        assert self._pin is not None
        self._pin_failures += 1
        if self._pin.matches(pin):
            self._pin_failures = 0
            return True
        return False

    def _unlock(self, pin: str | Biometric) -> Reaction | None:
        """None if `pin` unlocks the app's key; else the refusal to return."""
        if self.pin_locked:
            return self._show_notice("PIN locked: recover IB Key")
        if self._check_pin(pin):
            return None
        return self._wrong_pin()

    def _wrong_pin(self) -> Reaction:
        left = self._pin_retries - self._pin_failures
        if left <= 0:
            self._message = "PIN locked: recover IB Key"
            self._screen = Screen.NOTICE
            return Reaction(self.display, persist=True, events=(PinLocked(),))
        self._message = f"Wrong PIN, {left} tries left"
        self._screen = Screen.WRONG_PIN
        return Reaction(self.display, persist=True, events=(PinRejected(self._pin_failures),))

    def _next_response(self, user: User, challenge: str) -> str:
        assert self._pin_sha1 is not None
        if user.counter + 1 >= COUNTER_LIMIT:
            raise ValueError("the counter is exhausted")
        response = user.calculator.response(
            counter=user.counter, question=challenge, pin_hash=self._pin_sha1
        )
        user.counter += 1
        return response

    def _show_notice(
        self, text: str, *, persist: bool = False, events: tuple[DeviceEvent, ...] = ()
    ) -> Reaction:
        self._message = text
        self._screen = Screen.NOTICE
        return Reaction(self.display, persist=persist, events=events)

    def _render(self) -> str:
        screen = self._screen
        name = short_name(self.selected_user) if self.selected_user else ""
        if screen is Screen.CLOSED:
            return ""
        if screen is Screen.CHALLENGE:
            return f"{name} challenge: {self._typed or '_'}"
        if screen is Screen.PIN:
            return f"{name} PIN: {'*' * len(self._typed)}"
        if screen is Screen.PUSH and self._push is not None:
            return f"Login request for {short_name(self._push.username)}"
        if screen is Screen.PUSH_PIN:
            return f"PIN to approve: {'*' * len(self._typed)}"
        return self._message

