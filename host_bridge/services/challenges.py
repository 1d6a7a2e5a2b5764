"""Issuing challenges and verifying answers: the login's two units of work.

* `issue` stores the challenge in ONE statement (`INSERT … SELECT`: only if the device is still
  active, unexpired and has the suite the question was made for) in a RELAXED transaction: an
  issued challenge lost in a power cut harms nobody (docs/host-bridge.md, "Durability").
* `verify` claims the challenge (device row locked), checks the answer, moves counters / failure
  counts / lock state and appends the audit row in ONE durable transaction, so two processes can
  never both accept one challenge, and a crash leaves either all of it or none.
"""

from __future__ import annotations

import hmac
from typing import Final, NamedTuple

from firmware_model.hotp import OtpSpec
from firmware_model.legacy_dsc import PASSCODE_STEP
from firmware_model.legacy_dsc import passcode as dsc_passcode
from firmware_model.models import random_digits
from host_bridge import verification as v
from host_bridge.db.engine import Durability
from host_bridge.domain import (
    ChallengeKind,
    ChallengeRecord,
    ClaimedChallenge,
    DeviceRecord,
    DeviceState,
    DeviceStatus,
)
from host_bridge.errors import BridgeError, NotUsable, StoreError
from host_bridge.policies.lockout import Budget
from host_bridge.repos import challenges, devices
from host_bridge.services.context import UNKNOWN, Context, unit_of_work
from host_bridge.services.keys import KEY_CACHE_SIZE, PURPOSE_SMS, Keyring
from host_bridge.services.sms import SmsService
from host_bridge.verification import Challenge, Verdict

DeviceRow = DeviceRecord | DeviceState
ISSUE_ATTEMPTS: Final = 3
"""How often `issue` tries to store a challenge the store refused though the device looked
usable (its suite changed in between: the next attempt reads it afresh)."""


class ChallengeService:
    def __init__(self, ctx: Context, sms: SmsService) -> None:
        self.ctx = ctx
        self.sms = sms
        self.keys = Keyring()
        self._static: dict[str, _StaticDevice] = {}

    @unit_of_work
    def issue(self, serial: str, *, voice: bool = False) -> Challenge:
        """Store a new single-use challenge for device `serial` and return it.

        The device's kind, suite and question length are remembered per process; a device
        whose suite changed is looked up afresh. If the store refuses the challenge though a
        fresh read finds the device usable (a change racing this call), it is tried again, at
        most `ISSUE_ATTEMPTS` times in all, then `StoreError`. SMS devices: see
        `SmsService.issue`.
        """
        for _ in range(ISSUE_ATTEMPTS):
            issued = self._issue_once(serial, voice)
            if issued is not None:
                return issued
        raise StoreError(
            f"device {serial}: the store refused a new challenge {ISSUE_ATTEMPTS} times "
            "though the device is usable"
        )

    def _issue_once(self, serial: str, voice: bool) -> Challenge | None:
        """One attempt; None if the store refused it yet the device is still usable."""
        ctx = self.ctx
        now = ctx.clock()
        static = self._static.get(serial)
        if static is None:
            with ctx.db.read() as tx:
                record = devices.get(tx, serial)
            check_usable(record, now)
            static = _StaticDevice.of(record)
            if len(self._static) >= KEY_CACHE_SIZE:
                self._static.clear()
            self._static[serial] = static
        kind, suite, digits = static
        if kind is ChallengeKind.SMS_CODE:
            return self.sms.issue(serial, voice, now)
        if voice:
            raise BridgeError(f"device {serial} is no SMS device: it has no voice callback")
        if digits:
            text = random_digits(digits, ctx.entropy)
        elif kind is ChallengeKind.SCC_CELLS:
            first, second = v.scc_indices(ctx.entropy)
            text = f"{first} {second}"
        else:
            text = ""
        record_ch = ChallengeRecord(
            id=self.sms.new_id(now), serial=serial, kind=kind, text=text, data_enc=None,
            created=now, expires=now + ctx.config.challenge_ttl, used=False, used_at=None,
        )
        with ctx.db.transaction(Durability.RELAXED) as tx:
            stored = challenges.insert_if_usable(tx, record_ch, suite, now)
        if not stored:
            # Not usable any more (raises NotUsable), or re-suited: look the device up afresh.
            self._static.pop(serial, None)
            with ctx.db.read() as tx:
                check_usable(devices.get(tx, serial), now)
            return None
        return Challenge(record_ch.id, serial, kind, text, record_ch.expires)

    @unit_of_work
    def verify(
        self, serial: str, challenge_id: str, response: str, *, caller: str | None = None
    ) -> Verdict:
        """Check `response` to challenge `challenge_id` of device `serial`. One transaction.

        A challenge answers once: any answer — right, wrong or late — consumes it. Wrong answers
        count against this device only; `lockout_after` in a row lock it. `caller` (a network
        front door's API key or client) is named in the audit row.
        """
        if not isinstance(response, str) or len(response) > v.MAX_RESPONSE_CHARS:
            raise BridgeError(f"a response is at most {v.MAX_RESPONSE_CHARS} characters")
        if len(challenge_id) > v.MAX_CHALLENGE_ID_CHARS:
            raise BridgeError(f"a challenge id is at most {v.MAX_CHALLENGE_ID_CHARS} characters")
        now = self.ctx.clock()
        with self.ctx.db.transaction():
            verdict, failures, issued = self._verify_locked(serial, challenge_id, response, now)
            # Stamped with the decision's own time (no second clock read on the hot path).
            self.ctx.audit_log.record(
                now, "verify", "accepted" if verdict.accepted else "refused", serial=serial,
                reason=verdict.reason, issued=issued,
                # An id that names no challenge is text a person typed: not logged.
                challenge_id=challenge_id if issued is not None else UNKNOWN,
                failures=failures, **({"caller": caller} if caller else {}),
            )
        return verdict

    def _verify_locked(
        self, serial: str, challenge_id: str, response: str, now: float
    ) -> tuple[Verdict, int | None, float | None]:
        """The decision, the device's failure count after it, and when the challenge was
        issued (the audit row carries it: issuing a challenge writes no audit row of its own)."""
        with self.ctx.db.transaction() as tx:
            # Unknown device: bad input (BridgeError). The challenge is consumed from here on.
            record, challenge = challenges.claim(tx, serial, challenge_id, now)
            if challenge is None:
                return Verdict(False, v.UNKNOWN), None, None
            if challenge.used:
                return Verdict(False, v.USED), None, challenge.created
            if challenge.serial != serial:
                return Verdict(False, v.OTHER_DEVICE), None, challenge.created
            if now >= challenge.expires:
                return Verdict(False, v.EXPIRED), None, challenge.created
            refusal = unusable_reason(record, now)
            if refusal is not None:
                return Verdict(False, refusal), None, challenge.created
            outcome = self._check_answer(record, challenge, response, now)
            if isinstance(outcome, str):  # refused, charged to this device
                # The one budget rule (the row is held: the charge commits with the answer).
                budget = Budget(self.ctx.config.lockout_after)
                failures = record.failures + 1
                if budget.locked(failures):
                    devices.update_device(
                        tx, serial, now, failures=failures, status=DeviceStatus.LOCKED
                    )
                    self.ctx.audit("device.lock", "locked", serial=serial, failures=failures)
                else:
                    devices.update_device(tx, serial, now, failures=failures)
                return Verdict(False, outcome), failures, challenge.created
            changed = {name: val for name, val in outcome.items() if getattr(record, name) != val}
            if record.failures:
                changed["failures"] = 0
            if changed:  # an unchanged row is not rewritten: one page less in the commit
                devices.update_device(tx, serial, now, **changed)
            return Verdict(True, v.ACCEPTED), 0, challenge.created

    def _check_answer(
        self, record: DeviceRow, challenge: ClaimedChallenge, response: str, now: float
    ) -> str | dict[str, int]:
        """A refusal reason, or the device columns to store on success."""
        kind = challenge.kind
        master = self.ctx.master
        if kind == ChallengeKind.SMS_CODE.value:
            if challenge.data_enc is None:
                raise StoreError(f"challenge {challenge.id} lost its code")
            code = master.open(PURPOSE_SMS, challenge.id, challenge.data_enc)
            ok = hmac.compare_digest(v.normalise_response(response).encode(), code)
            return {} if ok else v.WRONG
        key = self.keys.key(master, record)
        if kind == ChallengeKind.SCC_CELLS.value:
            return {} if v.check_scc(key, challenge.text, response) else v.WRONG
        if kind == ChallengeKind.TIME_PASSCODE.value:
            step = record.time_step or PASSCODE_STEP
            spec = OtpSpec.parse(record.otp) if record.otp else None
            if spec is not None and spec.event:  # an imported HOTP token
                counter = v.check_hotp(key, response, spec, record.counter,
                                       self.ctx.config.counter_window)
                return v.WRONG if counter is None else {"counter": counter}
            match = v.check_time_passcode(
                key, response, now, step_seconds=step,
                drift=record.drift, window=self.ctx.config.time_window, last_step=record.last_step,
                passcode=dsc_passcode if spec is None else v.totp_passcode(spec, step),
            )
            if match is None:
                return v.WRONG
            if isinstance(match, str):
                return match
            return {"drift": match.drift, "last_step": match.step}
        if record.suite is None:
            raise StoreError(f"device {record.serial} has no suite in the store")
        calculator = self.keys.calculator(record, key)
        window = self.ctx.config.counter_window if calculator.suite.counter else 0
        next_counter = v.check_ocra(
            calculator, response, challenge.text,
            self.keys.pin_hash(master, record, calculator), record.counter, window,
        )
        if next_counter is None:
            return v.WRONG
        return {"counter": next_counter} if calculator.suite.counter else {}


class _StaticDevice(NamedTuple):
    """What issuing a challenge needs of a device, remembered per process: its challenge kind,
    suite and (OCRA) question length. Each issue checks in SQL that the suite is unchanged."""

    kind: ChallengeKind
    suite: str | None
    digits: int  # 0: not an OCRA question

    @classmethod
    def of(cls, record: DeviceRecord) -> _StaticDevice:
        kind = v.kind_of(record.model)
        if kind is not ChallengeKind.OCRA:
            return cls(kind, record.suite, 0)
        if record.suite is None:
            raise StoreError(f"device {record.serial} has no suite in the store")
        return cls(kind, record.suite, v.ocra_question_length(record.suite))


def unusable_reason(record: DeviceRow, now: float) -> str | None:
    if record.status == DeviceStatus.LOCKED:
        return v.LOCKED
    if record.status != DeviceStatus.ACTIVE:
        return v.NOT_ACTIVE
    if record.valid_until is not None and now >= record.valid_until:
        return v.DEVICE_EXPIRED
    return None


def check_usable(record: DeviceRow, now: float) -> None:
    reason = unusable_reason(record, now)
    if reason is not None:
        raise NotUsable(f"device {record.serial}: {reason}")
