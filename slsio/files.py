"""Durable file writes: a power cut (kill -9) at any moment leaves the old or the new file."""

from __future__ import annotations

import os
import tempfile
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
    """Read a whole file, refusing one over `limit` bytes (a bad file must not eat memory)."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: file is larger than {limit} bytes")
    return data
