"""Device secrets opened with the master key, cached per process (bounded).

Each cache is keyed by the sealed value, so a re-keyed row misses. Purposes bind a sealed value
to what it is (`host_bridge.masterkey`).
"""

from __future__ import annotations

import hashlib
from typing import Final, Protocol

from firmware_model.ocra import OcraCalculator
from host_bridge.masterkey import MasterKey

PURPOSE_KEY: Final = "key"
PURPOSE_PIN: Final = "pin"
PURPOSE_SMS: Final = "sms"
KEY_CACHE_SIZE: Final = 1024


class SealedDevice(Protocol):
    @property
    def serial(self) -> str: ...
    @property
    def key_enc(self) -> bytes: ...
    @property
    def pin_enc(self) -> bytes | None: ...
    @property
    def suite(self) -> str | None: ...


class Keyring:
    """Opened keys, OCRA key schedules and PIN hashes of one process."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, bytes], bytes] = {}
        self._calculators: dict[tuple[str, bytes, str], OcraCalculator] = {}
        self._pin_hashes: dict[tuple[str, bytes], bytes] = {}

    def key(self, master: MasterKey, record: SealedDevice) -> bytes:
        """The device key, decrypted."""
        cached = self._keys.get((record.serial, record.key_enc))
        if cached is None:
            cached = master.open(PURPOSE_KEY, record.serial, record.key_enc)
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.clear()
                self._calculators.clear()
            self._keys[(record.serial, record.key_enc)] = cached
        return cached

    def calculator(self, record: SealedDevice, key: bytes) -> OcraCalculator:
        """An OCRA calculator for the device (key schedule set up once per process)."""
        assert record.suite is not None
        slot = (record.serial, record.key_enc, record.suite)
        calculator = self._calculators.get(slot)
        if calculator is None:
            calculator = OcraCalculator(record.suite, key)
            self._calculators[slot] = calculator
        return calculator

    def pin_hash(
        self, master: MasterKey, record: SealedDevice, calculator: OcraCalculator
    ) -> bytes | None:
        """The PIN hashed as the suite's P asks (cached per sealed PIN), or None without one."""
        algorithm = calculator.suite.pin_hash
        if record.pin_enc is None or algorithm is None:
            return None
        slot = (record.serial, record.pin_enc)
        cached = self._pin_hashes.get(slot)
        if cached is None:
            pin = master.open(PURPOSE_PIN, record.serial, record.pin_enc)
            cached = hashlib.new(algorithm, pin).digest()
            if len(self._pin_hashes) >= KEY_CACHE_SIZE:
                self._pin_hashes.clear()
            self._pin_hashes[slot] = cached
        return cached
