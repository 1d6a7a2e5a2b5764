"""Get a login response from a device on a serial line (`slsbridge login --via DEV`).

`DeviceLine(port, baud)` opens the port and identifies the device (`HELLO`);
`DeviceLine.respond(model, challenge, pin)` — or `obtain_response(port, model, challenge, pin,
baud)`, both in one — does what the user would do on the card:
switch it off and on (a known starting screen), enter the PIN, enter the challenge, read the
answer. Each model has its own key sequence (`_SEQUENCES`, data rather than `if` chains):

    dscplus, gold, platinum   POWER → `PIN>` → PIN, OK → `CHALLNG>` → challenge, OK → response
    dscplus_classic           POWER → `Pn` → PIN, OK → `Ch` → challenge, OK → the first 5
                              digits; OK → the last 3 (read by length: the card also toggles
                              by itself every 10 s)
    ibkey                     POWER → `<user> challenge:` → challenge, OK → `<user> PIN:` → PIN,
                              OK → `Response: NNNNNNNN`
    dsc (legacy)              POWER → `[ ]` → PIN, OK → 6-digit passcode (no challenge)
    scc                       the challenge names two cells ("17 201"); for each: the index, OK,
                              read `17 A3D`; the response is the two codes side by side

Errors: `ProtocolError` (an `SlsError`, exit 2) when the line fails (timeout, `ERR` reply, an
unexpected screen, the wrong model on the line); `InvalidToken` (exit 1) when the device itself
refuses (a wrong PIN on a device that checks it, a locked device). No message carries the PIN or
the response.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from firmware_model.dscplus import DscPlus
from firmware_model.dscplus import State as CardState
from firmware_model.dscplus_classic import FIRST_PART_DIGITS, RESPONSE_DIGITS, DscPlusClassic
from firmware_model.errors import InvalidToken
from firmware_model.serial_codec import ErrCode, ProtocolError
from slsio.serial_client import DEFAULT_BAUD, ClientConfig, SerialClient

DEFAULT_CONFIG: Final = ClientConfig(timeout=3.0, retries=1)
"""Reads are retried once on a noisy line; key presses never are."""
NOTICE_DISMISS_LIMIT: Final = 3
"""Most notices (`BATT LOW`...) dismissed with OK before the PIN prompt must show."""

_REFUSED: Final = re.compile(r"(FAIL \d+|LOCK PIN|LOCKED|WAIT \d+M|Wrong PIN.*|PIN locked.*)")
_DIGITS: Final = re.compile(r"\d+")


def _screen_error(expected: str) -> ProtocolError:
    return ProtocolError(
        ErrCode.BADREPLY, f"the device did not show the {expected} screen when expected"
    )


def _check(display: str, pattern: re.Pattern[str], expected: str) -> re.Match[str]:
    if _REFUSED.fullmatch(display):
        raise InvalidToken("the device refused the PIN or is locked")
    match = pattern.fullmatch(display)
    if match is None:
        raise _screen_error(expected)
    return match


def _digits(text: str | None, what: str, lengths: tuple[int, ...]) -> str:
    if text is None or not _DIGITS.fullmatch(text) or len(text) not in lengths:
        shown = " or ".join(str(n) for n in lengths)
        raise ProtocolError(ErrCode.BADARG, f"the {what} must be {shown} digits")
    return text


def _fresh_start(client: SerialClient) -> str:
    """Off and on again, so every login starts from the home screen; returns the display."""
    client.power(False)
    client.power(True)
    return client.read_display()


@dataclass(frozen=True, slots=True)
class _CardScreens:
    """What a challenge/response card shows: its two prompts and the response's parts (their
    digit counts; OK shows the next part)."""

    pin: str
    challenge: str
    parts: tuple[int, ...]


_CURRENT_CARD: Final = _CardScreens(
    DscPlus.prompts[CardState.PIN], DscPlus.prompts[CardState.CHALLENGE], (8,)
)
_CLASSIC_CARD: Final = _CardScreens(
    DscPlusClassic.prompts[CardState.PIN],
    DscPlusClassic.prompts[CardState.CHALLENGE],
    (FIRST_PART_DIGITS, RESPONSE_DIGITS - FIRST_PART_DIGITS),
)


def _card(
    client: SerialClient,
    challenge: str | None,
    pin: str | None,
    challenge_digits: int,
    screens: _CardScreens = _CURRENT_CARD,
) -> str:
    pin = _digits(pin, "PIN", (4,))
    challenge = _digits(challenge, "challenge", (challenge_digits,))
    display = _fresh_start(client)
    for _ in range(NOTICE_DISMISS_LIMIT):
        if display.startswith(screens.pin):
            break
        if _REFUSED.fullmatch(display):
            break
        client.press("OK")  # a notice such as BATT LOW
        display = client.read_display()
    _check(display, re.compile(re.escape(screens.pin)), screens.pin)
    client.type_digits(pin)
    client.press("OK")
    _check(client.read_display(), re.compile(re.escape(screens.challenge)), screens.challenge)
    client.type_digits(challenge)
    client.press("OK")
    return _read_parts(client, screens.parts)


def _read_parts(client: SerialClient, parts: tuple[int, ...]) -> str:
    """The response shown in `parts` (digit counts, told apart by length); OK shows the next.
    A card that also toggles by itself may show a part twice: a few more reads are allowed."""
    seen: dict[int, str] = {}
    pattern = re.compile("|".join(rf"\d{{{n}}}" for n in sorted(set(parts), reverse=True)))
    for attempt in range(2 * len(parts) + 1):
        if attempt:
            client.press("OK")
        shown = _check(client.read_display(), pattern, "response").group(0)
        seen[len(shown)] = shown
        if len(seen) == len(parts):
            return "".join(seen[n] for n in parts)
    raise _screen_error("response")


def _dscplus(client: SerialClient, challenge: str | None, pin: str | None) -> str:
    return _card(client, challenge, pin, 6)


def _dscplus_classic(client: SerialClient, challenge: str | None, pin: str | None) -> str:
    return _card(client, challenge, pin, 6, _CLASSIC_CARD)


def _platinum(client: SerialClient, challenge: str | None, pin: str | None) -> str:
    return _card(client, challenge, pin, 8)


def _ibkey(client: SerialClient, challenge: str | None, pin: str | None) -> str:
    challenge = _digits(challenge, "challenge", (6,))
    pin = _digits(pin, "PIN (digits only over a serial line)", (4, 5, 6))
    _check(_fresh_start(client), re.compile(r".+ challenge: ?\d*_?"), "challenge")
    client.type_digits(challenge)
    client.press("OK")
    _check(client.read_display(), re.compile(r".+ PIN: ?\**"), "PIN")
    client.type_digits(pin)
    client.press("OK")
    return _check(client.read_display(), re.compile(r"Response: (\d{8})"), "response").group(1)


def _legacy_dsc(client: SerialClient, challenge: str | None, pin: str | None) -> str:
    if challenge:
        raise ProtocolError(ErrCode.BADARG, "a legacy DSC takes no challenge")
    pin = _digits(pin, "PIN", (4,))
    _check(_fresh_start(client), re.compile(r"\[ \]"), "PIN")
    client.type_digits(pin)
    client.press("OK")
    return _check(client.read_display(), re.compile(r"\d{6}"), "passcode").group(0)


def _scc(client: SerialClient, challenge: str | None, pin: str | None) -> str:
    indices = _DIGITS.findall(challenge or "")
    if len(indices) != 2:
        raise ProtocolError(ErrCode.BADARG, "an SCC challenge names two cell indices")
    _check(_fresh_start(client), re.compile(r"INDEX>"), "INDEX>")
    codes = []
    for index in indices:
        client.type_digits(index)
        client.press("OK")
        cell = re.compile(rf"0*{int(index)} ([0-9A-Z]{{3}})")
        codes.append(_check(client.read_display(), cell, "cell").group(1))
        client.press("BACK")
    return "".join(codes)


Sequence = Callable[[SerialClient, str | None, str | None], str]
_SEQUENCES: Final[Mapping[str, Sequence]] = MappingProxyType(
    {
        "dscplus": _dscplus,
        "dscplus_classic": _dscplus_classic,
        "gold": _dscplus,
        "platinum": _platinum,
        "ibkey": _ibkey,
        "dsc": _legacy_dsc,
        "scc": _scc,
    }
)


def _sequence(model: str) -> Sequence:
    sequence = _SEQUENCES.get(model)
    if sequence is None:
        raise ProtocolError(ErrCode.UNSUPPORTED, f"no serial login sequence for model {model!r}")
    return sequence


class DeviceLine:
    """An open serial line to an identified device: the port is opened and the device answers
    `HELLO` on construction (an `OSError` or `ProtocolError` otherwise, and nothing stays open).

    `slsbridge login --via` opens it before the host issues a challenge, so a port that cannot
    be opened, or the wrong device on it, costs no challenge.
    """

    def __init__(
        self, port: str, baud: int = DEFAULT_BAUD, *, config: ClientConfig | None = None
    ) -> None:
        self.port = port
        self._client = SerialClient(port, baud, config or DEFAULT_CONFIG)
        try:
            self.hello = self._client.hello()
        except BaseException:
            self._client.close()
            raise

    def check(self, model: str, serial: str | None = None) -> None:
        """`ProtocolError` unless the device on the line is a `model` (and has `serial`)."""
        _sequence(model)
        if self.hello.model != model:
            raise ProtocolError(
                ErrCode.BADREPLY,
                f"the device on {self.port} is a {self.hello.model}, expected a {model}",
            )
        if serial is not None and self.hello.serial != serial:
            raise ProtocolError(
                ErrCode.BADREPLY,
                f"the device on {self.port} is {self.hello.serial}, expected {serial}",
            )

    def respond(self, model: str, challenge: str | None, pin: str | None) -> str:
        """Drive the device through a login (it must be a `model`); the code it shows."""
        self.check(model)
        return _sequence(model)(self._client, challenge, pin)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DeviceLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def obtain_response(
    port: str,
    model: str,
    challenge: str | None,
    pin: str | None,
    baud: int = DEFAULT_BAUD,
    *,
    config: ClientConfig | None = None,
) -> str:
    """Open `port`, drive the `model` device on it through a login and return the code it shows.

    `config` (timeouts, retries) defaults to `DEFAULT_CONFIG`.
    """
    _sequence(model)  # an unsupported model: refused before the port is opened
    with DeviceLine(port, baud, config=config) as line:
        return line.respond(model, challenge, pin)
