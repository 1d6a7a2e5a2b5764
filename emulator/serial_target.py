"""`slsemu script FILE --port DEV`: a keypress script driving a device on a serial line.

`SerialScriptTarget` is the `ScriptTarget` over the one serial client (`slsio.serial_client`).
On entering it says `HELLO` (so a wrong port fails at once, before the first key) and asks
`STATE` whether the server runs a virtual clock: then `wait` becomes `CLOCK ADVANCE` and a script
gives the same displays and captures as in-process; on a real-time server `wait` really sleeps.
Then it switches the device off (`POWER OFF`, which does nothing to a device that is off): an
in-process run starts with the device just loaded, i.e. off, and a script must not depend on
what the previous user of the line left on the display (a login leaves the response showing).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from firmware_model.serial_codec import MAX_DIGITS, ErrCode, ProtocolError
from slsio.serial_client import DEFAULT_BAUD, ClientConfig, SerialClient

__all__ = ["DEFAULT_BAUD", "SerialScriptTarget"]


class SerialScriptTarget:
    """A `ScriptTarget` for the device on `port`. Use as a context manager."""

    def __init__(self, port: str, baud: int = DEFAULT_BAUD, config: ClientConfig | None = None):
        self._client = SerialClient(port, baud, config)
        self.virtual_clock = False

    @property
    def client(self) -> SerialClient:
        """The serial client underneath (for requests a script has no statement for)."""
        return self._client

    def __enter__(self) -> SerialScriptTarget:
        try:
            self._client.hello()
            self.virtual_clock = self._client.state().get("clock") == "virtual"
            self._client.power(False)
        except BaseException:
            self._client.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.close()

    def press(self, button: str) -> None:
        """Press and release `button`."""
        with _refused_by_codec():
            self._client.press(button)

    def hold(self, button: str, seconds: float) -> None:
        """Hold `button` for `seconds` (a real-time server answers when it is let go)."""
        with _refused_by_codec():
            self._client.hold(button, seconds)

    def type_digits(self, digits: str) -> None:
        """Press each digit in turn (in `TYPE` lines of at most `MAX_DIGITS` digits)."""
        with _refused_by_codec():
            for start in range(0, max(len(digits), 1), MAX_DIGITS):
                self._client.type_digits(digits[start : start + MAX_DIGITS])

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass on the device clock."""
        if self.virtual_clock:
            self._client.clock_advance(seconds)
        else:
            time.sleep(seconds)

    def read_display(self) -> str:
        """The display text now."""
        return self._client.read_display()


@contextmanager
def _refused_by_codec() -> Iterator[None]:
    """A request the codec cannot even encode (a button name with a space) is bad script input."""
    try:
        yield
    except ValueError as exc:
        raise ProtocolError(ErrCode.BADARG, str(exc)) from None
