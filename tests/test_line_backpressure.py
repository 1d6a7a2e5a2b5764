"""`LineProtocol` in-process: back-pressure never loses or reorders a reply, however the bytes are
split and however often the host stops reading; RFC 2217 settings reach the line's writer."""

from __future__ import annotations

import asyncio
import itertools
import os
import struct
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serial import rfc2217

from emulator.line_protocol import Faults, LineProtocol
from emulator.net_line import Rfc2217Protocol
from emulator.serial_server import DeviceLine, ServeConfig
from emulator.session import DeviceSession
from tests.serial_helpers import make_image

REQUESTS = {b"HELLO\n": b"HELLO ", b"READ\n": b"DISPLAY", b"X\n": b"ERR BADCMD"}


class Wire(asyncio.Transport):
    """A connection whose host may stop reading: `full` makes the protocol pause writing."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = bytearray()
        self.reading = True
        self.protocol: LineProtocol | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += data

    def is_closing(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def host_stops(self) -> None:
        assert self.protocol is not None
        self.protocol.pause_writing()

    def host_reads(self) -> None:
        assert self.protocol is not None
        self.protocol.resume_writing()


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeviceLine]:
    image = tmp_path_factory.mktemp("backpressure") / "card.img"
    make_image(image, os.urandom)
    device_line = DeviceLine(DeviceSession(image), virtual_clock=True)
    yield device_line
    device_line.close()


def connect(line: DeviceLine, config: ServeConfig | None = None) -> tuple[LineProtocol, Wire]:
    config = config or ServeConfig(virtual_clock=True)
    protocol = LineProtocol(line, config, Faults(config))
    wire = Wire()
    wire.protocol = protocol
    protocol.connection_made(wire)
    return protocol, wire


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    requests=st.lists(st.sampled_from(sorted(REQUESTS)), min_size=1, max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=20),
    stops=st.lists(st.booleans(), max_size=21),
)
def test_no_reply_is_lost_or_reordered_under_back_pressure(
    line: DeviceLine, requests: list[bytes], cuts: list[int], stops: list[bool]
) -> None:
    stream = b"".join(requests)
    bounds = sorted({0, len(stream), *(cut % (len(stream) + 1) for cut in cuts)})
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]

    async def run() -> bytes:
        protocol, wire = connect(line)
        for index, chunk in enumerate(chunks):
            if index < len(stops) and stops[index]:
                wire.host_stops()  # the host stops reading: nothing more may be answered
                before = bytes(wire.sent)
                protocol.data_received(chunk)
                assert wire.sent == before and not wire.reading
                wire.host_reads()
            else:
                protocol.data_received(chunk)
        wire.host_reads()
        assert wire.reading
        protocol.connection_lost(None)
        return bytes(wire.sent)

    replies = asyncio.run(run()).splitlines()
    assert len(replies) == len(requests)
    for request, reply in zip(requests, replies, strict=True):
        assert reply.startswith(REQUESTS[request])


def subnegotiation(option: bytes, value: bytes) -> bytes:
    return rfc2217.IAC + rfc2217.SB + rfc2217.COM_PORT_OPTION + option + value + rfc2217.IAC + (
        rfc2217.SE
    )


async def test_rfc2217_settings_pace_the_line_and_xoff_stops_it(line: DeviceLine) -> None:
    config = ServeConfig(virtual_clock=True, baud=9600)
    protocol = Rfc2217Protocol(line, config, Faults(config), idle=60.0)
    wire = Wire()
    protocol.connection_made(wire)
    writer = protocol.writer
    assert writer is not None and writer.baud == 9600 and writer.bits_per_byte == 10
    protocol.data_received(
        subnegotiation(rfc2217.SET_BAUDRATE, struct.pack("!I", 1_000_000))
        + subnegotiation(rfc2217.SET_PARITY, b"\x03")  # even
        + subnegotiation(rfc2217.SET_STOPSIZE, b"\x02")  # two stop bits
        + subnegotiation(rfc2217.SET_BAUDRATE, struct.pack("!I", 10**9))  # refused: kept
    )
    assert writer.baud == 1_000_000 and writer.bits_per_byte == 1 + 8 + 1 + 2
    software_flow = rfc2217.SET_CONTROL_USE_SW_FLOW_CONTROL
    protocol.data_received(subnegotiation(rfc2217.SET_CONTROL, software_flow))
    assert protocol.port.xonxoff
    wire.sent.clear()
    protocol.data_received(b"\x13HELLO\n")  # XOFF, then a request
    for _ in range(20):  # time for a paced reply to have gone out, were the line not stopped
        await asyncio.sleep(0.005)
    assert wire.sent == b""
    protocol.data_received(b"\x11")  # XON
    deadline = asyncio.get_running_loop().time() + 30
    while b"\n" not in wire.sent:
        assert asyncio.get_running_loop().time() < deadline, "the reply never came after XON"
        await asyncio.sleep(0.005)
    assert wire.sent.startswith(b"HELLO slsemu 1 dscplus")
    protocol.connection_lost(None)


def test_a_large_read_is_decoded_in_slices_and_stops_when_full(line: DeviceLine) -> None:
    async def run() -> None:
        protocol, wire = connect(line, ServeConfig(virtual_clock=True, write_high_water=256))
        wire.host_stops()
        protocol.data_received(b"HELLO\n" * 50_000)  # one big TCP read
        assert not wire.reading and wire.sent == b""
        wire.host_reads()
        protocol.connection_lost(None)
        assert wire.sent.count(b"\n") == 50_000

    asyncio.run(run())

