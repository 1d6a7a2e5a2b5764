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
* `FolderLock` lets one process own every image of a folder with one descriptor (a farm of ten
  thousand devices cannot spend one on each): it holds `LOCK_EX` on `<folder>/.slsemu-folder.lock`,
  and every `ImageLock` first takes `LOCK_SH` on the same file. So a farm and a single user of one
  of its images exclude each other, two single users of different images do not, and a lock is
  still never waited for.
"""

from __future__ import annotations

import contextlib
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
FOLDER_LOCK_NAME = ".slsemu-folder.lock"
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
        self._folder_fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `ImageLocked` at once (never waits)."""
        if self._fd is not None:
            raise ValueError("lock already held")
        lock_file = lock_path(self.path)
        folder_fd = _flock(lock_file.parent / FOLDER_LOCK_NAME, fcntl.LOCK_SH)
        if folder_fd is None:
            raise ImageLocked(f"{self.path}: the image is in use (its whole folder is served)")
        try:
            fd = _flock(lock_file, fcntl.LOCK_EX)
        except BaseException:
            os.close(folder_fd)
            raise
        if fd is None:
            os.close(folder_fd)
            raise ImageLocked(
                f"{self.path}: the image is in use by another process (it holds {lock_file})"
            )
        self._fd, self._folder_fd = fd, folder_fd

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        fd, self._fd = self._fd, None
        folder_fd, self._folder_fd = self._folder_fd, None
        for held in (fd, folder_fd):
            if held is not None:
                os.close(held)  # closing the descriptor drops the flock

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


def _flock(path: Path, operation: int) -> int | None:
    """An open descriptor of `path` holding `operation` (created 0600), or None if taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, SECRET_MODE)
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


class FolderLock:
    """An exclusive lock on every image of one folder (see the module notes), one descriptor."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `ImageLocked` at once (never waits)."""
        if self._fd is not None:
            raise ValueError("lock already held")
        fd = _flock(self.folder / FOLDER_LOCK_NAME, fcntl.LOCK_EX)
        if fd is None:
            raise ImageLocked(f"{self.folder}: an image in this folder is in use elsewhere")
        self._fd = fd

    def covering(self, path: str | os.PathLike[str]) -> CoveredImage:
        """The lock of one image in the folder, held as long as this folder lock is."""
        image = Path(path)
        if image.is_symlink():
            raise ImageError(f"{path}: a symbolic link (serve the file it points to)")
        if image.resolve().parent != self.folder.resolve():
            raise ImageError(f"{path}: not in the folder {self.folder}")
        return CoveredImage(self)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def remove_stale_temp_files(self, images: list[Path]) -> int:
        """`remove_stale_temp_files` for many images of the folder, listing it once (once per
        image would be quadratic in a folder of ten thousand)."""
        if not self.held:
            raise ValueError("the folder lock is not held")
        wanted, removed = {image.name for image in images}, 0
        for name in os.listdir(self.folder):
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            image_name, _, middle = name[1 : -len(".tmp")].rpartition(".")
            if image_name in wanted and _TEMP_PART.fullmatch(middle):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.folder / name)
                    removed += 1
        return removed

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class CoveredImage:
    """An image lock that its `FolderLock` already holds: acquiring checks, releasing is moot."""

    def __init__(self, folder: FolderLock) -> None:
        self._folder = folder

    def acquire(self) -> None:
        """Check that the folder lock is held (it is what keeps other writers out)."""
        if not self._folder.held:
            raise ValueError("the folder lock is not held")

    def release(self) -> None:
        """Nothing: the folder lock is released by its owner."""


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
