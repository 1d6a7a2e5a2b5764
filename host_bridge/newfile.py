"""Create a file that must not exist yet (a master key, a device image), never replacing one.

`slsio.files.atomic_write` renames over its target, so a check for an existing file before it
leaves a window in which a file made by another process (a concurrent `init` or `provision`)
is silently replaced — and with it a master key or a device's key. Here the new file is written
complete under a temporary name, then hard-linked to its name, which fails if the name exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from slsio.files import atomic_write, fsync_dir


def write_new(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` (0600, fsynced) to `path`, which must not exist; `FileExistsError` if it
    does, even when it appears while this runs. Readers see no file or the whole file."""
    target = Path(path)
    staged = target.with_name(f".{target.name}.{os.urandom(6).hex()}.new")
    atomic_write(staged, data)
    try:
        os.link(staged, target)
    finally:
        os.unlink(staged)
    fsync_dir(target.parent if str(target.parent) else Path("."))
