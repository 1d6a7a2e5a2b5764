"""The serial hot paths give the same answers as the general ones they shortcut.

The blocking client reads a plain POSIX device with one poll and one read, and any other
pyserial port (a URL, a subclass) through pyserial; the device server answers `OK` from a
pre-encoded line. These tests drive a real `slsemu serve --pty` both ways.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from firmware_model.serial_codec import (
    Checksum,
    ErrCode,
    Ok,
    Press,
    ProtocolError,
    ReplyDecoder,
    RequestDecoder,
    encode_request,
)
from slsio.serial_client import ClientConfig, SerialClient
from tests.serial_helpers import make_image, serving

pytestmark = pytest.mark.serial

QUICK = ClientConfig(timeout=2.0)


def _pyserial_subclass(port: str, **kwargs: object) -> serial.Serial:
    # Not exactly `serial.Serial`: the client must take pyserial's own read path.
    return serial.PosixPollSerial(port, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def device_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serial-fast")
    image = folder / "card.img"
    make_image(image, os.urandom)
    with serving(["--image", str(image), "--pty", "--virtual-clock"]) as served:
        yield served.path


@pytest.mark.parametrize("opener", [serial.serial_for_url, _pyserial_subclass])
def test_both_read_paths_give_the_same_session(device_path: str, opener: object) -> None:
    with SerialClient(device_path, config=QUICK, opener=opener) as card:  # type: ignore[arg-type]
        card.power(True)
        assert card.read_display() == "PIN>"
        card.press("1")  # a keypress is acknowledged with OK
        card.set_checksum(True)  # checksummed OK lines take the general path both ways
        card.press("BACK")  # erases the digit
        assert card.read_display() == "PIN>"
        card.set_checksum(False)
        with pytest.raises(ProtocolError) as refused:
            card.press("Z")
        assert refused.value.code is ErrCode.BUTTON
        card.power(False)
        assert card.read_display() == ""


def test_a_vanished_device_is_an_os_error_not_a_hang(tmp_path: Path) -> None:
    image = tmp_path / "card.img"
    make_image(image, os.urandom)
    with serving(["--image", str(image), "--pty", "--virtual-clock"]) as served:
        card = SerialClient(served.path, config=QUICK)
        card.hello()
        served.stop()
        with card, pytest.raises(OSError, match="serial line failed"):
            card.hello()


def test_ok_fast_path_matches_the_general_decoder() -> None:
    decoder = ReplyDecoder()
    assert decoder.feed(b"OK\n") == [Ok()]
    assert decoder.feed(b"O") == []
    assert decoder.feed(b"K\n") == [Ok()]  # a half line is finished, not shortcut
    decoder.checksum_required = True
    with_checksum = decoder.feed(b"OK\n")  # mandatory checksum missing: not an OK
    assert len(with_checksum) == 1 and isinstance(with_checksum[0], ProtocolError)


def test_whole_line_memo_keeps_the_checksum_mode() -> None:
    for _ in range(2):  # the second time comes from the memo
        decoder = RequestDecoder()
        assert decoder.feed(encode_request(Checksum(True))) == [Checksum(True)]
        assert decoder.checksum_required
        assert decoder.feed(encode_request(Press("1"), with_checksum=True)) == [Press("1")]
        assert decoder.feed(encode_request(Checksum(False), with_checksum=True)) == [
            Checksum(False)
        ]
        assert not decoder.checksum_required


def test_a_pyserial_url_is_served_through_pyserial_asyncio(tmp_path: Path) -> None:
    # `socket://` is no file descriptor of a tty: the server keeps pyserial-asyncio for it.
    image = tmp_path / "card.img"
    make_image(image, os.urandom)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"socket://127.0.0.1:{listener.getsockname()[1]}"
        with serving(["--image", str(image), "--port", url, "--virtual-clock"]) as served:
            assert served.path == url
            listener.settimeout(10)
            connection, _ = listener.accept()
            with connection, connection.makefile("rwb", buffering=0) as line:
                line.write(b"POWER ON\nREAD\nPRESS Z\n")
                answers = [line.readline() for _ in range(4)]
            assert answers[:3] == [b"EVT DEVICE power-on\n", b"OK\n", b"DISPLAY PIN>\n"]
            assert answers[3].startswith(b"ERR BUTTON ")
