"""The older DSC+ generation on a serial line: its screens, the 10 s toggle on the virtual clock
(`CLOCK ADVANCE`) and on the real clock (`EVT DISPLAY` on a tick), and `slsbridge login --via`
reading `Pn`/`Ch` and the response in two parts (docs/devices-dscplus.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.serial_server import DeviceLine
from emulator.session import DeviceSession
from firmware_model.dscplus import SOFT_SUITE
from firmware_model.ocra import ocra
from firmware_model.serial_codec import Event, Power, Press, Read, Type, encode_reply
from host_bridge.serial_client import ClientConfig, SerialClient
from host_bridge.serial_login import obtain_response
from tests.serial_helpers import RFC_KEY, make_image, serving, socat_pair

CLOCK_START = 1_700_000_000.0
FAST = ClientConfig(timeout=5.0)
SERIAL = "DC0000000001"


def code(challenge: str, pin: str = "1234") -> str:
    return ocra(SOFT_SUITE, RFC_KEY, question=challenge, pin=pin)


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A virtual-clock server with a classic card on a socat pair: the host's end."""
    image = tmp_path_factory.mktemp("classic") / "card.img"
    make_image(image, os.urandom, model="dscplus_classic", serial=SERIAL)
    with socat_pair() as (device_end, host_end), serving(
        ["--image", str(image), "--port", device_end, "--virtual-clock",
         "--clock", str(CLOCK_START)]
    ):  # fmt: skip
        yield host_end


@pytest.mark.serial
def test_a_login_over_the_line_and_the_toggle_on_clock_advance(line: str) -> None:
    with SerialClient(line, config=FAST) as client:
        assert (client.hello().model, client.hello().serial) == ("dscplus_classic", SERIAL)
        client.power(False)
        client.power(True)
        assert client.read_display() == "Pn"
        client.type_digits("1234")
        client.press("OK")
        assert client.read_display() == "Ch"
        client.type_digits("123456")
        client.press("OK")
        first, last = code("123456")[:5], code("123456")[5:]
        assert client.read_display() == first
        client.events.clear()
        client.clock_advance(10)
        assert client.read_display() == last
        assert f"DISPLAY {last}" in client.events
        client.press("OK")
        assert client.read_display() == first
        client.power(False)


@pytest.mark.serial
def test_login_via_the_line_reads_both_parts(line: str) -> None:
    assert obtain_response(line, "dscplus_classic", "987654", "2468", 115200) == code(
        "987654", "2468"
    )


def test_on_the_real_clock_a_tick_announces_each_toggle(tmp_path: Path) -> None:
    image = tmp_path / "card.img"
    make_image(image, os.urandom, model="dscplus_classic", serial=SERIAL)
    wall = [CLOCK_START]
    device_line = DeviceLine(
        DeviceSession(image, clock=CLOCK_START), virtual_clock=False, wall=lambda: wall[0]
    )
    try:
        for request in (Power(True), Type("1234"), Press("OK"), Type("112233"), Press("OK")):
            device_line.handle(request)
        first, last = code("112233")[:5], code("112233")[5:]
        assert device_line.tick() == ()  # nothing changed by itself yet
        wall[0] += 9.5
        assert device_line.tick() == ()
        wall[0] += 0.5
        assert [encode_reply(e) for e in device_line.tick()] == [f"EVT DISPLAY {last}\n".encode()]
        wall[0] += 10
        assert device_line.tick() == (Event(f"DISPLAY {first}"),)
        reply = device_line.handle(Read()).replies
        assert [encode_reply(r) for r in reply] == [f"DISPLAY {first}\n".encode()]
    finally:
        device_line.close()
