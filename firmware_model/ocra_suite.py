"""RFC 6287 OCRA suites: the strict parser and its inverse (`OcraSuite.parse`, `OcraSuite.build`).

An OCRA suite such as ``OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1`` names three things, separated by
colons: the version (``OCRA-1``), the crypto function (``HOTP-<hash>-<digits>``) and the data
input (``[C-]Q<fmt><len>[-P<hash>][-S<nnn>][-T<n><unit>]``, in that order). `OcraSuite.parse`
turns the text into a frozen record once (cached); every malformed suite raises `SuiteError` with
a message that says what is wrong and at which character. `firmware_model.ocra` computes codes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

from firmware_model.errors import SuiteError

__all__ = ["DIGEST_SIZES", "MAX_SUITE_LENGTH", "OcraSuite"]

#: Longer text cannot be a valid suite (the longest is 46 characters); refuse it up front.
MAX_SUITE_LENGTH: Final = 128

_VERSION: Final = "OCRA-1"
_HASHES: Final = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
_HASH_TEXT: Final = {name: text for text, name in _HASHES.items()}
DIGEST_SIZES: Final = {"sha1": 20, "sha256": 32, "sha512": 64}
"""Bytes of each hash's digest (the PIN hash input, the HMAC output)."""
_DIGITS: Final = (0, 4, 5, 6, 7, 8, 9, 10)
_QUESTION_FORMATS: Final = ("A", "N", "H")
_QUESTION_MIN, _QUESTION_MAX = 4, 64
_SESSION_MAX: Final = 512  # RFC 6287 names S064, S128, S256 and S512
# Time step units: seconds per unit and the largest count the RFC allows ([1-59]S, [1-59]M,
# [0-48]H; a zero step would divide by zero, so 0H is refused).
_TIME_UNITS: Final = {"S": (1, 59), "M": (60, 59), "H": (3600, 48)}
_ORDER: Final = "CQPST"


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
