"""Shared helpers for the host bridge tests: a fake clock and a quick-to-open bridge."""

from __future__ import annotations

from pathlib import Path

from firmware_model.image import DeviceImage, decode_image
from firmware_model.models import load_device
from host_bridge.service import Bridge, BridgeConfig

START = 1_800_000_000.0
FAST = BridgeConfig(scrypt_n=1 << 8)
"""Cheap scrypt: tests check behaviour, not password-cracking cost."""


class FakeClock:
    """A clock tests move by hand (no sleeping)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def open_bridge(home: Path, clock: FakeClock, config: BridgeConfig = FAST) -> Bridge:
    """A bridge on `home`, initialised."""
    bridge = Bridge.open(home, clock, config=config)
    bridge.init()
    return bridge


def read_image(path: Path) -> DeviceImage:
    return decode_image(path.read_bytes())


def dscplus_response(image: DeviceImage, pin: str, challenge: str, now: float) -> str:
    """Press the keys of a real (emulated) card: POWER, PIN, OK, challenge, OK; read the display."""
    device = load_device(image, lambda n: bytes(n))
    device.press("POWER", now)
    device.type_digits(pin, now)
    device.press("OK", now)
    device.type_digits(challenge, now)
    reaction = device.press("OK", now)
    return reaction.display.strip()
