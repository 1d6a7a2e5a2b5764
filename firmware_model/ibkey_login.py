"""IB Key logins: the two ways the app answers a login's challenge.

* Manual challenge/response ("Click here if you do not receive the notification"):
  `respond(username, pin_or_biometric, challenge, now)` — the response is the display's code and
  the event `ResponseComputed(username, response)`.
* Push: `receive_push(push_id, username, challenge, now)` is the notification (it opens the app on
  the PUSH screen); `approve(pin_or_biometric, now)` answers it — the OCRA response for the push's
  challenge travels back as `PushApproved(push_id, response)` — and `deny(now)` refuses it
  (`PushDenied`). A push not answered within `push_seconds` expires (`PushExpired`, reported by
  `IbKey.advance`); a newer push replaces an older one (`PushReplaced`).

Both unlock the key with the app PIN or `BIOMETRIC` (a wrong PIN counts, durably, before the
result shows) and use the user's counter, then raise it. The code is RFC 6287 OCRA, suite
`OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1` (`ibkey_response`, which the host uses too). `IbKeyLogin` adds
these to `IbKeyCore`; `firmware_model.ibkey.IbKey` has them.
"""

from __future__ import annotations

import re
from typing import Final

from firmware_model.device import DIGITS, Reaction
from firmware_model.events import (
    DeviceEvent,
    PushApproved,
    PushDenied,
    PushExpired,
    PushReplaced,
    ResponseComputed,
)
from firmware_model.ibkey_core import Biometric, IbKeyCore, PendingPush, Screen
from firmware_model.ibkey_image import IBKEY_SUITE
from firmware_model.ocra import OcraCalculator

__all__ = ["CHALLENGE_DIGITS", "PUSH_ID_RE", "IbKeyLogin", "check_challenge", "ibkey_response"]

CHALLENGE_DIGITS: Final = 6
PUSH_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_challenge(challenge: str) -> str:
    """`challenge` if it is exactly 6 decimal digits."""
    if not isinstance(challenge, str) or len(challenge) != CHALLENGE_DIGITS:
        raise ValueError(f"an IB Key challenge is {CHALLENGE_DIGITS} digits")
    if not set(challenge) <= DIGITS:
        raise ValueError(f"an IB Key challenge is {CHALLENGE_DIGITS} digits")
    return challenge


def ibkey_response(key: bytes, counter: int, challenge: str, pin: str) -> str:
    """The IB Key response: OCRA `OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1` (host and tests use this)."""
    return OcraCalculator(IBKEY_SUITE, key).response(
        counter=counter, question=check_challenge(challenge), pin=pin
    )


class IbKeyLogin(IbKeyCore):
    """The manual response and the push (see the module docstring)."""

    def respond(self, username: str, pin: str | Biometric, challenge: str, now: float) -> Reaction:
        """Manual challenge/response for `username`; the response is `Reaction.display`'s code
        and the event `ResponseComputed(username, response)`. A wrong PIN counts (persisted)."""
        self._clock(now)
        self._require("respond")
        user = self._user(username)
        check_challenge(challenge)
        refusal = self._unlock(pin)
        if refusal is not None:
            return refusal
        response = self._next_response(user, challenge)
        self._message = f"Response: {response}"
        self._screen = Screen.RESPONSE
        return Reaction(self.display, persist=True, events=(ResponseComputed(username, response),))

    def receive_push(self, push_id: str, username: str, challenge: str, now: float) -> Reaction:
        """A push notification for `username` carrying the login's challenge; it opens the app.

        A newer push replaces one still pending (the older is reported `PushReplaced`).
        """
        self._clock(now)
        self._require("push")
        if not isinstance(push_id, str) or not PUSH_ID_RE.fullmatch(push_id):
            raise ValueError("a push id is 1 to 64 letters, digits or . _ -")
        self._user(username)
        check_challenge(challenge)
        events: tuple[DeviceEvent, ...] = ()
        if self._push is not None:
            events = (PushReplaced(self._push.push_id),)
        self._push = PendingPush(push_id, username, challenge, self._now + self._push_seconds)
        self._typed = ""
        self._screen = Screen.PUSH
        return Reaction(self.display, events=events)

    def approve(self, pin_or_biometric: str | Biometric, now: float) -> Reaction:
        """Approve the pending push with the PIN or `BIOMETRIC`; the event carries the response."""
        before = self.advance(now)
        push = self._push
        if push is None:
            return self._no_push(before)
        refusal = self._unlock(pin_or_biometric)
        if refusal is not None:
            return before.then(refusal)
        response = self._next_response(self._user(push.username), push.challenge)
        self._push = None
        self._message = "Approved"
        self._screen = Screen.DONE
        events = (PushApproved(push.push_id, response),)
        return before.then(Reaction(self.display, persist=True, events=events))

    def deny(self, now: float) -> Reaction:
        """Refuse the pending push."""
        before = self.advance(now)
        push = self._push
        if push is None:
            return self._no_push(before)
        self._push = None
        self._message = "Denied"
        self._screen = Screen.DONE
        return before.then(Reaction(self.display, events=(PushDenied(push.push_id),)))

    def _no_push(self, before: Reaction) -> Reaction:
        """The answer to approve/deny without a pending push: too late, or misuse."""
        if any(isinstance(event, PushExpired) for event in before.events):
            return before.then(self._show_notice("Login request expired"))
        raise ValueError("no push notification is waiting for an answer")
