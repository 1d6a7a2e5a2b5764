"""The device image format: deterministic, integrity-checked, refuses foreign or damaged files."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_model.errors import ImageError
from firmware_model.image import IMAGE_VERSION, DeviceImage, decode_image, encode_image

KEY = bytes(range(20))


def sample() -> DeviceImage:
    return DeviceImage(
        model="dscplus",
        serial="DP0123456789",
        key=KEY,
        suite="OCRA-1:HOTP-SHA1-8:QN06-PSHA1",
        config={"pin_mode": "soft", "auto_off_seconds": 30},
        state={"pin_failures": 0, "pin_hash": "ab" * 16, "battery_used": 12},
    )


def test_round_trip_is_exact_and_deterministic() -> None:
    image = sample()
    data = encode_image(image)
    assert decode_image(data) == image
    assert encode_image(decode_image(data)) == data


def test_repr_and_summary_never_show_secrets() -> None:
    image = sample()
    text = repr(image) + json.dumps(image.summary())
    assert KEY.hex() not in text
    assert "pin_hash" not in json.dumps(image.summary())
    assert "ab" * 16 not in repr(image) and "battery_used" in repr(image)
    assert image.summary()["state"] == {"pin_failures": 0, "battery_used": 12}


def test_repr_hides_secrets_nested_in_state() -> None:
    user_key = bytes(range(100, 120)).hex()
    image = DeviceImage(
        "ibkey",
        "IK1",
        KEY,
        state={"users": [{"username": "alice", "key": user_key}], "ocra_pin_hash": "cd" * 20},
    )
    assert user_key not in repr(image) and "cd" * 20 not in repr(image)
    assert "alice" in repr(image)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "foreign"),
        (b'{"format": "something-else"}', "foreign"),
        (b'{"format": "slsemu-image", "version": 99}', "unsupported image version"),
        (b'{"format": "slsemu-image", "version": 1}', "missing body"),
        (b"[" * 100_000, "nested too deeply"),
        (  # a non-ASCII checksum (compare_digest would raise TypeError on the str)
            b'{"format": "slsemu-image", "version": 1, "body": {}, "sha256": "\\u00e9\\ud800"}',
            "checksum mismatch",
        ),
        (b'{"format": "slsemu-image", "version": 1, "body": ' + b"[" * 100_000, "nested too"),
    ],
)
def test_foreign_or_broken_files_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        decode_image(data)


def test_a_changed_byte_in_the_body_is_detected() -> None:
    document = json.loads(encode_image(sample()))
    document["body"]["state"]["pin_failures"] = 0 + 1  # a hand edit that resets nothing but lies
    with pytest.raises(ImageError, match="checksum mismatch"):
        decode_image(json.dumps(document).encode())


def test_a_consistent_but_malformed_body_is_refused() -> None:
    import hashlib

    body = {"model": "dscplus", "serial": "DP1", "key": "zz", "suite": None}
    body |= {"config": {}, "state": {}}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    document = {
        "format": "slsemu-image",
        "version": IMAGE_VERSION,
        "body": body,
        "sha256": hashlib.sha256(canonical).hexdigest(),
    }
    with pytest.raises(ImageError, match="malformed"):
        decode_image(json.dumps(document).encode())


def test_bad_fields_are_refused_at_construction() -> None:
    with pytest.raises(ImageError):
        DeviceImage(model="not a model", serial="X1", key=KEY)
    with pytest.raises(ImageError):
        DeviceImage(model="dscplus", serial="has space", key=KEY)
    with pytest.raises(ImageError):  # a newline would break every line that names the serial
        DeviceImage(model="dscplus", serial="DP1\n", key=KEY)
    with pytest.raises(ImageError):
        DeviceImage(model="dscplus", serial="X1", key=b"")


@settings(max_examples=150)
@given(st.binary(max_size=400))
def test_any_bytes_decode_or_raise_image_error(data: bytes) -> None:
    with contextlib.suppress(ImageError):
        decode_image(data)


@settings(max_examples=150)
@given(
    st.integers(min_value=0, max_value=len(encode_image(sample())) - 1),
    st.integers(min_value=1, max_value=255),
)
def test_any_single_byte_corruption_is_refused_or_harmless(position: int, flip: int) -> None:
    data = bytearray(encode_image(sample()))
    data[position] ^= flip
    try:
        decoded = decode_image(bytes(data))
    except ImageError:
        return
    # Only changes outside the checked body (e.g. JSON whitespace) may survive, and then the
    # image read back must be exactly the one written.
    assert decoded == sample()
