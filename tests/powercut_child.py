"""The key-pressing side of tests/test_powercut.py: presses keys on a DSC+ image until killed.

    python -m tests.powercut_child battery IMAGE   # POWER on/off forever: presses_used grows
    python -m tests.powercut_child pin IMAGE       # wrong PINs in device mode: failures grow

`press_loop` is also run in forked children (cheaper than starting an interpreter per cut).
After each press the session has saved the image (it saves before returning), and only then is
`saved <presses_used> <failures>` reported — the acknowledgement the parent compares with what it
finds on disk after a SIGKILL. `done` means the card locked (nothing more to count).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from emulator.session import DeviceSession


def press_loop(mode: str, path: str, report: Callable[[str], None]) -> None:
    """Press keys on the image at `path` forever (or until the card locks), reporting saves."""
    with DeviceSession(path, clock=1_700_000_000) as session:
        report("ready")
        while True:
            if mode == "battery":
                session.press("POWER")
            else:
                if not session.device.powered:
                    session.press("POWER")
                if session.read_display() == "LOCK PIN":
                    report("done")
                    return
                session.type_digits("9999")
                session.press("OK")
            state = session.device.to_image().state
            report(f"saved {state['presses_used']} {state.get('failures', 0)}")


def main(argv: list[str]) -> int:
    mode, path = argv
    press_loop(mode, path, lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
