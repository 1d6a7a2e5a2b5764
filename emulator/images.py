"""Device image files on disk: load, save, and the one-writer lock.

The byte format is `firmware_model.image` (versioned JSON with a SHA-256 over the body); this
module is the I/O around it:

* `load_image` reads at most `MAX_IMAGE_BYTES` and refuses damaged, foreign, unsupported or
  unknown-model files with an `ImageError` that names the file.
* `save_image` writes atomically (temp file in the same folder, fsync, rename, fsync of the folder;
  mode 0600 from the first byte), so a power cut leaves the old image or the new one, whole.
* `ImageLock` holds an exclusive `flock` on the sidecar `<image>.lock` for as long as a session
  uses the image. Counters never go back only if saves cannot overtake each other, and that needs
  one writer at a time: a second process is refused with `ImageLocked` instead of waiting. The
  kernel drops the lock when its holder dies (even on SIGKILL), so a crash never leaves a stale
  lock. The lock file itself is never deleted: deleting it would let two writers lock two
  different files of the same name.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from types import TracebackType

from firmware_model.errors import ImageError, SlsError
from firmware_model.image import MAX_IMAGE_BYTES, DeviceImage, decode_image, encode_image
from firmware_model.models import MODEL_NAMES
from slsio.files import SECRET_MODE, atomic_write, read_limited

LOCK_SUFFIX = ".lock"
# The random part of a `tempfile.mkstemp` name: matching it exactly keeps the temp files of an
# image called `a.img.x` safe from the clean-up of `a.img`.
_TEMP_PART = re.compile(r"[a-z0-9_]{8}")


class ImageLocked(SlsError):
    """Another process is using the image (it holds `<image>.lock`). Exit 2."""


def load_image(path: str | os.PathLike[str]) -> DeviceImage:
    """Read and check a device image file.

    Raises `ImageError` (naming the file) for a damaged, foreign, too large, unsupported or
    unknown-model file, and `OSError` when the file cannot be read at all.
    """
    try:
        data = read_limited(path, MAX_IMAGE_BYTES)
    except ValueError:
        too_large = f"not a device image (larger than {MAX_IMAGE_BYTES} bytes)"
        raise ImageError(f"{path}: {too_large}") from None
    if not data.strip():
        raise ImageError(f"{path}: not a device image (empty file)")
    try:
        image = decode_image(data)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None
    if image.model not in MODEL_NAMES:
        raise ImageError(f"{path}: unknown device model {image.model!r} (not made by this build)")
    return image


def save_image(path: str | os.PathLike[str], image: DeviceImage) -> None:
    """Write `image` to `path` atomically and durably, mode 0600.

    Callers that keep a device running hold an `ImageLock` on `path` so that no other process
    writes the same image in between.
    """
    atomic_write(path, encode_image(image), SECRET_MODE)


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar lock file of the image at `path`. Raises `ImageError` for a folder-only path."""
    image = Path(path)
    if not image.name:  # ".", "/": no file name to hang the lock on
        raise ImageError(f"{path}: not an image file name")
    return image.with_name(image.name + LOCK_SUFFIX)


class ImageLock:
    """An exclusive, non-blocking lock on one image, held until `release()` (or process death)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `ImageLocked` at once (never waits)."""
        if self._fd is not None:
            raise ValueError("lock already held")
        lock_file = lock_path(self.path)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, SECRET_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ImageLocked(
                f"{self.path}: the image is in use by another process (it holds {lock_file})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> ImageLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def remove_stale_temp_files(path: str | os.PathLike[str]) -> int:
    """Delete temp files a killed writer of this image left behind; return how many.

    Only call while holding the image's `ImageLock`: then no live writer can own them. The names
    are the ones `slsio.files.atomic_write` uses (`.<name>.<8 random characters>.tmp`).
    """
    image = Path(path)
    folder = image.parent
    prefix, removed = f".{image.name}.", 0
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return 0
    for name in names:
        middle = name[len(prefix) : -len(".tmp")]
        if name.startswith(prefix) and name.endswith(".tmp") and _TEMP_PART.fullmatch(middle):
            try:
                os.unlink(folder / name)
            except FileNotFoundError:
                continue
            removed += 1
    return removed
