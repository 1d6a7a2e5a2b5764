"""Durable file writes: a power cut (kill -9) at any moment leaves the old or the new file."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

SECRET_MODE = 0o600


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = SECRET_MODE) -> None:
    """Write `data` to `path` atomically: temp file in the same folder, fsync, rename, fsync dir.

    The temp file is created with `mode` from the start, so a secret is never readable by others,
    not even for a moment.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp_name)
        raise
    os.close(fd)
    try:
        os.replace(tmp_name, target)
    except BaseException:
        os.unlink(tmp_name)
        raise
    fsync_dir(folder)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in `folder` durable."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_limited(path: str | os.PathLike[str], limit: int) -> bytes:
    """Read a whole regular file, refusing one over `limit` bytes (a bad file must not eat memory).

    A FIFO, device, socket or folder is refused with `OSError` (never waited on: the file is
    opened non-blocking and checked before the first read).
    """
    return read_regular(path, limit)[0]


def read_text(path: str | os.PathLike[str], limit: int) -> str:
    """A whole regular file of at most `limit` bytes as UTF-8 text. `ValueError` naming the file
    ("…: larger than N bytes", "…: not UTF-8 text"); `OSError` as `read_limited`."""
    return _text(path, limit, read_limited)


def read_regular(path: str | os.PathLike[str], limit: int) -> tuple[bytes, os.stat_result]:
    """`read_limited`, also giving the `fstat` of the file read (its mode, owner, link count).

    `ValueError` for a file over `limit` bytes; `OSError` for one that cannot be read or is not
    a regular file.
    """
    fd, info = open_regular(path)
    try:
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ValueError(f"{os.fspath(path)}: file is larger than {limit} bytes")
    return data, info


def read_private(path: str | os.PathLike[str], limit: int) -> bytes:
    """`read_regular` for a file that holds a secret: `PermissionError` naming the file when its
    mode lets anyone but the owner read or write it (checked on the file descriptor read)."""
    data, info = read_regular(path, limit)
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise PermissionError(
            errno.EACCES, f"readable by others (mode {mode:04o}) although it holds a secret: "
            "chmod 600 it", os.fspath(path),
        )
    return data


def read_private_text(path: str | os.PathLike[str], limit: int) -> str:
    """`read_private` as UTF-8 text, with `read_text`'s errors."""
    return _text(path, limit, read_private)


def _text(
    path: str | os.PathLike[str], limit: int,
    read: Callable[[str | os.PathLike[str], int], bytes],
) -> str:
    try:
        data = read(path, limit)
    except ValueError:
        raise ValueError(f"{os.fspath(path)}: larger than {limit} bytes") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{os.fspath(path)}: not UTF-8 text") from None


def open_regular(
    path: str | os.PathLike[str], flags: int = os.O_RDONLY, mode: int = SECRET_MODE
) -> tuple[int, os.stat_result]:
    """Open `path` (with `flags`, creating with `mode`) and return the descriptor and its `fstat`,
    refusing anything but a regular file with `OSError`.

    The open is non-blocking, so a FIFO is refused instead of waiting for its other end (for
    reading and for writing alike); the descriptor is switched back to blocking before it is
    returned.
    """
    not_regular = OSError(
        errno.EINVAL, "not a regular file (a FIFO, device or socket)", os.fspath(path)
    )
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO opened for writing with no reader
            raise not_regular from None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            raise not_regular
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info
