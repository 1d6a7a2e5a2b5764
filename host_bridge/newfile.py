"""Create a file that must not exist yet (a master key, a device image), never replacing one.

`slsio.files.atomic_write` renames over its target, so a check for an existing file before it
leaves a window in which a file made by another process (a concurrent `init` or `provision`)
is silently replaced — and with it a master key or a device's key. Here the new file is written
complete under a temporary name, then hard-linked to its name, which fails if the name exists.
On a file system without hard links (e.g. FAT) the file is created with `O_EXCL` instead: it
still never replaces a file, but a power cut while writing can leave it incomplete.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from slsio.files import SECRET_MODE, atomic_write, fsync_dir

_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK})


def write_new(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` (0600, fsynced) to `path`, which must not exist; `FileExistsError` if it
    does, even when it appears while this runs. Readers see no file or the whole file."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    staged = target.with_name(f".{target.name}.{os.urandom(6).hex()}.new")
    atomic_write(staged, data)
    try:
        os.link(staged, target)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        _write_exclusive(target, data)
    finally:
        os.unlink(staged)
    fsync_dir(folder)


def _write_exclusive(target: Path, data: bytes) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
