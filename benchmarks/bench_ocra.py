"""`ocra_verify`: OCRA generate/verify ops/s beside a bare `cryptography` HMAC-SHA1.

One op is one OCRA computation: the device generating a response, or the host verifying one.
Each timed call does one of each (device generate, host verify) for suite
`OCRA-1:HOTP-SHA1-8:QN06-PSHA1` — the key set once per device, the suite parsed once, the PIN
hash computed once (device and host keep it). The baseline call computes two HMAC-SHA1s over
messages of the same size (the 178-byte data input), each with a new
`cryptography.hazmat.primitives.hmac.HMAC` object. Challenges vary over 1024 values, so no
per-challenge shortcut can help. Ratio = project / baseline; the target is ≥ 1.0.
"""

from __future__ import annotations

import hashlib
import itertools

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.hmac import HMAC

from benchmarks.harness import BenchResult, compare_rates
from firmware_model.ocra import OcraCalculator, OcraSuite

SUITE = "OCRA-1:HOTP-SHA1-8:QN06-PSHA1"
KEY = bytes(range(1, 21))
PIN_HASH = hashlib.sha1(b"1234").digest()
CHALLENGES = 1024


def run() -> list[BenchResult]:
    suite = OcraSuite.parse(SUITE)
    device = OcraCalculator(suite, KEY)
    host = OcraCalculator(suite, KEY)
    questions = [f"{(n * 7919) % 1_000_000:06d}" for n in range(CHALLENGES)]
    pairs = [(q, device.response(question=q, pin_hash=PIN_HASH)) for q in questions]
    if not all(host.verify(r, question=q, pin_hash=PIN_HASH) for q, r in pairs):
        raise AssertionError("host and device disagree")  # a benchmark of wrong code is void
    messages = [device.data_input(question=q, pin_hash=PIN_HASH) for q in questions]
    algorithm = SHA1()

    next_pair = itertools.cycle(pairs).__next__
    next_message = itertools.cycle(messages).__next__

    def project() -> bool:
        question, response = next_pair()
        device.response(question=question, pin_hash=PIN_HASH)
        return host.verify(response, question=question, pin_hash=PIN_HASH)

    def baseline() -> bytes:
        message = next_message()
        first = HMAC(KEY, algorithm)
        first.update(message)
        first.finalize()
        second = HMAC(KEY, algorithm)
        second.update(message)
        return second.finalize()

    project_rate, baseline_rate = compare_rates(project, baseline)
    return [
        BenchResult(
            name="ocra_verify",
            value=2 * project_rate,  # two OCRA computations per call
            unit="ops/s",
            ratio=project_rate / baseline_rate,
            baseline="cryptography_hmac_sha1_new_object",
            target=">=1.0",
            extra=f"baseline_value={2 * baseline_rate:.6g}ops/s message={len(messages[0])}B",
        )
    ]
