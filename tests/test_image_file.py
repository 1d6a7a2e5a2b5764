"""Image files on disk (load/save/lock) and the in-process device session that keeps them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from emulator.images import (
    ImageLock,
    ImageLocked,
    load_image,
    lock_path,
    remove_stale_temp_files,
    save_image,
)
from emulator.session import DeviceSession
from firmware_model.device import Device, Entropy, ImageSpec, Reaction
from firmware_model.errors import ImageError, UnknownButton
from firmware_model.image import MAX_IMAGE_BYTES, DeviceImage, encode_image
from firmware_model.models import new_image

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
REPO = Path(__file__).resolve().parent.parent


def scc_image(serial: str = "SC1") -> DeviceImage:
    return new_image(ImageSpec(model="scc", serial=serial, key=KEY), os.urandom)


# --- load / save ----------------------------------------------------------------------------------


def test_save_then_load_round_trips_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "card.img"
    old_umask = os.umask(0)  # even a permissive umask must not make the file readable by others
    try:
        save_image(path, scc_image())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_image(path) == scc_image()
    assert [p.name for p in tmp_path.iterdir()] == ["card.img"]  # no temp file left behind


def test_save_replaces_the_old_image(tmp_path: Path) -> None:
    path = tmp_path / "card.img"
    save_image(path, scc_image("SC1"))
    save_image(path, scc_image("SC2"))
    assert load_image(path).serial == "SC2"


def _valid_bytes() -> bytes:
    return encode_image(scc_image())


def _with_body(change: Callable[[dict[str, object]], object]) -> bytes:
    """A well-formed file (valid checksum) whose body was changed."""
    import hashlib

    document = json.loads(_valid_bytes())
    change(document["body"])
    canonical = json.dumps(document["body"], sort_keys=True, separators=(",", ":")).encode()
    document["sha256"] = hashlib.sha256(canonical).hexdigest()
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (_valid_bytes()[: len(_valid_bytes()) // 2], "not JSON"),
        (_valid_bytes()[:-40], "not JSON"),
        (b"\xff\xfe garbage", "not JSON"),
        (b'{"hello": "world"}', "foreign"),
        (b"[1, 2, 3]", "foreign"),
        (_valid_bytes().replace(b'"version": 1', b'"version": 99'), "unsupported image version"),
        (_valid_bytes().replace(b'"online": false', b'"online": true'), "checksum mismatch"),
        (_with_body(lambda body: body.update(model="toaster")), "unknown device model"),
        (_with_body(lambda body: body.pop("key")), "missing or malformed"),
        (_with_body(lambda body: body.update(key="zz")), "missing or malformed"),
        (_with_body(lambda body: body.update(state=[])), "not objects"),
        (b" " * (MAX_IMAGE_BYTES + 1), "larger than"),
    ],
)
def test_bad_files_get_a_clear_image_error_naming_the_file(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "bad.img"
    path.write_bytes(content)
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")
    assert KEY.hex() not in str(caught.value)


def test_missing_or_unreadable_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "nope.img")
    with pytest.raises(IsADirectoryError):
        load_image(tmp_path)


# --- the lock -------------------------------------------------------------------------------------


def test_second_lock_is_refused_until_the_first_is_released(tmp_path: Path) -> None:
    path = tmp_path / "card.img"
    first = ImageLock(path)
    first.acquire()
    assert first.held
    assert stat.S_IMODE(lock_path(path).stat().st_mode) == 0o600
    with pytest.raises(ImageLocked, match="in use by another process"):
        ImageLock(path).acquire()
    first.release()
    first.release()  # idempotent
    with ImageLock(path) as again:
        assert again.held
    assert not lock_path(path).exists()  # the holder deletes it on release


def test_lock_held_by_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "card.img"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom emulator.images import ImageLock\n"
         "lock = ImageLock(sys.argv[1]); lock.acquire(); print('locked', flush=True)\n"
         "sys.stdin.read()",
         str(path)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(ImageLocked):
            ImageLock(path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with ImageLock(path):  # the kernel dropped the dead holder's lock
        pass


def test_stale_temp_files_are_removed_but_not_other_images_temps(tmp_path: Path) -> None:
    ours = tmp_path / ".a.img.abc_1234.tmp"
    theirs = tmp_path / ".a.img.x.abc_1234.tmp"
    unrelated = tmp_path / ".a.img.notes"
    for path in (ours, theirs, unrelated):
        path.write_bytes(b"half an image")
    assert remove_stale_temp_files(tmp_path / "a.img") == 1
    assert not ours.exists() and theirs.exists() and unrelated.exists()


# --- the session ----------------------------------------------------------------------------------


class Counter(Device):
    """A fake device: UP adds one to a durable counter (persist); NOTE changes a non-durable
    setting that still ends up in the image at close; time is recorded."""

    model: ClassVar[str] = "dscplus"  # any registered model name: the loader below is what counts
    buttons: ClassVar[frozenset[str]] = frozenset({"UP", "NOTE"})

    def __init__(self, image: DeviceImage) -> None:
        self._image = image
        self.count = int(image.state.get("count", 0))
        self.notes = int(image.state.get("notes", 0))
        self.times: list[float] = []
        self.disk_counts: list[int] = []

    @classmethod
    def new_image(cls, spec: ImageSpec, entropy: Entropy) -> DeviceImage:
        return DeviceImage(cls.model, spec.serial, spec.key, None, {}, {"count": 0, "notes": 0})

    @classmethod
    def from_image(cls, image: DeviceImage, entropy: Entropy) -> Counter:
        return cls(image)

    def press(self, button: str, now: float) -> Reaction:
        self.check_button(button)
        self.times.append(now)
        if button == "UP":
            self.count += 1
            return Reaction(self.display, persist=True)
        self.notes += 1
        return Reaction(self.display)

    def advance(self, now: float) -> Reaction:
        self.times.append(now)
        return Reaction(self.display)

    @property
    def display(self) -> str:
        return str(self.count)

    @property
    def powered(self) -> bool:
        return True

    def to_image(self) -> DeviceImage:
        return self._image.with_state({"count": self.count, "notes": self.notes})


@pytest.fixture
def counter_image(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "counter.img"
    save_image(path, Counter.new_image(ImageSpec("dscplus", "DP1", KEY), os.urandom))
    yield path


def open_counter(path: Path, clock: float | None = None) -> DeviceSession:
    return DeviceSession(path, clock=clock, loader=lambda image, entropy: Counter(image))


def disk_state(path: Path) -> dict[str, object]:
    return dict(load_image(path).state)


def test_persisting_event_is_on_disk_before_the_call_returns(counter_image: Path) -> None:
    with open_counter(counter_image) as session:
        for expected in range(1, 4):
            session.press("UP")
            assert disk_state(counter_image)["count"] == expected
            assert session.read_display() == str(expected)


def test_non_durable_change_is_saved_at_close(counter_image: Path) -> None:
    session = open_counter(counter_image)
    session.press("NOTE")
    assert disk_state(counter_image)["notes"] == 0  # not persisted yet: no write was needed
    session.close()
    session.close()  # idempotent
    assert disk_state(counter_image) == {"count": 0, "notes": 1}


def test_close_without_changes_does_not_rewrite(counter_image: Path) -> None:
    before = counter_image.stat().st_mtime_ns, counter_image.stat().st_ino
    with open_counter(counter_image) as session:
        session.read_display()
    assert (counter_image.stat().st_mtime_ns, counter_image.stat().st_ino) == before


def test_virtual_clock(counter_image: Path) -> None:
    with open_counter(counter_image, clock=1000.0) as session:
        device = session.device
        assert isinstance(device, Counter)
        session.press("NOTE")
        session.wait(30)
        session.hold("NOTE", 2.5)
        session.set_time(500)  # never backwards
        session.set_time(2000)
        assert device.times == [1000.0, 1030.0, 1030.0, 1032.5, 1032.5, 2000.0]
        assert session.now == 2000.0


def test_clock_starts_at_the_wall_clock_by_default(counter_image: Path) -> None:
    import time

    before = time.time()
    with open_counter(counter_image) as session:
        assert before <= session.now <= time.time()


def test_bad_input_changes_nothing(counter_image: Path) -> None:
    with open_counter(counter_image, clock=10.0) as session:
        with pytest.raises(UnknownButton):
            session.hold("NOPE", 5)
        with pytest.raises(ValueError):
            session.wait(-1)
        with pytest.raises(ValueError):
            session.wait(float("nan"))
        assert session.now == 10.0
    with pytest.raises(ValueError):
        open_counter(counter_image, clock=float("inf"))


def test_session_holds_the_lock_for_its_lifetime(counter_image: Path) -> None:
    with open_counter(counter_image), pytest.raises(ImageLocked):
        open_counter(counter_image)
    with open_counter(counter_image) as session:  # released at close
        session.press("UP")


def test_closed_session_refuses_events(counter_image: Path) -> None:
    session = open_counter(counter_image)
    session.close()
    with pytest.raises(ValueError, match="closed"):
        session.press("UP")


def test_failed_load_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "bad.img"
    path.write_bytes(b"{}")
    with pytest.raises(ImageError):
        DeviceSession(path)
    with ImageLock(path):
        pass


def test_inconsistent_image_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "odd.img"
    image = scc_image()
    save_image(path, image.with_state({"unexpected": 1}))
    with pytest.raises(ImageError) as caught:
        DeviceSession(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_session_cleans_up_stale_temp_files(counter_image: Path) -> None:
    stale = counter_image.parent / f".{counter_image.name}.zzzzzzzz.tmp"
    stale.write_bytes(b"half")
    with open_counter(counter_image):
        pass
    assert not stale.exists()


# --- real DSC+ in device-PIN mode: the retry counter survives power cycles and sessions -----------


def test_device_pin_failures_survive_power_cycles_and_sessions(tmp_path: Path) -> None:
    path = tmp_path / "dp.img"
    spec = ImageSpec(
        model="dscplus", serial="DP1", key=KEY, pin="1234", pin_mode="device",
        options={"pin_retries": 5},
    )
    save_image(path, new_image(spec, os.urandom))
    for session_number in range(2):
        with DeviceSession(path, clock=1_700_000_000) as session:
            session.press("POWER")
            session.type_digits("9999")
            session.press("OK")
            assert disk_state(path)["failures"] == 2 * session_number + 1
            session.press("POWER")  # off
            session.press("POWER")  # on again: the counter is still there
            session.type_digits("9999")
            session.press("OK")
            assert disk_state(path)["failures"] == 2 * session_number + 2
    assert disk_state(path)["presses_used"] == 2 * (1 + 4 + 1 + 1 + 1 + 4 + 1)
