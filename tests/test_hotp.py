"""HOTP (RFC 4226) and TOTP (RFC 6238): the RFC vectors, the truncation OCRA shares, misuse."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model import hotp as hotp_module
from firmware_model import ocra as ocra_module
from firmware_model.hotp import KeyedHmac, hotp, time_step, totp, truncate
from tests.vector_file import load_vectors

HOTP_VECTORS = load_vectors("hotp/rfc4226.txt")
TOTP_VECTORS = load_vectors("totp/rfc6238.txt")


def test_vector_files_are_complete() -> None:
    assert len(HOTP_VECTORS) == 10  # RFC 4226 Appendix D: counts 0-9
    assert len(TOTP_VECTORS) == 18  # RFC 6238 Appendix B: 6 times x 3 modes


@pytest.mark.parametrize("vector", HOTP_VECTORS, ids=lambda v: f"count{v['COUNT']}")
def test_rfc4226_appendix_d(vector: dict[str, str]) -> None:
    key = bytes.fromhex(vector["SECRET"])
    counter = int(vector["COUNT"])
    mac = KeyedHmac(key).digest(counter.to_bytes(8, "big"))
    assert mac.hex() == vector["HMAC"]
    # 10 digits show the whole 31-bit truncated number (Table 2).
    assert int(truncate(mac, 10)) == int(vector["TRUNCATED"]) == int(vector["TRUNCATED_HEX"], 16)
    assert hotp(key, counter) == vector["HOTP"]


@pytest.mark.parametrize("vector", TOTP_VECTORS, ids=lambda v: f"{v['TIME']}-{v['MODE']}")
def test_rfc6238_appendix_b(vector: dict[str, str]) -> None:
    key = vector["SECRET"].encode("ascii")
    time = int(vector["TIME"])
    algorithm = vector["MODE"].lower()
    assert time_step(time, 30, 0) == int(vector["T"], 16)
    assert totp(key, time, digits=8, algorithm=algorithm) == vector["TOTP"]
    # A float time inside the same step gives the same code.
    assert (
        totp(key, time + 0.5 if time % 30 != 29 else time - 0.5, digits=8, algorithm=algorithm)
        == (vector["TOTP"])
    )


def test_ocra_uses_the_same_truncation() -> None:
    # One implementation: the OCRA module imports the very function object HOTP uses.
    assert vars(ocra_module)["truncate"] is hotp_module.truncate


@settings(max_examples=100)
@given(
    key=st.binary(min_size=1, max_size=200),
    message=st.binary(max_size=300),
    algorithm=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_keyed_hmac_is_hmac(key: bytes, message: bytes, algorithm: str) -> None:
    # Keys longer than the block size are hashed first (RFC 2104); max_size covers both cases.
    assert KeyedHmac(key, algorithm).digest(message) == hmac.digest(key, message, algorithm)


def test_keyed_hmac_repr_hides_the_key() -> None:
    assert "3132" not in repr(KeyedHmac(b"12345678901234567890"))
    assert "1234" not in repr(KeyedHmac(b"12345678901234567890"))


@settings(max_examples=100)
@given(mac=st.binary(min_size=20, max_size=64), digits=st.integers(1, 10))
def test_truncate_has_exactly_the_digits(mac: bytes, digits: int) -> None:
    code = truncate(mac, digits)
    assert len(code) == digits and code.isdigit()
    offset = mac[-1] & 0x0F  # RFC 4226 section 5.3, written out independently
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    assert int(code) == number % 10**digits


def test_digits_follow_the_rfcs() -> None:
    key = b"12345678901234567890"
    assert hotp(key, 0, digits=8) == "84755224"  # 1284755224 from Appendix D, 8 digits
    assert hotp(key, 0, digits=10) == "1284755224"
    for bad in (5, 11, 0):
        with pytest.raises(ValueError, match="digits"):
            hotp(key, 0, digits=bad)
    with pytest.raises(ValueError, match="digits"):
        truncate(b"\0" * 20, 11)


def test_sha256_hotp_matches_the_definition() -> None:
    key = b"k" * 32
    mac = hmac.new(key, (5).to_bytes(8, "big"), hashlib.sha256).digest()
    assert hotp(key, 5, algorithm="sha256") == truncate(mac, 6)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: hotp(b"k", -1), ValueError),
        (lambda: hotp(b"k", 2**64), ValueError),
        (lambda: hotp(b"k", True), TypeError),
        (lambda: hotp(b"", 0), ValueError),
        (lambda: hotp(b"k", 0, algorithm="md5"), ValueError),
        (lambda: hotp("k", 0), TypeError),  # type: ignore[arg-type]
        (lambda: totp(b"k", -1), ValueError),
        (lambda: totp(b"k", float("nan")), ValueError),
        (lambda: totp(b"k", float("inf")), ValueError),
        (lambda: totp(b"k", 100, step=0), ValueError),
        (lambda: totp(b"k", 100, t0=200), ValueError),
        (lambda: time_step("100", 30, 0), TypeError),  # type: ignore[arg-type]
    ],
)
def test_misuse_is_refused(call: object, error: type[Exception]) -> None:
    assert callable(call)
    with pytest.raises(error):
        call()


def test_time_step_with_t0_and_large_times() -> None:
    assert time_step(100, 30, 40) == 2
    assert time_step(2**62 + 29, 30, 0) == (2**62 + 29) // 30  # exact, no float rounding
    assert time_step(59.999, 30, 0) == 1


@settings(max_examples=50)
@given(
    key=st.binary(min_size=1, max_size=80),
    prefix=st.binary(max_size=100),
    message=st.binary(max_size=200),
    algorithm=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_prefixed_hmac_absorbs_the_prefix(
    key: bytes, prefix: bytes, message: bytes, algorithm: str
) -> None:
    keyed = KeyedHmac(key, algorithm).prefixed(prefix)
    expected = hmac.digest(key, prefix + message, algorithm)
    assert keyed.digest(message) == expected
    context = keyed.new_context()
    context.update(message)
    assert context.finalize() == expected
    assert keyed.digest(message) == expected  # the template is never consumed
