"""IB Key reinstall and recovery (KB2748, "IBKR Mobile Authentication (IB Key) Reinstallation on
the Same Phone").

The seed: the recovery "is required in case: A) You have reinstalled the IBKR Mobile app on the
same smartphone B) Your smartphone Operating System has been updated". The app model:

* `reinstall()`: delete and reinstall the app. Only what recovery needs survives (users, keys,
  counters, PIN hashes, failure counters — on a real phone the broker's server and the keychain
  hold them); the phase becomes NEEDS_RECOVERY.
* Android — "Enter your credentials and tap Initialize Recovery"; "You will receive an text
  message (SMS) containing an Activation Token. Enter it in the Activation Code field … the
  security element you originally used to secure the app (PIN, Fingerprint). Once done, tap
  Submit": the host checks the credentials and sends the token, `begin_recovery(token_hash)` is
  its hash arriving, `recover(pin, token, now)` the Submit. A PIN locked by wrong PINs is
  recovered the same way, without a reinstall.
* Apple iOS — "Tap Yes"; "you will be prompted to provide the security element originally used
  to secure the app (Fingerprint, Face ID, PIN)"; "Tap Done": `restore(pin_or_biometric, now)`,
  no SMS.

Every failed `recover` raises `recovery_failures` first (durable); after `recovery_retries` only a
new activation helps. A recovery token wrong `token_retries` times is void. Success resets the PIN
and recovery failure counters. `IbKeyRecovery` adds these to `IbKeyCore`;
`firmware_model.ibkey.IbKey` has them.
"""

from __future__ import annotations

from firmware_model.device import Reaction
from firmware_model.events import Recovered, Reinstalled
from firmware_model.ibkey_core import Biometric, IbKeyCore
from firmware_model.ibkey_image import TOKEN_LABEL, Phase
from firmware_model.secret_hash import SaltedHash

__all__ = ["IbKeyRecovery"]


class IbKeyRecovery(IbKeyCore):
    """Reinstall, the Android recovery (SMS token + PIN) and the iOS restore (see the module
    docstring)."""

    def reinstall(self) -> Reaction:
        """Delete and reinstall the app: only what recovery needs survives."""
        self._require("reinstall")
        self._phase = Phase.NEEDS_RECOVERY
        self._push = None
        self._selected = 0
        self._close()
        return Reaction(self.display, persist=True, events=(Reinstalled(),))

    def begin_recovery(self, token: SaltedHash) -> Reaction:
        """The host sent a recovery SMS token ("Initialize Recovery"); this is its hash."""
        self._require("begin_recovery")
        if self._phase is Phase.ACTIVE and not self.pin_locked:
            raise ValueError("IB Key needs no recovery (not reinstalled, PIN not locked)")
        if not isinstance(token, SaltedHash) or token.label != TOKEN_LABEL:
            raise ValueError("token must come from ibkey.token_hash")
        self._recovery_token = token
        self._recovery_token_failures = 0
        return Reaction(self.display, persist=True)

    def recover(self, pin: str, token: str, now: float) -> Reaction:
        """Recover with the recovery PIN and the recovery SMS token.

        Every failed try counts (`recovery_retries`, then the app must be activated afresh);
        success resets the PIN and recovery failure counters.
        """
        self._clock(now)
        self._require("recover")
        if self._phase is Phase.ACTIVE and not self.pin_locked:
            raise ValueError("IB Key needs no recovery (not reinstalled, PIN not locked)")
        if self.recovery_locked:
            return self._show_notice("Recovery locked: activate again")
        if self._recovery_token is None:
            return self._show_notice("Start recovery: get the SMS")
        # Count first, so a power cut during the check cannot give a free try.
        self._recovery_failures += 1
        assert self._pin is not None
        pin_ok = self._pin.matches(pin) if isinstance(pin, str) else False
        token_ok = self._recovery_token.matches(token) if isinstance(token, str) else False
        if not (pin_ok and token_ok):
            if not token_ok:
                self._recovery_token_failures += 1
                if self._recovery_token_failures >= self._token_retries:
                    self._recovery_token = None
            left = self._recovery_retries - self._recovery_failures
            text = f"Recovery failed, {left} left" if left else "Recovery locked: activate again"
            return self._show_notice(text, persist=True)
        return self._recovered()

    def restore(self, pin_or_biometric: str | Biometric, now: float) -> Reaction:
        """The iOS recovery (KB2748): "Tap Yes", then "the security element originally used to
        secure the app (Fingerprint, Face ID, PIN)", then Done — no SMS: the iOS keychain kept the
        PIN's keychain item through the reinstall. A wrong PIN counts like any PIN (and a locked
        PIN needs the SMS recovery, `recover`); success resets the failure counters."""
        self._clock(now)
        self._require("restore")
        refusal = self._unlock(pin_or_biometric)
        if refusal is not None:
            return refusal
        return self._recovered()

    def _recovered(self) -> Reaction:
        """Back to ACTIVE: every failure counter and the recovery token reset."""
        self._phase = Phase.ACTIVE
        self._recovery_failures = 0
        self._pin_failures = 0
        self._recovery_token = None
        self._recovery_token_failures = 0
        return self._show_notice("IB Key recovered", persist=True, events=(Recovered(),))
