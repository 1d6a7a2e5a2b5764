"""Proof of holding a device for one purpose: a challenge issued *for* a sharing request or a Soft
PIN change, answered by the device (KB2481 step 7: "the system will display a security element
(either Challenge Code or Index Numbers). Operate the SLS Device and, using the security element
provided by the system, generate a response code").

The challenge is an ordinary one (DSC+, SCC, IB Key alike, `ChallengeService.issue`), remembered
with its purpose and subject (the requesting user, or the serial whose PIN changes). Proving runs
the ordinary verification — single use, a wrong answer counted against the device and locking it
like any failed code, audited — and then also requires that the challenge was issued for this
purpose and subject, so a login challenge cannot be reused to consent to a sharing.
"""

from __future__ import annotations

import enum

from host_bridge.db.engine import Durability
from host_bridge.repos import reports
from host_bridge.services.challenges import ChallengeService
from host_bridge.services.context import Context, unit_of_work
from host_bridge.verification import Challenge, Verdict

NOT_FOR_THIS = "challenge not issued for this request"


class Purpose(enum.StrEnum):
    """What a purpose-bound challenge proves."""

    SHARE = "share"
    PIN_CHANGE = "pin-change"


class ConsentService:
    def __init__(self, ctx: Context, challenges: ChallengeService) -> None:
        self.ctx = ctx
        self.challenges = challenges

    def issue(self, serial: str, purpose: Purpose, subject: str) -> Challenge:
        """A challenge for device `serial`, bound to `purpose` and `subject`."""
        challenge = self.challenges.issue(serial)
        self._bind(challenge.id, purpose, subject)
        return challenge

    @unit_of_work
    def _bind(self, challenge_id: str, purpose: Purpose, subject: str) -> None:
        # Relaxed like the challenge itself: a binding lost in a power cut only makes its
        # challenge useless for the purpose.
        with self.ctx.db.transaction(Durability.RELAXED) as tx:
            reports.bind(tx, challenge_id, purpose.value, subject)

    def prove(
        self, serial: str, challenge_id: str, response: str, purpose: Purpose, subject: str
    ) -> Verdict:
        """Verify `response` (consuming the challenge, charging a wrong one to the device),
        then require that the challenge was issued for `purpose` and `subject`."""
        with self.ctx.db.read() as tx:
            bound = reports.bound(tx, challenge_id)
        verdict = self.challenges.verify(serial, challenge_id, response)
        if verdict.accepted and bound != (purpose.value, subject):
            return Verdict(False, NOT_FOR_THIS)
        return verdict
