"""`slsemu serve` on one end of a socat pty pair, the host client on the other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emulator.images import ImageLock, load_image
from emulator.line_protocol import Faults, LineProtocol
from emulator.serial_server import DeviceLine, ServeConfig
from emulator.session import DeviceSession
from firmware_model.errors import InvalidToken
from firmware_model.ocra import ocra
from firmware_model.serial_codec import (
    CANCEL,
    ClockQuery,
    ClockReply,
    Display,
    Err,
    ErrCode,
    Event,
    Hello,
    HelloReply,
    ProtocolError,
    Read,
    RequestDecoder,
    State,
    StateReply,
    parse_reply,
)
from host_bridge.serial_client import AsyncSerialClient, ClientConfig, SerialClient
from host_bridge.serial_login import obtain_response
from tests.serial_helpers import (
    LOGIN_SCRIPT,
    RFC_KEY,
    SOFT_SUITE,
    make_image,
    serving,
    socat_pair,
    start_serve,
)

pytestmark = pytest.mark.serial

CLOCK_START = 1_700_000_000.0
FAST = ClientConfig(timeout=5.0)
QUICK = ClientConfig(timeout=0.3)
HARMLESS = (Hello, State, Read, ClockQuery)


def expected_response(challenge: str, pin: str) -> str:
    return ocra(SOFT_SUITE, RFC_KEY, question=challenge, pin=pin)


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One virtual-clock server on a socat pair for the whole module: (host path, image)."""
    folder = tmp_path_factory.mktemp("serial-line")
    image = folder / "card.img"
    make_image(image, os.urandom)
    with socat_pair() as (device_end, host_end), serving(
        ["--image", str(image), "--port", device_end, "--virtual-clock",
         "--clock", str(CLOCK_START)]
    ):
        yield host_end, image


@pytest.fixture
def client(line: tuple[str, Path]) -> Iterator[SerialClient]:
    with SerialClient(line[0], config=FAST) as opened:
        opened.power(False)
        opened.events.clear()
        yield opened


def public_state(client: SerialClient) -> dict[str, object]:
    """STATE without the clock (which legitimately moves)."""
    state: dict[str, object] = dict(client.state())
    state.pop("time")
    return state


# --- every command ------------------------------------------------------------------------------


def test_hello_identifies_device(client: SerialClient) -> None:
    hello = client.hello()
    assert (hello.version, hello.model, hello.serial) == (1, "dscplus", "DP0000000001")


def test_state_shows_indicators_never_secrets(client: SerialClient) -> None:
    state = client.state()
    assert state["powered"] is False and state["clock"] == "virtual"
    assert state["serial"] == "DP0000000001" and "battery" in state
    assert not [name for name in state if "key" in name or name in ("pin", "secret")]
    assert RFC_KEY.hex() not in json.dumps(state)


def test_whole_dscplus_login_over_the_line(client: SerialClient) -> None:
    client.power(True)
    assert client.read_display() == "PIN>"
    client.type_digits("1234")
    assert client.read_display() == "PIN>****"
    client.press("OK")
    assert client.read_display() == "CHALLNG>"
    client.type_digits("123456")
    client.press("OK")
    assert client.read_display() == expected_response("123456", "1234")


def test_power_is_idempotent_and_off_blanks_display(client: SerialClient) -> None:
    client.power(True)
    client.power(True)
    assert client.read_display() == "PIN>"
    client.power(False)
    client.power(False)
    assert client.read_display() == "" and client.state()["powered"] is False


def test_clock_advance_fires_auto_power_off_with_events(client: SerialClient) -> None:
    start = client.clock()
    client.power(True)
    client.events.clear()
    assert client.clock_advance(31) == pytest.approx(start + 31)
    assert client.read_display() == ""
    assert "POWER OFF" in client.events and "DISPLAY" in client.events
    assert client.clock_set(start + 100) == pytest.approx(start + 100)
    with pytest.raises(ProtocolError) as info:
        client.clock_set(start)
    assert info.value.code is ErrCode.BADARG


def test_hold_takes_virtual_time(client: SerialClient) -> None:
    start = client.clock()
    client.hold("POWER", 2.5)
    assert client.read_display() == "PIN>"
    assert client.clock() == pytest.approx(start + 2.5)


def test_errors_have_codes_and_change_nothing(client: SerialClient) -> None:
    client.power(True)
    client.type_digits("12")
    before = public_state(client)
    with pytest.raises(ProtocolError) as info:
        client.press("X")
    assert info.value.code is ErrCode.BUTTON
    client.port.timeout = 5
    for raw, code in [
        (b"FROB\n", "BADCMD"),
        (b"PRESS\n", "BADARG"),
        (b"TYPE 12x\n", "BADARG"),
        (b"A" * 5000 + b"\n", "TOOLONG"),
        (b"READ*00\n", "CHECKSUM"),
        (b"\xff\xfe\n", "BADCMD"),
    ]:
        client.port.write(raw)
        reply = client.port.readline()
        assert reply.startswith(f"ERR {code} ".encode()), (raw[:20], reply)
    assert public_state(client) == before
    assert client.read_display() == "PIN>**"


def test_checksum_mode_both_ways(client: SerialClient) -> None:
    client.set_checksum(True)
    try:
        assert client.hello().serial == "DP0000000001"
        client.port.write(b"READ\n")  # no checksum: refused, in a checksummed reply
        reply = client.port.readline().rstrip(b"\n")
        assert reply.startswith(b"ERR CHECKSUM") and reply[-3:-2] == b"*"
    finally:
        client.set_checksum(False)
    assert client.hello().model == "dscplus"


async def test_async_client_same_operations(line: tuple[str, Path]) -> None:
    client = await AsyncSerialClient.open(line[0], config=FAST)
    async with client:
        await client.power(False)
        assert (await client.hello()).serial == "DP0000000001"
        await client.power(True)
        await client.type_digits("4321")
        await client.press("OK")
        await client.type_digits("654321")
        await client.press("OK")
        assert await client.read_display() == expected_response("654321", "4321")
        assert (await client.state())["powered"] is True
        now = await client.clock()
        assert await client.clock_advance(40) == pytest.approx(now + 40)
        assert "POWER OFF" in client.events
        with pytest.raises(ProtocolError):
            await client.press("NOPE")


# --- login and scripts over the line ---------------------------------------------------------


def test_obtain_response_for_a_dscplus(client: SerialClient, line: tuple[str, Path]) -> None:
    client.close()  # obtain_response opens the port itself
    response = obtain_response(line[0], "dscplus", "987654", "2468", 115200)
    assert response == expected_response("987654", "2468")


def test_obtain_response_refuses_wrong_model_and_bad_input(line: tuple[str, Path]) -> None:
    with pytest.raises(ProtocolError, match="is a dscplus"):
        obtain_response(line[0], "ibkey", "123456", "1234", 115200)
    with pytest.raises(ProtocolError) as info:
        obtain_response(line[0], "dscplus", "12345", "1234", 115200)
    assert info.value.code is ErrCode.BADARG and "1234" not in str(info.value)


def test_script_over_serial_gives_the_in_process_captures(
    line: tuple[str, Path],
    tmp_path: Path,
    entropy: Callable[[int], bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from emulator.cli import main

    script = tmp_path / "login.sls"
    script.write_text(LOGIN_SCRIPT)
    local = tmp_path / "local.img"
    make_image(local, entropy)
    with SerialClient(line[0], config=FAST) as client:
        client.power(True)  # left on by an earlier user: the script still starts from "off"
        client.type_digits("99")
    outputs = []
    for args in (["--image", str(local)], ["--port", line[0]]):
        code = main(["script", str(script), *args])
        outputs.append((code, capsys.readouterr().out))
    assert outputs[0] == outputs[1] == (0, f"RESPONSE={expected_response('112233', '1234')}\n")


def test_no_device_on_the_line_is_a_timeout() -> None:
    with socat_pair() as (_, host_end), SerialClient(host_end, config=QUICK) as client:
        with pytest.raises(ProtocolError) as info:
            client.hello()
        assert info.value.code is ErrCode.TIMEOUT


# --- bad input over the real pty --------------------------------------------------------------


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(min_size=1, max_size=700))
def test_random_bytes_never_crash_or_change_state(client: SerialClient, data: bytes) -> None:
    """Any bytes: ERR replies (or answers to harmless requests), never a crash, state unchanged."""
    items = RequestDecoder().feed(data)
    assume(all(isinstance(item, (HARMLESS, Err)) for item in items))
    before, display = public_state(client), client.read_display()
    client.port.write(data + CANCEL + b"HELLO\n")  # CAN voids a trailing half line
    client.port.timeout = 5
    while True:  # everything before the HELLO answer is the answer to the junk
        reply = parse_reply(client.port.readline().rstrip(b"\n"))
        if isinstance(reply, HelloReply):
            break
        assert isinstance(reply, Err | Display | StateReply | ClockReply | Event | HelloReply)
        if isinstance(reply, Err):
            assert reply.code in {ErrCode.BADCMD, ErrCode.BADARG, ErrCode.TOOLONG, ErrCode.CHECKSUM}
    assert public_state(client) == before
    assert client.read_display() == display


def test_half_line_of_a_vanished_host_is_never_executed(line: tuple[str, Path]) -> None:
    with SerialClient(line[0], config=FAST) as first:
        first.power(False)
        before = first.state()["battery_presses_left"]
        first.port.write(b"POWER O")  # ... and the host goes away mid-line
    with SerialClient(line[0], config=FAST) as second:
        second.port.write(b"N\n")  # would complete "POWER ON" had the half line survived
        assert second.port.readline().startswith(b"ERR BADCMD")
        assert second.state()["powered"] is False
        assert second.state()["battery_presses_left"] == before


def test_a_host_that_never_reads_is_pushed_back_and_loses_no_reply(tmp_path: Path) -> None:
    # Back-pressure instead of loss: while its replies are not read, the device stops reading,
    # so the host's own writes stop going through; once it reads, every request is answered.
    image = card(tmp_path)
    with serving(["--image", str(image), "--pty", "--virtual-clock"]) as served:
        with SerialClient(served.path, config=FAST) as client:
            fd = client.port.fileno()
            os.set_blocking(fd, False)
            sent, pushed_back = 0, False
            deadline = time.monotonic() + 20
            while not pushed_back and time.monotonic() < deadline:
                try:
                    sent += os.write(fd, b"STATE\n" * 100)
                except BlockingIOError:
                    pushed_back = True
            assert pushed_back, "the line never pushed back"
            unsent = b"STATE\n"[sent % 6 :] if sent % 6 else b""  # a half request: finish it
            requests = (sent + len(unsent)) // 6
            received = b""
            while received.count(b"\n") < requests and time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 1.0)
                if ready:
                    received += os.read(fd, 65536)
                if unsent:
                    with contextlib.suppress(BlockingIOError):
                        unsent = unsent[os.write(fd, unsent) :]
            lines = received.decode().splitlines()
            assert len(lines) == requests and all(entry.startswith("STATE {") for entry in lines)
            os.set_blocking(fd, True)
            client.port.write(CANCEL)
            assert client.hello().serial == "DP0000000001"
        assert served.proc.poll() is None


# --- the server process -------------------------------------------------------------------------


def card(tmp_path: Path, **spec: object) -> Path:
    image = tmp_path / "card.img"
    make_image(image, os.urandom, **spec)  # type: ignore[arg-type]
    return image


def test_sigterm_saves_image_and_releases_everything(tmp_path: Path) -> None:
    image = card(tmp_path)
    served = start_serve(["--image", str(image), "--pty"])
    with SerialClient(served.path, config=FAST) as client:
        client.power(True)
        client.type_digits("1234")
        left = int(client.state()["battery_presses_left"])
    code, err = served.stop(signal.SIGTERM)
    assert code == 0, err
    assert "Traceback" not in err
    state = load_image(image).state
    assert state["presses_used"] == 20_000 - left == 5
    with ImageLock(image):  # the lock was released
        pass


def test_image_in_use_is_refused_and_sigint_stops_cleanly(tmp_path: Path) -> None:
    image = card(tmp_path)
    served = start_serve(["--image", str(image), "--pty"])
    with pytest.raises(pytest.fail.Exception, match="in use"):
        start_serve(["--image", str(image), "--pty"])
    code, err = served.stop(signal.SIGINT)
    assert code == 0 and "Traceback" not in err


def test_many_images_one_process(tmp_path: Path) -> None:
    for n in range(3):
        make_image(tmp_path / f"card{n}.img", os.urandom, serial=f"DP000000010{n}")
    (tmp_path / "notes.txt").write_text("not an image")
    with serving(["--images", str(tmp_path), "--virtual-clock"], devices=3) as served:
        assert [s for s, _ in served.lines] == ["DP0000000100", "DP0000000101", "DP0000000102"]
        for serial_number, path in served.lines:
            with SerialClient(path, config=FAST) as client:
                assert client.hello().serial == serial_number
                client.power(True)
        with SerialClient(served.lines[1][1], config=FAST) as client:
            assert client.read_display() == "PIN>"


def test_real_clock_auto_power_off_and_hold(tmp_path: Path) -> None:
    image = card(tmp_path, options={"auto_off_seconds": 1})
    args = ["--image", str(image), "--pty", "--tick", "0.05"]
    with serving(args) as served, SerialClient(served.path, config=FAST) as client:
        with pytest.raises(ProtocolError) as info:
            client.clock_advance(5)
        assert info.value.code is ErrCode.CLOCK
        start = time.monotonic()
        client.hold("POWER", 0.4)
        assert time.monotonic() - start >= 0.4  # a lower bound: the OK comes on release
        assert client.read_display() == "PIN>"
        events: list[str] = []
        deadline = time.monotonic() + 10
        while "POWER OFF" not in events and time.monotonic() < deadline:
            events += client.poll_events(0.2)
        assert "POWER OFF" in events
        assert client.read_display() == ""


def test_baud_pacing_delays_replies_like_a_slow_line(tmp_path: Path) -> None:
    args = ["--image", str(card(tmp_path)), "--pty", "--virtual-clock", "--baud", "1200"]
    with serving(args) as served, SerialClient(served.path, config=FAST) as client:
        start = time.monotonic()
        client.hello()  # "HELLO slsemu 1 dscplus DP0000000001\n": 36 bytes = 0.3 s at 1200
        assert time.monotonic() - start >= 36 * 10 / 1200 * 0.9


@pytest.mark.parametrize(
    ("fault", "codes"),
    [
        (["--drop", "1"], {ErrCode.TIMEOUT}),
        (["--garble", "1"], {ErrCode.TIMEOUT, ErrCode.BADREPLY}),
    ],
)
def test_fault_injection_gives_clear_client_errors(
    tmp_path: Path, fault: list[str], codes: set[ErrCode]
) -> None:
    args = ["--image", str(card(tmp_path)), "--pty", "--virtual-clock", "--seed", "7", *fault]
    with serving(args) as served, SerialClient(served.path, config=QUICK) as client:
        with pytest.raises(ProtocolError) as info:
            client.hello()
        assert info.value.code in codes


def test_delay_fault_still_answers_in_order(tmp_path: Path) -> None:
    image = card(tmp_path)
    args = ["--image", str(image), "--pty", "--virtual-clock", "--delay", "0.05", "--seed", "1"]
    config = ClientConfig(timeout=2, retries=1)
    with serving(args) as served, SerialClient(served.path, config=config) as client:
        for _ in range(3):
            assert client.hello().model == "dscplus"
            assert client.read_display() == ""


def test_bad_serve_arguments_exit_2(tmp_path: Path) -> None:
    from emulator.cli import main

    for args in (
        ["--image", str(tmp_path / "missing.img"), "--pty"],
        ["--images", str(tmp_path)],
        ["--image", "x.img"],
        ["--image", "x.img", "--pty", "--drop", "2"],
        ["--images", str(tmp_path), "--port", "/dev/null"],
    ):
        assert main(["serve", *args]) == 2, args


def test_a_bad_image_among_many_announces_no_line_and_releases_the_good_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emulator.cli import main

    good = tmp_path / "a.img"
    make_image(good, os.urandom)
    (tmp_path / "b.img").write_text("not an image\n")
    assert main(["serve", "--images", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no rig is told of a line that is gone again
    assert "b.img" in err and err.count("\n") == 1
    with ImageLock(good):  # the device that did start was shut down cleanly
        pass


def test_a_port_without_a_file_descriptor_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emulator.cli import main

    image = card(tmp_path)
    assert main(["serve", "--image", str(image), "--port", "loop://"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "loop://" in err and err.count("\n") == 1, err
    with ImageLock(image):  # released again
        pass


def test_login_refused_pin_on_a_device_mode_card(tmp_path: Path) -> None:
    image = card(tmp_path, pin="1111", pin_mode="device", suite="OCRA-1:HOTP-SHA1-8:QN06")
    with serving(["--image", str(image), "--pty", "--virtual-clock"]) as served:
        with pytest.raises(InvalidToken):
            obtain_response(served.path, "dscplus", "123456", "2222", 115200)
        assert obtain_response(served.path, "dscplus", "123456", "1111", 115200) == ocra(
            "OCRA-1:HOTP-SHA1-8:QN06", RFC_KEY, question="123456"
        )


def test_port_mode_stops_cleanly_and_reports_a_vanished_port(tmp_path: Path) -> None:
    image = card(tmp_path)
    with socat_pair() as (device_end, _):
        served = start_serve(["--image", str(image), "--port", device_end])
        code, err = served.stop(signal.SIGTERM)
        assert code == 0 and "went away" not in err
        served = start_serve(["--image", str(image), "--port", device_end])
    # socat is gone: the port went away under the server, which stops by itself
    served.proc.wait(timeout=10)
    code, err = served.stop(signal.SIGTERM)
    assert code == 2 and "the serial port went away" in err and "Traceback" not in err
    with ImageLock(image):
        pass


class _Wire(asyncio.WriteTransport):
    """What a line carries back to the host, for driving `LineProtocol` in-process."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += data

    def is_closing(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


async def test_requests_refused_during_a_hold_are_answered_in_their_turn(
    tmp_path: Path,
) -> None:
    # A host matching replies to requests in order must see the HOLD's OK first, then the
    # answers to the queued requests, then ERR BUSY for those that found the queue full.
    config = ServeConfig(max_queued=2)
    line = DeviceLine(DeviceSession(card(tmp_path)), virtual_clock=False)
    protocol = LineProtocol(line, config, Faults(config))
    wire = _Wire()
    protocol.connection_made(wire)
    try:
        protocol.data_received(b"HOLD OK 0.05\n" + b"READ\n" * 4)
        assert wire.sent == b""  # the line is busy: nothing is answered ahead of the HOLD
        for _ in range(100):
            await asyncio.sleep(0.01)
            if wire.sent.count(b"\n") >= 5:
                break
        lines = wire.sent.decode().splitlines()
        replies = [entry for entry in lines if not entry.startswith("EVT ")]
        assert replies == ["OK", "DISPLAY", "DISPLAY", *["ERR BUSY too many requests waiting"] * 2]
        assert not protocol.busy
        protocol.data_received(b"READ\n")  # and the line serves again at once
        assert wire.sent.decode().splitlines()[-1] == "DISPLAY"
    finally:
        protocol.connection_lost(None)
        line.close()
