"""The interactive login (`slsbridge login`): password, "Select Second Factor Device", challenge,
response, result — the broker's login screen in a terminal.

Theory of operation: `run_login` drives the steps through a small `LoginIO` (ask / ask_secret /
say), so the CLI, the TUI and tests share one flow. The response comes from the person at the
keyboard, or — with `via` — from an emulated device over a serial line (`SerialSource` over
`host_bridge.serial_login.DeviceLine`, imported only when used). The line is opened and the
device identified before the login starts, and checked against the chosen device before the
challenge is issued: a port that cannot be opened, or the wrong device on it, costs no
challenge. Every step is audited by
the `Bridge` it calls; the result is a `LoginResult`, never an exit code.

    PASSWORD --wrong--> refused
    PASSWORD --right, fully opted out--> accepted (no second factor)
    PASSWORD --right--> SELECT (skipped with one device or `device=`) --> CHALLENGE --> RESPONSE
    RESPONSE --verify--> accepted | refused
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from host_bridge.bridge import Bridge
from host_bridge.domain import WRONG_LOGIN, ChallengeKind
from host_bridge.errors import BridgeError
from host_bridge.policies.devices import display_name
from host_bridge.policies.optout import NO_SECOND_FACTOR
from host_bridge.services.devices import DeviceInfo
from host_bridge.verification import Challenge


class LoginIO(Protocol):
    """Where the login reads answers and shows text."""

    def ask(self, prompt: str) -> str: ...

    def ask_secret(self, prompt: str) -> str: ...

    def say(self, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LoginResult:
    """How a login ended. `reason` is safe to show; `serial` is the device used, if any."""

    accepted: bool
    reason: str
    serial: str | None = None


class ResponseSource(Protocol):
    """Where the response comes from when the person does not type it (a device on a line)."""

    def ready(self, device: DeviceInfo) -> None:
        """Raise unless a response for `device` can be had: called before the challenge is
        issued, so a source that cannot answer costs no challenge."""

    def respond(self, device: DeviceInfo, challenge: Challenge) -> str:
        """The response to `challenge` from `device`."""


def prompt_for(kind: ChallengeKind, text: str) -> str:
    """What the login screen asks for a challenge of `kind`."""
    if kind is ChallengeKind.OCRA:
        return f"Challenge: {text}\nResponse: "
    if kind is ChallengeKind.SCC_CELLS:
        first, second = text.split()
        return f"Enter the codes of cells {first} and {second} (no space): "
    if kind is ChallengeKind.TIME_PASSCODE:
        return "Passcode shown on your card: "
    if kind is ChallengeKind.SMS_CODE:
        return "Code sent to your phone: "
    raise ValueError(f"unknown challenge kind {kind!r}")


def select_device(devices: list[DeviceInfo], io: LoginIO, wanted: str | None) -> DeviceInfo:
    """Pick the device: `wanted` (a serial), the only one, or ask (number or serial)."""
    if wanted is not None:
        for device in devices:
            if device.serial == wanted:
                return device
        raise BridgeError(f"device {wanted} is not an active device of this user")
    if len(devices) == 1:
        return devices[0]
    io.say("Select Second Factor Device")
    for number, device in enumerate(devices, start=1):
        io.say(f"  {number}) {display_name(device.model)} {device.serial}")
    answer = io.ask("Device: ").strip()
    for number, device in enumerate(devices, start=1):
        if answer in (str(number), device.serial):
            return device
    raise BridgeError(f"no device {answer!r} in the list")


class SerialSource:
    """A response source over a serial line: the port is opened and the device identified
    (`host_bridge.serial_login.DeviceLine`) when this is made, before any host step; `ready`
    checks it is the chosen device. Close it (or use `with`)."""

    def __init__(self, port: str, pin: str | None, baud: int | None = None) -> None:
        try:
            from host_bridge.serial_login import DeviceLine
        except ModuleNotFoundError as missing:  # pyserial is not installed
            raise BridgeError(f"--via needs the module {missing.name}, not installed") from None
        self._pin = pin
        self._line = DeviceLine(port) if baud is None else DeviceLine(port, baud)

    def ready(self, device: DeviceInfo) -> None:
        self._line.check(device.model, device.serial)

    def respond(self, device: DeviceInfo, challenge: Challenge) -> str:
        return str(self._line.respond(device.model, challenge.text, self._pin))

    def close(self) -> None:
        self._line.close()

    def __enter__(self) -> SerialSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_login(
    bridge: Bridge,
    user: str,
    io: LoginIO,
    *,
    password: str | None = None,
    device: str | None = None,
    source: ResponseSource | None = None,
) -> LoginResult:
    """One whole login. Bad input (unknown device choice) raises `BridgeError`."""
    if password is None:
        password = io.ask_secret("Password: ")
    if not bridge.check_password(user, password):
        return LoginResult(False, WRONG_LOGIN)
    if bridge.password_is_enough(user):  # fully opted out: no challenge at all
        return LoginResult(True, NO_SECOND_FACTOR)
    devices = bridge.devices(user)
    if not devices:
        return LoginResult(False, "no active second factor device")
    chosen = select_device(devices, io, device)
    if source is not None:
        source.ready(chosen)  # the wrong device on the line: no challenge issued
    challenge = bridge.issue_challenge(chosen.serial)
    prompt = prompt_for(challenge.kind, challenge.text)
    if source is not None:
        io.say(prompt.rstrip())
        response = source.respond(chosen, challenge)
        io.say(f"(from the device) {'*' * len(response)}")
    else:
        response = io.ask(prompt)
    verdict = bridge.verify(chosen.serial, challenge.id, response)
    return LoginResult(verdict.accepted, verdict.reason, chosen.serial)
