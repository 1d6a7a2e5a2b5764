"""Challenges and the rules that decide whether an answer is accepted.

Theory of operation. Every login goes *issue → answer once*. A challenge is a stored, single-use,
expiring record; what it asks depends on the device's *kind*:

    kind   models                         challenge text          expected answer
    ocra   dscplus, gold, platinum        N random digits (N =    OCRA(key, Q=digits, P=PIN)
                                          the suite's Q length)
    ocra   ibkey (suite with C)           6 random digits         OCRA(key, C, Q, P), C in the
                                                                  look-ahead window
    scc    scc, online_scc                two distinct indices    both codes, no space
                                          "12 187"
    time   dsc (legacy)                   "" (no challenge)       the time passcode, within the
                                                                  window around now + drift
    sms    sms                            "" (code sent by SMS)   the code from the outbox

This module is the pure part: it makes challenge texts from an entropy source and checks answers
against keys. Persistence, lockout and the audit trail are in
`host_bridge.services.challenges`, which runs one transaction per verification.

Decisions (the `reason` of a `Verdict`) and the device state they lead to:

    reason                 charged to the device?   effect
    accepted               no                       failures := 0 (counter/drift/last step move on)
    wrong response         yes                      failures += 1; locked at the configured count
    replayed code          yes                      as wrong response (time passcode already used)
    passcode expired       no                       the challenge is consumed (a legacy DSC
                                                    passcode older than its 30 s validity)
    challenge expired      no                       the challenge is consumed
    challenge already used no                       nothing
    unknown challenge      no                       nothing
    challenge for another device  no                the challenge is consumed
    device locked / not active / expired  no        nothing
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from firmware_model.device import Entropy
from firmware_model.hotp import OtpSpec, hotp, time_step, totp
from firmware_model.models import ChallengeKind, profile
from firmware_model.ocra import OcraCalculator, OcraSuite
from firmware_model.scc import CELLS, scc_response

ACCEPTED: Final = "accepted"
WRONG: Final = "wrong response"
REPLAYED: Final = "replayed code"
CODE_EXPIRED: Final = "passcode expired"
EXPIRED: Final = "challenge expired"
USED: Final = "challenge already used"
UNKNOWN: Final = "unknown challenge"
OTHER_DEVICE: Final = "challenge for another device"
LOCKED: Final = "device locked"
NOT_ACTIVE: Final = "device not active"
DEVICE_EXPIRED: Final = "device expired"
CHARGED_REASONS: Final = frozenset({WRONG, REPLAYED})
"""The refusals of an answer that count against the device (a wrong or replayed code); an
expired passcode is refused without a charge."""
MAX_RESPONSE_CHARS: Final = 128
MAX_CHALLENGE_ID_CHARS: Final = 64
"""Longer ids are bad input: ours are 32 hex digits, and the audit row names the id."""


def kind_of(model: str) -> ChallengeKind:
    """The challenge kind of `model` (the model registry's). Raises `ValueError` for a model the
    bridge cannot verify."""
    try:
        kind = profile(model).challenge
    except ValueError:
        kind = ChallengeKind.NONE
    if kind is ChallengeKind.NONE:
        raise ValueError(f"the bridge cannot verify model {model!r}")
    return kind


def type_code(model: str) -> str:
    """The broker's device type code of `model` (IB Key: "5.2", its platforms add a letter)."""
    codes = profile(model).type_codes
    if len(codes) == 1:
        return codes[0]
    return codes[0].rstrip("abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Challenge:
    """An issued challenge: `text` is what the login screen shows ("" when there is none)."""

    id: str
    serial: str
    kind: ChallengeKind
    text: str
    expires_at: float

    @property
    def message(self) -> str:
        """What to do, in one line (a network client shows it to the user)."""
        if self.kind is ChallengeKind.OCRA:
            return f"Challenge: {self.text}"
        if self.kind is ChallengeKind.SCC_CELLS:
            return f"Index numbers: {self.text}"
        if self.kind is ChallengeKind.TIME_PASSCODE:
            return "Enter the passcode your card shows"
        return "Enter the code sent to your phone"

    def to_json(self) -> dict[str, str | float]:
        return {
            "id": self.id,
            "serial": self.serial,
            "kind": self.kind.value,
            "challenge": self.text,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a verification. `reason` is one of the constants above (never a secret)."""

    accepted: bool
    reason: str

    def __post_init__(self) -> None:
        if self.accepted != (self.reason == ACCEPTED):
            raise ValueError("a verdict is accepted exactly when its reason is 'accepted'")

    def to_json(self) -> dict[str, bool | str]:
        return {"accepted": self.accepted, "reason": self.reason}


def ocra_question_length(suite: str) -> int:
    """How many digits a question of `suite` has. Raises `ValueError` unless it is numeric."""
    parsed = OcraSuite.parse(suite)
    if parsed.question_format != "N":
        raise ValueError(f"suite {suite} does not take a numeric question")
    return parsed.question_length


def scc_indices(entropy: Entropy) -> tuple[int, int]:
    """Two distinct, uniformly random cell indices in 1..224 (rejection sampling, no bias)."""
    limit = (1 << 16) - (1 << 16) % CELLS
    picked: list[int] = []
    while len(picked) < 2:
        raw = entropy(2)
        value = int.from_bytes(raw, "big")
        if value >= limit:
            continue
        index = value % CELLS + 1
        if index not in picked:
            picked.append(index)
    return picked[0], picked[1]


def parse_scc_challenge(text: str) -> tuple[int, int]:
    """The two indices of an SCC challenge text ("12 187")."""
    first, second = text.split()
    return int(first), int(second)


def normalise_response(response: str) -> str:
    """What the user typed, without surrounding or inner blanks; SCC codes in upper case."""
    return "".join(response.split()).upper()


def check_scc(key: bytes, challenge_text: str, response: str) -> bool:
    """Whether `response` is the two codes for the challenge's indices (constant time)."""
    first, second = parse_scc_challenge(challenge_text)
    expected = scc_response(key, first, second)
    return hmac.compare_digest(normalise_response(response).encode(), expected.encode())


def check_ocra(
    calculator: OcraCalculator,
    response: str,
    question: str,
    pin_hash: bytes | None,
    counter: int,
    window: int,
) -> int | None:
    """Check an OCRA response; return the counter to store next, or None if wrong.

    `pin_hash` is the PIN hashed as the suite's P says (None for a suite without P). Without C
    in the suite the counter is untouched (returned as is on success). With C, the
    counters `counter .. counter + window` are tried (look-ahead: the device may have been used
    without the server seeing it); a match at c resynchronises the server to c + 1, so that code
    and every earlier one can never be accepted again.
    """
    candidate = normalise_response(response)
    pin_arg = pin_hash if calculator.suite.pin_hash is not None else None
    if not calculator.suite.counter:
        ok = calculator.verify(candidate, question=question, pin_hash=pin_arg)
        return counter if ok else None
    matched: int | None = None
    for value in range(counter, counter + window + 1):
        # Keep going after a match so the time taken does not tell where it matched.
        if calculator.verify(candidate, counter=value, question=question, pin_hash=pin_arg):
            matched = value if matched is None else matched
    return None if matched is None else matched + 1


def check_hotp(
    key: bytes, response: str, spec: OtpSpec, counter: int, window: int
) -> int | None:
    """The counter after an accepted HOTP code (RFC 4226 look-ahead: `counter` … `counter +
    window`, the whole window always scanned), or None. Like the IB Key, a match resyncs."""
    candidate = normalise_response(response).encode()
    matched: int | None = None
    for value in range(counter, min(counter + window, (1 << 64) - 1) + 1):
        code = hotp(key, value, digits=spec.digits, algorithm=spec.algorithm).encode()
        if hmac.compare_digest(candidate, code) and matched is None:
            matched = value
    return None if matched is None else matched + 1


def totp_passcode(spec: OtpSpec, step_seconds: int) -> Callable[[bytes, int], str]:
    """`passcode(key, unix_time)` of a TOTP token of `spec` (for `check_time_passcode`)."""
    def passcode(key: bytes, time: int) -> str:
        return totp(key, time, step=step_seconds, digits=spec.digits, algorithm=spec.algorithm)

    return passcode


@dataclass(frozen=True, slots=True)
class TimeMatch:
    """A matched time passcode: the step it belongs to and the drift (in steps) it shows."""

    step: int
    drift: int


def check_time_passcode(
    key: bytes,
    response: str,
    now: float,
    *,
    step_seconds: int,
    drift: int,
    window: int,
    last_step: int | None,
    passcode: Callable[[bytes, int], str],
    valid_seconds: int | None = None,
) -> TimeMatch | str | None:
    """Check a legacy DSC time passcode around `now` shifted by the learned `drift` (in steps).

    `passcode(key, unix_time)` is the device's own code function (`firmware_model.legacy_dsc`).
    Returns the match, None if no step in the window gives `response`, or `REPLAYED` if the
    passcode matches a step at or before `last_step` (already used: a time code answers once).
    The drift learned from a match is the offset from the current step; it re-centres the window
    for the next login, so a device whose clock runs away slowly keeps working.

    `valid_seconds` (the legacy DSC's 30 s) bounds a passcode's age: the card's time as the host
    knows it (`now` + drift) minus the start of the matched step. A step older than that gives
    `CODE_EXPIRED`, so a passcode shown at the start of a step is refused 31 s later, not 59 s.
    Steps ahead of the card's known time are young by definition (the card's clock ran ahead):
    they are accepted inside the window and teach the new drift.
    """
    candidate = normalise_response(response)
    current = time_step(now, step_seconds)
    centre = current + drift
    found: int | None = None
    for step in range(max(0, centre - window), centre + window + 1):
        code = passcode(key, step * step_seconds)
        if hmac.compare_digest(candidate.encode(), code.encode()) and found is None:
            found = step
    if found is None:
        return None
    if last_step is not None and found <= last_step:
        return REPLAYED
    age = now + drift * step_seconds - found * step_seconds
    if valid_seconds is not None and age > valid_seconds:
        return CODE_EXPIRED
    return TimeMatch(step=found, drift=found - current)
