"""A device session that records itself: what `slsemu record --tui` puts under the app.

Theory of operation: `RecordingSession` is a `DeviceSession` whose events are also written to a
`Transcript` (emulator.recording). The app drives it as any session — key presses from the keymap
or a click, `hold`, `wait`, and on a real-time clock `set_time` before each event and on every tick.

* Digit presses in a row become one `type DIGITS` line (with the display after the last digit),
  so a challenge typed key by key is one value that `known_values()` — e.g. the challenge on the
  login screen — can name: `type ${CHALLENGE}`.
* Time: the replay's clock moves only on `wait` and `hold`. Real time that passes without changing
  the display is not written; when it does change the display (a timeout fired), a `wait` of the
  time since the replay's clock, rounded up to a tenth of a second, is written before the new
  display, so the replay's timers fire no later than they did.
* The device's entropy is counted: a step that drew randomness taints the transcript (codes are
  written by their shape from then on).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from emulator.recording import Transcript
from emulator.session import DeviceSession
from firmware_model.script import ScriptTarget

KnownValues = Callable[[], Mapping[str, tuple[str, bool]]]
"""name → (value, drawn at random?): values from outside the device that keys may type."""

TIME_STEP = 10  # waits are written in tenths of a second


def _no_values() -> Mapping[str, tuple[str, bool]]:
    return {}


class RecordingSession(DeviceSession):
    """A `DeviceSession` that writes each event and display into `transcript`."""

    def __init__(
        self,
        image_path: str | os.PathLike[str],
        transcript: Transcript,
        *,
        clock: float | None = None,
        known_values: KnownValues = _no_values,
    ) -> None:
        self._drawn = self._seen = 0
        super().__init__(image_path, clock=clock, entropy=self._entropy)
        self._seen = self._drawn  # loading may draw: that is not the session's doing
        self.transcript = transcript
        self.known_values = known_values
        self.start = self.now
        self._replay_clock = self.now
        self._digits = ""
        self._digits_display = ""
        self._digits_fresh = False
        self._explicit = False

    def _entropy(self, count: int) -> bytes:
        self._drawn += 1
        return os.urandom(count)

    def _fresh(self) -> bool:
        new, self._seen = self._drawn != self._seen, self._drawn
        return new

    # --- events -----------------------------------------------------------------------------------

    def press(self, button: str) -> None:
        super().press(button)
        if len(button) == 1 and button.isdigit():
            self._digits += button
            self._digits_display = self.read_display()
            self._digits_fresh = self._fresh() or self._digits_fresh
            return
        self.flush()
        self.transcript.action(f"press {button}", self.read_display(), fresh=self._fresh())

    def type_digits(self, digits: str) -> None:
        for digit in digits:
            self.press(digit)

    def hold(self, button: str, seconds: float) -> None:
        self.flush()
        super().hold(button, seconds)
        self._replay_clock += seconds
        self.transcript.action(f"hold {button} {seconds:g}", self.read_display(),
                               fresh=self._fresh())  # fmt: skip

    def wait(self, seconds: float) -> None:
        self.flush()
        self._explicit = True
        try:
            super().wait(seconds)
        finally:
            self._explicit = False
        self._replay_clock += seconds
        self.transcript.action(f"wait {seconds:g}", self.read_display(), fresh=self._fresh())

    def set_time(self, now: float) -> None:
        before = self.read_display()
        super().set_time(now)
        after = self.read_display()
        if self._explicit or after == before:
            return
        self.flush()
        elapsed = math.ceil((self.now - self._replay_clock) * TIME_STEP) / TIME_STEP
        self._replay_clock += elapsed
        self.transcript.action(f"wait {elapsed:g}", after, fresh=self._fresh())

    def flush(self) -> None:
        """Write the digits typed so far as one `type` line."""
        if not self._digits:
            return
        digits, self._digits = self._digits, ""
        for name, (value, random) in self.known_values().items():
            if value == digits:
                if random:
                    self.transcript.random_value(name, value)
                else:
                    self.transcript.fixed_value(name, value)
        self.transcript.typed(digits, self._digits_display, fresh=self._digits_fresh)
        self._digits_fresh = False

    def front_matter(self, snapshot: Path) -> dict[str, str]:
        """The front matter a replay needs: the image as it was, the clock it started at."""
        clock = int(self.start) if self.start == int(self.start) else self.start
        return {"image": f'"{snapshot.name}"', "clock": str(clock)}


class RecordingTarget:
    """Any `ScriptTarget` (a device on a serial line, say), recorded into `transcript`.

    The device's entropy cannot be seen from here, so every step counts as fresh: codes are
    written by their shape."""

    def __init__(self, target: ScriptTarget, transcript: Transcript) -> None:
        self.target = target
        self.transcript = transcript

    def press(self, button: str) -> None:
        self.target.press(button)
        self.transcript.action(f"press {button}", self.read_display(), fresh=True)

    def type_digits(self, digits: str) -> None:
        self.target.type_digits(digits)
        self.transcript.typed(digits, self.read_display(), fresh=True)

    def hold(self, button: str, seconds: float) -> None:
        self.target.hold(button, seconds)
        self.transcript.action(f"hold {button} {seconds:g}", self.read_display(), fresh=True)

    def wait(self, seconds: float) -> None:
        self.target.wait(seconds)
        self.transcript.action(f"wait {seconds:g}", self.read_display(), fresh=True)

    def read_display(self) -> str:
        return self.target.read_display()

    def flush(self) -> None:
        """Nothing is held back: each call is written at once."""
