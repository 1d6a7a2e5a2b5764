"""The DSC+ Soft PIN on the host (KB1943, KB1018, KB2636): checked when the client activates the
ordered card, changed in the portal.

The Soft PIN is "chosen when the card is ordered" (KB1943 step 3: "Enter a four-digit Soft PIN
for your DSC+ ... it will be necessary to activate and to operate your device") and "changed in
the portal" (KB1018). A soft-mode card keeps no PIN: the PIN typed is an input to the response
(suite `OCRA-1:HOTP-SHA1-8:QN06-PSHA1`), so the host's sealed copy (`devices.pin_enc`) is the only
place it lives. Changing it there is all a change needs: from then on the card's responses
verify only when the new PIN is typed (docs/devices-dscplus.md, "Soft PIN changes").

A PIN change is authenticated by the card's answer, under the old PIN, to a challenge issued for
the change (`ConsentService`): a wrong answer counts against the card like any failed code. The
PIN typed at activation is a guess too: charged to the card's failure budget before it is
compared (`policies.lockout.Budget`).
"""

from __future__ import annotations

import hmac

from firmware_model.models import pin_rule_of
from host_bridge.db.engine import Tx
from host_bridge.domain import DeviceRecord
from host_bridge.errors import BridgeError
from host_bridge.policies.devices import DSCPLUS_MODELS
from host_bridge.policies.lockout import Budget
from host_bridge.repos import devices
from host_bridge.services.consent import ConsentService, Purpose
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.keys import PURPOSE_PIN
from host_bridge.verification import Challenge, Verdict

SOFT_PIN_MODEL = "dscplus"


class SoftPinService:
    def __init__(self, ctx: Context, consent: ConsentService) -> None:
        self.ctx = ctx
        self.consent = consent

    def check(self, tx: Tx, serial: str, pin: str) -> bool | None:
        """Whether `pin` is card `serial`'s Soft PIN, charged to the card's failure budget in
        the open transaction before it is compared; None when the budget is spent (not
        compared). The row is locked by the caller's transaction."""
        record = devices.get(tx, serial, lock=True)
        stored = self._sealed_pin(record)
        budget = Budget(self.ctx.config.lockout_after)
        charged = budget.charge(record.failures)
        if charged is None:
            return None
        ok = hmac.compare_digest(
            pin.encode("utf-8", "replace"),
            self.ctx.master.open(PURPOSE_PIN, serial, stored),
        )
        failures = 0 if ok else charged  # the row is locked: no guess raced with this one
        devices.update_device(tx, serial, self.ctx.clock(), failures=failures)
        return ok

    def challenge(self, serial: str) -> Challenge:
        """The challenge the card answers under its old PIN to authorise a change."""
        with self.ctx.db.read() as tx:
            self._sealed_pin(devices.get(tx, serial))
        return self.consent.issue(serial, Purpose.PIN_CHANGE, serial)

    def change(self, serial: str, challenge_id: str, response: str, new_pin: str) -> Verdict:
        """Portal-style Soft PIN change (KB1018): with the card's `response` (under the old PIN)
        to `challenge_id`, the host's PIN becomes `new_pin`. A refused verdict changes nothing."""
        rule = pin_rule_of(SOFT_PIN_MODEL)
        if not rule.allows(new_pin):  # the message never holds the PIN
            raise BridgeError(f"the new Soft PIN must be {rule.describe()}")
        with self.ctx.db.read() as tx:
            self._sealed_pin(devices.get(tx, serial))
        verdict = self.consent.prove(serial, challenge_id, response, Purpose.PIN_CHANGE, serial)
        self._store(serial, new_pin if verdict.accepted else None, verdict)
        return verdict

    @unit_of_work
    def _store(self, serial: str, new_pin: str | None, verdict: Verdict) -> None:
        with self.ctx.db.transaction() as tx:
            if new_pin is not None:
                sealed = self.ctx.master.seal(PURPOSE_PIN, serial, new_pin.encode())
                devices.update_device(tx, serial, self.ctx.clock(), pin_enc=sealed)
            self.ctx.audit(
                "pin.change", "changed" if new_pin is not None else "refused", serial=serial,
                reason=verdict.reason,
            )

    @staticmethod
    def _sealed_pin(record: DeviceRecord) -> bytes:
        if record.model not in DSCPLUS_MODELS or record.pin_enc is None:
            hint = " with a device PIN: change it on the card" if record.model == "dscplus" else ""
            raise BridgeError(
                f"device {record.serial} has no Soft PIN on the host (a {record.model}{hint})"
            )
        return record.pin_enc
