"""TUI benchmarks, each beside a minimal Textual app measured in the same run.

* `tui_cold_start`: a fresh Python process starts the app headless (devices loaded from their
  images, the login pane on a store), runs until the first frame is drawn and exits — against a
  fresh process doing the same with a minimal app (one `Static`). Value: project seconds;
  ratio = project / minimal (target <= 2.0).
* `tui_key_latency`: one key through the app's keymap to the DSC+ faceplate, until the screen
  refresh that shows it — against a minimal app whose key handler updates one `Static`.
  Value: project microseconds per key; ratio = project / minimal (target <= 2.0). Both are
  bounded below by Textual's refresh interval (about 1/60 s); the CPU time per key of each is
  printed beside them (`cpu_per_key`), the work the frame hides. The device
  image sits on a tmpfs when there is one (`/dev/shm`): every DSC+ press is durable (battery), so
  on a disk the figure would measure the disk's fsync, not the TUI.

Rounds alternate project and baseline and keep the best of each (benchmarks/harness.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import BenchResult
from emulator.images import save_image
from emulator.session import DeviceSession
from emulator.tui.keymap import load_keymap
from firmware_model.device import ImageSpec
from firmware_model.models import new_image

ROUNDS = 5
KEYS_PER_ROUND = 60
SIZE = (100, 40)
REPO = Path(__file__).resolve().parent.parent

# Exactly what `slsemu tui` opens (emulator.commands.tui.open_tui), run headless.
_PROJECT_START = """
import contextlib, sys
from pathlib import Path
from emulator.commands.tui import open_tui
from emulator.tui.keymap import load_keymap

with contextlib.ExitStack() as stack:
    home = Path(sys.argv[1])
    app = open_tui(
        stack, images=[], user=None, keymap=load_keymap(None), home=home,
        on_ready=lambda: app.exit(),  # the first frame is up
    )
    app.run(headless=True, size=(100, 40))
"""

_MINIMAL_START = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal")
    def on_ready(self):
        self.exit()

Minimal().run(headless=True, size=(100, 40))
"""


def _spawn(code: str, *args: str, pycache: Path) -> float:
    # Byte-code caching on (in a private folder), as for an installed package: otherwise, with
    # PYTHONDONTWRITEBYTECODE set, every run would recompile the project's modules but not
    # Textual's (installed with its .pyc files), which is not what a user runs.
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, cwd=REPO)
    return time.perf_counter() - start


def _demo_home(folder: Path) -> tuple[Path, list[Path]]:
    """A store with the TUI demo in it (made once, outside the timing)."""
    from emulator.tui.demo_setup import demo_folder, ensure_demo
    from host_bridge.bridge import Bridge

    home = folder / "home"
    with Bridge.open(home) as bridge:
        setup = ensure_demo(bridge, demo_folder(home))
    return home, list(setup.images)


def cold_start() -> BenchResult:
    with tempfile.TemporaryDirectory() as tmp:
        home, _ = _demo_home(Path(tmp))
        pycache = Path(tmp) / "pycache"
        _spawn(_PROJECT_START, str(home), pycache=pycache)  # warm-up: fills the byte-code cache
        best_project = best_minimal = float("inf")
        for _ in range(ROUNDS):
            best_project = min(best_project, _spawn(_PROJECT_START, str(home), pycache=pycache))
            best_minimal = min(best_minimal, _spawn(_MINIMAL_START, pycache=pycache))
    return BenchResult(
        "tui_cold_start",
        best_project,
        "s",
        best_project / best_minimal,
        "minimal_textual_app",
        extra=f"minimal={best_minimal:.3f}s target<=2.0",
    )


async def _project_latency(image: Path) -> tuple[float, float]:

    from emulator.tui.app import SlsApp

    with DeviceSession(image) as session:
        app = SlsApp([session], keymap=load_keymap(None), real_time=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.focus_device()
            await _key(app, "p", lambda: app.handled_keys)  # power on: PIN>
            keys = ["1", "backspace"] * (KEYS_PER_ROUND // 2)  # PIN>* / PIN>: always a change
            start, cpu = time.perf_counter(), time.process_time()
            for key in keys:
                await _key(app, key, lambda: app.handled_keys)
            return _per_key(start, cpu, len(keys))


async def _minimal_latency() -> tuple[float, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Minimal(App[None]):
        handled = 0

        def compose(self) -> ComposeResult:
            yield Static("", id="shown")

        def on_key(self, event: object) -> None:
            key = getattr(event, "key", "")
            self.query_one("#shown", Static).update(f"key {key}")
            self.handled += 1

    app = Minimal()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = ["1", "backspace"] * (KEYS_PER_ROUND // 2)
        start, cpu = time.perf_counter(), time.process_time()
        for key in keys:
            await _key(app, key, lambda: app.handled)
        return _per_key(start, cpu, len(keys))


def _per_key(start: float, cpu: float, keys: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) per key since `start`/`cpu`."""
    return (time.perf_counter() - start) / keys, (time.process_time() - cpu) / keys


async def _key(app: object, key: str, handled: object) -> None:
    """Post one key event and wait for the refresh after it was handled."""
    from textual import events
    from textual.app import App

    assert isinstance(app, App) and callable(handled)
    before = handled()
    character = {"backspace": "\x7f"}.get(key, key)
    app.post_message(events.Key(key, character))
    while handled() == before:
        await asyncio.sleep(0)
    refreshed = asyncio.Event()
    app.call_after_refresh(refreshed.set)
    await refreshed.wait()


def key_latency() -> BenchResult:
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        image = Path(tmp) / "bench.img"
        spec = ImageSpec(
            "dscplus", "DPBENCH0001", bytes(20), pin_mode="soft",
            options={"battery_presses": 10**9},
        )  # fmt: skip
        save_image(image, new_image(spec, os.urandom))
        best_project = best_minimal = (float("inf"), float("inf"))
        for _ in range(ROUNDS):
            best_project = min(best_project, asyncio.run(_project_latency(image)))
            best_minimal = min(best_minimal, asyncio.run(_minimal_latency()))
    return BenchResult(
        "tui_key_latency",
        best_project[0] * 1e6,
        "us",
        best_project[0] / best_minimal[0],
        "minimal_textual_app",
        extra=f"minimal={best_minimal[0] * 1e6:.0f}us cpu_per_key={best_project[1] * 1e6:.0f}us "
        f"minimal_cpu_per_key={best_minimal[1] * 1e6:.0f}us target<=2.0",
    )


def run() -> list[BenchResult]:
    """The TUI's BENCH lines."""
    return [cold_start(), key_latency()]


if __name__ == "__main__":
    for result in run():
        print(result.line())
