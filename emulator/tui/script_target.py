"""Keypress scripts through the TUI: `slsemu script FILE --tui [--keymap K]`.

Theory of operation: `TuiScriptTarget` opens the image in a `DeviceSession` (virtual clock, like
the in-process runner) and runs `SlsApp` headless in a background thread with its own event loop.
The script's thread reaches the app only through `App.call_from_thread`. Each statement is one
round trip:

* `press B` / `type DIGITS`: the keys bound to those buttons in the active keymap are posted to
  the app as key events (so the keymap and the app's key routing are what is exercised), then the
  call waits until the app has handled every one of them — one wait per statement, not Textual's
  `Pilot.press` (about 40 ms per key). A button the keymap does not bind is pressed as a click on
  the faceplate key would press it.
* `hold`, `wait`: time has no key; they go to the app's own handlers for them.
* `read_display`: the display as the faceplate's reactive `view` holds it.

Errors the device raises (an unknown button, say) come back to the script's thread as the same
`SlsError` the in-process runner sees, so results and captures are the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from textual import events

from emulator.session import DeviceSession
from emulator.tui.app import SlsApp
from emulator.tui.keymap import Keymap, load_keymap

HEADLESS_SIZE = (100, 40)
START_TIMEOUT_SECONDS = 30.0
KEY_TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


def key_character(key: str) -> str | None:
    """The character a key types, as Textual would report it (None for keys like `enter`)."""
    if len(key) == 1:
        return key
    special = {"space": " ", "enter": "\r", "backspace": "\x7f", "tab": "\t", "escape": "\x1b"}
    if key in special:
        return special[key]
    if "+" in key:
        return None
    name = {"full_stop": "FULL STOP", "minus": "HYPHEN-MINUS", "plus": "PLUS SIGN",
            "slash": "SOLIDUS", "backslash": "REVERSE SOLIDUS", "at": "COMMERCIAL AT",
            "underscore": "LOW LINE"}.get(key, key.replace("_", " ").upper())  # fmt: skip
    try:
        return unicodedata.lookup(name)
    except KeyError:
        return None


class TuiScriptTarget:
    """A `ScriptTarget` driving the device through the headless TUI; a context manager."""

    def __init__(
        self, image_path: Path, keymap: str | None = None, *, clock: float | None = None
    ) -> None:
        """`keymap`: a NAME or FILE (default keymap if None); `clock`: device clock start (Unix
        seconds; default the wall clock), as `DeviceSession` takes it."""
        self._keymap: Keymap = load_keymap(keymap)  # bad keymap: UsageError before anything opens
        self._image_path = Path(image_path)
        self._clock = clock
        self._session: DeviceSession | None = None
        self._app: SlsApp | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_waits = 0
        self._crash: BaseException | None = None

    # --- life cycle -----------------------------------------------------------------------------

    def __enter__(self) -> TuiScriptTarget:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Open the image and start the headless app; returns once the first frame is drawn."""
        self._session = DeviceSession(self._image_path, clock=self._clock)
        try:
            self._app = SlsApp(
                [self._session], keymap=self._keymap, real_time=False, on_ready=self._ready.set
            )
            self._thread = threading.Thread(target=self._serve, name="slsemu-tui", daemon=True)
            self._thread.start()
            while not self._ready.wait(0.05):
                if not self._thread.is_alive() or self._crash is not None:
                    raise RuntimeError(f"the TUI did not start: {self._crash!r}")
                if self._waited_too_long():
                    raise RuntimeError("the TUI did not start in time")
        except BaseException:
            self.close()
            raise

    def _waited_too_long(self) -> bool:
        self._start_waits += 1
        return self._start_waits * 0.05 > START_TIMEOUT_SECONDS

    def _serve(self) -> None:
        app = self._app
        assert app is not None
        try:
            asyncio.run(app.run_async(headless=True, size=HEADLESS_SIZE))
        except BaseException as exc:  # reported to the script's thread by `start`/`_call`
            self._crash = exc

    def close(self) -> None:
        """Stop the app and release the image (idempotent)."""
        app, thread = self._app, self._thread
        if app is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the app already stopped
                app.call_from_thread(app.exit)
            thread.join(timeout=START_TIMEOUT_SECONDS)
        self._app = self._thread = None
        if self._session is not None:
            self._session.close()
            self._session = None

    # --- ScriptTarget -----------------------------------------------------------------------------

    def press(self, button: str) -> None:
        """Press `button` through its key in the keymap (or its faceplate key)."""
        self._buttons([button])

    def type_digits(self, digits: str) -> None:
        """Type digits through their keys, all in one round trip."""
        if not digits or not digits.isdigit() or not digits.isascii():
            raise ValueError("type takes one or more digits 0-9")
        self._buttons(list(digits))

    def hold(self, button: str, seconds: float) -> None:
        """Hold `button` for `seconds` (device time)."""
        app = self._running()
        self._call(lambda: self._checked(lambda: app.hold_button(button, seconds)))

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass on the device clock."""
        app = self._running()
        self._call(lambda: self._checked(lambda: app.wait_device(seconds)))

    def read_display(self) -> str:
        """The display as the faceplate shows it."""
        app = self._running()
        return self._call(app.read_display)

    # --- internals --------------------------------------------------------------------------------

    def _running(self) -> SlsApp:
        if self._app is None:
            raise ValueError("the TUI script target is not started (use it as a context manager)")
        return self._app

    def _call(self, function: Callable[[], T]) -> T:
        app = self._running()
        if self._crash is not None:
            raise RuntimeError(f"the TUI stopped: {self._crash!r}")
        return app.call_from_thread(function)

    def _checked(self, action: Callable[[], None]) -> None:
        """Run an app action in the app's thread; re-raise the device error it recorded."""
        app = self._running()
        action()
        if app.last_error is not None:
            raise app.last_error

    def _buttons(self, buttons: list[str]) -> None:
        app = self._running()
        keys: list[str | None] = []
        for button in buttons:
            bound = self._keymap.keys_for(button)
            keys.append(bound[0] if bound else None)
        if self._crash is not None:
            raise RuntimeError(f"the TUI stopped: {self._crash!r}")
        # Textual types `call_from_thread` as taking `T | Awaitable[T]`, which mypy cannot solve
        # for a coroutine function; it runs coroutines and returns their result.
        app.call_from_thread(self._press_in_app, app, buttons, keys)  # type: ignore[arg-type]

    async def _press_in_app(self, app: SlsApp, buttons: list[str], keys: list[str | None]) -> int:
        """In the app's thread: post the key events, then wait once until all were handled.

        Returns the number of keys posted."""
        device = app.session(app.active_serial).device
        for button in buttons:  # like the in-process runner: check before pressing anything
            device.check_button(button)
        app.focus_device()
        posted = app.handled_keys
        for button, key in zip(buttons, keys, strict=True):
            if key is None:
                await self._settle(app, posted)  # keep the order: earlier keys first
                app.press_button(button)
            else:
                app.post_message(events.Key(key, key_character(key)))
                posted += 1
        await self._settle(app, posted)
        if app.last_error is not None:
            raise app.last_error
        return posted

    @staticmethod
    async def _settle(app: SlsApp, target: int) -> None:
        """Wait until the app has handled `target` keymap keys in all."""
        while app.handled_keys < target:
            app.key_handled.clear()
            await asyncio.wait_for(app.key_handled.wait(), KEY_TIMEOUT_SECONDS)
