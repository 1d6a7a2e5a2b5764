"""The host's serial client (docs/serial-protocol.md).

The implementation is `slsio.serial_client`: `emulator` (for `slsemu script --port`) needs the same
client and must not import `host_bridge`, so the one implementation lives in the shared I/O
package and the host bridge takes it from there. This module is the host bridge's name for it.
"""

from __future__ import annotations

from slsio.serial_client import (
    DEFAULT_BAUD,
    DEFAULT_TIMEOUT,
    AsyncSerialClient,
    ClientConfig,
    Exchange,
    SerialClient,
)

__all__ = [
    "DEFAULT_BAUD",
    "DEFAULT_TIMEOUT",
    "AsyncSerialClient",
    "ClientConfig",
    "Exchange",
    "SerialClient",
]
