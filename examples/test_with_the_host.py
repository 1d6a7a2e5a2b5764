"""The examples that need the host: the bridge issues the challenge and checks the answer.

Run with the rest: `pytest examples/` (the plugin's fixtures need no import). The `.sls` files
beside this one show the device side alone; here the same scripts meet `slsbridge`'s Python API.
Each test runs on an in-process device, on one served over a serial line (a pty) and through the
headless terminal app's keymap; the push and the login pane are in test_in_the_tui.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.pytest_plugin.devices import TuiDevice
from firmware_model.events import PushApproved

HERE = Path(__file__).parent
PIN = "1234"


@pytest.fixture(params=["inprocess", "serial", "tui"])
def open_device(request: pytest.FixtureRequest, sls_bridge: Any, sls_serial_pair: Any) -> Any:
    """Open a provisioned device on the transport of this run (each has `run(text, **vars)`)."""

    def open_(provisioned: Any) -> Any:
        if request.param == "inprocess":
            return sls_bridge.device(provisioned)
        if request.param == "serial":
            return sls_serial_pair(image=provisioned.image_path, clock=None)
        return TuiDevice(provisioned.image_path)

    return open_


def test_dscplus_soft_pin_login_is_accepted(
    sls_bridge: Any, open_device: Callable[..., Any]
) -> None:
    sls_bridge.add_user("alice")
    card = sls_bridge.provision("alice", "dscplus", pin=PIN)
    device = open_device(card)
    challenge = sls_bridge.challenge(card.serial)
    result = device.run((HERE / "dscplus-login.sls").read_text(), PIN=PIN, CHALLENGE=challenge.text)
    assert result.passed, result.failures
    assert sls_bridge.verify(card.serial, challenge.id, result.captures["RESPONSE"])


def test_a_wrong_soft_pin_gives_a_response_the_host_refuses(
    sls_bridge: Any, open_device: Callable[..., Any]
) -> None:
    sls_bridge.add_user("alice")
    card = sls_bridge.provision("alice", "dscplus", pin=PIN)
    challenge = sls_bridge.challenge(card.serial)
    result = open_device(card).run(
        (HERE / "dscplus-login.sls").read_text(), PIN="9999", CHALLENGE=challenge.text
    )
    assert result.passed  # the card cannot tell: the soft PIN is an input to the response
    assert not sls_bridge.verify(card.serial, challenge.id, result.captures["RESPONSE"])


UNLOCK = """\
press POWER
expect "LOCK PIN"
press OK
expect "L${LOCK}"
press OK
expect "UNLOCK>"
type ${CODE}
press OK
expect "NEW PIN"
type ${NEW_PIN}
press OK
expect "PIN CONF"
type ${NEW_PIN}
press OK
expect "PIN SET"
"""


def test_device_pin_lockout_then_unlock_with_the_hosts_code(
    sls_bridge: Any, open_device: Callable[..., Any]
) -> None:
    sls_bridge.add_user("alice")
    card = sls_bridge.provision("alice", "dscplus", pin=PIN, pin_mode="device")
    device = open_device(card)
    locked = device.run((HERE / "dscplus-device-lockout.sls").read_text())
    assert locked.passed, locked.failures
    lock_number = locked.captures["LOCK"].removeprefix("L")
    code = sls_bridge.api.unlock_code(card.serial, lock_number)  # what the help desk reads out
    device.run("press POWER")  # off: the unlock starts from a card just turned on
    unlocked = device.run(UNLOCK, LOCK=lock_number, CODE=code, NEW_PIN="4321")
    assert unlocked.passed, unlocked.failures


def test_ibkey_challenge_without_the_push_is_accepted(
    sls_bridge: Any, open_device: Callable[..., Any]
) -> None:
    sls_bridge.add_user("alice")
    phone = sls_bridge.provision("alice", "ibkey", pin=PIN)
    challenge = sls_bridge.challenge(phone.serial)
    result = open_device(phone).run(
        (HERE / "ibkey-challenge.sls").read_text(), PIN=PIN, CHALLENGE=challenge.text
    )
    assert result.passed, result.failures
    assert sls_bridge.verify(phone.serial, challenge.id, result.captures["RESPONSE"])


def test_ibkey_push_approved_with_the_pin_is_accepted(sls_bridge: Any) -> None:
    # In-process only: a push reaches the phone from the broker's server, and the serial protocol
    # has no request for it (the TUI version is in test_in_the_tui.py).
    sls_bridge.add_user("alice")
    provisioned = sls_bridge.provision("alice", "ibkey", pin=PIN)
    phone = sls_bridge.device(provisioned)
    challenge = sls_bridge.challenge(provisioned.serial)
    phone.session.press("POWER")
    phone.device.receive_push(challenge.id, "alice", challenge.text, phone.now)
    assert phone.display == "Login request for alice"
    phone.press("APPROVE")
    phone.type(PIN)
    assert phone.press("OK") == "Approved"
    (approved,) = (e for e in phone.session.last_reaction.events if isinstance(e, PushApproved))
    assert approved.push_id == challenge.id
    assert sls_bridge.verify(provisioned.serial, challenge.id, approved.response)


def test_legacy_dsc_passcode_is_accepted(sls_bridge: Any, open_device: Callable[..., Any]) -> None:
    sls_bridge.add_user("alice")
    card = sls_bridge.provision("alice", "dsc", pin=PIN)
    challenge = sls_bridge.challenge(card.serial)  # a DSC has none: the host just expects a code
    result = open_device(card).run(
        'press POWER\ntype ${PIN}\npress OK\nexpect /[0-9]{6}/\ncapture PASSCODE\n', PIN=PIN
    )
    assert result.passed, result.failures
    assert sls_bridge.verify(card.serial, challenge.id, result.captures["PASSCODE"])


def test_scc_lookup_answers_the_two_cells_the_login_screen_names(
    sls_bridge: Any, open_device: Callable[..., Any]
) -> None:
    sls_bridge.add_user("alice")
    card = sls_bridge.provision("alice", "scc")
    challenge = sls_bridge.challenge(card.serial)  # two indices, e.g. "17 203"
    first, second = challenge.text.split()
    result = open_device(card).run(
        (HERE / "scc-cells.sls").read_text(), FIRST=first, SECOND=second
    )
    assert result.passed, result.failures
    codes = [result.captures[name].split()[1] for name in ("FIRST_CELL", "SECOND_CELL")]
    assert sls_bridge.verify(card.serial, challenge.id, "".join(codes))  # side by side, no spaces
