"""A tty's file descriptor as an asyncio transport, and ptys the server makes itself.

`FdTransport` is the hot path of every request on a pty or a POSIX serial device: one `os.read`
per readable event and one `os.write` per reply, where pyserial-asyncio adds a `select` to each
read and a writer poll to each write. It supports `pause_reading`, which is how the line
applies back-pressure: a host that does not read its replies is, in turn, not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import Callable
from typing import Final

READ_CHUNK: Final = 4096


class FdTransport(asyncio.Transport):
    """Reads and writes one non-blocking file descriptor of a tty: a pty master the server made,
    or a POSIX serial device pyserial opened and configured (`on_close` closes it).

    It is the hot path of every request: one `os.read` per readable event and one `os.write` per
    reply, where pyserial-asyncio adds a `select` to each read and a writer poll to each write.
    A read error or an empty read (a device that went away) closes the line.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        protocol: asyncio.Protocol,
        on_close: Callable[[], None],
    ) -> None:
        super().__init__()
        self._loop = loop
        self._fd = fd
        self._protocol = protocol
        self._on_close = on_close
        self._buffer = bytearray()
        self._high = 64 * 1024
        self._low = 16 * 1024
        self._paused = False
        self._reading = True
        self._closing = False
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._read_ready)
        protocol.connection_made(self)

    def pause_reading(self) -> None:
        if self._reading and not self._closing:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        if not self._reading and not self._closing:
            self._reading = True
            self._loop.add_reader(self._fd, self._read_ready)

    def is_reading(self) -> bool:
        return self._reading and not self._closing

    def _read_ready(self) -> None:
        try:
            data = os.read(self._fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: the pty or the device is gone
            self._close(exc)
            return
        if data:
            self._protocol.data_received(data)
        else:  # readable yet empty: how a vanished device shows itself
            self._close(OSError("the device is gone"))

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        if not self._buffer:
            try:
                written = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as exc:
                self._close(exc)
                return
            if written == len(data):
                return  # the common case: the line took it all
            data = data[written:]
            self._loop.add_writer(self._fd, self._write_ready)
        self._buffer += data
        self._check_pause()

    def _write_ready(self) -> None:
        try:
            written = os.write(self._fd, self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(exc)
            return
        del self._buffer[:written]
        if not self._buffer:
            self._loop.remove_writer(self._fd)
        if self._paused and len(self._buffer) <= self._low:
            self._paused = False
            self._protocol.resume_writing()

    def _check_pause(self) -> None:
        if not self._paused and len(self._buffer) > self._high:
            self._paused = True
            self._protocol.pause_writing()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._high = high if high is not None else self._high
        self._low = low if low is not None else self._high // 4

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._close(None)

    def _close(self, exc: Exception | None) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._buffer.clear()
        with contextlib.suppress(OSError):
            self._on_close()
        self._loop.call_soon(self._protocol.connection_lost, exc)


def close_fds(*fds: int) -> Callable[[], None]:
    def close() -> None:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    return close


def open_pty() -> tuple[int, int]:
    """A raw pty pair (no echo, no line editing): (master, slave)."""
    master, slave = os.openpty()
    tty.setraw(slave, termios.TCSANOW)
    return master, slave
