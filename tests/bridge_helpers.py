"""Shared helpers for the host bridge tests: a fake clock and a quick-to-open bridge."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from firmware_model.dscplus_classic import DscPlusClassic
from firmware_model.image import DeviceImage, decode_image
from firmware_model.models import load_device
from firmware_model.ocra import ocra
from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from host_bridge.config import BridgeConfig
from host_bridge.db.schema import metadata
from host_bridge.domain import DeviceRecord
from host_bridge.repos import challenges, devices, withdrawals

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
    """Press the keys of a real (emulated) card: POWER, PIN, OK, challenge, OK; read the display
    (the older DSC+ generation shows 5 digits: OK, then read the last 3)."""
    device = load_device(image, lambda n: bytes(n))
    device.press("POWER", now)
    device.type_digits(pin, now)
    device.press("OK", now)
    device.type_digits(challenge, now)
    reaction = device.press("OK", now)
    if isinstance(device, DscPlusClassic):
        return reaction.display + device.press("OK", now).display
    return reaction.display.strip()


def device_answer(image_path: Path, text: str, now: float, pin: str = "1234") -> str:
    """What the emulated device of `image_path` answers to challenge `text`: a DSC+ through its
    keys (soft PIN `pin`), an SCC from its cells, an OCRA app (IB Key) from its key."""
    image = read_image(image_path)
    if image.model == "dscplus":
        return dscplus_response(image, pin, text, now)
    if image.model in ("scc", "online_scc"):
        first, second = map(int, text.split())
        return scc_response(image.key, first, second)
    counter = int(image.state.get("counter", 0))
    suite = image.suite or ""
    return ocra(suite, image.key, counter=counter, question=text,
                pin=pin if "P" in suite.rsplit(":", 1)[-1] else None)


def stored_device(bridge: Bridge, serial: str) -> DeviceRecord:
    """The device row as the store has it (through its repository)."""
    with bridge.db.read() as tx:
        return devices.get(tx, serial)


def set_device(bridge: Bridge, serial: str, now: float, **changes: object) -> None:
    """Change a device row directly (an administrator's or another process's doing)."""
    with bridge.db.transaction() as tx:
        devices.update_device(tx, serial, now, **changes)


def withdrawal_totals(bridge: Bridge) -> tuple[int, int]:
    """(count, sum of cents) of the withdrawal ledger."""
    with bridge.db.read() as tx:
        return withdrawals.totals(tx)


def challenge_count(bridge: Bridge) -> int:
    with bridge.db.read() as tx:
        return challenges.count(tx)


def store_dump(bridge: Bridge) -> str:
    """Every row of the store, one line each, BLOBs in hex (to look for a secret in it); the
    same on both engines."""
    lines = []
    with bridge.db.read() as tx:
        for table in metadata.sorted_tables:
            for row in tx.conn.execute(select(table)):
                values = (v.hex() if isinstance(v, bytes | memoryview) else repr(v) for v in row)
                lines.append(f"{table.name}: " + ", ".join(values))
    return "\n".join(lines)
