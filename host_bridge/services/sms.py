"""SMS and voice codes (KB3196, KB3396) and IB Key activation tokens sent by SMS.

A code goes to the outbox (`host_bridge.repos.outbox`, the simulated phone) after its challenge row
committed; the audit row of the delivery never holds the code. A new code at most every
`sms_resend_seconds` (`TooSoon`, a negative answer, otherwise).
"""

from __future__ import annotations

import hmac
import math
from typing import Final

from firmware_model.models import random_digits
from host_bridge.domain import ChallengeKind, ChallengeRecord, TokenKind
from host_bridge.errors import BridgeError
from host_bridge.repos import challenges, devices
from host_bridge.repos.outbox import Message
from host_bridge.services.context import Context
from host_bridge.services.keys import PURPOSE_SMS
from host_bridge.verification import Challenge

ACTIVATION_TOKEN_DIGITS: Final = 8


class TooSoon(BridgeError):
    """A new SMS code was asked for before the resend interval passed: a negative answer."""

    exit_code = 1

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(f"a new code can be sent in {wait_seconds} s (resend limit)")
        self.wait_seconds = wait_seconds


class SmsService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def new_id(self, now: float) -> str:
        """32 hex digits: the time in ms, then 80 random bits (unguessable). Time-ordered ids
        put new challenges on the last page of their b-tree, so a commit writes few pages."""
        return f"{int(now * 1000) & 0xFFFFFFFFFFFF:012x}{self.ctx.entropy(10).hex()}"

    def issue(self, serial: str, voice: bool, now: float) -> Challenge:
        """A new SMS (or voice) code. `voice=True` is the voice callback for when the SMS does
        not arrive: it reads out the code still pending — same challenge, no new code, so the
        resend limit does not stand in its way — or sends a new one by voice."""
        from host_bridge.services.challenges import check_usable

        ctx = self.ctx
        challenge_id = self.new_id(now)
        code = random_digits(ctx.config.sms_digits, ctx.entropy)
        record = ChallengeRecord(
            id=challenge_id, serial=serial, kind=ChallengeKind.SMS_CODE, text="",
            data_enc=ctx.master.seal(PURPOSE_SMS, challenge_id, code.encode()),
            created=now, expires=now + ctx.config.challenge_ttl, used=False, used_at=None,
        )
        wait = 0.0
        resend: ChallengeRecord | None = None
        with ctx.db.transaction() as tx:
            check_usable(devices.get(tx, serial, lock=True), now)
            pending = challenges.pending_sms(tx, serial, now) if voice else None
            if pending is not None and pending.data_enc is not None:
                resend = pending
                code = ctx.master.open(PURPOSE_SMS, pending.id, pending.data_enc).decode()
            else:
                last = challenges.last_sms_time(tx, serial)
                wait = 0.0 if last is None else last + ctx.config.sms_resend_seconds - now
                if wait > 0:  # refused: commit the audit row, then report
                    ctx.audit("sms.send", "refused", serial=serial, reason="resend limit")
                else:
                    challenges.insert_challenge(tx, record)
            owners = devices.users_of(tx, serial)
            if wait <= 0:
                ctx.audit("sms.send", "ok", serial=serial, channel="voice" if voice else "sms")
        if wait > 0:
            raise TooSoon(math.ceil(wait))
        sent = resend or record
        owner = owners[0][0] if owners else None
        ctx.outbox.send(Message(now, "voice" if voice else "sms", serial, owner, sent.id, code))
        return Challenge(sent.id, serial, ChallengeKind.SMS_CODE, "", sent.expires)

    def store_token(
        self, kind: TokenKind, user: str, serial: str, token: str, now: float
    ) -> Message:
        """Store an IB Key token of `kind` (a single-use challenge, `activation_ttl`) in the open
        transaction; the message to put in the outbox once it committed."""
        ctx = self.ctx
        challenge_id = self.new_id(now)
        with ctx.db.transaction() as tx:
            challenges.insert_challenge(tx, ChallengeRecord(
                id=challenge_id, serial=serial, kind=kind, text="",
                data_enc=ctx.master.seal(PURPOSE_SMS, challenge_id, token.encode()),
                created=now, expires=now + ctx.config.activation_ttl, used=False, used_at=None,
            ))
            ctx.audit("sms.send", "ok", user=user, serial=serial, channel="sms",
                      purpose=kind.value)
        return Message(now, "sms", serial, user, challenge_id, token)

    def take_token(self, kind: TokenKind, serial: str, token: str, now: float) -> bool:
        """Use the IB Key token `token` of `kind` of `serial` if it is one still open."""
        with self.ctx.db.transaction() as tx:
            for challenge in challenges.open_tokens(tx, serial, kind, now):
                if challenge.data_enc is None:
                    continue
                sent = self.ctx.master.open(PURPOSE_SMS, challenge.id, challenge.data_enc)
                if hmac.compare_digest(token.strip().encode(), sent):
                    return challenges.use(tx, challenge.id, now)
        return False
