"""Device image files on disk: load, save, and the one-writer lock.

The byte format is `firmware_model.image` (versioned JSON with a SHA-256 over the body); this
module is the I/O around it:

* `load_image` reads at most `MAX_IMAGE_BYTES` of a regular file and refuses damaged, foreign,
  unsupported or unknown-model files with an `ImageError` that names the file — and an image that
  others may read (it holds the key in clear), as the master key is refused.
* `save_image` writes atomically (temp file in the same folder, fsync, rename, fsync of the folder;
  mode 0600 from the first byte), so a power cut leaves the old image or the new one, whole.
* `ImageLock` holds an exclusive `flock` on the sidecar `<image>.lock` for as long as a session
  uses the image. Counters never go back only if saves cannot overtake each other, and that needs
  one writer at a time: a second process is refused with `ImageLocked` instead of waiting.

One image, one lock, whatever it is called: the lock resolves symbolic links once, when it is
taken, and everything after (load, saves, temp clean-up) uses the real path it found, so
`b.img -> a.img` locks `a.img.lock` and a save replaces `a.img`, never the link. A hard-linked
image (two names, one file, which a save would split in two) is refused.

The lock file exists only while a lock is held: the holder deletes it on release. The kernel drops
a dead holder's lock (even on SIGKILL), and the next holder deletes the file it left. A taker
checks, after its `flock` succeeds, that the name still leads to the file it locked (and tries
again if not), so deleting the file can never let two writers lock two files of one name.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
from pathlib import Path
from types import TracebackType

from firmware_model.errors import ImageError, SlsError
from firmware_model.image import MAX_IMAGE_BYTES, DeviceImage, decode_image, encode_image
from firmware_model.models import MODEL_NAMES
from slsio.files import SECRET_MODE, atomic_write, read_regular

LOCK_SUFFIX = ".lock"
# The random part of a `tempfile.mkstemp` name: matching it exactly keeps the temp files of an
# image called `a.img.x` safe from the clean-up of `a.img`.
_TEMP_PART = re.compile(r"[a-z0-9_]{8}")
# Another process deleting the lock file between our open and our flock makes us try again; this
# many times in a row means something keeps deleting it.
_LOCK_ATTEMPTS = 50


class ImageLocked(SlsError):
    """Another process is using the image (it holds `<image>.lock`). Exit 2."""


def load_image(path: str | os.PathLike[str]) -> DeviceImage:
    """Read and check a device image file.

    Raises `ImageError` (naming the file) for a damaged, foreign, too large, unsupported or
    unknown-model file, and `OSError` when the file cannot be read at all.
    """
    try:
        data, info = read_regular(path, MAX_IMAGE_BYTES)
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
    # Checked after the content: a file that is no image at all is told so first.
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ImageError(
            f"{path}: readable by others (mode {mode:04o}) although it holds the device key "
            "in clear: chmod 600 it"
        )
    return image


def save_image(path: str | os.PathLike[str], image: DeviceImage) -> None:
    """Write `image` to `path` atomically and durably, mode 0600.

    Callers that keep a device running hold an `ImageLock` on `path` so that no other process
    writes the same image in between.
    """
    atomic_write(path, encode_image(image), SECRET_MODE)


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar lock file of the image at `path` (as given: `ImageLock` resolves links first).
    Raises `ImageError` for a folder-only path."""
    image = Path(path)
    if not image.name:  # ".", "/": no file name to hang the lock on
        raise ImageError(f"{path}: not an image file name")
    return image.with_name(image.name + LOCK_SUFFIX)


def real_image_path(path: str | os.PathLike[str], *, must_exist: bool) -> Path:
    """`path` with every symbolic link resolved. An existing image must be a regular file with
    one name (`ImageError` for a hard link or a FIFO); `must_exist` makes a missing one an error
    (`FileNotFoundError`) and a dangling link is always one."""
    given = Path(path)
    lock_path(given)  # a name to hang a lock on
    real = Path(os.path.realpath(given))
    try:
        info = os.stat(real)
    except FileNotFoundError:
        if must_exist or given.is_symlink():
            raise FileNotFoundError(errno.ENOENT, "no such image file", str(path)) from None
        return real
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(f"{path}: not a regular file")
    if info.st_nlink > 1:
        raise ImageError(
            f"{path}: the image has {info.st_nlink} hard links; a save would split them into "
            "different devices (give it one name; use a symbolic link for a second)"
        )
    return real


class ImageLock:
    """An exclusive, non-blocking lock on one image, held until `release()` (or process death).

    `path` is where the image is or will be; `must_exist=True` refuses (without making a lock
    file) an image that is not there. Once acquired, `path` is the real path of the image."""

    def __init__(self, path: str | os.PathLike[str], *, must_exist: bool = False) -> None:
        self.path = Path(path)
        self._must_exist = must_exist
        self._fd: int | None = None
        self._lock_file: Path | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `ImageLocked` at once (never waits)."""
        if self._fd is not None:
            raise ValueError("lock already held")
        real = real_image_path(self.path, must_exist=self._must_exist)
        lock_file = lock_path(real)
        for _ in range(_LOCK_ATTEMPTS):
            # O_NOFOLLOW: a link planted as the lock file is refused, not followed.
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            fd = os.open(lock_file, flags, SECRET_MODE)
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
            if _same_file(fd, lock_file):
                self._fd, self._lock_file, self.path = fd, lock_file, real
                return
            os.close(fd)  # a releasing holder deleted it between our open and our flock
        raise ImageLocked(f"{self.path}: the lock file {lock_file} keeps disappearing")

    def release(self) -> None:
        """Give the lock back and delete the lock file (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # While still holding it: nobody else can be inside. Best effort: a lock file left
            # behind (a read-only folder) is harmless, the next holder deletes it.
            with contextlib.suppress(OSError):
                if self._lock_file is not None and _same_file(fd, self._lock_file):
                    os.unlink(self._lock_file)
        finally:
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


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` (not followed) is the file open as `fd`."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


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
