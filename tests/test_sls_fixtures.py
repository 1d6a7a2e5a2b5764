"""The plugin's device fixtures, as a test author uses them."""

from __future__ import annotations

from typing import Any

import pytest

from firmware_model.ocra import ocra
from firmware_model.script import parse_script, run_script

KEY = bytes.fromhex("3132333435363738393031323334353637383930")


def test_sls_device_presses_types_and_waits_on_a_virtual_clock(sls_device: Any) -> None:
    card = sls_device("dscplus", pin_mode="device", pin="1234")
    for failures in (1, 2):
        card.press("POWER")
        card.type("9999")
        assert card.press("OK") == f"FAIL {failures}"
        card.press("POWER")  # off: a power cycle keeps the count
    card.press("POWER")
    card.type("9999")
    assert card.press("OK") == "LOCK PIN"
    start = card.now
    assert card.wait(3600) == "" and card.now == start + 3600
    assert card.press("POWER") == "LOCK PIN"
    assert card.run('press POWER\nexpect ""').passed


def test_sls_device_with_a_known_key_gives_the_rfc_response(sls_device: Any) -> None:
    card = sls_device(key=KEY)
    result = run_script(parse_script("press POWER\ntype 1234\npress OK\ntype 123456\npress OK"),
                        card)
    assert result.passed
    assert card.display == ocra("OCRA-1:HOTP-SHA1-8:QN06-PSHA1", KEY, question="123456",
                                pin="1234")


def test_two_devices_in_one_test_are_separate(sls_device: Any) -> None:
    first, second = sls_device(), sls_device("scc")
    assert first.image_path != second.image_path
    assert second.press("POWER") == "INDEX>" and first.display == ""


def test_an_unknown_field_is_refused(sls_device: Any) -> None:
    with pytest.raises(TypeError, match="unknown device field 'colour'"):
        sls_device(colour="red")


def test_sls_serial_pair_serves_the_device_on_a_pty(sls_serial_pair: Any) -> None:
    pair = sls_serial_pair("dscplus", key=KEY)
    assert pair.path.startswith("/dev/")
    assert pair.client.hello().version >= 1
    result = pair.run('press POWER\nexpect "PIN>"\nwait 31\nexpect ""')
    assert result.passed, result.failures  # the served clock is virtual: wait moves it at once
    pair.client.press("POWER")
    assert pair.display == "PIN>"
