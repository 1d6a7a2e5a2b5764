"""RFC 6287 OCRA: the OATH challenge-response algorithm.

Theory of operation
-------------------
A suite (`firmware_model.ocra_suite.OcraSuite`, parsed once) fixes the HMAC hash, the truncation
and which of the six per-call inputs (`OcraInputs`) go into the data input:

    HMAC(key, suite ‖ 0x00 ‖ C ‖ Q ‖ P ‖ S ‖ T)  →  dynamic truncation to <digits>

with C an 8-byte counter, Q the question in a 128-byte field, P the hash of the PIN, S the
session information in <nnn> bytes and T the number of time steps since the Unix epoch in
8 bytes. ``digits = 0`` means no truncation: the response is the whole HMAC in lower-case hex.

`OcraCalculator` sets the key up once per device; `response`/`verify` then cost one HMAC plus the
packing of the inputs. Every input that does not fit the suite raises `SuiteError` with a message
that says what is wrong — and never echoes a secret.

The question encodings follow the RFC's reference implementation (Appendix A):
N — the decimal number converted to hexadecimal, left-justified and zero-padded to 128 bytes;
A — the ASCII characters, zero-padded; H — the hex digits, left-justified and zero-padded.
A question may be up to twice the suite's length: mutual challenge-response (RFC 6287 section
7.3, Appendix C.2) concatenates the client's and the server's questions.

One fast path, inlined in `OcraCalculator.response` (no per-call object, no extra frame), serves
the suites the devices and the host spend their time on (``[C-]QN<len>[-P<hash>]`` with
truncation); it accepts only inputs it can prove valid and hands everything else to the generic
path (`compute`), which checks and reports. A property test holds the two equal.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypedDict, Unpack

from firmware_model.errors import SuiteError
from firmware_model.hotp import KeyedHmac, truncate
from firmware_model.hotp import time_step as _time_step
from firmware_model.ocra_suite import DIGEST_SIZES, MAX_SUITE_LENGTH, OcraSuite

__all__ = ["MAX_SUITE_LENGTH", "OcraCalculator", "OcraInputs", "OcraSuite", "ocra"]

_QUESTION_FIELD: Final = 128  # bytes of Q in the data input
_COUNTER_LIMIT: Final = 1 << 64
_HEX = re.compile(r"[0-9A-Fa-f]*")
_ZEROS: Final = tuple(bytes(n) for n in range(_QUESTION_FIELD + 1))  # padding, made once
# The fast path packs a numeric question as one unsigned 64-bit field: up to 19 decimal digits
# (10**19 - 1 < 2**64), left-justified by shifting out the unused low nibbles.
_FAST_QUESTION_DIGITS: Final = 19
_NIBBLE_SHIFT: Final = tuple(64 - 4 * ((bits + 3) >> 2) for bits in range(65))
_uint32_at: Final = struct.Struct(">I").unpack_from
_compare_digest: Final = hmac.compare_digest


@dataclass(frozen=True, slots=True)
class OcraInputs:
    """The six per-call inputs of OCRA; give exactly those the suite has. The PIN, its hash and
    the session stay out of the repr."""

    counter: int | None = None
    question: str | None = None
    pin: str | None = field(default=None, repr=False)
    pin_hash: bytes | str | None = field(default=None, repr=False)
    session: bytes | str | None = field(default=None, repr=False)
    time: int | float | None = None


class _Keywords(TypedDict, total=False):
    """`OcraInputs` as keyword arguments (`response(question=…, pin=…)`)."""

    counter: int | None
    question: str | None
    pin: str | None
    pin_hash: bytes | str | None
    session: bytes | str | None
    time: int | float | None


class OcraCalculator:
    """OCRA for one suite and one key: the key schedule and fixed parts are set up once.

    `response` computes the code; `verify` compares a candidate with it in constant time.
    Inputs the suite does not use are refused (`SuiteError`), so a mistake cannot pass
    silently. The key is never shown: not in `repr`, not in any error.
    """

    __slots__ = ("_fast", "_new_context", "_pin_size", "_prefix", "suite")

    _fast: _FastShape | None

    def __init__(self, suite: OcraSuite | str, key: bytes) -> None:
        if isinstance(suite, str):
            suite = OcraSuite.parse(suite)
        elif not isinstance(suite, OcraSuite):
            raise TypeError("suite must be an OcraSuite or its text")
        self.suite: OcraSuite = suite
        self._prefix = suite.text.encode("ascii") + b"\0"
        # The data input always starts with suite ‖ 00: absorb it into the HMAC state once.
        self._new_context = KeyedHmac(key, suite.hash_name).prefixed(self._prefix).new_context
        self._pin_size = DIGEST_SIZES[suite.pin_hash] if suite.pin_hash else 0
        # The suite is fixed, so whether the fast path applies is decided here, once.
        self._fast = _numeric_shape(suite)

    def __repr__(self) -> str:
        return f"OcraCalculator(suite={self.suite.text!r})"

    def data_input(self, **inputs: Unpack[_Keywords]) -> bytes:
        """The RFC's DataInput (suite ‖ 00 ‖ C ‖ Q ‖ P ‖ S ‖ T) for these inputs."""
        return self._prefix + self._body(OcraInputs(**inputs))

    def response(
        self,
        *,
        counter: int | None = None,
        question: str | None = None,
        pin: str | None = None,
        pin_hash: bytes | str | None = None,
        session: bytes | str | None = None,
        time: int | float | None = None,
    ) -> str:
        """The OCRA response: `digits` decimal digits, or the whole HMAC in hex if digits is 0.

        The fast path for ``[C-]QN<len>[-P<hash>]`` suites with truncation is inlined here (no
        per-call object or extra frame): it takes only inputs it can prove valid and leaves every
        other case, refusals included, to `compute`, which checks and reports.
        """
        fast = self._fast
        if fast is not None and pin is None and session is None and time is None:
            longest, pin_size, with_counter, pack, modulus, digits = fast
            if (
                type(question) is str
                and len(question) <= longest
                and question.isascii()
                and question.isdigit()  # also refuses ""
                and (
                    type(pin_hash) is bytes and len(pin_hash) == pin_size
                    if pin_size
                    else pin_hash is None
                )
                and (
                    type(counter) is int and 0 <= counter < _COUNTER_LIMIT
                    if with_counter
                    else counter is None
                )
            ):
                number = int(question)
                context = self._new_context()
                if with_counter:
                    context.update(
                        pack(counter, number << _NIBBLE_SHIFT[number.bit_length()], pin_hash or b"")
                    )
                else:
                    context.update(
                        pack(number << _NIBBLE_SHIFT[number.bit_length()], pin_hash or b"")
                    )
                mac = context.finalize()  # RFC 4226 dynamic truncation, as `hotp.truncate`
                return str((_uint32_at(mac, mac[-1] & 15)[0] & 0x7FFFFFFF) % modulus).zfill(digits)
        return self.compute(OcraInputs(counter, question, pin, pin_hash, session, time))

    def compute(self, inputs: OcraInputs) -> str:
        """The response for any suite and any inputs (`response` without the fast path)."""
        context = self._new_context()
        context.update(self._body(inputs))
        mac = context.finalize()
        digits = self.suite.digits
        return truncate(mac, digits) if digits else mac.hex()

    def verify(
        self,
        candidate: str,
        *,
        counter: int | None = None,
        question: str | None = None,
        pin: str | None = None,
        pin_hash: bytes | str | None = None,
        session: bytes | str | None = None,
        time: int | float | None = None,
    ) -> bool:
        """Whether `candidate` is the response for these inputs (constant-time comparison).

        A wrong candidate gives False; inputs that do not fit the suite raise `SuiteError`.
        """
        if not isinstance(candidate, str):
            raise TypeError("candidate must be a str")
        # Keywords spelled out, not forwarded as **inputs: the host verifies on its hot path.
        expected = self.response(
            counter=counter,
            question=question,
            pin=pin,
            pin_hash=pin_hash,
            session=session,
            time=time,
        )
        # compare_digest takes ASCII str directly; a non-ASCII candidate can never match, and
        # refusing it early tells nothing about the expected code.
        return candidate.isascii() and _compare_digest(candidate, expected)

    # -- the data input after suite ‖ 00: C ‖ Q ‖ P ‖ S ‖ T, each only if the suite has it --

    def _fail(self, message: str) -> SuiteError:
        return SuiteError(f"OCRA suite {self.suite.text!r}: {message}")

    def _body(self, inputs: OcraInputs) -> bytes:
        suite = self.suite
        body = self._question(inputs.question)
        if suite.counter:
            body = self._counter(inputs.counter) + body
        elif inputs.counter is not None:
            raise self._fail("the suite has no counter (C), so no counter may be given")
        if self._pin_size:
            body += self._pin(inputs.pin, inputs.pin_hash)
        elif inputs.pin is not None or inputs.pin_hash is not None:
            raise self._fail("the suite has no PIN (P..), so no PIN may be given")
        if suite.session_length is not None:
            body += self._session(inputs.session, suite.session_length)
        elif inputs.session is not None:
            raise self._fail("the suite has no session item (S..), so no session may be given")
        if suite.time_step is not None:
            body += self._time(inputs.time, suite.time_step)
        elif inputs.time is not None:
            raise self._fail("the suite has no time item (T..), so no time may be given")
        return body

    def _counter(self, counter: int | None) -> bytes:
        if counter is None:
            raise self._fail("the suite has a counter (C): give counter")
        if isinstance(counter, bool) or not isinstance(counter, int):
            raise TypeError("counter must be an int")
        if not 0 <= counter < _COUNTER_LIMIT:
            raise self._fail("counter must be 0 to 2**64-1")
        return counter.to_bytes(8, "big")

    def _question(self, question: str | None) -> bytes:
        if not isinstance(question, str):
            if question is None:
                raise self._fail("give the question (Q)")
            raise TypeError("question must be a str")
        if not question:
            raise self._fail("the question is empty")
        fmt, length = self.suite.question_format, self.suite.question_length
        if len(question) > 2 * length:  # one question, or two (mutual mode)
            raise self._fail(
                f"the question has {len(question)} characters; Q{fmt}{length:02d} allows at "
                f"most {2 * length} (two questions in mutual mode)"
            )
        if fmt == "N":
            if not (question.isascii() and question.isdigit()):
                raise self._fail("a numeric question (QN..) must be decimal digits 0-9")
            # The number in hex, left-justified in the field (an odd number of hex digits ends
            # in half a byte, then zeros).
            number = int(question)
            shift = 8 * _QUESTION_FIELD - 4 * ((number.bit_length() + 3) >> 2)
            return (number << shift).to_bytes(_QUESTION_FIELD, "big")
        if fmt == "A":
            if not (question.isascii() and question.isalnum()):
                raise self._fail("an alphanumeric question (QA..) must be ASCII letters and digits")
            packed = question.encode("ascii")
        else:
            if _HEX.fullmatch(question) is None:
                raise self._fail("a hexadecimal question (QH..) must be hex digits 0-9, A-F")
            packed = bytes.fromhex(question + "0" if len(question) & 1 else question)
        # Always fits: at most 128 ASCII characters or 128 hex digits (question_length ≤ 64).
        return packed + _ZEROS[_QUESTION_FIELD - len(packed)]

    def _pin(self, pin: str | None, pin_hash: bytes | str | None) -> bytes:
        algorithm = self.suite.pin_hash
        assert algorithm is not None
        if pin is not None and pin_hash is not None:
            raise self._fail("give pin or pin_hash, not both")
        if pin is not None:
            if not isinstance(pin, str):
                raise TypeError("pin must be a str")
            if not pin:
                raise self._fail("the PIN is empty")
            return hashlib.new(algorithm, pin.encode("utf-8")).digest()
        if pin_hash is None:
            raise self._fail(f"the suite has a PIN (P{algorithm.upper()}): give pin or pin_hash")
        if isinstance(pin_hash, str):
            if _HEX.fullmatch(pin_hash) is None or len(pin_hash) & 1:
                raise self._fail("pin_hash must be hex digits (an even number of them)")
            pin_hash = bytes.fromhex(pin_hash)
        else:
            pin_hash = memoryview(pin_hash).tobytes()  # any bytes-like; TypeError otherwise
        if len(pin_hash) != self._pin_size:
            raise self._fail(
                f"pin_hash must be {self._pin_size} bytes ({algorithm}), not {len(pin_hash)}"
            )
        return pin_hash

    def _session(self, session: bytes | str | None, length: int) -> bytes:
        if session is None:
            raise self._fail(f"the suite has session information (S{length:03d}): give session")
        if isinstance(session, str):
            if _HEX.fullmatch(session) is None:
                raise self._fail("session must be hex digits 0-9, A-F")
            if len(session) > 2 * length:
                raise self._fail(f"session is longer than {length} bytes")
            # Reference implementation: hex digits right-justified, zero-padded on the left.
            return bytes.fromhex(session.rjust(2 * length, "0"))
        session = memoryview(session).tobytes()  # any bytes-like; TypeError otherwise
        if len(session) > length:
            raise self._fail(f"session is longer than {length} bytes")
        return bytes(length - len(session)) + session

    def _time(self, time: int | float | None, step: int) -> bytes:
        if time is None:
            raise self._fail("the suite has a time item (T..): give time in Unix seconds")
        try:
            steps = _time_step(time, step, 0)
        except ValueError:
            raise self._fail("time must be a finite, non-negative number of Unix seconds") from None
        return steps.to_bytes(8, "big")


_FastShape = tuple[int, int, bool, Callable[..., bytes], int, int]
"""What the inlined fast path of `OcraCalculator.response` needs: the longest question, the PIN
hash size (0: none), whether there is a counter, the packer of C ‖ Q ‖ P, 10**digits and
digits."""


def _numeric_shape(suite: OcraSuite) -> _FastShape | None:
    """The fast path's fixed parts for ``[C-]QN<len>[-P<hash>]`` suites with truncation (DSC+
    ``QN06-PSHA1`` and ``QN06``, IB Key ``C-QN06-PSHA1``), or None for another shape (A/H, S, T,
    no truncation).

    The layout and sizes are worked out here, once; one `struct` call packs C ‖ Q ‖ P.
    """
    if (
        suite.question_format != "N"
        or suite.session_length is not None
        or suite.time_step is not None
        or not suite.digits
    ):
        return None
    longest = min(2 * suite.question_length, _FAST_QUESTION_DIGITS)  # mutual mode: two questions
    pin_size = DIGEST_SIZES[suite.pin_hash] if suite.pin_hash else 0
    layout = ("Q" if suite.counter else "") + f"Q{_QUESTION_FIELD - 8}x{pin_size}s"
    pack = struct.Struct(">" + layout).pack  # C (8 bytes) ‖ Q (128 bytes) ‖ P (0 if none)
    return (longest, pin_size, suite.counter, pack, 10**suite.digits, suite.digits)


def ocra(suite: str, key: bytes, **inputs: Unpack[_Keywords]) -> str:
    """One OCRA response (RFC 6287). For many codes with one key, use `OcraCalculator`."""
    return OcraCalculator(suite, key).response(**inputs)
