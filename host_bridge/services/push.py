"""IB Key push on the host: one service for every door (CLI, /v1, privacyIDEA, serial, TUI).

`send` issues an OCRA challenge for the IB Key (`ChallengeService.issue`: the same row, TTL and
single use as any challenge), stores a push (status `pending`, expiring after `push_seconds`,
the app's own 120 s default) and, once both committed, puts a notification in the push outbox
(`push-outbox.jsonl`: the stand-in for the phone-notification service) holding the push id, the
user name and the challenge — what the real app receives and shows.

The app's answer comes back as the real app's does to the broker:

* `approve(push_id, response)`: the OCRA response to the push's challenge, verified by
  `ChallengeService.verify` (single use, counted against the device lockout, audited). Accepted:
  `approved`; a wrong (forged) response spends the challenge: `failed`.
* `deny(push_id)`: spends the challenge and marks the push `denied`.
* Not answered by `expires`: `expired` (settled by the next look at it).

Who wins a race: the one that spends the challenge (`verify` claims it, `deny` uses it); the
status then moves once (`repos.pushes.settle`). A crash between an accepted verify and its
status update leaves the push `pending` until it expires: never a false approval. An approval
logs in once (`claim`: privacyIDEA's second `/validate/check`).
"""

from __future__ import annotations

from dataclasses import dataclass

from host_bridge import verification as v
from host_bridge.domain import PushRecord, PushStatus
from host_bridge.errors import BridgeError, NotFound
from host_bridge.repos import challenges, devices, pushes
from host_bridge.repos.outbox import Message
from host_bridge.services.challenges import ChallengeService
from host_bridge.services.context import unit_of_work
from host_bridge.verification import Challenge, Verdict

PUSH_MODEL = "ibkey"


class UnknownPush(NotFound):
    """No push has this id: bad input."""


@dataclass(frozen=True, slots=True)
class Sent:
    """A push sent: its row and the challenge the app signs."""

    push: PushRecord
    challenge: Challenge


@dataclass(frozen=True, slots=True)
class PushAnswer:
    """The outcome of the app's answer: the push afterwards, and the verdict on the answer."""

    push: PushRecord
    verdict: Verdict


class PushService:
    def __init__(self, challenges: ChallengeService) -> None:
        self.ctx = challenges.ctx
        self.challenges = challenges

    def send(self, serial: str, *, caller: str | None = None) -> Sent:
        """Issue a push for IB Key `serial`. `BridgeError` for another model or an unusable
        device (the challenge service's own checks)."""
        ctx = self.ctx
        with ctx.db.read() as tx:
            record = devices.get(tx, serial)
            owners = devices.users_of(tx, serial)
        if record.model != PUSH_MODEL:
            raise BridgeError(f"device {serial} is no IB Key: it takes no push")
        challenge = self.challenges.issue(serial)
        now = ctx.clock()
        push = PushRecord(
            id=self.challenges.sms.new_id(now),  # time-ordered and unguessable, as challenges
            challenge_id=challenge.id, serial=serial, user=owners[0][0] if owners else None,
            status=PushStatus.PENDING, created=now,
            expires=min(now + ctx.config.push_seconds, challenge.expires_at),
            answered=None, claimed=None,
        )
        with ctx.db.transaction() as tx:
            pushes.add(tx, push)
            ctx.audit("push.send", "ok", serial=serial, push_id=push.id,
                      **({"caller": caller} if caller else {}))
        ctx.push_outbox.send(Message(now, "push", serial, push.user, push.id, challenge.text))
        return Sent(push, challenge)

    @unit_of_work
    def status(self, push_id: str) -> PushRecord:
        """The push now (a pending push past its expiry is settled `expired` first)."""
        push = self._get(push_id)
        if push.status is PushStatus.PENDING and self.ctx.clock() >= push.expires:
            return self._settle(push, PushStatus.EXPIRED)
        return push

    def approve(self, push_id: str, response: str, *, caller: str | None = None) -> PushAnswer:
        """The app's approval: the OCRA response to the push's challenge."""
        push = self.status(push_id)
        if push.status is not PushStatus.PENDING:
            return PushAnswer(push, Verdict(False, _refusal(push.status)))
        verdict = self.challenges.verify(push.serial, push.challenge_id, response, caller=caller)
        if verdict.reason in (v.USED, v.EXPIRED):  # denied or expired meanwhile
            return PushAnswer(self.status(push_id), verdict)
        settled = self._settle(push, PushStatus.APPROVED if verdict.accepted
                               else PushStatus.FAILED)
        return PushAnswer(settled, verdict)

    @unit_of_work
    def deny(self, push_id: str, *, caller: str | None = None) -> PushRecord:
        """The user refused the push in the app: its challenge is spent, the push `denied`."""
        push = self.status(push_id)
        if push.status is not PushStatus.PENDING:
            return push
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            if challenges.use(tx, push.challenge_id, now):
                pushes.settle(tx, push_id, PushStatus.DENIED, now)
                self.ctx.audit("push.deny", "ok", serial=push.serial, push_id=push_id,
                               **({"caller": caller} if caller else {}))
        return self._get(push_id)

    @unit_of_work
    def claim(self, push_id: str) -> bool:
        """Grant an approved push to one login (True once per approval)."""
        with self.ctx.db.transaction() as tx:
            return pushes.claim(tx, push_id, self.ctx.clock())

    def of_challenges(self, challenge_ids: list[str]) -> list[PushRecord]:
        """The pushes of these challenges (a privacyIDEA transaction's), expiry settled."""
        with self.ctx.db.read() as tx:
            found = pushes.of_challenges(tx, challenge_ids)
        return [self.status(push.id) if push.status is PushStatus.PENDING else push
                for push in found]

    def _get(self, push_id: str) -> PushRecord:
        if len(push_id) > v.MAX_CHALLENGE_ID_CHARS:
            raise UnknownPush(f"a push id is at most {v.MAX_CHALLENGE_ID_CHARS} characters")
        with self.ctx.db.read() as tx:
            push = pushes.get(tx, push_id)
        if push is None:
            raise UnknownPush("no push has this id")
        return push

    def _settle(self, push: PushRecord, status: PushStatus) -> PushRecord:
        with self.ctx.db.transaction() as tx:
            if pushes.settle(tx, push.id, status, self.ctx.clock()):
                self.ctx.audit(f"push.{status.value}", "ok", serial=push.serial,
                               push_id=push.id)
        return self._get(push.id)


def _refusal(status: PushStatus) -> str:
    return v.EXPIRED if status is PushStatus.EXPIRED else v.USED
