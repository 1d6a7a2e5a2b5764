"""The interactive login (`slsbridge login`): password, "Select Second Factor Device", challenge,
response, result — the broker's login screen in a terminal.

Theory of operation: `run_login` drives the steps through a small `LoginIO` (ask / ask_secret /
say), so the CLI, the TUI and tests share one flow. The response comes from the person at the
keyboard, or — with `via` — from an emulated device over a serial line
(`host_bridge.serial_login.obtain_response`, imported only when used). Every step is audited by
the `Bridge` it calls; the result is a `LoginResult`, never an exit code.

    PASSWORD --wrong--> refused
    PASSWORD --right, fully opted out--> accepted (no second factor)
    PASSWORD --right--> SELECT (skipped with one device or `device=`) --> CHALLENGE --> RESPONSE
    RESPONSE --verify--> accepted | refused
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from host_bridge.bridge import Bridge
from host_bridge.domain import ChallengeKind
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


ResponseSource = Callable[[DeviceInfo, Challenge], str]


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


def serial_source(port: str, pin: str | None, baud: int | None = None) -> ResponseSource:
    """A response source that asks an emulated device on `port` (the serial client's
    `obtain_response`; `baud` None means its default)."""
    try:
        module = importlib.import_module("host_bridge.serial_login")
    except ModuleNotFoundError:
        raise BridgeError("--via needs host_bridge.serial_login, which is not installed") from None
    obtain = getattr(module, "obtain_response", None)
    if obtain is None:
        raise BridgeError("host_bridge.serial_login has no obtain_response")

    def source(device: DeviceInfo, challenge: Challenge) -> str:
        if baud is None:
            return str(obtain(port, device.model, challenge.text, pin))
        return str(obtain(port, device.model, challenge.text, pin, baud))

    return source


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
        return LoginResult(False, "wrong user name or password")
    if bridge.password_is_enough(user):  # fully opted out: no challenge at all
        return LoginResult(True, NO_SECOND_FACTOR)
    devices = bridge.devices(user)
    if not devices:
        return LoginResult(False, "no active second factor device")
    chosen = select_device(devices, io, device)
    challenge = bridge.issue_challenge(chosen.serial)
    prompt = prompt_for(challenge.kind, challenge.text)
    if source is not None:
        io.say(prompt.rstrip())
        response = source(chosen, challenge)
        io.say(f"(from the device) {'*' * len(response)}")
    else:
        response = io.ask(prompt)
    verdict = bridge.verify(chosen.serial, challenge.id, response)
    return LoginResult(verdict.accepted, verdict.reason, chosen.serial)
