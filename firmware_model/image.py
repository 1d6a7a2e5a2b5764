"""Device images: one file per device holding everything it remembers.

Format (version 1): UTF-8 JSON, one object

    {"format": "slsemu-image", "version": 1, "body": {...}, "sha256": "<hex of canonical body>"}

`body` holds `model`, `serial`, `key` (hex), `suite`, `config` (fixed when the device is made:
PIN mode, limits, timeouts, battery capacity) and `state` (what changes: counters, retry counter,
lock, battery). The checksum is over the canonical JSON of `body` (sorted keys, no spaces), so a
damaged or hand-edited file is refused instead of loaded half-right. This module is pure: bytes in,
bytes out; the emulator does the atomic, fsynced, 0600 file writes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from firmware_model.bounded import loads_json
from firmware_model.errors import ImageError

IMAGE_FORMAT = "slsemu-image"
IMAGE_VERSION = 1
MAX_IMAGE_BYTES = 1 << 20
SERIAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A serial number (use `fullmatch`: `$` would let a trailing newline through)."""

JsonValue = Any
"""A JSON-compatible value (str, int, float, bool, None, list, dict)."""


@dataclass(frozen=True, slots=True)
class DeviceImage:
    """Everything one device remembers. `key` is secret: never print an image, use `summary()`."""

    model: str
    serial: str
    key: bytes = field(repr=False)
    suite: str | None = None
    config: Mapping[str, JsonValue] = field(default_factory=dict)
    state: Mapping[str, JsonValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.model or not self.model.isidentifier():
            raise ImageError(f"bad model name {self.model!r}")
        if not SERIAL_RE.fullmatch(self.serial):
            raise ImageError(f"bad serial {self.serial!r}")
        if not isinstance(self.key, bytes) or not 1 <= len(self.key) <= 128:
            raise ImageError("key must be 1 to 128 bytes")

    def __repr__(self) -> str:
        # Not the generated repr: `state` can hold per-user keys and PIN hashes (an IB Key's
        # `users[].key`, `ocra_pin_hash`), and a repr ends up in tracebacks and test output.
        return (
            f"DeviceImage(model={self.model!r}, serial={self.serial!r}, suite={self.suite!r}, "
            f"config={_without_secrets(self.config)!r}, state={_without_secrets(self.state)!r})"
        )

    def with_state(self, state: Mapping[str, JsonValue]) -> DeviceImage:
        """A copy with new durable state."""
        return DeviceImage(self.model, self.serial, self.key, self.suite, self.config, dict(state))

    def summary(self) -> dict[str, JsonValue]:
        """What `slsemu image show` prints: everything but the key and the other secret fields."""
        return {
            "format": IMAGE_FORMAT,
            "version": IMAGE_VERSION,
            "model": self.model,
            "serial": self.serial,
            "suite": self.suite,
            "key_bytes": len(self.key),
            "config": _without_secrets(self.config),
            "state": _without_secrets(self.state),
        }


SECRET_WORDS = frozenset({"key", "pin", "salt", "secret", "token", "hash", "password"})


def is_secret_name(name: str) -> bool:
    """The naming convention for secrets in `config`/`state`: a field named `key`, `pin`, `salt`…
    or ending in `_key`, `_pin`, `_salt`, `_hash`, `_token`, `_secret` (e.g. `pin_hash`) is never
    shown. `pin_failures` is not a secret and is shown."""
    last = name.lower().rsplit("_", 1)[-1]
    return last in SECRET_WORDS


def _without_secrets(values: Mapping[str, JsonValue]) -> JsonValue:
    """Drop entries whose names mark them as secret (PIN hashes, per-user keys), recursively."""
    cleaned: dict[str, JsonValue] = {}
    for name, value in values.items():
        if is_secret_name(name):
            continue
        if isinstance(value, Mapping):
            cleaned[name] = _without_secrets(value)
        elif isinstance(value, list):
            cleaned[name] = [
                _without_secrets(item) if isinstance(item, Mapping) else item
                for item in value
            ]
        else:
            cleaned[name] = value
    return cleaned


def _canonical(body: Mapping[str, JsonValue]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def encode_image(image: DeviceImage) -> bytes:
    """Serialise an image to the file format (deterministic: same image, same bytes)."""
    body = {
        "model": image.model,
        "serial": image.serial,
        "key": image.key.hex(),
        "suite": image.suite,
        "config": dict(image.config),
        "state": dict(image.state),
    }
    digest = hashlib.sha256(_canonical(body)).hexdigest()
    document = {"format": IMAGE_FORMAT, "version": IMAGE_VERSION, "body": body, "sha256": digest}
    return json.dumps(document, sort_keys=True, indent=1).encode() + b"\n"


def decode_image(data: bytes) -> DeviceImage:
    """Parse and check an image file's bytes. Raises `ImageError` with a clear reason."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError("not a device image (file too large)")
    try:
        document = loads_json(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ImageError("not a device image (not JSON)") from None
    except ValueError as exc:  # too deep, or a number of thousands of digits
        raise ImageError(f"not a device image ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != IMAGE_FORMAT:
        raise ImageError("not a device image (foreign file)")
    version = document.get("version")
    # `type(...) is int`: `true` and `1.0` compare equal to 1 but are not version 1.
    if type(version) is not int or version != IMAGE_VERSION:
        shown = repr(version) if len(repr(version)) <= 40 else "(not a number)"
        raise ImageError(
            f"unsupported image version {shown} (this build reads {IMAGE_VERSION})"
        )
    body, digest = document.get("body"), document.get("sha256")
    if not isinstance(body, dict) or not isinstance(digest, str):
        raise ImageError("damaged device image (missing body or checksum)")
    expected = hashlib.sha256(_canonical(body)).hexdigest()  # depth already bounded
    # compare_digest refuses non-ASCII str with a TypeError: compare the bytes instead.
    if not hmac.compare_digest(expected.encode(), digest.encode("utf-8", "replace")):
        raise ImageError("damaged device image (checksum mismatch)")
    try:
        key = bytes.fromhex(body["key"])
        suite = body["suite"]
        config, state = body["config"], body["state"]
        model, serial = body["model"], body["serial"]
    except (KeyError, TypeError, ValueError):
        raise ImageError("damaged device image (missing or malformed field)") from None
    if not (isinstance(config, dict) and isinstance(state, dict)):
        raise ImageError("damaged device image (config/state not objects)")
    if not (isinstance(model, str) and isinstance(serial, str)):
        raise ImageError("damaged device image (model/serial not text)")
    if suite is not None and not isinstance(suite, str):
        raise ImageError("damaged device image (suite not text)")
    return DeviceImage(model, serial, key, suite, config, state)
