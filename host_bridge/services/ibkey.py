"""IB Key activation and recovery, the host's side (KB2260 activation, KB2748 recovery).

The app never talks to a store: it talks to the broker's server, which is this service.

* Activation starts "with username and password in the app": `activate` checks the password
  (the user's password budget), that the user holds the IB Key, then the SMS activation token and
  the PIN chosen in the app (`DeviceService.activate`: single use, the activation token budget).
* Recovery after a reinstall or an operating-system update (KB2748):

      Android  credentials → "Initialize Recovery"  `initialize_recovery(user, password, serial)`:
                                                     a recovery token into the SMS outbox, at most
                                                     one every `sms_resend_seconds` (KB3196's
                                                     2 minutes; `TooSoon` otherwise)
               SMS token (+ PIN in the app) → Submit `submit_recovery(serial, token)`: the token,
                                                     single use, `activation_ttl`, charged to the
                                                     owner's IB Key token budget
      iOS      Yes → fingerprint / Face ID / PIN     `ios_recovery_challenge(serial)` then
               → Done (no SMS)                       `confirm_ios_recovery(...)`: the restored app
                                                     answers a challenge with the key and PIN its
                                                     keychain kept (an ordinary verification)

Every step is audited (`ibkey.activate`, `ibkey.recover`); no token, PIN or password is.
"""

from __future__ import annotations

import enum
import math

from firmware_model.models import random_digits
from host_bridge.domain import WRONG_LOGIN, Guessed, TokenKind
from host_bridge.errors import Locked, Refused
from host_bridge.repos import challenges, devices
from host_bridge.repos.outbox import Message
from host_bridge.services.challenges import ChallengeService, check_usable
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.devices import DeviceService, owner_of
from host_bridge.services.guesses import GuessService
from host_bridge.services.sms import ACTIVATION_TOKEN_DIGITS, SmsService, TooSoon
from host_bridge.services.users import UserService
from host_bridge.verification import Challenge, Verdict

IBKEY_MODEL = "ibkey"


class Platform(enum.Enum):
    """The phone's operating system: it decides the recovery path (KB2748)."""

    ANDROID = "android"
    IOS = "ios"


class IbKeyService:
    def __init__(
        self,
        ctx: Context,
        users: UserService,
        devices: DeviceService,
        sms: SmsService,
        challenges: ChallengeService,
    ) -> None:
        self.ctx = ctx
        self.users = users
        self.devices = devices
        self.sms = sms
        self.challenges = challenges
        self.guesses = GuessService(ctx)

    def credentials(self, user: str, password: str, serial: str) -> None:
        """The app's credentials screen: `user`'s password (charged to its budget: `Locked`),
        and `serial` must be an IB Key `user` holds. `Refused` (exit 1) otherwise; both refusals
        read the same, so the screen tells nobody which IB Keys a user has."""
        ok = self.users.check_password(user, password)
        info = self.devices.device(serial) if ok else None
        if info is None or info.model != IBKEY_MODEL or user not in info.users:
            self.ctx.audit("ibkey.credentials", "refused", user=user, serial=serial)
            raise Refused(WRONG_LOGIN)

    def activate(self, user: str, password: str, serial: str, token: str, pin: str) -> bool:
        """Activation in the app: username and password, then the SMS activation token and the
        new PIN. True when the IB Key is now active; False for a wrong or expired token."""
        self.credentials(user, password, serial)
        done = self.devices.activate(serial, token=token, pin=pin)
        self.ctx.audit("ibkey.activate", "ok" if done else "refused", user=user, serial=serial)
        return done

    def initialize_recovery(self, user: str, password: str, serial: str) -> None:
        """Android: credentials, then "Initialize Recovery": a recovery token by SMS."""
        self.credentials(user, password, serial)
        wait = self._send_recovery_token(user, serial)
        if wait > 0:
            raise TooSoon(math.ceil(wait))

    @unit_of_work
    def _send_recovery_token(self, user: str, serial: str) -> float:
        """The seconds still to wait (the resend rule), or 0 after the token went out."""
        ctx = self.ctx
        now = ctx.clock()
        token = random_digits(ACTIVATION_TOKEN_DIGITS, ctx.entropy)
        message: Message | None = None
        with ctx.db.transaction() as tx:
            check_usable(devices.get(tx, serial, lock=True), now)
            last = challenges.last_sms_time(tx, serial, TokenKind.RECOVERY)
            wait = 0.0 if last is None else last + ctx.config.sms_resend_seconds - now
            if wait > 0:
                ctx.audit("sms.send", "refused", user=user, serial=serial, purpose="recovery",
                          reason="resend limit")
            else:
                message = self.sms.store_token(TokenKind.RECOVERY, user, serial, token, now)
                ctx.audit("ibkey.recover", "started", user=user, serial=serial,
                          platform=Platform.ANDROID.value)
        if message is not None:
            ctx.outbox.send(message)
        return max(wait, 0.0)

    def submit_recovery(self, serial: str, token: str) -> bool:
        """Android Submit: the recovery token from the SMS. True when it is one still open (it is
        then used up); charged to the owner's IB Key token budget first (`Locked` when spent)."""
        done = self._submit(serial, token)
        if done is None:
            owner = self.devices.device(serial).users[0]
            raise Locked(self.guesses.locked_message(Guessed.ACTIVATION_TOKEN, owner))
        return done

    @unit_of_work
    def _submit(self, serial: str, token: str) -> bool | None:
        ctx = self.ctx
        now = ctx.clock()
        with ctx.db.transaction() as tx:
            record = devices.get(tx, serial, lock=True)
            check_usable(record, now)
            owner = owner_of(tx, serial)
            charged = self.guesses.charge(tx, Guessed.ACTIVATION_TOKEN, owner)
            if charged is None:
                ctx.audit("ibkey.recover", "refused", user=owner, serial=serial,
                          reason="locked", failures=self.guesses.budget.limit)
                return None
            taken = self.sms.take_token(TokenKind.RECOVERY, serial, token, now)
            failures = self.guesses.settle(tx, Guessed.ACTIVATION_TOKEN, owner, charged, taken)
            ctx.audit("ibkey.recover", "ok" if taken else "refused", user=owner, serial=serial,
                      platform=Platform.ANDROID.value, failures=failures,
                      **({} if taken else {"reason": "wrong or expired recovery token"}))
        return taken

    def ios_recovery_challenge(self, serial: str) -> Challenge:
        """iOS "Yes": a challenge the restored app answers after the fingerprint, Face ID or PIN
        (no SMS). `serial` must be an IB Key."""
        if self.devices.device(serial).model != IBKEY_MODEL:
            raise Refused(f"device {serial} is no IB Key")
        return self.challenges.issue(serial)

    def confirm_ios_recovery(self, serial: str, challenge_id: str, response: str) -> Verdict:
        """iOS Done: the restored app's answer, verified like any login answer (single use,
        charged to the device when wrong)."""
        verdict = self.challenges.verify(serial, challenge_id, response)
        self.ctx.audit("ibkey.recover", "ok" if verdict.accepted else "refused", serial=serial,
                       platform=Platform.IOS.value, reason=verdict.reason)
        return verdict
