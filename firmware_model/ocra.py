"""RFC 6287 OCRA: the OATH challenge-response algorithm, with a strict suite parser.

Theory of operation
-------------------
An OCRA suite such as ``OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1`` names three things, separated by
colons: the version (``OCRA-1``), the crypto function (``HOTP-<hash>-<digits>``) and the data
input (``[C-]Q<fmt><len>[-P<hash>][-S<nnn>][-T<n><unit>]``, in that order). The response is

    HMAC(key, suite ‖ 0x00 ‖ C ‖ Q ‖ P ‖ S ‖ T)  →  dynamic truncation to <digits>

with C an 8-byte counter, Q the question in a 128-byte field, P the hash of the PIN, S the
session information in <nnn> bytes and T the number of time steps since the Unix epoch in
8 bytes. ``digits = 0`` means no truncation: the response is the whole HMAC in lower-case hex.

`OcraSuite.parse` turns the text into a frozen record once (cached), and `OcraCalculator`
sets the key up once per device; `response`/`verify` then cost one HMAC plus the packing of
the per-call inputs. Every malformed suite and every input that does not fit the suite raises
`SuiteError` with a message that says what is wrong and where — and never echoes a secret.

The question encodings follow the RFC's reference implementation (Appendix A):
N — the decimal number converted to hexadecimal, left-justified and zero-padded to 128 bytes;
A — the ASCII characters, zero-padded; H — the hex digits, left-justified and zero-padded.
A question may be up to twice the suite's length: mutual challenge-response (RFC 6287 section
7.3, Appendix C.2) concatenates the client's and the server's questions.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from cryptography.hazmat.primitives.hmac import HMAC

from firmware_model.errors import SuiteError
from firmware_model.hotp import KeyedHmac, truncate
from firmware_model.hotp import time_step as _time_step

__all__ = ["MAX_SUITE_LENGTH", "OcraCalculator", "OcraSuite", "ocra"]

#: Longer text cannot be a valid suite (the longest is 46 characters); refuse it up front.
MAX_SUITE_LENGTH: Final = 128

_VERSION: Final = "OCRA-1"
_HASHES: Final = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
_HASH_TEXT: Final = {name: text for text, name in _HASHES.items()}
_DIGEST_SIZES: Final = {"sha1": 20, "sha256": 32, "sha512": 64}
_DIGITS: Final = (0, 4, 5, 6, 7, 8, 9, 10)
_QUESTION_FORMATS: Final = ("A", "N", "H")
_QUESTION_MIN, _QUESTION_MAX = 4, 64
_QUESTION_FIELD: Final = 128  # bytes of Q in the data input
_QUESTION_NIBBLES: Final = 2 * _QUESTION_FIELD
_SESSION_MAX: Final = 512  # RFC 6287 names S064, S128, S256 and S512
# Time step units: seconds per unit and the largest count the RFC allows ([1-59]S, [1-59]M,
# [0-48]H; a zero step would divide by zero, so 0H is refused).
_TIME_UNITS: Final = {"S": (1, 59), "M": (60, 59), "H": (3600, 48)}
_ORDER: Final = "CQPST"
_COUNTER_LIMIT: Final = 1 << 64
_HEX = re.compile(r"[0-9A-Fa-f]*")
_ZEROS: Final = tuple(bytes(n) for n in range(_QUESTION_FIELD + 1))  # padding, made once
# The fast path packs a numeric question as one unsigned 64-bit field: up to 19 decimal digits
# (10**19 - 1 < 2**64), left-justified by shifting out the unused low nibbles.
_FAST_QUESTION_DIGITS: Final = 19
_NIBBLE_SHIFT: Final = tuple(64 - 4 * ((bits + 3) >> 2) for bits in range(65))

#: The per-suite constants of the numeric fast path (see `_numeric_fast_path`), in this order:
#: longest question, PIN hash size (0: no P), counter (C) or not, the packer of C ‖ Q ‖ P, the
#: keyed HMAC context factory, the truncation shift per offset, 10**digits, digits.
_FastPath: TypeAlias = tuple[
    int, int, bool, Callable[..., bytes], Callable[[], HMAC], tuple[int, ...], int, int
]
_from_bytes: Final = int.from_bytes


def _is_decimal(text: str) -> bool:
    """ASCII digits only (str.isdigit alone accepts other scripts' digits and superscripts)."""
    return text.isascii() and text.isdigit()


def _show(text: str) -> str:
    """The suite as error messages quote it: bounded, so a huge argument makes a short line."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _format_time_step(seconds: int) -> str:
    for unit, (scale, largest) in _TIME_UNITS.items():
        if seconds % scale == 0 and 1 <= seconds // scale <= largest:
            return f"T{seconds // scale}{unit}"
    raise SuiteError(
        f"time step {seconds} s cannot be written as a suite item "
        "(1-59 seconds, 1-59 minutes or 1-48 hours)"
    )


def _format(
    hash_name: str,
    digits: int,
    counter: bool,
    question_format: str,
    question_length: int,
    pin_hash: str | None,
    session_length: int | None,
    time_step: int | None,
) -> str:
    """The canonical suite text for these fields; `SuiteError` if a field is out of range."""
    if hash_name not in _HASH_TEXT:
        raise SuiteError(f"hash_name {hash_name!r} must be sha1, sha256 or sha512")
    if isinstance(digits, bool) or digits not in _DIGITS:
        raise SuiteError("digits must be 0 (no truncation) or 4 to 10")
    if question_format not in _QUESTION_FORMATS:
        raise SuiteError(f"question_format {question_format!r} must be A, N or H")
    if isinstance(question_length, bool) or not (
        isinstance(question_length, int) and _QUESTION_MIN <= question_length <= _QUESTION_MAX
    ):
        raise SuiteError("question_length must be 4 to 64")
    items = ["C"] if counter else []
    items.append(f"Q{question_format}{question_length:02d}")
    if pin_hash is not None:
        if pin_hash not in _HASH_TEXT:
            raise SuiteError(f"pin_hash {pin_hash!r} must be sha1, sha256 or sha512")
        items.append(f"P{_HASH_TEXT[pin_hash]}")
    if session_length is not None:
        if isinstance(session_length, bool) or not (
            isinstance(session_length, int) and 1 <= session_length <= _SESSION_MAX
        ):
            raise SuiteError(f"session_length must be 1 to {_SESSION_MAX} bytes")
        items.append(f"S{session_length:03d}")
    if time_step is not None:
        if isinstance(time_step, bool) or not isinstance(time_step, int):
            raise SuiteError("time_step must be a whole number of seconds")
        items.append(_format_time_step(time_step))
    return f"{_VERSION}:HOTP-{_HASH_TEXT[hash_name]}-{digits}:{'-'.join(items)}"


@dataclass(frozen=True, slots=True)
class OcraSuite:
    """A parsed OCRA suite. Build it with `parse` (from text) or `build` (from fields)."""

    text: str
    hash_name: str  # "sha1" | "sha256" | "sha512"
    digits: int  # 0 (no truncation) or 4-10
    counter: bool
    question_format: str  # "A" | "N" | "H"
    question_length: int  # 4-64
    pin_hash: str | None  # hash of the PIN, or None when the suite has no P
    session_length: int | None  # bytes of session information, or None
    time_step: int | None  # seconds, or None when the suite has no T

    def __post_init__(self) -> None:
        expected = _format(
            self.hash_name,
            self.digits,
            self.counter,
            self.question_format,
            self.question_length,
            self.pin_hash,
            self.session_length,
            self.time_step,
        )
        if self.text != expected:
            raise SuiteError(f"OCRA suite {_show(self.text)} does not match its fields")

    @classmethod
    def parse(cls, text: str) -> OcraSuite:
        """Parse suite text (cached); `SuiteError` says what is wrong and at which character."""
        if not isinstance(text, str):
            raise TypeError("an OCRA suite is a str")
        return _parse_cached(text)

    @classmethod
    def build(
        cls,
        *,
        hash_name: str = "sha1",
        digits: int = 8,
        counter: bool = False,
        question_format: str = "N",
        question_length: int = 8,
        pin_hash: str | None = None,
        session_length: int | None = None,
        time_step: int | None = None,
    ) -> OcraSuite:
        """The suite with these fields, its text written canonically (the parser's inverse)."""
        text = _format(
            hash_name,
            digits,
            counter,
            question_format,
            question_length,
            pin_hash,
            session_length,
            time_step,
        )
        return cls(
            text,
            hash_name,
            digits,
            counter,
            question_format,
            question_length,
            pin_hash,
            session_length,
            time_step,
        )

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> OcraSuite:
    return _parse(text)


def _parse(text: str) -> OcraSuite:
    where = f"OCRA suite {_show(text)}"
    if not text:
        raise SuiteError("OCRA suite is empty")
    if len(text) > MAX_SUITE_LENGTH:
        raise SuiteError(f"OCRA suite is too long ({len(text)} characters, at most 128)")
    parts = text.split(":")
    if len(parts) != 3:
        raise SuiteError(
            f"{where}: expected 3 parts separated by ':' "
            f"(version:crypto function:data input), found {len(parts)}"
        )
    version, crypto, data = parts
    if version != _VERSION:
        raise SuiteError(f"{where}: version {version!r} at character 1 must be 'OCRA-1'")

    # Crypto function: HOTP-<hash>-<digits>
    at = len(version) + 2  # 1-based character where the part starts
    pieces = crypto.split("-")
    if len(pieces) != 3 or pieces[0] != "HOTP":
        raise SuiteError(
            f"{where}: crypto function {crypto!r} at character {at} must look like HOTP-SHA1-6"
        )
    hash_text, digits_text = pieces[1], pieces[2]
    if hash_text not in _HASHES:
        raise SuiteError(
            f"{where}: hash {hash_text!r} at character {at + 5} must be SHA1, SHA256 or SHA512"
        )
    if not _is_decimal(digits_text) or digits_text not in {str(d) for d in _DIGITS}:
        raise SuiteError(
            f"{where}: truncation {digits_text!r} at character {at + 6 + len(hash_text)} "
            "must be 0 (no truncation) or 4 to 10 digits"
        )

    # Data input: [C-]QFxx[-PH][-Snnn][-TG]
    at += len(crypto) + 1
    counter = False
    question: tuple[str, int] | None = None
    pin_hash: str | None = None
    session_length: int | None = None
    step: int | None = None
    last = -1
    for item in data.split("-"):
        here = f"{where}: data input item {item!r} at character {at}"
        if not item:
            raise SuiteError(f"{where}: empty data input item at character {at}")
        kind = item[0]
        if kind not in _ORDER:
            raise SuiteError(f"{here} is unknown (expected C, Q.., P.., S.. or T..)")
        rank = _ORDER.index(kind)
        if rank == last:
            raise SuiteError(f"{here} repeats {kind}")
        if rank < last:
            raise SuiteError(f"{here} is out of order (items go C, Q, P, S, T)")
        last = rank
        if kind == "C":
            if item != "C":
                raise SuiteError(f"{here}: the counter item is just 'C'")
            counter = True
        elif kind == "Q":
            question = _parse_question(item, here)
        elif kind == "P":
            if item[1:] not in _HASHES:
                raise SuiteError(f"{here}: the PIN hash must be PSHA1, PSHA256 or PSHA512")
            pin_hash = _HASHES[item[1:]]
        elif kind == "S":
            length = item[1:]
            if len(length) != 3 or not _is_decimal(length):
                raise SuiteError(f"{here}: session length must be three digits, e.g. S064")
            if not 1 <= int(length) <= _SESSION_MAX:
                raise SuiteError(f"{here}: session length must be 001 to {_SESSION_MAX}")
            session_length = int(length)
        else:
            step = _parse_time_step(item, here)
        at += len(item) + 1
    if question is None:
        raise SuiteError(f"{where}: the data input has no question item (Q..); OCRA needs one")
    return OcraSuite(
        text,
        _HASHES[hash_text],
        int(digits_text),
        counter,
        question[0],
        question[1],
        pin_hash,
        session_length,
        step,
    )


def _parse_question(item: str, here: str) -> tuple[str, int]:
    if len(item) < 2 or item[1] not in _QUESTION_FORMATS:
        raise SuiteError(f"{here}: question format must be A, N or H (e.g. QN08)")
    length = item[2:]
    if len(length) != 2 or not _is_decimal(length):
        raise SuiteError(f"{here}: question length must be two digits (e.g. QN08)")
    if not _QUESTION_MIN <= int(length) <= _QUESTION_MAX:
        raise SuiteError(f"{here}: question length must be 04 to 64")
    return item[1], int(length)


def _parse_time_step(item: str, here: str) -> int:
    unit = item[-1]
    count = item[1:-1]
    if len(item) < 3 or unit not in _TIME_UNITS:
        raise SuiteError(f"{here}: time step must be a number and S, M or H (e.g. T1M, T30S)")
    if not _is_decimal(count) or count != str(int(count)):
        raise SuiteError(f"{here}: time step count must be a number without leading zeros")
    scale, largest = _TIME_UNITS[unit]
    if not 1 <= int(count) <= largest:
        raise SuiteError(f"{here}: time step count must be 1 to {largest} for unit {unit}")
    return int(count) * scale


class OcraCalculator:
    """OCRA for one suite and one key: the key schedule and fixed parts are set up once.

    `response` computes the code; `verify` compares a candidate with it in constant time.
    Inputs the suite does not use are refused (`SuiteError`), so a mistake cannot pass
    silently. The key is never shown: not in `repr`, not in any error.
    """

    __slots__ = (
        "_counter_on",
        "_digits",
        "_fast",
        "_new_context",
        "_numeric",
        "_pin_size",
        "_prefix",
        "_question_format",
        "_question_max",
        "_session_length",
        "_step",
        "suite",
    )

    def __init__(self, suite: OcraSuite | str, key: bytes) -> None:
        if isinstance(suite, str):
            suite = OcraSuite.parse(suite)
        elif not isinstance(suite, OcraSuite):
            raise TypeError("suite must be an OcraSuite or its text")
        self.suite: OcraSuite = suite
        self._prefix = suite.text.encode("ascii") + b"\0"
        # The data input always starts with suite ‖ 00: absorb it into the HMAC state once.
        self._new_context = KeyedHmac(key, suite.hash_name).prefixed(self._prefix).new_context
        self._digits = suite.digits
        self._counter_on = suite.counter
        self._question_format = suite.question_format
        self._numeric = suite.question_format == "N"
        self._question_max = 2 * suite.question_length  # one question, or two (mutual mode)
        self._pin_size = _DIGEST_SIZES[suite.pin_hash] if suite.pin_hash else 0
        self._session_length = suite.session_length
        self._step = suite.time_step
        # The suite is fixed, so whether (and how) the hot path applies is decided here, once.
        self._fast = _numeric_fast_path(suite, self._new_context)

    def __repr__(self) -> str:
        return f"OcraCalculator(suite={self.suite.text!r})"

    def _fail(self, message: str) -> SuiteError:
        return SuiteError(f"OCRA suite {self.suite.text!r}: {message}")

    def data_input(
        self,
        *,
        counter: int | None = None,
        question: str | None = None,
        pin: str | None = None,
        pin_hash: bytes | str | None = None,
        session: bytes | str | None = None,
        time: int | float | None = None,
    ) -> bytes:
        """The RFC's DataInput (suite ‖ 00 ‖ C ‖ Q ‖ P ‖ S ‖ T) for these inputs."""
        return self._prefix + self._body(counter, question, pin, pin_hash, session, time)

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
        """The OCRA response: `digits` decimal digits, or the whole HMAC in hex if digits is 0."""
        # The fast path is written out here, not called, because a Python call costs as much
        # as a quarter of the HMAC; see `_numeric_fast_path` for what it may accept.
        fast = self._fast
        if fast is not None:
            longest, pin_size, with_counter, pack, new_context, at, modulus, digits = fast
            if (
                type(question) is str
                and len(question) <= longest
                and question.isascii()
                and question.isdigit()  # also refuses ""
                and pin is None
                and session is None
                and time is None
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
                # The number's hex digits left-justified in the 128-byte field (RFC 6287
                # Appendix A); an odd number of hex digits ends in half a byte, then zeros.
                number = int(question)
                field = number << _NIBBLE_SHIFT[number.bit_length()]
                context = new_context()
                if with_counter:
                    context.update(pack(counter, field, pin_hash or b""))
                else:
                    context.update(pack(field, pin_hash or b""))
                # RFC 4226 dynamic truncation (as `truncate`) on the digest read as one integer.
                x = _from_bytes(context.finalize())
                return str(((x >> at[x & 15]) & 0x7FFFFFFF) % modulus).zfill(digits)
        return self._generic_response(counter, question, pin, pin_hash, session, time)

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
        return candidate.isascii() and hmac.compare_digest(candidate, expected)

    def _generic_response(
        self,
        counter: int | None,
        question: str | None,
        pin: str | None,
        pin_hash: bytes | str | None,
        session: bytes | str | None,
        time: int | float | None,
    ) -> str:
        """Any suite, any inputs: pack with `_body` (which does every check), HMAC, truncate."""
        context = self._new_context()
        context.update(self._body(counter, question, pin, pin_hash, session, time))
        mac = context.finalize()
        return truncate(mac, self._digits) if self._digits else mac.hex()

    def _body(
        self,
        counter: int | None,
        question: str | None,
        pin: str | None,
        pin_hash: bytes | str | None,
        session: bytes | str | None,
        time: int | float | None,
    ) -> bytes:
        """The data input after suite ‖ 00: C ‖ Q ‖ P ‖ S ‖ T, each only if the suite has it.

        This is the hot path of every response and verification, so the common cases (a
        numeric question, a stored PIN hash) are handled inline; `_question` and `_pin` take
        the other formats and every refusal.
        """
        if (
            self._numeric
            and isinstance(question, str)
            and len(question) <= self._question_max
            and question.isascii()
            and question.isdigit()  # also refuses ""
        ):
            # Reference implementation: the number in hex, left-justified in the 128-byte
            # field (an odd number of hex digits ends in half a byte, then zeros).
            number = int(question)
            nibbles = (number.bit_length() + 3) >> 2
            body = (number << ((_QUESTION_NIBBLES - nibbles) << 2)).to_bytes(_QUESTION_FIELD, "big")
        else:
            body = self._question(question)
        if self._counter_on:
            body = self._counter(counter) + body
        elif counter is not None:
            raise self._fail("the suite has no counter (C), so no counter may be given")
        if self._pin_size:
            # Fast path: a stored PIN hash of the right size (the host and a device keep one).
            if type(pin_hash) is bytes and pin is None and len(pin_hash) == self._pin_size:
                body += pin_hash
            else:
                body += self._pin(pin, pin_hash)
        elif pin is not None or pin_hash is not None:
            raise self._fail("the suite has no PIN (P..), so no PIN may be given")
        if self._session_length is not None:
            body += self._session(session, self._session_length)
        elif session is not None:
            raise self._fail("the suite has no session item (S..), so no session may be given")
        if self._step is not None:
            body += self._time(time, self._step)
        elif time is not None:
            raise self._fail("the suite has no time item (T..), so no time may be given")
        return body

    # -- the per-call inputs ---------------------------------------------------------------

    def _counter(self, counter: int | None) -> bytes:
        if counter is None:
            raise self._fail("the suite has a counter (C): give counter")
        if isinstance(counter, bool) or not isinstance(counter, int):
            raise TypeError("counter must be an int")
        if not 0 <= counter < _COUNTER_LIMIT:
            raise self._fail("counter must be 0 to 2**64-1")
        return counter.to_bytes(8, "big")

    def _question(self, question: str | None) -> bytes:
        """Alphanumeric and hex questions, and every refused question (see `_body`)."""
        if not isinstance(question, str):
            if question is None:
                raise self._fail("give the question (Q)")
            raise TypeError("question must be a str")
        if not question:
            raise self._fail("the question is empty")
        fmt = self._question_format
        if len(question) > self._question_max:
            raise self._fail(
                f"the question has {len(question)} characters; Q{fmt}"
                f"{self.suite.question_length:02d} allows at most {self._question_max} "
                "(two questions in mutual mode)"
            )
        if fmt == "N":  # a valid numeric question never gets here: `_body` encodes it
            raise self._fail("a numeric question (QN..) must be decimal digits 0-9")
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
            raise self._fail(
                f"the suite has a PIN (P{_HASH_TEXT[algorithm]}): give pin or pin_hash"
            )
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


def _numeric_fast_path(suite: OcraSuite, new_context: Callable[[], HMAC]) -> _FastPath | None:
    """The constants of the fast path for the common suites: ``[C-]QN<len>[-P<hash>]``, digits.

    The devices and the host spend their time here (DSC+ ``QN06-PSHA1`` and ``QN06``, IB Key
    ``C-QN06-PSHA1``), so for these suites `OcraCalculator.response` does as few Python
    operations per call as it can: the layout, sizes and truncation shifts are worked out
    here, once; one `struct` call packs C ‖ Q ‖ P; and the dynamic truncation of
    `firmware_model.hotp.truncate` is done inline on the digest read as one integer (the
    property test in tests/test_ocra.py holds the two paths equal). The fast path accepts only
    inputs it can prove valid (ASCII-digit questions of at most 19 digits, exact `int`
    counters in range, a `bytes` PIN hash of the right size, no unused input) and hands
    everything else — other types, every refusal — to the generic path, which checks and
    reports exactly as before. `None` when the suite has another shape (A/H questions, S, T,
    or no truncation).
    """
    if (
        suite.question_format != "N"
        or suite.session_length is not None
        or suite.time_step is not None
        or not suite.digits
    ):
        return None
    longest = min(2 * suite.question_length, _FAST_QUESTION_DIGITS)  # mutual mode: two questions
    pin_size = _DIGEST_SIZES[suite.pin_hash] if suite.pin_hash else 0
    layout = ("Q" if suite.counter else "") + f"Q{_QUESTION_FIELD - 8}x{pin_size}s"
    pack = struct.Struct(">" + layout).pack  # C (8 bytes) ‖ Q (128 bytes) ‖ P (0 if none)
    # Truncation on the digest as one big-endian integer x: the offset is its last nibble
    # (x & 15), and the 4 bytes at that offset are x shifted right by this many bits.
    at = tuple((_DIGEST_SIZES[suite.hash_name] - 4 - offset) * 8 for offset in range(16))
    digits = suite.digits
    return (longest, pin_size, suite.counter, pack, new_context, at, 10**digits, digits)


def ocra(
    suite: str,
    key: bytes,
    *,
    counter: int | None = None,
    question: str | None = None,
    pin: str | None = None,
    pin_hash: bytes | str | None = None,
    session: bytes | str | None = None,
    time: int | float | None = None,
) -> str:
    """One OCRA response (RFC 6287). For many codes with one key, use `OcraCalculator`."""
    return OcraCalculator(suite, key).response(
        counter=counter,
        question=question,
        pin=pin,
        pin_hash=pin_hash,
        session=session,
        time=time,
    )
