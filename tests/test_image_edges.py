"""Images at the edges (issue 9): one writer however the image is named, lock files that do not
linger, FIFOs, images others can read, numbers and nesting past the bounds, unknown fields."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.images import ImageLock, ImageLocked, load_image, lock_path, save_image
from emulator.session import DeviceSession
from firmware_model.errors import ImageError
from firmware_model.image import decode_image
from firmware_model.models import load_device
from host_bridge.serial_client import SerialClient
from tests.secret_env import env_secret
from tests.serial_helpers import REPO, child_env, make_image, serving

Capture = pytest.CaptureFixture[str]


def slsemu(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_script(script: Path, image: Path) -> subprocess.CompletedProcess[str]:
    """`slsemu script` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "emulator.cli", "script", str(script), "--image", str(image)],
        capture_output=True, text=True, cwd=REPO, env=child_env(), timeout=60, check=False,
    )


def card_and_script(folder: Path, entropy: object) -> tuple[Path, Path]:
    """A DSC+ image `a.img` and a script that presses POWER once (one battery press)."""
    image, script = folder / "a.img", folder / "p.sls"
    make_image(image, entropy)  # type: ignore[arg-type]
    script.write_text("press POWER\n")
    return image, script


def presses(path: Path) -> int:
    used = decode_image(path.read_bytes()).state["presses_used"]
    assert isinstance(used, int)
    return used


# --- one writer however it is named ----------------------------------------------------------


def test_a_link_cannot_open_an_image_a_server_holds_and_its_save_keeps_the_link(
    tmp_path: Path, entropy: object
) -> None:
    real, script = card_and_script(tmp_path, entropy)
    link = tmp_path / "b.img"
    link.symlink_to(real.name)
    with serving(["--image", str(real), "--pty", "--virtual-clock"]) as served:
        refused = run_script(script, link)
        assert refused.returncode == 2, refused
        assert "in use by another process" in refused.stderr
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
        with SerialClient(served.path) as client:
            client.press("POWER")  # one battery press, saved before the OK
        assert presses(real) == 1
        assert served.stop()[0] == 0
    done = run_script(script, link)
    assert done.returncode == 0, done
    assert presses(real) == 2  # the real image saw both presses
    assert link.is_symlink() and os.readlink(link) == real.name
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.img", "b.img", "p.sls"]  # no locks


def test_a_session_through_a_link_refuses_the_real_name_in_another_process(
    tmp_path: Path, entropy: object
) -> None:
    real, script = card_and_script(tmp_path, entropy)
    link = tmp_path / "b.img"
    link.symlink_to(real)
    with DeviceSession(link, clock=1_700_000_000) as session:
        assert session.image_path == real
        refused = run_script(script, real)
        assert refused.returncode == 2 and "in use" in refused.stderr, refused
        session.press("POWER")
    assert presses(real) == 1 and link.is_symlink()


def test_a_hard_linked_image_is_refused(tmp_path: Path, entropy: object, capsys: Capture) -> None:
    real, script = card_and_script(tmp_path, entropy)
    other = tmp_path / "c.img"
    os.link(real, other)
    for name in (real, other):
        code, out, err = slsemu(capsys, "script", str(script), "--image", str(name))
        assert (code, out) == (2, "") and "hard links" in err and err.count("\n") == 1, err
    assert presses(real) == 0 and not list(tmp_path.glob("*.lock"))


def test_image_new_follows_a_link_and_refuses_a_dangling_one(
    tmp_path: Path, entropy: object, capsys: Capture
) -> None:
    real, link = tmp_path / "a.img", tmp_path / "b.img"
    make_image(real, entropy)  # type: ignore[arg-type]
    link.symlink_to(real)
    key = "31" * 20
    code, _, err = slsemu(capsys, "image", "new", "--model", "scc", *env_secret("--key", key),
                          "--out",
                          str(link), "--force")
    assert code == 0, err
    assert link.is_symlink() and load_image(real).model == "scc"
    dangling = tmp_path / "d.img"
    dangling.symlink_to(tmp_path / "nowhere.img")
    code, _, err = slsemu(capsys, "image", "new", "--model", "scc", *env_secret("--key", key),
                          "--out",
                          str(dangling))
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "nowhere.img").exists(), err


# --- lock files ------------------------------------------------------------------------------


def test_no_lock_file_is_left_behind_or_made_for_a_missing_image(
    tmp_path: Path, entropy: object, capsys: Capture
) -> None:
    image, script = card_and_script(tmp_path, entropy)
    assert slsemu(capsys, "script", str(script), "--image", str(image))[0] == 0
    missing = tmp_path / "missing.img"
    code, _, err = slsemu(capsys, "script", str(script), "--image", str(missing))
    assert code == 2 and "no such image file" in err, err
    with pytest.raises(FileNotFoundError):
        DeviceSession(missing)
    code, _, err = slsemu(capsys, "image", "new", "--model", "scc", *env_secret("--key", "31" * 20),
                          "--out", str(image))
    assert code == 2 and "exists" in err  # refused under the lock, which is gone again
    assert not list(tmp_path.glob("*.lock"))


def test_a_lock_file_a_killed_holder_left_is_taken_over_and_removed(
    tmp_path: Path, entropy: object
) -> None:
    image = tmp_path / "a.img"
    make_image(image, entropy)  # type: ignore[arg-type]
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from emulator.images import ImageLock\n"
         "lock = ImageLock(sys.argv[1]); lock.acquire(); print('locked', flush=True)\n"
         "sys.stdin.read()", str(image)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO, env=child_env(),
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    with pytest.raises(ImageLocked):
        ImageLock(image).acquire()
    holder.kill()
    holder.wait()
    assert lock_path(image).exists()  # SIGKILL: nobody deleted it
    with DeviceSession(image) as session:
        session.press("POWER")
    assert not lock_path(image).exists()


def test_a_lock_file_deleted_under_a_late_opener_never_gives_two_holders(tmp_path: Path) -> None:
    image = tmp_path / "a.img"
    first = ImageLock(image)
    first.acquire()
    late = os.open(lock_path(image), os.O_RDWR)  # a taker that opened, but has not locked yet
    first.release()  # deletes the file the late taker holds open
    second = ImageLock(image)
    second.acquire()  # a new lock file
    fcntl.flock(late, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the late taker's flock succeeds...
    assert os.fstat(late).st_ino != lock_path(image).stat().st_ino  # ...on a file with no name
    os.close(late)
    with pytest.raises(ImageLocked):  # and ImageLock checks for exactly that
        ImageLock(image).acquire()
    second.release()


# --- files that are not images ----------------------------------------------------------------


def test_a_fifo_as_image_or_script_is_refused_without_waiting(
    tmp_path: Path, entropy: object, capsys: Capture
) -> None:
    image = tmp_path / "a.img"
    make_image(image, entropy)  # type: ignore[arg-type]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for argv in (
        ["image", "show", str(fifo)],
        ["scc", "show", str(fifo)],
        ["script", str(fifo), "--image", str(image)],
        ["script", str(fifo), "--image", str(fifo)],
    ):
        code, out, err = slsemu(capsys, *argv)
        assert (code, out) == (2, "") and "not a regular file" in err, (argv, err)
        assert err.count("\n") == 1
    assert not list(tmp_path.glob("*.lock"))


def test_a_file_name_with_a_newline_gives_one_line(tmp_path: Path, capsys: Capture) -> None:
    bad = tmp_path / "two\nlines.img"
    bad.write_text("not an image\n")
    for argv in (["image", "show", str(bad)], ["script", str(bad), "--image", str(bad)]):
        code, _, err = slsemu(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and "two\\nlines" in err, err


# --- who may read an image ------------------------------------------------------------------


def test_an_image_others_can_read_is_refused_and_every_write_makes_it_0600(
    tmp_path: Path, entropy: object, capsys: Capture
) -> None:
    image, script = card_and_script(tmp_path, entropy)
    made = load_image(image)
    for mode in (0o644, 0o640, 0o604):
        image.chmod(mode)
        for argv in (["image", "show", str(image)],
                     ["script", str(script), "--image", str(image)]):
            code, out, err = slsemu(capsys, *argv)
            assert (code, out) == (2, ""), argv
            assert f"mode {mode:04o}" in err and "chmod 600" in err and err.count("\n") == 1
        assert stat.S_IMODE(image.stat().st_mode) == mode  # refused: nothing changed
    save_image(image, made)
    assert stat.S_IMODE(image.stat().st_mode) == 0o600
    assert slsemu(capsys, "image", "show", str(image))[0] == 0


# --- values past the bounds -------------------------------------------------------------------


def test_an_integer_of_thousands_of_digits_in_an_image_is_refused(
    tmp_path: Path, entropy: object, capsys: Capture
) -> None:
    image = tmp_path / "a.img"
    make_image(image, entropy)  # type: ignore[arg-type]
    text = image.read_text().replace('"presses_used": 0', '"presses_used": ' + "9" * 5000)
    image.write_text(text)
    image.chmod(0o600)
    with pytest.raises(ImageError, match="too many digits"):
        load_image(image)
    code, out, err = slsemu(capsys, "serve", "--images", str(tmp_path))
    assert (code, out) == (2, "") and "too many digits" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "[1]"])
def test_only_the_integer_1_is_version_1(tmp_path: Path, entropy: object, version: str) -> None:
    image = tmp_path / "a.img"
    make_image(image, entropy)  # type: ignore[arg-type]
    data = image.read_bytes().replace(b'"version": 1', b'"version": ' + version.encode())
    with pytest.raises(ImageError, match="unsupported image version"):
        decode_image(data)


@pytest.mark.parametrize(
    ("model", "extra"),
    [("dscplus", {}), ("dscplus", {"pin_mode": "device"}), ("gold", {}), ("platinum", {})],
)
def test_unknown_state_fields_are_refused_like_unknown_config_fields(
    tmp_path: Path, entropy: object, model: str, extra: dict[str, str]
) -> None:
    image = tmp_path / "a.img"
    make_image(image, entropy, model=model, serial="X1", **extra)  # type: ignore[arg-type]
    written = load_image(image)
    load_device(written, os.urandom)  # the image as written loads: only the stranger is refused
    stranger = written.with_state({**written.state, "spare_counter": 0})
    save_image(image, stranger)
    with pytest.raises(ImageError, match=r"unknown state field.*spare_counter"):
        load_device(load_image(image), os.urandom)
    with pytest.raises(ImageError, match="unknown state field"):
        DeviceSession(image)
    assert load_image(image) == stranger  # refused, not rewritten
