"""Logins in the shape of privacyIDEA's validate protocol: one transaction per password step.

`start` checks the password, issues a challenge for every active device of the user (M2FS) and
stores them under one transaction id; `answer` verifies a response against the transaction's
challenges through `ChallengeService.verify` (so lockout, single use and the audit row are the
CLI's own). Which challenges an answer is tried on: the one `serial` names, else every one whose
kind the answer's shape fits (an 8-digit OCRA response is never charged to an SCC); the first
that accepts wins. A transaction answers until its challenges are used or expire.

An IB Key gets a push (`PushService.send`) instead of a bare challenge: the push's challenge is
the transaction's member (a typed response still answers it), `poll` tells whether the app
approved, and an empty answer logs in on an approved push once (privacyIDEA's push flow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from host_bridge import verification as v
from host_bridge.db.engine import Durability
from host_bridge.domain import ChallengeKind, PushStatus
from host_bridge.errors import BridgeError, Locked
from host_bridge.repos import transactions
from host_bridge.services.challenges import ChallengeService
from host_bridge.services.devices import DeviceInfo, DeviceService
from host_bridge.services.push import PUSH_MODEL, PushService
from host_bridge.services.users import UserService
from host_bridge.verification import Challenge, Verdict

_ID_BYTES: Final = 10
_SHAPES: Final = {
    ChallengeKind.OCRA: re.compile(r"[0-9]{6,10}"),
    ChallengeKind.SCC_CELLS: re.compile(r"[A-Za-z0-9]{6}"),
    ChallengeKind.TIME_PASSCODE: re.compile(r"[0-9]{6,10}"),  # legacy DSC, imported OATH
    ChallengeKind.SMS_CODE: re.compile(r"[0-9]{4,10}"),
}


@dataclass(frozen=True, slots=True)
class Issued:
    """One device's challenge in a transaction."""

    device: DeviceInfo
    challenge: Challenge
    push_id: str | None = None


@dataclass(frozen=True, slots=True)
class Started:
    """A password step that passed: the transaction and one challenge per device."""

    transaction_id: str
    issued: tuple[Issued, ...]


@dataclass(frozen=True, slots=True)
class Answered:
    """The verdict on an answer, and the device that gave it (None: no device tried)."""

    verdict: Verdict
    serial: str | None
    user: str | None


class TransactionService:
    def __init__(
        self, users: UserService, devices: DeviceService, challenges: ChallengeService,
        push: PushService,
    ) -> None:
        self.ctx = challenges.ctx
        self.users = users
        self.devices = devices
        self.challenges = challenges
        self.push = push

    def start(self, user: str, password: str, *, caller: str | None = None) -> Started | None:
        """The password step. None for a wrong password, an unknown user or a user without a
        usable device (the caller cannot tell which)."""
        try:
            if not self.users.check_password(user, password, caller=caller):
                return None
        except Locked:  # a spent password budget looks like any refusal from outside
            return None
        issued: list[Issued] = []
        for device in self.devices.devices(user):
            try:
                if device.model == PUSH_MODEL:
                    sent = self.push.send(device.serial, caller=caller)
                    issued.append(Issued(device, sent.challenge, sent.push.id))
                else:
                    issued.append(Issued(device, self.challenges.issue(device.serial)))
            except BridgeError:  # locked meanwhile, SMS resend limit: offer the others
                continue
        if not issued:
            return None
        transaction_id = str(int.from_bytes(self.ctx.entropy(_ID_BYTES), "big")).zfill(20)[-20:]
        expires = max(item.challenge.expires_at for item in issued)
        members = [(item.device.serial, item.challenge.id) for item in issued]
        with self.ctx.db.transaction(Durability.RELAXED) as tx:
            transactions.add(tx, transaction_id, user, members, expires)
        return Started(transaction_id, tuple(issued))

    def answer(
        self, transaction_id: str, response: str, *, serial: str | None = None,
        user: str | None = None, caller: str | None = None,
    ) -> Answered:
        """Verify `response` for transaction `transaction_id` (optionally only device `serial`;
        with `user`, a transaction of another user is unknown)."""
        if len(transaction_id) > v.MAX_CHALLENGE_ID_CHARS:
            raise BridgeError("a transaction id is at most 64 characters")
        with self.ctx.db.read() as tx:
            found = transactions.members(tx, transaction_id, self.ctx.clock())
        if found is None or (user is not None and found[0] != user):
            return Answered(Verdict(False, v.UNKNOWN), None, None)
        user, members = found
        if not response:  # privacyIDEA's push flow: an empty pass asks for an approval
            return self._approved(members, serial, user)
        tried: str | None = None
        last = Verdict(False, v.WRONG)
        for member_serial, challenge_id, kind in members:
            if serial is not None and member_serial != serial:
                continue
            if serial is None and not _fits(kind, response):
                continue
            verdict = self.challenges.verify(member_serial, challenge_id, response, caller=caller)
            tried, last = member_serial, verdict
            if verdict.accepted:
                break
        return Answered(last, tried, user)

    def poll(self, transaction_id: str) -> bool:
        """Whether a push of the transaction was approved and not yet used for a login."""
        if len(transaction_id) > v.MAX_CHALLENGE_ID_CHARS:
            raise BridgeError("a transaction id is at most 64 characters")
        with self.ctx.db.read() as tx:
            found = transactions.members(tx, transaction_id, self.ctx.clock())
        if found is None:
            return False
        approved = self.push.of_challenges([member[1] for member in found[1]])
        return any(p.status is PushStatus.APPROVED and p.claimed is None for p in approved)

    def _approved(
        self, members: list[tuple[str, str, str]], serial: str | None, user: str
    ) -> Answered:
        """Log in on an approved push of the transaction (once), or refuse."""
        chosen = [m[1] for m in members if serial is None or m[0] == serial]
        for push in self.push.of_challenges(chosen):
            if push.status is PushStatus.APPROVED and self.push.claim(push.id):
                return Answered(Verdict(True, v.ACCEPTED), push.serial, user)
        return Answered(Verdict(False, v.WRONG), None, user)


def _fits(kind: str, response: str) -> bool:
    """Whether `response` has the shape of an answer to a challenge of `kind`."""
    shape = _SHAPES.get(ChallengeKind(kind))
    return shape is not None and shape.fullmatch(v.normalise_response(response)) is not None
