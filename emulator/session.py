"""An emulated device running in this process, bound to its image file.

Theory of operation: `DeviceSession(path)` locks the image (`ImageLock`, one writer at a time),
clears temp files a killed writer left behind, loads the image and the device it describes
(powered off), and keeps a virtual clock. Every event goes to the device with the clock's `now`;
when the device's `Reaction.persist` says durable state changed, the image is saved — atomically
and fsynced — *before* the call returns, so nothing a user sees (a display, an acknowledged key)
ever runs ahead of what is on disk, and a power cut can never roll a counter back. `close()` saves
once more (only if something changed) and drops the lock.

The clock starts at the wall clock, or at `clock=` for deterministic runs; it moves only when told
(`wait`, `hold`, `set_time`), so a script gives the same displays every time. A real-time front end
calls `set_time(time.time())` before each event. The session implements `ScriptTarget`.

This is the edge where randomness comes from the operating system: `entropy` defaults to
`os.urandom`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from emulator.images import (
    CoveredImage,
    ImageLock,
    load_image,
    remove_stale_temp_files,
    save_image,
)
from firmware_model.device import Device, Entropy, Reaction
from firmware_model.errors import ImageError
from firmware_model.image import DeviceImage, decode_image, encode_image
from firmware_model.models import load_device

DeviceLoader = Callable[[DeviceImage, Entropy], Device]


class DeviceSession:
    """One device loaded from `image_path`, locked for this session's lifetime."""

    def __init__(
        self,
        image_path: str | os.PathLike[str],
        *,
        clock: float | None = None,
        entropy: Entropy = os.urandom,
        loader: DeviceLoader = load_device,
        lock: CoveredImage | None = None,
    ) -> None:
        start = time.time() if clock is None else clock
        if not math.isfinite(start) or start < 0:
            raise ValueError("the clock must be a finite, non-negative number of Unix seconds")
        self._now = float(start)
        # `lock`: the image is covered by a `FolderLock` its caller holds (a farm of devices).
        self._lock: ImageLock | CoveredImage = (
            ImageLock(image_path, must_exist=True) if lock is None else lock
        )
        self._lock.acquire()
        self._path = self._lock.path  # the real file: links resolved once, here
        try:
            if lock is None:  # a folder's owner cleans the whole folder at once
                remove_stale_temp_files(self._path)
            image = load_image(self._path)
            self._saved = encode_image(image)
            self._entropy, self._loader = entropy, loader
            try:
                self._device = loader(image, entropy)
            except ImageError as exc:
                raise ImageError(f"{self._path}: {exc}") from None
        except BaseException:
            self._lock.release()
            raise
        self._last = Reaction(display=self._device.display)
        self._closed = False

    # --- context manager ------------------------------------------------------------------------

    def __enter__(self) -> DeviceSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Save what changed and release the image (idempotent)."""
        if self._closed:
            return
        try:
            self.save()
        finally:
            self._closed = True
            self._lock.release()

    # --- state ----------------------------------------------------------------------------------

    @property
    def device(self) -> Device:
        """The emulated device (read its state; send events through the session)."""
        return self._device

    @property
    def image_path(self) -> Path:
        """The image file this session owns (symbolic links resolved)."""
        return self._path

    @property
    def now(self) -> float:
        """The device clock (Unix seconds)."""
        return self._now

    @property
    def last_reaction(self) -> Reaction:
        """The device's reaction to the most recent event (display, events to announce)."""
        return self._last

    def power_cut(self) -> None:
        """Lose power: the device restarts from what its image holds (its durable state, saved
        before every acknowledgement); whatever was volatile — a half-typed PIN, the display —
        is gone, and the device is off."""
        self._device = self._loader(decode_image(self._saved), self._entropy)
        self._last = Reaction(display=self._device.display)

    def save(self) -> None:
        """Write the image now if it differs from what is on disk."""
        image = self._device.to_image()
        data = encode_image(image)
        if data != self._saved:
            save_image(self._path, image)
            self._saved = data

    # --- events (ScriptTarget) ------------------------------------------------------------------

    def press(self, button: str) -> None:
        """Press and release `button`. Raises `UnknownButton`."""
        self._apply(lambda: self._device.press(button, self._now))

    def hold(self, button: str, seconds: float) -> None:
        """Hold `button` for `seconds`; the clock moves on by as much."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("hold time must be a finite, non-negative number of seconds")
        start = self._now
        self._apply(lambda: self._device.hold(button, seconds, start), until=start + seconds)

    def type_digits(self, digits: str) -> None:
        """Press each digit in turn."""
        self._apply(lambda: self._device.type_digits(digits, self._now))

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass on the device clock (timeouts fire)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("wait time must be a finite, non-negative number of seconds")
        self.set_time(self._now + seconds)

    def set_time(self, now: float) -> None:
        """Move the device clock to `now` (never backwards) and let the device catch up."""
        if not math.isfinite(now):
            raise ValueError("time must be finite")
        later = max(self._now, now)
        self._apply(lambda: self._device.advance(later), until=later)

    def receive_push(self, push_id: str, user: str, challenge: str) -> None:
        """A push notification reaches the app (IB Key only: `ValueError` otherwise)."""
        device = self.device
        receive = getattr(device, "receive_push", None)
        if receive is None:
            raise ValueError("this device takes no push notification")
        self._apply(lambda: receive(push_id, user, challenge, self._now))

    def read_display(self) -> str:
        """The display text now ("" when off)."""
        self._check_open()
        return self._device.display

    def _apply(self, event: Callable[[], Reaction], until: float | None = None) -> None:
        """Run one device event; move the clock to `until` only if the event was accepted."""
        self._check_open()
        reaction = event()
        if until is not None:
            self._now = until
        self._last = reaction
        if reaction.persist:
            self.save()  # before returning: the display never runs ahead of the disk

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the session is closed")
