"""`slsemu record --port DEV --pass-through`: record what a host does to a device on a line.

Theory of operation: the recorder makes a pty and sits between it and the device. A host program
(`slsbridge login --via PTY`, a rig's own client) opens the pty as it would the device;
`PassThrough.feed` decodes its requests (bounded lines, checksums as the host switches them),
forwards each to the device with the one serial client, and hands back the reply and any `EVT`
lines in the order the device sent them. After each key request (`PRESS`, `TYPE`, `HOLD`, and
`CLOCK ADVANCE` as `wait`) it reads the display with a `READ` of its own — the host never sees
that one — and writes the step into the `Transcript`. `serve_pass_through` is the I/O loop.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Callable

from emulator.fd_transport import open_pty
from emulator.recording import Transcript
from firmware_model import serial_codec as codec
from slsio.serial_client import SerialClient

POLL_MS = 100
READ_CHUNK = 4096


class PassThrough:
    """Host bytes in, bytes for the host out; key requests recorded into `transcript`."""

    def __init__(self, client: SerialClient, transcript: Transcript) -> None:
        self._client = client
        self._transcript = transcript
        self._decoder = codec.RequestDecoder()
        self._checksum = False

    def feed(self, data: bytes) -> bytes:
        """The bytes a host sent → the bytes to send back to it."""
        out: list[bytes] = []
        for item in self._decoder.feed(data):
            reply = item if isinstance(item, codec.Err) else self._forward(item)
            out.extend(self._events())
            out.append(codec.encode_reply(reply, self._checksum))
            if isinstance(item, codec.Checksum) and isinstance(reply, codec.Ok):
                self._checksum = item.on  # the OK itself goes out as before
        return b"".join(out)

    def _events(self) -> list[bytes]:
        events = self._client.events
        lines = [codec.encode_reply(codec.Event(text), self._checksum) for text in events]
        events.clear()
        return lines

    def _forward(self, request: codec.Request) -> codec.Reply:
        try:
            reply = self._client.request(request)
        except codec.ProtocolError as exc:
            return codec.Err(exc.code, exc.message)
        # A display that cannot be read leaves the step out of the recording (the host is fine).
        with contextlib.suppress(codec.ProtocolError):
            self._record(request)
        return reply

    def _record(self, request: codec.Request) -> None:
        match request:
            case codec.Type(digits=digits):
                self._transcript.typed(digits, self._client.read_display(), fresh=True)
                return
            case codec.Press(button=button):
                line = f"press {button}"
            case codec.Hold(button=button, seconds=seconds):
                line = f"hold {button} {seconds:g}"
            case codec.ClockAdvance(seconds=seconds):
                line = f"wait {seconds:g}"
            case _:
                return
        self._transcript.action(line, self._client.read_display(), fresh=True)


def serve_pass_through(
    client: SerialClient,
    transcript: Transcript,
    on_ready: Callable[[str], None],
    stop: threading.Event,
) -> None:
    """Make the pty, tell `on_ready` its path, pass bytes through until `stop` is set."""
    proxy = PassThrough(client, transcript)
    master, slave = open_pty()  # the slave stays open here: a host may close and reopen it
    try:
        on_ready(os.ttyname(slave))
        poller = select.poll()
        poller.register(master, select.POLLIN)
        while not stop.is_set():
            if not poller.poll(POLL_MS):
                continue
            data = os.read(master, READ_CHUNK)
            answer = proxy.feed(data)
            while answer:
                answer = answer[os.write(master, answer) :]
    finally:
        os.close(master)
        os.close(slave)
