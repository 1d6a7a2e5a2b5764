"""`slsemu record --tui`: the terminal app on a `RecordingSession` (imported only with `--tui`).

The app is the one `slsemu tui` opens (`open_tui`), on the image being recorded, with the login
pane in front; the challenge the login screen shows is offered to the recorder as a known value:
a 6-digit challenge as `${CHALLENGE}` (drawn afresh by each replay), SCC indices as `${INDEX1}`,
`${INDEX2}` (kept as recorded: an index must be a cell of the card).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Mapping
from pathlib import Path

from emulator.commands.tui import open_tui
from emulator.recording import Transcript
from emulator.recording_session import RecordingSession
from emulator.tui.app import SlsApp
from emulator.tui.keymap import load_keymap
from emulator.tui.login_pane import LoginPane


def login_values(app: SlsApp) -> Mapping[str, tuple[str, bool]]:
    """The digits of the challenge on the login screen, named for the transcript."""
    panes = app.query(LoginPane)
    challenge = panes.first().challenge if panes else None
    if challenge is None:
        return {}
    words = [word for word in challenge.text.split() if word.isdigit()]
    if len(words) == 1:
        return {"CHALLENGE": (words[0], True)}
    return {f"INDEX{number}": (word, False) for number, word in enumerate(words, start=1)}


def record_in_tui(
    args: argparse.Namespace, transcript: Transcript, snapshot: Path
) -> dict[str, str]:
    """Run the app until the user quits; return the front matter."""
    keymap = load_keymap(args.keymap)
    sessions: list[RecordingSession] = []

    def open_session(path: Path) -> RecordingSession:
        session = RecordingSession(path, transcript, clock=args.clock)
        sessions.append(session)
        return session

    with contextlib.ExitStack() as stack:
        app = open_tui(
            stack, images=[args.image], user=args.user, keymap=keymap, open_session=open_session
        )
        sessions[0].known_values = lambda: login_values(app)
        app.run()
        sessions[0].flush()
        return sessions[0].front_matter(snapshot)
