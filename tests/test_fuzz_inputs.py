"""Fuzz harnesses for the files both sides read (issue 9): corrupted device images and nested
TOML. The invariant, as DESIGN.md states it: any input → a value or the documented error
(`ImageError`, `TomlError`, `UsageError`, `BridgeError`), never anything else. Bounded: a fixed
number of examples each, all in-process."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.images import load_image
from emulator.tui.keymap import parse_keymap
from firmware_model.bounded import MAX_DEPTH, depth
from firmware_model.device import ImageSpec
from firmware_model.errors import ImageError
from firmware_model.image import IMAGE_FORMAT, IMAGE_VERSION, encode_image
from firmware_model.models import load_device, new_image
from host_bridge.config import BridgeConfig
from host_bridge.errors import BridgeError
from host_bridge.services.policy_config import load_policy_config
from slsio.cli import UsageError
from slsio.toml import TomlError, parse_toml

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
SPECS = [
    ImageSpec(model="dscplus", serial="DP1", key=KEY),
    ImageSpec(model="dscplus", serial="DP2", key=KEY, pin_mode="device", pin="1234"),
    ImageSpec(model="gold", serial="GD1", key=KEY),
    ImageSpec(model="scc", serial="SC1", key=KEY),
    ImageSpec(model="dsc", serial="DS1", key=KEY, pin="1234"),
    ImageSpec(model="ibkey", serial="IB1", key=KEY, pin="1234",
              options={"username": "alice"}),
]
IMAGES = [encode_image(new_image(spec, os.urandom)) for spec in SPECS]
BIG = "9" * 5000
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.0, 2.5, 1e308, float("nan"), "", "x" * 300, [], {},
    [[[[[[]]]]]], {"a": {"b": {"c": None}}}, "@BIG@", 2**64, -(2**63) - 1,
]


def survives(data: bytes, folder: Path) -> None:
    """What a session does with an image file: read it, load the device, show it, save again."""
    path = folder / "fuzzed.img"
    path.write_bytes(data)
    path.chmod(0o600)
    with contextlib.suppress(ImageError):
        image = load_image(path)
        image.summary()
        device = load_device(image, os.urandom)
        encode_image(device.to_image())


@settings(max_examples=300, suppress_health_check=list(HealthCheck))
@given(
    index=st.integers(0, len(IMAGES) - 1),
    at=st.floats(0, 1),
    how=st.sampled_from(["truncate", "flip", "insert", "delete"]),
    junk=st.binary(min_size=1, max_size=8),
)
def test_damaged_image_bytes_give_an_image_error_or_an_image(
    tmp_path: Path, index: int, at: float, how: str, junk: bytes
) -> None:
    data = IMAGES[index]
    i = int(at * (len(data) - 1))
    if how == "truncate":
        damaged = data[:i]
    elif how == "flip":
        damaged = data[:i] + bytes([data[i] ^ (1 << (junk[0] % 8))]) + data[i + 1 :]
    elif how == "insert":
        damaged = data[:i] + junk + data[i:]
    else:
        damaged = data[:i] + data[i + len(junk) :]
    survives(damaged, tmp_path)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def with_checksum(body: dict[str, Any]) -> bytes:
    """A well-formed file around `body`: the damage is past the checksum, as a hand edit is."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    document = {"format": IMAGE_FORMAT, "version": IMAGE_VERSION, "body": body,
                "sha256": hashlib.sha256(canonical.encode()).hexdigest()}
    return json.dumps(document).replace('"@BIG@"', BIG).encode()


@settings(max_examples=400, suppress_health_check=list(HealthCheck))
@given(
    index=st.integers(0, len(IMAGES) - 1),
    choice=st.integers(0, 10_000),
    value=st.sampled_from(HOSTILE_VALUES),
    extra=st.booleans(),
)
def test_hand_edited_images_give_an_image_error_or_a_device(
    tmp_path: Path, index: int, choice: int, value: Any, extra: bool
) -> None:
    body = json.loads(IMAGES[index])["body"]
    places = [p for p in paths(body) if p]
    place = places[choice % len(places)]
    parent = body
    for step in place[:-1]:
        parent = parent[step]
    if extra and isinstance(parent, dict):
        parent["unexpected_field"] = value  # a field no build writes
    else:
        parent[place[-1]] = value
    survives(with_checksum(body), tmp_path)


# --- nested TOML ---------------------------------------------------------------------------

toml_scalar = st.sampled_from(["1", "2.5", "true", '"x"', BIG, "1979-05-27", "inf", "nan"])
toml_value = st.recursive(
    toml_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(inner, max_size=2).map(
            lambda xs: "{" + ", ".join(f"k{i} = {x}" for i, x in enumerate(xs)) + "}"
        ),
    ),
    max_leaves=20,
)


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    depth = draw(st.integers(0, 2000))
    kind = draw(st.sampled_from(["array", "table", "dotted", "value", "noise"]))
    name = draw(st.sampled_from(["keys", "lockout_after", "withdrawal_limits", "ordering", "x"]))
    if kind == "array":
        return f"{name} = " + "[" * depth + "1" + "]" * draw(st.integers(0, depth))
    if kind == "table":
        return f"{name} = " + "{a = " * depth + "1" + "}" * draw(st.integers(0, depth))
    if kind == "dotted":
        return "[" + ".".join([name] * (depth % 300 + 1)) + "]\nx = 1\n"
    if kind == "value":
        return f"{name} = {draw(toml_value)}\n"
    return draw(st.text(max_size=200))


@settings(max_examples=300, suppress_health_check=list(HealthCheck))
@given(text=toml_documents())
def test_any_toml_text_parses_within_bounds_or_is_one_toml_error(text: str) -> None:
    try:
        document = parse_toml(text, "f.toml")
    except TomlError as exc:
        assert str(exc).startswith("f.toml: bad TOML: ")
        return
    assert isinstance(document, dict) and depth(document) <= MAX_DEPTH
    with contextlib.suppress(UsageError):
        parse_keymap(text, name="fuzz")


@settings(max_examples=100, suppress_health_check=list(HealthCheck))
@given(text=toml_documents())
def test_bridge_and_policy_files_are_read_or_refused_with_one_bridge_error(
    tmp_path: Path, text: str
) -> None:
    for name, read in (("bridge.toml", BridgeConfig.load), ("policies.toml", load_policy_config)):
        (tmp_path / name).write_text(text)
        try:
            read(tmp_path)
        except BridgeError as exc:
            assert name in str(exc)
