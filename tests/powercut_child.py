"""Child process of tests/test_powercut.py: presses keys on a DSC+ image until it is killed.

    python -m tests.powercut_child battery IMAGE   # POWER on/off forever: presses_used grows
    python -m tests.powercut_child pin IMAGE       # wrong PINs in device mode: failures grow

After each press the session has saved the image (it saves before returning), and only then does
the child print `saved <presses_used> <failures>` — the acknowledgement the parent compares with
what it finds on disk after a SIGKILL. `done` means the card locked (nothing more to count).
"""

from __future__ import annotations

import sys

from emulator.session import DeviceSession


def main(argv: list[str]) -> int:
    mode, path = argv
    with DeviceSession(path, clock=1_700_000_000) as session:
        print("ready", flush=True)
        while True:
            if mode == "battery":
                session.press("POWER")
            else:
                if not session.device.powered:
                    session.press("POWER")
                if session.read_display() == "LOCK PIN":
                    print("done", flush=True)
                    return 0
                session.type_digits("9999")
                session.press("OK")
            state = session.device.to_image().state
            print(f"saved {state['presses_used']} {state.get('failures', 0)}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
