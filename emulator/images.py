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

`FolderLock` lets one process own every image of a folder with one descriptor (a farm of ten
thousand devices cannot spend one on each): it holds `LOCK_EX` on `<folder>/.slsemu-folder.lock`
(same rules: deleted by its holder on release), then takes and releases each image's own lock
once, refusing if any is held. An `ImageLock`, once it holds its image, checks that no
`FolderLock` holds the image's folder, and refuses if one does. Whichever order two processes do
this in, at most one of them goes on (at worst both refuse), so a served folder and a single user
of one of its images never both write; no lock is ever waited for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from firmware_model.device import Device, Entropy
from firmware_model.errors import ImageError, SlsError
from firmware_model.image import MAX_IMAGE_BYTES, DeviceImage, decode_image, encode_image
from firmware_model.models import MODEL_NAMES, load_device
from slsio.files import SECRET_MODE, atomic_write, read_regular

LOCK_SUFFIX = ".lock"
FOLDER_LOCK_NAME = ".slsemu-folder.lock"
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


DeviceLoader = Callable[[DeviceImage, Entropy], Device]


def load_device_image(
    path: str | os.PathLike[str],
    entropy: Entropy = os.urandom,
    loader: DeviceLoader = load_device,
) -> tuple[DeviceImage, Device]:
    """Read an image file and load the device it describes (powered off): the file checks of
    `load_image`, then the model's own codec (`firmware_model.<model>_image`) on its config and
    state. One place for both, so `image show`, `scc show` and a session refuse the same files
    with the same one line naming the file (`ImageError`)."""
    image = load_image(path)
    try:
        return image, loader(image, entropy)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None


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
        self._acquire_image(real)
        if _folder_served(real.parent):
            self.release()
            raise ImageLocked(f"{self.path}: the image is in use (its whole folder is served)")

    def _acquire_image(self, real: Path) -> None:
        lock_file = lock_path(real)
        busy = f"{self.path}: the image is in use by another process (it holds {lock_file})"
        self._fd, self._lock_file = _lock_exclusively(lock_file, busy), lock_file
        self.path = real

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


def _lock_exclusively(lock_file: Path, busy: str) -> int:
    """A descriptor holding `LOCK_EX` on `lock_file` (created 0600; a link planted there is
    refused, not followed), or `ImageLocked(busy)`. Tries again while a releasing holder deletes
    the file between our open and our flock."""
    for _ in range(_LOCK_ATTEMPTS):
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, SECRET_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ImageLocked(busy) from None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, lock_file):
            return fd
        os.close(fd)  # a releasing holder deleted it between our open and our flock
    raise ImageLocked(f"the lock file {lock_file} keeps disappearing")


def _folder_served(folder: Path) -> bool:
    """Whether a `FolderLock` holds `folder` now (a probe: nothing is created or kept)."""
    try:
        fd = os.open(folder / FOLDER_LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class FolderLock:
    """An exclusive lock on every image of one folder (see the module notes), one descriptor."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self, images: list[Path]) -> None:
        """Take the lock for the folder and its `images`, or raise `ImageLocked` at once."""
        if self._fd is not None:
            raise ValueError("lock already held")
        lock_file = self.folder / FOLDER_LOCK_NAME
        busy = f"{self.folder}: the folder is served by another process"
        self._fd = _lock_exclusively(lock_file, busy)
        try:
            for image in images:  # nobody may hold one now (they check the folder from now on)
                probe = ImageLock(image, must_exist=True)
                probe._acquire_image(real_image_path(image, must_exist=True))
                probe.release()
        except BaseException:
            self.release()
            raise

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def covering(self, path: str | os.PathLike[str]) -> CoveredImage:
        """The lock of one image in the folder, held as long as this folder lock is. A link is
        refused (it could name a second image of the folder, or one outside it)."""
        image = Path(path)
        if image.is_symlink():
            raise ImageError(f"{path}: a symbolic link (serve the file it points to)")
        real = real_image_path(image, must_exist=True)
        if real.parent != Path(os.path.realpath(self.folder)):
            raise ImageError(f"{path}: not in the folder {self.folder}")
        return CoveredImage(self, real)

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
        """Give the lock back and delete its file (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                with contextlib.suppress(OSError):
                    lock_file = self.folder / FOLDER_LOCK_NAME
                    if _same_file(fd, lock_file):
                        os.unlink(lock_file)
            finally:
                os.close(fd)


class CoveredImage:
    """An image lock its `FolderLock` already holds: acquiring checks, releasing is moot."""

    def __init__(self, folder: FolderLock, path: Path) -> None:
        self._folder = folder
        self.path = path

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
